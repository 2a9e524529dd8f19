//! FETCH response items (`msg-att`, RFC 9051 §7.5.2, RFC 3516, RFC 7162).

use types::{ModSeq, Uid};

use super::super::cursor::Cursor;
use super::super::strings::LiteralValue;
use super::super::PResult;
use crate::command::{Section, SectionText};
use crate::error::ErrorKind;
use crate::response::{FetchFlag, FetchItem};

/// `msg-att = "(" (msg-att-dynamic / msg-att-static) *(SP (msg-att-dynamic / msg-att-static)) ")"`
pub(super) fn msg_att(cur: &mut Cursor<'_>) -> PResult<Vec<FetchItem>> {
    cur.expect(b'(', "'('")?;
    let mut items = Vec::new();
    while !cur.eat(b')') {
        if !items.is_empty() {
            cur.sp()?;
        }
        items.push(item(cur)?);
    }
    Ok(items)
}

fn item(cur: &mut Cursor<'_>) -> PResult<FetchItem> {
    let name = cur.take_while(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let name = String::from_utf8_lossy(name).to_ascii_uppercase();
    if name == "BODY" && cur.peek() == Some(b'[') {
        return body_section(cur);
    }
    if name == "BINARY" || name == "BINARY.SIZE" {
        let part = section_part(cur)?;
        cur.sp()?;
        return Ok(if name == "BINARY" {
            FetchItem::Binary {
                part,
                data: nstring(cur)?,
            }
        } else {
            FetchItem::BinarySize {
                part,
                size: cur.number64()?,
            }
        });
    }
    cur.sp()?;
    Ok(match name.as_str() {
        "FLAGS" => FetchItem::Flags(flags(cur)?),
        "UID" => FetchItem::Uid(Uid::new(cur.number()?).ok_or(ErrorKind::NumberOutOfRange)?),
        "INTERNALDATE" => FetchItem::InternalDate(cur.date_time()?),
        "RFC822.SIZE" => FetchItem::Rfc822Size(cur.number64()?),
        "MODSEQ" => {
            cur.expect(b'(', "'('")?;
            let m = ModSeq::new(cur.number64()?).ok_or(ErrorKind::NumberOutOfRange)?;
            cur.expect(b')', "')'")?;
            FetchItem::ModSeq(m)
        }
        "ENVELOPE" => FetchItem::Envelope(raw(cur)?),
        "BODY" => FetchItem::Body(raw(cur)?),
        "BODYSTRUCTURE" => FetchItem::BodyStructure(raw(cur)?),
        "RFC822" => FetchItem::Rfc822(nstring(cur)?),
        "RFC822.HEADER" => FetchItem::Rfc822Header(nstring(cur)?),
        "RFC822.TEXT" => FetchItem::Rfc822Text(nstring(cur)?),
        "" => return Err(ErrorKind::Expected("fetch item")),
        _ => FetchItem::Other {
            name,
            raw: raw(cur)?,
        },
    })
}

/// `"FLAGS" SP "(" [flag-fetch *(SP flag-fetch)] ")"`, `flag-fetch = flag / "\Recent"`
fn flags(cur: &mut Cursor<'_>) -> PResult<Vec<FetchFlag>> {
    cur.expect(b'(', "'('")?;
    let mut flags = Vec::new();
    while !cur.eat(b')') {
        if !flags.is_empty() {
            cur.sp()?;
        }
        let word = cur.rest();
        let recent = word.len() >= 7
            && word[..7].eq_ignore_ascii_case(b"\\Recent")
            && word.get(7).is_none_or(|&b| b == b' ' || b == b')');
        flags.push(if recent {
            cur.pos += 7;
            FetchFlag::Recent
        } else {
            FetchFlag::Flag(cur.flag()?)
        });
    }
    Ok(flags)
}

/// `"BODY" section ["<" number ">"] SP nstring`
fn body_section(cur: &mut Cursor<'_>) -> PResult<FetchItem> {
    cur.expect(b'[', "'['")?;
    let mut section = Section::default();
    let spec = cur.take_while(|b| b != b']' && b != b'(' && b != b'\r');
    let spec = String::from_utf8_lossy(spec).to_ascii_uppercase();
    let mut words = spec.split('.').peekable();
    while let Some(n) = words.peek().and_then(|w| w.parse::<u32>().ok()) {
        section.part.push(n);
        words.next();
    }
    let text: Vec<&str> = words.collect();
    section.text = match text.join(".").trim_end() {
        "" => None,
        "HEADER" => Some(SectionText::Header),
        "TEXT" => Some(SectionText::Text),
        "MIME" => Some(SectionText::Mime),
        "HEADER.FIELDS" => Some(SectionText::HeaderFields(
            cur.paren_list(Cursor::astring_utf8)?,
        )),
        "HEADER.FIELDS.NOT" => Some(SectionText::HeaderFieldsNot(
            cur.paren_list(Cursor::astring_utf8)?,
        )),
        _ => return Err(ErrorKind::Expected("section")),
    };
    cur.expect(b']', "']'")?;
    let origin = if cur.eat(b'<') {
        let n = cur.number()?;
        cur.expect(b'>', "'>'")?;
        Some(n)
    } else {
        None
    };
    cur.sp()?;
    Ok(FetchItem::BodySection {
        section,
        origin,
        data: nstring(cur)?,
    })
}

/// `section-binary = "[" [section-part] "]"`
fn section_part(cur: &mut Cursor<'_>) -> PResult<Vec<u32>> {
    cur.expect(b'[', "'['")?;
    let mut part = Vec::new();
    while !cur.eat(b']') {
        if !part.is_empty() {
            cur.expect(b'.', "'.'")?;
        }
        part.push(cur.nz_number()?.get());
    }
    Ok(part)
}

/// `nstring = string / nil`, or `literal8` (RFC 3516).
pub(super) fn nstring(cur: &mut Cursor<'_>) -> PResult<Option<Vec<u8>>> {
    match cur.peek() {
        Some(b'~') => match cur.literal_any()? {
            (LiteralValue::Inline(data), _) => Ok(Some(data.to_vec())),
            (LiteralValue::Spooled(_), _) => Err(ErrorKind::Expected("string")),
        },
        _ if cur.eat_word("NIL") => Ok(None),
        _ => cur.string().map(Some),
    }
}

/// A value kept as raw bytes: a parenthesised list (balanced, skipping over quoted strings and
/// literals), a string, or an atom such as `NIL`.
fn raw(cur: &mut Cursor<'_>) -> PResult<Vec<u8>> {
    let start = cur.pos;
    match cur.peek() {
        Some(b'(') => balanced(cur)?,
        Some(b'"') => {
            cur.quoted()?;
        }
        Some(b'{' | b'~') => {
            cur.literal_any()?;
        }
        _ => {
            if cur
                .take_while(|b| !matches!(b, b' ' | b')' | b'\r' | b'\n'))
                .is_empty()
            {
                return Err(ErrorKind::Expected("value"));
            }
        }
    }
    Ok(cur.buf[start..cur.pos].to_vec())
}

fn balanced(cur: &mut Cursor<'_>) -> PResult<()> {
    let mut depth = 0u32;
    loop {
        match cur.peek() {
            Some(b'(') => {
                depth += 1;
                cur.enter()?;
                cur.pos += 1;
            }
            Some(b')') => {
                depth = depth.saturating_sub(1);
                cur.leave();
                cur.pos += 1;
                if depth == 0 {
                    return Ok(());
                }
            }
            Some(b'"') => {
                cur.quoted()?;
            }
            Some(b'{') => {
                cur.literal_any()?;
            }
            Some(b'~') if cur.rest().get(1) == Some(&b'{') => {
                cur.literal_any()?;
            }
            Some(b'\r' | b'\n') | None => return Err(ErrorKind::Incomplete),
            Some(_) => cur.pos += 1,
        }
    }
}
