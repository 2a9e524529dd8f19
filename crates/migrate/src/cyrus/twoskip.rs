//! Cyrus's `twoskip` database files (`lib/cyrusdb_twoskip.c`): the mailboxes database, seen
//! databases and annotations of Cyrus 2.5 and later.
//!
//! Layout (all integers big-endian): a 64-octet header (20 octets of magic, version, generation,
//! record count, repack size, the size at the last commit, flags, CRC), then records. A record
//! is type (`=` dummy, `+` record, `-` delete, `$` commit), level, a 16-bit key length and a
//! 32-bit value length (each widened to 64 bits after the fixed part when it holds all ones),
//! `level + 1` 64-bit forward offsets, two CRCs, then key and value padded to 8 octets. The
//! live records are the `+` records on the level-0 chain that starts at the dummy; level 0 has
//! two pointers, of which the higher one below the committed size is current.
//!
//! We read, never write: the whole file is loaded (bounded by [`MAX_FILE`]) and the chain is
//! walked with a step limit, so a looping or truncated file ends in an error, not a hang.

use std::path::Path;

use super::{read_bounded, CyrusError, Records};

/// The magic that opens every twoskip file.
pub const MAGIC: &[u8; 20] = b"\xa1\x02\x8b\x0dtwoskip file\0\0\0\0";
/// Largest database file we load.
pub const MAX_FILE: u64 = 1 << 31;
const HEADER: usize = 64;
const DUMMY: u8 = b'=';
const RECORD: u8 = b'+';
const DELETE: u8 = b'-';
const COMMIT: u8 = b'$';
const MAX_LEVEL: u8 = 31;

/// Whether `bytes` start like a twoskip file.
pub fn is_twoskip(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Every live (key, value) of the twoskip file at `path`, in key order.
pub fn read_file(path: &Path) -> Result<Records, CyrusError> {
    let bytes = read_bounded(path, MAX_FILE)?;
    parse(&bytes).map_err(|(offset, what)| CyrusError::format(path, offset, what))
}

/// One record's fixed part, as far as the walk needs it.
struct Record {
    kind: u8,
    /// Level-0 forward pointers (the second is 0 for a level-0 record).
    next: [u64; 2],
    key: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
}

fn be_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Reads the record at `offset`; errors carry the offset.
fn record_at(b: &[u8], offset: usize) -> Result<Record, (u64, String)> {
    let short = || {
        (
            offset as u64,
            "record runs past the end of the file".to_string(),
        )
    };
    let kind = *b.get(offset).ok_or_else(short)?;
    let level = *b.get(offset + 1).ok_or_else(short)?;
    if level > MAX_LEVEL {
        return Err((
            offset as u64,
            format!("record level {level} above {MAX_LEVEL}"),
        ));
    }
    let mut at = offset + 8;
    let mut keylen = u64::from(be_u16(b, offset + 2).ok_or_else(short)?);
    let mut vallen = u64::from(be_u32(b, offset + 4).ok_or_else(short)?);
    if keylen == u64::from(u16::MAX) {
        keylen = be_u64(b, at).ok_or_else(short)?;
        at += 8;
    }
    if vallen == u64::from(u32::MAX) {
        vallen = be_u64(b, at).ok_or_else(short)?;
        at += 8;
    }
    let first = be_u64(b, at).ok_or_else(short)?;
    let second = if level >= 1 {
        be_u64(b, at + 8).ok_or_else(short)?
    } else {
        0
    };
    at += 8 * (usize::from(level) + 1) + 8;
    let keylen = usize::try_from(keylen).map_err(|_| short())?;
    let vallen = usize::try_from(vallen).map_err(|_| short())?;
    let key_end = at.checked_add(keylen).ok_or_else(short)?;
    let val_end = key_end.checked_add(vallen).ok_or_else(short)?;
    if val_end > b.len() {
        return Err(short());
    }
    Ok(Record {
        kind,
        next: [first, second],
        key: at..key_end,
        value: key_end..val_end,
    })
}

/// Every live (key, value) of a twoskip file's bytes; an error is (offset, what).
pub fn parse(b: &[u8]) -> Result<Records, (u64, String)> {
    if !is_twoskip(b) {
        return Err((0, "not a twoskip file (bad magic)".into()));
    }
    let version = be_u32(b, 20).ok_or((20, "short header".to_string()))?;
    if version != 1 {
        return Err((20, format!("twoskip version {version}, only 1 is known")));
    }
    let current = be_u64(b, 48).ok_or((48, "short header".to_string()))?;
    // Offsets at or past the committed size belong to an unfinished transaction.
    let end = current.min(b.len() as u64);
    let dummy = record_at(b, HEADER)?;
    if dummy.kind != DUMMY {
        return Err((HEADER as u64, "first record is not the dummy".into()));
    }
    let mut out: Records = Vec::new();
    let mut next = level0(&dummy, end);
    // Each record takes at least 24 octets: more steps than that means a loop.
    let mut steps = b.len() / 24 + 1;
    while next != 0 {
        if steps == 0 {
            return Err((next, "the record chain loops".into()));
        }
        steps -= 1;
        let at = usize::try_from(next).map_err(|_| (next, "offset too large".to_string()))?;
        if next < HEADER as u64 || next >= end {
            return Err((next, "pointer outside the committed file".into()));
        }
        let r = record_at(b, at)?;
        match r.kind {
            RECORD => {
                let key = b[r.key.clone()].to_vec();
                if out.last().is_some_and(|(k, _)| *k >= key) {
                    return Err((next, "keys out of order".into()));
                }
                out.push((key, b[r.value.clone()].to_vec()));
            }
            DELETE => {}
            DUMMY | COMMIT => return Err((next, "dummy or commit record in the chain".into())),
            other => return Err((next, format!("unknown record type 0x{other:02x}"))),
        }
        next = level0(&r, end);
    }
    Ok(out)
}

/// The current level-0 successor: the higher pointer that lies within the committed file.
fn level0(r: &Record, end: u64) -> u64 {
    let [a, b] = r.next;
    if a >= end {
        return if b >= end { 0 } else { b };
    }
    if b >= end {
        return a;
    }
    a.max(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAILBOXES: &[u8] = include_bytes!("../../tests/fixtures/cyrus36/mailboxes.db");
    const SEEN: &[u8] = include_bytes!("../../tests/fixtures/cyrus36/bob.seen.db");

    #[test]
    fn mailboxes_db_of_cyrus_3_6_lists_every_name_and_id_record() {
        let records = parse(MAILBOXES).unwrap();
        let keys: Vec<String> = records
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect();
        assert!(keys.contains(&"Nuser\x1falice\x1fWork\x1f2024".to_string()));
        assert!(keys.contains(&"Nshared\x1fboard".to_string()));
        assert!(keys.iter().any(|k| k.starts_with('I')));
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn seen_db_of_cyrus_3_6_holds_the_uid_set_text() {
        let records = parse(SEEN).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].0, b"5oibks421hd3iwrxnqtt78bk");
        assert!(records[0].1.ends_with(b" 1,3"));
    }

    #[test]
    fn truncated_file_is_an_error_not_a_panic() {
        for cut in [0, 10, 63, 64, 100, MAILBOXES.len() / 2, MAILBOXES.len() - 1] {
            let _ = parse(&MAILBOXES[..cut]);
        }
        assert!(parse(&MAILBOXES[..MAILBOXES.len() / 2]).is_err());
    }

    #[test]
    fn a_pointer_loop_ends_in_an_error() {
        let mut b = SEEN.to_vec();
        // The live record at 0x1c0 (the dummy's current level-0 successor; 0x150 is the value
        // it replaced) points back to itself.
        b[0x1c8..0x1d0].copy_from_slice(&0x1c0u64.to_be_bytes());
        b[0x1d0..0x1d8].copy_from_slice(&0x1c0u64.to_be_bytes());
        let e = parse(&b).unwrap_err();
        assert!(e.1.contains("order") || e.1.contains("loop"), "{e:?}");
    }
}
