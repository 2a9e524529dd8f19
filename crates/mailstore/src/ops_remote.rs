//! Other servers' mailboxes: in a Murder (docs/murder.md) each server keeps a copy of the
//! cluster's directory in its mailboxes database as entries of type
//! [`MailboxType::Remote`] whose partition is `SERVER!PARTITION`, as Cyrus's frontends do. The
//! copy lets LIST, LSUB and the ACL checks run as on a single server; any operation on such a
//! mailbox's messages is refused with [`StoreError::Remote`] (the caller proxies it).
//!
//! The server's own mailboxes stay authoritative: a change of the directory never overwrites or
//! removes a local entry. The directory's revision is stored with each batch, in the same
//! transaction, so a restarted server resumes the directory's change feed where its copy ends.

use types::MailboxName;

use crate::error::{Result, StoreError};
use crate::model::{MailboxEntry, MailboxType};
use crate::Store;

/// One change of the directory copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirectoryChange {
    /// Another server holds this mailbox (its entry is of type `Remote`).
    Put(MailboxEntry),
    /// The directory no longer names this mailbox for another server.
    Remove(MailboxName),
}

impl Store {
    /// Applies a batch of directory changes and records `revision` as reached (`None`: keeps
    /// the one recorded, for a change read outside the directory's feed), in one transaction. A `Put` of an entry that is not `Remote` (or whose partition names no
    /// server) is refused; a `Put` or `Remove` of a name that is a local mailbox here is skipped
    /// and counted: the local entry wins. Returns how many changes were skipped so.
    pub fn apply_directory(
        &self,
        changes: &[DirectoryChange],
        revision: Option<u64>,
    ) -> Result<usize> {
        for change in changes {
            if let DirectoryChange::Put(e) = change {
                if e.mailbox_type != MailboxType::Remote || !e.partition.contains('!') {
                    return Err(StoreError::InvalidName(format!(
                        "{}: a directory entry must be remote, with partition SERVER!PARTITION",
                        e.name
                    )));
                }
                if e.name.is_domain_root() {
                    return Err(StoreError::InvalidName(e.name.to_string()));
                }
            }
        }
        let _ns = self.namespace_lock();
        let g = self.inner.global.write()?;
        let mut skipped = 0;
        for change in changes {
            let name = match change {
                DirectoryChange::Put(e) => &e.name,
                DirectoryChange::Remove(n) => n,
            };
            let existing = g.entry(name)?;
            if existing
                .as_ref()
                .is_some_and(|e| e.mailbox_type != MailboxType::Remote)
            {
                skipped += 1;
                continue;
            }
            match change {
                DirectoryChange::Put(e) => {
                    let modseq = g.next_modseq()?;
                    let mut entry = e.clone();
                    entry.created_modseq = existing.map_or(modseq, |old| old.created_modseq);
                    entry.modified_modseq = modseq;
                    g.put_entry(&entry)?;
                }
                DirectoryChange::Remove(n) => {
                    if existing.is_some() {
                        g.remove_entry(n)?;
                    }
                }
            }
        }
        if let Some(revision) = revision {
            g.set_directory_revision(revision)?;
        }
        g.commit()?;
        Ok(skipped)
    }

    /// The directory revision the remote entries reflect; 0 when the copy was never filled.
    pub fn directory_revision(&self) -> Result<u64> {
        self.inner.global.read()?.directory_revision()
    }

    /// The mailboxes database's change counter now: a full reload of the directory notes it
    /// first, puts every entry the directory holds (each put gets a later counter), then
    /// removes the remote entries [`Store::remote_mailboxes_unchanged_since`] it.
    pub fn mailboxes_modseq(&self) -> Result<u64> {
        self.inner.global.read()?.modseq()
    }

    /// The names of the remote entries not written since the change counter was `modseq`, in
    /// name order, reading one entry at a time (a directory of a million entries is never
    /// held whole).
    pub fn remote_mailboxes_unchanged_since(&self, modseq: u64) -> Result<Vec<MailboxName>> {
        self.inner
            .global
            .read()?
            .names_where(|e| e.mailbox_type == MailboxType::Remote && e.modified_modseq <= modseq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CreateOptions, SeenSource, StoreConfig};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let partitions = [("default".to_string(), dir.path().join("spool"))].into();
        let config = StoreConfig::new(dir.path().join("conf"), partitions, "default");
        let store = Store::open(config).expect("open");
        (dir, store)
    }

    fn remote(name: &str, server: &str) -> MailboxEntry {
        MailboxEntry {
            name: MailboxName::try_from(name).expect("name"),
            uniqueid: format!("u-{name}"),
            partition: format!("{server}!default"),
            acl: "anyone\tlr\t".into(),
            mailbox_type: MailboxType::Remote,
            special_use: Vec::new(),
            created_modseq: 0,
            modified_modseq: 0,
        }
    }

    #[test]
    fn remote_entries_are_listed_but_their_messages_are_refused() {
        let (_d, store) = store();
        let e = remote("user.ann", "b1");
        assert_eq!(store.directory_revision().expect("rev"), 0);
        store
            .apply_directory(&[DirectoryChange::Put(e.clone())], Some(7))
            .expect("apply");
        assert_eq!(store.directory_revision().expect("rev"), 7);
        let got = store.mailbox_entry(&e.name).expect("entry");
        assert_eq!(got.remote_server(), Some("b1"));
        assert_eq!(got.remote_partition(), Some("default"));
        assert!(!got.is_local_files());
        match store.status(&e.name, SeenSource::Index) {
            Err(StoreError::Remote { server, .. }) => assert_eq!(server, "b1"),
            other => panic!("expected Remote, got {other:?}"),
        }
        store
            .apply_directory(&[DirectoryChange::Remove(e.name.clone())], Some(9))
            .expect("remove");
        assert!(matches!(
            store.mailbox_entry(&e.name),
            Err(StoreError::NoSuchMailbox(_))
        ));
        assert_eq!(store.directory_revision().expect("rev"), 9);
    }

    #[test]
    fn a_local_mailbox_wins_over_the_directory() {
        let (_d, store) = store();
        let name = MailboxName::try_from("user.bob").expect("name");
        store
            .create_mailbox(&name, CreateOptions::default())
            .expect("create");
        let skipped = store
            .apply_directory(
                &[
                    DirectoryChange::Put(remote("user.bob", "b2")),
                    DirectoryChange::Put(remote("user.carl", "b2")),
                ],
                Some(3),
            )
            .expect("apply");
        assert_eq!(skipped, 1);
        assert!(store.mailbox_entry(&name).expect("entry").is_local_files());
        let skipped = store
            .apply_directory(&[DirectoryChange::Remove(name.clone())], Some(4))
            .expect("apply");
        assert_eq!(skipped, 1);
        assert!(store.mailbox_entry(&name).is_ok());
        let before = store.mailboxes_modseq().expect("modseq");
        assert_eq!(
            store
                .remote_mailboxes_unchanged_since(before)
                .expect("names"),
            vec![MailboxName::try_from("user.carl").expect("name")]
        );
        // A reload that puts user.carl again leaves nothing stale; one that does not, leaves it.
        store
            .apply_directory(&[DirectoryChange::Put(remote("user.carl", "b2"))], Some(5))
            .expect("apply");
        assert!(store
            .remote_mailboxes_unchanged_since(before)
            .expect("names")
            .is_empty());
        // A local mailbox cannot be created over a remote one either.
        assert!(matches!(
            store.create_mailbox(
                &MailboxName::try_from("user.carl").expect("name"),
                CreateOptions::default()
            ),
            Err(StoreError::AlreadyExists(_))
        ));
    }

    #[test]
    fn only_remote_entries_enter_the_copy() {
        let (_d, store) = store();
        let mut e = remote("user.dan", "b1");
        e.mailbox_type = MailboxType::Normal;
        assert!(store
            .apply_directory(&[DirectoryChange::Put(e)], Some(1))
            .is_err());
        let mut e = remote("user.dan", "b1");
        e.partition = "default".into();
        assert!(store
            .apply_directory(&[DirectoryChange::Put(e)], Some(1))
            .is_err());
        assert_eq!(store.directory_revision().expect("rev"), 0);
    }
}
