//! Protocol layer: the IMAP4rev1/IMAP4rev2 codec — command framer and parser, command encoder,
//! response types and their encoder, modified UTF-7.
//!
//! Owns: bytes in, typed commands out; typed responses in, bytes out (RFC 3501, RFC 9051 and the
//! extensions Darius speaks). Must not: perform I/O, touch tokio, the file system or the network,
//! or know about storage. APPEND message literals never pass through here whole: the
//! [`CommandFramer`] hands them to the caller to stream into a spool file and gets back an opaque
//! [`SpoolRef`].
//!
//! Layout: [`framer`] assembles one command out of lines and literals; `parse` turns the assembled
//! bytes into a [`command::TaggedCommand`] (one function per ABNF rule); [`command`] holds the typed
//! commands and their encoder; [`response`] the typed responses and their encoder. For clients
//! (the admin tool, the benchmark driver) the inverse directions exist too:
//! [`TaggedCommand::to_bytes`] / [`TaggedCommand::to_sync_segments`] and [`response_len`] +
//! [`parse_response`]. Every syntax error is one [`ParseError`], and
//! [`ParseError::to_response`] is the one place it becomes `BAD` (or `NO [TOOBIG]`).
//!
//! A session drives it like this (the server's real loop reads from a socket and spools APPEND
//! messages to files):
//! ```
//! use imap_proto::command::Command;
//! use imap_proto::response::{Response, StatusKind, StatusResponse};
//! use imap_proto::{CommandFramer, FramerEvent, FramerMode, Limits, LiteralSync, MailboxEncoding, SpoolRef};
//!
//! let mut framer = CommandFramer::new(Limits::default());
//! let mut out = Vec::new();
//! let mut spool = Vec::new();
//! framer.push(b"a1 LOGIN alice {6}\r\nsecret\r\na2 APPEND INBOX {5+}\r\nHello\r\n");
//! while let Some(event) = framer.next_event() {
//!     match event {
//!         FramerEvent::NeedContinuation => out.extend_from_slice(b"+ go ahead\r\n"),
//!         FramerEvent::MessageLiteral { sync, .. } => {
//!             if sync == LiteralSync::Sync {
//!                 out.extend_from_slice(b"+ go ahead\r\n");
//!             }
//!         }
//!         FramerEvent::MessageData(chunk) => spool.extend_from_slice(&chunk),
//!         FramerEvent::MessageEnd => framer.message_literal_done(SpoolRef(1)).unwrap(),
//!         FramerEvent::Command(cmd) => {
//!             if cmd.command == Command::Idle {
//!                 framer.set_mode(FramerMode::Idle);
//!             }
//!             let done = StatusResponse::tagged(cmd.tag, StatusKind::Ok, "done");
//!             Response::Status(done).encode(&mut out, MailboxEncoding::ModifiedUtf7);
//!         }
//!         FramerEvent::Bad(err) => {
//!             Response::Status(err.to_response()).encode(&mut out, MailboxEncoding::ModifiedUtf7)
//!         }
//!         FramerEvent::SpoolAbandoned(_refs) => {}
//!         FramerEvent::IdleDone | FramerEvent::AuthResponse(_) | FramerEvent::AuthCancel => {}
//!         FramerEvent::Fatal(_) => break,
//!         // Only after `allow_undump` (an administrator's session).
//!         FramerEvent::Undump(_) => unreachable!(),
//!     }
//! }
//! assert_eq!(spool, b"Hello");
//! assert_eq!(out, b"+ go ahead\r\na1 OK done\r\na2 OK done\r\n");
//! ```
#![forbid(unsafe_code)]

pub mod command;
pub mod datetime;
pub mod error;
pub mod framer;
#[doc(hidden)]
pub mod fuzzing;
pub mod limits;
pub mod list_pattern;
pub mod mutf7;
mod parse;
pub mod response;
pub mod sequence;
pub mod wire;

pub use command::{Command, Tag, TaggedCommand};
pub use datetime::{Date, DateTime};
pub use error::{ErrorKind, ParseError};
pub use framer::{
    CommandFramer, ContinuationSent, FramerEvent, FramerMode, LiteralKind, LiteralSync,
    MessageCommand, SpoolRef, UndumpEvent,
};
pub use limits::{Limits, LiteralPlusMode, MailboxEncoding};
pub use list_pattern::{ListPattern, PatternError};
pub use parse::{
    parse_command, parse_response, response_len, response_line_literal, MAX_XFER_FLAGS,
};
pub use response::Response;
pub use sequence::{NumberRanges, SeqNumber, SequenceItem, SequenceSet};
