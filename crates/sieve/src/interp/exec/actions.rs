//! The actions (RFC 5228 §4 and the extensions'): each is checked against the bounds of the
//! run and the actions already taken (RFC 5228 §2.10.3: filing twice into one mailbox or
//! redirecting twice to one address is done once; RFC 5429 §2.1: `reject` goes with no other
//! delivery), then appended to the outcome with the header as edited so far.

use super::args::Args;
use super::eval::{comparator, index, is_addr_spec, match_type, valid_notify_method};
use super::{split_flags, Failure, Frame, Run};
use crate::interp::matching::MatchType;
use crate::interp::{Action, Fcc, Notify, Store, Vacation};

/// The period between two vacation replies to one sender when the script gives none (RFC
/// 5230 §4.1: seven days).
const DEFAULT_VACATION_PERIOD: u64 = 7 * 86_400;

/// Fields `deleteheader` leaves in place, whatever the script asks: the trace fields that
/// tell how the message came (RFC 5293 §9 asks implementations to protect them).
const PROTECTED_FIELDS: &[&str] = &["received", "auto-submitted"];

impl Run<'_, '_> {
    /// Counts one action against [`RunLimits::max_actions`](crate::interp::RunLimits).
    fn take(&mut self) -> Result<(), Failure> {
        self.taken = self.taken.saturating_add(1);
        if self.taken > self.limits.max_actions {
            return Err(format!(
                "the script took more than {} actions",
                self.limits.max_actions
            ));
        }
        Ok(())
    }

    /// RFC 5429 §2.1: a message is either refused or delivered, not both.
    fn after_reject(&self, what: &str) -> Result<(), Failure> {
        if self
            .actions
            .iter()
            .any(|a| matches!(a, Action::Reject { .. }))
        {
            return Err(format!("`{what}` cannot be combined with `reject`"));
        }
        Ok(())
    }

    /// The flags of a `:flags` argument, or else the internal variable; `None` without
    /// imap4flags.
    fn store_flags(&self, frame: &Frame<'_>, args: &Args<'_>) -> Option<Vec<String>> {
        match args.tag_list("flags") {
            Some(list) if self.imap4flags => Some(split_flags(&self.expand_list(frame, list))),
            _ => self.current_flags(),
        }
    }

    /// `keep` (RFC 5228 §4.3).
    pub(super) fn keep(&mut self, frame: &Frame<'_>, args: &Args<'_>) -> Result<(), Failure> {
        self.after_reject("keep")?;
        let flags = self.store_flags(frame, args);
        self.implicit_keep = false;
        for a in &mut self.actions {
            if let Action::Keep(store) = a {
                merge_flags(&mut store.flags, flags);
                return Ok(());
            }
        }
        self.take()?;
        let header = self.message.edited_header();
        self.actions.push(Action::Keep(Store {
            flags,
            copy: false,
            header,
        }));
        Ok(())
    }

    /// `fileinto` (RFC 5228 §4.1) with `:copy` (RFC 3894), `:flags` (RFC 5232), `:create`
    /// (RFC 5490), `:specialuse` (RFC 8579), `:mailboxid` (RFC 9042).
    pub(super) fn fileinto(&mut self, frame: &Frame<'_>, args: &Args<'_>) -> Result<(), Failure> {
        self.after_reject("fileinto")?;
        let mailbox = self.expand(frame, args.pos_string(0).unwrap_or_default());
        let flags = self.store_flags(frame, args);
        let copy = args.has("copy");
        let create = args.has("create");
        let special_use = args.tag_string("specialuse").map(|s| self.expand(frame, s));
        let mailbox_id = args.tag_string("mailboxid").map(|s| self.expand(frame, s));
        if !copy {
            self.implicit_keep = false;
        }
        for a in &mut self.actions {
            if let Action::FileInto {
                mailbox: m,
                store,
                create: c,
                special_use: s,
                mailbox_id: i,
            } = a
            {
                if *m == mailbox && *s == special_use && *i == mailbox_id {
                    merge_flags(&mut store.flags, flags);
                    store.copy &= copy;
                    *c |= create;
                    return Ok(());
                }
            }
        }
        self.take()?;
        let header = self.message.edited_header();
        self.actions.push(Action::FileInto {
            mailbox,
            store: Store {
                flags,
                copy,
                header,
            },
            create,
            special_use,
            mailbox_id,
        });
        Ok(())
    }

    /// `redirect` (RFC 5228 §4.2) with `:copy` (RFC 3894). Past
    /// [`RunLimits::max_redirects`](crate::interp::RunLimits) distinct addresses the run fails.
    pub(super) fn redirect(&mut self, frame: &Frame<'_>, args: &Args<'_>) -> Result<(), Failure> {
        self.after_reject("redirect")?;
        let written = self.expand(frame, args.pos_string(0).unwrap_or_default());
        let trimmed = written.trim();
        let address = trimmed
            .strip_prefix('<')
            .and_then(|a| a.strip_suffix('>'))
            .unwrap_or(trimmed)
            .to_owned();
        if !is_addr_spec(&address) {
            return Err(format!("`redirect` to \"{written}\", which is no address"));
        }
        let copy = args.has("copy");
        if !copy {
            self.implicit_keep = false;
        }
        for a in &mut self.actions {
            if let Action::Redirect {
                address: to,
                copy: c,
                ..
            } = a
            {
                if to.eq_ignore_ascii_case(&address) {
                    *c &= copy;
                    return Ok(());
                }
            }
        }
        self.redirects += 1;
        if self.redirects > self.limits.max_redirects {
            return Err(format!(
                "the script redirects to more than {} addresses",
                self.limits.max_redirects
            ));
        }
        self.take()?;
        let header = self.message.edited_header();
        self.actions.push(Action::Redirect {
            address,
            copy,
            header,
        });
        Ok(())
    }

    /// `reject` and `ereject` (RFC 5429 §2.1, §2.2): cancel the implicit keep; one only, and
    /// with no `keep`, `fileinto`, `redirect` or `vacation`.
    pub(super) fn reject(
        &mut self,
        frame: &Frame<'_>,
        args: &Args<'_>,
        extended: bool,
    ) -> Result<(), Failure> {
        let name = if extended { "ereject" } else { "reject" };
        for a in &self.actions {
            let other = match a {
                Action::Reject { .. } => Some("another reject"),
                Action::Keep(_) => Some("keep"),
                Action::FileInto { .. } => Some("fileinto"),
                Action::Redirect { .. } => Some("redirect"),
                Action::Vacation(_) => Some("vacation"),
                Action::Notify(_) => None,
            };
            if let Some(other) = other {
                return Err(format!("`{name}` cannot be combined with {other}"));
            }
        }
        let reason = self.expand(frame, args.pos_string(0).unwrap_or_default());
        self.implicit_keep = false;
        self.take()?;
        self.actions.push(Action::Reject { reason, extended });
        Ok(())
    }

    /// `vacation` (RFC 5230 §4, `:seconds` of RFC 6131, `:fcc` of RFC 8580): one a run.
    pub(super) fn vacation(&mut self, frame: &Frame<'_>, args: &Args<'_>) -> Result<(), Failure> {
        self.after_reject("vacation")?;
        if self
            .actions
            .iter()
            .any(|a| matches!(a, Action::Vacation(_)))
        {
            return Err("the script takes `vacation` twice".into());
        }
        let period = match (args.tag_number("seconds"), args.tag_number("days")) {
            (Some(s), _) => s,
            (None, Some(d)) => d.saturating_mul(86_400),
            (None, None) => DEFAULT_VACATION_PERIOD,
        };
        let subject = args.tag_string("subject").map(|s| self.expand(frame, s));
        let from = args.tag_string("from").map(|s| self.expand(frame, s));
        let addresses = args
            .tag_list("addresses")
            .map(|l| self.expand_list(frame, l).into_owned())
            .unwrap_or_default();
        let mime = args.has("mime");
        let reason = self.expand(frame, args.pos_string(0).unwrap_or_default());
        let handle = match args.tag_string("handle") {
            Some(h) => self.expand(frame, h),
            None => default_handle(subject.as_deref(), from.as_deref(), mime, &reason),
        };
        let fcc = self.fcc(frame, args);
        self.take()?;
        self.actions.push(Action::Vacation(Vacation {
            period,
            subject,
            from,
            addresses,
            mime,
            handle,
            reason,
            fcc,
        }));
        Ok(())
    }

    /// `notify` (RFC 5435 §3): only `mailto:` (RFC 5436) is offered; another method, or a
    /// malformed URI, is a run-time error (RFC 5435 §3.8).
    pub(super) fn notify(&mut self, frame: &Frame<'_>, args: &Args<'_>) -> Result<(), Failure> {
        let method = self.expand(frame, args.pos_string(0).unwrap_or_default());
        if !valid_notify_method(&method) {
            return Err(format!(
                "\"{method}\" is not a notification method Darius offers"
            ));
        }
        let importance = match args.tag_string("importance").map(|s| self.expand(frame, s)) {
            Some(i) if i == "1" => 1,
            Some(i) if i == "3" => 3,
            _ => 2,
        };
        let notify = Notify {
            method,
            from: args.tag_string("from").map(|s| self.expand(frame, s)),
            importance,
            options: args
                .tag_list("options")
                .map(|l| self.expand_list(frame, l).into_owned())
                .unwrap_or_default(),
            message: args.tag_string("message").map(|s| self.expand(frame, s)),
            fcc: self.fcc(frame, args),
        };
        self.take()?;
        self.actions.push(Action::Notify(notify));
        Ok(())
    }

    /// `:fcc` and its companions (RFC 8580 §4) on `vacation` or `notify`.
    fn fcc(&self, frame: &Frame<'_>, args: &Args<'_>) -> Option<Fcc> {
        let mailbox = self.expand(frame, args.tag_string("fcc")?);
        Some(Fcc {
            mailbox,
            flags: args
                .tag_list("flags")
                .filter(|_| self.imap4flags)
                .map(|l| split_flags(&self.expand_list(frame, l))),
            create: args.has("create"),
            special_use: args.tag_string("specialuse").map(|s| self.expand(frame, s)),
            mailbox_id: args.tag_string("mailboxid").map(|s| self.expand(frame, s)),
        })
    }

    /// `addheader` (RFC 5293 §4). Past
    /// [`RunLimits::max_added_headers`](crate::interp::RunLimits) the run fails.
    pub(super) fn addheader(&mut self, frame: &Frame<'_>, args: &Args<'_>) -> Result<(), Failure> {
        let name = self.expand(frame, args.pos_string(0).unwrap_or_default());
        let value = self.expand(frame, args.pos_string(1).unwrap_or_default());
        if !is_field_name(&name) {
            return Err(format!(
                "`addheader`: \"{name}\" is not a header field name"
            ));
        }
        self.added_headers += 1;
        if self.added_headers > self.limits.max_added_headers {
            return Err(format!(
                "the script adds more than {} header fields",
                self.limits.max_added_headers
            ));
        }
        self.message.add_header(&name, &value, args.has("last"));
        Ok(())
    }

    /// `deleteheader` (RFC 5293 §5): the fields `name`, or those whose value matches one of
    /// the patterns, or the one `:index` selects. `Received` and `Auto-Submitted` stay.
    pub(super) fn deleteheader(
        &mut self,
        frame: &Frame<'_>,
        args: &Args<'_>,
    ) -> Result<(), Failure> {
        let name = self.expand(frame, args.pos_string(0).unwrap_or_default());
        if !is_field_name(&name) {
            return Err(format!(
                "`deleteheader`: \"{name}\" is not a header field name"
            ));
        }
        if PROTECTED_FIELDS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&name))
        {
            return Ok(());
        }
        let patterns = (args.pos_len() >= 2).then(|| self.expand_list(frame, args.pos_list(1)));
        let comparator = comparator(args)?;
        let match_type = match match_type(args)? {
            // A count over one field's value is no selection (RFC 5293 §5 matches values).
            MatchType::Count(_) => MatchType::Is,
            m => m,
        };
        let index = index(args);
        let Run {
            message,
            matcher,
            steps,
            limits,
            ..
        } = self;
        let mut failure: Option<Failure> = None;
        let mut delete = |value: &str| -> bool {
            let Some(patterns) = &patterns else {
                return true;
            };
            for p in patterns.iter() {
                if failure.is_some() || *steps > limits.max_steps {
                    return false;
                }
                *steps = steps.saturating_add(1);
                match matcher.matches(comparator, match_type, value, p, None, steps) {
                    Ok(true) => return true,
                    Ok(false) => {}
                    Err(e) => failure = Some(e),
                }
            }
            false
        };
        message.delete_header(&name, index, &mut delete);
        if let Some(e) = failure {
            return Err(e);
        }
        self.check_steps()
    }
}

/// RFC 5322 §3.6.8: `field-name = 1*ftext`, printable US-ASCII except the colon.
fn is_field_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

/// Adds the flags of a second action into the same place to the first one's.
fn merge_flags(into: &mut Option<Vec<String>>, more: Option<Vec<String>>) {
    if let (Some(have), Some(more)) = (into.as_mut(), more) {
        for f in more {
            if !have.iter().any(|h| h.eq_ignore_ascii_case(&f)) {
                have.push(f);
            }
        }
    }
}

/// RFC 5230 §4.2: without `:handle`, two vacation actions are the same response when their
/// subject, from, `:mime` and reason are; the handle is made of them.
fn default_handle(subject: Option<&str>, from: Option<&str>, mime: bool, reason: &str) -> String {
    let subject = subject.unwrap_or_default();
    let from = from.unwrap_or_default();
    format!(
        "{}:{subject}{}:{from}{}{reason}",
        subject.len(),
        from.len(),
        if mime { "M" } else { "T" }
    )
}
