//! The plain configuration the binary hands to [`crate::Store::open`]. The store never reads
//! `imapd.conf` itself (it must not depend on the `config` crate).

use std::collections::BTreeMap;
use std::path::PathBuf;

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

/// Where and how the store keeps its data.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Cyrus `configdirectory`: the mailboxes database and the per-owner indexes live here.
    pub config_directory: PathBuf,
    /// `partition-NAME: /path` entries.
    pub partitions: BTreeMap<String, PathBuf>,
    /// `defaultpartition`.
    pub default_partition: String,
    /// `maxmessagesize` in bytes; `None` means unlimited.
    pub max_message_size: Option<u64>,
    pub fsync: FsyncPolicy,
    /// How many per-owner index databases stay open at once (least recently used are closed).
    pub open_index_limit: usize,
    /// redb page cache per open index database, in bytes.
    pub index_cache_bytes: usize,
}

impl StoreConfig {
    /// A configuration with the defaults for everything but the paths.
    pub fn new(
        config_directory: impl Into<PathBuf>,
        partitions: BTreeMap<String, PathBuf>,
        default_partition: impl Into<String>,
    ) -> StoreConfig {
        StoreConfig {
            config_directory: config_directory.into(),
            partitions,
            default_partition: default_partition.into(),
            max_message_size: None,
            fsync: FsyncPolicy::Always,
            open_index_limit: 256,
            index_cache_bytes: 4 << 20,
        }
    }
}
