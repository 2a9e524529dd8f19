//! Evaluating SEARCH keys (RFC 9051 §6.4.4) against one message. String keys match as
//! case-insensitive substrings of the decoded text (RFC 9051: "case-insensitive substring");
//! dates compare the calendar date, disregarding time and time zone.

use std::borrow::Cow;
use std::cell::OnceCell;

use imap_proto::command::SearchKey;
use mailservice::MessageRecord;
use types::{Flag, Uid};

use crate::convert::date_start;

/// Everything one message offers to the matcher. Header fields and body text are worked out
/// only when a key needs them, so `UNSEEN BODY x` reads no file for seen messages.
pub(crate) struct Candidate<'a> {
    pub seq: u32,
    pub uid: Uid,
    pub record: &'a MessageRecord,
    pub now: i64,
    header: Option<&'a [u8]>,
    fields: OnceCell<Vec<(String, String)>>,
    body: OnceCell<Vec<String>>,
    load_body: &'a dyn Fn() -> Vec<String>,
}

impl<'a> Candidate<'a> {
    pub fn new(
        seq: u32,
        uid: Uid,
        record: &'a MessageRecord,
        now: i64,
        load_body: &'a dyn Fn() -> Vec<String>,
    ) -> Candidate<'a> {
        Candidate {
            seq,
            uid,
            record,
            now,
            header: record.header.as_deref(),
            fields: OnceCell::new(),
            body: OnceCell::new(),
            load_body,
        }
    }

    fn fields(&self) -> &[(String, String)] {
        self.fields
            .get_or_init(|| self.header.map(header_fields).unwrap_or_default())
    }

    fn body(&self) -> &[String] {
        self.body.get_or_init(|| (self.load_body)())
    }
}

/// Whether one message's own data satisfies a leaf key. Sets and the compound keys are
/// evaluated by [`crate::search::criteria::Criterion`], which never hands them here.
pub(crate) fn matches(key: &SearchKey, c: &Candidate<'_>) -> bool {
    let flag = |f: &Flag| c.record.flags.contains(f);
    match key {
        SearchKey::All | SearchKey::Old => true,
        SearchKey::New | SearchKey::Recent => false,
        SearchKey::Answered => flag(&Flag::Answered),
        SearchKey::Deleted => flag(&Flag::Deleted),
        SearchKey::Draft => flag(&Flag::Draft),
        SearchKey::Flagged => flag(&Flag::Flagged),
        SearchKey::Seen => flag(&Flag::Seen),
        SearchKey::Unanswered => !flag(&Flag::Answered),
        SearchKey::Undeleted => !flag(&Flag::Deleted),
        SearchKey::Undraft => !flag(&Flag::Draft),
        SearchKey::Unflagged => !flag(&Flag::Flagged),
        SearchKey::Unseen => !flag(&Flag::Seen),
        SearchKey::Keyword(k) => has_keyword(c, k),
        SearchKey::Unkeyword(k) => !has_keyword(c, k),
        SearchKey::Larger(n) => c.record.size > *n,
        SearchKey::Smaller(n) => c.record.size < *n,
        SearchKey::Before(d) => internal_day(c) < date_start(*d),
        SearchKey::On(d) => internal_day(c) == date_start(*d),
        SearchKey::Since(d) => internal_day(c) >= date_start(*d),
        SearchKey::SentBefore(d) => sent_day(c).is_some_and(|s| s < date_start(*d)),
        SearchKey::SentOn(d) => sent_day(c).is_some_and(|s| s == date_start(*d)),
        SearchKey::SentSince(d) => sent_day(c).is_some_and(|s| s >= date_start(*d)),
        SearchKey::Older(secs) => c.now - c.record.internal_date.unix_seconds >= i64::from(*secs),
        SearchKey::Younger(secs) => c.now - c.record.internal_date.unix_seconds <= i64::from(*secs),
        SearchKey::From(s) => address_has(c, b"from", s),
        SearchKey::To(s) => address_has(c, b"to", s),
        SearchKey::Cc(s) => address_has(c, b"cc", s),
        SearchKey::Bcc(s) => address_has(c, b"bcc", s),
        SearchKey::Subject(s) => header_has(c, b"subject", s),
        SearchKey::Header(name, s) => header_has(c, name, s),
        SearchKey::Body(s) => c.body().iter().any(|part| contains(part, s)),
        SearchKey::Text(s) => {
            c.fields().iter().any(|(_, v)| contains(v, s))
                || c.body().iter().any(|part| contains(part, s))
        }
        SearchKey::ModSeq { mod_seq, .. } => c.record.modseq.get() >= *mod_seq,
        SearchKey::Uid(_)
        | SearchKey::SequenceSet(_)
        | SearchKey::Not(_)
        | SearchKey::Or(..)
        | SearchKey::And(_) => false,
    }
}

/// Whether evaluating a leaf key needs the header fields, and the body text.
pub(crate) fn needs(key: &SearchKey) -> (bool, bool) {
    match key {
        SearchKey::From(_)
        | SearchKey::To(_)
        | SearchKey::Cc(_)
        | SearchKey::Bcc(_)
        | SearchKey::Subject(_)
        | SearchKey::Header(..)
        | SearchKey::SentBefore(_)
        | SearchKey::SentOn(_)
        | SearchKey::SentSince(_) => (true, false),
        SearchKey::Body(_) => (false, true),
        SearchKey::Text(_) => (true, true),
        _ => (false, false),
    }
}

/// Case-insensitive substring test. An ASCII needle (the common case) is compared byte by byte
/// without copying the haystack; others go through Unicode lower-casing.
fn contains(haystack: &str, needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.is_ascii() {
        let (first, rest) = (needle[0].to_ascii_lowercase(), &needle[1..]);
        let hay = haystack.as_bytes();
        return hay.len() >= needle.len()
            && (0..=hay.len() - needle.len()).any(|i| {
                hay[i].to_ascii_lowercase() == first
                    && hay[i + 1..i + needle.len()].eq_ignore_ascii_case(rest)
            });
    }
    let needle = String::from_utf8_lossy(needle).to_lowercase();
    haystack.to_lowercase().contains(&needle)
}

/// Flag equality for keywords is ASCII case-insensitive (see `types::Flag`'s `PartialEq`).
fn has_keyword(c: &Candidate<'_>, keyword: &str) -> bool {
    c.record
        .flags
        .iter()
        .any(|f| matches!(f, Flag::Keyword(k) if k.eq_ignore_ascii_case(keyword)))
}

/// Whether a field named `name` (compared as [`header_fields`] names compare) has `needle` in
/// its decoded value.
fn header_has(c: &Candidate<'_>, name: &[u8], needle: &[u8]) -> bool {
    any_value(c, name, |value| contains(value, needle))
}

/// FROM, TO, CC and BCC (RFC 3501 §6.4.4, RFC 9051 §6.4.4): `needle` is a substring of a field
/// named `name` as written (unfolded, RFC 2047-decoded, as [`header_has`] compares), or of its
/// addresses as parsed ([`message::address_search_form`]: comments and folding white space
/// removed, `name <local@domain>`), so `SEARCH FROM user@domain.org` finds
/// `From: <user (comment)@ (comment) domain.org>` as Cyrus and Dovecot do. The parse is only
/// paid for fields whose text did not already match and is not already in that form, and it
/// reads the decoded value, so display names compare decoded without decoding twice. (An encoded word whose text holds a specials
/// character such as `"` or `(` is then parsed as that character; the name itself is still
/// found in the text as written.)
fn address_has(c: &Candidate<'_>, name: &[u8], needle: &[u8]) -> bool {
    any_value(c, name, |value| {
        contains(value, needle)
            || message::address_search_form(value).is_some_and(|form| contains(&form, needle))
    })
}

/// Calls `test` on the decoded value of each field named `name` until it answers true. Reads
/// the header block in place unless TEXT already split it up.
fn any_value(c: &Candidate<'_>, name: &[u8], mut test: impl FnMut(&str) -> bool) -> bool {
    if let Some(fields) = c.fields.get() {
        let name = String::from_utf8_lossy(name).to_lowercase();
        return fields.iter().any(|(n, v)| *n == name && test(v));
    }
    c.header.is_some_and(|h| any_field_value(h, name, test))
}

/// The first second of the internal date's calendar day, in its own zone.
fn internal_day(c: &Candidate<'_>) -> i64 {
    let d = c.record.internal_date;
    let local = d.unix_seconds + i64::from(d.offset_minutes) * 60;
    local - local.rem_euclid(86_400)
}

fn sent_day(c: &Candidate<'_>) -> Option<i64> {
    // The first Date field decides, parsable or not.
    let day = match c.fields.get() {
        Some(fields) => fields
            .iter()
            .find(|(n, _)| n == "date")
            .map(|(_, v)| parse_day(v)),
        None => {
            let mut first = None;
            if let Some(h) = c.header {
                any_field_value(h, b"date", |v| {
                    first = Some(parse_day(v));
                    true
                });
            }
            first
        }
    };
    day.flatten()
}

fn parse_day(value: &str) -> Option<i64> {
    let (secs, offset) = message::parse_date(value)?;
    let local = secs + i64::from(offset) * 60;
    Some(local - local.rem_euclid(86_400))
}

/// Calls `test` on the decoded value of each field named `name`, in order, until it answers
/// true; says whether one did. Unfolds and decodes exactly as [`header_fields`] does, but only
/// the fields asked for, and borrows the value from the block when it is one plain line.
fn any_field_value(header: &[u8], name: &[u8], mut test: impl FnMut(&str) -> bool) -> bool {
    let mut lines = header_lines(header).peekable();
    while let Some(line) = lines.next() {
        if matches!(line.first(), Some(b' ' | b'\t')) {
            continue;
        }
        if !may_be_named(line, name) {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if !field_name_is(&line[..colon], name) {
            continue;
        }
        let mut value = Cow::Borrowed(&line[colon + 1..]);
        // Continuation lines belong to the last field with a name, across lines without a colon.
        while let Some(next) = lines.peek() {
            match next.first() {
                Some(b' ' | b'\t') => value.to_mut().extend_from_slice(next),
                _ if next.contains(&b':') => break,
                _ => {}
            }
            lines.next();
        }
        if test(&decode_value_cow(&value)) {
            return true;
        }
    }
    false
}

/// The lines of a header block without their line ends, up to the blank line that ends it.
fn header_lines(header: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = header;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = match find_newline(rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
    .take_while(|line| !line.is_empty())
}

/// The index of the first `\n`, eight bytes at a time: header searches spend most of their
/// matching time finding line ends.
fn find_newline(hay: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const NEWLINES: u64 = u64::from_ne_bytes([b'\n'; 8]);
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ NEWLINES;
        // The lowest set bit marks the first zero byte of `x`, that is the first newline
        // (borrows can only mark bytes above a real zero byte).
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| base + i)
}

/// Whether the field line may carry `name`, by its first byte alone: a line starting with an
/// ASCII byte other than white space names a field starting with that byte (or, starting with
/// the colon, the empty name), and lower-casing keeps an ASCII first character first. Rules out
/// most lines of a block without looking for their colon.
fn may_be_named(line: &[u8], name: &[u8]) -> bool {
    match (line.first(), name.first()) {
        (Some(&l), Some(&n)) if l.is_ascii() && n.is_ascii() && !is_space(l) => {
            l.eq_ignore_ascii_case(&n)
        }
        _ => true,
    }
}

/// White space as `str::trim` sees it, for ASCII bytes.
fn is_space(b: u8) -> bool {
    b.is_ascii() && char::from(b).is_whitespace()
}

/// `raw` (a field name as written) equals `name` the way [`header_fields`] and the HEADER key
/// compare them: both lossily decoded, `raw` trimmed, both lower-cased. ASCII names, all that
/// RFC 5322 allows, are compared in place.
fn field_name_is(raw: &[u8], name: &[u8]) -> bool {
    let start = raw.iter().position(|&b| !is_space(b)).unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(start, |i| i + 1);
    let trimmed = &raw[start..end];
    if trimmed.is_ascii() && name.is_ascii() {
        return trimmed.eq_ignore_ascii_case(name);
    }
    String::from_utf8_lossy(raw).trim().to_lowercase()
        == String::from_utf8_lossy(name).to_lowercase()
}

/// Unfolds a header block into (lower-case name, RFC 2047-decoded value) pairs.
pub(crate) fn header_fields(header: &[u8]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
    for line in header.split_inclusive(|&b| b == b'\n') {
        let trimmed = line.strip_suffix(b"\n").unwrap_or(line);
        let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
        if trimmed.is_empty() {
            break;
        }
        if matches!(trimmed.first(), Some(b' ' | b'\t')) {
            if let Some((_, value)) = fields.last_mut() {
                value.extend_from_slice(trimmed);
            }
            continue;
        }
        if let Some(colon) = trimmed.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(&trimmed[..colon])
                .trim()
                .to_lowercase();
            fields.push((name, trimmed[colon + 1..].to_vec()));
        }
    }
    fields
        .into_iter()
        .map(|(n, v)| (n, decode_value(&v)))
        .collect()
}

/// RFC 2047 decoding only where an encoded word may be; plain values are taken as they are.
fn decode_value(raw: &[u8]) -> String {
    decode_value_cow(raw).into_owned()
}

/// [`decode_value`] without a copy of a plain UTF-8 value.
fn decode_value_cow(raw: &[u8]) -> Cow<'_, str> {
    if raw.windows(2).any(|w| w == b"=?") {
        return Cow::Owned(message::decode_header_value(raw));
    }
    match String::from_utf8_lossy(raw) {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_is_case_insensitive_for_ascii_and_unicode() {
        assert!(contains("The Quick Brown Fox", b"quick brown"));
        assert!(contains("x", b""));
        assert!(!contains("fo", b"fox"));
        assert!(contains("Grüße aus KÖLN", "köln".as_bytes()));
        assert!(!contains("Grüße", "koln".as_bytes()));
    }

    #[test]
    fn header_fields_unfold_and_decode_only_encoded_words() {
        let fields =
            header_fields(b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nFrom: a\r\n b@c\r\n\r\n");
        assert_eq!(fields[0], ("subject".to_string(), "Grüße".to_string()));
        assert_eq!(fields[1], ("from".to_string(), "a b@c".to_string()));
    }

    /// A header block with the awkward cases: folding, a line without a colon between a field
    /// and its continuation, encoded words, repeated and oddly spaced names, a continuation
    /// before any field, 8-bit bytes and a body after the blank line.
    const AWKWARD: &[u8] = b" stray continuation\r\n\
        From: =?UTF-8?Q?J=C3=B6rg?= <jorg@example.org>\r\n\
        Subject: first\r\n\
        \tline two\r\n\
        no colon here\r\n\
        \x20still the subject\r\n\
        X-Foo : spaced name\r\n\
        x-foo:second\r\n\
        \tfolded\r\n\
        X-Latin: caf\xe9\r\n\
        X-\xc3\xa9t\xc3\xa9: summer\r\n\
        Date: Tue, 3 Nov 2026 10:00:00 +0100\r\n\
        Date: Wed, 4 Nov 2026 10:00:00 +0100\r\n\
        To:\r\n\
        \r\n\
        From: not a header\r\n";

    fn values_by_scan(header: &[u8], name: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        any_field_value(header, name, |v| {
            out.push(v.to_string());
            false
        });
        out
    }

    fn values_by_fields(header: &[u8], name: &[u8]) -> Vec<String> {
        let name = String::from_utf8_lossy(name).to_lowercase();
        header_fields(header)
            .into_iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .collect()
    }

    #[test]
    fn field_scan_finds_what_header_fields_finds() {
        let names: [&[u8]; 11] = [
            b"from",
            b"FROM",
            b"subject",
            b"x-foo",
            b"X-FOO",
            b"x-latin",
            "x-été".as_bytes(),
            "X-ÉTÉ".as_bytes(),
            b"date",
            b"to",
            b"absent",
        ];
        for name in names {
            assert_eq!(
                values_by_scan(AWKWARD, name),
                values_by_fields(AWKWARD, name),
                "{}",
                String::from_utf8_lossy(name)
            );
        }
        assert_eq!(
            values_by_scan(AWKWARD, b"from"),
            ["Jörg <jorg@example.org>"]
        );
        assert_eq!(
            values_by_scan(AWKWARD, b"x-foo"),
            ["spaced name", "second\tfolded"]
        );
        assert_eq!(
            values_by_scan(AWKWARD, b"subject"),
            ["first\tline two still the subject"]
        );
    }

    #[test]
    fn newlines_are_found_wherever_they_are() {
        for len in 0..40 {
            for at in 0..=len {
                let mut hay = vec![b'\x8a'; len];
                hay.iter_mut()
                    .skip(at + 1)
                    .step_by(3)
                    .for_each(|b| *b = b'\n');
                if at < len {
                    hay[at] = b'\n';
                }
                let want = hay.iter().position(|&b| b == b'\n');
                assert_eq!(find_newline(&hay), want, "{len} {at}");
            }
        }
        let lines: Vec<&[u8]> = header_lines(b"A: 1\r\n b\nC: 2\r\n\r\nbody").collect();
        assert_eq!(lines, [&b"A: 1"[..], b" b", b"C: 2"]);
        assert_eq!(header_lines(b"A: 1").collect::<Vec<_>>(), [&b"A: 1"[..]]);
    }

    #[test]
    fn field_scan_stops_at_the_first_value_that_passes() {
        let mut seen = 0;
        assert!(any_field_value(AWKWARD, b"date", |_| {
            seen += 1;
            true
        }));
        assert_eq!(seen, 1);
        assert!(!any_field_value(b"", b"from", |_| true));
    }

    #[test]
    fn field_names_compare_like_lower_cased_trimmed_strings() {
        assert!(field_name_is(b" Message-ID\t", b"message-id"));
        assert!(!field_name_is(b"Message-ID", b"message-i"));
        // U+212A KELVIN SIGN lower-cases to an ASCII 'k'.
        assert!(field_name_is("X-\u{212A}".as_bytes(), b"x-k"));
        assert!(field_name_is("\u{a0}X-K".as_bytes(), b"x-k"));
        assert!(field_name_is(b"", b""));
        assert!(field_name_is(b" ", b""));
    }

    #[test]
    fn first_byte_filter_never_rules_out_a_matching_line() {
        let names: [&[u8]; 6] = [b"from", b"x-k", b"", b":", "é".as_bytes(), b"message-id"];
        let lines: [&[u8]; 9] = [
            b"From: a",
            b"from:a",
            b"\x0bFrom : a",
            b": empty name",
            b"X-\xe2\x84\xaa: kelvin",
            b"\xc2\xa0x-k: nbsp",
            b"Subject: s",
            b"\xc3\xa9: e",
            b"Message-ID: <x>",
        ];
        for name in names {
            for line in lines {
                let colon = line.iter().position(|&b| b == b':').unwrap();
                if field_name_is(&line[..colon], name) {
                    assert!(may_be_named(line, name), "{line:?} {name:?}");
                }
            }
        }
        assert!(!may_be_named(b"Subject: s", b"from"));
        assert!(!may_be_named(b": x", b"from"));
    }
}
