//! Protocol layer: the LMTP codec (RFC 2033 on RFC 5321 syntax).
//!
//! Owns: LMTP command parsing and reply encoding. Must not: perform I/O or know about storage.
//! It also owns the two byte-level framings of a session: command lines ([`LineFramer`]) and the
//! dot-stuffed DATA body ([`DataDecoder`], with [`dot_stuff`] for the sending side). Policy stays
//! with the server: which extensions are advertised, whether 8-bit addresses need SMTPUTF8,
//! whether a body with bare LFs is refused, which unknown MAIL/RCPT parameters earn a 555.
//!
//! Layout: [`line`](mod@line) splits lines; `parse`, `address` and `params` turn one line into a typed
//! [`Command`] (functions named after the RFC 5321 ABNF rules); [`command`] holds the types and
//! their encoder (for LMTP clients and round-trip tests); [`reply`] the numbered replies and the
//! enhanced status codes of RFC 3463 ([`codes`]); [`data`] the DATA body (BDAT chunks need no
//! decoding: they are counted octets); [`xtext`] RFC 3461's encoding of parameter values;
//! [`auth`](mod@auth) the AUTH exchange's base64 lines (RFC 4954). Every syntax error is one
//! [`ParseError`], and [`ParseError::reply`] is the one place it becomes a 5xx reply.
//!
//! A session drives it like this (the server's real loop reads from a socket):
//! ```
//! use lmtp_proto::{parse_command, Command, DataDecoder, DataStatus, LineFramer, LineResult, Reply};
//!
//! let mut input = b"LHLO mx.example\r\nDATA\r\nHi\r\n..dot\r\n.\r\nQUIT\r\n".to_vec();
//! let mut framer = LineFramer::new(lmtp_proto::MAX_COMMAND_LINE);
//! let mut out = Vec::new();
//! let mut message = Vec::new();
//! while let LineResult::Line(line) = framer.take_line(&mut input) {
//!     match parse_command(&line) {
//!         Ok(Command::Data) => {
//!             Reply::new(354, "", "go ahead").encode(&mut out);
//!             let mut decoder = DataDecoder::new(u64::MAX);
//!             let (used, status) = decoder.feed(&input, &mut message);
//!             input.drain(..used);
//!             assert!(matches!(status, DataStatus::Done));
//!             Reply::new(250, "2.1.5", "delivered").encode(&mut out);
//!         }
//!         Ok(Command::Quit) => Reply::new(221, "2.0.0", "bye").encode(&mut out),
//!         Ok(_) => Reply::new(250, "2.0.0", "ok").encode(&mut out),
//!         Err(e) => e.reply().encode(&mut out),
//!     }
//! }
//! assert_eq!(message, b"Hi\r\n.dot\r\n");
//! assert_eq!(out, b"250 2.0.0 ok\r\n354 go ahead\r\n250 2.1.5 delivered\r\n221 2.0.0 bye\r\n");
//! ```
#![forbid(unsafe_code)]

mod address;
pub mod auth;
pub mod command;
pub mod data;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod line;
mod params;
mod parse;
pub mod reply;
pub mod xtext;

pub use auth::{AuthResponse, SaslData};
pub use command::{Address, Body, Command, MailParams, RcptParams};
pub use data::{dot_stuff, DataDecoder, DataStatus};
pub use error::ParseError;
pub use line::{LineFramer, LineResult, MAX_COMMAND_LINE};
pub use parse::parse_command;
pub use reply::{codes, Reply};
pub use xtext::{xtext_decode, xtext_encode};
