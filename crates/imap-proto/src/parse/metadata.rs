//! METADATA commands (RFC 5464 §5 grammar).

use super::cursor::Cursor;
use super::strings::LiteralValue;
use super::PResult;
use crate::command::{Command, MetadataDepth, MetadataEntry, MetadataOptions};
use crate::error::ErrorKind;

/// `getmetadata = "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries`,
/// `entries = entry / "(" entry *(SP entry) ")"`
pub(super) fn getmetadata(cur: &mut Cursor<'_>) -> PResult<Command> {
    cur.sp()?;
    let mut options = MetadataOptions::default();
    if cur.peek() == Some(b'(') {
        cur.paren_list(|cur| getmetadata_option(cur, &mut options))?;
        cur.sp()?;
    }
    let mailbox = cur.mailbox()?;
    cur.sp()?;
    if starts_options(cur.rest()) {
        // The options after the mailbox, as Cyrus (following the last METADATA draft) accepts.
        cur.paren_list(|cur| getmetadata_option(cur, &mut options))?;
        cur.sp()?;
    }
    let entries = if cur.peek() == Some(b'(') {
        cur.paren_list(Cursor::astring_utf8)?
    } else {
        vec![cur.astring_utf8()?]
    };
    Ok(Command::GetMetadata {
        mailbox,
        options,
        entries,
    })
}

/// Does a parenthesised list of options (rather than of entries) start here?
fn starts_options(rest: &[u8]) -> bool {
    let word = |w: &[u8]| {
        rest.get(1..1 + w.len())
            .is_some_and(|r| r.eq_ignore_ascii_case(w))
    };
    rest.first() == Some(&b'(') && (word(b"MAXSIZE ") || word(b"DEPTH "))
}

/// `getmetadata-option = "MAXSIZE" SP number / "DEPTH" SP ("0" / "1" / "infinity")`
fn getmetadata_option(cur: &mut Cursor<'_>, options: &mut MetadataOptions) -> PResult<()> {
    let name = cur.atom()?.to_ascii_uppercase();
    cur.sp()?;
    match name.as_str() {
        "MAXSIZE" => options.max_size = Some(cur.number()?),
        "DEPTH" => {
            let depth = cur.atom()?;
            options.depth = Some(match depth.to_ascii_lowercase().as_str() {
                "0" => MetadataDepth::Zero,
                "1" => MetadataDepth::One,
                "infinity" => MetadataDepth::Infinity,
                _ => return Err(ErrorKind::Expected("DEPTH 0, 1 or infinity")),
            });
        }
        _ => return Err(ErrorKind::Unknown("GETMETADATA option")),
    }
    Ok(())
}

/// `setmetadata = "SETMETADATA" SP mailbox SP "(" entry-value *(SP entry-value) ")"`
pub(super) fn setmetadata(cur: &mut Cursor<'_>) -> PResult<Command> {
    cur.sp()?;
    let mailbox = cur.mailbox()?;
    cur.sp()?;
    let entries = cur.paren_list(entry_value)?;
    Ok(Command::SetMetadata { mailbox, entries })
}

/// `entry-value = entry SP value`, `value = nstring / literal8`
fn entry_value(cur: &mut Cursor<'_>) -> PResult<MetadataEntry> {
    let entry = cur.astring_utf8()?;
    cur.sp()?;
    let value = match cur.peek() {
        Some(b'~') => match cur.literal_any()? {
            (LiteralValue::Inline(data), _) => Some(data.to_vec()),
            (LiteralValue::Spooled(_), _) => return Err(ErrorKind::Expected("value")),
        },
        _ if cur.eat_word("NIL") => None,
        _ => Some(cur.string()?),
    };
    Ok((entry, value))
}
