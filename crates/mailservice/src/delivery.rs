//! Where LMTP delivers, decided like every other access (RFC 4314 `p`, Cyrus's `lmtpd`):
//!
//! - `user` goes to the user's INBOX. Delivery to an INBOX needs no right: the INBOX is what
//!   makes a user known to delivery, and its ACL is the owner's to shape for IMAP.
//! - `user+detail` goes to the user's mailbox `detail` (`user.NAME.detail`) when it exists and
//!   the delivering identity holds `p` there, else to the INBOX. The detail is written in the
//!   client's namespace: its separator addresses sub-mailboxes (`bovik+work.projects`, or
//!   `bovik+work/projects` under `unixhierarchysep`, is `user.bovik.work.projects`), and it is
//!   taken as written, never case-folded (Cyrus's `lmtp_downcase_rcpt` folds only the part
//!   before the `+`). A detail naming a mailbox the sender may not post to, or may not even
//!   see, is answered exactly like one naming no mailbox: the mail goes to the INBOX.
//! - `postuser+name` (Cyrus's `postuser`) goes to the shared mailbox `name` when it exists and
//!   the identity holds `p` there. When the identity may see it (`l`) but not post, the
//!   recipient is refused as not authorized ([`ServiceError::PermissionDenied`], LMTP's
//!   `550 5.7.1`); a mailbox it may not see, or that does not exist, is an unknown recipient in
//!   the same words as any other, so that RCPT reveals nothing about which shared mailboxes
//!   exist (RFC 4314 §4). A user's mailboxes are not reached this way: `user+detail` is their
//!   address.
//!
//! An unauthenticated delivery acts as the anonymous identity, so `p` must be granted to
//! `anyone` or `anonymous` (Cyrus's usual `anyone p`) for mail to reach a detail or shared
//! mailbox; an LMTP session that authenticated acts as its user.
//!
//! # One delivery, in three steps
//! [`MailService::deliver_message`] is the one path every delivery takes (LMTP, `darius
//! deliver`): **decide** the mailboxes each recipient's copy goes to — the [`DeliveryFilter`],
//! where Sieve plugs in, sees the envelope, the delivering identity and the message; without
//! one, each recipient's copy goes where the address named ([`ImplicitKeep`]) — then **store**
//! once per distinct mailbox (single-instance store, duplicate suppression, the quota rule),
//! then **report** each stored message to the [`EventSink`](crate::events::EventSink).

use std::collections::HashMap;

use mailstore::{AppendItem, AppendSource, Delivered};
use types::{Flag, MailboxName, Rights};

use crate::access::{Actor, Authorized, Identity, Operation};
use crate::error::ServiceError;
use crate::events::{Event, EventKind, MailboxRef, MessageInfo};
use crate::MailService;

type Result<T> = std::result::Result<T, ServiceError>;

/// What an LMTP recipient's local part names, once the server has split it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryAddress {
    /// `user` or `user+detail`; the detail as written, in the client's namespace form.
    User {
        user: String,
        detail: Option<String>,
    },
    /// `postuser+name`: a shared mailbox, `name` in the client's namespace form, of the
    /// virtual domain `domain` (`None`: the default domain).
    Shared {
        name: String,
        domain: Option<String>,
    },
}

/// The envelope of a delivery and who makes it.
#[derive(Clone, Copy, Debug)]
pub struct Envelope<'a> {
    /// The reverse-path (`None`: the null path `<>`).
    pub from: Option<&'a str>,
    /// Who delivers: the anonymous identity, or the user an LMTP session authenticated as.
    pub identity: &'a Identity,
}

/// A recipient accepted at RCPT: the address as the client wrote it, and the mailbox
/// [`MailService::delivery_target`] found for it.
#[derive(Clone, Debug)]
pub struct DeliveryRecipient {
    pub address: String,
    pub target: Authorized,
    /// Store this recipient's copies whatever their quota roots say (LMTP's IGNOREQUOTA from a
    /// trusted client, `darius deliver -q`).
    pub ignore_quota: bool,
}

/// The message as a [`DeliveryFilter`] sees it.
#[derive(Clone, Copy, Debug)]
pub struct FilterMessage<'a> {
    /// The start of the message (at least its header, as far as it was kept).
    pub head: &'a [u8],
    /// The whole message.
    pub source: &'a AppendSource,
}

/// Decides what becomes of the copy of a message for one recipient: the step of a delivery
/// where Sieve plugs in. See [`Decision`].
pub trait DeliveryFilter: Send + Sync {
    fn decide(
        &self,
        service: &MailService,
        envelope: &Envelope<'_>,
        recipient: &DeliveryRecipient,
        message: &FilterMessage<'_>,
    ) -> Result<Decision>;
}

/// Work a [`Decision`] leaves for after the recipient's copies are stored (send a redirect or
/// a vacation reply, record what was answered); its error answers the recipient with a
/// temporary failure, so that a message whose only copy was to go out is never lost.
pub type AfterStore = Box<dyn FnOnce(&MailService) -> Result<()> + Send>;

/// What a [`DeliveryFilter`] decided for one recipient's copy.
#[derive(Default)]
pub struct Decision {
    /// Where to store it. Empty stores nothing (a Sieve `discard`, or a `redirect` alone); the
    /// recipient is still answered as delivered. Two placements in one mailbox store one copy
    /// (the first one's flags and header).
    pub copies: Vec<Placement>,
    /// Refuse the message for this recipient with this reason (Sieve `ereject`, LMTP's `550
    /// 5.7.1`); nothing is stored and `after` is not run.
    pub refusal: Option<String>,
    /// Run once every copy of this recipient was stored (or was a suppressed duplicate).
    pub after: Option<AfterStore>,
}

impl Decision {
    /// The copy goes to `target`, as it came.
    pub fn keep(target: Authorized) -> Decision {
        Decision {
            copies: vec![Placement::plain(target)],
            ..Decision::default()
        }
    }
}

/// One copy to store.
#[derive(Clone, Debug)]
pub struct Placement {
    pub target: Authorized,
    /// The flags to store it with (Sieve imap4flags); `None` for the usual none.
    pub flags: Option<Vec<Flag>>,
    /// A replacement header block (fields and the blank line) for this copy (Sieve
    /// `editheader`); `None` keeps the message's own.
    pub header: Option<std::sync::Arc<[u8]>>,
}

impl Placement {
    /// `target`, no flags, the message as it came.
    pub fn plain(target: Authorized) -> Placement {
        Placement {
            target,
            flags: None,
            header: None,
        }
    }
}

/// No filtering: each recipient's copy goes to the mailbox its address named.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImplicitKeep;

impl DeliveryFilter for ImplicitKeep {
    fn decide(
        &self,
        _: &MailService,
        _: &Envelope<'_>,
        recipient: &DeliveryRecipient,
        _: &FilterMessage<'_>,
    ) -> Result<Decision> {
        Ok(Decision::keep(recipient.target.clone()))
    }
}

/// How a delivery stores (the server's configuration, and `darius deliver -q`).
#[derive(Clone, Copy, Debug)]
pub struct DeliveryOptions {
    /// `singleinstancestore`: one file per partition for every mailbox of the delivery; when
    /// off, each mailbox gets a copy of its own.
    pub single_instance: bool,
    /// `duplicatesuppression`: a mailbox that received this Message-ID lately gets no copy.
    pub suppress_duplicates: bool,
}

/// What a delivery did: the outcome for each distinct mailbox, and which of them each
/// recipient's copy went to (in RCPT order). A recipient whose filter failed has its error.
#[derive(Debug)]
pub struct DeliveryReport {
    pub mailboxes: Vec<(MailboxName, Result<Delivered>)>,
    pub recipients: Vec<Result<Vec<usize>>>,
}

impl MailService {
    /// Delivers one message (see "One delivery, in three steps" above). `message_id` is the
    /// message's Message-ID (for duplicate suppression and events); `head` its start, for the
    /// filter. The outer error is about the message itself (too big, malformed, spool I/O) and
    /// concerns every recipient.
    pub fn deliver_message(
        &self,
        envelope: &Envelope<'_>,
        recipients: &[DeliveryRecipient],
        item: AppendItem,
        head: &[u8],
        message_id: Option<&str>,
        options: DeliveryOptions,
    ) -> Result<DeliveryReport> {
        let message = FilterMessage {
            head,
            source: &item.source,
        };
        // The distinct mailboxes, each with the first placement that named it.
        let mut index: HashMap<MailboxName, usize> = HashMap::new();
        let mut unique: Vec<Placement> = Vec::new();
        let mut of_recipient = Vec::with_capacity(recipients.len());
        let mut afters: Vec<Option<AfterStore>> = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            let decided = self.filter.decide(self, envelope, recipient, &message);
            let (placed, after) = match decided {
                Err(e) => (Err(e), None),
                Ok(Decision {
                    refusal: Some(reason),
                    ..
                }) => (Err(ServiceError::Rejected(reason)), None),
                Ok(Decision { copies, after, .. }) => {
                    let mut at: Vec<usize> = Vec::with_capacity(copies.len());
                    for placement in copies {
                        let i =
                            *index
                                .entry(placement.target.name().clone())
                                .or_insert_with(|| {
                                    unique.push(placement);
                                    unique.len() - 1
                                });
                        if !at.contains(&i) {
                            at.push(i);
                        }
                    }
                    (Ok(at), after)
                }
            };
            of_recipient.push(placed);
            afters.push(after);
        }
        let size = source_size(&item.source);
        let dedup = message_id.filter(|_| options.suppress_duplicates);
        // A mailbox any quota-exempt recipient's copy goes to is stored without the check.
        let mut exempt = vec![false; unique.len()];
        for (recipient, decided) in recipients.iter().zip(&of_recipient) {
            if let (true, Ok(at)) = (recipient.ignore_quota, decided) {
                for &i in at {
                    exempt[i] = true;
                }
            }
        }
        // The store calls: with single-instance store one per group of mailboxes whose copies
        // are alike (quota check or not, flags, header), else one per mailbox; each gets its
        // own copy of the message but the last, which takes it.
        let mut calls: Vec<Vec<usize>> = Vec::new();
        for i in 0..unique.len() {
            let alike = |&j: &usize| {
                exempt[j] == exempt[i]
                    && unique[j].flags == unique[i].flags
                    && unique[j].header == unique[i].header
            };
            match calls
                .iter_mut()
                .find(|c| options.single_instance && c.first().is_some_and(alike))
            {
                Some(call) => call.push(i),
                None => calls.push(vec![i]),
            }
        }
        let mut results: Vec<Option<Result<Delivered>>> = unique.iter().map(|_| None).collect();
        let mut item = Some(item);
        let last = calls.len().saturating_sub(1);
        for (n, at) in calls.into_iter().enumerate() {
            let Some(&first) = at.first() else { continue };
            let copy = if n == last { item.take() } else { item.clone() };
            // Only the last call takes the message, so every call has one.
            let Some(mut copy) = copy else { break };
            let placement = &unique[first];
            if let Some(flags) = &placement.flags {
                copy.flags = flags.clone();
            }
            let stored = match &placement.header {
                Some(header) => with_header(&copy.source, header).and_then(|source| {
                    copy.source = source;
                    self.store_delivery_of(&unique, &at, copy, dedup, exempt[first])
                }),
                None => self.store_delivery_of(&unique, &at, copy, dedup, exempt[first]),
            };
            match stored {
                Ok(stored) => {
                    for (&i, result) in at.iter().zip(stored) {
                        results[i] = Some(result);
                    }
                }
                // A failure of the message itself concerns every recipient, as before Sieve;
                // a failure to rebuild an edited copy concerns that copy's mailboxes.
                Err(e) if placement.header.is_none() => return Err(e),
                Err(e) => {
                    tracing::error!("delivery: storing an edited copy: {e}");
                    for &i in &at {
                        results[i] = Some(Err(ServiceError::Store(mailstore::StoreError::Busy(
                            "an edited copy could not be written".into(),
                        ))));
                    }
                }
            }
        }
        let results: Vec<Result<Delivered>> = results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    // The store answers once per target it is given; this cannot happen.
                    Err(ServiceError::Store(mailstore::StoreError::Corrupt {
                        what: "delivery".into(),
                        detail: "a mailbox got no outcome".into(),
                    }))
                })
            })
            .collect();
        // What is left for after the store, for each recipient whose copies all made it.
        for (decided, after) in of_recipient.iter_mut().zip(afters) {
            let (Ok(at), Some(after)) = (&*decided, after) else {
                continue;
            };
            if at.iter().all(|&i| results[i].is_ok()) {
                if let Err(e) = after(self) {
                    *decided = Err(e);
                }
            }
        }
        let mailboxes: Vec<(MailboxName, Result<Delivered>)> = unique
            .into_iter()
            .map(|p| p.target.name().clone())
            .zip(results)
            .collect();
        self.report_delivered(&mailboxes, envelope, size, head, message_id);
        Ok(DeliveryReport {
            mailboxes,
            recipients: of_recipient,
        })
    }

    /// MessageNew for each message a delivery stored (one per mailbox and UID; none for a
    /// suppressed duplicate), and QuotaExceed for each mailbox refused for quota. `user` is
    /// the mailbox's owner: a delivery has no acting user, and a receiver wants to know whose
    /// mail arrived (Cyrus names the LMTP client's authenticated identity, often none).
    fn report_delivered(
        &self,
        mailboxes: &[(MailboxName, Result<Delivered>)],
        envelope: &Envelope<'_>,
        size: u64,
        head: &[u8],
        message_id: Option<&str>,
    ) {
        let lmtp = Actor::of(envelope.identity);
        for (mailbox, result) in mailboxes {
            if let Err(ServiceError::Store(mailstore::StoreError::OverQuota(_))) = result {
                self.report_over_quota(&lmtp, mailbox);
            }
        }
        if !self.events.wants(EventKind::MessageNew) {
            return;
        }
        let (subject, from) = crate::emit::subject_and_from(head);
        for (mailbox, result) in mailboxes {
            let Ok(Delivered::Stored(out)) = result else {
                continue;
            };
            let status = self
                .store
                .status(mailbox, mailstore::SeenSource::Index)
                .inspect_err(|e| tracing::warn!("events: reading the counts of {mailbox}: {e}"))
                .ok();
            for uid in &out.uids {
                let mut event = Event::new(EventKind::MessageNew);
                event.user = crate::namespace::userid_of(mailbox);
                event.mailbox = Some(MailboxRef {
                    name: mailbox.clone(),
                    uidvalidity: Some(out.uidvalidity),
                });
                if let Some(s) = &status {
                    event.uidnext = Some(s.uidnext);
                    event.messages = Some(s.exists);
                    event.unseen = Some(s.unseen);
                    event.modseq = Some(s.highestmodseq.get());
                }
                event.uids = vec![*uid];
                event.message = Some(MessageInfo {
                    size,
                    envelope_from: envelope.from.map(str::to_string),
                    message_id: message_id.map(str::to_string),
                    subject: subject.clone(),
                    from: from.clone(),
                    envelope: None,
                });
                self.events.event(&event);
            }
        }
    }

    /// Stores one copy in the mailboxes `at` of `unique`.
    fn store_delivery_of(
        &self,
        unique: &[Placement],
        at: &[usize],
        item: AppendItem,
        dedup: Option<&str>,
        exempt: bool,
    ) -> Result<Vec<Result<Delivered>>> {
        let targets: Vec<Authorized> = at.iter().map(|&i| unique[i].target.clone()).collect();
        self.store_delivery(&targets, item, dedup, exempt)
    }

    /// The mailbox a message for `address`, delivered by `sender`, goes to (see the module
    /// documentation). `NoSuchMailbox` for every recipient that is not deliverable and not
    /// visible, whatever the reason, so that the reply is the same for all of them;
    /// `PermissionDenied` for a shared mailbox `sender` sees but may not post to; other errors
    /// are failures.
    pub fn delivery_target(
        &self,
        sender: &Identity,
        address: &DeliveryAddress,
    ) -> Result<Authorized> {
        // An unauthenticated deliverer posts as the anonymous identity of the recipient's
        // domain, whose `anyone`/`anonymous` entries are the ones that apply there.
        let poster = |domain: Option<&str>| match sender.is_anonymous() {
            true => Identity::anonymous().with_domain(domain.map(str::to_string)),
            false => sender.clone(),
        };
        match address {
            DeliveryAddress::User { user, detail } => {
                let inbox = self
                    .namespace
                    .user_inbox(user)
                    .map_err(|_| ServiceError::NoSuchMailbox)?;
                self.store.mailbox_entry(&inbox)?;
                if let Some(detail) = detail {
                    let poster = poster(inbox.domain());
                    if let Some(target) = self.detail_target(&poster, &inbox, detail)? {
                        return Ok(target);
                    }
                }
                let owner = self.namespace.owner_identity(user);
                Ok(Authorized::new(
                    &owner,
                    inbox,
                    Operation::Post,
                    Rights::POST,
                ))
            }
            DeliveryAddress::Shared { name, domain } => {
                let internal = self.namespace.path_to_internal(name);
                let name = MailboxName::try_from(internal)
                    .ok()
                    .filter(|n| {
                        n.domain().is_none() && n.owner_user().is_none() && n.as_str() != "user"
                    })
                    .and_then(|n| n.in_domain(domain.as_deref()).ok())
                    .ok_or(ServiceError::NoSuchMailbox)?;
                match self.authorize_internal(&poster(domain.as_deref()), name, Operation::Post) {
                    Err(
                        ServiceError::NoSuchMailbox
                        | ServiceError::BadName(_)
                        | ServiceError::Refused(_),
                    ) => Err(ServiceError::NoSuchMailbox),
                    other => other,
                }
            }
        }
    }

    /// The mailbox `detail` of the user whose INBOX is `inbox`, when `sender` may post there.
    fn detail_target(
        &self,
        sender: &Identity,
        inbox: &MailboxName,
        detail: &str,
    ) -> Result<Option<Authorized>> {
        let path = self.namespace.path_to_internal(detail);
        match MailboxName::try_from(format!("{inbox}.{path}")) {
            Ok(name) => self.postable(sender, name),
            Err(_) => Ok(None),
        }
    }

    /// `name`, authorized for posting by `sender`; `None` when it does not exist or `sender`
    /// lacks `p` (or cannot see it), which callers must not tell apart.
    fn postable(&self, sender: &Identity, name: MailboxName) -> Result<Option<Authorized>> {
        match self.authorize_internal(sender, name, Operation::Post) {
            Ok(target) => Ok(Some(target)),
            Err(
                ServiceError::NoSuchMailbox
                | ServiceError::PermissionDenied
                | ServiceError::BadName(_)
                | ServiceError::Refused(_),
            ) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The message of `source` with its header block replaced by `header` (which ends with the
/// blank line): the copy an `editheader` script stores.
fn with_header(source: &AppendSource, header: &[u8]) -> Result<AppendSource> {
    let raw: std::borrow::Cow<'_, [u8]> = match source {
        AppendSource::Bytes(b) => std::borrow::Cow::Borrowed(b.as_slice()),
        AppendSource::File(path) => {
            std::borrow::Cow::Owned(std::fs::read(path).map_err(|source| {
                ServiceError::Store(mailstore::StoreError::Io {
                    path: path.clone(),
                    source,
                })
            })?)
        }
    };
    let body = body_start(&raw);
    let mut out = Vec::with_capacity(header.len() + raw.len() - body);
    out.extend_from_slice(header);
    out.extend_from_slice(&raw[body..]);
    Ok(AppendSource::Bytes(out))
}

/// Where the body of `raw` starts: after the first empty line (CRLF or LF), or at the end when
/// there is none.
fn body_start(raw: &[u8]) -> usize {
    let mut line = 0;
    while line < raw.len() {
        let end = raw[line..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| line + i + 1);
        let text = &raw[line..end];
        if text == b"\r\n" || text == b"\n" {
            return end;
        }
        line = end;
    }
    raw.len()
}

/// The size of a message as received (the store's normalisation rarely changes it: MTAs send
/// CRLF lines); 0 when a spool file cannot be read, which only an event's size shows.
pub(crate) fn source_size(source: &AppendSource) -> u64 {
    match source {
        AppendSource::Bytes(b) => b.len() as u64,
        AppendSource::File(path) => std::fs::metadata(path).map_or(0, |m| m.len()),
    }
}

#[cfg(test)]
#[path = "delivery_tests.rs"]
mod tests;
