//! Protocol layer: the MUPDATE codec (RFC 3656), the protocol Cyrus's Murder keeps its mailbox
//! list with, I/O-free: bytes in, typed values out, and values back to bytes.
//!
//! Owns: cutting one whole message (a line and the literals inside it) out of the input within
//! bounds ([`Framer`], [`Limits`]); the client's commands ([`Command`], parsed by
//! [`parse_command`] and written by [`Command::encode`]); the server's responses
//! ([`Response`]: the capability lines and banner it greets with, `MAILBOX`, `RESERVE` and
//! `DELETE` data, tagged `OK`/`NO`/`BAD`, `BYE` and SASL continuations; parsed by
//! [`parse_response`] and written by [`Response::encode`]); and strings in their quoted and
//! literal forms ([`write_string`]). Must not: perform I/O, know about mailboxes beyond their
//! names as bytes, or run SASL (the `sasl` crate does).
//!
//! What Cyrus 3.6's `mupdate` does, where RFC 3656 leaves room (checked by running it; the
//! transcripts are in `tests/codec.rs`):
//! - every command argument is a string, quoted or literal: an atom where a string belongs is
//!   `BAD "Missing arguments"`, so [`Command::encode`] always quotes;
//! - the server writes the strings of `MAILBOX`, `RESERVE` and `DELETE` as `{n+}` literals, and
//!   the text of tagged responses quoted (`A1 OK "done"`) or bare (`OK Begin TLS negotiation
//!   now`): [`parse_response`] takes either;
//! - the greeting is `* AUTH "PLAIN" "LOGIN"`, `* STARTTLS` (with TLS set up), `* COMPRESS
//!   "DEFLATE"`, `* PARTIAL-UPDATE`, then `* OK MUPDATE "host" "Cyrus IMAP" "version"
//!   "(master)"`;
//! - data responses carry the command's tag (`A3 MAILBOX …`), also the updates streamed after
//!   `UPDATE`, which carry the `UPDATE`'s tag;
//! - a partial `UPDATE` names its mailboxes as strings after the command (`UPDATE "user.ann"
//!   "user.bob"`), without parentheses.

mod command;
mod framer;
pub mod fuzzing;
mod response;
mod string;

pub use command::{parse_command, Command, CommandBody, Tag, TagError};
pub use framer::{Frame, FrameError, Framer, Limits};
pub use response::{parse_response, Banner, Capability, Response, Status, TaggedData};
pub use string::{write_string, ParseError, MAX_QUOTED};
