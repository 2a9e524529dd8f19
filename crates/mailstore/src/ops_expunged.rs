//! Delayed expunge (Cyrus's `expunge_mode: delayed`): the messages an expunge kept, listed
//! ([`Store::expunged`]), restored under new UIDs ([`Store::unexpunge`], Cyrus's `unexpunge`)
//! and purged once old enough ([`Store::purge_expunged`], Cyrus's `cyr_expire -X`).
//!
//! An expunge under the delayed mode does for clients exactly what an immediate one does (the
//! record leaves the mailbox, a tombstone is left for QRESYNC, the counters and quota usage go
//! down: Cyrus does not count expunged messages against quota either) and in the same commit
//! keeps the record, dated, in the owner index's `expunged_records` table; after the commit the
//! file is renamed from `UID.` to `UID.expunged` (see `partition::kept_path`).
//!
//! Restoring appends the kept file again, with the flags and internal date it had, so it gets
//! a new UID (clients that knew the old one saw it vanish and now see a new message), then
//! forgets the kept record and unlinks the kept file. Purging unlinks the files first and
//! drops the records after, so a kept record never names a file that was taken for a live one.
//!
//! Must not: hold an owner's lock for more than one bounded batch ([`PURGE_BATCH`]).

use types::{Flag, MailboxName, Uid};

use crate::error::{Result, StoreError};
use crate::index::{IndexHeader, KeptRow};
use crate::model::{AppendItem, AppendSource, InternalDate, MailboxEntry};
use crate::ops_append::to_uid;
use crate::ops_tombstones::PURGE_BATCH;
use crate::partition::{kept_path, message_path};
use crate::{Resolved, Store};

/// Most bytes of a kept file read to find its Subject for a listing.
const SUBJECT_READ: u64 = 64 * 1024;

/// One message an expunge kept, as `darius unexpunge -l` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpungedMessage {
    /// The UID it had.
    pub uid: Uid,
    /// Unix seconds of the expunge.
    pub expunged_at: i64,
    /// RFC 822 size in bytes.
    pub size: u64,
    pub internal_date: InternalDate,
    /// The flags it had (index flags; a private `\Seen` is not part of them).
    pub flags: Vec<Flag>,
    /// Its Subject, decoded; `None` when it has none or its file is gone.
    pub subject: Option<String>,
}

/// Which kept messages [`Store::unexpunge`] restores.
#[derive(Clone, Copy, Debug)]
pub enum Unexpunge<'a> {
    All,
    /// Those that had these UIDs (others are ignored).
    Uids(&'a [Uid]),
}

/// What a restored message's `\Deleted` flag becomes (Cyrus's `unexpunge -d` clears it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletedFlag {
    Keep,
    Clear,
}

/// What [`Store::unexpunge`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnexpungeOutcome {
    /// `(old UID, new UID)` of each message restored, by old UID.
    pub restored: Vec<(Uid, Uid)>,
    /// Kept records whose file was gone (lost in a crash or removed by hand): forgotten.
    pub missing: Vec<Uid>,
}

/// What [`Store::purge_expunged`] did.
#[derive(Debug, Default)]
pub struct ExpireReport {
    /// Mailboxes looked at.
    pub mailboxes: usize,
    /// Kept messages purged (file unlinked, record dropped), over all mailboxes.
    pub messages: usize,
    /// Mailboxes that could not be purged, and why (the others were still done).
    pub failed: Vec<(MailboxName, StoreError)>,
    /// Whether the run was asked to stop before it had looked at every mailbox.
    pub stopped: bool,
}

impl Store {
    /// The messages of `name` an expunge kept, by old UID.
    pub fn expunged(&self, name: &MailboxName) -> Result<Vec<ExpungedMessage>> {
        let r = self.resolve(name)?;
        let snap = r.owner.read()?;
        let h = snap
            .header(&r.entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
        let dir = self
            .inner
            .partitions
            .mailbox_dir(&h.partition, &h.uniqueid)?;
        snap.kept(&h.uniqueid)?
            .into_iter()
            .map(|row| {
                let subject = kept_file(&dir, row.uid).and_then(|p| subject_of(&p));
                Ok(ExpungedMessage {
                    uid: to_uid(row.uid)?,
                    expunged_at: row.expunged_at,
                    size: row.record.size,
                    internal_date: row.record.internal_date,
                    flags: crate::flags::to_flags(&row.record, &h, None),
                    subject,
                })
            })
            .collect()
    }

    /// Restores kept messages of `name` as new messages (new UIDs, the flags and internal
    /// date they had), [`PURGE_BATCH`] per append. Quota is not checked: the administrator
    /// gives back what the user had.
    pub fn unexpunge(
        &self,
        name: &MailboxName,
        which: Unexpunge<'_>,
        deleted: DeletedFlag,
    ) -> Result<UnexpungeOutcome> {
        let r = self.resolve(name)?;
        let (h, mut kept) = {
            let snap = r.owner.read()?;
            let h = snap
                .header(&r.entry.uniqueid)?
                .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
            (h.clone(), snap.kept(&h.uniqueid)?)
        };
        if let Unexpunge::Uids(uids) = which {
            kept.retain(|row| uids.iter().any(|u| u.get() == row.uid));
        }
        let dir = self
            .inner
            .partitions
            .mailbox_dir(&h.partition, &h.uniqueid)?;
        let mut outcome = UnexpungeOutcome::default();
        for batch in kept.chunks(PURGE_BATCH) {
            self.restore_batch(&r, &h, &dir, batch, deleted, &mut outcome)?;
        }
        Ok(outcome)
    }

    fn restore_batch(
        &self,
        r: &Resolved,
        h: &IndexHeader,
        dir: &std::path::Path,
        batch: &[KeptRow],
        deleted: DeletedFlag,
        outcome: &mut UnexpungeOutcome,
    ) -> Result<()> {
        let mut items = Vec::new();
        let mut found = Vec::new();
        for row in batch {
            let Some(path) = kept_file(dir, row.uid) else {
                outcome.missing.push(to_uid(row.uid)?);
                continue;
            };
            let mut flags = crate::flags::to_flags(&row.record, h, None);
            if deleted == DeletedFlag::Clear {
                flags.retain(|f| *f != Flag::Deleted);
            }
            items.push(AppendItem {
                source: AppendSource::File(path),
                flags,
                internal_date: Some(row.record.internal_date),
            });
            found.push(row.uid);
        }
        if !items.is_empty() {
            let appended = self.append(&r.entry.name, items)?;
            for (old, new) in found.iter().zip(appended.uids) {
                outcome.restored.push((to_uid(*old)?, new));
            }
        }
        let uids: Vec<u32> = batch.iter().map(|row| row.uid).collect();
        let ow = r.owner.write()?;
        ow.drop_kept(&h.uniqueid, &uids)?;
        drop(ow.commit()?);
        for uid in uids {
            let _ = crate::msgfile::remove_if_present(&kept_path(dir, uid));
            let _ = crate::msgfile::remove_if_present(&message_path(dir, uid));
        }
        Ok(())
    }

    /// `expunge_days`: in every mailbox, purges the kept messages expunged before
    /// `older_than_unix` (Unix seconds): files unlinked, then records dropped. A mailbox that
    /// fails is reported and the others are still done; `stop` is asked before each mailbox,
    /// and once it says yes the rest is left for the next run.
    pub fn purge_expunged(
        &self,
        older_than_unix: i64,
        stop: &dyn Fn() -> bool,
    ) -> Result<ExpireReport> {
        let mut messages = 0;
        let sweep = self.sweep_mailboxes(stop, |entry| {
            messages += self.purge_expunged_in(entry, older_than_unix)?;
            Ok(())
        })?;
        Ok(ExpireReport {
            mailboxes: sweep.mailboxes,
            messages,
            failed: sweep.failed,
            stopped: sweep.stopped,
        })
    }

    /// Forgets the duplicate-delivery records and Sieve response-tracking keys that have
    /// expired by now (Cyrus's `cyr_expire -E`); deliveries also do this as they go.
    pub fn expire_deliveries(&self) -> Result<()> {
        self.inner.deliveries.expire(self.inner.config.clock.now())
    }

    fn purge_expunged_in(&self, entry: MailboxEntry, older_than: i64) -> Result<usize> {
        let owner = self.inner.owners.get(&entry.name.hierarchy_root())?;
        let r = Resolved { entry, owner };
        let mut total = 0;
        loop {
            let (h, old) = {
                let snap = r.owner.read()?;
                let Some(h) = snap.header(&r.entry.uniqueid)? else {
                    return Ok(total);
                };
                let mut old: Vec<u32> = snap
                    .kept(&h.uniqueid)?
                    .into_iter()
                    .filter(|row| row.expunged_at < older_than)
                    .map(|row| row.uid)
                    .collect();
                old.truncate(PURGE_BATCH);
                (h, old)
            };
            if old.is_empty() {
                return Ok(total);
            }
            let dir = self
                .inner
                .partitions
                .mailbox_dir(&h.partition, &h.uniqueid)?;
            for &uid in &old {
                crate::msgfile::remove_if_present(&kept_path(&dir, uid))?;
                crate::msgfile::remove_if_present(&message_path(&dir, uid))?;
            }
            self.inner.partitions.sync_dir(&dir)?;
            let ow = r.owner.write()?;
            ow.drop_kept(&h.uniqueid, &old)?;
            drop(ow.commit()?);
            total += old.len();
            if old.len() < PURGE_BATCH {
                return Ok(total);
            }
        }
    }
}

/// Where a kept message's file is: its kept name, or its old name when the rename after the
/// expunge did not happen (a crash); `None` when neither exists.
fn kept_file(dir: &std::path::Path, uid: u32) -> Option<std::path::PathBuf> {
    [kept_path(dir, uid), message_path(dir, uid)]
        .into_iter()
        .find(|p| p.is_file())
}

/// The decoded Subject of a message file, from its first [`SUBJECT_READ`] bytes.
fn subject_of(path: &std::path::Path) -> Option<String> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(SUBJECT_READ)
        .read_to_end(&mut head)
        .ok()?;
    let block = crate::msgfile::header_block(&head);
    message::header_fields(block)
        .into_iter()
        .find(|f| f.name.eq_ignore_ascii_case(b"subject"))
        .map(|f| message::decode_header_value(&message::unfold(f.value)))
}
