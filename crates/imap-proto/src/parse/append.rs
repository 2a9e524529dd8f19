//! APPEND (RFC 9051 §6.3.12, MULTIAPPEND RFC 3502, BINARY literal8 RFC 3516), and the prefix
//! classifier the framer uses to decide whether an announced literal is a message to stream.

use super::cursor::{Cursor, Spooled};
use super::strings::LiteralValue;
use super::PResult;
use crate::command::{AppendData, AppendMessage, Command, Mailbox, Tag};
use crate::error::ErrorKind;
use crate::framer::{LiteralClass, MessageCommand};
use crate::limits::MailboxEncoding;

/// `append = "APPEND" SP mailbox 1*append-message` (RFC 3502),
/// `append-message = append-opts SP append-data`,
/// `append-opts = [SP flag-list] [SP date-time]`, `append-data = literal / literal8`
pub(super) fn append(cur: &mut Cursor<'_>) -> PResult<Command> {
    cur.sp()?;
    let mailbox = cur.mailbox()?;
    let mut messages = Vec::new();
    while cur.eat(b' ') {
        messages.push(append_message(cur)?);
    }
    if messages.is_empty() {
        return Err(ErrorKind::Expected("message literal"));
    }
    Ok(Command::Append { mailbox, messages })
}

fn append_message(cur: &mut Cursor<'_>) -> PResult<AppendMessage> {
    let mut flags = Vec::new();
    if cur.peek() == Some(b'(') {
        flags = cur.flag_list()?;
        cur.sp()?;
    }
    let mut date_time = None;
    if cur.peek() == Some(b'"') {
        date_time = Some(cur.date_time()?);
        cur.sp()?;
    }
    if !matches!(cur.peek(), Some(b'{' | b'~')) {
        return Err(ErrorKind::Expected("message literal"));
    }
    let data = match cur.literal_any()? {
        (LiteralValue::Inline(data), kind) => AppendData::Inline {
            data: data.to_vec(),
            kind,
        },
        (LiteralValue::Spooled(s), kind) => AppendData::Spooled {
            spool: s.spool,
            len: s.len,
            kind,
        },
    };
    Ok(AppendMessage {
        flags,
        date_time,
        data,
    })
}

/// Decides whether the literal announced right after `prefix` (the assembled command so far,
/// ending just before `{` or `~{`) carries an APPEND message. Anything that is not clearly
/// `tag APPEND mailbox [flags] [date-time]` (or a MULTIAPPEND continuation) is `Other`, which
/// the framer buffers within the small-literal limit.
pub(crate) fn classify_literal(
    prefix: &[u8],
    spooled: &[Spooled],
    encoding: MailboxEncoding,
) -> LiteralClass {
    let mut cur = Cursor::new(prefix, spooled, encoding, 8);
    match append_prefix(&mut cur) {
        Ok(Some((tag, mailbox))) => LiteralClass::Message {
            tag,
            mailbox,
            command: MessageCommand::Append,
        },
        // Only the mailbox can fail to decode: the message is refused before its data.
        Err(kind @ ErrorKind::Mutf7(_)) => LiteralClass::Refused(kind),
        Ok(None) | Err(_) => {
            let mut cur = Cursor::new(prefix, spooled, encoding, 8);
            match super::xfer::message_prefix(&mut cur) {
                Ok(Some((tag, name))) => LiteralClass::Message {
                    tag,
                    mailbox: Mailbox::Other(name),
                    command: MessageCommand::XferMessage,
                },
                Ok(None) | Err(_) => LiteralClass::Other,
            }
        }
    }
}

fn append_prefix(cur: &mut Cursor<'_>) -> PResult<Option<(Tag, Mailbox)>> {
    let tag = cur.tag()?;
    cur.sp()?;
    if !cur.atom()?.eq_ignore_ascii_case("APPEND") {
        return Ok(None);
    }
    cur.sp()?;
    let mailbox = cur.mailbox()?;
    loop {
        cur.sp()?;
        if cur.peek() == Some(b'(') {
            cur.flag_list()?;
            cur.sp()?;
        }
        if cur.peek() == Some(b'"') {
            cur.date_time()?;
            cur.sp()?;
        }
        if cur.rest().is_empty() {
            return Ok(Some((tag, mailbox)));
        }
        match cur.literal_any()? {
            (LiteralValue::Spooled(_), _) => {}
            (LiteralValue::Inline(_), _) => return Ok(None),
        }
    }
}
