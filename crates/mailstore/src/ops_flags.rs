//! STORE (RFC 9051 §6.4.6, with RFC 7162 UNCHANGEDSINCE) and EXPUNGE / UID EXPUNGE.

use types::{MailboxName, ModSeq, Uid};

use crate::codec::{IndexRecord, UidSet, FLAG_DELETED, FLAG_SEEN};
use crate::config::ExpungeMode;
use crate::error::{Result, StoreError};
use crate::flags::{self, Bits, Sign};
use crate::index::{IndexHeader, RecordRow};
use crate::model::{Change, Expunge, FlagChange, SeenSource, StoreFlagsOutcome, UidSelection};
use crate::ops_append::{bump_modseq, to_modseq, to_uid};
use crate::partition::{kept_path, message_path};
use crate::Store;

/// The effect of a STORE on one message, before MODSEQs are assigned.
struct Planned {
    uid: u32,
    record: IndexRecord,
    index_changed: bool,
    seen: Option<bool>,
    seen_changed: bool,
}

impl Store {
    /// Changes flags of the given messages as `seen` directs (see [`SeenSource`]). Messages whose
    /// MODSEQ exceeds `unchanged_since` are left alone and listed in `modified`; UIDs that do not
    /// exist are ignored (RFC 9051: STORE on expunged messages is not an error).
    pub fn store_flags(
        &self,
        name: &MailboxName,
        seen: SeenSource<'_>,
        uids: &[Uid],
        change: FlagChange,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreFlagsOutcome> {
        let r = self.resolve(name)?;
        let uniqueid = r.entry.uniqueid.clone();
        let ow = r.owner.write()?;
        let mut h = ow
            .header(&uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
        let mut seen_set = match seen {
            SeenSource::Index => None,
            SeenSource::PrivateTo(user) => {
                Some(self.inner.global.read()?.seen_set(user, &uniqueid)?)
            }
        };
        let rows = ow.records(&uniqueid, UidSelection::Uids(uids))?;
        let mut outcome = StoreFlagsOutcome::default();
        let mut planned = Vec::with_capacity(rows.len());
        for row in rows {
            if unchanged_since.is_some_and(|s| row.record.modseq > s.get()) {
                outcome.modified.push(to_uid(row.uid)?);
                continue;
            }
            planned.push(plan(row, &change, &mut h, seen_set.as_ref())?);
        }
        let applied = write_planned(&ow, &mut h, planned, seen_set.as_mut())?;
        outcome.updated = applied.updated;
        ow.put_header(&h)?;
        let guard = ow.commit()?;
        if let (SeenSource::PrivateTo(user), Some(set), false) =
            (seen, &seen_set, applied.seen_changes.is_empty())
        {
            let g = self.inner.global.write()?;
            g.put_seen_set(user, &uniqueid, set)?;
            g.commit()?;
            let user = user.to_string();
            let change = Change::SeenChanged {
                user,
                uids: applied.seen_changes,
            };
            self.inner.changes.publish(&uniqueid, change);
        }
        if !applied.flag_changes.is_empty() {
            let change = Change::FlagsChanged {
                changes: applied.flag_changes,
            };
            self.inner.changes.publish(&uniqueid, change);
        }
        drop(guard);
        Ok(outcome)
    }

    /// Removes messages, leaving tombstones for QRESYNC; files are unlinked after the commit.
    /// Returns the expunged UIDs in ascending order.
    pub fn expunge(&self, name: &MailboxName, which: Expunge) -> Result<Vec<Uid>> {
        let r = self.resolve(name)?;
        let uniqueid = r.entry.uniqueid.clone();
        let ow = r.owner.write()?;
        let mut h = ow
            .header(&uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
        let (sel, only_deleted) = match &which {
            Expunge::AllDeleted => (UidSelection::All, true),
            Expunge::DeletedAmong(u) => (UidSelection::Uids(u), true),
            Expunge::Uids(u) => (UidSelection::Uids(u), false),
        };
        let mut rows = ow.records(&uniqueid, sel)?;
        rows.retain(|r| !only_deleted || r.record.system_flags & FLAG_DELETED != 0);
        rows.sort_by_key(|r| r.uid);
        rows.dedup_by_key(|r| r.uid);
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        // Articles leave a newsgroup only with the news server's say (`rmnews`).
        self.refuse_newsgroup(&r.entry)?;
        let modseq = bump_modseq(&mut h)?;
        let gone = self.remove_rows(&ow, &mut h, &rows, modseq)?;
        let guard = ow.commit()?;
        let uids = gone
            .iter()
            .map(|u| to_uid(*u))
            .collect::<Result<Vec<_>>>()?;
        self.inner.changes.publish(
            &uniqueid,
            Change::Expunged {
                uids: uids.clone(),
                modseq: to_modseq(modseq)?,
            },
        );
        drop(guard);
        self.unlink_messages(&h, &gone);
        Ok(uids)
    }

    /// Removes rows from the index and fixes the header counters (written here too).
    pub(crate) fn remove_rows(
        &self,
        ow: &crate::index::IndexWrite<'_>,
        h: &mut IndexHeader,
        rows: &[RecordRow],
        modseq: u64,
    ) -> Result<Vec<u32>> {
        let uids: Vec<u32> = rows.iter().map(|r| r.uid).collect();
        for row in rows {
            flags::count(h, &row.record, Sign::Remove);
        }
        let now = self.inner.config.clock.now();
        ow.remove_messages(&h.uniqueid, &uids, modseq, now)?;
        if self.inner.config.expunge_mode == ExpungeMode::Delayed {
            ow.keep_expunged(&h.uniqueid, rows, now)?;
        }
        ow.put_header(h)?;
        Ok(uids)
    }

    /// Unlinks files of committed expunges, or under `expunge_mode: delayed` renames them to
    /// their kept name (see [`kept_path`]). A failure leaves a stale file that reconstruct
    /// removes (its UID has a tombstone), so it is not reported to the client; `unexpunge`
    /// still finds a kept message under its old name.
    pub(crate) fn unlink_messages(&self, h: &IndexHeader, uids: &[u32]) {
        let Ok(dir) = self.inner.partitions.mailbox_dir(&h.partition, &h.uniqueid) else {
            return;
        };
        for &uid in uids {
            let path = message_path(&dir, uid);
            match self.inner.config.expunge_mode {
                ExpungeMode::Delayed => {
                    let _ = std::fs::rename(&path, kept_path(&dir, uid));
                }
                ExpungeMode::Immediate => {
                    let _ = crate::msgfile::remove_if_present(&path);
                }
            }
        }
    }
}

/// What [`write_planned`] did.
struct Applied {
    updated: Vec<(Uid, Vec<types::Flag>, ModSeq)>,
    flag_changes: Vec<(Uid, ModSeq)>,
    seen_changes: Vec<Uid>,
}

/// Writes changed records under one new MODSEQ and applies seen changes to `seen_set`.
///
/// A change of a private `\Seen` alone bumps the MODSEQ too and writes it to the record (whose
/// flags stay as they are): RFC 7162 §3.1 gives every message one MODSEQ that any change of its
/// metadata raises, so another client of that user asking `FETCH (FLAGS) (CHANGEDSINCE n)` learns
/// of it. Such UIDs are published in `FlagsChanged` as well as `SeenChanged`.
fn write_planned(
    ow: &crate::index::IndexWrite<'_>,
    h: &mut IndexHeader,
    mut planned: Vec<Planned>,
    mut seen_set: Option<&mut UidSet>,
) -> Result<Applied> {
    let any_change = planned.iter().any(|p| p.index_changed || p.seen_changed);
    let modseq = if any_change {
        bump_modseq(h)?
    } else {
        h.highestmodseq
    };
    let mut out = Applied {
        updated: Vec::new(),
        flag_changes: Vec::new(),
        seen_changes: Vec::new(),
    };
    for p in &mut planned {
        if !(p.index_changed || p.seen_changed) {
            continue;
        }
        let uid = to_uid(p.uid)?;
        p.record.modseq = modseq;
        ow.put_record(&h.uniqueid, p.uid, &p.record)?;
        out.flag_changes.push((uid, to_modseq(modseq)?));
        if let (true, Some(set), Some(v)) = (p.seen_changed, seen_set.as_deref_mut(), p.seen) {
            if v {
                set.insert(p.uid)
            } else {
                set.remove(p.uid)
            }
            out.seen_changes.push(uid);
        }
        let flags = flags::to_flags(&p.record, h, p.seen);
        out.updated.push((uid, flags, to_modseq(modseq)?));
    }
    Ok(out)
}

fn plan(
    row: RecordRow,
    change: &FlagChange,
    h: &mut IndexHeader,
    seen_set: Option<&UidSet>,
) -> Result<Planned> {
    let old = Bits {
        system: row.record.system_flags,
        keywords: row.record.keywords.clone(),
    };
    let mask = if seen_set.is_some() {
        !FLAG_SEEN
    } else {
        u8::MAX
    };
    let new = flags::apply(change, &old, h, mask)?;
    let index_changed = new != old;
    let mut record = row.record;
    if index_changed {
        flags::count(h, &record, Sign::Remove);
        record.system_flags = new.system;
        record.keywords = new.keywords;
        flags::count(h, &record, Sign::Add);
        // count() also moved `exists`/`size` down and up again: net zero.
    }
    let (seen, seen_changed) = match seen_set {
        None => (None, false),
        Some(set) => {
            let before = set.contains(row.uid);
            let after = flags::seen_after(change, before);
            (Some(after), after != before)
        }
    };
    Ok(Planned {
        uid: row.uid,
        record,
        index_changed,
        seen,
        seen_changed,
    })
}
