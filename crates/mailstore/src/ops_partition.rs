//! Moving a mailbox to another partition (Cyrus `RENAME name name partition`).
//!
//! The owner's write lock is held while the files are copied, so writers of that owner wait and
//! readers keep reading the old directory; the index header switches to the new partition in one
//! commit (the point at which clients see the move), then the old directory is removed.

use std::fs;
use std::path::Path;

use types::MailboxName;

use crate::durable::Durable;
use crate::error::{Result, StoreError};
use crate::model::{MailboxEntry, UidSelection};
use crate::partition::{kept_path, message_path, MailboxHeaderFile, MAILBOX_HEADER_FILE_VERSION};
use crate::Store;

impl Store {
    /// Moves `name` (only that mailbox) to `partition`.
    pub fn set_partition(&self, name: &MailboxName, partition: &str) -> Result<MailboxEntry> {
        let _ns = self.namespace_lock();
        let mut r = self.resolve(name)?;
        self.refuse_newsgroup(&r.entry)?;
        if r.entry.mailbox_type == crate::model::MailboxType::Normal {
            self.inner.partitions.check_ordinary(partition)?;
        } else {
            self.inner.partitions.root(partition)?;
        }
        let ow = r.owner.write()?;
        let mut header = ow
            .header(&r.entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
        if header.partition == partition {
            return Ok(r.entry);
        }
        let parts = &self.inner.partitions;
        let old_dir = parts.mailbox_dir(&header.partition, &r.entry.uniqueid)?;
        let new_dir = parts.create_mailbox_dir(
            partition,
            &MailboxHeaderFile {
                version: MAILBOX_HEADER_FILE_VERSION,
                name: name.to_string(),
                uniqueid: r.entry.uniqueid.clone(),
                acl: r.entry.acl.clone(),
                mailbox_type: r.entry.mailbox_type,
            },
        )?;
        for row in ow.records(&r.entry.uniqueid, UidSelection::All)? {
            copy_file(
                &message_path(&old_dir, row.uid),
                &message_path(&new_dir, row.uid),
                parts.durable(),
            )?;
        }
        // Messages kept by delayed expunge go along, for `unexpunge` on the new partition.
        for row in r.owner.read()?.kept(&r.entry.uniqueid)? {
            let src = kept_path(&old_dir, row.uid);
            if src.is_file() {
                copy_file(&src, &kept_path(&new_dir, row.uid), parts.durable())?;
            }
        }
        parts.sync_dir(&new_dir)?;
        header.partition = partition.to_string();
        ow.put_header(&header)?;
        let guard = ow.commit()?;
        let g = self.inner.global.write()?;
        r.entry.partition = partition.to_string();
        r.entry.modified_modseq = g.next_modseq()?;
        g.put_entry(&r.entry)?;
        g.commit()?;
        drop(guard);
        fs::remove_dir_all(&old_dir).map_err(|e| StoreError::io(&old_dir, e))?;
        Ok(r.entry)
    }
}

/// Copies one message file to a directory nobody reads yet; a hard link when the partitions share
/// a file system, a real copy otherwise. An existing destination (left by an interrupted move)
/// is replaced, since the new directory is not yet live.
fn copy_file(src: &Path, dest: &Path, durable: &Durable) -> Result<()> {
    crate::msgfile::remove_if_present(dest)?;
    if fs::hard_link(src, dest).is_ok() {
        return Ok(());
    }
    fs::copy(src, dest).map_err(|e| StoreError::io(dest, e))?;
    let f = fs::File::open(dest).map_err(|e| StoreError::io(dest, e))?;
    durable.sync_file(&f, dest)
}
