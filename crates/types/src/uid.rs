//! Message and mailbox identifiers (RFC 9051 §2.3.1.1, RFC 7162 §3.1.1).

use std::fmt;
use std::num::{NonZeroU32, NonZeroU64};

use serde::{Deserialize, Serialize};

/// A message's unique identifier within one mailbox: a non-zero 32-bit number (RFC 9051 §2.3.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Uid(NonZeroU32);

impl Uid {
    /// The first UID a mailbox hands out.
    pub const MIN: Uid = Uid(NonZeroU32::MIN);
    /// The largest UID there can be.
    pub const MAX: Uid = Uid(NonZeroU32::MAX);

    /// `None` for zero, which is never a UID.
    pub fn new(value: u32) -> Option<Uid> {
        NonZeroU32::new(value).map(Uid)
    }

    pub fn get(self) -> u32 {
        self.0.get()
    }

    /// The next UID, or `None` when the UID space is exhausted (the mailbox then needs a new
    /// UIDVALIDITY).
    pub fn next(self) -> Option<Uid> {
        self.0.checked_add(1).map(Uid)
    }
}

/// UIDs as an IMAP sequence set (RFC 9051 §9 `sequence-set`), in ascending order with runs
/// written as ranges: `1:3,5`; duplicates count once, an empty list is `""`.
pub fn uid_set(uids: &[Uid]) -> String {
    let mut sorted: Vec<u32> = uids.iter().map(|u| u.get()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        while i + 1 < sorted.len() && sorted[i + 1] == sorted[i] + 1 {
            i += 1;
        }
        let end = sorted[i];
        if !out.is_empty() {
            out.push(',');
        }
        match start == end {
            true => out.push_str(&start.to_string()),
            false => out.push_str(&format!("{start}:{end}")),
        }
        i += 1;
    }
    out
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A mailbox's UIDVALIDITY: non-zero (RFC 9051 §2.3.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UidValidity(NonZeroU32);

impl UidValidity {
    pub fn new(value: u32) -> Option<UidValidity> {
        NonZeroU32::new(value).map(UidValidity)
    }

    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for UidValidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A modification sequence: a positive 63-bit number that never falls (RFC 7162 §3.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ModSeq(NonZeroU64);

impl ModSeq {
    pub const MIN: ModSeq = ModSeq(NonZeroU64::MIN);
    /// RFC 7162 §7: mod-sequence-value is at most 2^63 - 1.
    pub const MAX_VALUE: u64 = (1 << 63) - 1;

    pub fn new(value: u64) -> Option<ModSeq> {
        if value > Self::MAX_VALUE {
            return None;
        }
        NonZeroU64::new(value).map(ModSeq)
    }

    pub fn get(self) -> u64 {
        self.0.get()
    }

    /// The next value; `None` only at the 63-bit ceiling.
    pub fn next(self) -> Option<ModSeq> {
        ModSeq::new(self.0.get() + 1)
    }
}

impl fmt::Display for ModSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_never_a_uid() {
        assert_eq!(Uid::new(0), None);
        assert_eq!(Uid::new(7).map(Uid::get), Some(7));
    }

    #[test]
    fn uid_space_ends_at_u32_max() {
        assert_eq!(Uid::MAX.next(), None);
        assert_eq!(Uid::MIN.next(), Uid::new(2));
    }

    #[test]
    fn modseq_is_capped_at_63_bits() {
        assert!(ModSeq::new(ModSeq::MAX_VALUE).is_some());
        assert!(ModSeq::new(ModSeq::MAX_VALUE + 1).is_none());
        assert_eq!(ModSeq::new(ModSeq::MAX_VALUE).and_then(ModSeq::next), None);
    }
}

#[cfg(test)]
mod uid_set_tests {
    use super::{uid_set, Uid};

    fn uids(list: &[u32]) -> Vec<Uid> {
        list.iter().filter_map(|&n| Uid::new(n)).collect()
    }

    #[test]
    fn runs_become_ranges_in_order_and_duplicates_count_once() {
        assert_eq!(uid_set(&uids(&[])), "");
        assert_eq!(uid_set(&uids(&[7])), "7");
        assert_eq!(uid_set(&uids(&[5, 1, 2, 3, 3, 9, 10])), "1:3,5,9:10");
        assert_eq!(
            uid_set(&uids(&[u32::MAX, u32::MAX - 1])),
            format!("{}:{}", u32::MAX - 1, u32::MAX)
        );
    }
}
