//! The duplicate-delivery database (Cyrus keeps the same in `deliver.db`): which Message-IDs were
//! delivered into which mailbox during the last [`DUPLICATE_KEEP_DAYS`] days, so that a second
//! delivery of the same message to the same mailbox is dropped (`duplicatesuppression`).
//!
//! `CONFIG/deliver.redb`, table `delivered`: key (day number, Message-ID, mailbox uniqueid) →
//! Unix seconds of the delivery. The day leads the key, so looking a message up is one point
//! read per kept day, and forgetting old days is one range removal. New records wait in memory
//! (where lookups see them too) and are written in one commit, which also prunes, once
//! [`FLUSH_EVERY`] have gathered or a delivery comes [`FLUSH_AFTER`] after the oldest, and when
//! the store closes. A
//! crash therefore forgets at most the last few records, which can only mean a duplicate is
//! stored again — never that a message is dropped.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redb::{Database, ReadableDatabase, TableDefinition};

use crate::durable::Durable;
use crate::error::Result;
use crate::index::{create_exclusive, init_versioned};

pub const DELIVER_DB_FILE: &str = "deliver.redb";
pub const DELIVER_FORMAT_VERSION: u64 = 1;
/// Days a delivery is remembered (Cyrus's usual `cyr_expire -D 3`).
pub const DUPLICATE_KEEP_DAYS: u32 = 3;
/// Longest Message-ID remembered; longer ones are never treated as duplicates.
pub const MAX_MESSAGE_ID: usize = 998;
const FLUSH_EVERY: usize = 64;
const FLUSH_AFTER: Duration = Duration::from_secs(5);

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const DELIVERED: TableDefinition<(u32, &str, &str), u64> = TableDefinition::new("delivered");

pub(crate) struct DeliverDb {
    db: Database,
    durability: redb::Durability,
    pending: Mutex<Pending>,
}

/// Records not written yet: (Message-ID, uniqueid) → (day, Unix seconds).
struct Pending {
    records: HashMap<(String, String), (u32, u64)>,
    since: Instant,
}

fn day_of(unix: i64) -> u32 {
    u32::try_from(unix.max(0) / 86_400).unwrap_or(u32::MAX)
}

impl DeliverDb {
    pub(crate) fn open(
        config_dir: &Path,
        cache_bytes: usize,
        durable: &Durable,
    ) -> Result<DeliverDb> {
        let path = config_dir.join(DELIVER_DB_FILE);
        let db = durable.created_file(&path, || create_exclusive(&path, cache_bytes))?;
        init_versioned(&db, &path, META, DELIVER_FORMAT_VERSION, |txn| {
            txn.open_table(DELIVERED)?;
            Ok(())
        })?;
        Ok(DeliverDb {
            db,
            durability: crate::index::durability(durable.policy()),
            pending: Mutex::new(Pending {
                records: HashMap::new(),
                since: Instant::now(),
            }),
        })
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        // Plain data: a panic elsewhere while holding it leaves nothing half-done.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `message_id` was delivered into the mailbox `uniqueid` in the kept days.
    pub(crate) fn delivered(&self, message_id: &str, uniqueid: &str, now: i64) -> Result<bool> {
        if message_id.len() > MAX_MESSAGE_ID {
            return Ok(false);
        }
        let today = day_of(now);
        let first_kept = today.saturating_sub(DUPLICATE_KEEP_DAYS - 1);
        let key = (message_id.to_string(), uniqueid.to_string());
        if let Some((day, _)) = self.pending().records.get(&key) {
            if *day >= first_kept {
                return Ok(true);
            }
        }
        let txn = self.db.begin_read()?;
        let t = txn.open_table(DELIVERED)?;
        for day in first_kept..=today {
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
        let when = u64::try_from(now).unwrap_or(0);
        let mut pending = self.pending();
        if pending.records.is_empty() {
            pending.since = Instant::now();
        }
        for uniqueid in uniqueids {
            let key = (message_id.to_string(), (*uniqueid).to_string());
            pending.records.insert(key, (today, when));
        }
        if pending.records.len() >= FLUSH_EVERY || pending.since.elapsed() >= FLUSH_AFTER {
            self.write(&mut pending, today)?;
        }
        Ok(())
    }

    /// Writes the pending records in one commit and forgets days no longer kept.
    fn write(&self, pending: &mut Pending, today: u32) -> Result<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(self.durability)?;
        {
            let mut t = txn.open_table(DELIVERED)?;
            for ((id, uniqueid), (day, when)) in &pending.records {
                t.insert((*day, id.as_str(), uniqueid.as_str()), *when)?;
            }
            let cutoff = today.saturating_sub(DUPLICATE_KEEP_DAYS - 1);
            t.retain_in((0, "", "")..(cutoff, "", ""), |_, _| false)?;
        }
        txn.commit()?;
        pending.records.clear();
        Ok(())
    }
}

impl Drop for DeliverDb {
    fn drop(&mut self) {
        let today = day_of(crate::model::unix_now());
        let mut pending = std::mem::replace(
            &mut *self.pending(),
            Pending {
                records: HashMap::new(),
                since: Instant::now(),
            },
        );
        if !pending.records.is_empty() {
            // Best effort at shutdown; losing these only weakens duplicate suppression.
            let _ = self.write(&mut pending, today);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn always() -> Durable {
        Durable::new(
            crate::config::FsyncPolicy::Always,
            crate::hooks::StoreHooks::default(),
        )
    }

    #[test]
    fn remembered_for_the_kept_days_per_mailbox_then_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let db = DeliverDb::open(dir.path(), 1 << 20, &always()).unwrap();
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
        for i in 0..=FLUSH_EVERY {
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
    fn records_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        // Closing writes what is pending, pruning by the real clock: use today.
        let now = crate::model::unix_now();
        {
            let db = DeliverDb::open(dir.path(), 1 << 20, &always()).unwrap();
            db.record("<first@x>", &["U1"], now).unwrap();
            assert!(
                db.delivered("<first@x>", "U1", now).unwrap(),
                "seen while pending"
            );
        }
        let db = DeliverDb::open(dir.path(), 1 << 20, &always()).unwrap();
        assert!(db.delivered("<first@x>", "U1", now).unwrap());
        assert!(!db.delivered("<first@x>", "U2", now).unwrap());
    }
}
