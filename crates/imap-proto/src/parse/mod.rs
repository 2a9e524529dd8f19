//! The command parser: a hand-written recursive-descent parser over one assembled command (the
//! bytes the [`crate::CommandFramer`] collected, literals included). Each function is named after
//! the RFC 9051 §9 ABNF rule it implements, with the rule quoted in its doc comment.
//!
//! Parsers never panic and never recurse deeper than [`crate::Limits::max_nesting`]; every
//! failure is one [`ErrorKind`], turned into a [`ParseError`] carrying the tag at the top.

mod append;
mod command;
mod cursor;
mod fetch;
mod mailbox;
mod metadata;
mod resp;
mod search;
mod sort;
mod strings;
mod xfer;

pub(crate) use append::classify_literal;
pub(crate) use command::decode_base64;
pub(crate) use cursor::{upper, Cursor, Spooled};
pub use resp::{parse_response, response_len, response_line_literal};
pub use xfer::MAX_XFER_FLAGS;

use crate::command::TaggedCommand;
use crate::error::ParseError;
use crate::limits::{Limits, MailboxEncoding};

/// Result of one parser step.
pub(crate) type PResult<T> = Result<T, crate::error::ErrorKind>;

/// Parses one complete command, `CRLF` included, whose literals are all inline.
///
/// This is the entry point for tests, tools and fuzzing; a server goes through the
/// [`crate::CommandFramer`], which enforces the size limits and streams APPEND literals.
pub fn parse_command(input: &[u8], encoding: MailboxEncoding) -> Result<TaggedCommand, ParseError> {
    parse_assembled(input, &[], encoding, Limits::default().max_nesting)
}

/// Parses an assembled command whose APPEND literals may have been spooled.
pub(crate) fn parse_assembled(
    input: &[u8],
    spooled: &[Spooled],
    encoding: MailboxEncoding,
    max_nesting: u32,
) -> Result<TaggedCommand, ParseError> {
    let mut cur = Cursor::new(input, spooled, encoding, max_nesting);
    let tag = cur.tag().map_err(|kind| ParseError::new(None, kind))?;
    let result = cur
        .sp()
        .and_then(|()| command::command(&mut cur))
        .and_then(|command| {
            cur.crlf_end()?;
            Ok(command)
        });
    match result {
        Ok(command) => Ok(TaggedCommand { tag, command }),
        Err(kind) => Err(ParseError::new(Some(tag), kind)),
    }
}

/// Where each literal's data starts in a complete command (for clients that must wait for `+`
/// after each literal header); `None` when the command does not parse.
pub(crate) fn literal_starts(input: &[u8], encoding: MailboxEncoding) -> Option<Vec<usize>> {
    let mut cur = Cursor::new(input, &[], encoding, Limits::default().max_nesting);
    cur.tag().ok()?;
    cur.sp().ok()?;
    command::command(&mut cur).ok()?;
    cur.crlf_end().ok()?;
    Some(cur.literal_starts)
}

/// The tag at the start of `input`, if there is a valid one (for `BAD` responses).
pub(crate) fn leading_tag(input: &[u8]) -> Option<crate::command::Tag> {
    Cursor::new(input, &[], MailboxEncoding::Utf8, 0).tag().ok()
}
