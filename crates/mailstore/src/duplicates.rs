//! The duplicate-delivery database (Cyrus keeps the same in `deliver.db`): which Message-IDs were
//! delivered into which mailbox during the last [`DUPLICATE_KEEP_DAYS`] days, so that a second
//! delivery of the same message to the same mailbox is dropped (`duplicatesuppression`).
//!
//! `CONFIG/deliver.redb`, table `delivered`: key (day number, Message-ID, mailbox uniqueid) →
//! Unix seconds of the delivery. The day leads the key, so looking a message up is one point
//! read per kept day, and forgetting old days is one range removal. Records are committed
//! without an fsync of their own; every [`DURABLE_EVERY`]th commit is durable and prunes. A crash
//! therefore forgets at most the last few records, which can only mean a duplicate is stored
//! again — never that a message is dropped.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use redb::{Database, Durability, ReadableDatabase, TableDefinition};

use crate::config::FsyncPolicy;
use crate::error::{Result, StoreError};
use crate::index::init_versioned;

pub const DELIVER_DB_FILE: &str = "deliver.redb";
pub const DELIVER_FORMAT_VERSION: u64 = 1;
/// Days a delivery is remembered (Cyrus's usual `cyr_expire -D 3`).
pub const DUPLICATE_KEEP_DAYS: u32 = 3;
/// Longest Message-ID remembered; longer ones are never treated as duplicates.
pub const MAX_MESSAGE_ID: usize = 998;
const DURABLE_EVERY: u32 = 64;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const DELIVERED: TableDefinition<(u32, &str, &str), u64> = TableDefinition::new("delivered");

pub(crate) struct DeliverDb {
    db: Database,
    fsync: FsyncPolicy,
    commits: AtomicU32,
}

fn day_of(unix: i64) -> u32 {
    u32::try_from(unix.max(0) / 86_400).unwrap_or(u32::MAX)
}

impl DeliverDb {
    pub(crate) fn open(config_dir: &Path, fsync: FsyncPolicy) -> Result<DeliverDb> {
        let path = config_dir.join(DELIVER_DB_FILE);
        let db = match Database::create(&path) {
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => return Err(StoreError::InUse(path)),
            other => other?,
        };
        init_versioned(&db, &path, META, DELIVER_FORMAT_VERSION, |txn| {
            txn.open_table(DELIVERED)?;
            Ok(())
        })?;
        Ok(DeliverDb {
            db,
            fsync,
            commits: AtomicU32::new(0),
        })
    }

    /// Whether `message_id` was delivered into the mailbox `uniqueid` in the kept days.
    pub(crate) fn delivered(&self, message_id: &str, uniqueid: &str, now: i64) -> Result<bool> {
        if message_id.len() > MAX_MESSAGE_ID {
            return Ok(false);
        }
        let txn = self.db.begin_read()?;
        let t = txn.open_table(DELIVERED)?;
        let today = day_of(now);
        for day in today.saturating_sub(DUPLICATE_KEEP_DAYS - 1)..=today {
            if t.get((day, message_id, uniqueid))?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Remembers that `message_id` was delivered into each of `uniqueids`.
    pub(crate) fn record(&self, message_id: &str, uniqueids: &[&str], now: i64) -> Result<()> {
        if message_id.len() > MAX_MESSAGE_ID || uniqueids.is_empty() {
            return Ok(());
        }
        let today = day_of(now);
        let mut txn = self.db.begin_write()?;
        let durable = self.fsync == FsyncPolicy::Always
            && self
                .commits
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(DURABLE_EVERY);
        txn.set_durability(if durable {
            Durability::Immediate
        } else {
            Durability::None
        })?;
        {
            let mut t = txn.open_table(DELIVERED)?;
            let when = u64::try_from(now).unwrap_or(0);
            for uniqueid in uniqueids {
                t.insert((today, message_id, *uniqueid), when)?;
            }
            if durable {
                let cutoff = today.saturating_sub(DUPLICATE_KEEP_DAYS - 1);
                t.retain_in((0, "", "")..(cutoff, "", ""), |_, _| false)?;
            }
        }
        txn.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_for_the_kept_days_per_mailbox_then_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let db = DeliverDb::open(dir.path(), FsyncPolicy::Always).unwrap();
        let t0 = 20_000 * 86_400 + 3600;
        assert!(!db.delivered("<a@x>", "U1", t0).unwrap());
        db.record("<a@x>", &["U1", "U2"], t0).unwrap();
        assert!(db.delivered("<a@x>", "U1", t0).unwrap());
        assert!(db.delivered("<a@x>", "U2", t0 + 2 * 86_400).unwrap());
        assert!(!db.delivered("<a@x>", "U3", t0).unwrap(), "another mailbox");
        assert!(
            !db.delivered("<A@x>", "U1", t0).unwrap(),
            "Message-IDs compare exactly"
        );
        assert!(
            !db.delivered("<a@x>", "U1", t0 + 3 * 86_400).unwrap(),
            "expired"
        );
        // A durable commit on a later day prunes the old day.
        for i in 0..=DURABLE_EVERY {
            db.record(&format!("<{i}@y>"), &["U1"], t0 + 4 * 86_400)
                .unwrap();
        }
        let txn = db.db.begin_read().unwrap();
        let t = txn.open_table(DELIVERED).unwrap();
        assert!(t.get((20_000, "<a@x>", "U1")).unwrap().is_none(), "pruned");
        let long = "x".repeat(MAX_MESSAGE_ID + 1);
        db.record(&long, &["U1"], t0).unwrap();
        assert!(!db.delivered(&long, "U1", t0).unwrap());
    }

    #[test]
    fn records_survive_a_reopen_after_a_durable_commit() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = 20_000 * 86_400;
        {
            let db = DeliverDb::open(dir.path(), FsyncPolicy::Always).unwrap();
            db.record("<first@x>", &["U1"], t0).unwrap();
        }
        let db = DeliverDb::open(dir.path(), FsyncPolicy::Always).unwrap();
        assert!(db.delivered("<first@x>", "U1", t0).unwrap());
    }
}
