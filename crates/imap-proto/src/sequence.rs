//! Sequence sets (RFC 9051 §9 `sequence-set`, RFC 5182 `$`): message numbers or UIDs, `*` for
//! the largest one in use, ranges in either order.

use std::fmt;
use std::num::NonZeroU32;

/// One end of a range: a number or `*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeqNumber {
    Value(NonZeroU32),
    /// `*`: the largest number in use (RFC 9051 §9 `seq-number`).
    Largest,
}

impl SeqNumber {
    /// The number this stands for when the largest one in use is `largest`.
    pub fn resolve(self, largest: u32) -> u32 {
        match self {
            SeqNumber::Value(v) => v.get(),
            SeqNumber::Largest => largest,
        }
    }
}

/// `seq-number / seq-range`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SequenceItem {
    Single(SeqNumber),
    /// `a:b`, kept as written; `4:2` means `2:4`.
    Range(SeqNumber, SeqNumber),
}

/// `sequence-set` or `$` (the saved SEARCHRES result, RFC 5182).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// `$`.
    Saved,
    /// Never empty.
    Items(Vec<SequenceItem>),
}

impl SequenceSet {
    /// A set from explicit numbers, compressed into ascending ranges; `None` when there is no
    /// non-zero number. Used for COPYUID, APPENDUID, VANISHED and ESEARCH ALL.
    pub fn from_numbers(numbers: impl IntoIterator<Item = u32>) -> Option<SequenceSet> {
        let mut sorted: Vec<u32> = numbers.into_iter().filter(|&n| n != 0).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut items = Vec::new();
        let mut iter = sorted.into_iter().filter_map(NonZeroU32::new).peekable();
        while let Some(start) = iter.next() {
            let mut end = start;
            while let Some(&next) = iter.peek() {
                if end.get().checked_add(1) != Some(next.get()) {
                    break;
                }
                end = next;
                iter.next();
            }
            items.push(if start == end {
                SequenceItem::Single(SeqNumber::Value(start))
            } else {
                SequenceItem::Range(SeqNumber::Value(start), SeqNumber::Value(end))
            });
        }
        (!items.is_empty()).then_some(SequenceSet::Items(items))
    }

    /// A set from ascending, disjoint inclusive ranges (zero is skipped); `None` when empty.
    /// Used for VANISHED, whose UIDs come as ranges and may be too many to list one by one.
    pub fn from_ranges(ranges: &[(u32, u32)]) -> Option<SequenceSet> {
        let items: Vec<SequenceItem> = ranges
            .iter()
            .filter_map(|&(lo, hi)| {
                let lo = NonZeroU32::new(lo.max(1))?;
                let hi = NonZeroU32::new(hi).filter(|hi| *hi >= lo)?;
                Some(if lo == hi {
                    SequenceItem::Single(SeqNumber::Value(lo))
                } else {
                    SequenceItem::Range(SeqNumber::Value(lo), SeqNumber::Value(hi))
                })
            })
            .collect();
        (!items.is_empty()).then_some(SequenceSet::Items(items))
    }

    /// The set as inclusive `(low, high)` ranges for a mailbox whose largest number is
    /// `largest`; `None` for `$`, which the session resolves itself.
    pub fn ranges(&self, largest: u32) -> Option<Vec<(u32, u32)>> {
        match self {
            SequenceSet::Saved => None,
            SequenceSet::Items(items) => Some(
                items
                    .iter()
                    .map(|item| match item {
                        SequenceItem::Single(n) => (n.resolve(largest), n.resolve(largest)),
                        SequenceItem::Range(a, b) => {
                            let (a, b) = (a.resolve(largest), b.resolve(largest));
                            (a.min(b), a.max(b))
                        }
                    })
                    .collect(),
            ),
        }
    }

    /// The set as sorted, merged ranges for a mailbox whose largest number is `largest`;
    /// `None` for `$`. Every command that resolves a set goes through this, so the cost is
    /// O(items × log items) however the client repeats or overlaps ranges.
    pub fn normalize(&self, largest: u32) -> Option<NumberRanges> {
        self.ranges(largest).map(NumberRanges::from_ranges)
    }

    /// True when `n` is in the set (`false` for `$`).
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        match self {
            SequenceSet::Saved => false,
            SequenceSet::Items(items) => items.iter().any(|item| {
                let (a, b) = match item {
                    SequenceItem::Single(v) => (v.resolve(largest), v.resolve(largest)),
                    SequenceItem::Range(a, b) => (a.resolve(largest), b.resolve(largest)),
                };
                a.min(b) <= n && n <= a.max(b)
            }),
        }
    }
}

/// Numbers as sorted, disjoint, non-adjacent inclusive ranges: a sequence set resolved against
/// a mailbox (RFC 9051 §9: the order of a set's items and their overlap carry no meaning).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NumberRanges(Vec<(u32, u32)>);

impl NumberRanges {
    /// Sorts and merges `(low, high)` ranges (each with `low <= high`); overlapping and
    /// adjacent ranges become one.
    pub fn from_ranges(mut ranges: Vec<(u32, u32)>) -> NumberRanges {
        ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len().min(1024));
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        NumberRanges(merged)
    }

    /// The ranges, ascending.
    pub fn ranges(&self) -> &[(u32, u32)] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The lowest and the highest number.
    pub fn bounds(&self) -> Option<(u32, u32)> {
        Some((self.0.first()?.0, self.0.last()?.1))
    }

    /// How many numbers the ranges hold.
    pub fn count(&self) -> u64 {
        self.0.iter().map(|&(lo, hi)| u64::from(hi - lo) + 1).sum()
    }

    /// Binary search: O(log ranges).
    pub fn contains(&self, n: u32) -> bool {
        let i = self.0.partition_point(|&(_, hi)| hi < n);
        self.0.get(i).is_some_and(|&(lo, _)| lo <= n)
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqNumber::Value(v) => write!(f, "{v}"),
            SeqNumber::Largest => f.write_str("*"),
        }
    }
}

impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SequenceSet::Saved => f.write_str("$"),
            SequenceSet::Items(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    match item {
                        SequenceItem::Single(n) => write!(f, "{n}")?,
                        SequenceItem::Range(a, b) => write!(f, "{a}:{b}")?,
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn from_numbers_compresses_ranges() {
        let set = SequenceSet::from_numbers([5, 1, 2, 3, 9, 10, 0]).unwrap();
        assert_eq!(set.to_string(), "1:3,5,9:10");
        assert_eq!(SequenceSet::from_numbers([0]), None);
    }

    fn value(v: u32) -> SeqNumber {
        SeqNumber::Value(NonZeroU32::new(v).unwrap())
    }

    #[test]
    fn normalizing_sorts_merges_overlaps_and_neighbours() {
        let set = SequenceSet::Items(vec![
            SequenceItem::Range(value(9), value(7)),
            SequenceItem::Single(SeqNumber::Largest),
            SequenceItem::Range(value(1), value(3)),
            SequenceItem::Single(value(4)),
            SequenceItem::Range(value(2), value(2)),
            SequenceItem::Single(value(20)),
        ]);
        let ranges = set.normalize(12).unwrap();
        assert_eq!(ranges.ranges(), &[(1, 4), (7, 9), (12, 12), (20, 20)]);
        assert_eq!(ranges.count(), 9);
        assert_eq!(ranges.bounds(), Some((1, 20)));
        assert!(ranges.contains(8) && ranges.contains(12) && ranges.contains(1));
        assert!(!ranges.contains(5) && !ranges.contains(13) && !ranges.contains(0));
        assert_eq!(SequenceSet::Saved.normalize(5), None);
    }

    #[test]
    fn fifteen_thousand_copies_of_one_to_star_are_one_range() {
        let set = SequenceSet::Items(vec![
            SequenceItem::Range(value(1), SeqNumber::Largest);
            15_000
        ]);
        assert_eq!(set.normalize(4_000).unwrap().ranges(), &[(1, 4_000)]);
        let top = SequenceSet::Items(vec![
            SequenceItem::Range(
                value(u32::MAX - 1),
                value(u32::MAX)
            );
            2
        ]);
        assert_eq!(
            top.normalize(1).unwrap().ranges(),
            &[(u32::MAX - 1, u32::MAX)]
        );
    }

    #[test]
    fn reversed_ranges_and_star_resolve() {
        let n = |v| SeqNumber::Value(NonZeroU32::new(v).unwrap());
        let set = SequenceSet::Items(vec![SequenceItem::Range(SeqNumber::Largest, n(4))]);
        assert_eq!(set.ranges(10), Some(vec![(4, 10)]));
        assert!(set.contains(7, 10));
        assert!(!set.contains(3, 10));
        assert!(!SequenceSet::Saved.contains(1, 1));
    }

    fn item() -> impl Strategy<Value = SequenceItem> {
        let number = prop_oneof![(1u32..50).prop_map(value), Just(SeqNumber::Largest)];
        prop_oneof![
            number.clone().prop_map(SequenceItem::Single),
            (number.clone(), number).prop_map(|(a, b)| SequenceItem::Range(a, b)),
        ]
    }

    proptest! {
        /// Against the naive model (every item tested in turn): same members, and the ranges
        /// are sorted, disjoint and never adjacent.
        #[test]
        fn normalized_sets_hold_exactly_the_members_of_the_set(
            items in prop::collection::vec(item(), 1..40),
            largest in 0u32..60,
        ) {
            let set = SequenceSet::Items(items);
            let ranges = set.normalize(largest).unwrap();
            for n in 0..70 {
                prop_assert_eq!(ranges.contains(n), set.contains(n, largest), "n = {}", n);
            }
            let members = (0..70).filter(|&n| set.contains(n, largest)).count() as u64;
            prop_assert_eq!(ranges.count(), members);
            for pair in ranges.ranges().windows(2) {
                prop_assert!(pair[0].1.saturating_add(1) < pair[1].0, "{:?}", pair);
            }
            prop_assert!(ranges.ranges().iter().all(|&(lo, hi)| lo <= hi));
        }
    }
}
