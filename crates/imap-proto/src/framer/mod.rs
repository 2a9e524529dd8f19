//! The command framer: an I/O-free state machine that the connection loop feeds with bytes and
//! that assembles one command at a time out of lines and literals (RFC 9051 §2.2, §4.3, §7.5;
//! RFC 7888 LITERAL+/LITERAL-; RFC 3516 literal8), enforcing [`Limits`].
//!
//! The loop a session runs:
//! ```text
//! framer.push(&bytes_from_socket);
//! while let Some(event) = framer.next_event() { match event {
//!     NeedContinuation        => write "+ go ahead",
//!     MessageLiteral{tag, mailbox, len, sync, ..} =>
//!         if acceptable: write "+ go ahead" when sync is Sync, open a spool file
//!         else: write "tag NO [TOOBIG|TRYCREATE|OVERQUOTA] ..."; framer.refuse_message_literal(..)
//!     MessageData(chunk)      => append chunk to it,
//!     MessageEnd              => close it; framer.message_literal_done(spool_ref),
//!     Command(cmd)            => run it (switch to Idle / Authenticate mode when it says so),
//!     Bad(err)                => write "tag BAD reason" (or NO [TOOBIG] if err.is_too_big()),
//!     IdleDone / AuthResponse / AuthCancel => continue the IDLE or SASL exchange,
//!     SpoolAbandoned(refs)    => delete those spool files,
//!     Fatal(err)              => write "* BYE reason" and close,
//! }}
//! ```
//! Memory: the framer buffers at most one line, the non-message literals of one command and
//! whatever the caller pushed but has not drained; APPEND message literals only pass through
//! in chunks. Decisions recorded here:
//! - A refused synchronising literal (too large, or LITERAL- exceeded) gets `BAD`/`NO` at once and
//!   its data is not expected: the client waits for `+`, which never comes (RFC 9051 §7.5).
//! - A refused non-synchronising literal is read and discarded, together with the rest of its
//!   command, when it is at most [`Limits::max_discard`] bytes; a larger one, or one whose size
//!   does not parse, is `Fatal` (RFC 7888 §4 allows closing the connection).
//! - An over-long line gives `Bad` once and everything up to the next LF is dropped.
//! - Empty lines between commands are ignored; a bare LF ends a line like CRLF does.

mod line;
mod undump;

pub use undump::{UndumpEvent, MAX_UNDUMP_FILE, MAX_UNDUMP_ITEMS, MAX_UNDUMP_TOKEN};

use std::collections::VecDeque;

use types::Secret;

use crate::command::{Mailbox, Tag, TaggedCommand};
use crate::error::ParseError;
use crate::limits::{Limits, MailboxEncoding};
use crate::parse::Spooled;

/// The caller's handle for a spooled APPEND message (a file id, an index into its table…).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpoolRef(pub u64);

/// `{N}` literal or `~{N}` literal8 (RFC 3516: may contain NUL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LiteralKind {
    Literal,
    Literal8,
}

/// `{N}` needs a continuation request before the client sends the data; `{N+}` does not
/// (RFC 7888).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LiteralSync {
    Sync,
    NonSync,
}

/// Whether the server already sent `+` for a synchronising message literal it now refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContinuationSent {
    No,
    Yes,
}

/// Which command a streamed message literal belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageCommand {
    /// APPEND (RFC 9051 §6.3.12).
    Append,
    /// Darius's `XFERMSG` (a transfer between backends; the mailbox is an internal name).
    XferMessage,
}

/// What a literal announcement carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LiteralClass {
    /// An APPEND or XFERMSG message: streamed to the caller.
    Message {
        tag: Tag,
        mailbox: Mailbox,
        command: MessageCommand,
    },
    /// Anything else: buffered, within [`Limits::max_literal`].
    Other,
    /// An APPEND whose command is refused before its message (a mailbox name that cannot be
    /// decoded): answered at once, the literal not invited (or discarded).
    Refused(crate::error::ErrorKind),
}

/// What the server must read next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramerMode {
    /// Tagged commands.
    Command,
    /// After `IDLE`'s continuation: only `DONE` (RFC 2177). Ends by itself on `DONE`.
    Idle,
    /// During AUTHENTICATE: base64 lines or `*` (RFC 9051 §6.2.2). Set back to `Command` when
    /// the exchange ends (a `*` does that by itself).
    Authenticate,
}

/// What the framer has found in the input.
#[derive(Debug, PartialEq, Eq)]
pub enum FramerEvent {
    /// A complete, parsed command.
    Command(TaggedCommand),
    /// A refused command (or line): answer `tag BAD reason`, or `NO [TOOBIG]` when
    /// [`ParseError::is_too_big`]. The framer is ready for the next command.
    Bad(ParseError),
    /// A synchronising literal was accepted: send a continuation request (`+ ...`) now.
    NeedContinuation,
    /// An APPEND message literal of `len` bytes for `mailbox` is announced. The server may check
    /// the mailbox, quota and APPENDLIMIT now: to accept, send `+` if `sync` is
    /// [`LiteralSync::Sync`] and stream the [`FramerEvent::MessageData`] that follows to a spool
    /// file; to refuse, answer `tag NO [...]` and call [`CommandFramer::refuse_message_literal`].
    MessageLiteral {
        tag: Tag,
        mailbox: Mailbox,
        /// APPEND's, or XFERMSG's.
        command: MessageCommand,
        len: u64,
        kind: LiteralKind,
        sync: LiteralSync,
    },
    /// The next bytes of the message literal.
    MessageData(Vec<u8>),
    /// The message literal is complete: call [`CommandFramer::message_literal_done`].
    MessageEnd,
    /// `DONE` ended IDLE; the framer is back in command mode.
    IdleDone,
    /// A base64 AUTHENTICATE response line, decoded.
    AuthResponse(Secret<Vec<u8>>),
    /// `*`: the client cancelled AUTHENTICATE; the framer is back in command mode.
    AuthCancel,
    /// The command these spooled messages belonged to was refused: delete the spool files.
    SpoolAbandoned(Vec<SpoolRef>),
    /// The connection cannot be resynchronised: send `* BYE` and close.
    Fatal(ParseError),
    /// Part of Cyrus's UNDUMP (see [`UndumpEvent`]); only after
    /// [`CommandFramer::allow_undump`].
    Undump(UndumpEvent),
}

/// Misuse of the framer's API by the caller (not a protocol error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no APPEND message literal is being read or waiting for its spool reference")]
pub struct NoMessageLiteral;

#[derive(Debug, PartialEq, Eq)]
enum State {
    Line,
    Literal { remaining: u64 },
    Message { remaining: u64, len: u64 },
    AwaitSpool { len: u64 },
    DiscardLine,
    DiscardLiteral { remaining: u64 },
    DiscardCommand,
    Closed,
}

/// See the module documentation.
pub struct CommandFramer {
    limits: Limits,
    encoding: MailboxEncoding,
    mode: FramerMode,
    state: State,
    input: Vec<u8>,
    start: usize,
    scanned: usize,
    command: Vec<u8>,
    spooled: Vec<Spooled>,
    /// Whether the message literal being streamed was synchronising.
    message_sync: LiteralSync,
    events: VecDeque<FramerEvent>,
    /// Whether `UNDUMP` is read as a stream (see [`CommandFramer::allow_undump`]).
    undump_allowed: bool,
    /// The UNDUMP being read.
    undump: Option<undump::Undump>,
}

/// Buffer capacity an idle connection keeps (see [`CommandFramer::release_idle_memory`]).
pub const IDLE_BUFFER: usize = 4096;

impl CommandFramer {
    pub fn new(limits: Limits) -> CommandFramer {
        CommandFramer {
            limits,
            encoding: MailboxEncoding::ModifiedUtf7,
            mode: FramerMode::Command,
            state: State::Line,
            input: Vec::new(),
            start: 0,
            scanned: 0,
            command: Vec::new(),
            spooled: Vec::new(),
            message_sync: LiteralSync::Sync,
            events: VecDeque::new(),
            undump_allowed: false,
            undump: None,
        }
    }

    /// Replaces the limits from the next line on: a server starts with
    /// [`Limits::before_login`] and switches to its configured limits after authentication.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Switches mailbox names to UTF-8 after `ENABLE UTF8=ACCEPT` / `IMAP4rev2`.
    pub fn set_mailbox_encoding(&mut self, encoding: MailboxEncoding) {
        self.encoding = encoding;
    }

    pub fn mode(&self) -> FramerMode {
        self.mode
    }

    /// Enter IDLE or AUTHENTICATE reading after sending their continuation, or leave them.
    pub fn set_mode(&mut self, mode: FramerMode) {
        self.mode = mode;
    }

    /// Adds bytes read from the connection; then call [`CommandFramer::next_event`] until it
    /// returns `None`.
    pub fn push(&mut self, data: &[u8]) {
        if self.state == State::Closed {
            // After `Fatal` nothing more is read; do not let a client grow the buffer.
            return;
        }
        if self.start > 0 && self.start * 2 >= self.input.len() {
            self.input.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.input.extend_from_slice(data);
    }

    /// Gives back buffer space a long line or literal grew, once everything pushed has been
    /// consumed; call it before waiting for more input. An idle connection then holds at most
    /// [`IDLE_BUFFER`] bytes of buffers here, however long its last command was.
    pub fn release_idle_memory(&mut self) {
        if self.start != self.input.len() || !self.command.is_empty() {
            return;
        }
        self.input.clear();
        self.scanned = 0;
        self.start = 0;
        for buf in [&mut self.input, &mut self.command] {
            if buf.capacity() > IDLE_BUFFER {
                *buf = Vec::new();
            }
        }
    }

    /// Bytes pushed but not yet consumed.
    pub fn buffered(&self) -> usize {
        self.input.len() - self.start
    }

    /// The spool reference for the message literal just streamed ([`FramerEvent::MessageEnd`]).
    pub fn message_literal_done(&mut self, spool: SpoolRef) -> Result<(), NoMessageLiteral> {
        match self.state {
            State::AwaitSpool { len } => {
                self.spooled.push(Spooled {
                    offset: self.command.len(),
                    spool,
                    len,
                });
                self.state = State::Line;
                Ok(())
            }
            _ => Err(NoMessageLiteral),
        }
    }

    /// Refuses the message literal just announced by [`FramerEvent::MessageLiteral`] (or being
    /// streamed, or just ended by [`FramerEvent::MessageEnd`] when storing it failed): the rest of its command is dropped, spool references already handed over for
    /// it come back in [`FramerEvent::SpoolAbandoned`]. Data the client will still send (a
    /// non-synchronising literal, or one we sent `+` for) is read and thrown away.
    pub fn refuse_message_literal(
        &mut self,
        continuation: ContinuationSent,
    ) -> Result<(), NoMessageLiteral> {
        let remaining = match self.state {
            State::Message { remaining, .. } => remaining,
            // All bytes arrived (the caller failed to store them): the rest of the command is
            // still to come and is thrown away.
            State::AwaitSpool { .. } => 0,
            State::Line
            | State::Literal { .. }
            | State::DiscardLine
            | State::DiscardLiteral { .. }
            | State::DiscardCommand
            | State::Closed => return Err(NoMessageLiteral),
        };
        let data_coming = self.message_sync == LiteralSync::NonSync
            || continuation == ContinuationSent::Yes
            || matches!(self.state, State::AwaitSpool { .. });
        self.abandon_command();
        self.state = if data_coming && remaining > 0 {
            State::DiscardLiteral { remaining }
        } else if data_coming {
            State::DiscardCommand
        } else {
            State::Line
        };
        Ok(())
    }

    /// Drops every byte pushed but not yet consumed, returning how many. Call after STARTTLS
    /// (RFC 9051 §6.2.1: plaintext pipelined behind STARTTLS must not be executed) and after
    /// COMPRESS (RFC 4978 §3: later bytes are compressed and must go through the inflater).
    pub fn discard_input(&mut self) -> usize {
        let n = self.buffered();
        self.start = self.input.len();
        self.scanned = self.start;
        n
    }

    /// The next event, or `None` when more input (or a spool reference) is needed.
    pub fn next_event(&mut self) -> Option<FramerEvent> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            let progressed = match self.state {
                State::Closed | State::AwaitSpool { .. } => return None,
                State::Line | State::DiscardCommand | State::DiscardLine => self.step_line(),
                State::Literal { remaining } => self.step_literal(remaining),
                State::DiscardLiteral { remaining } => self.step_discard(remaining),
                State::Message { remaining, len } => return self.step_message(remaining, len),
            };
            if !progressed {
                return None;
            }
        }
    }

    fn available(&self) -> &[u8] {
        &self.input[self.start..]
    }

    fn take(&mut self, remaining: u64) -> (usize, u64) {
        let n = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(self.buffered());
        self.start += n;
        self.scanned = self.scanned.max(self.start);
        (n, remaining - n as u64)
    }

    fn step_literal(&mut self, remaining: u64) -> bool {
        let from = self.start;
        let (n, left) = self.take(remaining);
        self.command.extend_from_slice(&self.input[from..from + n]);
        self.state = if left == 0 {
            State::Line
        } else {
            State::Literal { remaining: left }
        };
        n > 0 || left == 0
    }

    fn step_discard(&mut self, remaining: u64) -> bool {
        let (n, left) = self.take(remaining);
        self.state = if left == 0 {
            State::DiscardCommand
        } else {
            State::DiscardLiteral { remaining: left }
        };
        n > 0 || left == 0
    }

    fn step_message(&mut self, remaining: u64, len: u64) -> Option<FramerEvent> {
        let from = self.start;
        let (n, left) = self.take(remaining);
        if n == 0 && remaining > 0 {
            return None;
        }
        if left == 0 {
            // An UNDUMP's file needs no spool reference: its entries go on.
            self.state = if self.undump.is_some() {
                State::Line
            } else {
                State::AwaitSpool { len }
            };
            self.events.push_back(FramerEvent::MessageEnd);
        } else {
            self.state = State::Message {
                remaining: left,
                len,
            };
        }
        if n == 0 {
            return self.events.pop_front();
        }
        Some(FramerEvent::MessageData(
            self.input[from..from + n].to_vec(),
        ))
    }

    /// Forgets the command after it was delivered.
    fn reset_command(&mut self) {
        self.command.clear();
        self.spooled.clear();
    }

    /// Forgets a refused command, handing its spooled messages back to the caller.
    fn abandon_command(&mut self) {
        if !self.spooled.is_empty() {
            let refs = self.spooled.iter().map(|s| s.spool).collect();
            self.events.push_back(FramerEvent::SpoolAbandoned(refs));
        }
        self.reset_command();
    }
}

#[cfg(test)]
mod tests;
