//! `\Recent` (RFC 3501 §2.3.2) as Cyrus keeps it: a mark per viewer (Cyrus's `recentuid`), the
//! highest UID some session of that viewer has claimed. The messages above the mark are recent
//! for the next session that claims them, and for it alone: a read-write SELECT claims
//! everything up to the mailbox's last message, and a session that has the mailbox selected
//! read-write claims each new arrival when it reports it. EXAMINE and STATUS only read the mark.
//!
//! Whose mark: the owner's (and every session reading `\Seen` from the index) is in the
//! mailbox's index header; a viewer with private seen state has their own in the mailboxes
//! database (Cyrus's seen record `lastuid`). The mark only rises; it never bumps MODSEQ
//! (RFC 7162 does not track `\Recent`), and its commits are not synced: a crash that loses
//! one makes those messages recent once more, which RFC 3501 allows.

use types::{MailboxName, Uid};

use crate::error::{Result, StoreError};
use crate::model::SeenSource;
use crate::Store;

impl Store {
    /// The viewer's recent mark: UIDs above it are recent for whoever claims them next.
    pub fn recent_mark(&self, name: &MailboxName, viewer: SeenSource<'_>) -> Result<u32> {
        let r = self.resolve(name)?;
        match viewer {
            SeenSource::Index => Ok(self.header_of(&r)?.recent_mark()),
            SeenSource::PrivateTo(user) => self
                .inner
                .global
                .read()?
                .recent_mark(user, &r.entry.uniqueid),
        }
    }

    /// Raises the viewer's mark to `up_to` (it never falls) and returns the mark it had before:
    /// the UIDs above that and at most `up_to` are the caller's `\Recent` messages, and no
    /// other caller's. A mark already at `up_to` is answered from a snapshot, without a write.
    pub fn claim_recent(
        &self,
        name: &MailboxName,
        viewer: SeenSource<'_>,
        up_to: Uid,
    ) -> Result<u32> {
        let before = self.recent_mark(name, viewer)?;
        if before >= up_to.get() {
            return Ok(before);
        }
        let r = self.resolve(name)?;
        match viewer {
            SeenSource::Index => {
                let ow = r.owner.write_volatile()?;
                let mut h = ow
                    .header(&r.entry.uniqueid)?
                    .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
                let before = h.recent_mark();
                if before < up_to.get() {
                    h.recentuid = Some(up_to.get());
                    ow.put_header(&h)?;
                    drop(ow.commit()?);
                }
                Ok(before)
            }
            SeenSource::PrivateTo(user) => {
                let g = self.inner.global.write_volatile()?;
                let before = g.recent_mark(user, &r.entry.uniqueid)?;
                if before < up_to.get() {
                    g.put_recent_mark(user, &r.entry.uniqueid, up_to.get())?;
                    g.commit()?;
                }
                Ok(before)
            }
        }
    }

    /// How many messages are above the viewer's mark (STATUS RECENT, EXAMINE).
    pub fn recent_count(&self, name: &MailboxName, viewer: SeenSource<'_>) -> Result<u32> {
        let mark = self.recent_mark(name, viewer)?;
        let Some(from) = mark.checked_add(1) else {
            return Ok(0);
        };
        let r = self.resolve(name)?;
        r.owner.read()?.count_from(&r.entry.uniqueid, from)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::model::{AppendItem, CreateOptions};
    use crate::{SeenSource, Store, StoreConfig};
    use types::{MailboxName, Uid};

    fn store(dir: &std::path::Path) -> (Store, MailboxName) {
        let partitions = [("default".to_string(), dir.join("spool"))].into();
        let config = StoreConfig::new(dir.join("conf"), partitions, "default");
        let store = Store::open(config).unwrap();
        let name = MailboxName::try_from("user.alice").unwrap();
        store
            .create_mailbox(&name, CreateOptions::default())
            .unwrap();
        (store, name)
    }

    fn append(store: &Store, name: &MailboxName, n: usize) {
        let items = (0..n)
            .map(|i| AppendItem::bytes(format!("Subject: {i}\r\n\r\nx\r\n")))
            .collect();
        store.append(name, items).unwrap();
    }

    fn uid(n: u32) -> Uid {
        Uid::new(n).unwrap()
    }

    #[test]
    fn each_message_is_claimed_once_and_marks_are_per_viewer() {
        let dir = tempfile::tempdir().unwrap();
        let (store, name) = store(dir.path());
        append(&store, &name, 3);
        let owner = SeenSource::Index;
        assert_eq!(store.recent_count(&name, owner).unwrap(), 3);
        assert_eq!(store.claim_recent(&name, owner, uid(3)).unwrap(), 0);
        assert_eq!(
            store.claim_recent(&name, owner, uid(3)).unwrap(),
            3,
            "claimed"
        );
        assert_eq!(store.recent_count(&name, owner).unwrap(), 0);
        append(&store, &name, 2);
        assert_eq!(store.recent_mark(&name, owner).unwrap(), 3);
        assert_eq!(store.recent_count(&name, owner).unwrap(), 2);
        assert_eq!(
            store.claim_recent(&name, owner, uid(2)).unwrap(),
            3,
            "never falls"
        );
        assert_eq!(store.recent_mark(&name, owner).unwrap(), 3);
        // Another viewer's mark starts at nothing claimed, and moves on its own.
        let admin = SeenSource::PrivateTo("admin");
        assert_eq!(store.recent_count(&name, admin).unwrap(), 5);
        assert_eq!(store.claim_recent(&name, admin, uid(5)).unwrap(), 0);
        assert_eq!(store.recent_count(&name, admin).unwrap(), 0);
        assert_eq!(store.recent_count(&name, owner).unwrap(), 2);
    }

    /// A header written before `recentuid` existed counts nothing as recent, and the first
    /// write after the upgrade keeps it that way for the messages that were there.
    #[test]
    fn a_header_without_a_mark_reads_as_nothing_recent() {
        let h: crate::index::IndexHeader = serde_json::from_value(serde_json::json!({
            "name": "user.a", "uniqueid": "u", "partition": "default", "uidvalidity": 1,
            "uidnext": 8, "highestmodseq": 3, "exists": 7, "size": 70, "deleted": 0,
            "seen": 0, "acl": "", "mailbox_type": "Normal", "keywords": []
        }))
        .unwrap();
        assert_eq!(h.recentuid, None);
        assert_eq!(h.recent_mark(), 7);
    }
}
