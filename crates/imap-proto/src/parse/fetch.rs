//! FETCH (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162 modifiers) and STORE (RFC 9051 §6.4.6,
//! RFC 7162 UNCHANGEDSINCE).

use super::cursor::Cursor;
use super::PResult;
use crate::command::{
    Addressing, Command, Fetch, FetchAttr, FetchItems, FetchMacro, PeekMode, Section, SectionText,
    Store, StoreAction, StoreSilence,
};
use crate::error::ErrorKind;
use crate::limits::MAX_SECTION_PARTS;

/// `fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
/// "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]`
pub(super) fn fetch(cur: &mut Cursor<'_>, addressing: Addressing) -> PResult<Command> {
    cur.sp()?;
    let set = cur.sequence_set()?;
    cur.sp()?;
    let items = if cur.peek() == Some(b'(') {
        FetchItems::Attrs(cur.paren_list(fetch_att)?)
    } else if cur.eat_word("ALL") {
        FetchItems::Macro(FetchMacro::All)
    } else if cur.eat_word("FULL") {
        FetchItems::Macro(FetchMacro::Full)
    } else if cur.eat_word("FAST") {
        FetchItems::Macro(FetchMacro::Fast)
    } else {
        FetchItems::Attrs(vec![fetch_att(cur)?])
    };
    let mut fetch = Fetch {
        addressing,
        set,
        items,
        changed_since: None,
        vanished: false,
    };
    if cur.eat(b' ') {
        cur.paren_list(|cur| fetch_modifier(cur, &mut fetch))?;
    }
    if fetch.vanished && (addressing == Addressing::Sequence || fetch.changed_since.is_none()) {
        // RFC 7162 §3.2.6: VANISHED only with UID FETCH and CHANGEDSINCE.
        return Err(ErrorKind::Expected(
            "VANISHED only in UID FETCH with CHANGEDSINCE",
        ));
    }
    Ok(Command::Fetch(fetch))
}

/// `fetch-modifier = "CHANGEDSINCE" SP mod-sequence-value / "VANISHED"` (RFC 7162 §7)
fn fetch_modifier(cur: &mut Cursor<'_>, fetch: &mut Fetch) -> PResult<()> {
    let name = cur.atom()?;
    if name.eq_ignore_ascii_case("CHANGEDSINCE") {
        cur.sp()?;
        fetch.changed_since = Some(cur.number64()?);
        Ok(())
    } else if name.eq_ignore_ascii_case("VANISHED") {
        fetch.vanished = true;
        Ok(())
    } else {
        Err(ErrorKind::Unknown("FETCH modifier"))
    }
}

/// `fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
/// "BODY" ["STRUCTURE"] / "UID" / "BODY" section [partial] / "BODY.PEEK" section [partial] /
/// "BINARY" [".PEEK"] section-binary [partial] / "BINARY.SIZE" section-binary / "MODSEQ"`
fn fetch_att(cur: &mut Cursor<'_>) -> PResult<FetchAttr> {
    let name = cur.take_while(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let mut buf = [0; 32];
    let name = super::upper(name, &mut buf);
    Ok(match name {
        "ENVELOPE" => FetchAttr::Envelope,
        "FLAGS" => FetchAttr::Flags,
        "INTERNALDATE" => FetchAttr::InternalDate,
        "RFC822" => FetchAttr::Rfc822,
        "RFC822.HEADER" => FetchAttr::Rfc822Header,
        "RFC822.SIZE" => FetchAttr::Rfc822Size,
        "RFC822.TEXT" => FetchAttr::Rfc822Text,
        "BODYSTRUCTURE" => FetchAttr::BodyStructure,
        "UID" => FetchAttr::Uid,
        "MODSEQ" => FetchAttr::ModSeq,
        "BODY" if cur.peek() != Some(b'[') => FetchAttr::Body,
        "BODY" | "BODY.PEEK" => {
            let peek = if name == "BODY" {
                PeekMode::Read
            } else {
                PeekMode::Peek
            };
            let section = section(cur)?;
            FetchAttr::BodySection {
                peek,
                section,
                partial: partial(cur)?,
            }
        }
        "BINARY" | "BINARY.PEEK" => {
            let peek = if name == "BINARY" {
                PeekMode::Read
            } else {
                PeekMode::Peek
            };
            let part = section_binary(cur)?;
            FetchAttr::Binary {
                peek,
                part,
                partial: partial(cur)?,
            }
        }
        "BINARY.SIZE" => FetchAttr::BinarySize {
            part: section_binary(cur)?,
        },
        "EMAILID" | "THREADID" | "SAVEDATE" => FetchAttr::Other(name.to_string()),
        "" => return Err(ErrorKind::Expected("fetch attribute")),
        _ => return Err(ErrorKind::Unknown("fetch attribute")),
    })
}

/// `section = "[" [section-spec] "]"`,
/// `section-spec = section-msgtext / (section-part ["." section-text])`
fn section(cur: &mut Cursor<'_>) -> PResult<Section> {
    cur.expect(b'[', "'['")?;
    let mut section = Section::default();
    if cur.eat(b']') {
        return Ok(section);
    }
    if cur.peek().is_some_and(|b| b.is_ascii_digit()) {
        section.part = section_part(cur)?;
        if !cur.eat(b'.') {
            cur.expect(b']', "']'")?;
            return Ok(section);
        }
    }
    section.text = Some(section_text(cur, section.part.is_empty())?);
    cur.expect(b']', "']'")?;
    Ok(section)
}

/// `section-part = nz-number *("." nz-number)`
fn section_part(cur: &mut Cursor<'_>) -> PResult<Vec<u32>> {
    let mut part = vec![cur.nz_number()?.get()];
    while cur.rest().first() == Some(&b'.') && cur.rest().get(1).is_some_and(u8::is_ascii_digit) {
        if part.len() == MAX_SECTION_PARTS {
            return Err(ErrorKind::TooMany {
                what: "part numbers in a section",
                max: MAX_SECTION_PARTS,
            });
        }
        cur.pos += 1;
        part.push(cur.nz_number()?.get());
    }
    Ok(part)
}

/// `section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"`,
/// `section-text = section-msgtext / "MIME"`
fn section_text(cur: &mut Cursor<'_>, top_level: bool) -> PResult<SectionText> {
    let word = cur.take_while(|b| b.is_ascii_alphabetic() || b == b'.');
    let mut buf = [0; 32];
    match super::upper(word, &mut buf) {
        "HEADER" => Ok(SectionText::Header),
        "TEXT" => Ok(SectionText::Text),
        "MIME" if !top_level => Ok(SectionText::Mime),
        "HEADER.FIELDS" => {
            cur.sp()?;
            Ok(SectionText::HeaderFields(header_list(cur)?))
        }
        "HEADER.FIELDS.NOT" => {
            cur.sp()?;
            Ok(SectionText::HeaderFieldsNot(header_list(cur)?))
        }
        _ => Err(ErrorKind::Expected("section text")),
    }
}

/// `header-list = "(" header-fld-name *(SP header-fld-name) ")"`, `header-fld-name = astring`
fn header_list(cur: &mut Cursor<'_>) -> PResult<Vec<String>> {
    cur.paren_list(Cursor::astring_utf8)
}

/// `section-binary = "[" [section-part] "]"` (RFC 3516)
fn section_binary(cur: &mut Cursor<'_>) -> PResult<Vec<u32>> {
    cur.expect(b'[', "'['")?;
    if cur.eat(b']') {
        return Ok(Vec::new());
    }
    let part = section_part(cur)?;
    cur.expect(b']', "']'")?;
    Ok(part)
}

/// `partial = "<" number "." nz-number ">"`
fn partial(cur: &mut Cursor<'_>) -> PResult<Option<(u32, u32)>> {
    if !cur.eat(b'<') {
        return Ok(None);
    }
    let origin = cur.number()?;
    cur.expect(b'.', "'.' in partial")?;
    let length = cur.nz_number()?.get();
    cur.expect(b'>', "'>'")?;
    Ok(Some((origin, length)))
}

/// `store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags`,
/// `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))`
pub(super) fn store(cur: &mut Cursor<'_>, addressing: Addressing) -> PResult<Command> {
    cur.sp()?;
    let set = cur.sequence_set()?;
    cur.sp()?;
    let mut unchanged_since = None;
    if cur.peek() == Some(b'(') {
        // store-modifier = "UNCHANGEDSINCE" SP mod-sequence-valzer (RFC 7162 §3.1.3)
        cur.expect(b'(', "'('")?;
        if !cur.eat_word("UNCHANGEDSINCE ") {
            return Err(ErrorKind::Unknown("STORE modifier"));
        }
        unchanged_since = Some(cur.number64()?);
        cur.expect(b')', "')'")?;
        cur.sp()?;
    }
    let action = if cur.eat(b'+') {
        StoreAction::Add
    } else if cur.eat(b'-') {
        StoreAction::Remove
    } else {
        StoreAction::Replace
    };
    if !cur.eat_word("FLAGS") {
        return Err(ErrorKind::Expected("FLAGS"));
    }
    let silence = if cur.eat_word(".SILENT") {
        StoreSilence::Silent
    } else {
        StoreSilence::Report
    };
    cur.sp()?;
    let flags = if cur.peek() == Some(b'(') {
        cur.flag_list()?
    } else {
        let mut flags = vec![cur.flag()?];
        while cur.eat(b' ') {
            flags.push(cur.flag()?);
        }
        flags
    };
    Ok(Command::Store(Store {
        addressing,
        set,
        unchanged_since,
        action,
        silence,
        flags,
    }))
}
