//! Storing a received message for a transaction's recipients and turning the outcome into one
//! reply per recipient, in RCPT order (RFC 2033 §4.2). The decisions (where each copy goes, the
//! store, events) are the mail service's [`MailService::deliver_message`]; this module turns its
//! report into replies.
//!
//! Recipients whose copies go to the same mailbox share one delivery: the message is stored
//! there once and each of them gets that delivery's reply (Cyrus does the same within a
//! transaction). A recipient whose copy went to several mailboxes (Sieve) gets the first
//! failure among them, else success.

use lmtp_proto::{codes, Address, Reply};
use mailservice::{
    AppendItem, Delivered, DeliveryOptions, DeliveryRecipient, Envelope, Identity, MailService,
    ServiceError,
};

use crate::body::Body;
use crate::recipient::Recipient;
use crate::trace::message_id;
use crate::LmtpServer;

/// One delivery: the server, the session's id for log lines, the envelope sender and who
/// delivers.
pub(crate) struct Delivery<'a> {
    pub server: &'a LmtpServer,
    pub id: &'a str,
    pub from: Option<&'a Address>,
    pub identity: &'a Identity,
}

impl Delivery<'_> {
    /// Stores the message for every recipient; one reply each, in RCPT order.
    pub(crate) async fn run(
        &self,
        recipients: &[&Recipient],
        body: &mut Body,
        head: &[u8],
    ) -> Vec<Reply> {
        let source = match body.source().await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("{}: spooling a message: {e}", self.id);
                return vec![temporary_failure(); recipients.len()];
            }
        };
        let item = AppendItem {
            source,
            flags: Vec::new(),
            internal_date: None,
        };
        let msgid = message_id(head);
        let config = &self.server.config;
        let options = DeliveryOptions {
            single_instance: config.single_instance_store,
            suppress_duplicates: config.duplicate_suppression,
        };
        let rcpts: Vec<DeliveryRecipient> = recipients
            .iter()
            .map(|r| DeliveryRecipient {
                address: r.address.to_string_form(),
                target: r.target.clone(),
                ignore_quota: r.ignore_quota,
            })
            .collect();
        let from = self.from.map(Address::to_string_form);
        let identity = self.identity.clone();
        let head = head.to_vec();
        let id = msgid.clone();
        let outcome = self
            .server
            .service
            .blocking(move |service: &MailService| {
                let envelope = Envelope {
                    from: from.as_deref(),
                    identity: &identity,
                };
                service.deliver_message(&envelope, &rcpts, item, &head, id.as_deref(), options)
            })
            .await;
        let report = match outcome {
            Ok(report) => report,
            Err(e) => return vec![self.refusal(&e); recipients.len()],
        };
        let msgid = msgid.unwrap_or_else(|| "<nomsgid>".into());
        let per_mailbox: Vec<Reply> = report
            .mailboxes
            .into_iter()
            .map(|(mailbox, result)| self.outcome(mailbox.as_str(), result, &msgid))
            .collect();
        report
            .recipients
            .into_iter()
            .map(|decided| match decided {
                Ok(at) => at
                    .iter()
                    .map(|&i| &per_mailbox[i])
                    .find(|r| r.code >= 400)
                    .or_else(|| at.first().map(|&i| &per_mailbox[i]))
                    .cloned()
                    .unwrap_or_else(|| self.delivered()),
                Err(e) => self.refusal(&e),
            })
            .collect()
    }

    fn delivered(&self) -> Reply {
        Reply::new(250, codes::DESTINATION_OK, format!("Ok {}", self.id))
    }

    fn outcome(
        &self,
        mailbox: &str,
        result: Result<Delivered, ServiceError>,
        msgid: &str,
    ) -> Reply {
        match result {
            Ok(Delivered::Duplicate) => {
                // As Cyrus: the sender has done nothing wrong, the copy is just not kept.
                tracing::info!("dupelim: eliminated duplicate message to {mailbox} id {msgid}");
                self.delivered()
            }
            Ok(Delivered::Stored(out)) => {
                tracing::info!(
                    "Delivered: {msgid} to mailbox: {mailbox} uid {}",
                    out.uids.first().map_or(0, |u| u.get())
                );
                self.delivered()
            }
            Err(e) => self.refusal(&e),
        }
    }

    /// The reply for a delivery that failed, for whatever reason `e` gives.
    fn refusal(&self, e: &ServiceError) -> Reply {
        use mailservice::StoreError;
        match e {
            ServiceError::Store(StoreError::TooBig { limit }) => too_big(*limit),
            ServiceError::Store(StoreError::BadMessage(why)) => {
                Reply::new(554, codes::MEDIA_ERROR, format!("Message refused: {why}"))
            }
            // Accepted at RCPT, gone by now: renamed or deleted meanwhile. The MTA retries and
            // the next RCPT tells where the mail goes (or that nobody takes it).
            // A mailbox being moved to another server (XFER), or moved since RCPT: the retry
            // goes to its new one.
            ServiceError::NoSuchMailbox
            | ServiceError::Moving
            | ServiceError::Store(StoreError::Busy(_) | StoreError::Remote { .. }) => {
                tracing::info!("{}: delivery deferred: {e}", self.id);
                mailbox_busy()
            }
            ServiceError::Store(StoreError::OverQuota(_)) => over_quota(),
            // The recipient's Sieve script refused the message (RFC 5429 §2.1): its reason, on
            // one line.
            ServiceError::Rejected(reason) => Reply::new(
                550,
                codes::NOT_AUTHORIZED,
                reason
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(400)
                    .collect::<String>(),
            ),
            other if other.is_refusal() => Reply::new(
                550,
                codes::NOT_AUTHORIZED,
                format!("Delivery refused: {other}"),
            ),
            other => {
                tracing::error!("{}: delivery failed: {other}", self.id);
                temporary_failure()
            }
        }
    }
}

/// 452 4.2.2: the recipient's quota root is over its limit (Cyrus's delivery rule: the MTA
/// keeps the message and retries, RFC 3463 "mailbox full", temporary).
pub(crate) fn over_quota() -> Reply {
    Reply::new(
        452,
        codes::MAILBOX_FULL_TEMPORARY,
        "Mailbox is over quota, try again later",
    )
}

/// 451 4.2.0: the mailbox is locked by another operation for longer than the store waits, or
/// was renamed or deleted between RCPT and the end of the data; nothing was stored.
pub(crate) fn mailbox_busy() -> Reply {
    Reply::new(
        451,
        codes::MAILBOX_BUSY,
        "Mailbox is busy or was just changed, try again later",
    )
}

pub(crate) fn temporary_failure() -> Reply {
    Reply::new(
        451,
        codes::SYSTEM_TEMPORARY,
        "Temporary failure storing the message, try again later",
    )
}

/// 452 4.3.1: the message does not fit the free disk space now (RFC 1870 §6.1, RFC 3463).
pub(crate) fn no_room() -> Reply {
    Reply::new(
        452,
        codes::SYSTEM_FULL,
        "Insufficient system storage for a message this large, try again later",
    )
}

/// 552 5.3.4, at MAIL (SIZE), after the data, or from the store.
pub(crate) fn too_big(limit: u64) -> Reply {
    Reply::new(
        552,
        codes::MESSAGE_TOO_BIG,
        format!("Message size exceeds the limit of {limit} bytes"),
    )
}
