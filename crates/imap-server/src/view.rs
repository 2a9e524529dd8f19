//! The selected view: one session's picture of its selected mailbox. It owns all sequence-number
//! arithmetic (STYLE.md habit 6) and the changes other sessions made that this session has not
//! reported yet (RFC 9051 §7.5.1: new messages, flag changes and expunges are reported as
//! untagged EXISTS / FETCH / EXPUNGE, expunges never during FETCH, STORE or SEARCH).

use std::collections::BTreeSet;

use imap_proto::command::Addressing;
use imap_proto::SequenceSet;
use mailservice::{Authorized, Change};
use tokio::sync::broadcast::{self, error::TryRecvError};
use types::{ModSeq, Uid};

pub(crate) struct SelectedView {
    pub mailbox: Authorized,
    pub read_only: bool,
    /// `uids[seq - 1]`; strictly increasing.
    uids: Vec<Uid>,
    changes: broadcast::Receiver<Change>,
    pending_new: BTreeSet<Uid>,
    pending_flags: BTreeSet<Uid>,
    pending_expunge: BTreeSet<Uid>,
    /// Flag changes this session made and already reported, so their echo is not repeated.
    own_changes: BTreeSet<(Uid, ModSeq)>,
    /// The channel overflowed: the UID list must be reloaded from the store.
    pub needs_resync: bool,
    /// The mailbox was deleted or renamed away under this session.
    pub gone: bool,
    /// SEARCHRES (RFC 5182): the UIDs of the last `SEARCH RETURN (SAVE)`.
    pub saved_search: Vec<Uid>,
}

/// The untagged updates to send now, in the order they must go out.
#[derive(Default)]
pub(crate) struct Updates {
    /// Sequence numbers, each valid at the moment it is sent (already adjusted).
    pub expunged: Vec<u32>,
    /// New EXISTS count, when it grew.
    pub exists: Option<u32>,
    /// Messages whose flags to report: (seq, uid).
    pub flags: Vec<(u32, Uid)>,
}

/// A sequence set named a message that does not exist (RFC 9051 §6.4.1: BAD for sequence
/// numbers; UID sets silently skip).
#[derive(Debug)]
pub(crate) struct NoSuchMessage;

impl SelectedView {
    pub fn new(
        mailbox: Authorized,
        read_only: bool,
        uids: Vec<Uid>,
        changes: broadcast::Receiver<Change>,
    ) -> SelectedView {
        SelectedView {
            mailbox,
            read_only,
            uids,
            changes,
            pending_new: BTreeSet::new(),
            pending_flags: BTreeSet::new(),
            pending_expunge: BTreeSet::new(),
            own_changes: BTreeSet::new(),
            needs_resync: false,
            gone: false,
            saved_search: Vec::new(),
        }
    }

    pub fn exists(&self) -> u32 {
        u32::try_from(self.uids.len()).unwrap_or(u32::MAX)
    }

    pub fn uids(&self) -> &[Uid] {
        &self.uids
    }

    pub fn seq_of(&self, uid: Uid) -> Option<u32> {
        self.uids
            .binary_search(&uid)
            .ok()
            .and_then(|i| u32::try_from(i + 1).ok())
    }

    pub fn uid_of(&self, seq: u32) -> Option<Uid> {
        self.uids
            .get(usize::try_from(seq).ok()?.checked_sub(1)?)
            .copied()
    }

    /// The messages a set names, as (seq, uid) in ascending order. `$` is the saved search.
    /// The set is normalised first (sorted, merged ranges), so repeated or overlapping items
    /// cost nothing: O(items × log items + messages named).
    pub fn resolve(
        &self,
        set: &SequenceSet,
        addressing: Addressing,
    ) -> Result<Vec<(u32, Uid)>, NoSuchMessage> {
        let Some(ranges) = set.normalize(match addressing {
            Addressing::Sequence => self.exists(),
            Addressing::Uid => self.uids.last().map_or(0, |u| u.get()),
        }) else {
            return Ok(self
                .saved_search
                .iter()
                .filter_map(|&u| self.seq_of(u).map(|s| (s, u)))
                .collect());
        };
        let mut out = Vec::new();
        match addressing {
            Addressing::Sequence => {
                // `*` in an empty mailbox is 0, and so is past EXISTS like any number above it.
                let valid = ranges
                    .bounds()
                    .is_some_and(|(lo, hi)| lo > 0 && hi <= self.exists());
                if !valid {
                    return Err(NoSuchMessage);
                }
                for &(lo, hi) in ranges.ranges() {
                    for seq in lo..=hi {
                        if let Some(uid) = self.uid_of(seq) {
                            out.push((seq, uid));
                        }
                    }
                }
            }
            Addressing::Uid => {
                for &(lo, hi) in ranges.ranges() {
                    let start = self.uids.partition_point(|u| u.get() < lo);
                    let end = self.uids.partition_point(|u| u.get() <= hi);
                    for (i, uid) in self.uids[start..end.max(start)].iter().enumerate() {
                        out.push((u32::try_from(start + i + 1).unwrap_or(u32::MAX), *uid));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Remembers a flag change this session reported itself.
    pub fn note_own_change(&mut self, uid: Uid, modseq: ModSeq) {
        self.own_changes.insert((uid, modseq));
    }

    /// Folds every change waiting on the channel into the pending sets.
    pub fn poll_changes(&mut self) {
        loop {
            match self.changes.try_recv() {
                Ok(change) => self.fold(change),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Lagged(_)) => self.needs_resync = true,
                Err(TryRecvError::Closed) => {
                    self.gone = true;
                    return;
                }
            }
        }
    }

    /// Waits for the next change (IDLE), folding it in.
    pub async fn wait_change(&mut self) {
        match self.changes.recv().await {
            Ok(change) => self.fold(change),
            Err(broadcast::error::RecvError::Lagged(_)) => self.needs_resync = true,
            Err(broadcast::error::RecvError::Closed) => {
                self.gone = true;
                // Nothing will ever arrive again; park instead of spinning.
                std::future::pending::<()>().await;
            }
        }
    }

    fn fold(&mut self, change: Change) {
        match change {
            Change::Appended { uids, .. } => {
                let last = self.uids.last().copied();
                self.pending_new
                    .extend(uids.into_iter().filter(|u| Some(*u) > last));
            }
            Change::FlagsChanged { changes } => {
                for (uid, modseq) in changes {
                    if !self.own_changes.remove(&(uid, modseq)) && !self.pending_new.contains(&uid)
                    {
                        self.pending_flags.insert(uid);
                    }
                }
            }
            Change::SeenChanged { user, uids } => {
                if user == self.mailbox_user() {
                    let known = uids.into_iter().filter(|u| !self.pending_new.contains(u));
                    self.pending_flags.extend(known);
                }
            }
            Change::Expunged { uids, .. } => {
                for uid in uids {
                    if !self.pending_new.remove(&uid) {
                        self.pending_expunge.insert(uid);
                    }
                }
            }
            Change::Renamed { .. } | Change::Deleted => self.gone = true,
        }
    }

    fn mailbox_user(&self) -> &str {
        self.mailbox.seen_user().unwrap_or("")
    }

    /// Replaces the UID list after a resync, turning the difference into pending updates.
    /// Changes folded before the channel lagged may be stale by now: a pending new message
    /// that is gone from the index is forgotten (it was never announced), so EXISTS never
    /// counts a message the client could not fetch.
    pub fn resync(&mut self, current: Vec<Uid>) {
        let now: BTreeSet<Uid> = current.iter().copied().collect();
        let last = self.uids.last().copied();
        for uid in &self.uids {
            if !now.contains(uid) {
                self.pending_expunge.insert(*uid);
            }
        }
        self.pending_new.retain(|uid| now.contains(uid));
        self.pending_new
            .extend(current.into_iter().filter(|u| Some(*u) > last));
        self.pending_flags.extend(self.uids.iter().copied());
        self.needs_resync = false;
    }

    /// Takes the updates to report now. With `allow_expunge` false (during FETCH, STORE and
    /// non-UID SEARCH), expunges stay pending and so do new messages behind them.
    pub fn take_updates(&mut self, allow_expunge: bool) -> Updates {
        let mut updates = Updates::default();
        if allow_expunge {
            let gone = std::mem::take(&mut self.pending_expunge);
            for uid in &gone {
                self.pending_flags.remove(uid);
            }
            // Ascending, each number as it stands once the ones before it are gone: the k-th
            // removal (from 0) of the message at index i is sequence number i + 1 - k.
            let removed = self.remove_uids(&gone);
            updates.expunged = removed
                .iter()
                .enumerate()
                .map(|(k, &i)| u32::try_from(i + 1 - k).unwrap_or(u32::MAX))
                .collect();
        }
        if !self.pending_new.is_empty() {
            let last = self.uids.last().copied();
            for uid in std::mem::take(&mut self.pending_new) {
                // The client learns these flags when it fetches the new message; an unsolicited
                // FETCH for a message it has not met yet misleads clients (mbsync took one as
                // "the highest UID seen" and skipped the messages below it).
                self.pending_flags.remove(&uid);
                if Some(uid) > last {
                    self.uids.push(uid);
                }
            }
            updates.exists = Some(self.exists());
        }
        for uid in std::mem::take(&mut self.pending_flags) {
            match self.seq_of(uid) {
                Some(seq) if !self.pending_expunge.contains(&uid) => updates.flags.push((seq, uid)),
                _ => {}
            }
        }
        self.own_changes.clear();
        updates
    }

    /// Removes messages this session expunged itself (EXPUNGE, MOVE) and returns the sequence
    /// numbers to report, each valid when its EXPUNGE response is read: highest first, so no
    /// response renumbers another.
    pub fn remove_own_expunges(&mut self, uids: Vec<Uid>) -> Vec<u32> {
        let gone: BTreeSet<Uid> = uids.into_iter().collect();
        for uid in &gone {
            self.pending_expunge.remove(uid);
            self.pending_flags.remove(uid);
        }
        let removed = self.remove_uids(&gone);
        removed
            .iter()
            .rev()
            .map(|&i| u32::try_from(i + 1).unwrap_or(u32::MAX))
            .collect()
    }

    /// Drops every message of `gone` from the UID list in one pass (O(messages + removed),
    /// not a shift of the list per message); their indexes before removal, ascending.
    fn remove_uids(&mut self, gone: &BTreeSet<Uid>) -> Vec<usize> {
        if gone.is_empty() {
            return Vec::new();
        }
        let mut removed = Vec::new();
        let mut index = 0;
        self.uids.retain(|uid| {
            let keep = !gone.contains(uid);
            if !keep {
                removed.push(index);
            }
            index += 1;
            keep
        });
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imap_proto::sequence::{SeqNumber, SequenceItem};
    use std::num::NonZeroU32;

    fn uid(n: u32) -> Uid {
        Uid::new(n).unwrap()
    }

    fn view(uids: &[u32]) -> (SelectedView, broadcast::Sender<Change>) {
        let (tx, rx) = broadcast::channel(16);
        let dir = tempfile::tempdir().unwrap();
        let (identity, service) = mailservice_identity(dir.path());
        let name = types::MailboxName::try_from("user.alice").unwrap();
        let mailbox = service
            .authorize_internal(&identity, name, mailservice::Operation::Read)
            .unwrap();
        let v = SelectedView::new(mailbox, false, uids.iter().map(|&n| uid(n)).collect(), rx);
        (v, tx)
    }

    /// A service over a throwaway store, only to mint an `Authorized` for the view.
    fn mailservice_identity(
        dir: &std::path::Path,
    ) -> (mailservice::Identity, mailservice::MailService) {
        let mut partitions = std::collections::BTreeMap::new();
        partitions.insert("default".to_string(), dir.join("spool"));
        let store = mailstore::Store::open(mailstore::StoreConfig::new(
            dir.join("conf"),
            partitions,
            "default",
        ))
        .unwrap();
        let service = mailservice::MailService::new(
            store,
            mailservice::ServiceConfig {
                admins: Vec::new(),
                unix_hierarchy_sep: false,
            },
        );
        (service.identity("alice"), service)
    }

    fn set(items: &[(u32, u32)]) -> SequenceSet {
        let n = |v: u32| {
            if v == 0 {
                SeqNumber::Largest
            } else {
                SeqNumber::Value(NonZeroU32::new(v).unwrap())
            }
        };
        SequenceSet::Items(
            items
                .iter()
                .map(|&(a, b)| {
                    if a == b {
                        SequenceItem::Single(n(a))
                    } else {
                        SequenceItem::Range(n(a), n(b))
                    }
                })
                .collect(),
        )
    }

    #[test]
    fn sequence_numbers_map_to_uids_and_star_is_the_last() {
        let (v, _tx) = view(&[3, 7, 9, 20]);
        let got = v.resolve(&set(&[(2, 0)]), Addressing::Sequence).unwrap();
        assert_eq!(got, vec![(2, uid(7)), (3, uid(9)), (4, uid(20))]);
        assert!(
            v.resolve(&set(&[(5, 5)]), Addressing::Sequence).is_err(),
            "past EXISTS is an error"
        );
    }

    #[test]
    fn uid_sets_skip_missing_uids_and_star_is_the_highest() {
        let (v, _tx) = view(&[3, 7, 9, 20]);
        let got = v
            .resolve(&set(&[(4, 9), (100, 0)]), Addressing::Uid)
            .unwrap();
        assert_eq!(
            got,
            vec![(2, uid(7)), (3, uid(9)), (4, uid(20))],
            "100:* includes the highest UID"
        );
    }

    #[test]
    fn expunges_wait_while_forbidden_and_renumber_when_sent() {
        let (mut v, tx) = view(&[1, 2, 3, 4]);
        tx.send(Change::Expunged {
            uids: vec![uid(2), uid(4)],
            modseq: types::ModSeq::MIN,
        })
        .unwrap();
        tx.send(Change::Appended {
            uids: vec![uid(5)],
            modseq: types::ModSeq::MIN,
        })
        .unwrap();
        v.poll_changes();
        let held = v.take_updates(false);
        assert!(
            held.expunged.is_empty(),
            "no EXPUNGE during FETCH/STORE/SEARCH"
        );
        assert_eq!(held.exists, Some(5));
        let sent = v.take_updates(true);
        // Each number is valid when its response is read: UID 2 is seq 2, then UID 4 is seq 3.
        assert_eq!(sent.expunged, vec![2, 3]);
        assert_eq!(v.uids(), &[uid(1), uid(3), uid(5)]);
    }

    #[test]
    fn own_flag_changes_are_not_echoed_but_others_are() {
        let (mut v, tx) = view(&[1, 2]);
        let m = types::ModSeq::new(5).unwrap();
        v.note_own_change(uid(1), m);
        tx.send(Change::FlagsChanged {
            changes: vec![(uid(1), m), (uid(2), m)],
        })
        .unwrap();
        v.poll_changes();
        assert_eq!(v.take_updates(true).flags, vec![(2, uid(2))]);
    }

    #[test]
    fn a_message_appended_and_expunged_before_being_reported_is_never_seen() {
        let (mut v, tx) = view(&[1]);
        tx.send(Change::Appended {
            uids: vec![uid(2)],
            modseq: types::ModSeq::MIN,
        })
        .unwrap();
        tx.send(Change::Expunged {
            uids: vec![uid(2)],
            modseq: types::ModSeq::MIN,
        })
        .unwrap();
        v.poll_changes();
        let u = v.take_updates(true);
        assert!(u.expunged.is_empty() && u.exists.is_none());
        assert_eq!(v.exists(), 1);
    }

    /// mbsync 1.4 loading a mailbox took `* 574 FETCH (UID 653 FLAGS ...)` for a message new
    /// in the same response as its highest UID and never pulled UIDs 647–652.
    #[test]
    fn flag_changes_of_messages_not_yet_announced_are_not_reported() {
        let (mut v, tx) = view(&[1]);
        tx.send(Change::Appended {
            uids: vec![uid(2), uid(3)],
            modseq: types::ModSeq::MIN,
        })
        .unwrap();
        tx.send(Change::FlagsChanged {
            changes: vec![(uid(3), types::ModSeq::new(7).unwrap())],
        })
        .unwrap();
        tx.send(Change::SeenChanged {
            user: String::new(),
            uids: vec![uid(2)],
        })
        .unwrap();
        v.poll_changes();
        let u = v.take_updates(true);
        assert_eq!(u.exists, Some(3));
        assert!(u.flags.is_empty(), "{:?}", u.flags);
        tx.send(Change::FlagsChanged {
            changes: vec![(uid(3), types::ModSeq::new(8).unwrap())],
        })
        .unwrap();
        v.poll_changes();
        assert_eq!(v.take_updates(true).flags, vec![(3, uid(3))], "known now");
    }

    #[test]
    fn a_lagging_channel_asks_for_a_resync() {
        let (mut v, tx) = view(&[1, 2, 3]);
        for n in 0..40 {
            let _ = tx.send(Change::FlagsChanged {
                changes: vec![(uid(1), types::ModSeq::new(n + 1).unwrap())],
            });
        }
        v.poll_changes();
        assert!(v.needs_resync);
        v.resync(vec![uid(1), uid(3), uid(4)]);
        let u = v.take_updates(true);
        assert_eq!(u.expunged, vec![2]);
        assert_eq!(u.exists, Some(3));
    }

    /// Runs `work` on its own thread and waits at most a minute: a test that would run for
    /// hours (a quadratic walk) fails instead of hanging. Not a timing assertion: the work
    /// takes milliseconds once it is linear.
    fn within_a_minute<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(work());
        });
        rx.recv_timeout(std::time::Duration::from_secs(60))
            .expect("did not finish within a minute")
    }

    /// 15,000 copies of `1:*` over a million messages were 15 billion set insertions.
    #[test]
    fn many_overlapping_ranges_cost_one_walk_over_the_messages() {
        let uids: Vec<u32> = (1..=1_000_000).collect();
        let (v, _tx) = view(&uids);
        let many = SequenceSet::Items(vec![
            SequenceItem::Range(
                SeqNumber::Value(NonZeroU32::new(1).unwrap()),
                SeqNumber::Largest
            );
            15_000
        ]);
        let (seqs, uids) = within_a_minute(move || {
            let seqs = v.resolve(&many, Addressing::Sequence).unwrap();
            let uids = v.resolve(&many, Addressing::Uid).unwrap();
            (seqs.len(), uids.len())
        });
        assert_eq!((seqs, uids), (1_000_000, 1_000_000));
    }

    /// Expunging most of a large mailbox shifted the UID list once per message: 1.5 million
    /// shifts of megabytes each.
    #[test]
    fn many_expunges_are_removed_in_one_pass() {
        const N: u32 = 2_000_000;
        let uids: Vec<u32> = (1..=N).collect();
        let (mut v, tx) = view(&uids);
        let gone: Vec<Uid> = (1..=N).filter(|n| n % 4 != 0).map(uid).collect();
        let own: Vec<Uid> = (1..=N).filter(|n| n % 8 == 0).map(uid).collect();
        let (expunged, reported, left) = within_a_minute(move || {
            // The channel holds 16 changes; one change carries them all.
            tx.send(Change::Expunged {
                uids: gone,
                modseq: types::ModSeq::MIN,
            })
            .unwrap();
            v.poll_changes();
            let updates = v.take_updates(true);
            let reported = v.remove_own_expunges(own);
            (updates.expunged, reported, v.uids().len())
        });
        let n = N as usize;
        assert_eq!(expunged.len(), n / 4 * 3);
        let valid = |(k, &s): (usize, &u32)| s >= 1 && s as usize <= n - k;
        assert!(
            expunged.iter().enumerate().all(valid),
            "each number valid when sent"
        );
        assert_eq!(
            &expunged[..4],
            &[1, 1, 1, 2],
            "UIDs 1, 2, 3 go at 1, then UID 5 is 2"
        );
        assert_eq!(reported.len(), n / 8);
        assert_eq!(reported[0] as usize, n / 4, "highest first");
        assert_eq!(left, n / 8);
    }

    /// The numbers reported for other sessions' expunges are those of removing one message at
    /// a time, in ascending order (the naive model).
    #[test]
    fn expunge_numbers_match_removing_one_at_a_time() {
        let before: Vec<u32> = (1..=60).map(|n| n * 3).collect();
        for step in [2usize, 3, 5, 7] {
            let (mut v, tx) = view(&before);
            let gone: Vec<u32> = before.iter().copied().step_by(step).collect();
            tx.send(Change::Expunged {
                uids: gone.iter().map(|&n| uid(n)).collect(),
                modseq: types::ModSeq::MIN,
            })
            .unwrap();
            v.poll_changes();
            let got = v.take_updates(true).expunged;
            let mut model = before.clone();
            let mut want = Vec::new();
            for g in &gone {
                let i = model.iter().position(|u| u == g).unwrap();
                model.remove(i);
                want.push(i as u32 + 1);
            }
            assert_eq!(got, want, "every {step}th");
            let left: Vec<u32> = v.uids().iter().map(|u| u.get()).collect();
            assert_eq!(left, model);
        }
    }

    /// A message announced on the channel before it lagged, then expunged while it lagged,
    /// must not be counted in EXISTS after the resync.
    #[test]
    fn a_resync_forgets_pending_messages_the_index_no_longer_has() {
        let (mut v, tx) = view(&[1, 2]);
        tx.send(Change::Appended {
            uids: vec![uid(3)],
            modseq: types::ModSeq::MIN,
        })
        .unwrap();
        v.poll_changes();
        for n in 0..40 {
            let _ = tx.send(Change::FlagsChanged {
                changes: vec![(uid(1), types::ModSeq::new(n + 1).unwrap())],
            });
        }
        v.poll_changes();
        assert!(v.needs_resync);
        v.resync(vec![uid(1), uid(2), uid(4)]);
        let u = v.take_updates(true);
        assert_eq!(u.exists, Some(3), "UID 4 is new, UID 3 never was");
        assert_eq!(v.uids(), &[uid(1), uid(2), uid(4)]);
    }
}
