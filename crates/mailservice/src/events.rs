//! Events the service reports as mail moves, for notifications (Cyrus's `mailnotifier`, RFC 5423
//! event names). The service calls an [`EventSink`] once per message it delivers; which sink
//! runs is the server's choice ([`crate::MailService::with_events`]). Two exist today:
//! [`NoEvents`] (the default: nobody is told) and [`LogEvents`] (`mailnotifier: log`, one log
//! line per delivered message, as Cyrus's `notifyd` log method writes). The notifications work
//! adds methods to [`EventSink`] (each with a default that does nothing) and sinks that send.

use types::{MailboxName, Uid, UidValidity};

/// A message was delivered to a mailbox (RFC 5423 `MessageNew`, of Cyrus's MAIL class).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageNew {
    /// The internal name of the mailbox it went to.
    pub mailbox: MailboxName,
    /// The user whose hierarchy holds it (`None` for a shared mailbox).
    pub owner: Option<String>,
    pub uidvalidity: UidValidity,
    pub uid: Uid,
    /// RFC 822 size in bytes, as stored.
    pub size: u64,
    /// The envelope sender (`None` for the null reverse-path `<>`).
    pub envelope_from: Option<String>,
    /// The message's Message-ID, when it has one.
    pub message_id: Option<String>,
}

/// Where the service reports events. Every method has a default that does nothing, so a sink
/// implements only what it sends. Calls are made on the thread that did the work, after the
/// change is durable; a sink must not block for long (queue, don't send, from here).
pub trait EventSink: Send + Sync {
    /// One call per message stored by a delivery (not for duplicates it suppressed).
    fn message_new(&self, _event: &MessageNew) {}
}

/// Tells nobody (no `mailnotifier`).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {}

/// Writes each event to the log (`mailnotifier: log`).
#[derive(Clone, Copy, Debug, Default)]
pub struct LogEvents;

impl EventSink for LogEvents {
    fn message_new(&self, e: &MessageNew) {
        tracing::info!(
            event = "MessageNew",
            class = "MAIL",
            mailbox = %e.mailbox,
            user = e.owner.as_deref().unwrap_or(""),
            uidvalidity = e.uidvalidity.get(),
            uid = e.uid.get(),
            size = e.size,
            from = e.envelope_from.as_deref().unwrap_or(""),
            message_id = e.message_id.as_deref().unwrap_or(""),
            "new mail in {} (uid {})",
            e.mailbox,
            e.uid.get()
        );
    }
}
