//! BODY[section] and BINARY[section] contents, cut from the message bytes by the cached part
//! offsets (RFC 9051 §6.4.5, RFC 3516): nothing is re-parsed but the header fields a
//! HEADER.FIELDS asks for.

use imap_proto::command::{Section, SectionText};
use message::{MessageCache, Part};

/// The bytes of `section`, or `None` when the message has no such part (answered as NIL... or
/// rather as an empty string, as Dovecot and Cyrus do).
pub(crate) fn section_bytes(
    raw: &[u8],
    cache: &MessageCache,
    section: &Section,
) -> Option<Vec<u8>> {
    let part = cache.part(&section.part)?;
    let top = section.part.is_empty();
    match &section.text {
        None if top => Some(raw.to_vec()),
        None => Some(span(raw, part.body_offset, part.body_len).to_vec()),
        Some(SectionText::Mime) => Some(span(raw, part.header_offset, part.header_len).to_vec()),
        Some(text) => {
            let message = if top { part } else { part.message.as_deref()? };
            Some(message_text(raw, message, text))
        }
    }
}

/// HEADER / HEADER.FIELDS / TEXT of a message (the top one or an embedded message/rfc822).
fn message_text(raw: &[u8], message: &Part, text: &SectionText) -> Vec<u8> {
    let header = span(raw, message.header_offset, message.header_len);
    match text {
        SectionText::Header => header.to_vec(),
        SectionText::HeaderFields(names) => header_fields(header, names, Include::Listed),
        SectionText::HeaderFieldsNot(names) => header_fields(header, names, Include::Unlisted),
        SectionText::Text => span(raw, message.body_offset, message.body_len).to_vec(),
        SectionText::Mime => span(raw, message.header_offset, message.header_len).to_vec(),
    }
}

/// Whether the section is served from the header block alone (the index keeps it, so the
/// message file need not be read): top-level HEADER and HEADER.FIELDS(.NOT).
pub(crate) fn header_only(section: &Section) -> bool {
    section.part.is_empty()
        && matches!(
            section.text,
            Some(
                SectionText::Header
                    | SectionText::HeaderFields(_)
                    | SectionText::HeaderFieldsNot(_)
            )
        )
}

/// A top-level header section from the cached header block.
pub(crate) fn from_header_block(header: &[u8], section: &Section) -> Vec<u8> {
    match &section.text {
        Some(SectionText::HeaderFields(names)) => header_fields(header, names, Include::Listed),
        Some(SectionText::HeaderFieldsNot(names)) => {
            header_fields(header, names, Include::Unlisted)
        }
        _ => header.to_vec(),
    }
}

fn span(raw: &[u8], offset: u64, len: u64) -> &[u8] {
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(raw.len());
    let end = start
        .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
        .min(raw.len());
    &raw[start..end]
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Include {
    Listed,
    Unlisted,
}

/// The header fields whose names are (or are not) listed, with their continuation lines, then
/// the blank line that ends a header (RFC 9051 §6.4.5).
fn header_fields(header: &[u8], names: &[String], include: Include) -> Vec<u8> {
    let mut out = Vec::new();
    let mut keep = false;
    for line in header.split_inclusive(|&b| b == b'\n') {
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            let name_end = line.iter().position(|&b| b == b':').unwrap_or(line.len());
            let name = &line[..name_end];
            let listed = names
                .iter()
                .any(|n| n.as_bytes().eq_ignore_ascii_case(trim(name)));
            keep = listed == (include == Include::Listed);
        }
        if keep {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn trim(name: &[u8]) -> &[u8] {
    let end = name
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &name[..end]
}

/// Applies `<origin.count>` (RFC 9051 §6.4.5): an origin past the end gives an empty string.
pub(crate) fn partial(data: Vec<u8>, partial: Option<(u32, u32)>) -> Vec<u8> {
    match partial {
        None => data,
        Some((origin, count)) => {
            let start = (origin as usize).min(data.len());
            let end = start.saturating_add(count as usize).min(data.len());
            data[start..end].to_vec()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] =
        b"From: a@example.org\r\nSubject: hi\r\n there\r\nTo: b@example.org\r\n\r\nbody\r\n";

    fn section(part: Vec<u32>, text: Option<SectionText>) -> Section {
        Section { part, text }
    }

    #[test]
    fn header_fields_keep_continuations_and_the_blank_line() {
        let cache = message::scan(MSG);
        let s = section(
            vec![],
            Some(SectionText::HeaderFields(vec!["subject".into()])),
        );
        assert_eq!(
            section_bytes(MSG, &cache, &s).unwrap(),
            b"Subject: hi\r\n there\r\n\r\n"
        );
        let s = section(
            vec![],
            Some(SectionText::HeaderFieldsNot(vec![
                "Subject".into(),
                "To".into(),
            ])),
        );
        assert_eq!(
            section_bytes(MSG, &cache, &s).unwrap(),
            b"From: a@example.org\r\n\r\n"
        );
    }

    #[test]
    fn text_and_part_one_of_a_single_part_message_are_its_body() {
        let cache = message::scan(MSG);
        assert_eq!(
            section_bytes(MSG, &cache, &section(vec![], Some(SectionText::Text))).unwrap(),
            b"body\r\n"
        );
        assert_eq!(
            section_bytes(MSG, &cache, &section(vec![1], None)).unwrap(),
            b"body\r\n"
        );
        assert_eq!(
            section_bytes(MSG, &cache, &section(vec![], None)).unwrap(),
            MSG
        );
        assert!(section_bytes(MSG, &cache, &section(vec![2], None)).is_none());
    }

    #[test]
    fn partial_clamps_to_the_data() {
        assert_eq!(partial(b"abcdef".to_vec(), Some((2, 3))), b"cde");
        assert_eq!(partial(b"abcdef".to_vec(), Some((4, 10))), b"ef");
        assert_eq!(partial(b"abc".to_vec(), Some((10, 1))), b"");
    }
}
