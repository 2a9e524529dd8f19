//! Cyrus's key/value databases as a list of (key, value), whatever backend wrote them: twoskip
//! ([`super::twoskip`]), skiplist ([`super::skiplist`]) or flat text (`lib/cyrusdb_flat.c`: one
//! `key<TAB>value` line per record, with NUL, TAB, CR, LF written as 0xFF then the octet with
//! its high bit set, and 0xFF as two). Other Cyrus formats (berkeley, sql) are refused.

use std::path::Path;

use super::{read_bounded, skiplist, twoskip, CyrusError, Records};

/// Largest flat database we load.
const MAX_FLAT: u64 = 1 << 30;

/// Every record of the database at `path`, in file order.
pub fn read_file(path: &Path) -> Result<Records, CyrusError> {
    let bytes = read_bounded(path, twoskip::MAX_FILE.max(MAX_FLAT))?;
    parse(path, &bytes)
}

/// Every record of a database file's `bytes` (read from `path`, which errors name).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Records, CyrusError> {
    if twoskip::is_twoskip(bytes) {
        return twoskip::parse(bytes).map_err(|(at, what)| CyrusError::format(path, at, what));
    }
    if skiplist::is_skiplist(bytes) {
        return skiplist::parse(bytes).map_err(|(at, what)| CyrusError::format(path, at, what));
    }
    if bytes.starts_with(b"\xa1\x02\x8b\x0d") {
        return Err(CyrusError::format(
            path,
            0,
            "an unknown Cyrus database format".into(),
        ));
    }
    Ok(parse_flat(bytes))
}

/// A flat database's records (lines without a TAB are skipped, as Cyrus does).
pub fn parse_flat(b: &[u8]) -> Records {
    b.split(|&c| c == b'\n')
        .filter_map(|line| {
            let tab = line.iter().position(|&c| c == b'\t')?;
            Some((unescape(&line[..tab]), unescape(&line[tab + 1..])))
        })
        .collect()
}

fn unescape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut it = b.iter();
    while let Some(&c) = it.next() {
        if c == 0xff {
            match it.next() {
                Some(0xff) => out.push(0xff),
                Some(&n) => out.push(n & 0x7f),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_subscriptions_of_cyrus_3_6() {
        let b = include_bytes!("../../tests/fixtures/cyrus36/alice.sub.db");
        let keys: Vec<Vec<u8>> = parse_flat(b).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                &b"\x1fVER\x1f"[..],
                b"NINBOX\x1fSent",
                b"NINBOX\x1fWork\x1f2024",
                b"Nshared\x1fboard"
            ]
        );
    }

    #[test]
    fn flat_escapes_are_undone() {
        let recs = parse_flat(b"a\xff\x89b\tv\xff\xff\xff\x8a\n");
        assert_eq!(recs, [(b"a\tb".to_vec(), b"v\xff\n".to_vec())]);
    }
}
