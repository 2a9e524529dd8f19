//! Server layer: notifications (Cyrus's `notifyd`): new mail (MAIL class, `mailnotifier`),
//! Sieve `notify` (SIEVE class, `sievenotifier`) and RFC 5423 store events (EVENT class,
//! `event_notifier`, `event_groups`), sent by the configured methods (`log`, `mailto`,
//! `external`, `webhook`).
//!
//! Owns: turning the service's events into notifications and sending them without making
//! the caller wait. The [`Notifier`] renders an event and hands it to a bounded in-memory
//! queue (`try_send`); each method runs on a worker thread of its own, or in a separate
//! `darius notifyd` process reached through `notifysocket` ([`socket`]). A full queue drops
//! the notification and counts it ([`Drops`]). Must not: touch storage directly.

pub mod event_json;
pub mod external;
pub mod log;
pub mod mailto;
pub mod method;
pub mod notifier;
pub mod queue;
pub mod socket;
pub mod webhook;

pub use event_json::{render, RenderContext};
pub use method::{Drops, Method, MethodName, Methods, Settings};
pub use notifier::{Notifier, NotifierConfig};

/// Cyrus's notification classes: what caused a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// New mail (`mailnotifier`): the MessageNew events.
    Mail,
    /// RFC 5423 store events (`event_notifier`, `event_groups`).
    Event,
    /// A Sieve script's `notify` action (RFC 5435).
    Sieve,
}

impl Class {
    /// The class as Cyrus writes it (`MAIL`, `EVENT`, `SIEVE`).
    pub fn name(self) -> &'static str {
        match self {
            Class::Mail => "MAIL",
            Class::Event => "EVENT",
            Class::Sieve => "SIEVE",
        }
    }

    /// The class named `name`, as [`Class::name`] writes it.
    pub fn from_name(name: &str) -> Option<Class> {
        match name {
            "MAIL" => Some(Class::Mail),
            "EVENT" => Some(Class::Event),
            "SIEVE" => Some(Class::Sieve),
            _ => None,
        }
    }
}

/// A mail a Sieve `mailto:` notification sends (RFC 5436), ready for `sendmail`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The envelope sender (empty for `<>`).
    pub sender: String,
    pub recipients: Vec<String>,
    /// The whole message.
    pub data: Vec<u8>,
}

/// One notification on its way to a method: what Cyrus's notifyd receives (class, priority,
/// user, mailbox, options, message), with the method that sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub class: Class,
    pub method: MethodName,
    /// `high`, `normal` or `low`.
    pub priority: &'static str,
    /// The user it is for (the mailbox's owner, the script's owner, or who acted).
    pub user: String,
    /// The mailbox it is about (internal name), or empty.
    pub mailbox: String,
    /// Sieve `:options`.
    pub options: Vec<String>,
    /// The sender a Sieve script gave (`:from`), or empty.
    pub from: String,
    /// The payload: one JSON object (the event for MAIL and EVENT, the Sieve request for
    /// SIEVE), as text.
    pub message: String,
    /// For a Sieve `mailto:` notification, the mail to send.
    pub mail: Option<OutgoingMail>,
}

/// The word Cyrus uses for a Sieve `:importance` (1 high, 2 normal, 3 low).
pub fn priority_of(importance: u8) -> &'static str {
    match importance {
        1 => "high",
        3 => "low",
        _ => "normal",
    }
}
