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
use types::{MailboxName, Rights};

use crate::access::{Authorized, Identity, Operation};
use crate::error::ServiceError;
use crate::events::MessageNew;
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
    /// `postuser+name`: a shared mailbox, `name` in the client's namespace form.
    Shared { name: String },
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

/// Decides which mailboxes the copy of a message for one recipient goes to: the step of a
/// delivery where Sieve plugs in. An empty list stores nothing for that recipient (a Sieve
/// `discard`); the recipient is still answered as delivered.
pub trait DeliveryFilter: Send + Sync {
    fn targets(
        &self,
        service: &MailService,
        envelope: &Envelope<'_>,
        recipient: &DeliveryRecipient,
        message: &FilterMessage<'_>,
    ) -> Result<Vec<Authorized>>;
}

/// No filtering: each recipient's copy goes to the mailbox its address named.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImplicitKeep;

impl DeliveryFilter for ImplicitKeep {
    fn targets(
        &self,
        _: &MailService,
        _: &Envelope<'_>,
        recipient: &DeliveryRecipient,
        _: &FilterMessage<'_>,
    ) -> Result<Vec<Authorized>> {
        Ok(vec![recipient.target.clone()])
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
        let mut index: HashMap<MailboxName, usize> = HashMap::new();
        let mut unique: Vec<Authorized> = Vec::new();
        let mut of_recipient = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            let decided = self
                .filter
                .targets(self, envelope, recipient, &message)
                .map(|targets| {
                    targets
                        .into_iter()
                        .map(|t| {
                            *index.entry(t.name().clone()).or_insert_with(|| {
                                unique.push(t);
                                unique.len() - 1
                            })
                        })
                        .collect::<Vec<usize>>()
                });
            of_recipient.push(decided);
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
        // The store calls: with single-instance store one per group (quota-checked, exempt),
        // else one per mailbox; each gets its own copy of the message but the last, which
        // takes it.
        let mut calls: Vec<(Vec<usize>, bool)> = Vec::new();
        for exempt_group in [false, true] {
            let at: Vec<usize> = (0..unique.len())
                .filter(|&i| exempt[i] == exempt_group)
                .collect();
            if options.single_instance {
                if !at.is_empty() {
                    calls.push((at, exempt_group));
                }
            } else {
                calls.extend(at.into_iter().map(|i| (vec![i], exempt_group)));
            }
        }
        let mut results: Vec<Option<Result<Delivered>>> = unique.iter().map(|_| None).collect();
        let mut item = Some(item);
        let last = calls.len().saturating_sub(1);
        for (n, (at, exempt_call)) in calls.into_iter().enumerate() {
            let copy = if n == last { item.take() } else { item.clone() };
            // Only the last call takes the message, so every call has one.
            let Some(copy) = copy else { break };
            let targets: Vec<Authorized> = at.iter().map(|&i| unique[i].clone()).collect();
            let stored = self.store_delivery(&targets, copy, dedup, exempt_call)?;
            for (i, result) in at.into_iter().zip(stored) {
                results[i] = Some(result);
            }
        }
        let results = results.into_iter().map(|r| {
            r.unwrap_or_else(|| {
                // The store answers once per target it is given; this cannot happen.
                Err(ServiceError::Store(mailstore::StoreError::Corrupt {
                    what: "delivery".into(),
                    detail: "a mailbox got no outcome".into(),
                }))
            })
        });
        let mailboxes: Vec<(MailboxName, Result<Delivered>)> = unique
            .into_iter()
            .map(|t| t.name().clone())
            .zip(results)
            .collect();
        for (mailbox, result) in &mailboxes {
            let Ok(Delivered::Stored(out)) = result else {
                continue;
            };
            for uid in &out.uids {
                self.events.message_new(&MessageNew {
                    mailbox: mailbox.clone(),
                    owner: mailbox.owner_user().map(str::to_string),
                    uidvalidity: out.uidvalidity,
                    uid: *uid,
                    size,
                    envelope_from: envelope.from.map(str::to_string),
                    message_id: message_id.map(str::to_string),
                });
            }
        }
        Ok(DeliveryReport {
            mailboxes,
            recipients: of_recipient,
        })
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
        match address {
            DeliveryAddress::User { user, detail } => {
                let inbox = self
                    .namespace
                    .user_inbox(user)
                    .map_err(|_| ServiceError::NoSuchMailbox)?;
                self.store.mailbox_entry(&inbox)?;
                if let Some(detail) = detail {
                    if let Some(target) = self.detail_target(sender, &inbox, detail)? {
                        return Ok(target);
                    }
                }
                let owner = Identity::new(user, false).with_inbox(Some(inbox.clone()));
                Ok(Authorized::new(
                    &owner,
                    inbox,
                    Operation::Post,
                    Rights::POST,
                ))
            }
            DeliveryAddress::Shared { name } => {
                let internal = self.namespace.path_to_internal(name);
                let name = MailboxName::try_from(internal)
                    .ok()
                    .filter(|n| n.owner_user().is_none() && n.as_str() != "user")
                    .ok_or(ServiceError::NoSuchMailbox)?;
                match self.authorize_internal(sender, name, Operation::Post) {
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

/// The size of a message as received (the store's normalisation rarely changes it: MTAs send
/// CRLF lines); 0 when a spool file cannot be read, which only an event's size shows.
fn source_size(source: &AppendSource) -> u64 {
    match source {
        AppendSource::Bytes(b) => b.len() as u64,
        AppendSource::File(path) => std::fs::metadata(path).map_or(0, |m| m.len()),
    }
}

#[cfg(test)]
#[path = "delivery_tests.rs"]
mod tests;
