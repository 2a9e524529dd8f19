//! The messages that are `\Recent` in this session (RFC 3501 §2.3.2): those whose arrival this
//! session was the first to be told about. Which ones those are is decided by the store's
//! recent mark (Cyrus's `recentuid`, see `mailstore::Store::claim_recent`); the session keeps
//! the UID ranges it was given, one per claim, each above the ones before.
//!
//! Memory: at most [`MAX_RANGES`] ranges (8 bytes each). Ranges are merged when they touch, so
//! there is one per claim only when other sessions took messages in between; past the bound the
//! oldest range is forgotten (those messages stop being `\Recent` here, which RFC 3501 allows:
//! the flag is a hint, and a session may lose it).

use types::Uid;

/// Most UID ranges one session keeps.
pub(crate) const MAX_RANGES: usize = 1024;

#[derive(Default, Debug)]
pub(crate) struct Recent {
    /// Sorted, disjoint, not touching; inclusive.
    ranges: Vec<(u32, u32)>,
}

impl Recent {
    /// Marks UIDs `lo..=hi` recent (nothing when `lo > hi`).
    pub fn add(&mut self, lo: u32, hi: u32) {
        if lo > hi {
            return;
        }
        match self.ranges.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) && lo >= last.0 => {
                last.1 = last.1.max(hi);
            }
            Some(last) if lo > last.1 => self.ranges.push((lo, hi)),
            None => self.ranges.push((lo, hi)),
            Some(_) => self.insert_unordered(lo, hi),
        }
        if self.ranges.len() > MAX_RANGES {
            self.ranges.remove(0);
        }
    }

    /// Claims come in ascending order; anything else is merged in the slow way.
    fn insert_unordered(&mut self, lo: u32, hi: u32) {
        self.ranges.push((lo, hi));
        self.ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.ranges.len());
        for &(a, b) in &self.ranges {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.ranges = merged;
    }

    pub fn contains(&self, uid: Uid) -> bool {
        let uid = uid.get();
        let i = self.ranges.partition_point(|&(_, hi)| hi < uid);
        self.ranges.get(i).is_some_and(|&(lo, _)| lo <= uid)
    }

    /// How many of `uids` (ascending: the view's messages) are recent.
    pub fn count(&self, uids: &[Uid]) -> u32 {
        let n: usize = self
            .ranges
            .iter()
            .map(|&(lo, hi)| {
                let start = uids.partition_point(|u| u.get() < lo);
                let end = uids.partition_point(|u| u.get() <= hi);
                end.saturating_sub(start)
            })
            .sum();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The recent UIDs as sorted inclusive ranges (SEARCH RECENT).
    pub fn ranges(&self) -> &[(u32, u32)] {
        &self.ranges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(n: u32) -> Uid {
        Uid::new(n).unwrap()
    }

    #[test]
    fn claims_merge_when_they_touch_and_count_only_present_messages() {
        let mut r = Recent::default();
        r.add(5, 7);
        r.add(8, 9);
        r.add(12, 12);
        r.add(3, 2);
        assert_eq!(r.ranges(), [(5, 9), (12, 12)]);
        assert!(r.contains(uid(5)) && r.contains(uid(9)) && r.contains(uid(12)));
        assert!(!r.contains(uid(4)) && !r.contains(uid(10)) && !r.contains(uid(13)));
        let view: Vec<Uid> = [1, 5, 6, 9, 11, 12].into_iter().map(uid).collect();
        assert_eq!(r.count(&view), 4, "7 and 8 were expunged");
        r.add(1, 2);
        assert_eq!(r.ranges(), [(1, 2), (5, 9), (12, 12)]);
    }

    #[test]
    fn a_session_keeps_a_bounded_number_of_ranges() {
        let mut r = Recent::default();
        for n in 0..(MAX_RANGES as u32 + 10) {
            r.add(n * 2 + 1, n * 2 + 1);
        }
        assert_eq!(r.ranges().len(), MAX_RANGES);
        assert!(!r.contains(uid(1)), "the oldest went first");
        assert!(r.contains(uid((MAX_RANGES as u32 + 9) * 2 + 1)));
    }
}
