//! CONDSTORE and QRESYNC (RFC 7162): the session's switch, HIGHESTMODSEQ when it turns on, and
//! the VANISHED responses that report expunges by UID.
//!
//! Expunge history comes from the store's tombstones ([`VanishedSince`]). Where the history a
//! client asks about was pruned (`tombstone_days`), every UID the client may know that is not
//! in the mailbox is reported as vanished: RFC 7162 §3.2.5.2 lets VANISHED (EARLIER) name UIDs
//! the client never saw, and the client ignores those.

use imap_proto::response::{Code, Data, StatusKind, Vanished};
use imap_proto::{NumberRanges, SequenceSet};
use mailservice::VanishedSince;
use types::Uid;

use crate::connection::Session;
use crate::output::Output;

/// UID ranges per VANISHED line. A mailbox with many scattered expunges gets several lines
/// instead of one of unbounded length (RFC 7162 §3.2.10 allows any split; RFC 2683 §3.2.1.5 as
/// updated by RFC 7162 §4 asks clients to accept at least 8,192 octets, and 500 ranges of two
/// 10-digit UIDs stay under that).
const RANGES_PER_LINE: usize = 500;

impl Session {
    /// A CONDSTORE enabling command (RFC 7162 §3.1) ran. The first one with a mailbox selected
    /// also reports the mailbox's HIGHESTMODSEQ, from which the client's cache may start.
    pub(crate) async fn enable_condstore(&mut self) {
        if std::mem::replace(&mut self.enabled.condstore, true) {
            return;
        }
        let Some(view) = self.state.view() else {
            return;
        };
        let mailbox = view.mailbox.clone();
        if let Ok(status) = self.blocking(move |s| s.status(&mailbox)).await {
            self.out.untagged(
                StatusKind::Ok,
                Some(Code::HighestModSeq(status.highestmodseq)),
                "Highest",
            );
        }
    }

    /// Reports expunged UIDs: `VANISHED (EARLIER)` for history, plain `VANISHED` for expunges
    /// happening now; several lines when there are many ranges.
    pub(crate) async fn write_vanished(&mut self, mode: Vanished, ranges: &[(u32, u32)]) {
        for chunk in ranges.chunks(RANGES_PER_LINE) {
            if let Some(uids) = SequenceSet::from_ranges(chunk) {
                self.out.data(Data::Vanished { mode, uids });
            }
            self.flush_when_full().await;
        }
    }

    /// Writes what is buffered once it passes [`Output::FLUSH_AT`], so a long answer (a
    /// resync of a large mailbox) is not held whole. A failed write is remembered by the
    /// session, which then sends nothing more.
    pub(crate) async fn flush_when_full(&mut self) {
        if self.out.buf.len() >= Output::FLUSH_AT {
            let _ = self.flush().await;
        }
    }

    /// Reports messages this session saw go: EXPUNGE by sequence number (`seqs`, each valid
    /// when read), or VANISHED by UID once QRESYNC is on (RFC 7162 §3.2.10).
    pub(crate) async fn write_expunged(&mut self, seqs: Vec<u32>, uids: &[Uid]) {
        if self.enabled.qresync {
            let ranges = to_ranges(uids.iter().map(|u| u.get()));
            self.write_vanished(Vanished::Now, &ranges).await;
        } else {
            for seq in seqs {
                self.out.data(Data::Expunge(seq));
                self.flush_when_full().await;
            }
        }
    }
}

/// The UIDs of `known` (ranges of UIDs the client may have, within the mailbox's UID space)
/// that are expunged according to `history` and not in `present` (ascending): exact where
/// the tombstones reach back far enough, else every known UID not present.
pub(crate) fn vanished_among(
    known: &NumberRanges,
    history: VanishedSince,
    present: &[Uid],
) -> Vec<(u32, u32)> {
    let is_present = |uid: u32| present.binary_search_by_key(&uid, |u| u.get()).is_ok();
    match history {
        VanishedSince::Exact(uids) => to_ranges(
            uids.into_iter()
                .map(|u| u.get())
                .filter(|&u| known.contains(u) && !is_present(u)),
        ),
        VanishedSince::Pruned => {
            let mut out = Vec::new();
            for &(lo, hi) in known.ranges() {
                // u64, so that the step past u32::MAX cannot wrap.
                let mut next = u64::from(lo);
                let start = present.partition_point(|u| u.get() < lo);
                for uid in present[start..].iter().map(|u| u64::from(u.get())) {
                    if uid > u64::from(hi) {
                        break;
                    }
                    if uid > next {
                        out.push((narrow(next), narrow(uid - 1)));
                    }
                    next = uid + 1;
                }
                if next <= u64::from(hi) {
                    out.push((narrow(next), hi));
                }
            }
            out
        }
    }
}

/// A value known to be within `u32` (it lies between two `u32` bounds).
fn narrow(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Ascending numbers as inclusive ranges.
pub(crate) fn to_ranges(numbers: impl IntoIterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for n in numbers {
        match out.last_mut() {
            Some(last) if last.1.checked_add(1) == Some(n) => last.1 = n,
            Some(last) if last.1 >= n => {}
            _ => out.push((n, n)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uids(list: &[u32]) -> Vec<Uid> {
        list.iter().map(|&n| Uid::new(n).unwrap()).collect()
    }

    #[test]
    fn exact_history_is_filtered_by_what_the_client_knows() {
        let known = NumberRanges::from_ranges(vec![(1, 10)]);
        let history = VanishedSince::Exact(uids(&[2, 3, 4, 9, 12]));
        assert_eq!(
            vanished_among(&known, history, &uids(&[1, 5, 6])),
            vec![(2, 4), (9, 9)]
        );
    }

    #[test]
    fn pruned_history_reports_every_known_uid_that_is_not_present() {
        let known = NumberRanges::from_ranges(vec![(1, 10), (20, 22)]);
        let present = uids(&[1, 4, 5, 10, 21, 30]);
        assert_eq!(
            vanished_among(&known, VanishedSince::Pruned, &present),
            vec![(2, 3), (6, 9), (20, 20), (22, 22)]
        );
        let all_present = uids(&[1, 2, 3]);
        let known = NumberRanges::from_ranges(vec![(1, 3)]);
        assert!(vanished_among(&known, VanishedSince::Pruned, &all_present).is_empty());
    }

    #[test]
    fn pruned_history_at_the_top_of_the_uid_space_does_not_overflow() {
        let known = NumberRanges::from_ranges(vec![(u32::MAX - 2, u32::MAX)]);
        let present = uids(&[u32::MAX]);
        assert_eq!(
            vanished_among(&known, VanishedSince::Pruned, &present),
            vec![(u32::MAX - 2, u32::MAX - 1)]
        );
    }

    #[test]
    fn ranges_merge_runs() {
        assert_eq!(to_ranges([1, 2, 3, 5, 7, 8]), vec![(1, 3), (5, 5), (7, 8)]);
        assert!(to_ranges([]).is_empty());
    }
}
