//! Server layer: notifications (Cyrus's `notifyd`): new mail (MAIL class, `mailnotifier`),
//! Sieve `notify` (SIEVE class, `sievenotifier`) and RFC 5423 store events (EVENT class,
//! `event_notifier`, `event_groups`), sent by the configured methods.
//!
//! Owns: turning the service's events into notifications and sending them without making
//! the caller wait. Must not: touch storage directly.

pub mod event_json;

pub use event_json::{render, RenderContext};

use mailservice::{Event, EventKind, EventSink};

/// `mailnotifier: log`: one log line per delivered message.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogEvents;

impl EventSink for LogEvents {
    fn wants(&self, kind: EventKind) -> bool {
        kind == EventKind::MessageNew
    }

    fn event(&self, e: &Event) {
        let Some(mailbox) = &e.mailbox else {
            return;
        };
        let message = e.message.clone().unwrap_or_default();
        let uid = e.uids.first().map_or(0, |u| u.get());
        tracing::info!(
            event = e.kind.name(),
            class = "MAIL",
            mailbox = %mailbox.name,
            user = mailbox.name.owner_user().unwrap_or(""),
            uidvalidity = mailbox.uidvalidity.map_or(0, |v| v.get()),
            uid,
            size = message.size,
            from = message.envelope_from.as_deref().unwrap_or(""),
            message_id = message.message_id.as_deref().unwrap_or(""),
            "new mail in {} (uid {uid})",
            mailbox.name,
        );
    }
}
