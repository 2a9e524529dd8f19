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

    /// True when `n` is in the set (`false` for `$`).
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        self.ranges(largest)
            .is_some_and(|r| r.iter().any(|&(lo, hi)| lo <= n && n <= hi))
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

    #[test]
    fn from_numbers_compresses_ranges() {
        let set = SequenceSet::from_numbers([5, 1, 2, 3, 9, 10, 0]).unwrap();
        assert_eq!(set.to_string(), "1:3,5,9:10");
        assert_eq!(SequenceSet::from_numbers([0]), None);
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
}
