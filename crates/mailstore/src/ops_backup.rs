//! Online backup: a consistent copy of the store into another Darius data directory while
//! sessions keep working.
//!
//! Owns: the order in which files are copied and which locks are held meanwhile. Must not: know
//! anything of `imapd.conf` or the password database (the `darius` binary writes those).
//!
//! # Consistency
//! A redb file copied while no write transaction of its database is under way is a valid crash
//! image: redb opens it, repairing it as after a crash, at the last durable commit. So each
//! database is first made durable up to its last commit (an empty commit with
//! `Durability::Immediate`, which also writes out what non-durable commits left in redb's
//! buffers) and then copied while no writer can start:
//! - the mailboxes database under an open write transaction of its own;
//! - each owner index under the owner's writer lock, which every writer of that index takes;
//!   the mailboxes' message files (`UID.` of every record, `UID.expunged` of every kept expunged
//!   message) and `cyrus.header` are linked or copied under the same lock, from a snapshot
//!   taken under it, so files and index agree;
//! - the duplicate-delivery database like the mailboxes database;
//! - the Sieve directory under the Sieve scripts' lock.
//!
//! The store-wide namespace lock is held for the whole run: no mailbox is created, deleted,
//! renamed or moved, and no ACL or special-use changes, between the copy of the mailboxes
//! database and that of the last owner index, so every mailbox the copied database names has
//! its index header, its directory and the same ACL in the backup. Messages keep flowing (only
//! the owner being copied waits, for as long as its files take); namespace changes wait for the
//! end of the backup.
//!
//! Message files are hard links when the destination is on the partition's file system (a
//! message file is never rewritten in place, so a link is a copy), else copies; at the end one
//! syncfs(2) per destination root makes it all durable.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use redb::{Database, Durability};

use crate::error::{Result, StoreError};
use crate::model::MailboxEntry;
use crate::partition::{self, MAILBOX_HEADER_FILE};
use crate::Store;

/// Where a backup goes: the directories of another store, all empty or missing.
#[derive(Clone, Debug)]
pub struct BackupTarget {
    /// Gets `mailboxes.redb`, `deliver.redb` and `index/`.
    pub config_directory: PathBuf,
    /// A root for every partition of the store, by partition name.
    pub partitions: BTreeMap<String, PathBuf>,
    /// Gets a copy of the Sieve directory.
    pub sieve_directory: PathBuf,
}

/// What a backup copied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// Mailboxes in the copied mailboxes database (delayed-deleted ones included).
    pub mailboxes: u64,
    /// Message files: index records plus kept expunged messages.
    pub messages: u64,
    /// Files hard-linked (message files and `cyrus.header`).
    pub linked: u64,
    /// Files copied (databases, Sieve scripts, and files on another file system).
    pub copied: u64,
    /// Bytes of all those files.
    pub bytes: u64,
    /// Wall-clock time of the whole run.
    pub elapsed: std::time::Duration,
}

/// Called after each hierarchy owner is copied: (owners done, owners in all, owner's name).
pub type BackupProgress<'a> = &'a (dyn Fn(usize, usize, &str) + Sync);

impl Store {
    /// Copies the store into `dest` (see the module docs for what is held meanwhile). The
    /// destination directories must be empty or missing; a file already there is refused with
    /// [`StoreError::AlreadyExists`] rather than overwritten.
    pub fn backup_to(
        &self,
        dest: &BackupTarget,
        progress: BackupProgress<'_>,
    ) -> Result<BackupReport> {
        let started = Instant::now();
        for name in self.inner.partitions.names() {
            if !dest.partitions.contains_key(name) {
                return Err(StoreError::NoSuchPartition(name.to_string()));
            }
        }
        let durable = self.inner.partitions.durable().clone();
        durable.create_dir(&dest.config_directory)?;
        let mut copier = Copier::default();
        let _ns = self.namespace_lock();
        let mailboxes_db = dest.config_directory.join(crate::MAILBOXES_DB_FILE);
        self.inner.global.copy_to(&mailboxes_db, &mut copier)?;
        let entries = self.inner.global.read()?.list(None)?;
        let mut by_owner: BTreeMap<String, Vec<MailboxEntry>> = BTreeMap::new();
        for e in entries {
            by_owner
                .entry(e.name.hierarchy_root().to_string())
                .or_default()
                .push(e);
        }
        let mut report = BackupReport::default();
        let total = by_owner.len();
        for (done, (owner, entries)) in by_owner.iter().enumerate() {
            report.mailboxes += entries.len() as u64;
            report.messages += self.backup_owner(dest, &entries[0], entries, &mut copier)?;
            progress(done + 1, total, owner);
        }
        let deliver = dest.config_directory.join(crate::DELIVER_DB_FILE);
        self.inner.deliveries.copy_to(&deliver, &mut copier)?;
        {
            // Scripts and active links change only under this lock, so each user's pair is
            // copied as it stood.
            let _sieve = self.sieve_lock();
            copy_tree(
                &self.inner.config.sieve_directory,
                &dest.sieve_directory,
                &mut copier,
            )?;
        }
        for root in std::iter::once(&dest.config_directory).chain(dest.partitions.values()) {
            if root.is_dir() {
                durable.sync_filesystem(root)?;
            }
        }
        if dest.sieve_directory.is_dir() {
            durable.sync_filesystem(&dest.sieve_directory)?;
        }
        report.linked = copier.linked;
        report.copied = copier.copied;
        report.bytes = copier.bytes;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Copies one owner's index and the files of its mailboxes under the owner's writer lock;
    /// returns how many message files there were.
    fn backup_owner(
        &self,
        dest: &BackupTarget,
        first: &MailboxEntry,
        entries: &[MailboxEntry],
        copier: &mut Copier,
    ) -> Result<u64> {
        let root = first.name.hierarchy_root();
        let owner = self.inner.owners.get(&root)?;
        let relative = self
            .inner
            .owners
            .path_for(&root)
            .strip_prefix(&self.inner.config.config_directory)
            .map(Path::to_path_buf)
            .map_err(|_| StoreError::corrupt("index path", "outside the config directory"))?;
        let index_dest = dest.config_directory.join(relative);
        create_parent(&index_dest)?;
        let _guard = owner.copy_to(&index_dest, copier)?;
        let snapshot = owner.read()?;
        let mut messages = 0u64;
        for entry in entries {
            let Some(header) = snapshot.header(&entry.uniqueid)? else {
                // The copied mailboxes database and index agree on this (both taken with the
                // namespace lock held); a mailbox without a header is an inconsistency the
                // live store already has, for `darius check` to report on both.
                continue;
            };
            // A newsgroup's articles are the news server's spool, not ours to copy: its
            // index comes with the owner's, and `collectnews` fills it anew if need be.
            // Another server's mailbox is backed up there.
            if !entry.is_local_files() {
                continue;
            }
            let from = self
                .inner
                .partitions
                .mailbox_dir(&header.partition, &entry.uniqueid)?;
            let to_root = dest
                .partitions
                .get(&header.partition)
                .ok_or_else(|| StoreError::NoSuchPartition(header.partition.clone()))?;
            let to = partition::mailbox_dir_in(to_root, &entry.uniqueid);
            fs::create_dir_all(&to).map_err(|e| StoreError::io(&to, e))?;
            copier.place(
                &from.join(MAILBOX_HEADER_FILE),
                &to.join(MAILBOX_HEADER_FILE),
            )?;
            for row in snapshot.scan(&entry.uniqueid)? {
                let file = partition::message_path(&from, row.uid);
                copier.place(&file, &partition::message_path(&to, row.uid))?;
                messages += 1;
            }
            for kept in snapshot.kept(&entry.uniqueid)? {
                // The rename to `UID.expunged` follows the commit that kept the record, after
                // the owner's lock is released: it may be under way now. It is atomic, so the
                // file has one of the two names at every moment; trying the kept name again
                // after the old one covers a rename between the first two tries.
                let kept_name = partition::kept_path(&from, kept.uid);
                let names = [
                    kept_name.clone(),
                    partition::message_path(&from, kept.uid),
                    kept_name,
                ];
                copier.place_first(&names, &partition::kept_path(&to, kept.uid))?;
                messages += 1;
            }
        }
        Ok(messages)
    }
}

/// Commits nothing durably (which writes out every earlier non-durable commit and makes the
/// file's header name the last commit), then copies the database file to `dest` while holding
/// a write transaction, so that no commit runs during the copy; the transaction is dropped
/// unchanged.
pub(crate) fn copy_database(
    db: &Database,
    src: &Path,
    dest: &Path,
    copier: &mut Copier,
) -> Result<()> {
    let mut flush = db.begin_write()?;
    flush.set_durability(Durability::Immediate)?;
    flush.commit()?;
    let hold = db.begin_write()?;
    copier.copy(src, dest)?;
    hold.abort()?;
    Ok(())
}

/// Counts what it linked and copied; links where it can.
#[derive(Default)]
pub(crate) struct Copier {
    linked: u64,
    copied: u64,
    bytes: u64,
    /// Source directories whose files could not be linked to the destination (another file
    /// system): no link is tried again from there.
    no_links: std::collections::HashSet<(u64, PathBuf)>,
}

impl Copier {
    /// Hard-links `from` to `to`, or copies it when linking is impossible (another file
    /// system, or one that has no hard links). Refuses to replace an existing `to`.
    fn place(&mut self, from: &Path, to: &Path) -> Result<()> {
        let meta = fs::metadata(from).map_err(|e| StoreError::io(from, e))?;
        let key = (
            std::os::unix::fs::MetadataExt::dev(&meta),
            to.parent().map(Path::to_path_buf).unwrap_or_default(),
        );
        if !self.no_links.contains(&key) {
            match fs::hard_link(from, to) {
                Ok(()) => {
                    self.linked += 1;
                    self.bytes += meta.len();
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(StoreError::AlreadyExists(to.display().to_string()))
                }
                Err(e)
                    if e.kind() == io::ErrorKind::CrossesDevices
                        || e.kind() == io::ErrorKind::Unsupported
                        || e.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error()) =>
                {
                    self.no_links.insert(key);
                }
                Err(e) => return Err(StoreError::io(to, e)),
            }
        }
        self.copy(from, to)
    }

    /// [`Copier::place`] from the first of `names` that exists.
    fn place_first(&mut self, names: &[PathBuf], to: &Path) -> Result<()> {
        let mut last = None;
        for from in names {
            match self.place(from, to) {
                Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                    last = Some(from);
                }
                other => return other,
            }
        }
        let from = last.map_or_else(PathBuf::new, PathBuf::clone);
        Err(StoreError::io(
            from,
            io::Error::new(io::ErrorKind::NotFound, "kept message file not found"),
        ))
    }

    /// Copies `from` to a new file `to` (copy_file_range where the kernel offers it).
    pub(crate) fn copy(&mut self, from: &Path, to: &Path) -> Result<()> {
        if to.symlink_metadata().is_ok() {
            return Err(StoreError::AlreadyExists(to.display().to_string()));
        }
        let n = fs::copy(from, to).map_err(|e| StoreError::io(to, e))?;
        self.copied += 1;
        self.bytes += n;
        Ok(())
    }
}

fn create_parent(path: &Path) -> Result<()> {
    let parent = crate::durable::parent_of(path);
    fs::create_dir_all(&parent).map_err(|e| StoreError::io(&parent, e))
}

/// Copies a directory tree (regular files, directories and symbolic links, such as the Sieve
/// directory's active-script links); leftover temporary files (`.tmp-…`) are skipped. A missing
/// `from` copies nothing.
fn copy_tree(from: &Path, to: &Path, copier: &mut Copier) -> Result<()> {
    let entries = match fs::read_dir(from) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::io(from, e)),
    };
    fs::create_dir_all(to).map_err(|e| StoreError::io(to, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(from, e))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(".tmp-") {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let kind = entry.file_type().map_err(|e| StoreError::io(&src, e))?;
        if kind.is_dir() {
            copy_tree(&src, &dst, copier)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&src).map_err(|e| StoreError::io(&src, e))?;
            std::os::unix::fs::symlink(&target, &dst).map_err(|e| StoreError::io(&dst, e))?;
            copier.copied += 1;
        } else if kind.is_file() {
            copier.copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// What a restored mailbox gets back once its messages are in.
struct Finish {
    /// The backup's UIDNEXT: UIDs it gave to messages expunged since are never given again.
    uidnext: u32,
    /// The owner's `\Recent` mark in the backup.
    recent: u32,
    /// The backup's HIGHESTMODSEQ.
    highestmodseq: u64,
    /// The HIGHESTMODSEQ the imports left; another value means something changed the
    /// mailbox meanwhile, and it stays.
    left: u64,
}

/// UIDs read from a backup per import batch (bounds the records held at once).
const RESTORE_BATCH: u32 = 2000;

/// What [`Store::restore_mailbox_from`] put back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoredMailbox {
    pub messages: u64,
    /// Expunged messages a delayed expunge kept (for `darius unexpunge`).
    pub kept: u64,
    pub outcome: crate::ImportOutcome,
}

impl Store {
    /// Restores the mailbox `name` of `backup` (a store opened on a backup's directories) into
    /// this store as `to`, which must not exist: the same UIDVALIDITY, UIDNEXT and
    /// HIGHESTMODSEQ, ACL, special-use and (when this store has it) partition; its messages
    /// under their UIDs with their flags, internal dates, save dates and MODSEQs (files
    /// hard-linked where the file system allows); the expunged messages a delayed expunge
    /// kept; other users' private `\Seen`; the owner's and those users' `\Recent` marks.
    /// Not restored: tombstones (a QRESYNC client resynchronises the mailbox in full).
    pub fn restore_mailbox_from(
        &self,
        backup: &Store,
        name: &types::MailboxName,
        to: &types::MailboxName,
    ) -> Result<RestoredMailbox> {
        let r = backup.resolve(name)?;
        let header = backup.header_of(&r)?;
        let partition = self
            .inner
            .partitions
            .root(&header.partition)
            .is_ok()
            .then(|| header.partition.clone());
        let mut imported = Some(crate::ImportedMailbox {
            uidvalidity: types::UidValidity::new(header.uidvalidity)
                .ok_or_else(|| StoreError::corrupt("backup", "UIDVALIDITY 0"))?,
            uidnext: header.uidnext,
            highestmodseq: header.highestmodseq,
            options: crate::CreateOptions {
                partition,
                acl: header.acl.clone(),
                mailbox_type: header.mailbox_type,
                special_use: r.entry.special_use.clone(),
            },
        });
        let dir = backup
            .inner
            .partitions
            .mailbox_dir(&header.partition, &header.uniqueid)?;
        let mut restored = RestoredMailbox::default();
        let mut low = 1u32;
        while low < header.uidnext {
            let high = low
                .saturating_add(RESTORE_BATCH - 1)
                .min(header.uidnext - 1);
            let (Some(lo), Some(hi)) = (types::Uid::new(low), types::Uid::new(high)) else {
                break;
            };
            let records = backup.records(
                name,
                crate::SeenSource::Index,
                crate::UidSelection::Range(lo, hi),
                crate::RecordFields::BASIC,
            )?;
            if let (Some(first), Some(mut mailbox)) = (records.first(), imported.take()) {
                // Created at the first message: imports go at or above UIDNEXT.
                mailbox.uidnext = first.uid.get();
                self.create_imported_mailbox(to, mailbox)?;
            }
            let items: Vec<crate::ImportedMessage> = records
                .into_iter()
                .map(|m| crate::ImportedMessage {
                    source: crate::AppendSource::File(partition::message_path(&dir, m.uid.get())),
                    uid: m.uid,
                    flags: m.flags,
                    internal_date: m.internal_date,
                    modseq: Some(m.modseq.get()),
                    save_date: Some(m.save_date),
                })
                .collect();
            restored.messages += items.len() as u64;
            restored.outcome.add(self.import_messages(to, items)?);
            low = high.saturating_add(1);
        }
        if let Some(empty) = imported {
            self.create_imported_mailbox(to, empty)?;
        }
        let left = self.header_of(&self.resolve(to)?)?.highestmodseq;
        let finish = Finish {
            uidnext: header.uidnext,
            recent: header.recent_mark(),
            highestmodseq: header.highestmodseq,
            left,
        };
        self.finish_restore(to, &finish)?;
        restored.kept = self.restore_kept(&r, &dir, to)?;
        let backup_global = backup.inner.global.read()?;
        let uniqueid = self.mailbox_entry(to)?.uniqueid;
        for (user, seen) in backup_global.seen_sets_of(&header.uniqueid)? {
            let mark = backup_global.recent_mark(&user, &header.uniqueid)?;
            let g = self.inner.global.write()?;
            g.put_seen_set(&user, &uniqueid, &seen)?;
            g.put_recent_mark(&user, &uniqueid, mark)?;
            g.commit()?;
        }
        Ok(restored)
    }

    /// Puts back the kept expunged messages of the backup's mailbox `from` (in directory
    /// `from_dir`) into the restored mailbox `to`, with their expunge times.
    fn restore_kept(
        &self,
        from: &crate::Resolved,
        from_dir: &Path,
        to: &types::MailboxName,
    ) -> Result<u64> {
        let kept = from.owner.read()?.kept(&from.entry.uniqueid)?;
        if kept.is_empty() {
            return Ok(0);
        }
        let r = self.resolve(to)?;
        let header = self.header_of(&r)?;
        let dir = self
            .inner
            .partitions
            .mailbox_dir(&header.partition, &header.uniqueid)?;
        let mut copier = Copier::default();
        for k in &kept {
            let mut file = partition::kept_path(from_dir, k.uid);
            if !file.exists() {
                file = partition::message_path(from_dir, k.uid);
            }
            copier.place(&file, &partition::kept_path(&dir, k.uid))?;
        }
        let durable = self.inner.partitions.durable();
        durable.sync_filesystem(&dir)?;
        durable.sync_dir(&dir)?;
        let n = kept.len() as u64;
        let ow = r.owner.write()?;
        for k in kept {
            let row = crate::index::RecordRow {
                uid: k.uid,
                record: k.record,
                cache: None,
                header: None,
            };
            ow.keep_expunged(&header.uniqueid, &[row], k.expunged_at)?;
        }
        drop(ow.commit()?);
        Ok(n)
    }

    /// Gives a restored mailbox the UIDNEXT, `\Recent` mark and HIGHESTMODSEQ it had (see
    /// [`Finish`]).
    fn finish_restore(&self, name: &types::MailboxName, finish: &Finish) -> Result<()> {
        let r = self.resolve(name)?;
        let ow = r.owner.write()?;
        let mut h = ow
            .header(&r.entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
        h.uidnext = h.uidnext.max(finish.uidnext);
        h.recentuid = Some(finish.recent.min(h.uidnext.saturating_sub(1)));
        if h.highestmodseq == finish.left {
            // Nothing changed the mailbox since the imports, whose commits each took a MODSEQ
            // of their own above every restored one: the backup's value holds again.
            h.highestmodseq = h.highestmodseq.min(finish.highestmodseq.max(1));
        }
        ow.put_header(&h)?;
        drop(ow.commit()?);
        Ok(())
    }
}
