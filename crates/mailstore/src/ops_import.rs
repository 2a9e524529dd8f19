//! Importing mailboxes from another store (a Cyrus spool, a Dovecot Maildir, an mbox file, a
//! Darius backup): a mailbox created with the UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ it had,
//! and messages placed under the UIDs, flags, internal dates and MODSEQs they had, so a client
//! that cached the old server's mailbox sees nothing change.
//!
//! A message file already in our form (CRLF, no NUL) on the partition's file system is
//! hard-linked, not copied; one syncfs(2) per batch makes the copies durable instead of an
//! fsync a file. The write order is APPEND's: files first, directory fsync, then one index
//! commit for the batch.

use std::io;

use types::{Flag, MailboxName, Uid, UidValidity};

use crate::codec::IndexRecord;
use crate::error::{Result, StoreError};
use crate::flags::{self, Adding, Sign};
use crate::index::RecordRow;
use crate::model::{unix_now, AppendSource, Change, CreateOptions, InternalDate, MailboxEntry};
use crate::msgfile::{self, Described};
use crate::ops_append::{bump_modseq, to_modseq, to_uid, LinkedFiles};
use crate::partition::message_path;
use crate::Store;

/// A mailbox as the store it comes from knew it, for [`Store::create_imported_mailbox`].
#[derive(Clone, Debug)]
pub struct ImportedMailbox {
    pub uidvalidity: UidValidity,
    /// The UIDNEXT to start from: at most the lowest UID to import (messages go in at or above
    /// it). Raised past every imported UID as messages arrive; once they are in,
    /// [`Store::raise_uidnext`] sets the old store's UIDNEXT, so UIDs it gave to messages
    /// expunged since are never given again.
    pub uidnext: u32,
    /// The mailbox's HIGHESTMODSEQ there (RFC 7162); raised past every imported MODSEQ.
    pub highestmodseq: u64,
    pub options: CreateOptions,
}

/// One message for [`Store::import_messages`].
#[derive(Clone, Debug)]
pub struct ImportedMessage {
    /// A file is linked when it is already in our form and on the partition's file system,
    /// copied (normalised) otherwise; bytes are always copied.
    pub source: AppendSource,
    pub uid: Uid,
    /// Stored in the index record.
    pub flags: Vec<Flag>,
    pub internal_date: InternalDate,
    /// `None`: the MODSEQ of this import.
    pub modseq: Option<u64>,
    /// RFC 8514 SAVEDATE; `None`: now.
    pub save_date: Option<i64>,
}

/// What [`Store::import_messages`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Message files hard-linked from their source.
    pub linked: u64,
    /// Message files copied (normalised) into the partition.
    pub copied: u64,
    /// Octets of the stored messages.
    pub bytes: u64,
}

impl ImportOutcome {
    pub fn add(&mut self, other: ImportOutcome) {
        self.linked += other.linked;
        self.copied += other.copied;
        self.bytes += other.bytes;
    }
}

/// A batch read and linked, waiting for its index commit ([`Store::commit_import`]); its
/// files are unlinked if it never comes.
struct PreparedImport {
    items: Vec<ImportedMessage>,
    placed: Vec<Placed>,
    linked: LinkedFiles,
    partition: String,
    dir: std::path::PathBuf,
    last: u32,
}

/// How one message's file gets into the mailbox directory.
enum Placed {
    /// The source file itself, already linked to its name in the mailbox directory.
    Linked(Described),
    /// A normalised copy in the partition's `tmp/`, linked once it is on disk.
    Spooled(msgfile::Spooled),
}

/// Reads one message: a source file in our form is linked to `dest` at once (or copied when it
/// lies on another file system); anything else is copied into `tmp`, normalised.
fn place(
    item: &ImportedMessage,
    dest: &std::path::Path,
    dirs: Option<&BatchDirs>,
    tmp: &std::path::Path,
    limit: Option<u64>,
) -> Result<Placed> {
    if let AppendSource::File(path) = &item.source {
        let at = dirs.and_then(|d| d.source_entry(path));
        let (described, stored_form) = match at {
            Some((fd, name)) => {
                let file = rustix::fs::openat(
                    fd,
                    name,
                    rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                )
                .map_err(|e| StoreError::io(path, e.into()))?;
                msgfile::describe_foreign_open(std::fs::File::from(file), path, limit)?
            }
            None => msgfile::describe_foreign(path, limit)?,
        };
        if stored_form {
            let linked = match (at, dirs, dest.file_name()) {
                (Some((fd, name)), Some(d), Some(dest_name)) => {
                    rustix::fs::linkat(fd, name, &d.dest, dest_name, rustix::fs::AtFlags::empty())
                        .map_err(io::Error::from)
                }
                _ => std::fs::hard_link(path, dest),
            };
            match linked {
                Ok(()) => return Ok(Placed::Linked(described)),
                Err(e) if e.raw_os_error() == Some(libc_exdev()) => {}
                Err(e) => return Err(link_error(dest, e)),
            }
        }
    }
    Ok(Placed::Spooled(msgfile::spool_with(
        &item.source,
        tmp,
        limit,
        None,
    )?))
}

/// The directories a batch links between, opened once: each message then costs a lookup of
/// its own name in each directory instead of a walk of both whole paths (the source's twice).
struct BatchDirs {
    /// The mailbox's directory.
    dest: std::os::fd::OwnedFd,
    /// The directory every source file of the batch is in, when they share one.
    source: Option<(std::path::PathBuf, std::os::fd::OwnedFd)>,
}

impl BatchDirs {
    /// `None` when the mailbox's directory cannot be opened (the paths are used then, and
    /// report the error).
    fn open(dest: &std::path::Path, items: &[ImportedMessage]) -> Option<BatchDirs> {
        let flags = rustix::fs::OFlags::RDONLY
            | rustix::fs::OFlags::DIRECTORY
            | rustix::fs::OFlags::CLOEXEC;
        let dest = rustix::fs::open(dest, flags, rustix::fs::Mode::empty()).ok()?;
        let mut parents = items.iter().map(|item| match &item.source {
            AppendSource::File(path) => path.parent(),
            _ => None,
        });
        let first = parents.next().flatten();
        let source = first
            .filter(|&p| parents.all(|q| q == Some(p)))
            .and_then(|p| {
                rustix::fs::open(p, flags, rustix::fs::Mode::empty())
                    .ok()
                    .map(|fd| (p.to_path_buf(), fd))
            });
        Some(BatchDirs { dest, source })
    }

    /// The source directory and `path`'s name in it, when `path` is in that directory.
    fn source_entry<'a>(
        &'a self,
        path: &'a std::path::Path,
    ) -> Option<(&'a std::os::fd::OwnedFd, &'a std::ffi::OsStr)> {
        let (dir, fd) = self.source.as_ref()?;
        (path.parent() == Some(dir.as_path())).then_some(())?;
        Some((fd, path.file_name()?))
    }
}

/// Refuses a batch that would place a message below the mailbox's UIDNEXT.
fn below_uidnext(first: &ImportedMessage, uidnext: u32) -> Result<()> {
    if first.uid.get() < uidnext {
        return Err(StoreError::corrupt(
            "import",
            format!(
                "UID {} is below the mailbox's UIDNEXT {uidnext}",
                first.uid.get()
            ),
        ));
    }
    Ok(())
}

impl Store {
    /// Creates an empty mailbox that keeps `mailbox`'s UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ
    /// (otherwise as [`Store::create_mailbox`]). Nothing in it is `\Recent`. Later mailboxes get
    /// UIDVALIDITYs above every imported one. A mailbox of that name that exists but never held
    /// a message (UIDNEXT 1, such as the INBOX `user add` creates) takes the imported UID state
    /// and keeps its ACL; any other existing one is [`StoreError::AlreadyExists`].
    pub fn create_imported_mailbox(
        &self,
        name: &MailboxName,
        mailbox: ImportedMailbox,
    ) -> Result<MailboxEntry> {
        let options = mailbox.options.clone();
        self.create_mailbox_as(name, options, Some(&mailbox))
    }

    /// Places messages under the UIDs they had, in one index commit. UIDs must ascend and lie
    /// at or above the mailbox's UIDNEXT (so an import adds, never replaces); UIDNEXT and
    /// HIGHESTMODSEQ are raised past the last; the messages are not `\Recent` for the owner
    /// (nor for users given [`Store::import_seen`] after). Quota is not checked (an import
    /// brings what was there; `quota -f` counts it). Callers batch large mailboxes (a few
    /// thousand messages a call keeps memory bounded: the index rows of one call are held
    /// until its commit), or hand the batches to [`Store::import_batches`].
    pub fn import_messages(
        &self,
        name: &MailboxName,
        items: Vec<ImportedMessage>,
    ) -> Result<ImportOutcome> {
        if items.is_empty() {
            return Ok(ImportOutcome::default());
        }
        let r = self.resolve(name)?;
        let prepared = self.prepare_import(&r, items, false)?;
        self.commit_import(&r, prepared)
    }

    /// [`Store::import_messages`] of each batch in turn, reading (and linking) the files of
    /// the next batch while the current one commits, so the commit's serial work (index rows,
    /// the index commit, directory fsync) overlaps with the reading. Stops at the first error;
    /// the batches committed before it stay.
    pub fn import_batches(
        &self,
        name: &MailboxName,
        batches: impl Iterator<Item = Vec<ImportedMessage>>,
    ) -> Result<ImportOutcome> {
        let r = self.resolve(name)?;
        // Whatever the sources' own server left unflushed is flushed once, here, rather than
        // before each batch (a batch that copies still flushes its copies).
        let tmp = self
            .inner
            .partitions
            .tmp_dir(&self.header_of(&r)?.partition)?;
        self.inner.partitions.durable().sync_filesystem(&tmp)?;
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<PreparedImport>(1);
            let committer = scope.spawn(|| {
                let mut total = ImportOutcome::default();
                for prepared in rx {
                    total.add(self.commit_import(&r, prepared)?);
                }
                Ok::<_, StoreError>(total)
            });
            let mut failed = None;
            for items in batches.filter(|b| !b.is_empty()) {
                match self.prepare_import(&r, items, true) {
                    // A closed channel means the committer stopped on an error: it says which.
                    Ok(prepared) => {
                        if tx.send(prepared).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            drop(tx);
            let committed = committer.join().unwrap_or_else(|_| {
                Err(StoreError::corrupt(
                    "import",
                    "the committing thread stopped",
                ))
            });
            match (failed, committed) {
                (_, Err(e)) | (Some(e), Ok(_)) => Err(e),
                (None, Ok(total)) => Ok(total),
            }
        })
    }

    /// The part of an import done without the owner's lock: checks the UID order, reads and
    /// describes every source and links those in our form into place (on every core: the UIDs
    /// are given, so no other writer wants these names — an append skips a taken name, and the
    /// check under the lock refuses, and the guard unlinks, if one raced ahead); copies the
    /// others, flushes them to disk, then links them. `sources_flushed`: the file system was
    /// flushed since the sources were last written, so a batch of links only needs no flush
    /// of its own (the directory fsync of the commit makes the new names durable).
    fn prepare_import(
        &self,
        r: &crate::Resolved,
        items: Vec<ImportedMessage>,
        sources_flushed: bool,
    ) -> Result<PreparedImport> {
        let first = self.header_of(r)?;
        let dir = self
            .inner
            .partitions
            .mailbox_dir(&first.partition, &first.uniqueid)?;
        let tmp = self.inner.partitions.tmp_dir(&first.partition)?;
        let limit = Some(self.message_size_limit());
        let mut last = 0u32;
        for item in &items {
            if item.uid.get() <= last {
                return Err(StoreError::corrupt(
                    "import",
                    format!("UID {} does not ascend after UID {last}", item.uid.get()),
                ));
            }
            last = item.uid.get();
        }
        if let Some(first_item) = items.first() {
            below_uidnext(first_item, first.uidnext)?;
        }
        let dirs = BatchDirs::open(&dir, &items);
        let placed = crate::parallel::map_ordered(&items, |item| {
            Ok(place(
                item,
                &message_path(&dir, item.uid.get()),
                dirs.as_ref(),
                &tmp,
                limit,
            ))
        })?;
        let mut linked = LinkedFiles {
            paths: Vec::new(),
            committed: false,
        };
        for (item, p) in items.iter().zip(&placed) {
            if let Ok(Placed::Linked(_)) = p {
                linked.paths.push(message_path(&dir, item.uid.get()));
            }
        }
        let mut placed = placed.into_iter().collect::<Result<Vec<_>>>()?;
        // The copies, and a source file that its own server may not have flushed yet, are on
        // disk before the copies get their names and before the index names any of them.
        if !sources_flushed || placed.iter().any(|p| matches!(p, Placed::Spooled(_))) {
            self.inner.partitions.durable().sync_filesystem(&tmp)?;
        }
        for (item, p) in items.iter().zip(&mut placed) {
            if let Placed::Spooled(s) = p {
                let dest = message_path(&dir, item.uid.get());
                link_spooled(s, &dest)?;
                linked.paths.push(dest);
            }
        }
        Ok(PreparedImport {
            items,
            placed,
            linked,
            partition: first.partition,
            dir,
            last,
        })
    }

    /// The part of an import done under the owner's lock: checks that nothing moved, writes
    /// the records and commits.
    fn commit_import(
        &self,
        r: &crate::Resolved,
        prepared: PreparedImport,
    ) -> Result<ImportOutcome> {
        let PreparedImport {
            items,
            placed,
            mut linked,
            partition,
            dir,
            last,
        } = prepared;
        let mut outcome = ImportOutcome::default();
        let Some(first_item) = items.first() else {
            return Ok(outcome);
        };
        let (ow, mut h) = self.write_header(r)?;
        if h.partition != partition {
            return Err(StoreError::Busy(r.entry.name.to_string()));
        }
        below_uidnext(first_item, h.uidnext)?;
        let own_modseq = bump_modseq(&mut h)?;
        let now = unix_now();
        let mut rows = Vec::with_capacity(items.len());
        let mut highest = own_modseq;
        for (item, p) in items.iter().zip(placed) {
            let uid = item.uid.get();
            let described = match p {
                Placed::Linked(d) => {
                    outcome.linked += 1;
                    d
                }
                Placed::Spooled(s) => {
                    outcome.copied += 1;
                    spooled_description(s)
                }
            };
            let modseq = item.modseq.unwrap_or(own_modseq).max(1);
            highest = highest.max(modseq);
            let bits = flags::to_bits(&item.flags, &mut h, Adding::Yes)?;
            let record = IndexRecord {
                system_flags: bits.system,
                keywords: bits.keywords,
                internal_date: item.internal_date,
                save_date: item.save_date.unwrap_or(now),
                size: described.size,
                modseq,
                guid: described.guid,
            };
            outcome.bytes += described.size;
            flags::count(&mut h, &record, Sign::Add);
            rows.push(RecordRow {
                uid,
                record,
                cache: Some(described.cache),
                header: Some(described.header),
            });
        }
        self.inner.partitions.sync_dir(&dir)?;
        // Imported mail is not new: the owner's \Recent mark follows it, unless messages
        // delivered here still wait to be seen as recent.
        if h.recent_mark() >= h.uidnext.saturating_sub(1) {
            h.recentuid = Some(last);
        }
        h.uidnext = h.uidnext.max(last.saturating_add(1)).max(1);
        if last == u32::MAX {
            h.uidnext = u32::MAX;
        }
        h.highestmodseq = h.highestmodseq.max(highest);
        ow.put_messages(&h.uniqueid, &rows)?;
        ow.put_header(&h)?;
        let guard = ow.commit()?;
        linked.committed = true;
        let uids = rows
            .iter()
            .map(|r| to_uid(r.uid))
            .collect::<Result<Vec<_>>>()?;
        self.inner.changes.publish(
            &r.entry.uniqueid,
            Change::Appended {
                uids,
                modseq: to_modseq(h.highestmodseq)?,
            },
        );
        drop(guard);
        Ok(outcome)
    }

    /// Raises a mailbox's UIDNEXT to `uidnext` (never lowers it). An import creates the
    /// mailbox with its lowest UID as UIDNEXT, places the messages, then raises UIDNEXT to the
    /// old store's, so UIDs given there to messages expunged since are never given again.
    pub fn raise_uidnext(&self, name: &MailboxName, uidnext: u32) -> Result<()> {
        let r = self.resolve(name)?;
        let (ow, mut h) = self.write_header(&r)?;
        if uidnext <= h.uidnext {
            return Ok(());
        }
        h.uidnext = uidnext;
        ow.put_header(&h)?;
        drop(ow.commit()?);
        Ok(())
    }

    /// Gives `user` the private `\Seen` state `seen` in mailbox `name` (replacing what they had)
    /// and marks everything up to the mailbox's last UID as no longer `\Recent` for them: an
    /// import's seen database, for users other than the owner (whose `\Seen` is the index
    /// record's flag, see [`crate::SeenSource`]).
    pub fn import_seen(&self, user: &str, name: &MailboxName, seen: &crate::UidSet) -> Result<()> {
        let r = self.resolve(name)?;
        let h = self.header_of(&r)?;
        let g = self.inner.global.write()?;
        g.put_seen_set(user, &r.entry.uniqueid, seen)?;
        g.put_recent_mark(user, &r.entry.uniqueid, h.uidnext.saturating_sub(1))?;
        g.commit()
    }
}

/// Links a spooled copy to `dest`, which must not exist.
fn link_spooled(s: &msgfile::Spooled, dest: &std::path::Path) -> Result<()> {
    match std::fs::hard_link(s.temp.path(), dest) {
        Ok(()) => Ok(()),
        Err(e) => Err(link_error(dest, e)),
    }
}

fn link_error(dest: &std::path::Path, e: io::Error) -> StoreError {
    if e.kind() == io::ErrorKind::AlreadyExists {
        StoreError::corrupt(
            "import",
            format!(
                "{} exists already (a message file no index lists: run reconstruct)",
                dest.display()
            ),
        )
    } else {
        StoreError::io(dest, e)
    }
}

fn spooled_description(s: msgfile::Spooled) -> Described {
    Described {
        size: s.size,
        guid: s.guid,
        cache: s.cache,
        header: s.header,
    }
}

/// EXDEV: link(2) across file systems.
fn libc_exdev() -> i32 {
    rustix::io::Errno::XDEV.raw_os_error()
}
