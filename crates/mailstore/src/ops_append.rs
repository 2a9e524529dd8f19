//! APPEND (single and MULTIAPPEND, RFC 3502): all messages of one call land in one index commit.

use std::path::{Path, PathBuf};

use types::{MailboxName, ModSeq, Uid, UidValidity};

use crate::codec::IndexRecord;
use crate::error::{Result, StoreError};
use crate::flags::{self, Adding, Sign};
use crate::index::{IndexHeader, IndexWrite, RecordRow};
use crate::model::{
    unix_now, AppendItem, AppendOutcome, Change, Delivered, InternalDate, QuotaUsage,
};
use crate::msgfile::{self, Spooled};
use crate::partition::message_path;
use crate::quota::QuotaPolicy;
use crate::Store;

/// A spooled message with what the caller said about it.
struct Pending {
    spooled: Spooled,
    item: AppendItem,
}

/// Files linked during a commit that has not happened yet; unlinked if it never does, so an
/// append that failed leaves no message behind for reconstruct to resurrect.
pub(crate) struct LinkedFiles {
    pub paths: Vec<PathBuf>,
    pub committed: bool,
}

impl Drop for LinkedFiles {
    fn drop(&mut self) {
        if !self.committed {
            for p in &self.paths {
                // Best effort: reconstruct indexes anything left behind.
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// Links `src` into `dir` under the lowest free UID at or above `*next`; returns that UID and
/// advances `*next` past it. Existing files (from a crash before an index commit) are skipped.
pub(crate) fn link_at_next_uid(
    src: &Path,
    dir: &Path,
    next: &mut u32,
    linked: &mut LinkedFiles,
) -> Result<u32> {
    loop {
        let uid = *next;
        if uid == 0 {
            return Err(StoreError::UidSpaceExhausted);
        }
        *next = uid.checked_add(1).unwrap_or(0);
        let dest = message_path(dir, uid);
        if msgfile::link_new(src, &dest)? {
            linked.paths.push(dest);
            return Ok(uid);
        }
    }
}

pub(crate) fn bump_modseq(h: &mut IndexHeader) -> Result<u64> {
    let next = h
        .highestmodseq
        .checked_add(1)
        .filter(|v| *v <= ModSeq::MAX_VALUE);
    h.highestmodseq =
        next.ok_or_else(|| StoreError::corrupt("mailbox header", "MODSEQ overflow"))?;
    Ok(h.highestmodseq)
}

pub(crate) fn uidvalidity(h: &IndexHeader) -> Result<UidValidity> {
    UidValidity::new(h.uidvalidity)
        .ok_or_else(|| StoreError::corrupt("mailbox header", "zero UIDVALIDITY"))
}

pub(crate) fn to_uid(v: u32) -> Result<Uid> {
    Uid::new(v).ok_or_else(|| StoreError::corrupt("index", "zero UID"))
}

pub(crate) fn to_modseq(v: u64) -> Result<ModSeq> {
    ModSeq::new(v).ok_or_else(|| StoreError::corrupt("index", "MODSEQ out of range"))
}

impl Store {
    /// Appends messages; returns APPENDUID data. Sources are normalised to CRLF (bare LF made
    /// CRLF, bare CR kept, NUL refused), checked against `max_message_size`, fsynced and linked before the index
    /// commit, which happens before this returns.
    pub fn append(&self, name: &MailboxName, items: Vec<AppendItem>) -> Result<AppendOutcome> {
        self.append_checked(name, items, None)
    }

    /// [`Store::append`] checked against `quota` (all messages or none:
    /// [`StoreError::OverQuota`]), atomically with the commit.
    pub fn append_checked(
        &self,
        name: &MailboxName,
        items: Vec<AppendItem>,
        quota: Option<&dyn QuotaPolicy>,
    ) -> Result<AppendOutcome> {
        let r = self.resolve(name)?;
        self.refuse_newsgroup(&r.entry)?;
        let header = self.header_of(&r)?;
        if items.is_empty() {
            let uidvalidity = uidvalidity(&header)?;
            return Ok(AppendOutcome {
                uidvalidity,
                uids: Vec::new(),
            });
        }
        let pending = self.spool_all(&header.partition, items)?;
        self.append_spooled(&r, header.partition, &pending, quota)
    }

    /// Delivers one message to several mailboxes (LMTP's single-instance store): the message is
    /// normalised and spooled once, and each mailbox on the same partition gets a hard link to
    /// that one file, in its own index commit. The outer error is about the message itself (too
    /// big, malformed, spool I/O) and concerns every target; the inner results are per target,
    /// in the order given.
    ///
    /// With a `message_id` (duplicate suppression), a mailbox that already received a message
    /// with that Message-ID in the last [`crate::DUPLICATE_KEEP_DAYS`] days gets
    /// [`Delivered::Duplicate`] and no copy; every mailbox stored into is remembered.
    pub fn deliver(
        &self,
        targets: &[MailboxName],
        item: AppendItem,
        message_id: Option<&str>,
    ) -> Result<Vec<Result<Delivered>>> {
        self.deliver_checked(targets, item, message_id, None)
    }

    /// [`Store::deliver`] with each target checked against `quota` atomically with its
    /// commit (a refused target gets [`StoreError::OverQuota`]; the others go on).
    pub fn deliver_checked(
        &self,
        targets: &[MailboxName],
        item: AppendItem,
        message_id: Option<&str>,
        quota: Option<&dyn QuotaPolicy>,
    ) -> Result<Vec<Result<Delivered>>> {
        let now = unix_now();
        let mut spools: Vec<(String, Vec<Pending>)> = Vec::new();
        let mut out = Vec::with_capacity(targets.len());
        let mut stored: Vec<String> = Vec::new();
        for name in targets {
            let one = (|| {
                let r = self.resolve(name)?;
                self.refuse_newsgroup(&r.entry)?;
                if let Some(id) = message_id {
                    if self
                        .inner
                        .deliveries
                        .delivered(id, &r.entry.uniqueid, now)?
                    {
                        return Ok(Delivered::Duplicate);
                    }
                }
                let partition = self.header_of(&r)?.partition;
                let at = match spools.iter().position(|(part, _)| *part == partition) {
                    Some(at) => at,
                    None => {
                        let pending = match spools.first() {
                            // Checked and normalised once; another partition gets a copy.
                            Some((_, done)) => self.copy_pending(&partition, done)?,
                            None => self.spool_all(&partition, vec![item.clone()])?,
                        };
                        spools.push((partition.clone(), pending));
                        spools.len() - 1
                    }
                };
                let outcome = self.append_spooled(&r, partition, &spools[at].1, quota)?;
                stored.push(r.entry.uniqueid.clone());
                Ok(Delivered::Stored(outcome))
            })();
            match one {
                Err(e @ (StoreError::TooBig { .. } | StoreError::BadMessage(_)))
                    if spools.is_empty() =>
                {
                    return Err(e);
                }
                other => out.push(other),
            }
        }
        if let Some(id) = message_id {
            let ids: Vec<&str> = stored.iter().map(String::as_str).collect();
            // The messages are stored and acknowledged either way; forgetting them here only
            // means a later duplicate is not recognised.
            if let Err(e) = self.inner.deliveries.record(id, &ids, now) {
                tracing::warn!("duplicate-delivery database: {e}");
            }
        }
        Ok(out)
    }

    /// Commits already spooled messages into the mailbox `r` expected on `partition`.
    fn append_spooled(
        &self,
        r: &crate::Resolved,
        mut partition: String,
        pending: &[Pending],
        quota: Option<&dyn QuotaPolicy>,
    ) -> Result<AppendOutcome> {
        let name = &r.entry.name;
        let mut moved: Option<Vec<Pending>> = None;
        // A partition move between spooling and locking is rare; re-spool a bounded number of
        // times rather than hold the lock while reading sources.
        for _ in 0..3 {
            let (ow, mut h) = self.write_header(r)?;
            if h.partition != partition {
                drop(ow);
                partition = h.partition;
                moved = Some(self.copy_pending(&partition, moved.as_deref().unwrap_or(pending))?);
                continue;
            }
            let pending = moved.as_deref().unwrap_or(pending);
            let adding = pending.iter().fold(QuotaUsage::default(), |a, p| {
                a.plus(QuotaUsage::one_message(p.spooled.size))
            });
            let owner = name.hierarchy_root();
            let span = self.check_quota(&owner, &ow, name, adding, quota)?;
            let (uids, modseq, guard) = self.commit_append(ow, &mut h, pending)?;
            drop(span);
            let uv = uidvalidity(&h)?;
            self.inner.changes.publish(
                &r.entry.uniqueid,
                Change::Appended {
                    uids: uids.clone(),
                    modseq: to_modseq(modseq)?,
                },
            );
            drop(guard);
            return Ok(AppendOutcome {
                uidvalidity: uv,
                uids,
            });
        }
        Err(StoreError::corrupt(
            "mailbox",
            "partition keeps changing during append",
        ))
    }

    fn spool_all(&self, partition: &str, items: Vec<AppendItem>) -> Result<Vec<Pending>> {
        let tmp = self.inner.partitions.tmp_dir(partition)?;
        let limit = Some(self.message_size_limit());
        let durable = self.inner.partitions.durable();
        items
            .into_iter()
            .map(|item| {
                let spooled = msgfile::spool(&item.source, &tmp, limit, durable)?;
                Ok(Pending { spooled, item })
            })
            .collect()
    }

    /// Copies spooled messages into `partition`'s spool directory (for another partition).
    fn copy_pending(&self, partition: &str, pending: &[Pending]) -> Result<Vec<Pending>> {
        let tmp = self.inner.partitions.tmp_dir(partition)?;
        let durable = self.inner.partitions.durable();
        pending
            .iter()
            .map(|p| {
                Ok(Pending {
                    spooled: Spooled {
                        temp: msgfile::copy_to_temp(p.spooled.temp.path(), &tmp, durable)?,
                        size: p.spooled.size,
                        guid: p.spooled.guid,
                        cache: p.spooled.cache.clone(),
                        header: p.spooled.header.clone(),
                    },
                    item: p.item.clone(),
                })
            })
            .collect()
    }

    /// Links every pending file, writes the records and commits. Returns the new UIDs, the
    /// operation's MODSEQ and the still-held owner lock.
    fn commit_append<'a>(
        &self,
        ow: IndexWrite<'a>,
        h: &mut IndexHeader,
        pending: &[Pending],
    ) -> Result<(Vec<Uid>, u64, crate::index::OwnerGuard<'a>)> {
        let dir = self
            .inner
            .partitions
            .mailbox_dir(&h.partition, &h.uniqueid)?;
        let modseq = bump_modseq(h)?;
        let now = unix_now();
        let mut linked = LinkedFiles {
            paths: Vec::new(),
            committed: false,
        };
        let mut next = h.uidnext;
        let mut rows = Vec::with_capacity(pending.len());
        for p in pending {
            let uid = link_at_next_uid(p.spooled.temp.path(), &dir, &mut next, &mut linked)?;
            let bits = flags::to_bits(&p.item.flags, h, Adding::Yes)?;
            let record = IndexRecord {
                system_flags: bits.system,
                keywords: bits.keywords,
                internal_date: p.item.internal_date.unwrap_or(InternalDate {
                    unix_seconds: now,
                    offset_minutes: 0,
                }),
                save_date: now,
                size: p.spooled.size,
                modseq,
                guid: p.spooled.guid,
            };
            flags::count(h, &record, Sign::Add);
            rows.push(RecordRow {
                uid,
                record,
                cache: Some(p.spooled.cache.clone()),
                header: Some(p.spooled.header.clone()),
            });
        }
        self.inner.partitions.sync_dir(&dir)?;
        self.inner
            .partitions
            .durable()
            .hooks()
            .reached(crate::CrashPoint::AppendLinked);
        h.uidnext = next;
        if next == 0 {
            // The last UID was just used; keep UIDNEXT meaningful (RFC 9051 requires it to be
            // larger than every UID), the next append will be refused.
            h.uidnext = u32::MAX;
        }
        ow.put_messages(&h.uniqueid, &rows)?;
        ow.put_header(h)?;
        let guard = ow.commit()?;
        linked.committed = true;
        let uids = rows
            .iter()
            .map(|r| to_uid(r.uid))
            .collect::<Result<Vec<_>>>()?;
        Ok((uids, modseq, guard))
    }
}
