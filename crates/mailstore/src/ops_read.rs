//! Read-only operations: STATUS, FETCH of index records and message bytes, and change-feed
//! subscription (QRESYNC VANISHED is in `ops_tombstones`). All run on redb snapshots and never block writers.

use std::path::PathBuf;

use tokio::sync::broadcast;
use types::{MailboxName, ModSeq, Uid};

use crate::codec::{UidSet, FLAG_SEEN};
use crate::error::{Result, StoreError};
use crate::flags;
use crate::index::{IndexHeader, RecordRow};
use crate::message_file::MessageFile;
use crate::model::{
    Change, MailboxStatus, MailboxType, MessageRecord, RecordFields, SeenSource, SelectSnapshot,
    UidSelection,
};
use crate::msgfile;
use crate::ops_append::{to_modseq, to_uid, uidvalidity};
use crate::partition::message_path;
use crate::summary::{Row, Version};
use crate::Store;

/// STATUS counters from a mailbox header, with the viewer's `unseen` count.
fn mailbox_status(h: IndexHeader, unseen: u32) -> Result<MailboxStatus> {
    Ok(MailboxStatus {
        uidvalidity: uidvalidity(&h)?,
        uidnext: Uid::new(h.uidnext).unwrap_or(Uid::MAX),
        highestmodseq: to_modseq(h.highestmodseq)?,
        exists: h.exists,
        size: h.size,
        deleted: h.deleted,
        unseen,
        keywords: h.keywords,
    })
}

/// A row as the viewer sees it: its private `\Seen` from `seen` when it has one.
fn message_record(row: RecordRow, h: &IndexHeader, seen: Option<&UidSet>) -> Result<MessageRecord> {
    let seen_flag = seen.map(|s| s.contains(row.uid));
    Ok(MessageRecord {
        uid: to_uid(row.uid)?,
        flags: flags::to_flags(&row.record, h, seen_flag),
        internal_date: row.record.internal_date,
        save_date: row.record.save_date,
        size: row.record.size,
        modseq: to_modseq(row.record.modseq)?,
        guid: row.record.guid,
        cache: row.cache,
        header: row.header,
    })
}

impl Store {
    /// STATUS counters from the mailbox header. `unseen` is for the viewer `seen` names; for a
    /// private-seen viewer it walks the UIDs (not the cache).
    /// What an EXPUNGE would free: the RFC 822 sizes of the `\Deleted` messages (STATUS
    /// DELETED-STORAGE, RFC 9208). One pass over the records, in constant memory.
    pub fn deleted_storage(&self, name: &MailboxName) -> Result<u64> {
        let r = self.resolve(name)?;
        let snap = r.owner.read()?;
        snap.deleted_storage(&r.entry.uniqueid)
    }

    pub fn status(&self, name: &MailboxName, seen: SeenSource<'_>) -> Result<MailboxStatus> {
        let r = self.resolve(name)?;
        let snap = r.owner.read()?;
        let h = snap
            .header(&r.entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
        let unseen = match seen {
            SeenSource::Index => h.exists.saturating_sub(h.seen),
            SeenSource::PrivateTo(user) => {
                let set = self
                    .inner
                    .global
                    .read()?
                    .seen_set(user, &r.entry.uniqueid)?;
                let rows = snap.records(&r.entry.uniqueid, UidSelection::All, false, false)?;
                rows.iter().filter(|row| !set.contains(row.uid)).count() as u32
            }
        };
        mailbox_status(h, unseen)
    }

    /// What SELECT needs, from one snapshot and one pass over the records: the status (its
    /// keyword table and counters consistent with the records), every UID, the first message
    /// the viewer has not seen, and in full the records changed after `changed_since` (QRESYNC).
    /// A record is decoded only in part for the pass, so a large mailbox opens in about the
    /// time it takes to walk its keys.
    pub fn select_snapshot(
        &self,
        name: &MailboxName,
        seen: SeenSource<'_>,
        changed_since: Option<ModSeq>,
    ) -> Result<SelectSnapshot> {
        let r = self.resolve(name)?;
        let generation = r.owner.summaries.generation();
        let snap = r.owner.read()?;
        let h = snap
            .header(&r.entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
        let set = self.private_seen(seen, &r.entry.uniqueid)?;
        let version = Version::of(&h);
        let summary = match r.owner.summaries.get(&r.entry.uniqueid, version) {
            Some(summary) => summary,
            None => {
                let rows = snap.scan(&r.entry.uniqueid)?;
                r.owner
                    .summaries
                    .offer(&r.entry.uniqueid, version, rows, generation)
            }
        };
        let is_seen = |row: &Row| match &set {
            Some(set) => set.contains(row.uid),
            None => row.flags & FLAG_SEEN != 0,
        };
        let mut uids = Vec::with_capacity(summary.rows.len());
        let mut first_unseen = None;
        let mut unseen: u32 = 0;
        let mut wanted = Vec::new();
        let above = changed_since.map_or(u64::MAX, ModSeq::get);
        for (i, row) in summary.rows.iter().enumerate() {
            let uid = to_uid(row.uid)?;
            uids.push(uid);
            if !is_seen(row) {
                unseen = unseen.saturating_add(1);
                if first_unseen.is_none() {
                    first_unseen = u32::try_from(i + 1).ok();
                }
            }
            if row.modseq > above {
                wanted.push(uid);
            }
        }
        let rows = match wanted.is_empty() {
            true => Vec::new(),
            false => snap.records(&r.entry.uniqueid, UidSelection::Uids(&wanted), false, false)?,
        };
        let changed = rows
            .into_iter()
            .map(|row| message_record(row, &h, set.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        let status = mailbox_status(h, unseen)?;
        Ok(SelectSnapshot {
            status,
            uids,
            first_unseen,
            changed,
        })
    }

    /// The mailbox's keyword table, in the order its keywords were defined: what the untagged
    /// FLAGS response lists (RFC 9051 §7.3.5). It only grows, up to [`crate::MAX_KEYWORDS`].
    pub fn keywords(&self, name: &MailboxName) -> Result<Vec<String>> {
        let r = self.resolve(name)?;
        Ok(self.header_of(&r)?.keywords)
    }

    /// Index records of the selected messages in UID order (missing UIDs are skipped), with
    /// flags as the viewer `seen` names sees them.
    pub fn records(
        &self,
        name: &MailboxName,
        seen: SeenSource<'_>,
        selection: UidSelection<'_>,
        fields: RecordFields,
    ) -> Result<Vec<MessageRecord>> {
        let r = self.resolve(name)?;
        let snap = r.owner.read()?;
        let h = snap
            .header(&r.entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
        let set = self.private_seen(seen, &r.entry.uniqueid)?;
        let rows = snap.records(&r.entry.uniqueid, selection, fields.cache, fields.header)?;
        rows.into_iter()
            .map(|row| message_record(row, &h, set.as_ref()))
            .collect()
    }

    /// The private `\Seen` set of the viewer, when it has one (see [`SeenSource`]).
    fn private_seen(&self, seen: SeenSource<'_>, uniqueid: &str) -> Result<Option<UidSet>> {
        match seen {
            SeenSource::Index => Ok(None),
            SeenSource::PrivateTo(user) => {
                Ok(Some(self.inner.global.read()?.seen_set(user, uniqueid)?))
            }
        }
    }

    /// The path of a message file, for callers that stream large messages themselves. The file
    /// may vanish (expunge, partition move) at any time after this returns. A newsgroup's
    /// article file is the news server's, possibly in its wire format: read those through
    /// [`Store::open_message`] or [`Store::read_message`] instead.
    pub fn message_file(&self, name: &MailboxName, uid: Uid) -> Result<PathBuf> {
        Ok(self.locate(name, uid)?.path)
    }

    /// Where a message's file is, and whether it is a news article (and the message's size).
    fn locate(&self, name: &MailboxName, uid: Uid) -> Result<Located> {
        let r = self.resolve(name)?;
        let snap = r.owner.read()?;
        let h = snap
            .header(&r.entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
        let rows = snap.records(&h.uniqueid, UidSelection::Uids(&[uid]), false, false)?;
        let Some(row) = rows.first() else {
            return Err(StoreError::NoSuchMessage(uid.get()));
        };
        if r.entry.mailbox_type == MailboxType::Netnews {
            return Ok(Located {
                path: self.article_path(name, uid.get())?,
                article_size: Some(row.record.size),
            });
        }
        Ok(Located {
            path: message_path(
                &self
                    .inner
                    .partitions
                    .mailbox_dir(&h.partition, &h.uniqueid)?,
                uid.get(),
            ),
            article_size: None,
        })
    }

    /// The whole message.
    pub fn read_message(&self, name: &MailboxName, uid: Uid) -> Result<Vec<u8>> {
        let limit = Some(self.message_size_limit());
        self.with_file(name, uid, |at| match at.article_size {
            Some(_) => crate::article::read_article(&at.path, limit),
            None => msgfile::read_all(&at.path),
        })
    }

    /// Up to `len` bytes from `offset` (RFC 9051 partial fetch; `BODY[section]` by cached offsets).
    pub fn read_range(
        &self,
        name: &MailboxName,
        uid: Uid,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>> {
        self.with_file(name, uid, |at| match at.article_size {
            Some(size) => MessageFile::open_article(at.path.clone(), size)?.read_range(offset, len),
            None => msgfile::read_range(&at.path, offset, len),
        })
    }

    /// The message file, open for reading ranges (FETCH streams large messages from it). It
    /// stays readable after an expunge unlinks it.
    pub fn open_message(&self, name: &MailboxName, uid: Uid) -> Result<MessageFile> {
        self.with_file(name, uid, |at| match at.article_size {
            Some(size) => MessageFile::open_article(at.path.clone(), size),
            None => MessageFile::open(at.path.clone()),
        })
    }

    /// Runs `f` on the message file; retries once with a fresh snapshot if the file went away
    /// under a partition move, and maps a really missing file to `NoSuchMessage`.
    fn with_file<T>(
        &self,
        name: &MailboxName,
        uid: Uid,
        f: impl Fn(&Located) -> Result<T>,
    ) -> Result<T> {
        let mut last = None;
        for _ in 0..2 {
            let at = match self.locate(name, uid) {
                // A news article the news server removed (a cancel) before `rmnews` ran.
                Err(StoreError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    return Err(StoreError::NoSuchMessage(uid.get()));
                }
                other => other?,
            };
            match f(&at) {
                Err(StoreError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    last = Some(StoreError::NoSuchMessage(uid.get()));
                }
                other => return other,
            }
        }
        Err(last.unwrap_or(StoreError::NoSuchMessage(uid.get())))
    }

    /// Subscribes to the mailbox's change feed (see [`Change`]). Subscribe *before* reading the
    /// state you fold changes into, so nothing falls between the two.
    pub fn subscribe_changes(&self, name: &MailboxName) -> Result<broadcast::Receiver<Change>> {
        let entry = self.mailbox_entry(name)?;
        Ok(self.inner.changes.subscribe(&entry.uniqueid))
    }

    /// Benchmark/test support: writes `count` records (no message files) sharing `template`'s
    /// cache bytes straight into the index, in batches. Not for production use.
    #[doc(hidden)]
    pub fn bulk_load_records(&self, name: &MailboxName, count: u32, cache: &[u8]) -> Result<()> {
        let r = self.resolve(name)?;
        let mut left = count;
        while left > 0 {
            let batch = left.min(50_000);
            let ow = r.owner.write()?;
            let mut h = ow
                .header(&r.entry.uniqueid)?
                .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
            let rows = synthetic_rows(&mut h, batch, cache);
            ow.put_messages(&h.uniqueid, &rows)?;
            ow.put_header(&h)?;
            drop(ow.commit()?);
            left -= batch;
        }
        Ok(())
    }
}

fn synthetic_rows(h: &mut IndexHeader, n: u32, cache: &[u8]) -> Vec<crate::index::RecordRow> {
    h.highestmodseq += 1;
    (0..n)
        .map(|i| {
            let uid = h.uidnext;
            h.uidnext += 1;
            let record = crate::codec::IndexRecord {
                system_flags: if i % 2 == 0 { FLAG_SEEN } else { 0 },
                keywords: Vec::new(),
                internal_date: crate::model::InternalDate {
                    unix_seconds: 1_700_000_000,
                    offset_minutes: 0,
                },
                save_date: 1_700_000_000,
                size: 4096,
                modseq: h.highestmodseq,
                guid: [0; 32],
            };
            flags::count(h, &record, flags::Sign::Add);
            crate::index::RecordRow {
                uid,
                record,
                cache: Some(cache.to_vec()),
                header: Some(Vec::new()),
            }
        })
        .collect()
}

/// A message's file as [`Store::locate`] finds it.
struct Located {
    path: PathBuf,
    /// For a news article: the size of the message it holds (the file's differs).
    article_size: Option<u64>,
}
