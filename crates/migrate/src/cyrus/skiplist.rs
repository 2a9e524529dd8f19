//! Cyrus's `skiplist` database files (`lib/cyrusdb_skiplist.c`): Cyrus 2.4's default for the
//! mailboxes and seen databases.
//!
//! Layout (32-bit big-endian integers): a 48-octet header (20 octets of magic, version 1,
//! minor version, maximum level, current level, record count, log start, last recovery), then
//! records. A record is its type (257 dummy, 1 in-order, 2 add, 4 delete, 255 commit); an
//! in-order, add or dummy record continues with the key length, the key padded to 4 octets,
//! the value length, the value padded to 4 octets, one forward offset per level and a 0xFFFFFFFF
//! pad. Committed changes rewrite forward offsets in place, so the live records are the chain
//! of level-0 offsets from the dummy that follows the header. Like [`super::twoskip`], the
//! whole file is loaded (bounded) and the walk has a step limit.

use std::path::Path;

use super::{read_bounded, CyrusError, Records};

/// The magic that opens every skiplist file.
pub const MAGIC: &[u8; 20] = b"\xa1\x02\x8b\x0dskiplist file\0\0\0";
const HEADER: usize = 48;
const DUMMY: u32 = 257;
const INORDER: u32 = 1;
const ADD: u32 = 2;

/// Whether `bytes` start like a skiplist file.
pub fn is_skiplist(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Every live (key, value) of the skiplist file at `path`, in key order.
pub fn read_file(path: &Path) -> Result<Records, CyrusError> {
    let bytes = read_bounded(path, super::twoskip::MAX_FILE)?;
    parse(&bytes).map_err(|(offset, what)| CyrusError::format(path, offset, what))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn round4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|n| n & !3)
}

/// The (key range, value range, level-0 successor) of the record at `at`.
type Parsed = (std::ops::Range<usize>, std::ops::Range<usize>, u32);

fn record_at(b: &[u8], at: usize) -> Result<(u32, Parsed), (u64, String)> {
    let short = || {
        (
            at as u64,
            "record runs past the end of the file".to_string(),
        )
    };
    let kind = be32(b, at).ok_or_else(short)?;
    let keylen = be32(b, at + 4).ok_or_else(short)? as usize;
    let key_start = at + 8;
    let key_end = key_start.checked_add(keylen).ok_or_else(short)?;
    let datalen_at = key_start
        .checked_add(round4(keylen).ok_or_else(short)?)
        .ok_or_else(short)?;
    let datalen = be32(b, datalen_at).ok_or_else(short)? as usize;
    let data_start = datalen_at + 4;
    let data_end = data_start.checked_add(datalen).ok_or_else(short)?;
    let first_ptr = data_start
        .checked_add(round4(datalen).ok_or_else(short)?)
        .ok_or_else(short)?;
    let next = be32(b, first_ptr).ok_or_else(short)?;
    if data_end > b.len() {
        return Err(short());
    }
    Ok((kind, (key_start..key_end, data_start..data_end, next)))
}

/// Every live (key, value) of a skiplist file's bytes; an error is (offset, what).
pub fn parse(b: &[u8]) -> Result<Records, (u64, String)> {
    if !is_skiplist(b) {
        return Err((0, "not a skiplist file (bad magic)".into()));
    }
    let version = be32(b, 20).ok_or((20, "short header".to_string()))?;
    if version != 1 {
        return Err((20, format!("skiplist version {version}, only 1 is known")));
    }
    let (kind, (_, _, mut next)) = record_at(b, HEADER)?;
    if kind != DUMMY {
        return Err((HEADER as u64, "first record is not the dummy".into()));
    }
    let mut out: Records = Vec::new();
    // Each record takes at least 16 octets: more steps than that means a loop.
    let mut steps = b.len() / 16 + 1;
    while next != 0 {
        let at = next as usize;
        if steps == 0 {
            return Err((at as u64, "the record chain loops".into()));
        }
        steps -= 1;
        if at <= HEADER {
            return Err((at as u64, "pointer into the header".into()));
        }
        let (kind, (key, value, following)) = record_at(b, at)?;
        if kind != INORDER && kind != ADD {
            return Err((at as u64, format!("record type {kind} in the chain")));
        }
        let key = b[key].to_vec();
        if out.last().is_some_and(|(k, _)| *k >= key) {
            return Err((at as u64, "keys out of order".into()));
        }
        out.push((key, b[value].to_vec()));
        next = following;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAILBOXES: &[u8] = include_bytes!("../../tests/fixtures/cyrus36/mailboxes.skiplist");
    const SEEN: &[u8] = include_bytes!("../../tests/fixtures/cyrus36/bob.seen.skiplist");
    const MAILBOXES_TWOSKIP: &[u8] = include_bytes!("../../tests/fixtures/cyrus36/mailboxes.db");

    #[test]
    fn skiplist_written_by_cvt_cyrusdb_holds_what_the_twoskip_held() {
        let skip = parse(MAILBOXES).unwrap();
        let two = super::super::twoskip::parse(MAILBOXES_TWOSKIP).unwrap();
        assert_eq!(skip, two);
        let seen = parse(SEEN).unwrap();
        assert_eq!(seen.len(), 1);
        assert!(seen[0].1.ends_with(b" 1,3"));
    }

    #[test]
    fn malformed_skiplists_are_errors() {
        for cut in 0..MAILBOXES.len() {
            let _ = parse(&MAILBOXES[..cut]);
        }
        assert!(parse(&MAILBOXES[..MAILBOXES.len() / 2]).is_err());
        let mut looped = SEEN.to_vec();
        // The dummy's level-0 pointer (at 48 + 12) aimed back at the dummy itself.
        looped[60..64].copy_from_slice(&48u32.to_be_bytes());
        assert!(parse(&looped).is_err());
    }
}
