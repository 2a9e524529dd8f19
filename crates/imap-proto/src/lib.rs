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
//! commands and their encoder; [`response`] the typed responses and their encoder.
#![forbid(unsafe_code)]

pub mod command;
pub mod datetime;
pub mod error;
pub mod framer;
#[doc(hidden)]
pub mod fuzzing;
pub mod limits;
pub mod mutf7;
mod parse;
pub mod response;
pub mod sequence;
pub mod wire;

pub use command::{Command, Tag, TaggedCommand};
pub use datetime::{Date, DateTime};
pub use error::{ErrorKind, ParseError};
pub use framer::{
    CommandFramer, ContinuationSent, FramerEvent, FramerMode, LiteralKind, LiteralSync, SpoolRef,
};
pub use limits::{Limits, LiteralPlusMode, MailboxEncoding};
pub use parse::parse_command;
pub use response::Response;
pub use sequence::{SeqNumber, SequenceItem, SequenceSet};
