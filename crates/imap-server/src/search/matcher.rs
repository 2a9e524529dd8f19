//! Evaluating SEARCH keys (RFC 9051 §6.4.4) against one message. String keys match as
//! case-insensitive substrings of the decoded text (RFC 9051: "case-insensitive substring");
//! dates compare the calendar date, disregarding time and time zone.

use imap_proto::command::SearchKey;
use mailservice::MessageRecord;
use types::{Flag, Uid};

use crate::convert::date_start;

/// Everything one message offers to the matcher.
pub(crate) struct Candidate<'a> {
    pub seq: u32,
    pub uid: Uid,
    pub record: &'a MessageRecord,
    /// Unfolded header fields: (lower-case name, decoded value).
    pub fields: &'a [(String, String)],
    /// Decoded text of the body parts, lower-cased (only when BODY/TEXT is searched).
    pub body: Option<&'a str>,
    pub now: i64,
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
        SearchKey::Body(s) => contains(c.body.unwrap_or(""), s),
        SearchKey::Text(s) => {
            contains(c.body.unwrap_or(""), s) || c.fields.iter().any(|(_, v)| contains(v, s))
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

fn contains(haystack: &str, needle: &[u8]) -> bool {
    let needle = String::from_utf8_lossy(needle).to_lowercase();
    haystack.to_lowercase().contains(&needle)
}

fn header_has(c: &Candidate<'_>, name: &str, needle: &[u8]) -> bool {
    c.fields
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
    let value = c.fields.iter().find(|(n, _)| n == "date").map(|(_, v)| v)?;
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
        .map(|(n, v)| (n, message::decode_header_value(&v)))
        .collect()
}
