//! A mailbox moving between the servers of a Murder (XFER, docs/murder.md): the target creates
//! the incoming copy over the remote entry its copy of the directory holds, and the source
//! hands its mailbox over, its local entry replaced by the remote entry that names the target
//! in one commit, so the name never disappears from this server's mailboxes database (a
//! delivery in between would otherwise be refused as for an unknown user).
//!
//! The store only keeps what it is told; which server holds a name is the directory's to say.

use types::MailboxName;

use crate::error::{Result, StoreError};
use crate::model::{MailboxEntry, MailboxType};
use crate::partition::{self, MailboxHeaderFile, MAILBOX_HEADER_FILE_VERSION};
use crate::{ImportedMailbox, Store};

impl Store {
    /// Creates the copy of a mailbox another server is sending here: empty, with the
    /// UIDVALIDITY and HIGHESTMODSEQ it has there and UIDNEXT `mailbox.uidnext` (at most the
    /// lowest UID to come; [`Store::import_messages`] places the messages and
    /// [`Store::raise_uidnext`] sets the final UIDNEXT). An entry of type `Remote` under the
    /// name (the directory copy naming the sender) is replaced; a local mailbox of that name
    /// is [`StoreError::AlreadyExists`]. Its partition is `mailbox.options.partition`, else
    /// the nearest local ancestor's, else `defaultpartition`.
    ///
    /// The expunges the mailbox saw before it came are not known here, so VANISHED since any
    /// MODSEQ below the one it arrives with answers that the history was pruned (RFC 7162
    /// §3.2.5.2: the client then compares its UIDs), never a wrong exact answer.
    pub fn create_incoming_mailbox(
        &self,
        name: &MailboxName,
        mailbox: ImportedMailbox,
    ) -> Result<MailboxEntry> {
        let uniqueid = partition::new_uniqueid(name.as_str());
        self.create_incoming_mailbox_as(name, mailbox, &uniqueid)
    }

    /// A uniqueid for a mailbox about to be created, for a caller that must record it first
    /// (a transfer's marker, so a crash between the directory and the commit leaves nothing
    /// it cannot find again).
    pub fn new_mailbox_uniqueid(name: &MailboxName) -> String {
        partition::new_uniqueid(name.as_str())
    }

    /// [`Store::create_incoming_mailbox`] under a uniqueid the caller chose
    /// ([`Store::new_mailbox_uniqueid`]).
    pub fn create_incoming_mailbox_as(
        &self,
        name: &MailboxName,
        mailbox: ImportedMailbox,
        uniqueid: &str,
    ) -> Result<MailboxEntry> {
        if name.is_domain_root() {
            return Err(StoreError::InvalidName(name.to_string()));
        }
        let _ns = self.namespace_lock();
        let existing = self.inner.global.read()?.entry(name)?;
        if existing
            .as_ref()
            .is_some_and(|e| e.mailbox_type != MailboxType::Remote)
        {
            return Err(StoreError::AlreadyExists(name.to_string()));
        }
        let options = mailbox.options;
        let partition = match options.partition {
            Some(p) => p,
            None => self.inherited_partition(name)?,
        };
        self.inner.partitions.check_ordinary(&partition)?;
        let uniqueid = uniqueid.to_string();
        let file = MailboxHeaderFile {
            version: MAILBOX_HEADER_FILE_VERSION,
            name: name.to_string(),
            uniqueid: uniqueid.clone(),
            acl: options.acl.clone(),
            mailbox_type: MailboxType::Normal,
        };
        self.inner
            .partitions
            .create_mailbox_dir(&partition, &file)?;
        let owner = self.inner.owners.get(&name.hierarchy_root())?;
        let ow = owner.write()?;
        let g = self.inner.global.write()?;
        let modseq = g.next_modseq()?;
        let entry = MailboxEntry {
            name: name.clone(),
            uniqueid,
            partition,
            acl: options.acl,
            mailbox_type: MailboxType::Normal,
            special_use: options.special_use,
            created_modseq: modseq,
            modified_modseq: modseq,
        };
        g.note_uidvalidity(mailbox.uidvalidity.get())?;
        let mut header = crate::ops_mailbox::new_header(&entry, mailbox.uidvalidity.get());
        header.uidnext = mailbox.uidnext.max(1);
        header.highestmodseq = mailbox.highestmodseq.max(1);
        header.deletedmodseq = header.highestmodseq;
        // Mail another server already showed is not new here.
        header.recentuid = Some(header.uidnext - 1);
        ow.put_header(&header)?;
        // Index first, mailboxes DB last, as for any create: until the entry is committed the
        // copy is invisible.
        let _guard = ow.commit()?;
        g.put_entry(&entry)?;
        g.commit()?;
        Ok(entry)
    }

    /// Deletes the mailbox held here as [`Store::delete_mailbox`] does, but puts `remote` (an
    /// entry of type `Remote` naming the server that holds the mailbox now) in its place in
    /// the same commit: the end of a transfer to another server.
    pub fn hand_over_mailbox(&self, name: &MailboxName, remote: MailboxEntry) -> Result<()> {
        if remote.name != *name
            || remote.mailbox_type != MailboxType::Remote
            || !remote.partition.contains('!')
        {
            return Err(StoreError::InvalidName(format!(
                "{name}: the entry replacing it must be remote, with partition SERVER!PARTITION"
            )));
        }
        self.delete_mailbox_replacing(name, Some(remote))
    }

    /// Removes the directory a create under `uniqueid` left when it was cut short before its
    /// commit (no mailbox of the database has that uniqueid, as the caller knows: it chose
    /// the uniqueid and `name` is not held here). Answers whether there was one.
    pub fn remove_uncommitted_mailbox_dir(
        &self,
        name: &MailboxName,
        uniqueid: &str,
    ) -> Result<bool> {
        if self.holds_locally(name)? {
            return Ok(false);
        }
        let mut removed = false;
        let partitions: Vec<String> = self.inner.partitions.names().map(str::to_string).collect();
        for p in partitions {
            let dir = self.inner.partitions.mailbox_dir(&p, uniqueid)?;
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(StoreError::Io {
                        path: dir,
                        source: e,
                    })
                }
            }
        }
        Ok(removed)
    }

    /// Whether `name` is a mailbox of this server's own (not another server's entry).
    pub fn holds_locally(&self, name: &MailboxName) -> Result<bool> {
        Ok(self
            .inner
            .global
            .read()?
            .entry(name)?
            .is_some_and(|e| e.mailbox_type != MailboxType::Remote))
    }
}
