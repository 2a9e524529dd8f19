//! Events the service reports as mail moves, for notifications: RFC 5423 store events (Cyrus's
//! EVENT class, chosen by `event_groups`), new mail (the MAIL class, `mailnotifier`) and the
//! notifications Sieve scripts ask for (the SIEVE class).
//!
//! The service builds an [`Event`] after the change it describes is durable and hands it to
//! its [`EventSink`]; which sink runs is the server's choice ([`crate::MailService::with_events`]).
//! [`NoEvents`] (the default) tells nobody; the `notify` crate's notifier renders events as
//! Cyrus-compatible JSON and sends them by the configured methods. A sink must never make the
//! caller wait: it queues, and drops (counting) when its queue is full.

use std::net::SocketAddr;
use std::time::SystemTime;

use types::{MailboxName, Uid, UidValidity};

/// The RFC 5423 event types the service reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    MessageNew,
    MessageAppend,
    MessageExpunge,
    MessageTrash,
    FlagsSet,
    FlagsClear,
    MessageRead,
    MailboxCreate,
    MailboxDelete,
    MailboxRename,
    MailboxSubscribe,
    MailboxUnSubscribe,
    AclChange,
    QuotaExceed,
    QuotaWithin,
    QuotaChange,
    Login,
    Logout,
}

/// Cyrus's `event_groups`: which events a site turns on, by group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventGroup {
    Message,
    Quota,
    Flags,
    Access,
    Mailbox,
    Subscription,
}

impl EventKind {
    pub const ALL: [EventKind; 18] = [
        EventKind::MessageNew,
        EventKind::MessageAppend,
        EventKind::MessageExpunge,
        EventKind::MessageTrash,
        EventKind::FlagsSet,
        EventKind::FlagsClear,
        EventKind::MessageRead,
        EventKind::MailboxCreate,
        EventKind::MailboxDelete,
        EventKind::MailboxRename,
        EventKind::MailboxSubscribe,
        EventKind::MailboxUnSubscribe,
        EventKind::AclChange,
        EventKind::QuotaExceed,
        EventKind::QuotaWithin,
        EventKind::QuotaChange,
        EventKind::Login,
        EventKind::Logout,
    ];

    /// The name RFC 5423 gives the event (the JSON `event` field).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::MessageNew => "MessageNew",
            EventKind::MessageAppend => "MessageAppend",
            EventKind::MessageExpunge => "MessageExpunge",
            EventKind::MessageTrash => "MessageTrash",
            EventKind::FlagsSet => "FlagsSet",
            EventKind::FlagsClear => "FlagsClear",
            EventKind::MessageRead => "MessageRead",
            EventKind::MailboxCreate => "MailboxCreate",
            EventKind::MailboxDelete => "MailboxDelete",
            EventKind::MailboxRename => "MailboxRename",
            EventKind::MailboxSubscribe => "MailboxSubscribe",
            EventKind::MailboxUnSubscribe => "MailboxUnSubscribe",
            EventKind::AclChange => "AclChange",
            EventKind::QuotaExceed => "QuotaExceed",
            EventKind::QuotaWithin => "QuotaWithin",
            EventKind::QuotaChange => "QuotaChange",
            EventKind::Login => "Login",
            EventKind::Logout => "Logout",
        }
    }

    /// The `event_groups` group that turns it on (Cyrus's grouping).
    pub fn group(self) -> EventGroup {
        match self {
            EventKind::MessageNew | EventKind::MessageAppend | EventKind::MessageExpunge => {
                EventGroup::Message
            }
            EventKind::MessageTrash
            | EventKind::FlagsSet
            | EventKind::FlagsClear
            | EventKind::MessageRead => EventGroup::Flags,
            EventKind::MailboxCreate | EventKind::MailboxDelete | EventKind::MailboxRename => {
                EventGroup::Mailbox
            }
            EventKind::MailboxSubscribe | EventKind::MailboxUnSubscribe => EventGroup::Subscription,
            EventKind::AclChange | EventKind::Login | EventKind::Logout => EventGroup::Access,
            EventKind::QuotaExceed | EventKind::QuotaWithin | EventKind::QuotaChange => {
                EventGroup::Quota
            }
        }
    }
}

impl EventGroup {
    /// The group's name in `event_groups`.
    pub fn name(self) -> &'static str {
        match self {
            EventGroup::Message => "message",
            EventGroup::Quota => "quota",
            EventGroup::Flags => "flags",
            EventGroup::Access => "access",
            EventGroup::Mailbox => "mailbox",
            EventGroup::Subscription => "subscription",
        }
    }
}

/// A mailbox an event is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxRef {
    /// The internal name (`user.fred.Sent`); renderers turn it into the owner's view.
    pub name: MailboxName,
    pub uidvalidity: Option<UidValidity>,
}

/// What is known of the one message a MessageNew or MessageAppend event is about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageInfo {
    /// RFC 822 size in bytes, as stored.
    pub size: u64,
    /// The envelope sender of a delivery (`None` for `<>` and for APPEND).
    pub envelope_from: Option<String>,
    /// The Message-ID header field's value, when there is one.
    pub message_id: Option<String>,
    /// The Subject header field, decoded (RFC 2047), when there is one.
    pub subject: Option<String>,
    /// The From header field as sent, when there is one.
    pub from: Option<String>,
    /// The message's IMAP ENVELOPE (RFC 9051 §7.5.2) as the index caches it, when read
    /// (Cyrus's `vnd.cmu.envelope`).
    pub envelope: Option<String>,
}

/// The ACL entry an AclChange set or removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclInfo {
    /// The identifier (`fred`, `anyone`, `-group:staff`).
    pub subject: String,
    /// The rights now granted (empty when the entry was deleted).
    pub rights: String,
}

/// A quota root's state for the Quota* events (RFC 5423 `diskQuota`, `diskUsed`,
/// `maxMessages`, `messages`): storage in KiB, as IMAP QUOTA reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaInfo {
    pub root: MailboxName,
    pub storage_used_kib: Option<u64>,
    pub storage_limit_kib: Option<u64>,
    pub messages_used: Option<u64>,
    pub messages_limit: Option<u64>,
}

/// Where the action came from: the session's protocol and addresses (RFC 5423 `service`,
/// `clientIP`, `clientPort`, `serverDomain`, `serverPort`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// `imap`, `pop3`, `lmtp`, `sieve` (ManageSieve), `admin`.
    pub service: &'static str,
    pub client: Option<SocketAddr>,
    pub server: Option<SocketAddr>,
    /// The session's identifier as the logs show it, when it has one.
    pub session_id: Option<String>,
}

/// One RFC 5423 event. Which fields are set depends on the kind (RFC 5423 §4); the renderer
/// writes what is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub time: SystemTime,
    /// The identity that caused it (RFC 5423 `user`); `None` when nobody logged in (an
    /// anonymous delivery).
    pub user: Option<String>,
    /// The mailbox it is about (`uri`/`mailboxID`); the new name for MailboxRename.
    pub mailbox: Option<MailboxRef>,
    /// The old name of a MailboxRename (`oldMailboxID`).
    pub old_mailbox: Option<MailboxRef>,
    /// The messages it is about (`uidset`), ascending.
    pub uids: Vec<Uid>,
    /// The mailbox's UIDNEXT after the change (`uidnext`).
    pub uidnext: Option<Uid>,
    /// Messages in the mailbox after the change (`messages`), or in the quota root for Quota*.
    pub messages: Option<u32>,
    /// Unseen messages in the mailbox after the change (`vnd.cmu.unseenMessages`).
    pub unseen: Option<u32>,
    /// The mailbox's HIGHESTMODSEQ after the change (`modseq`).
    pub modseq: Option<u64>,
    /// The flags set or cleared, or the new message's flags (`flagNames`).
    pub flags: Vec<String>,
    pub message: Option<MessageInfo>,
    pub acl: Option<AclInfo>,
    pub quota: Option<QuotaInfo>,
    pub origin: Option<Origin>,
}

impl Event {
    /// An event of `kind`, now, with nothing else set.
    pub fn new(kind: EventKind) -> Event {
        Event {
            kind,
            time: SystemTime::now(),
            user: None,
            mailbox: None,
            old_mailbox: None,
            uids: Vec::new(),
            uidnext: None,
            messages: None,
            unseen: None,
            modseq: None,
            flags: Vec::new(),
            message: None,
            acl: None,
            quota: None,
            origin: None,
        }
    }
}

/// A notification a Sieve script asked for (RFC 5435 `notify`, Cyrus's SIEVE class).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SieveNotification {
    /// The user whose script ran.
    pub user: String,
    /// The notification method's URI as the script gave it (`mailto:alm@example.com`).
    pub method: String,
    /// `:from`, when given.
    pub from: Option<String>,
    /// `:importance` (1 high, 2 normal, 3 low).
    pub importance: u8,
    /// `:options`.
    pub options: Vec<String>,
    /// The text of the notification (`:message`, or the default built from the message).
    pub text: String,
    /// For `mailto:`, the RFC 5436 message ready for `sendmail`: sender, recipients, octets.
    pub mail: Option<(String, Vec<String>, Vec<u8>)>,
}

/// Where the service reports events. Every method has a default that does nothing, so a sink
/// implements only what it sends. Calls are made on the thread that did the work, after the
/// change is durable; a sink must not block (queue, don't send, from here).
pub trait EventSink: Send + Sync {
    /// Whether events of `kind` go anywhere: emitters skip building an event (and reading
    /// the counts it carries) when this says no.
    fn wants(&self, _kind: EventKind) -> bool {
        false
    }

    /// One call per event of a kind the sink [`wants`](EventSink::wants). A delivery reports
    /// one MessageNew per stored message (not for duplicates it suppressed).
    fn event(&self, _event: &Event) {}

    /// Whether Sieve notifications go to [`sieve_notify`](EventSink::sieve_notify) (else
    /// Sieve sends its `mailto:` notifications itself).
    fn takes_sieve_notifications(&self) -> bool {
        false
    }

    /// A notification a Sieve script asked for.
    fn sieve_notify(&self, _notification: &SieveNotification) {}
}

/// Tells nobody (no notifier configured).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {}
