//! Binary encodings of the hot index values: the per-message record and UID sets.
//! Layouts are documented in `docs/on-disk-format.md`; change them only with a version bump.

use crate::error::{Result, StoreError};
use crate::model::InternalDate;

/// Version byte that starts every encoded [`IndexRecord`].
pub const RECORD_VERSION: u8 = 1;

pub const FLAG_SEEN: u8 = 1;
pub const FLAG_ANSWERED: u8 = 2;
pub const FLAG_FLAGGED: u8 = 4;
pub const FLAG_DELETED: u8 = 8;
pub const FLAG_DRAFT: u8 = 16;

/// One message's index record, without the cache (kept in its own table so that flag scans do
/// not page in ENVELOPEs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexRecord {
    pub system_flags: u8,
    /// Indices into the mailbox's keyword table, ascending.
    pub keywords: Vec<u16>,
    pub internal_date: InternalDate,
    pub save_date: i64,
    pub size: u64,
    pub modseq: u64,
    pub guid: [u8; 32],
}

const FIXED_LEN: usize = 1 + 1 + 8 + 2 + 8 + 8 + 8 + 32 + 2;

/// Where the MODSEQ sits in an encoded record (after version, flags, internal date and zone,
/// save date and size).
const MODSEQ_AT: usize = 1 + 1 + 8 + 2 + 8 + 8;

impl IndexRecord {
    /// The system flags and MODSEQ of an encoded record, read in place: what a scan of a
    /// whole mailbox needs (SELECT), without decoding the rest or allocating.
    pub fn peek(b: &[u8]) -> Result<(u8, u64)> {
        if b.len() < FIXED_LEN || b[0] != RECORD_VERSION {
            // The full decode names what is wrong.
            return IndexRecord::decode(b).map(|r| (r.system_flags, r.modseq));
        }
        let mut modseq = [0u8; 8];
        modseq.copy_from_slice(&b[MODSEQ_AT..MODSEQ_AT + 8]);
        Ok((b[1], u64::from_le_bytes(modseq)))
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(FIXED_LEN + 2 * self.keywords.len());
        v.push(RECORD_VERSION);
        v.push(self.system_flags);
        v.extend_from_slice(&self.internal_date.unix_seconds.to_le_bytes());
        v.extend_from_slice(&self.internal_date.offset_minutes.to_le_bytes());
        v.extend_from_slice(&self.save_date.to_le_bytes());
        v.extend_from_slice(&self.size.to_le_bytes());
        v.extend_from_slice(&self.modseq.to_le_bytes());
        v.extend_from_slice(&self.guid);
        // Keyword tables are capped well below u16::MAX entries (see index::MAX_KEYWORDS).
        v.extend_from_slice(&(self.keywords.len() as u16).to_le_bytes());
        for k in &self.keywords {
            v.extend_from_slice(&k.to_le_bytes());
        }
        v
    }

    pub fn decode(b: &[u8]) -> Result<IndexRecord> {
        let bad = |d: &str| StoreError::corrupt("index record", d.to_string());
        if b.len() < FIXED_LEN {
            return Err(bad("truncated"));
        }
        if b[0] != RECORD_VERSION {
            return Err(bad(&format!("unknown record version {}", b[0])));
        }
        let mut r = Reader { b, pos: 2 };
        let unix_seconds = i64::from_le_bytes(r.take()?);
        let offset_minutes = i16::from_le_bytes(r.take()?);
        let save_date = i64::from_le_bytes(r.take()?);
        let size = u64::from_le_bytes(r.take()?);
        let modseq = u64::from_le_bytes(r.take()?);
        let guid: [u8; 32] = r.take()?;
        let n = u16::from_le_bytes(r.take()?);
        let mut keywords = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            keywords.push(u16::from_le_bytes(r.take()?));
        }
        Ok(IndexRecord {
            system_flags: b[1],
            keywords,
            internal_date: InternalDate {
                unix_seconds,
                offset_minutes,
            },
            save_date,
            size,
            modseq,
            guid,
        })
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        let end = self.pos + N;
        let slice = self
            .b
            .get(self.pos..end)
            .ok_or_else(|| StoreError::corrupt("index record", "truncated"))?;
        self.pos = end;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }
}

/// A set of UIDs as sorted, disjoint, non-adjacent inclusive ranges (the seen database's value).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UidSet {
    ranges: Vec<(u32, u32)>,
}

impl UidSet {
    pub fn contains(&self, uid: u32) -> bool {
        let i = self.ranges.partition_point(|&(_, hi)| hi < uid);
        self.ranges.get(i).is_some_and(|&(lo, _)| lo <= uid)
    }

    pub fn insert(&mut self, uid: u32) {
        if self.contains(uid) {
            return;
        }
        let i = self.ranges.partition_point(|&(_, hi)| hi < uid);
        self.ranges.insert(i, (uid, uid));
        self.coalesce();
    }

    pub fn remove(&mut self, uid: u32) {
        let i = self.ranges.partition_point(|&(_, hi)| hi < uid);
        let Some(&(lo, hi)) = self.ranges.get(i) else {
            return;
        };
        if uid < lo {
            return;
        }
        self.ranges.remove(i);
        if uid < hi {
            self.ranges.insert(i, (uid + 1, hi));
        }
        if lo < uid {
            self.ranges.insert(i, (lo, uid - 1));
        }
    }

    fn coalesce(&mut self) {
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(self.ranges.len());
        for &(lo, hi) in &self.ranges {
            match out.last_mut() {
                Some(last) if u64::from(last.1) + 1 >= u64::from(lo) => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        self.ranges = out;
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(1 + self.ranges.len() * 8);
        v.push(1);
        for (lo, hi) in &self.ranges {
            v.extend_from_slice(&lo.to_le_bytes());
            v.extend_from_slice(&hi.to_le_bytes());
        }
        v
    }

    pub fn decode(b: &[u8]) -> Result<UidSet> {
        let bad = |d: &str| StoreError::corrupt("seen set", d.to_string());
        match b.first() {
            Some(1) => {}
            _ => return Err(bad("unknown version")),
        }
        let chunks = b[1..].chunks_exact(8);
        if !chunks.remainder().is_empty() {
            return Err(bad("truncated"));
        }
        let mut set = UidSet::default();
        for c in chunks {
            let lo = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let hi = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
            if lo > hi {
                return Err(bad("inverted range"));
            }
            set.ranges.push((lo, hi));
        }
        set.ranges.sort_unstable();
        set.coalesce();
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips() {
        let r = IndexRecord {
            system_flags: FLAG_SEEN | FLAG_DRAFT,
            keywords: vec![0, 3],
            internal_date: InternalDate {
                unix_seconds: 1_700_000_000,
                offset_minutes: -300,
            },
            save_date: 42,
            size: 1234,
            modseq: 99,
            guid: [7; 32],
        };
        assert_eq!(IndexRecord::decode(&r.encode()).unwrap(), r);
    }

    #[test]
    fn record_with_unknown_version_is_corrupt() {
        let mut b = vec![9u8];
        b.resize(FIXED_LEN, 0);
        assert!(IndexRecord::decode(&b).is_err());
    }

    #[test]
    fn uid_set_inserts_merge_and_removes_split() {
        let mut s = UidSet::default();
        for u in [1, 2, 3, 5, 4, 10] {
            s.insert(u);
        }
        assert_eq!(s.ranges, vec![(1, 5), (10, 10)]);
        s.remove(3);
        assert_eq!(s.ranges, vec![(1, 2), (4, 5), (10, 10)]);
        assert!(s.contains(4) && !s.contains(3) && s.contains(10));
        assert_eq!(UidSet::decode(&s.encode()).unwrap(), s);
    }
}
