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

use crate::flags::Keywords;
pub(crate) use recent::Recent;

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
    /// The mailbox's ACL changed: the session checks its rights again before it reports.
    pub rights_changed: bool,
    /// SEARCHRES (RFC 5182): the UIDs of the last `SEARCH RETURN (SAVE)`.
    pub saved_search: Vec<Uid>,
    /// The keywords this session has announced in FLAGS (see `crate::flags`).
    pub keywords: Keywords,
    /// The messages that are `\Recent` in this session.
    pub recent: Recent,
    /// The highest MODSEQ this view knows the mailbox reached: the SELECT snapshot's, raised by
    /// every change that came through the feed. Changes are published in commit order, so
    /// every change up to it has arrived; once they are reported it is a HIGHESTMODSEQ the
    /// client may cache (RFC 7162 §3.2.10).
    pub known_modseq: u64,
}

/// The untagged updates to send now, in the order they must go out.
#[derive(Default)]
pub(crate) struct Updates {
    /// Sequence numbers, each valid at the moment it is sent (already adjusted).
    pub expunged: Vec<u32>,
    /// The same messages' UIDs, ascending (for VANISHED under QRESYNC).
    pub expunged_uids: Vec<Uid>,
    /// New EXISTS count, when it grew.
    pub exists: Option<u32>,
    /// Messages whose flags to report: (seq, uid).
    pub flags: Vec<(u32, Uid)>,
}

/// The messages a session's own EXPUNGE or MOVE removed from its view.
pub(crate) struct OwnExpunges {
    /// Highest first, each valid when its EXPUNGE response is read.
    pub seqs: Vec<u32>,
    /// Ascending.
    pub uids: Vec<Uid>,
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
            rights_changed: false,
            saved_search: Vec::new(),
            keywords: Keywords::default(),
            recent: Recent::default(),
            known_modseq: 0,
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
        match &change {
            Change::Appended { modseq, .. } | Change::Expunged { modseq, .. } => {
                self.known_modseq = self.known_modseq.max(modseq.get());
            }
            Change::FlagsChanged { changes } => {
                let top = changes.iter().map(|(_, m)| m.get()).max().unwrap_or(0);
                self.known_modseq = self.known_modseq.max(top);
            }
            Change::SeenChanged { .. }
            | Change::Renamed { .. }
            | Change::Deleted
            | Change::AclChanged => {}
        }
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
            Change::AclChanged => self.rights_changed = true,
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
            updates.expunged_uids = removed.iter().map(|&(_, uid)| uid).collect();
            updates.expunged = removed
                .iter()
                .enumerate()
                .map(|(k, &(i, _))| u32::try_from(i + 1 - k).unwrap_or(u32::MAX))
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
    pub fn remove_own_expunges(&mut self, uids: Vec<Uid>) -> OwnExpunges {
        let gone: BTreeSet<Uid> = uids.into_iter().collect();
        for uid in &gone {
            self.pending_expunge.remove(uid);
            self.pending_flags.remove(uid);
        }
        let removed = self.remove_uids(&gone);
        OwnExpunges {
            seqs: removed
                .iter()
                .rev()
                .map(|&(i, _)| u32::try_from(i + 1).unwrap_or(u32::MAX))
                .collect(),
            uids: removed.into_iter().map(|(_, uid)| uid).collect(),
        }
    }

    /// Drops every message of `gone` from the UID list in one pass (O(messages + removed),
    /// not a shift of the list per message); their indexes before removal and UIDs, ascending.
    fn remove_uids(&mut self, gone: &BTreeSet<Uid>) -> Vec<(usize, Uid)> {
        if gone.is_empty() {
            return Vec::new();
        }
        let mut removed = Vec::new();
        let mut index = 0;
        self.uids.retain(|uid| {
            let keep = !gone.contains(uid);
            if !keep {
                removed.push((index, *uid));
            }
            index += 1;
            keep
        });
        removed
    }
}

mod recent;
#[cfg(test)]
mod tests;
