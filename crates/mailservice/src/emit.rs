//! Building the RFC 5423 events the mailbox operations report (see [`crate::events`]).
//!
//! Owns: what each operation tells its [`EventSink`](crate::events::EventSink), after the
//! change is durable. Must not: make a caller wait, nor fail an operation: an event whose
//! counts cannot be read goes out without them (logged), and nothing here runs unless the
//! sink [`wants`](crate::events::EventSink::wants) the kind, so a server nobody listens to
//! pays one virtual call per operation.
//!
//! Whose name `user` carries: the identity that acted (its [`Actor`]); for a delivery, the
//! owner of the mailbox (see `report_delivered`). The mailbox counts (`messages`, `uidnext`,
//! `modseq`, `vnd.cmu.unseenMessages`) are the mailbox's, with the owner's `\Seen`, as Cyrus
//! reports them, read once after the change.

use mailstore::{MailboxStatus, RecordFields, SeenSource, StoreFlagsOutcome, UidSelection};
use types::{Flag, MailboxName, Uid, UidValidity};

use crate::access::{Actor, Authorized, Identity};
use crate::events::{AclInfo, Event, EventKind, MailboxRef, MessageInfo, QuotaInfo};
use crate::quota::QuotaReport;
use crate::MailService;

/// The flags of some messages before a STORE, for telling what it set and cleared.
pub(crate) type FlagsBefore = Vec<(Uid, Vec<Flag>)>;

/// What a STORE changed, per flag event: the messages and flags of each.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct FlagEvents {
    /// Messages that gained `\Deleted` (MessageTrash).
    pub(crate) trashed: Vec<Uid>,
    /// Messages that gained `\Seen` (MessageRead).
    pub(crate) read: Vec<Uid>,
    /// Messages that gained any other flag, and those flags (FlagsSet).
    pub(crate) set: (Vec<Uid>, Vec<Flag>),
    /// Messages that lost a flag, and the flags lost (FlagsClear).
    pub(crate) cleared: (Vec<Uid>, Vec<Flag>),
}

/// Splits a STORE's changes as RFC 5423 §4.2 advises and Cyrus does: setting `\Deleted` is
/// reported as MessageTrash and setting `\Seen` as MessageRead, not in FlagsSet; what else
/// was set is FlagsSet; everything removed is FlagsClear (`\Seen` and `\Deleted` included).
pub(crate) fn split_flag_changes(before: &FlagsBefore, after: &[(Uid, Vec<Flag>)]) -> FlagEvents {
    let mut out = FlagEvents::default();
    for (uid, new) in after {
        let Some((_, old)) = before.iter().find(|(u, _)| u == uid) else {
            continue;
        };
        let mut any_set = false;
        for flag in new.iter().filter(|f| !old.contains(f)) {
            match flag {
                Flag::Deleted => out.trashed.push(*uid),
                Flag::Seen => out.read.push(*uid),
                other => {
                    any_set = true;
                    if !out.set.1.contains(other) {
                        out.set.1.push(other.clone());
                    }
                }
            }
        }
        if any_set {
            out.set.0.push(*uid);
        }
        let mut any_cleared = false;
        for flag in old.iter().filter(|f| !new.contains(f)) {
            any_cleared = true;
            if !out.cleared.1.contains(flag) {
                out.cleared.1.push(flag.clone());
            }
        }
        if any_cleared {
            out.cleared.0.push(*uid);
        }
    }
    for uids in [
        &mut out.trashed,
        &mut out.read,
        &mut out.set.0,
        &mut out.cleared.0,
    ] {
        uids.sort();
        uids.dedup();
    }
    out
}

/// The flag event kinds, any of which makes STORE read the flags before it changes them.
const FLAG_KINDS: [EventKind; 4] = [
    EventKind::MessageTrash,
    EventKind::MessageRead,
    EventKind::FlagsSet,
    EventKind::FlagsClear,
];

impl MailService {
    /// An event of `kind` by `actor`, now.
    fn event_by(kind: EventKind, actor: &Actor) -> Event {
        let mut event = Event::new(kind);
        event.user = actor.user.clone();
        event.origin = actor.origin.as_deref().cloned();
        event
    }

    /// The mailbox's counts after a change, with the owner's `\Seen`; `None` (logged) when
    /// they cannot be read: the event goes out without them.
    fn counts_of(&self, name: &MailboxName) -> Option<MailboxStatus> {
        match self.store.status(name, SeenSource::Index) {
            Ok(status) => Some(status),
            Err(e) => {
                tracing::warn!("events: reading the counts of {name}: {e}");
                None
            }
        }
    }

    /// Sets the mailbox and its counts on `event`.
    fn with_counts(event: &mut Event, name: &MailboxName, status: Option<&MailboxStatus>) {
        event.mailbox = Some(MailboxRef {
            name: name.clone(),
            uidvalidity: status.map(|s| s.uidvalidity),
        });
        if let Some(s) = status {
            event.uidnext = Some(s.uidnext);
            event.messages = Some(s.exists);
            event.unseen = Some(s.unseen);
            event.modseq = Some(s.highestmodseq.get());
        }
    }

    /// MessageAppend for messages an APPEND, COPY or MOVE stored in `target` (one event per
    /// message, as its `uri` names one message), with each message's size, flags, cached
    /// ENVELOPE, and the Message-ID, Subject and From of its stored header block.
    pub(crate) fn report_appended(
        &self,
        actor: &Actor,
        target: &MailboxName,
        uidvalidity: UidValidity,
        uids: &[Uid],
    ) {
        if uids.is_empty() || !self.events.wants(EventKind::MessageAppend) {
            return;
        }
        let status = self.counts_of(target);
        let records = self
            .store
            .records(
                target,
                SeenSource::Index,
                UidSelection::Uids(uids),
                RecordFields::ALL,
            )
            .unwrap_or_else(|e| {
                tracing::warn!("events: reading appended messages of {target}: {e}");
                Vec::new()
            });
        for uid in uids {
            let mut event = Self::event_by(EventKind::MessageAppend, actor);
            Self::with_counts(&mut event, target, status.as_ref());
            if let Some(mailbox) = event.mailbox.as_mut() {
                mailbox.uidvalidity = Some(uidvalidity);
            }
            event.uids = vec![*uid];
            if let Some(record) = records.iter().find(|r| r.uid == *uid) {
                event.flags = record
                    .flags
                    .iter()
                    .map(|f| f.as_str().to_string())
                    .collect();
                let head = record.header.as_deref().unwrap_or_default();
                let (subject, from) = subject_and_from(head);
                event.message = Some(MessageInfo {
                    size: record.size,
                    message_id: message_id(head),
                    subject,
                    from,
                    envelope: record
                        .message_cache()
                        .ok()
                        .map(|c| String::from_utf8_lossy(c.envelope()).into_owned()),
                    ..MessageInfo::default()
                });
            }
            self.events.event(&event);
        }
    }

    /// MessageExpunge for `uids` of `name`, gone for good (EXPUNGE, UID EXPUNGE, MOVE's
    /// source), with the mailbox's counts after.
    pub(crate) fn report_expunged(&self, actor: &Actor, name: &MailboxName, uids: &[Uid]) {
        if uids.is_empty() || !self.events.wants(EventKind::MessageExpunge) {
            return;
        }
        let mut event = Self::event_by(EventKind::MessageExpunge, actor);
        Self::with_counts(&mut event, name, self.counts_of(name).as_ref());
        let mut uids = uids.to_vec();
        uids.sort();
        event.uids = uids;
        self.events.event(&event);
    }

    /// The flags of `uids` before a STORE, when some flag event is wanted (else `None`, and
    /// STORE reads nothing more).
    pub(crate) fn flags_before(&self, mailbox: &Authorized, uids: &[Uid]) -> Option<FlagsBefore> {
        if !FLAG_KINDS.iter().any(|k| self.events.wants(*k)) {
            return None;
        }
        match self.store.records(
            mailbox.name(),
            mailbox.seen(),
            UidSelection::Uids(uids),
            RecordFields::BASIC,
        ) {
            Ok(records) => Some(records.into_iter().map(|r| (r.uid, r.flags)).collect()),
            Err(e) => {
                tracing::warn!(
                    "events: reading flags of {} before STORE: {e}",
                    mailbox.name()
                );
                None
            }
        }
    }

    /// MessageTrash, MessageRead, FlagsSet and FlagsClear for what a STORE changed. When a
    /// `\Seen` was cleared, FlagsClear goes first (as Cyrus orders them, so that a reader
    /// counting unseen messages sees the counts move in order).
    pub(crate) fn report_flags(
        &self,
        mailbox: &Authorized,
        before: &FlagsBefore,
        outcome: &StoreFlagsOutcome,
    ) {
        let after: Vec<(Uid, Vec<Flag>)> = outcome
            .updated
            .iter()
            .map(|(uid, flags, _)| (*uid, flags.clone()))
            .collect();
        let changes = split_flag_changes(before, &after);
        let status = self.counts_of(mailbox.name());
        let send = |kind: EventKind, uids: &[Uid], flags: &[Flag]| {
            if uids.is_empty() || !self.events.wants(kind) {
                return;
            }
            let mut event = Self::event_by(kind, mailbox.actor());
            Self::with_counts(&mut event, mailbox.name(), status.as_ref());
            event.uids = uids.to_vec();
            event.flags = flags.iter().map(|f| f.as_str().to_string()).collect();
            if let [uid] = uids {
                // RFC 5423 `modseq`: the one message's own.
                event.modseq = outcome
                    .updated
                    .iter()
                    .find(|(u, _, _)| u == uid)
                    .map(|(_, _, m)| m.get());
            }
            self.events.event(&event);
        };
        let clear_first = changes.cleared.1.contains(&Flag::Seen);
        if clear_first {
            send(
                EventKind::FlagsClear,
                &changes.cleared.0,
                &changes.cleared.1,
            );
        }
        send(EventKind::MessageTrash, &changes.trashed, &[]);
        send(EventKind::MessageRead, &changes.read, &[]);
        send(EventKind::FlagsSet, &changes.set.0, &changes.set.1);
        if !clear_first {
            send(
                EventKind::FlagsClear,
                &changes.cleared.0,
                &changes.cleared.1,
            );
        }
    }

    /// The UIDVALIDITY of `name` when some event of `kind` is wanted: read before a DELETE,
    /// which leaves nothing to read after.
    pub(crate) fn uidvalidity_if_wanted(
        &self,
        kind: EventKind,
        name: &MailboxName,
    ) -> Option<Option<UidValidity>> {
        if !self.events.wants(kind) {
            return None;
        }
        Some(self.counts_of(name).map(|s| s.uidvalidity))
    }

    /// MailboxCreate or MailboxDelete for `name`; `uidvalidity` `None` reads it now (after a
    /// CREATE).
    pub(crate) fn report_mailbox(
        &self,
        kind: EventKind,
        actor: &Actor,
        name: &MailboxName,
        uidvalidity: Option<UidValidity>,
    ) {
        if !self.events.wants(kind) {
            return;
        }
        let mut event = Self::event_by(kind, actor);
        let uidvalidity = uidvalidity.or_else(|| self.counts_of(name).map(|s| s.uidvalidity));
        event.mailbox = Some(MailboxRef {
            name: name.clone(),
            uidvalidity,
        });
        self.events.event(&event);
    }

    /// MailboxRename from `from` to `to`, with the new name's UIDVALIDITY (the old one's is
    /// the same mailbox's, but for an INBOX, whose messages moved to a new mailbox).
    pub(crate) fn report_renamed(
        &self,
        actor: &Actor,
        from: &MailboxName,
        old_uidvalidity: Option<UidValidity>,
        to: &MailboxName,
    ) {
        if !self.events.wants(EventKind::MailboxRename) {
            return;
        }
        let mut event = Self::event_by(EventKind::MailboxRename, actor);
        let new_uidvalidity = self.counts_of(to).map(|s| s.uidvalidity);
        event.old_mailbox = Some(MailboxRef {
            name: from.clone(),
            uidvalidity: old_uidvalidity.or(new_uidvalidity),
        });
        event.mailbox = Some(MailboxRef {
            name: to.clone(),
            uidvalidity: new_uidvalidity,
        });
        self.events.event(&event);
    }

    /// MailboxSubscribe or MailboxUnSubscribe of `name` by `identity`.
    pub(crate) fn report_subscription(
        &self,
        kind: EventKind,
        identity: &Identity,
        name: &MailboxName,
    ) {
        if !self.events.wants(kind) {
            return;
        }
        let mut event = Self::event_by(kind, &Actor::of(identity));
        event.mailbox = Some(MailboxRef {
            name: name.clone(),
            uidvalidity: None,
        });
        self.events.event(&event);
    }

    /// AclChange: `subject` now has `rights` on `name` (empty after DELETEACL).
    pub(crate) fn report_acl(
        &self,
        actor: &Actor,
        name: &MailboxName,
        subject: &str,
        rights: &str,
    ) {
        if !self.events.wants(EventKind::AclChange) {
            return;
        }
        let mut event = Self::event_by(EventKind::AclChange, actor);
        event.mailbox = Some(MailboxRef {
            name: name.clone(),
            uidvalidity: self.counts_of(name).map(|s| s.uidvalidity),
        });
        event.acl = Some(AclInfo {
            subject: subject.to_string(),
            rights: rights.to_string(),
        });
        self.events.event(&event);
    }

    /// A Quota* event about `report`'s root. `user` is the root's owner when it is a user's
    /// (Cyrus fills it so, for the quota events the operator's tools cause), else the actor.
    pub(crate) fn report_quota(&self, kind: EventKind, actor: &Actor, report: &QuotaReport) {
        if !self.events.wants(kind) {
            return;
        }
        let mut event = Self::event_by(kind, actor);
        if let Some(owner) = crate::namespace::userid_of(&report.root) {
            event.user = Some(owner);
        }
        event.quota = Some(QuotaInfo {
            root: report.root.clone(),
            storage_used_kib: Some(report.usage.storage_bytes.div_ceil(1024)),
            storage_limit_kib: report.limits.storage_kib,
            messages_used: Some(report.usage.messages),
            messages_limit: report.limits.messages,
        });
        self.events.event(&event);
    }

    /// QuotaExceed for the root governing `name`, after a store refused for quota.
    pub(crate) fn report_over_quota(&self, actor: &Actor, name: &MailboxName) {
        if !self.events.wants(EventKind::QuotaExceed) {
            return;
        }
        match self.governing_report(name) {
            Ok(Some(report)) => self.report_quota(EventKind::QuotaExceed, actor, &report),
            Ok(None) => {}
            Err(e) => tracing::warn!("events: reading the quota of {name}: {e}"),
        }
    }

    /// The quota root governing `name` when it is at or over a limit and QuotaWithin is
    /// wanted: read before a change that frees space (EXPUNGE, DELETE), so that
    /// [`MailService::report_within_quota`] can tell whether it went back under.
    pub(crate) fn over_quota_before(&self, name: &MailboxName) -> Option<QuotaReport> {
        if !self.events.wants(EventKind::QuotaWithin) {
            return None;
        }
        self.governing_report(name)
            .ok()
            .flatten()
            .filter(at_or_over)
    }

    /// QuotaWithin when the root `before` found at or over a limit is now under every limit.
    pub(crate) fn report_within_quota(&self, actor: &Actor, before: Option<QuotaReport>) {
        let Some(before) = before else { return };
        match self.governing_report(&before.root) {
            Ok(Some(now)) if now.root == before.root && !at_or_over(&now) => {
                self.report_quota(EventKind::QuotaWithin, actor, &now)
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("events: reading the quota of {}: {e}", before.root),
        }
    }

    /// The Login event (RFC 5423 §4.3) for an identity a server has just authenticated; the
    /// identity's origin says from where. Servers call it once per successful login.
    pub fn report_login(&self, identity: &Identity) {
        self.report_access(EventKind::Login, identity);
    }

    /// The Logout event for the end of a session that logged in (whether the client said
    /// LOGOUT/QUIT or the connection ended).
    pub fn report_logout(&self, identity: &Identity) {
        self.report_access(EventKind::Logout, identity);
    }

    fn report_access(&self, kind: EventKind, identity: &Identity) {
        if !self.events.wants(kind) {
            return;
        }
        let event = Self::event_by(kind, &Actor::of(identity));
        self.events.event(&event);
    }
}

/// Whether a root's usage is at or past one of its limits (no more can be added).
fn at_or_over(report: &QuotaReport) -> bool {
    let storage = report
        .limits
        .storage_kib
        .is_some_and(|kib| report.usage.storage_bytes >= kib.saturating_mul(1024));
    let messages = report
        .limits
        .messages
        .is_some_and(|max| report.usage.messages >= max);
    storage || messages
}

/// The Message-ID field of a header block, trimmed, when there is one.
fn message_id(head: &[u8]) -> Option<String> {
    let block = &head[..message::header_len(head).min(head.len())];
    message::header_fields(block)
        .into_iter()
        .find(|f| f.name.eq_ignore_ascii_case(b"message-id"))
        .map(|f| {
            let value = message::unfold(f.value);
            String::from_utf8_lossy(&value).trim().to_string()
        })
        .filter(|id| !id.is_empty())
}

/// The parts of a message's header block a MessageNew or MessageAppend carries: the Subject
/// (RFC 2047 decoded) and the From field as sent. Reads the header block only.
pub(crate) fn subject_and_from(head: &[u8]) -> (Option<String>, Option<String>) {
    let block = &head[..message::header_len(head).min(head.len())];
    let mut subject = None;
    let mut from = None;
    for field in message::header_fields(block) {
        if subject.is_none() && field.name.eq_ignore_ascii_case(b"subject") {
            subject = Some(message::decode_header_value(&message::unfold(field.value)));
        } else if from.is_none() && field.name.eq_ignore_ascii_case(b"from") {
            let value = message::unfold(field.value);
            from = Some(String::from_utf8_lossy(&value).trim().to_string());
        }
    }
    (subject, from)
}

#[cfg(test)]
#[path = "emit_tests.rs"]
mod tests;
