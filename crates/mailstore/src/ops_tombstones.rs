//! Expunge history for QRESYNC (RFC 7162 §3.2.5.2): VANISHED from tombstones, and how long
//! tombstones are kept.
//!
//! Every expunge leaves a tombstone per UID carrying the expunge's MODSEQ, and dates that MODSEQ
//! (module `index`). Purging drops the tombstones at or below a MODSEQ and raises the mailbox's
//! `deletedmodseq` to the highest one dropped, in the same commit: every expunge above
//! `deletedmodseq` keeps its tombstone, so VANISHED since a MODSEQ at or above it is exact, and
//! since one below it the store says the history is incomplete ([`VanishedSince::Pruned`]).
//! Retention ([`Store::prune_tombstones`]) purges, per mailbox, up to the highest expunge dated
//! before a cut-off. HIGHESTMODSEQ is never touched.
//!
//! Must not: hold an owner's lock for more than one bounded batch ([`PURGE_BATCH`]).

use types::{MailboxName, ModSeq};

use crate::error::{Result, StoreError};
use crate::index::{IndexHeader, IndexRead};
use crate::model::{MailboxEntry, PruneReport, VanishedSince};
use crate::ops_append::to_uid;
use crate::{Resolved, Store};

/// What [`Store::sweep_mailboxes`] went through.
#[derive(Default)]
pub(crate) struct Sweep {
    /// Mailboxes looked at.
    pub mailboxes: usize,
    /// Mailboxes whose clean-up failed, and why.
    pub failed: Vec<(MailboxName, StoreError)>,
    /// Whether `stop` said yes before every mailbox was looked at.
    pub stopped: bool,
}

/// Tombstones (or expunge dates) looked at per transaction when purging: each commit stays
/// small and each hold of the owner lock short, however many expunges a mailbox has seen.
pub const PURGE_BATCH: usize = 10_000;

impl Store {
    /// RFC 7162 §3.2.5.2: the UIDs expunged with a MODSEQ above `since`, or
    /// [`VanishedSince::Pruned`] when tombstones from that far back were purged.
    pub fn vanished_since(&self, name: &MailboxName, since: ModSeq) -> Result<VanishedSince> {
        let r = self.resolve(name)?;
        let snap = r.owner.read()?;
        let h = snap
            .header(&r.entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
        if since.get() < h.deletedmodseq {
            return Ok(VanishedSince::Pruned);
        }
        let uids = snap.vanished_since(&r.entry.uniqueid, since.get())?;
        Ok(VanishedSince::Exact(
            uids.into_iter().map(to_uid).collect::<Result<_>>()?,
        ))
    }

    /// Forgets expunges with a MODSEQ at or below `up_to`; returns how many tombstones went.
    /// QRESYNC clients whose state is older then get [`VanishedSince::Pruned`] instead of
    /// VANISHED. Works in batches of [`PURGE_BATCH`] tombstones, one commit each.
    ///
    /// The files of those messages are unlinked (again) and the directory synced *before* the
    /// tombstones go: a file left by an interrupted expunge must not outlive its tombstone, or
    /// `reconstruct` would take it for a never-acknowledged append and index it anew.
    pub fn purge_tombstones(&self, name: &MailboxName, up_to: ModSeq) -> Result<usize> {
        let r = self.resolve(name)?;
        self.purge_resolved(&r, up_to.get())
    }

    /// Tombstone retention (`tombstone_days`): in every mailbox, forgets the expunges up to the
    /// highest one dated before `older_than_unix` (Unix seconds), and those dates. A mailbox
    /// that fails is reported and the others are still done; one deleted or renamed away
    /// meanwhile is skipped. Running it again with the same cut-off does nothing more.
    ///
    /// Tombstones written before expunges were dated (an index older than the dates table)
    /// are dated "now" at the first run, so they go one retention period later.
    pub fn prune_tombstones(&self, older_than_unix: i64) -> Result<PruneReport> {
        self.prune_tombstones_until(older_than_unix, &|| false)
    }

    /// [`Store::prune_tombstones`] that asks `stop` before each mailbox and, once it says
    /// yes, leaves the rest for the next run (the report says so): for a server shutting down.
    pub fn prune_tombstones_until(
        &self,
        older_than_unix: i64,
        stop: &dyn Fn() -> bool,
    ) -> Result<PruneReport> {
        let (mut pruned_mailboxes, mut tombstones) = (0, 0);
        let sweep = self.sweep_mailboxes(stop, |entry| {
            let n = self.prune_mailbox(entry, older_than_unix)?;
            if n > 0 {
                pruned_mailboxes += 1;
                tombstones += n;
            }
            Ok(())
        })?;
        Ok(PruneReport {
            mailboxes: sweep.mailboxes,
            pruned_mailboxes,
            tombstones,
            failed: sweep.failed,
            stopped: sweep.stopped,
        })
    }

    /// Runs `each` on every mailbox of the mailboxes database in turn, for the periodic
    /// clean-ups: `stop` is asked before each mailbox, and once it says yes the rest is left
    /// for the next run; a mailbox deleted meanwhile is passed over, and one that fails is
    /// noted while the others are still done.
    pub(crate) fn sweep_mailboxes(
        &self,
        stop: &dyn Fn() -> bool,
        mut each: impl FnMut(MailboxEntry) -> Result<()>,
    ) -> Result<Sweep> {
        let entries = self.inner.global.read()?.list(None)?;
        let mut sweep = Sweep::default();
        // Another server's mailboxes are swept there.
        for entry in entries.into_iter().filter(|e| e.remote_server().is_none()) {
            if stop() {
                sweep.stopped = true;
                break;
            }
            sweep.mailboxes += 1;
            let name = entry.name.clone();
            match each(entry) {
                Ok(()) | Err(StoreError::NoSuchMailbox(_)) => {}
                Err(e) => sweep.failed.push((name, e)),
            }
        }
        Ok(sweep)
    }

    fn prune_mailbox(&self, entry: MailboxEntry, older_than: i64) -> Result<usize> {
        let owner = self.inner.owners.get(&entry.name.hierarchy_root())?;
        let r = Resolved { entry, owner };
        let ages = {
            let snap = r.owner.read()?;
            let ages = snap.expunge_ages(&r.entry.uniqueid, older_than)?;
            if !ages.dated {
                return self.date_undated(&r, &snap).map(|()| 0);
            }
            ages
        };
        let Some(cut) = ages.cut else {
            return Ok(0);
        };
        let purged = self.purge_resolved(&r, cut)?;
        self.forget_expunge_times(&r, cut)?;
        Ok(purged)
    }

    /// Dates the undated tombstones of a mailbox "now", at its HIGHESTMODSEQ: every expunge
    /// at or below it happened before now, so the date is never too early.
    fn date_undated(&self, r: &Resolved, snap: &IndexRead) -> Result<()> {
        if !snap.has_tombstones(&r.entry.uniqueid)? {
            return Ok(());
        }
        let ow = r.owner.write()?;
        let h = header(&ow, r)?;
        ow.put_expunge_time(&h.uniqueid, h.highestmodseq, self.inner.config.clock.now())?;
        drop(ow.commit()?);
        Ok(())
    }

    /// Purges in batches, each commit dropping tombstones and raising `deletedmodseq` over
    /// them together.
    fn purge_resolved(&self, r: &Resolved, up_to: u64) -> Result<usize> {
        let mut from = 1;
        let mut total = 0;
        loop {
            let ow = r.owner.write()?;
            let mut h = header(&ow, r)?;
            let batch = ow.purge_tombstones(&h.uniqueid, up_to, from, PURGE_BATCH)?;
            if let Some(top) = batch.purged.iter().map(|&(_, m)| m).max() {
                self.unlink_purged(&h, &batch.purged)?;
                let uids: Vec<u32> = batch.purged.iter().map(|&(u, _)| u).collect();
                ow.drop_kept(&h.uniqueid, &uids)?;
                h.deletedmodseq = h.deletedmodseq.max(top);
                ow.put_header(&h)?;
                drop(ow.commit()?);
                total += batch.purged.len();
            }
            match batch.next {
                Some(next) => from = next,
                None => return Ok(total),
            }
        }
    }

    fn unlink_purged(&self, h: &IndexHeader, purged: &[(u32, u64)]) -> Result<()> {
        let dir = self
            .inner
            .partitions
            .mailbox_dir(&h.partition, &h.uniqueid)?;
        for &(uid, _) in purged {
            crate::msgfile::remove_if_present(&crate::partition::message_path(&dir, uid))?;
            crate::msgfile::remove_if_present(&crate::partition::kept_path(&dir, uid))?;
        }
        self.inner.partitions.sync_dir(&dir)
    }

    /// Drops the dates of expunges at or below `up_to`, in batches. Last of a prune: until it
    /// is done the same cut-off is found again, so an interrupted prune finishes next time.
    fn forget_expunge_times(&self, r: &Resolved, up_to: u64) -> Result<()> {
        loop {
            let ow = r.owner.write()?;
            let h = header(&ow, r)?;
            let dropped = ow.drop_expunge_times(&h.uniqueid, up_to, PURGE_BATCH)?;
            if dropped == 0 {
                return Ok(());
            }
            drop(ow.commit()?);
            if dropped < PURGE_BATCH {
                return Ok(());
            }
        }
    }
}

fn header(ow: &crate::index::IndexWrite<'_>, r: &Resolved) -> Result<IndexHeader> {
    ow.header(&r.entry.uniqueid)?
        .ok_or_else(|| StoreError::NoSuchMailbox(r.entry.name.to_string()))
}
