//! The plain configuration the binary hands to [`crate::Store::open`]. The store never reads
//! `imapd.conf` itself (it must not depend on the `config` crate).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::hooks::StoreHooks;

/// Name of the partition reserved for netnews; ordinary mailboxes are refused there.
pub const RESERVED_NEWS_PARTITION: &str = "news";

/// Whether the store forces data to stable storage before acknowledging a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync message files, their directories and every index commit (production).
    Always,
    /// Skip fsync (tests and benchmarks that measure something else). Not crash-safe, and redb
    /// only reclaims freed pages after a durable commit, so index files grow until the next
    /// open with `Always`.
    Never,
}

/// What an expunge does with a message (Cyrus's `expunge_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExpungeMode {
    /// Clients stop seeing the message at once, but its file and record are kept for
    /// `darius unexpunge` until `darius expire` purges them (`expunge_days`).
    #[default]
    Delayed,
    /// The file is unlinked and the record dropped at once.
    Immediate,
}

/// Where and how the store keeps its data.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Cyrus `configdirectory`: the mailboxes database and the per-owner indexes live here.
    pub config_directory: PathBuf,
    /// `partition-NAME: /path` entries.
    pub partitions: BTreeMap<String, PathBuf>,
    /// `defaultpartition`.
    pub default_partition: String,
    /// `maxmessagesize` in bytes; `None` means no configured limit ([`crate::MAX_MESSAGE_SIZE`]
    /// still applies).
    pub max_message_size: Option<u64>,
    pub fsync: FsyncPolicy,
    /// Cyrus `sievedir`: users' Sieve scripts and the global ones (default
    /// `configdirectory/sieve`).
    pub sieve_directory: PathBuf,
    /// How many per-owner index databases stay open at once (least recently used are closed).
    pub open_index_limit: usize,
    /// `index_cache_bytes`: one budget for the page caches of every database the store keeps
    /// open (the mailboxes database, the duplicate-delivery database and the open owner
    /// indexes), however many users there are. See [`StoreConfig::cache_shares`].
    pub index_cache_bytes: usize,
    /// How long an append or delivery waits for its mailbox's owner to be free (another
    /// writer, e.g. a partition move copying files, holds it) before it gives up with
    /// [`crate::StoreError::Busy`], which servers answer with a temporary failure.
    pub write_wait: std::time::Duration,
    /// Test hooks (directory syncs, crash points); unset in production.
    pub hooks: StoreHooks,
    /// The time of day the store dates expunges with (tombstone retention).
    pub clock: Clock,
    /// `expunge_mode`: whether expunged messages are kept for `darius unexpunge`.
    pub expunge_mode: ExpungeMode,
    /// `newsprefix`: the mailbox name newsgroups sit under (`netnews` puts `comp.lang.rust`
    /// at `netnews.comp.lang.rust`); `None` puts them at the top level.
    pub news_prefix: Option<String>,
}

type ClockFn = dyn Fn() -> i64 + Send + Sync;

/// Where the store reads the time (Unix seconds) it records with each expunge, so tombstone
/// retention can judge age. The default is the system clock; tests set one they move by hand
/// instead of sleeping for days. Cheap to clone.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<ClockFn>>);

impl Clock {
    /// A clock that asks `f` for the time.
    pub fn new(f: impl Fn() -> i64 + Send + Sync + 'static) -> Clock {
        Clock(Some(Arc::new(f)))
    }

    /// The current time in Unix seconds.
    pub fn now(&self) -> i64 {
        match &self.0 {
            Some(f) => f(),
            None => crate::model::unix_now(),
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Clock(set)"
        } else {
            "Clock(system)"
        })
    }
}

/// The smallest page cache an owner index gets: below this, more open indexes stop paying for
/// themselves and the store keeps fewer open instead.
pub(crate) const MIN_INDEX_CACHE: usize = 128 << 10;

/// How [`StoreConfig::index_cache_bytes`] is divided among the databases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CacheShares {
    pub mailboxes: usize,
    pub deliveries: usize,
    /// Page cache of each open owner index.
    pub per_index: usize,
    /// How many owner indexes stay open (never more than `open_index_limit`).
    pub open_indexes: usize,
}

impl StoreConfig {
    /// A configuration with the defaults for everything but the paths.
    pub fn new(
        config_directory: impl Into<PathBuf>,
        partitions: BTreeMap<String, PathBuf>,
        default_partition: impl Into<String>,
    ) -> StoreConfig {
        let config_directory: PathBuf = config_directory.into();
        StoreConfig {
            sieve_directory: config_directory.join("sieve"),
            config_directory,
            partitions,
            default_partition: default_partition.into(),
            max_message_size: None,
            fsync: FsyncPolicy::Always,
            open_index_limit: 256,
            index_cache_bytes: 64 << 20,
            write_wait: std::time::Duration::from_secs(30),
            hooks: StoreHooks::default(),
            clock: Clock::default(),
            expunge_mode: ExpungeMode::default(),
            news_prefix: None,
        }
    }

    /// Splits the budget: a sixteenth each for the mailboxes and duplicate-delivery databases
    /// (both are read on every delivery), the rest evenly over the owner indexes that may be
    /// open at once. redb bounds each database's cache (read cache and write buffer together)
    /// by the size it was opened with, so the sum stays within the budget. Owner indexes that
    /// are still in use when evicted stay open until their last user drops them; that is at
    /// most one per running operation.
    pub(crate) fn cache_shares(&self) -> CacheShares {
        let budget = self.index_cache_bytes;
        let mailboxes = budget / 16;
        let deliveries = budget / 16;
        let indexes = budget - mailboxes - deliveries;
        let limit = self.open_index_limit.max(1);
        let per_index = (indexes / limit).max(MIN_INDEX_CACHE);
        let open_indexes = (indexes / per_index).clamp(1, limit);
        CacheShares {
            mailboxes,
            deliveries,
            per_index,
            open_indexes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(budget: usize, limit: usize) -> StoreConfig {
        let mut c = StoreConfig::new("/nonexistent", BTreeMap::new(), "default");
        c.index_cache_bytes = budget;
        c.open_index_limit = limit;
        c
    }

    #[test]
    fn cache_shares_stay_within_the_budget() {
        for budget in [0, 1 << 20, 8 << 20, 64 << 20, 1 << 30] {
            for limit in [1, 16, 256, 10_000] {
                let s = config(budget, limit).cache_shares();
                let total = s.mailboxes + s.deliveries + s.per_index * s.open_indexes;
                // The one exception: a budget too small for even one index still gets one.
                let floor = s.mailboxes + s.deliveries + MIN_INDEX_CACHE;
                assert!(
                    total <= budget.max(floor),
                    "budget {budget}, limit {limit}: {s:?} sums to {total}"
                );
                assert!(s.open_indexes >= 1 && s.open_indexes <= limit);
            }
        }
    }

    #[test]
    fn a_small_budget_keeps_fewer_indexes_open_rather_than_starving_each() {
        let s = config(8 << 20, 256).cache_shares();
        assert_eq!(s.per_index, MIN_INDEX_CACHE);
        assert_eq!(s.open_indexes, (7 << 20) / MIN_INDEX_CACHE);
        let s = config(1 << 30, 256).cache_shares();
        assert_eq!(s.open_indexes, 256);
        assert_eq!(s.per_index, (1 << 30) * 7 / 8 / 256);
    }
}
