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
    pub fn resolve(
        &self,
        set: &SequenceSet,
        addressing: Addressing,
    ) -> Result<Vec<(u32, Uid)>, NoSuchMessage> {
        let Some(ranges) = set.ranges(match addressing {
            Addressing::Sequence => self.exists(),
            Addressing::Uid => self.uids.last().map_or(0, |u| u.get()),
        }) else {
            return Ok(self
                .saved_search
                .iter()
                .filter_map(|&u| self.seq_of(u).map(|s| (s, u)))
                .collect());
        };
        let mut out = BTreeSet::new();
        for (lo, hi) in ranges {
            match addressing {
                Addressing::Sequence => {
                    if lo == 0 || hi > self.exists() {
                        return Err(NoSuchMessage);
                    }
                    for seq in lo..=hi {
                        if let Some(uid) = self.uid_of(seq) {
                            out.insert((seq, uid));
                        }
                    }
                }
                Addressing::Uid => {
                    let start = self.uids.partition_point(|u| u.get() < lo);
                    for (i, uid) in self.uids[start..].iter().enumerate() {
                        if uid.get() > hi {
                            break;
                        }
                        out.insert((u32::try_from(start + i + 1).unwrap_or(u32::MAX), *uid));
                    }
                }
            }
        }
        Ok(out.into_iter().collect())
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
                    if !self.own_changes.remove(&(uid, modseq)) {
                        self.pending_flags.insert(uid);
                    }
                }
            }
            Change::SeenChanged { user, uids } => {
                if user == self.mailbox_user() {
                    self.pending_flags.extend(uids);
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
    pub fn resync(&mut self, current: Vec<Uid>) {
        let now: BTreeSet<Uid> = current.iter().copied().collect();
        let last = self.uids.last().copied();
        for uid in &self.uids {
            if !now.contains(uid) {
                self.pending_expunge.insert(*uid);
            }
        }
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
            for uid in std::mem::take(&mut self.pending_expunge) {
                if let Ok(i) = self.uids.binary_search(&uid) {
                    self.uids.remove(i);
                    updates
                        .expunged
                        .push(u32::try_from(i + 1).unwrap_or(u32::MAX));
                }
                self.pending_flags.remove(&uid);
            }
        }
        if !self.pending_new.is_empty() {
            let last = self.uids.last().copied();
            self.uids.extend(
                std::mem::take(&mut self.pending_new)
                    .into_iter()
                    .filter(|u| Some(*u) > last),
            );
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

    /// Drops expunged messages this session expunged itself and already reported.
    pub fn remove_reported(&mut self, uid: Uid) -> Option<u32> {
        self.pending_expunge.remove(&uid);
        self.pending_flags.remove(&uid);
        let i = self.uids.binary_search(&uid).ok()?;
        self.uids.remove(i);
        u32::try_from(i + 1).ok()
    }
}
