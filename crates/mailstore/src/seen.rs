//! Private seen state: for each (user, mailbox uniqueid) the set of UIDs that user has seen,
//! kept in the mailboxes database's `seen` table, and the user's `\Recent` mark in the `recent`
//! table (Cyrus keeps it in the seen record, `lastuid`). Used when the service layer passes
//! [`crate::SeenSource::PrivateTo`]; the owner's `\Seen` stays in the index record and the
//! owner's mark in the index header (Cyrus).
//! Keyed by uniqueid so a rename keeps seen state; a deleted mailbox's rows are left behind
//! harmlessly (uniqueids are never reused).

use redb::ReadableTable;

use crate::codec::UidSet;
use crate::error::Result;
use crate::mailboxes_db::{GlobalRead, GlobalWrite, RECENT, SEEN};

impl GlobalRead {
    pub(crate) fn seen_set(&self, user: &str, uniqueid: &str) -> Result<UidSet> {
        let t = self.txn.open_table(SEEN)?;
        let found = t.get((user, uniqueid))?;
        match found {
            Some(v) => UidSet::decode(v.value()),
            None => Ok(UidSet::default()),
        }
    }

    /// Every user's private seen set in the mailbox `uniqueid`, by user (a full pass over the
    /// table: for a restore, not for sessions).
    pub(crate) fn seen_sets_of(&self, uniqueid: &str) -> Result<Vec<(String, UidSet)>> {
        let t = self.txn.open_table(SEEN)?;
        let mut out = Vec::new();
        for item in t.iter()? {
            let (k, v) = item?;
            let (user, id) = k.value();
            if id == uniqueid {
                out.push((user.to_string(), UidSet::decode(v.value())?));
            }
        }
        Ok(out)
    }

    /// The user's `\Recent` mark in the mailbox: 0 (everything recent) until they first
    /// claim, as in Cyrus, whose seen record starts with `lastuid` 0.
    pub(crate) fn recent_mark(&self, user: &str, uniqueid: &str) -> Result<u32> {
        let t = match self.txn.open_table(RECENT) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let found = t.get((user, uniqueid))?;
        Ok(found.map_or(0, |v| v.value()))
    }
}

impl GlobalWrite {
    pub(crate) fn put_seen_set(&self, user: &str, uniqueid: &str, set: &UidSet) -> Result<()> {
        self.txn
            .open_table(SEEN)?
            .insert((user, uniqueid), set.encode().as_slice())?;
        Ok(())
    }

    pub(crate) fn recent_mark(&self, user: &str, uniqueid: &str) -> Result<u32> {
        let t = self.txn.open_table(RECENT)?;
        let found = t.get((user, uniqueid))?;
        Ok(found.map_or(0, |v| v.value()))
    }

    pub(crate) fn put_recent_mark(&self, user: &str, uniqueid: &str, mark: u32) -> Result<()> {
        self.txn
            .open_table(RECENT)?
            .insert((user, uniqueid), mark)?;
        Ok(())
    }
}
