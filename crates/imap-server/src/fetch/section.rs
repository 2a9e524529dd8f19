//! Where BODY[section] and BINARY[section] contents lie in the message file, from the cached
//! part offsets (RFC 9051 §6.4.5, RFC 3516): a section is a range of the file, so only that
//! range is ever read; nothing is re-parsed but the header fields a HEADER.FIELDS asks for.

use std::ops::Range;

use imap_proto::command::{Section, SectionText};
use message::{MessageCache, Part};

use super::fields::{header_fields, HeaderNames, Include};

/// What a body section is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SectionBytes {
    /// This range of the message file.
    Span(Range<u64>),
    /// The fields of the header block in this range that are (or are not) listed.
    Fields(Range<u64>, Include),
    /// No such part: an empty string, as Dovecot and Cyrus answer.
    Empty,
}

/// Where `section` lies in a message of `size` octets.
pub(crate) fn locate(cache: &MessageCache, section: &Section, size: u64) -> SectionBytes {
    let Some(part) = cache.part(&section.part) else {
        return SectionBytes::Empty;
    };
    let top = section.part.is_empty();
    let span = |offset: u64, len: u64| {
        let start = offset.min(size);
        SectionBytes::Span(start..offset.saturating_add(len).min(size))
    };
    match &section.text {
        None if top => SectionBytes::Span(0..size),
        None => span(part.body_offset, part.body_len),
        Some(SectionText::Mime) => span(part.header_offset, part.header_len),
        Some(text) => {
            let message: &Part = if top {
                part
            } else {
                match part.message.as_deref() {
                    Some(m) => m,
                    None => return SectionBytes::Empty,
                }
            };
            let header = message.header_offset..message.header_offset + message.header_len;
            match text {
                SectionText::HeaderFields(_) => SectionBytes::Fields(header, Include::Listed),
                SectionText::HeaderFieldsNot(_) => SectionBytes::Fields(header, Include::Unlisted),
                SectionText::Text => span(message.body_offset, message.body_len),
                SectionText::Header | SectionText::Mime => {
                    span(message.header_offset, message.header_len)
                }
            }
        }
    }
}

/// A top-level HEADER or HEADER.FIELDS(.NOT) when the header block is read from the file.
pub(crate) fn top_header(section: &Section, header: Range<u64>) -> SectionBytes {
    match &section.text {
        Some(SectionText::HeaderFields(_)) => SectionBytes::Fields(header, Include::Listed),
        Some(SectionText::HeaderFieldsNot(_)) => SectionBytes::Fields(header, Include::Unlisted),
        _ => SectionBytes::Span(header),
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
pub(crate) fn from_header_block(
    header: &[u8],
    section: &Section,
    names: Option<&HeaderNames>,
) -> Vec<u8> {
    let empty = HeaderNames::default();
    let names = names.unwrap_or(&empty);
    match &section.text {
        Some(SectionText::HeaderFields(_)) => header_fields(header, names, Include::Listed),
        Some(SectionText::HeaderFieldsNot(_)) => header_fields(header, names, Include::Unlisted),
        _ => header.to_vec(),
    }
}

/// `<origin.count>` (RFC 9051 §6.4.5) applied to a range: an origin past the end gives an
/// empty range.
pub(crate) fn partial_range(range: Range<u64>, partial: Option<(u32, u32)>) -> Range<u64> {
    match partial {
        None => range,
        Some((origin, count)) => {
            let start = range.start.saturating_add(u64::from(origin)).min(range.end);
            start..start.saturating_add(u64::from(count)).min(range.end)
        }
    }
}

/// `<origin.count>` applied to data in memory.
pub(crate) fn partial(mut data: Vec<u8>, partial: Option<(u32, u32)>) -> Vec<u8> {
    let r = partial_range(0..data.len() as u64, partial);
    // The range lies within `data`, so both ends fit in usize.
    let (start, end) = (r.start as usize, r.end as usize);
    data.truncate(end);
    data.drain(..start);
    data
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const MSG: &[u8] =
        b"From: a@example.org\r\nSubject: hi\r\n there\r\nTo: b@example.org\r\n\r\nbody\r\n";

    fn section(part: Vec<u32>, text: Option<SectionText>) -> Section {
        Section { part, text }
    }

    fn bytes(s: &Section) -> Option<Vec<u8>> {
        let cache = message::scan(MSG);
        let names = match &s.text {
            Some(SectionText::HeaderFields(n) | SectionText::HeaderFieldsNot(n)) => {
                HeaderNames::new(n)
            }
            _ => HeaderNames::default(),
        };
        match locate(&cache, s, MSG.len() as u64) {
            SectionBytes::Span(r) => Some(MSG[r.start as usize..r.end as usize].to_vec()),
            SectionBytes::Fields(r, include) => Some(header_fields(
                &MSG[r.start as usize..r.end as usize],
                &names,
                include,
            )),
            SectionBytes::Empty => None,
        }
    }

    #[test]
    fn header_fields_of_the_top_level_come_from_its_header() {
        let s = section(
            vec![],
            Some(SectionText::HeaderFields(vec!["subject".into()])),
        );
        assert_eq!(bytes(&s).unwrap(), b"Subject: hi\r\n there\r\n\r\n");
    }

    #[test]
    fn text_and_part_one_of_a_single_part_message_are_its_body() {
        assert_eq!(
            bytes(&section(vec![], Some(SectionText::Text))).unwrap(),
            b"body\r\n"
        );
        assert_eq!(bytes(&section(vec![1], None)).unwrap(), b"body\r\n");
        assert_eq!(bytes(&section(vec![], None)).unwrap(), MSG);
        assert!(bytes(&section(vec![2], None)).is_none());
    }

    #[test]
    fn partial_clamps_to_the_data() {
        assert_eq!(partial(b"abcdef".to_vec(), Some((2, 3))), b"cde");
        assert_eq!(partial(b"abcdef".to_vec(), Some((4, 10))), b"ef");
        assert_eq!(partial(b"abc".to_vec(), Some((10, 1))), b"");
        assert_eq!(partial_range(10..20, Some((5, 100))), 15..20);
        assert_eq!(partial_range(10..20, Some((u32::MAX, u32::MAX))), 20..20);
    }
}
