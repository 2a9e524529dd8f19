//! `reconstruct`: rebuild one mailbox's index from its message files.
//!
//! Message files are the source of truth. For each `UID.` file: a known record whose size
//! matches is kept as is (flags, dates, cache); a known record whose size differs is re-parsed
//! keeping flags and dates. A file the index does not list is one of:
//! - an expunged message whose unlink was interrupted: its UID carries a tombstone; removed —
//!   unless a delayed expunge keeps it (a kept record, no kept file yet: the crash came before
//!   the rename), then moved to its kept name for `unexpunge`;
//! - a message linked by an APPEND (or COPY) that crashed before its index commit, so it was
//!   never acknowledged. Its UID may lie below UIDNEXT by now: the next append skipped the
//!   taken file and committed a higher UID. Clients consider every UID below UIDNEXT known
//!   (RFC 9051 §2.3.1.1), so such a file gets a fresh UID at or above UIDNEXT (renamed, never
//!   overwriting); one already at or above UIDNEXT keeps its number, which no client has seen.
//!
//! Options ([`ReconstructOptions`]): unlisted files may instead be left alone and reported
//! (without Cyrus's `-f`), and a dry run (`-n`) computes the same report while aborting its
//! index transaction and touching no file.
//!
//! An expunged message whose tombstone was purged cannot be told from the second kind, so
//! [`Store::purge_tombstones`] unlinks the files again before it forgets their tombstones.
//! New or renumbered files are re-parsed and indexed (internal date = file mtime). Records
//! without a file are dropped (tombstoned). Header counters and UIDNEXT are recomputed. Runs
//! under the namespace and owner locks.
//!
//! It also removes, from the mailbox's owner index, copies of mailboxes that the mailboxes
//! database maps into another owner: what a cross-owner RENAME interrupted between its commits
//! leaves behind (see [`Store::rename_mailbox`]). When `cyrus.header` still names another owner
//! (a rename's last step did not happen), that owner's index is cleaned the same way.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use types::MailboxName;

use crate::codec::IndexRecord;
use crate::error::{Result, StoreError};
use crate::flags::{self, Sign};
use crate::index::{IndexHeader, RecordRow};
use crate::model::{
    unix_now, Change, InternalDate, ReconstructOptions, ReconstructReport, RepairMode,
    UidSelection, UnlistedFiles,
};
use crate::msgfile;
use crate::ops_append::{bump_modseq, to_modseq, to_uid};
use crate::partition::{
    self, kept_path, message_path, MailboxHeaderFile, MAILBOX_HEADER_FILE_VERSION,
};
use crate::Store;

impl Store {
    /// Rebuilds `name`'s index from its directory and reports what it changed (files the
    /// index does not list are adopted).
    pub fn reconstruct(&self, name: &MailboxName) -> Result<ReconstructReport> {
        self.reconstruct_with(name, ReconstructOptions::default())
    }

    /// [`Store::reconstruct`] as `options` say: adopting unlisted files or only reporting
    /// them, changing things or only reporting what it would change.
    pub fn reconstruct_with(
        &self,
        name: &MailboxName,
        options: ReconstructOptions,
    ) -> Result<ReconstructReport> {
        let _ns = self.namespace_lock();
        self.reconstruct_locked(name, options)
    }

    /// [`Store::reconstruct_with`] for callers already holding the namespace lock.
    pub(crate) fn reconstruct_locked(
        &self,
        name: &MailboxName,
        options: ReconstructOptions,
    ) -> Result<ReconstructReport> {
        let fix = options.mode == RepairMode::Fix;
        let mut set_aside = None;
        let r = match self.resolve(name) {
            Err(e) if e.is_damaged_database() && fix => {
                // Its index cannot be read at all: set it aside and start an empty one, in
                // which the mailbox's header is then made again below.
                set_aside = self
                    .inner
                    .owners
                    .set_aside_if_damaged(&name.hierarchy_root())?;
                self.resolve(name)?
            }
            other => other?,
        };
        // A newsgroup's files are the news server's: `collectnews` indexes them, not this.
        if r.entry.mailbox_type == crate::model::MailboxType::Netnews {
            return Ok(ReconstructReport::default());
        }
        let mut report = ReconstructReport {
            stale_copies_removed: self.clean_renamed_from(&r.entry, options.mode)?,
            index_set_aside: set_aside,
            ..ReconstructReport::default()
        };
        let ow = r.owner.write()?;
        report
            .stale_copies_removed
            .extend(self.drop_stale_copies(&ow, &name.hierarchy_root())?);
        let (mut h, recreated) = match ow.header(&r.entry.uniqueid)? {
            Some(h) => (h, false),
            None => (self.recreated_header(&r.entry, fix)?, true),
        };
        report.index_recreated = recreated;
        // With its index lost, the files are all there is: every one is adopted.
        let unlisted = match recreated {
            true => UnlistedFiles::Adopt,
            false => options.unlisted,
        };
        let dir = self
            .inner
            .partitions
            .mailbox_dir(&h.partition, &h.uniqueid)?;
        let files = message_files(&dir)?;
        let tombs = ow.tombstones(&h.uniqueid)?;
        let kept = ow.kept_uids(&h.uniqueid)?;
        let known = ow.records(&h.uniqueid, UidSelection::All)?;
        let before = h.clone();
        let modseq = bump_modseq(&mut h)?;
        let mut fresh = Vec::new();
        let mut strays = Vec::new();
        let mut left = Vec::new();
        let mut to_parse = Vec::new();
        for &uid in &files {
            let path = message_path(&dir, uid);
            match known.binary_search_by_key(&uid, |row| row.uid) {
                Ok(i) => {
                    if let Some(row) = recheck(&path, &known[i], modseq)? {
                        report.recached.push(to_uid(uid)?);
                        fresh.push(row);
                    }
                }
                Err(_)
                    if tombs.binary_search(&uid).is_ok()
                        && kept.binary_search(&uid).is_ok()
                        && !kept_path(&dir, uid).exists() =>
                {
                    // A delayed expunge committed but did not get to rename the file.
                    if fix {
                        std::fs::rename(&path, kept_path(&dir, uid))
                            .map_err(|e| StoreError::io(&path, e))?;
                    }
                    report.kept_files_moved.push(to_uid(uid)?);
                }
                Err(_) if tombs.binary_search(&uid).is_ok() => {
                    if fix {
                        msgfile::remove_if_present(&path)?;
                    }
                    report.stale_files_removed.push(to_uid(uid)?);
                }
                Err(_) if unlisted == UnlistedFiles::Report => left.push(uid),
                Err(_) if uid >= before.uidnext || recreated => {
                    to_parse.push((path, uid));
                    report.added.push(to_uid(uid)?);
                }
                Err(_) => strays.push(uid),
            }
        }
        let first_free = files.last().map_or(1, |u| u.saturating_add(1));
        let mut next = before.uidnext.max(first_free);
        for old in strays {
            let new = match options.mode {
                RepairMode::Fix => self.renumber(&dir, old, &mut next)?,
                RepairMode::DryRun => free_uid(&files, &mut next)?,
            };
            let path = message_path(&dir, if fix { new } else { old });
            to_parse.push((path, new));
            report.added.push(to_uid(new)?);
            report.renumbered.push((to_uid(old)?, to_uid(new)?));
        }
        if fix
            && (!report.renumbered.is_empty()
                || !report.stale_files_removed.is_empty()
                || !report.kept_files_moved.is_empty())
        {
            self.inner.partitions.sync_dir(&dir)?;
        }
        fresh.extend(reparse_all(to_parse, modseq)?);
        let lost: Vec<u32> = known
            .iter()
            .map(|row| row.uid)
            .filter(|u| files.binary_search(u).is_err())
            .collect();
        ow.remove_messages(&h.uniqueid, &lost, modseq, self.inner.config.clock.now())?;
        ow.put_messages(&h.uniqueid, &fresh)?;
        report.lost = lost.iter().map(|u| to_uid(*u)).collect::<Result<_>>()?;
        report.unadopted = left.iter().map(|u| to_uid(*u)).collect::<Result<_>>()?;
        let now_known = ow.records(&h.uniqueid, UidSelection::All)?;
        // Files left unadopted do not raise UIDNEXT: an append skips a taken file name.
        let max_file = files.iter().rev().find(|u| !left.contains(u)).copied();
        recount(&mut h, &now_known, max_file);
        // A crash inside a same-owner rename can leave the header's copy of the old name.
        h.name = r.entry.name.to_string();
        report.header_fixed =
            counters(&before) != counters(&h) || before.name != h.name || recreated;
        report.header_fixed |= self.fix_header_file(&dir, &r.entry, options.mode)?;
        if report.is_clean() || !fix {
            // Nothing to keep, or a dry run: the write transaction is aborted.
            drop(ow);
            return Ok(report);
        }
        ow.put_header(&h)?;
        let guard = ow.commit()?;
        self.publish_repairs(&h, &report, modseq)?;
        drop(guard);
        Ok(report)
    }

    /// A new index header for a mailbox whose header is gone, from its mailboxes-database entry,
    /// with a new UIDVALIDITY (clients must forget what they cached: the flags are lost). A dry
    /// run does not use up the UIDVALIDITY.
    fn recreated_header(
        &self,
        entry: &crate::model::MailboxEntry,
        fix: bool,
    ) -> Result<IndexHeader> {
        let g = self.inner.global.write()?;
        let uidvalidity = g.next_uidvalidity()?;
        if fix {
            g.commit()?;
        }
        Ok(crate::ops_mailbox::new_header(entry, uidvalidity))
    }

    /// When `cyrus.header` names this mailbox's old name in another owner, cleans that owner's
    /// index of its stale copy (a cross-owner rename stopped after the mailboxes database
    /// commit). Called before this mailbox's owner is locked: one owner lock at a time.
    /// In a dry run the stale copies are reported and kept.
    fn clean_renamed_from(
        &self,
        entry: &crate::model::MailboxEntry,
        mode: RepairMode,
    ) -> Result<Vec<String>> {
        let dir = self
            .inner
            .partitions
            .mailbox_dir(&entry.partition, &entry.uniqueid)?;
        let Some(old) = partition::read_header_file(&dir)
            .ok()
            .and_then(|f| MailboxName::try_from(f.name.as_str()).ok())
        else {
            return Ok(Vec::new());
        };
        let root = old.hierarchy_root();
        if root == entry.name.hierarchy_root() {
            return Ok(Vec::new());
        }
        let owner = self.inner.owners.get(&root)?;
        let ow = owner.write()?;
        let dropped = self.drop_stale_copies(&ow, &root)?;
        if !dropped.is_empty() && mode == RepairMode::Fix {
            drop(ow.commit()?);
        }
        Ok(dropped)
    }

    /// Removes from the owner index `ow` (of hierarchy `root`) every mailbox the mailboxes
    /// database maps into another owner. A mailbox the database does not map at all is left
    /// alone: it may be one `reconstruct -m` is about to restore, flags and all. Needs the
    /// namespace lock (a creation commits the index before the mailboxes database).
    fn drop_stale_copies(
        &self,
        ow: &crate::index::IndexWrite<'_>,
        root: &MailboxName,
    ) -> Result<Vec<String>> {
        let global = self.inner.global.read()?;
        let here: HashSet<String> = global
            .list(Some(root))?
            .into_iter()
            .map(|e| e.uniqueid)
            .collect();
        let unmapped: Vec<String> = ow
            .mailbox_ids()?
            .into_iter()
            .filter(|id| !here.contains(id))
            .collect();
        if unmapped.is_empty() {
            return Ok(unmapped);
        }
        // Only after a crash: one scan of the whole database.
        let elsewhere: HashSet<String> = global
            .list(None)?
            .into_iter()
            .filter(|e| e.name.hierarchy_root() != *root)
            .map(|e| e.uniqueid)
            .collect();
        let mut dropped = Vec::new();
        for id in unmapped.into_iter().filter(|id| elsewhere.contains(id)) {
            ow.remove_mailbox(&id)?;
            tracing::warn!("reconstruct: removed a stale copy of mailbox {id} from {root}'s index");
            dropped.push(id);
        }
        Ok(dropped)
    }

    /// Gives the never-acknowledged file `old` the lowest free UID at or above `*next`.
    fn renumber(&self, dir: &Path, old: u32, next: &mut u32) -> Result<u32> {
        loop {
            let uid = *next;
            if uid == 0 {
                return Err(StoreError::UidSpaceExhausted);
            }
            *next = uid.checked_add(1).unwrap_or(0);
            if msgfile::rename_new(&message_path(dir, old), &message_path(dir, uid))? {
                tracing::warn!(
                    "reconstruct: {} had an unacknowledged message as UID {old} (below UIDNEXT); \
                     it is now UID {uid}",
                    dir.display()
                );
                return Ok(uid);
            }
        }
    }

    fn publish_repairs(
        &self,
        h: &IndexHeader,
        report: &ReconstructReport,
        modseq: u64,
    ) -> Result<()> {
        let modseq = to_modseq(modseq)?;
        if !report.lost.is_empty() {
            let change = Change::Expunged {
                uids: report.lost.clone(),
                modseq,
            };
            self.inner.changes.publish(&h.uniqueid, change);
        }
        if !report.added.is_empty() {
            let change = Change::Appended {
                uids: report.added.clone(),
                modseq,
            };
            self.inner.changes.publish(&h.uniqueid, change);
        }
        Ok(())
    }

    /// Rewrites a missing or disagreeing `cyrus.header` (in a dry run, only finds it); true if
    /// it did.
    fn fix_header_file(
        &self,
        dir: &Path,
        entry: &crate::model::MailboxEntry,
        mode: RepairMode,
    ) -> Result<bool> {
        let want = MailboxHeaderFile {
            version: MAILBOX_HEADER_FILE_VERSION,
            name: entry.name.to_string(),
            uniqueid: entry.uniqueid.clone(),
            acl: entry.acl.clone(),
            mailbox_type: entry.mailbox_type,
        };
        if partition::read_header_file(dir).ok().as_ref() == Some(&want) {
            return Ok(false);
        }
        if mode == RepairMode::DryRun {
            return Ok(true);
        }
        self.inner.partitions.durable().create_dir(dir)?;
        self.inner.partitions.write_header_file(dir, &want)?;
        Ok(true)
    }
}

/// What [`Store::renumber`] would choose without renaming: the lowest UID at or above `*next`
/// with no file (`files` ascending).
fn free_uid(files: &[u32], next: &mut u32) -> Result<u32> {
    loop {
        let uid = *next;
        if uid == 0 {
            return Err(StoreError::UidSpaceExhausted);
        }
        *next = uid.checked_add(1).unwrap_or(0);
        if files.binary_search(&uid).is_err() {
            return Ok(uid);
        }
    }
}

/// UIDs of the `N.` files in a mailbox directory, ascending.
fn message_files(dir: &Path) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(StoreError::io(dir, e)),
    };
    for e in entries {
        let e = e.map_err(|err| StoreError::io(dir, err))?;
        let name = e.file_name();
        let uid = name
            .to_str()
            .and_then(|n| n.strip_suffix('.'))
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|u| *u > 0);
        if let Some(uid) = uid {
            out.push(uid);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// `None` if the record agrees with the file's size; else the record re-parsed (flags and
/// dates kept).
fn recheck(path: &Path, row: &RecordRow, modseq: u64) -> Result<Option<RecordRow>> {
    let len = fs::metadata(path)
        .map_err(|e| StoreError::io(path, e))?
        .len();
    if len == row.record.size {
        return Ok(None);
    }
    let mut fresh = reparse(path, row.uid, modseq)?;
    fresh.record.system_flags = row.record.system_flags;
    fresh.record.keywords = row.record.keywords.clone();
    fresh.record.internal_date = row.record.internal_date;
    fresh.record.save_date = row.record.save_date;
    Ok(Some(fresh))
}

/// [`reparse`] of many files, spread over the machine's cores (reading, hashing and scanning
/// is most of a reconstruct's time); rows come back in the order given.
fn reparse_all(jobs: Vec<(PathBuf, u32)>, modseq: u64) -> Result<Vec<RecordRow>> {
    crate::parallel::map_ordered(&jobs, |(path, uid)| reparse(path, *uid, modseq))
}

fn reparse(path: &Path, uid: u32, modseq: u64) -> Result<RecordRow> {
    let described = msgfile::describe_file(path)?;
    let mtime = fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or_else(unix_now);
    let record = IndexRecord {
        system_flags: 0,
        keywords: Vec::new(),
        internal_date: InternalDate {
            unix_seconds: mtime,
            offset_minutes: 0,
        },
        save_date: unix_now(),
        size: described.size,
        modseq,
        guid: described.guid,
    };
    Ok(RecordRow {
        uid,
        record,
        cache: Some(described.cache),
        header: Some(described.header),
    })
}

fn recount(h: &mut IndexHeader, rows: &[RecordRow], max_file_uid: Option<u32>) {
    h.exists = 0;
    h.size = 0;
    h.deleted = 0;
    h.seen = 0;
    for row in rows {
        flags::count(h, &row.record, Sign::Add);
        h.highestmodseq = h.highestmodseq.max(row.record.modseq);
    }
    let max_uid = rows
        .iter()
        .map(|r| r.uid)
        .chain(max_file_uid)
        .max()
        .unwrap_or(0);
    h.uidnext = h.uidnext.max(max_uid.saturating_add(1));
}

fn counters(h: &IndexHeader) -> (u32, u64, u32, u32, u32) {
    (h.exists, h.size, h.deleted, h.seen, h.uidnext)
}
