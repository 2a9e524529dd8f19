//! Evaluating SEARCH keys (RFC 9051 §6.4.4) against one message. String keys match as
//! case-insensitive substrings of the decoded text (RFC 9051: "case-insensitive substring");
//! dates compare the calendar date, disregarding time and time zone.

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

/// Resolves sequence sets against the view.
pub(crate) struct Sets<'a> {
    pub exists: u32,
    pub largest_uid: u32,
    pub saved: &'a [Uid],
}

pub(crate) fn matches(key: &SearchKey, c: &Candidate<'_>, sets: &Sets<'_>) -> bool {
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
        SearchKey::Keyword(k) => flag(&Flag::Keyword(k.clone())),
        SearchKey::Unkeyword(k) => !flag(&Flag::Keyword(k.clone())),
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
        SearchKey::From(s) => header_has(c, "from", s),
        SearchKey::To(s) => header_has(c, "to", s),
        SearchKey::Cc(s) => header_has(c, "cc", s),
        SearchKey::Bcc(s) => header_has(c, "bcc", s),
        SearchKey::Subject(s) => header_has(c, "subject", s),
        SearchKey::Header(name, s) => {
            let name = String::from_utf8_lossy(name).to_lowercase();
            header_has(c, &name, s)
        }
        SearchKey::Body(s) => c.body().iter().any(|part| contains(part, s)),
        SearchKey::Text(s) => {
            c.fields().iter().any(|(_, v)| contains(v, s))
                || c.body().iter().any(|part| contains(part, s))
        }
        SearchKey::Uid(set) => match set.ranges(sets.largest_uid) {
            Some(ranges) => ranges
                .iter()
                .any(|&(lo, hi)| lo <= c.uid.get() && c.uid.get() <= hi),
            None => sets.saved.contains(&c.uid),
        },
        SearchKey::SequenceSet(set) => match set.ranges(sets.exists) {
            Some(ranges) => ranges.iter().any(|&(lo, hi)| lo <= c.seq && c.seq <= hi),
            None => sets.saved.contains(&c.uid),
        },
        SearchKey::ModSeq { mod_seq, .. } => c.record.modseq.get() >= *mod_seq,
        SearchKey::Not(inner) => !matches(inner, c, sets),
        SearchKey::Or(a, b) => matches(a, c, sets) || matches(b, c, sets),
        SearchKey::And(keys) => keys.iter().all(|k| matches(k, c, sets)),
    }
}

/// Whether evaluating `key` needs the header fields, and the body text.
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
        SearchKey::Not(inner) => needs(inner),
        SearchKey::Or(a, b) => {
            let (a, b) = (needs(a), needs(b));
            (a.0 || b.0, a.1 || b.1)
        }
        SearchKey::And(keys) => keys
            .iter()
            .map(needs)
            .fold((false, false), |acc, n| (acc.0 || n.0, acc.1 || n.1)),
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

fn header_has(c: &Candidate<'_>, name: &str, needle: &[u8]) -> bool {
    c.fields()
        .iter()
        .any(|(n, v)| n == name && contains(v, needle))
}

/// The first second of the internal date's calendar day, in its own zone.
fn internal_day(c: &Candidate<'_>) -> i64 {
    let d = c.record.internal_date;
    let local = d.unix_seconds + i64::from(d.offset_minutes) * 60;
    local - local.rem_euclid(86_400)
}

fn sent_day(c: &Candidate<'_>) -> Option<i64> {
    let value = c
        .fields()
        .iter()
        .find(|(n, _)| n == "date")
        .map(|(_, v)| v)?;
    let (secs, offset) = message::parse_date(value)?;
    let local = secs + i64::from(offset) * 60;
    Some(local - local.rem_euclid(86_400))
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
    if raw.windows(2).any(|w| w == b"=?") {
        message::decode_header_value(raw)
    } else {
        String::from_utf8_lossy(raw).trim().to_string()
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
}
