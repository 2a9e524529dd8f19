//! The interpreter: runs a checked script against one message for one recipient and says what
//! to do with it. I/O-free: what the script asks of the world (does a mailbox exist, was this
//! message seen before, the text of an included script, the current date) goes through
//! [`Host`], which the delivery layer implements; what the script decides comes back as an
//! [`Outcome`], a list of [`Action`]s the delivery layer carries out (store, send, track).
//!
//! Pieces: [`Program`] (a script that passed [`check`](crate::check), compiled once and cached
//! per script version by the caller), [`MessageView`] (the message's header fields, addresses,
//! MIME parts and body text as the tests see them, with `editheader`'s changes), the matching
//! engine (comparators, match types, address parts, variables' modifiers, dates), and
//! [`execute`].

use std::sync::Arc;

use crate::ast::Script;
use crate::check::{Capabilities, Checked};
use crate::error::Error;

mod exec;
mod matching;
mod message;
mod strings;

pub use exec::execute;
pub use matching::{AddressPart, Comparator, MatchType, Relation};
pub use message::{BodyTransform, MessageView};

/// A script that passed [`check`](crate::check), ready to run any number of times.
#[derive(Debug, Clone)]
pub struct Program {
    pub(crate) script: Script,
    pub(crate) checked: Checked,
    /// Whether any test reads the body (`body`), so that the caller may hand the header alone
    /// to [`MessageView`] otherwise.
    pub(crate) needs_body: bool,
}

impl Program {
    /// Parses and checks `text` for a server offering `capabilities`.
    pub fn compile(text: &[u8], capabilities: &Capabilities) -> Result<Program, Error> {
        let script = crate::parse(text)?;
        let checked = crate::check(&script, capabilities)?;
        let needs_body = exec::uses_test(&script, "body");
        Ok(Program {
            script,
            checked,
            needs_body,
        })
    }

    /// The capabilities the script requires.
    pub fn requires(&self) -> &[&'static str] {
        &self.checked.requires
    }

    /// Whether the script tests the body, so that it must see the whole message.
    pub fn needs_body(&self) -> bool {
        self.needs_body
    }
}

/// The SMTP envelope of the delivery, as the `envelope` test and vacation see it.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// The reverse-path without angle brackets; `""` for the null path `<>`.
    pub from: &'a str,
    /// The recipient's address as given at RCPT, without angle brackets (`user+detail@domain`).
    pub to: &'a str,
    /// Who the LMTP session authenticated as, if anyone (`envelope "auth"`).
    pub auth: Option<&'a str>,
}

/// Where `include` looks for a script (RFC 6609 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeLocation {
    /// The script owner's own scripts (`:personal`, the default).
    Personal,
    /// The site's global scripts (`:global`).
    Global,
}

/// What a running script asks of the world. Mailbox names are as the script wrote them (the
/// user's view of the namespace); the host resolves them.
pub trait Host {
    /// `mailboxexists` (RFC 5490): whether `mailbox` exists and the owner may file into it.
    fn mailbox_exists(&self, mailbox: &str) -> bool;
    /// `specialuse_exists` (RFC 8579): with `mailbox`, whether it has all of `uses`; without,
    /// whether some mailbox of the owner has each of them.
    fn special_use_exists(&self, mailbox: Option<&str>, uses: &[String]) -> bool;
    /// `mailboxidexists` (RFC 9042): whether a mailbox of the owner has this unique id.
    fn mailbox_id_exists(&self, id: &str) -> bool;
    /// `duplicate` (RFC 7352): whether `key` (the handle and the value, as [`duplicate_key`]
    /// forms them) was recorded within the last `period` seconds. Only looks; recording is
    /// the caller's once the delivery succeeded ([`Outcome::duplicates`]).
    fn duplicate_seen(&self, key: &str, period: u64) -> bool;
    /// The text of the script `name` (`include`, RFC 6609), compiled; `Ok(None)` when there is
    /// no such script, `Err` with a reason when it exists but cannot be used.
    fn include(
        &self,
        location: IncludeLocation,
        name: &str,
    ) -> Result<Option<Arc<Program>>, String>;
    /// `environment` (RFC 5183): the value of item `name` (`domain`, `host`, `location`,
    /// `name`, `phase`, `remote-host`, `remote-ip`, `version`, …), `None` when unknown.
    fn environment(&self, name: &str) -> Option<String>;
    /// The current date and time, in the zone the `currentdate` test uses by default.
    fn now(&self) -> time::OffsetDateTime;
}

/// The key a `duplicate` test (RFC 7352) looks up and records: its handle and the value that
/// identifies the message, the handle's length first so that no two pairs give one key.
pub fn duplicate_key(handle: &str, value: &str) -> String {
    format!("{}:{handle}{value}", handle.len())
}

/// Bounds on one execution, so that a hostile script cannot hold the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLimits {
    /// Commands and tests evaluated, and matches tried, together.
    pub max_steps: u64,
    /// Actions the script may take (fileinto, redirect, vacation, notify, …).
    pub max_actions: usize,
    /// `redirect`s (`sieve_maxredirects`).
    pub max_redirects: usize,
    /// Nesting of `include` (RFC 6609 §3.2: loops are refused at run time).
    pub max_include_depth: usize,
    /// Longest value a variable may hold, in bytes; longer values are cut (RFC 5229 §3).
    pub max_variable_len: usize,
    /// Most variables one execution may create.
    pub max_variables: usize,
    /// Header fields `addheader` may add.
    pub max_added_headers: usize,
}

impl Default for RunLimits {
    fn default() -> RunLimits {
        RunLimits {
            max_steps: 1_000_000,
            max_actions: 32,
            max_redirects: 5,
            max_include_depth: 5,
            max_variable_len: 4000,
            max_variables: 256,
            max_added_headers: 100,
        }
    }
}

/// What the script decided for the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// In the order the script took them. When the implicit keep applies (RFC 5228 §2.10.2),
    /// it is here as a final [`Action::Keep`], so that an empty list means the message was
    /// discarded.
    pub actions: Vec<Action>,
    /// `duplicate` tests that matched nothing and must be recorded once the delivery succeeds
    /// (RFC 7352 §3: a failed delivery records nothing): (key, period in seconds).
    pub duplicates: Vec<(String, u64)>,
    /// Why the script failed at run time, if it did; the actions are then the implicit keep
    /// alone, and the caller logs this.
    pub error: Option<String>,
}

/// One action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `keep`, or the implicit keep.
    Keep(Store),
    /// `fileinto`.
    FileInto {
        mailbox: String,
        store: Store,
        /// `:create` (RFC 5490).
        create: bool,
        /// `:specialuse` (RFC 8579): file into the mailbox with this use instead, if one exists.
        special_use: Option<String>,
        /// `:mailboxid` (RFC 9042): file into the mailbox with this id instead, if one exists.
        mailbox_id: Option<String>,
    },
    /// `redirect`; `header` is the message's header as edited when the action was taken.
    Redirect {
        address: String,
        copy: bool,
        header: Option<Arc<[u8]>>,
    },
    /// `reject` (`extended: false`, refuse after delivery with a bounce) or `ereject`
    /// (refuse in the LMTP reply where possible), RFC 5429.
    Reject { reason: String, extended: bool },
    /// `vacation` (RFC 5230, RFC 6131).
    Vacation(Vacation),
    /// `notify` (RFC 5435).
    Notify(Notify),
}

/// How a copy is stored: its flags and header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Store {
    /// The IMAP flags and keywords to set (RFC 5232); `None` when the script never used
    /// imap4flags, so the copy gets the usual ones.
    pub flags: Option<Vec<String>>,
    /// `:copy` (RFC 3894) on fileinto; always false for keep.
    pub copy: bool,
    /// The header as edited by `addheader`/`deleteheader` when the action was taken (the
    /// implicit keep: at the end); `None` when unchanged.
    pub header: Option<Arc<[u8]>>,
}

/// A `vacation` action. The "do not reply" rules of RFC 5230 §4.5 and the response tracking
/// are the caller's (with [`crate::outgoing`]): the script only asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vacation {
    /// The period between two replies to one sender, in seconds (`:days` × 86400 or
    /// `:seconds`, default 7 days, clamped to the server's bounds by the caller).
    pub period: u64,
    pub subject: Option<String>,
    pub from: Option<String>,
    /// `:addresses`: more of the owner's addresses.
    pub addresses: Vec<String>,
    /// `:mime`: `reason` is a MIME entity.
    pub mime: bool,
    /// `:handle`, or the default handle RFC 5230 §4.2 derives from the arguments.
    pub handle: String,
    pub reason: String,
    pub fcc: Option<Fcc>,
}

/// A `notify` action (RFC 5435 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    pub method: String,
    pub from: Option<String>,
    /// 1 (high), 2 (normal, the default) or 3 (low).
    pub importance: u8,
    pub options: Vec<String>,
    pub message: Option<String>,
    pub fcc: Option<Fcc>,
}

/// `:fcc` (RFC 8580): where to file a copy of a message the action sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fcc {
    pub mailbox: String,
    pub flags: Option<Vec<String>>,
    pub create: bool,
    pub special_use: Option<String>,
    pub mailbox_id: Option<String>,
}
