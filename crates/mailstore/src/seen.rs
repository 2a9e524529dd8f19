//! Private seen state: for each (user, mailbox uniqueid) the set of UIDs that user has seen,
//! kept in the mailboxes database's `seen` table. Used when the service layer passes
//! [`crate::SeenSource::PrivateTo`]; the owner's `\Seen` stays in the index record (Cyrus).
//! Keyed by uniqueid so a rename keeps seen state; a deleted mailbox's rows are left behind
//! harmlessly (uniqueids are never reused).

use crate::codec::UidSet;
use crate::error::Result;
use crate::mailboxes_db::{GlobalRead, GlobalWrite, SEEN};

impl GlobalRead {
    pub(crate) fn seen_set(&self, user: &str, uniqueid: &str) -> Result<UidSet> {
        let t = self.txn.open_table(SEEN)?;
        let found = t.get((user, uniqueid))?;
        match found {
            Some(v) => UidSet::decode(v.value()),
            None => Ok(UidSet::default()),
        }
    }
}

impl GlobalWrite {
    pub(crate) fn put_seen_set(&self, user: &str, uniqueid: &str, set: &UidSet) -> Result<()> {
        self.txn
            .open_table(SEEN)?
            .insert((user, uniqueid), set.encode().as_slice())?;
        Ok(())
    }
}
