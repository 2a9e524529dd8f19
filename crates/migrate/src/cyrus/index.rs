//! A mailbox's `cyrus.index` (`imap/mailbox.h`, `imap/mailbox.c`): a header, then one
//! fixed-size record per message, all integers big-endian.
//!
//! Minor versions read: 12 (Cyrus 2.4), 13 (3.0), 14–16 (3.1–3.2), 17 (3.4–3.8) and 19
//! (3.10–3.12), and 6–10 as a Cyrus XFER writes them for a target it does not know. The header gives its own length and the record length, so records are found
//! however long a version made them; the fields we need sit at the same offsets in all of
//! these, except HIGHESTMODSEQ, which version 19 moved from 68 to 72.
//!
//! | field | header offset | | field | record offset |
//! |---|---|---|---|---|
//! | minor version | 8 | | UID | 0 |
//! | start offset (header length) | 12 | | INTERNALDATE (seconds) | 4 |
//! | record size | 16 | | SIZE | 12 |
//! | number of records | 20 | | system flags (low 16 bits), internal flags | 32 |
//! | last UID | 28 | | user flags: four 32-bit words, bit n = flag n | 36 |
//! | UIDVALIDITY | 44 | | SAVEDATE (version 15 on) | 52 |
//! | HIGHESTMODSEQ (64-bit) | 68, or 72 from 19 | | MODSEQ (64-bit) | 80 |

use std::path::Path;

use types::Flag;

use super::{read_bounded, CyrusError};

/// The header and record sizes of the oldest version an XFER downgrades to (6).
const DOWNGRADED_HEADER: usize = 76;
const DOWNGRADED_RECORD: usize = 52;

/// Largest index file we load (over 9 million records of 3.6's 112 octets).
pub const MAX_FILE: u64 = 1 << 30;
/// `\Answered` in the system flags.
pub const FLAG_ANSWERED: u32 = 1 << 0;
/// `\Flagged`.
pub const FLAG_FLAGGED: u32 = 1 << 1;
/// `\Deleted`.
pub const FLAG_DELETED: u32 = 1 << 2;
/// `\Draft`.
pub const FLAG_DRAFT: u32 = 1 << 3;
/// `\Seen` (the owner's; others' are in their seen databases).
pub const FLAG_SEEN: u32 = 1 << 4;
/// The message lives on the archive partition.
pub const FLAG_ARCHIVED: u32 = 1 << 29;
/// The message file has been removed.
pub const FLAG_UNLINKED: u32 = 1 << 30;
/// Expunged (kept by delayed expunge until `cyr_expire`).
pub const FLAG_EXPUNGED: u32 = 1 << 31;

/// The index header fields an import keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexHeader {
    /// The format's minor version (12 for Cyrus 2.4, 17 for 3.4–3.8…).
    pub minor_version: u32,
    /// Records in the file, expunged ones included.
    pub num_records: u32,
    /// The highest UID given: UIDNEXT is one more.
    pub last_uid: u32,
    pub uidvalidity: u32,
    /// RFC 7162 HIGHESTMODSEQ.
    pub highestmodseq: u64,
}

/// One message record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexRecord {
    /// The message's UID; its file is `UID.` in the mailbox directory.
    pub uid: u32,
    /// Seconds since the epoch, UTC.
    pub internaldate: u32,
    /// RFC822.SIZE.
    pub size: u32,
    /// System flags in the low 16 bits, Cyrus's internal flags (expunged…) above.
    pub system_flags: u32,
    /// Bit n of word n/32 is user flag n of `cyrus.header`.
    pub user_flags: [u32; 4],
    /// The message's MODSEQ (RFC 7162).
    pub modseq: u64,
    /// Zero when the version has none.
    pub savedate: u32,
}

impl IndexRecord {
    /// Whether the message is gone (expunged, or its file unlinked).
    pub fn is_expunged(&self) -> bool {
        self.system_flags & (FLAG_EXPUNGED | FLAG_UNLINKED) != 0
    }

    /// Its system flags and the keywords its user-flag bits name in `head`'s list.
    pub fn flags(&self, head: &super::header::Header) -> Vec<Flag> {
        let mut flags = Vec::new();
        for (bit, flag) in [
            (FLAG_SEEN, Flag::Seen),
            (FLAG_ANSWERED, Flag::Answered),
            (FLAG_FLAGGED, Flag::Flagged),
            (FLAG_DELETED, Flag::Deleted),
            (FLAG_DRAFT, Flag::Draft),
        ] {
            if self.system_flags & bit != 0 {
                flags.push(flag);
            }
        }
        for bit in self.user_flag_bits() {
            let Some(Some(name)) = head.flags.get(bit) else {
                continue;
            };
            if let Ok(f @ Flag::Keyword(_)) = Flag::parse(name) {
                flags.push(f);
            }
        }
        flags
    }

    /// The user flag numbers set, ascending.
    pub fn user_flag_bits(&self) -> impl Iterator<Item = usize> + '_ {
        (0..128).filter(|&n| self.user_flags[n / 32] & (1 << (n % 32)) != 0)
    }
}

/// A whole `cyrus.index`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Index {
    /// The header fields kept.
    pub header: IndexHeader,
    /// Every record in UID order, expunged ones included.
    pub records: Vec<IndexRecord>,
}

/// Reads the `cyrus.index` at `path`.
pub fn read_file(path: &Path) -> Result<Index, CyrusError> {
    let bytes = read_bounded(path, MAX_FILE)?;
    parse(&bytes).map_err(|(offset, what)| CyrusError::format(path, offset as u64, what))
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_be_bytes)
}

fn be64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

/// Parses a `cyrus.index`'s bytes; an error is (offset, what).
pub fn parse(b: &[u8]) -> Result<Index, (usize, String)> {
    if b.len() < DOWNGRADED_HEADER {
        return Err((b.len(), "index shorter than its header".into()));
    }
    let version = be32(b, 8);
    // Versions 6 to 10 come only from an XFER's downgrade (`imap/mbdump.c`): today's layout
    // cut to the old sizes, so no MODSEQ, and the records end after the user flags.
    let (modseq_at, min_start, min_size) = match version {
        6..=10 => (None, DOWNGRADED_HEADER, DOWNGRADED_RECORD),
        12..=17 => (Some(68), 96, 88),
        19 => (Some(72), 96, 88),
        v => {
            return Err((
                8,
                format!("cyrus.index minor version {v} is not one we read"),
            ))
        }
    };
    let start = be32(b, 12) as usize;
    let size = be32(b, 16) as usize;
    let count = be32(b, 20) as usize;
    // A record must hold every field we read.
    if !(min_size..=4096).contains(&size) {
        return Err((16, format!("record size {size} is not plausible")));
    }
    if !(min_start..=4096).contains(&start) {
        return Err((12, format!("header length {start} is not plausible")));
    }
    let need = count
        .checked_mul(size)
        .and_then(|n| n.checked_add(start))
        .ok_or((20, "record count overflows".to_string()))?;
    if need > b.len() {
        return Err((
            b.len(),
            format!("{count} records of {size} octets need {need} octets, the file has fewer"),
        ));
    }
    let header = IndexHeader {
        minor_version: version,
        num_records: be32(b, 20),
        last_uid: be32(b, 28),
        uidvalidity: be32(b, 44),
        highestmodseq: modseq_at.map_or(0, |at| be64(b, at)),
    };
    let mut records = Vec::with_capacity(count);
    let mut last = 0u32;
    for i in 0..count {
        let at = start + i * size;
        let r = &b[at..at + size];
        let record = IndexRecord {
            uid: be32(r, 0),
            internaldate: be32(r, 4),
            size: be32(r, 12),
            system_flags: be32(r, 32),
            user_flags: [be32(r, 36), be32(r, 40), be32(r, 44), be32(r, 48)],
            modseq: if modseq_at.is_some() { be64(r, 80) } else { 0 },
            savedate: if version >= 15 { be32(r, 52) } else { 0 },
        };
        if record.uid <= last {
            return Err((
                at,
                format!("UID {} does not ascend after {last}", record.uid),
            ));
        }
        last = record.uid;
        records.push(record);
    }
    Ok(Index { header, records })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &[u8] = include_bytes!("../../tests/fixtures/cyrus36/alice.cyrus.index");

    #[test]
    fn cyrus_3_6_index_keeps_uids_flags_and_dates() {
        let index = parse(ALICE).unwrap();
        assert_eq!(index.header.minor_version, 17);
        assert_eq!(index.header.uidvalidity, 1796612040);
        assert_eq!(index.header.last_uid, 6);
        let uids: Vec<u32> = index
            .records
            .iter()
            .filter(|r| !r.is_expunged())
            .map(|r| r.uid)
            .collect();
        assert_eq!(uids, [1, 2, 4, 5, 6]);
        let flagged = index.records.iter().find(|r| r.uid == 2).unwrap();
        assert_eq!(flagged.system_flags & 0xffff, FLAG_ANSWERED | FLAG_FLAGGED);
        assert_eq!(flagged.user_flag_bits().collect::<Vec<_>>(), [0]);
        // 15-Mar-2021 08:30:05 +0200
        assert_eq!(flagged.internaldate, 1615789805);
        let keyword = index.records.iter().find(|r| r.uid == 4).unwrap();
        assert_eq!(keyword.user_flag_bits().collect::<Vec<_>>(), [1, 2]);
        assert!(index.records.iter().all(|r| r.modseq > 0));
        assert!(
            index.header.highestmodseq >= index.records.iter().map(|r| r.modseq).max().unwrap()
        );
    }

    #[test]
    fn cyrus_2_4_record_layout_is_read() {
        let mut b = vec![0u8; 128 + 96];
        b[8..12].copy_from_slice(&12u32.to_be_bytes());
        b[12..16].copy_from_slice(&128u32.to_be_bytes());
        b[16..20].copy_from_slice(&96u32.to_be_bytes());
        b[20..24].copy_from_slice(&1u32.to_be_bytes());
        b[28..32].copy_from_slice(&9u32.to_be_bytes());
        b[44..48].copy_from_slice(&1234u32.to_be_bytes());
        b[68..76].copy_from_slice(&77u64.to_be_bytes());
        let r = 128;
        b[r..r + 4].copy_from_slice(&7u32.to_be_bytes());
        b[r + 4..r + 8].copy_from_slice(&1_000_000_000u32.to_be_bytes());
        b[r + 32..r + 36].copy_from_slice(&FLAG_SEEN.to_be_bytes());
        b[r + 40..r + 44].copy_from_slice(&1u32.to_be_bytes());
        b[r + 52..r + 56].copy_from_slice(&55u32.to_be_bytes());
        b[r + 80..r + 88].copy_from_slice(&70u64.to_be_bytes());
        let index = parse(&b).unwrap();
        assert_eq!(index.header.highestmodseq, 77);
        assert_eq!(index.header.last_uid, 9);
        let rec = index.records[0];
        assert_eq!(
            (rec.uid, rec.internaldate, rec.modseq),
            (7, 1_000_000_000, 70)
        );
        assert_eq!(rec.user_flag_bits().collect::<Vec<_>>(), [32]);
        // Version 12's offset 52 is the content line count, not a save date.
        assert_eq!(rec.savedate, 0);
    }

    #[test]
    fn malformed_indexes_are_errors() {
        for cut in 0..ALICE.len() {
            let _ = parse(&ALICE[..cut]);
        }
        assert!(parse(&ALICE[..ALICE.len() - 1]).is_err());
        let mut b = ALICE.to_vec();
        b[8..12].copy_from_slice(&99u32.to_be_bytes());
        assert!(parse(&b).is_err());
        let mut b = ALICE.to_vec();
        b[20..24].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse(&b).is_err());
    }

    #[test]
    fn an_index_downgraded_to_version_6_by_xfer_is_read() {
        let mut b = vec![0u8; 76];
        let put = |b: &mut [u8], at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_be_bytes());
        put(&mut b, 8, 6);
        put(&mut b, 12, 76);
        put(&mut b, 16, 60);
        put(&mut b, 20, 2);
        put(&mut b, 28, 9);
        put(&mut b, 44, 1234);
        for (uid, flags) in [(3u32, FLAG_FLAGGED), (9, FLAG_DRAFT)] {
            let mut r = vec![0u8; 60];
            put(&mut r, 0, uid);
            put(&mut r, 4, 1_600_000_000);
            put(&mut r, 12, 321);
            put(&mut r, 32, flags);
            put(&mut r, 36, 0b10);
            b.extend_from_slice(&r);
        }
        let ix = parse(&b).unwrap();
        assert_eq!(ix.header.minor_version, 6);
        assert_eq!((ix.header.last_uid, ix.header.uidvalidity), (9, 1234));
        assert_eq!(ix.header.highestmodseq, 0);
        let uids: Vec<u32> = ix.records.iter().map(|r| r.uid).collect();
        assert_eq!(uids, [3, 9]);
        assert_eq!(ix.records[0].system_flags, FLAG_FLAGGED);
        assert_eq!(ix.records[0].user_flag_bits().collect::<Vec<_>>(), [1]);
        assert_eq!((ix.records[1].size, ix.records[1].modseq), (321, 0));
        // Too short for a version 6 record, or a version between the ones written.
        put(&mut b, 16, 40);
        assert!(parse(&b).is_err());
        put(&mut b, 16, 60);
        put(&mut b, 8, 11);
        assert!(parse(&b).is_err());
    }
}
