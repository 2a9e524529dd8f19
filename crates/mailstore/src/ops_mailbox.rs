//! Mailbox namespace operations: create, delete, rename (whole hierarchies), partition moves,
//! ACL copies, listing. All take the namespace lock first (see the crate docs for lock order).

use std::fs;

use types::MailboxName;

use crate::error::{Result, StoreError};
use crate::hooks::CrashPoint;
use crate::index::IndexHeader;
use crate::model::{Change, CreateOptions, MailboxEntry, MailboxType};
use crate::partition::{self, MailboxHeaderFile, MAILBOX_HEADER_FILE_VERSION};
use crate::Store;

impl Store {
    /// Creates an empty mailbox. Its partition is `options.partition`, else the nearest existing
    /// ancestor's, else `defaultpartition`; `news` is refused for ordinary mailboxes.
    pub fn create_mailbox(
        &self,
        name: &MailboxName,
        options: CreateOptions,
    ) -> Result<MailboxEntry> {
        self.create_mailbox_as(name, options, None)
    }

    /// [`Store::create_mailbox`], with the UID state another store gave the mailbox when
    /// `imported` is given (see [`crate::ImportedMailbox`]).
    pub(crate) fn create_mailbox_as(
        &self,
        name: &MailboxName,
        options: CreateOptions,
        imported: Option<&crate::ImportedMailbox>,
    ) -> Result<MailboxEntry> {
        if name.is_domain_root() {
            return Err(StoreError::InvalidName(format!(
                "{name} is a whole domain (a quota root), not a mailbox"
            )));
        }
        let _ns = self.namespace_lock();
        let global = self.inner.global.read()?;
        if let Some(existing) = global.entry(name)? {
            return match imported {
                Some(i) => self.take_over_unused(existing, i),
                None => Err(StoreError::AlreadyExists(name.to_string())),
            };
        }
        let partition = match options.partition {
            Some(p) => p,
            None => self.inherited_partition(name)?,
        };
        if options.mailbox_type == MailboxType::Normal {
            self.inner.partitions.check_ordinary(&partition)?;
        } else {
            self.inner.partitions.root(&partition)?;
        }
        let uniqueid = partition::new_uniqueid(name.as_str());
        // A newsgroup has no directory of ours: its articles are the news server's spool.
        if options.mailbox_type != MailboxType::Netnews {
            let file = MailboxHeaderFile {
                version: MAILBOX_HEADER_FILE_VERSION,
                name: name.to_string(),
                uniqueid: uniqueid.clone(),
                acl: options.acl.clone(),
                mailbox_type: options.mailbox_type,
            };
            self.inner
                .partitions
                .create_mailbox_dir(&partition, &file)?;
        }
        let owner = self.inner.owners.get(&name.hierarchy_root())?;
        let ow = owner.write()?;
        let g = self.inner.global.write()?;
        let modseq = g.next_modseq()?;
        let entry = MailboxEntry {
            name: name.clone(),
            uniqueid: uniqueid.clone(),
            partition: partition.clone(),
            acl: options.acl.clone(),
            mailbox_type: options.mailbox_type,
            special_use: options.special_use,
            created_modseq: modseq,
            modified_modseq: modseq,
        };
        let header = match imported {
            None => new_header(&entry, g.next_uidvalidity()?),
            Some(i) => {
                g.note_uidvalidity(i.uidvalidity.get())?;
                let mut h = new_header(&entry, i.uidvalidity.get());
                h.uidnext = i.uidnext.max(1);
                h.highestmodseq = i.highestmodseq.max(1);
                // Mail another server already showed is not new here.
                h.recentuid = Some(h.uidnext - 1);
                h
            }
        };
        ow.put_header(&header)?;
        // Index first, mailboxes DB last: until the entry is committed the mailbox is invisible,
        // so a crash in between leaves only an unreachable header.
        let _guard = ow.commit()?;
        g.put_entry(&entry)?;
        g.commit()?;
        Ok(entry)
    }

    /// An import into a mailbox that exists but never held a message (UIDNEXT 1: the INBOX
    /// `user add` makes, say) gives it the imported UID state, as if it had just been created
    /// so; any other existing mailbox is refused. The ACL stays the mailbox's own.
    fn take_over_unused(
        &self,
        entry: MailboxEntry,
        imported: &crate::ImportedMailbox,
    ) -> Result<MailboxEntry> {
        let owner = self.inner.owners.get(&entry.name.hierarchy_root())?;
        let ow = owner.write()?;
        let mut h = ow
            .header(&entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(entry.name.to_string()))?;
        if h.uidnext != 1 || h.exists != 0 {
            return Err(StoreError::AlreadyExists(entry.name.to_string()));
        }
        let g = self.inner.global.write()?;
        g.note_uidvalidity(imported.uidvalidity.get())?;
        h.uidvalidity = imported.uidvalidity.get();
        h.uidnext = imported.uidnext.max(1);
        h.highestmodseq = h.highestmodseq.max(imported.highestmodseq);
        h.recentuid = Some(h.uidnext - 1);
        ow.put_header(&h)?;
        let _guard = ow.commit()?;
        g.commit()?;
        Ok(entry)
    }

    pub(crate) fn inherited_partition(&self, name: &MailboxName) -> Result<String> {
        let global = self.inner.global.read()?;
        let mut cur = name.parent();
        while let Some(p) = cur {
            // Another server's mailbox (a Murder's directory copy) says nothing of the
            // partitions here.
            if let Some(e) = global.entry(&p)?.filter(|e| e.remote_server().is_none()) {
                return Ok(e.partition);
            }
            cur = p.parent();
        }
        // A virtual domain's own partition (`partition-example.com`), when there is one, takes
        // its top-level mailboxes; else `defaultpartition`.
        if let Some(domain) = name.domain() {
            if self.inner.partitions.root(domain).is_ok() {
                return Ok(domain.to_string());
            }
        }
        Ok(self.inner.partitions.default_name().to_string())
    }

    /// Deletes one mailbox and its messages (children, if any, stay).
    ///
    /// Order: `cyrus.header` first (so `rebuild_mailboxes_db` cannot resurrect a half-deleted
    /// mailbox; if we crash right after, `reconstruct` rewrites it), then the mailboxes-DB entry
    /// (the mailbox is gone for clients from this commit on), the index rows, the directory.
    pub fn delete_mailbox(&self, name: &MailboxName) -> Result<()> {
        self.delete_mailbox_replacing(name, None)
    }

    /// [`Store::delete_mailbox`], with `replacement` (another server's entry) put under the
    /// name in the commit that removes the mailbox's own entry.
    pub(crate) fn delete_mailbox_replacing(
        &self,
        name: &MailboxName,
        replacement: Option<MailboxEntry>,
    ) -> Result<()> {
        let _ns = self.namespace_lock();
        let r = self.resolve(name)?;
        let partition = self.header_of(&r)?.partition;
        // A newsgroup has no directory of ours: its articles are the news server's.
        let dir = match r.entry.mailbox_type {
            MailboxType::Netnews => None,
            _ => Some(
                self.inner
                    .partitions
                    .mailbox_dir(&partition, &r.entry.uniqueid)?,
            ),
        };
        if let Some(dir) = &dir {
            crate::msgfile::remove_if_present(&dir.join(partition::MAILBOX_HEADER_FILE))?;
        }
        let g = self.inner.global.write()?;
        match replacement {
            Some(mut remote) => {
                let modseq = g.next_modseq()?;
                remote.created_modseq = modseq;
                remote.modified_modseq = modseq;
                g.put_entry(&remote)?;
            }
            None => g.remove_entry(name)?,
        }
        g.commit()?;
        let ow = r.owner.write()?;
        ow.remove_mailbox(&r.entry.uniqueid)?;
        let guard = ow.commit()?;
        self.inner
            .changes
            .publish(&r.entry.uniqueid, Change::Deleted);
        self.inner.changes.close(&r.entry.uniqueid);
        drop(guard);
        let Some(dir) = dir else {
            return Ok(());
        };
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(dir, e)),
        }
    }

    /// Renames `from` and every mailbox below it. Message files do not move (directories are
    /// addressed by uniqueid); entries crossing to another hierarchy owner have their index rows
    /// moved to that owner's database.
    ///
    /// Each mailbox is renamed on its own. Across owners that takes three commits, ordered so
    /// that a crash between any two leaves the mailbox whole and reachable under one of its
    /// names: (1) the new owner's index gets a copy, (2) the mailboxes database maps the new
    /// name (the rename happens here), (3) the old owner's copy is removed; then `cyrus.header`
    /// is rewritten. A crash after (1) or (2) leaves an unreachable copy in one owner index,
    /// which [`Store::reconstruct`] of a mailbox of that owner removes (after (2),
    /// `cyrus.header` still names the old owner, so reconstructing the renamed mailbox finds
    /// it too); a crash before `cyrus.header` is rewritten leaves a stale name there, which
    /// `reconstruct` rewrites and `reconstruct -m` ignores (the uniqueid is already mapped).
    pub fn rename_mailbox(&self, from: &MailboxName, to: &MailboxName) -> Result<()> {
        let _ns = self.namespace_lock();
        if to.is_within(from) {
            return Err(StoreError::InvalidRename(format!(
                "{to} lies within {from}"
            )));
        }
        let global = self.inner.global.read()?;
        if global.entry(from)?.is_none() {
            return Err(StoreError::NoSuchMailbox(from.to_string()));
        }
        if let Some(e) = global.list(Some(to))?.first() {
            return Err(StoreError::AlreadyExists(e.name.to_string()));
        }
        let moving = global.list(Some(from))?;
        for entry in &moving {
            self.refuse_newsgroup(entry)?;
        }
        for entry in moving {
            let suffix = &entry.name.as_str()[from.as_str().len()..];
            let new_name = MailboxName::try_from(format!("{to}{suffix}"))
                .map_err(|e| StoreError::InvalidName(e.to_string()))?;
            self.rename_one(entry, new_name)?;
        }
        Ok(())
    }

    /// Renames `from` alone, leaving the mailboxes below it where they are: for delayed
    /// DELETE (which hides each mailbox under its own name) and `undelete`. `to` must be free.
    pub fn rename_alone(&self, from: &MailboxName, to: &MailboxName) -> Result<()> {
        let _ns = self.namespace_lock();
        let global = self.inner.global.read()?;
        let entry = global
            .entry(from)?
            .ok_or_else(|| StoreError::NoSuchMailbox(from.to_string()))?;
        if global.entry(to)?.is_some() {
            return Err(StoreError::AlreadyExists(to.to_string()));
        }
        drop(global);
        self.refuse_newsgroup(&entry)?;
        self.rename_one(entry, to.clone())
    }

    fn rename_one(&self, entry: MailboxEntry, to: MailboxName) -> Result<()> {
        let old_owner = self.inner.owners.get(&entry.name.hierarchy_root())?;
        let new_owner = self.inner.owners.get(&to.hierarchy_root())?;
        let uid = entry.uniqueid.clone();
        let ow = old_owner.write()?;
        let mut header = ow
            .header(&uid)?
            .ok_or_else(|| StoreError::corrupt("index", format!("no header for {}", entry.name)))?;
        header.name = to.to_string();
        let hooks = self.inner.partitions.durable().hooks();
        let (entry, guard) = if std::sync::Arc::ptr_eq(&old_owner, &new_owner) {
            ow.put_header(&header)?;
            let guard = ow.commit()?;
            (self.rename_entry(entry, &to)?, guard)
        } else {
            // Two owner locks at once is safe only here: the namespace lock is held, so no other
            // thread can be doing the same in the opposite order.
            let rows = ow.full_records(&uid, crate::model::UidSelection::All)?;
            let history = ow.expunge_history(&uid)?;
            let nw = new_owner.write()?;
            // Leftovers of an earlier rename interrupted by a crash must not become phantoms.
            nw.remove_mailbox(&uid)?;
            nw.put_header(&header)?;
            nw.put_messages(&uid, &rows)?;
            nw.put_expunge_history(&uid, &history)?;
            let _new_guard = nw.commit()?;
            hooks.reached(CrashPoint::RenameNewOwnerCommitted);
            let entry = self.rename_entry(entry, &to)?;
            hooks.reached(CrashPoint::RenameMailboxesCommitted);
            ow.remove_mailbox(&uid)?;
            let guard = ow.commit()?;
            hooks.reached(CrashPoint::RenameOldOwnerCommitted);
            (entry, guard)
        };
        self.inner
            .changes
            .publish(&uid, Change::Renamed { to: to.clone() });
        drop(guard);
        self.rewrite_header_file(&header.partition, &entry)
    }

    /// Moves the mailboxes-database entry to its new name (one commit).
    fn rename_entry(&self, mut entry: MailboxEntry, to: &MailboxName) -> Result<MailboxEntry> {
        let old_name = entry.name.clone();
        let g = self.inner.global.write()?;
        entry.modified_modseq = g.next_modseq()?;
        entry.name = to.clone();
        g.remove_entry(&old_name)?;
        g.put_entry(&entry)?;
        g.commit()?;
        Ok(entry)
    }

    fn rewrite_header_file(&self, partition: &str, entry: &MailboxEntry) -> Result<()> {
        if entry.mailbox_type == MailboxType::Netnews {
            return Ok(());
        }
        let dir = self
            .inner
            .partitions
            .mailbox_dir(partition, &entry.uniqueid)?;
        let file = MailboxHeaderFile {
            version: MAILBOX_HEADER_FILE_VERSION,
            name: entry.name.to_string(),
            uniqueid: entry.uniqueid.clone(),
            acl: entry.acl.clone(),
            mailbox_type: entry.mailbox_type,
        };
        self.inner.partitions.write_header_file(&dir, &file)
    }

    /// Replaces the ACL copy kept by the store (mailboxes DB, index header, `cyrus.header`).
    pub fn set_acl(&self, name: &MailboxName, acl: &str) -> Result<MailboxEntry> {
        let _ns = self.namespace_lock();
        let mut r = self.resolve(name)?;
        let ow = r.owner.write()?;
        let mut header = ow
            .header(&r.entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
        header.acl = acl.to_string();
        ow.put_header(&header)?;
        let _guard = ow.commit()?;
        let g = self.inner.global.write()?;
        r.entry.acl = acl.to_string();
        r.entry.modified_modseq = g.next_modseq()?;
        g.put_entry(&r.entry)?;
        g.commit()?;
        self.rewrite_header_file(&header.partition, &r.entry)?;
        self.inner
            .changes
            .publish(&r.entry.uniqueid, Change::AclChanged);
        Ok(r.entry)
    }

    /// The mailboxes whose ACL grants something to any of `identifiers` (a user's name, their
    /// groups, `anyone`), in name order: where LIST finds what is shared with a user without
    /// reading every entry. Negative entries grant nothing and are not found here.
    pub fn mailboxes_granted_to(&self, identifiers: &[&str]) -> Result<Vec<MailboxEntry>> {
        self.inner.global.read()?.granted_to(identifiers)
    }

    /// Replaces the RFC 6154 special-use attributes of a mailbox.
    pub fn set_special_use(
        &self,
        name: &MailboxName,
        special_use: Vec<String>,
    ) -> Result<MailboxEntry> {
        let _ns = self.namespace_lock();
        let g = self.inner.global.write()?;
        let mut entry = self.mailbox_entry(name)?;
        entry.special_use = special_use;
        entry.modified_modseq = g.next_modseq()?;
        g.put_entry(&entry)?;
        g.commit()?;
        Ok(entry)
    }

    /// Mailboxes in name order; with a prefix, that mailbox and those below it.
    pub fn list_mailboxes(&self, prefix: Option<&MailboxName>) -> Result<Vec<MailboxEntry>> {
        self.inner.global.read()?.list(prefix)
    }

    /// Whether any mailbox lies within `prefix` (the first key at or after it is enough).
    pub fn has_mailbox_within(&self, prefix: &MailboxName) -> Result<bool> {
        self.inner.global.read()?.any_within(prefix)
    }

    pub fn mailbox_entry(&self, name: &MailboxName) -> Result<MailboxEntry> {
        self.inner
            .global
            .read()?
            .entry(name)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))
    }
}

/// The index header of a freshly created mailbox.
pub(crate) fn new_header(entry: &MailboxEntry, uidvalidity: u32) -> IndexHeader {
    IndexHeader {
        name: entry.name.to_string(),
        uniqueid: entry.uniqueid.clone(),
        partition: entry.partition.clone(),
        uidvalidity,
        uidnext: 1,
        highestmodseq: 1,
        exists: 0,
        size: 0,
        deleted: 0,
        seen: 0,
        acl: entry.acl.clone(),
        mailbox_type: entry.mailbox_type,
        keywords: Vec::new(),
        recentuid: Some(0),
        deletedmodseq: 0,
    }
}
