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
//!
//! The same file holds Sieve's response tracking (RFC 5230 §4.2 vacation, RFC 7352 duplicate
//! and the like): table `sieve_tracking`, key (at most [`MAX_SIEVE_KEY`] bytes) → Unix seconds
//! until which it counts. Unlike delivery records these are written at once, in their own
//! commit with the store's durability: they are rare (one per reply sent), and a record lost
//! in a crash would mean a second vacation reply to the same sender. Expired keys are removed
//! when the delivery records are written, at most once every [`SIEVE_PRUNE_EVERY`] seconds
//! (a full scan of the table), and never affect answers meanwhile. A database written before
//! the table existed is opened as is: the table is created on open.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redb::{Database, ReadableDatabase, TableDefinition};

use crate::durable::Durable;
use crate::error::{Result, StoreError};
use crate::index::{create_exclusive, init_versioned};

pub const DELIVER_DB_FILE: &str = "deliver.redb";
pub const DELIVER_FORMAT_VERSION: u64 = 1;
/// Days a delivery is remembered (Cyrus's usual `cyr_expire -D 3`).
pub const DUPLICATE_KEEP_DAYS: u32 = 3;
/// Longest Message-ID remembered; longer ones are never treated as duplicates.
pub const MAX_MESSAGE_ID: usize = 998;
/// Longest Sieve tracking key (the longest header line RFC 5322 allows, as a sanity bound;
/// keys are normally 40-byte hashes). Longer keys are refused with
/// [`StoreError::InvalidName`].
pub const MAX_SIEVE_KEY: usize = 998;
/// Seconds between two prunings of expired Sieve tracking keys.
pub const SIEVE_PRUNE_EVERY: u64 = 3600;
const FLUSH_EVERY: usize = 64;
const FLUSH_AFTER: Duration = Duration::from_secs(5);

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const DELIVERED: TableDefinition<(u32, &str, &str), u64> = TableDefinition::new("delivered");
const SIEVE_TRACKING: TableDefinition<&str, u64> = TableDefinition::new("sieve_tracking");

pub(crate) struct DeliverDb {
    db: Database,
    path: std::path::PathBuf,
    durability: redb::Durability,
    pending: Mutex<Pending>,
    /// Unix seconds of the last pruning of expired Sieve tracking keys.
    sieve_pruned: AtomicU64,
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
            txn.open_table(SIEVE_TRACKING)?;
            Ok(())
        })?;
        // Databases from before Sieve tracking lack its table; add it rather than refuse them.
        let has_tracking = match db.begin_read()?.open_table(SIEVE_TRACKING) {
            Ok(_) => true,
            Err(redb::TableError::TableDoesNotExist(_)) => false,
            Err(e) => return Err(e.into()),
        };
        if !has_tracking {
            let txn = db.begin_write()?;
            txn.open_table(SIEVE_TRACKING)?;
            txn.commit()?;
        }
        Ok(DeliverDb {
            db,
            path,
            durability: crate::index::durability(durable.policy()),
            pending: Mutex::new(Pending {
                records: HashMap::new(),
                since: Instant::now(),
            }),
            sieve_pruned: AtomicU64::new(0),
        })
    }

    /// For a backup: a crash image of the database at its last commit (see `crate::ops_backup`);
    /// delivery records still waiting in memory are not in it, as after a crash.
    pub(crate) fn copy_to(
        &self,
        dest: &Path,
        copier: &mut crate::ops_backup::Copier,
    ) -> Result<()> {
        crate::ops_backup::copy_database(&self.db, &self.path, dest, copier)
    }

    fn check_sieve_key(key: &str) -> Result<()> {
        if key.len() > MAX_SIEVE_KEY {
            return Err(StoreError::InvalidName(format!(
                "Sieve tracking key of {} bytes, more than {MAX_SIEVE_KEY}",
                key.len()
            )));
        }
        Ok(())
    }

    /// Whether the Sieve tracking `key` is recorded with an expiry after `now`.
    pub(crate) fn sieve_tracked(&self, key: &str, now: u64) -> Result<bool> {
        Self::check_sieve_key(key)?;
        let txn = self.db.begin_read()?;
        let t = txn.open_table(SIEVE_TRACKING)?;
        Ok(t.get(key)?.is_some_and(|until| until.value() > now))
    }

    /// Records the Sieve tracking `key` until `until`, durably (one commit).
    pub(crate) fn sieve_track(&self, key: &str, until: u64) -> Result<()> {
        Self::check_sieve_key(key)?;
        let mut txn = self.db.begin_write()?;
        txn.set_durability(self.durability)?;
        {
            let mut t = txn.open_table(SIEVE_TRACKING)?;
            t.insert(key, until)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Removes expired Sieve tracking keys inside `txn`, at most once every
    /// [`SIEVE_PRUNE_EVERY`] seconds.
    fn prune_sieve(&self, txn: &redb::WriteTransaction, now: u64) -> Result<()> {
        let last = self.sieve_pruned.load(Ordering::Relaxed);
        if now < last.saturating_add(SIEVE_PRUNE_EVERY) {
            return Ok(());
        }
        self.sieve_pruned.store(now, Ordering::Relaxed);
        let mut t = txn.open_table(SIEVE_TRACKING)?;
        t.retain(|_, until| until > now)?;
        Ok(())
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
            self.write(&mut pending, today, when)?;
        }
        Ok(())
    }

    /// Writes what is pending and forgets the days no longer kept and the expired Sieve
    /// tracking keys, at once (`darius expire`).
    pub(crate) fn expire(&self, now: i64) -> Result<()> {
        let mut pending = self.pending();
        self.sieve_pruned.store(0, Ordering::Relaxed);
        self.write(&mut pending, day_of(now), u64::try_from(now).unwrap_or(0))
    }

    /// Writes the pending records in one commit and forgets days no longer kept.
    /// Expired Sieve tracking keys go too, now and then ([`SIEVE_PRUNE_EVERY`]).
    fn write(&self, pending: &mut Pending, today: u32, now: u64) -> Result<()> {
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
        self.prune_sieve(&txn, now)?;
        txn.commit()?;
        pending.records.clear();
        Ok(())
    }
}

impl Drop for DeliverDb {
    fn drop(&mut self) {
        let now = crate::model::unix_now();
        let today = day_of(now);
        let mut pending = std::mem::replace(
            &mut *self.pending(),
            Pending {
                records: HashMap::new(),
                since: Instant::now(),
            },
        );
        if !pending.records.is_empty() {
            // Best effort at shutdown; losing these only weakens duplicate suppression.
            let _ = self.write(&mut pending, today, u64::try_from(now).unwrap_or(0));
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

    #[test]
    fn sieve_keys_count_until_they_expire_survive_a_reopen_and_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let now = 1_900_000_000u64;
        {
            let db = DeliverDb::open(dir.path(), 1 << 20, &always()).unwrap();
            assert!(!db.sieve_tracked("k1", now).unwrap());
            db.sieve_track("k1", now + 100).unwrap();
            db.sieve_track("k2", now + 10).unwrap();
            assert!(db.sieve_tracked("k1", now).unwrap());
            assert!(db.sieve_tracked("k2", now + 9).unwrap());
            assert!(!db.sieve_tracked("k2", now + 10).unwrap(), "expired");
            assert!(
                !db.sieve_tracked("K1", now).unwrap(),
                "keys compare exactly"
            );
            // Tracking again moves the expiry.
            db.sieve_track("k2", now + 1000).unwrap();
            assert!(db.sieve_tracked("k2", now + 500).unwrap());
        }
        let db = DeliverDb::open(dir.path(), 1 << 20, &always()).unwrap();
        assert!(db.sieve_tracked("k1", now + 99).unwrap(), "durable");
        // A write of delivery records prunes what expired by then.
        let mut pending = db.pending();
        let mut taken = std::mem::replace(
            &mut *pending,
            Pending {
                records: HashMap::new(),
                since: Instant::now(),
            },
        );
        drop(pending);
        db.write(&mut taken, day_of(0), now + 200).unwrap();
        let txn = db.db.begin_read().unwrap();
        let t = txn.open_table(SIEVE_TRACKING).unwrap();
        assert!(t.get("k1").unwrap().is_none(), "pruned");
        assert!(t.get("k2").unwrap().is_some(), "kept");
    }

    #[test]
    fn long_sieve_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = DeliverDb::open(dir.path(), 1 << 20, &always()).unwrap();
        let long = "k".repeat(MAX_SIEVE_KEY + 1);
        assert!(db.sieve_track(&long, 10).is_err());
        assert!(db.sieve_tracked(&long, 1).is_err());
        let longest = "k".repeat(MAX_SIEVE_KEY);
        db.sieve_track(&longest, 10).unwrap();
        assert!(db.sieve_tracked(&longest, 1).unwrap());
    }

    #[test]
    fn a_database_without_the_tracking_table_is_opened_and_gains_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DELIVER_DB_FILE);
        {
            // The layout before Sieve tracking: meta and delivered only.
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut meta = txn.open_table(META).unwrap();
                meta.insert(
                    "format_version",
                    DELIVER_FORMAT_VERSION.to_le_bytes().as_slice(),
                )
                .unwrap();
                txn.open_table(DELIVERED).unwrap();
            }
            txn.commit().unwrap();
        }
        let db = DeliverDb::open(dir.path(), 1 << 20, &always()).unwrap();
        assert!(!db.sieve_tracked("k", 1).unwrap());
        db.sieve_track("k", 10).unwrap();
        assert!(db.sieve_tracked("k", 1).unwrap());
    }
}
