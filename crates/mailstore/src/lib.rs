//! Storage layer: partitions, message files, the per-owner index, the mailboxes database, seen
//! state, subscriptions and quota usage.
//!
//! Owns: everything on disk under the partitions and the config directory that describes mail.
//! Speaks UIDs and mailbox names. Must not: know sequence numbers, tags, response codes, or decide
//! whether an identity may do something (that is `mailservice`'s job).
//!
//! # On-disk layout (details and encodings: `docs/on-disk-format.md`)
//! ```text
//! CONFIG/mailboxes.redb            mailboxes DB, subscriptions, private seen, quota roots
//! CONFIG/index/HH/HASH.redb        one index per hierarchy owner (user.NAME, or a top level)
//! PARTITION/tmp/                   spool files
//! PARTITION/AB/CD/UNIQUEID/        a mailbox: cyrus.header and message files `UID.`
//! SIEVEDIR/user/USER/, global/     Sieve scripts and the active link (module `sieve_scripts`)
//! ```
//!
//! # API at a glance
//! - Namespace: [`Store::create_mailbox`], [`Store::delete_mailbox`], [`Store::rename_mailbox`]
//!   (whole hierarchy), [`Store::set_partition`], [`Store::set_acl`], [`Store::set_special_use`],
//!   [`Store::list_mailboxes`], [`Store::mailbox_entry`].
//! - Messages: [`Store::append`], [`Store::copy`], [`Store::move_messages`],
//!   [`Store::move_all_messages`], [`Store::store_flags`], [`Store::expunge`].
//! - Reading: [`Store::status`], [`Store::records`], [`Store::read_message`],
//!   [`Store::read_range`], [`Store::open_message`] (a [`MessageFile`] to stream ranges from),
//!   [`Store::message_file`], [`Store::vanished_since`].
//! - Change feed: [`Store::subscribe_changes`] (subscribe first, then read state).
//! - `\Recent`: [`Store::recent_mark`], [`Store::claim_recent`], [`Store::recent_count`].
//! - Per user: [`SeenSource`] on reads and STOREs, [`Store::subscribe`],
//!   [`Store::unsubscribe`], [`Store::subscriptions`].
//! - Quotas: [`Store::set_quota_root`], [`Store::remove_quota_root`], [`Store::quota_roots`],
//!   [`Store::quota_limits`], [`Store::quota_root_of`], [`Store::quota_usage`],
//!   [`Store::repair_quota`] (`quota -f`); inserts that name a [`QuotaPolicy`]
//!   ([`Store::append_checked`], [`Store::deliver_checked`], [`Store::copy_checked`],
//!   [`Store::move_checked`]) are checked atomically with their commit.
//! - Repair: [`Store::reconstruct`] ([`Store::reconstruct_with`]: `-n`, without `-f`),
//!   [`Store::rebuild_mailboxes_db`] (`reconstruct -m`), [`Store::check_mailboxes_db`] and
//!   [`Store::dangling_subscriptions`] (`check`),
//!   [`Store::purge_tombstones`], [`Store::prune_tombstones`] (tombstone retention).
//! - Delayed expunge ([`ExpungeMode`]): [`Store::expunged`], [`Store::unexpunge`],
//!   [`Store::purge_expunged`], [`Store::expire_deliveries`]; delayed delete renames with
//!   [`Store::rename_alone`].
//!
//! - Murder transfers (XFER): [`Store::create_incoming_mailbox`], [`Store::hand_over_mailbox`].
//! - Backup: [`Store::backup_to`] (a consistent copy while sessions keep working).
//! - Sieve scripts: [`Store::active_sieve_script`], [`Store::read_sieve_script`],
//!   [`Store::list_sieve_scripts`], [`Store::put_sieve_script`], [`Store::delete_sieve_script`],
//!   [`Store::rename_sieve_script`], [`Store::set_active_sieve_script`],
//!   [`Store::put_global_sieve_script`].
//!
//! Errors: [`StoreError::is_refusal`] separates what the client caused (`NO`) from failures.
//!
//! # Durability
//! Append: normalise into `tmp/` while hashing and scanning (bounded memory, module `msgfile`),
//! fsync, link(2) to `UID.` (never overwriting), fsync the directory, commit the index, publish,
//! return. Expunge: commit (with a tombstone), then unlink. Every directory created is synced
//! into its parent (module `durable`). [`Store::reconstruct`] repairs whatever a crash between
//! those steps leaves, including a cross-owner rename stopped between its commits; crash tests
//! stop operations at [`CrashPoint`]s through [`StoreHooks`].
//!
//! # Limits
//! [`MAX_MESSAGE_SIZE`] bounds every message whatever `maxmessagesize` says;
//! [`Store::room_for_message`] tells servers what the disks can take before they invite data.
//!
//! # Concurrency
//! The API is synchronous (call it from `spawn_blocking`); [`Store`] is `Send + Sync` and `Clone`
//! (an `Arc` inside). Readers use redb snapshots and never block. Writers of one hierarchy owner
//! serialise on that owner's lock (module `index`); mailbox namespace changes (create, delete,
//! rename, partition moves, reconstruct) also serialise on one store-wide namespace lock, taken
//! before any owner lock. Lock order: namespace → owner → mailboxes DB write transaction; the
//! quota lock of the `user` root (module `quota`) comes after the owner lock.

mod article;
mod changes;
mod codec;
mod config;
mod dbcache;
mod duplicates;
mod durable;
mod error;
mod flags;
mod hooks;
mod index;
mod mailboxes_db;
mod message_file;
mod model;
mod msgfile;
mod normalise;
mod ops_append;
mod ops_backup;
mod ops_copy;
mod ops_expunged;
mod ops_flags;
mod ops_import;
mod ops_mailbox;
mod ops_news;
mod ops_partition;
mod ops_read;
mod ops_recent;
mod ops_remote;
mod ops_tombstones;
mod ops_transfer;
mod parallel;
mod partition;
mod quota;
mod rebuild;
mod reconstruct;
mod seen;
mod sieve_scripts;
mod space;
mod subs;
mod summary;

use std::sync::{Arc, Mutex, MutexGuard};

use types::MailboxName;

pub use article::{decode_article, read_article};
pub use codec::UidSet;
pub use config::{Clock, ExpungeMode, FsyncPolicy, StoreConfig, RESERVED_NEWS_PARTITION};
pub use duplicates::{
    DELIVER_DB_FILE, DELIVER_FORMAT_VERSION, DUPLICATE_KEEP_DAYS, MAX_SIEVE_KEY, SIEVE_PRUNE_EVERY,
};
pub use durable::{create_dir_durably, sync_file_system};
pub use error::{Result, StoreError};
pub use hooks::{CrashPoint, HookEvent, StoreHooks};
pub use index::{INDEX_FORMAT_VERSION, MAX_KEYWORDS};
pub use mailboxes_db::{LEGACY_ACL, MAILBOXES_DB_FILE, MAILBOXES_FORMAT_VERSION};
pub use message_file::{MessageFile, MessageReader};
pub use model::{
    AppendItem, AppendOutcome, AppendSource, Change, CopyOutcome, CreateOptions, Delivered,
    Expunge, FlagChange, InternalDate, MailboxEntry, MailboxStatus, MailboxType, MessageRecord,
    PruneReport, QuotaLimits, QuotaRepairReport, QuotaUsage, ReconstructOptions, ReconstructReport,
    RecordFields, RepairMode, SeenSource, SelectSnapshot, StoreFlagsOutcome, UidSelection,
    UnlistedFiles, UsageCorrection, VanishedSince,
};
pub use msgfile::header_block;
pub use normalise::{normalise_crlf, CrlfNormaliser, NormaliseError};
pub use ops_backup::{BackupProgress, BackupReport, BackupTarget, RestoredMailbox};
pub use ops_expunged::{DeletedFlag, ExpireReport, ExpungedMessage, Unexpunge, UnexpungeOutcome};
pub use ops_import::{ImportOutcome, ImportedMailbox, ImportedMessage};
pub use ops_news::{AddedArticles, NewsArticle};
pub use ops_remote::DirectoryChange;
pub use ops_tombstones::PURGE_BATCH;
pub use partition::{MailboxHeaderFile, MAILBOX_HEADER_FILE};
pub use quota::QuotaPolicy;
pub use rebuild::{RebuildReport, StoreFinding};
pub use sieve_scripts::{
    ActivateScript, DeleteScript, PutScript, RenameScript, ScriptVersion, SieveScriptInfo,
    MAX_SCRIPT_NAME_BYTES,
};
pub use space::{free_space, FREE_SPACE_RESERVE, MAX_MESSAGE_SIZE};

use changes::ChangeFeed;
use dbcache::OwnerCache;
use index::{IndexHeader, OwnerDb};
use mailboxes_db::MailboxesDb;
use partition::Partitions;

/// The mail store. Cheap to clone; share it between sessions.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    config: StoreConfig,
    partitions: Partitions,
    global: MailboxesDb,
    deliveries: duplicates::DeliverDb,
    owners: OwnerCache,
    changes: ChangeFeed,
    namespace: Mutex<()>,
    /// Held from the quota check to the commit of inserts governed by a root spanning owners
    /// (see `quota`); taken after the owner lock, and nothing else is locked while it is held.
    quota_span: Mutex<()>,
    /// Users' and global Sieve scripts under `sievedir`.
    sieve: sieve_scripts::SieveDir,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("config_directory", &self.inner.config.config_directory)
            .finish()
    }
}

/// A mailbox resolved through the mailboxes database, with its owner's index.
pub(crate) struct Resolved {
    pub entry: MailboxEntry,
    pub owner: Arc<OwnerDb>,
}

impl Store {
    /// Opens (creating if needed) the store. Leftover spool files in each partition's `tmp/` are
    /// removed: they belong to appends that were never acknowledged. That happens only after the
    /// mailboxes database is open, whose file lock proves no other process uses the store.
    pub fn open(config: StoreConfig) -> Result<Store> {
        let durable = durable::Durable::new(config.fsync, config.hooks.clone());
        let partitions = Partitions::new(&config, &durable)?;
        let shares = config.cache_shares();
        let global = MailboxesDb::open(&config.config_directory, shares.mailboxes, &durable)?;
        let deliveries =
            duplicates::DeliverDb::open(&config.config_directory, shares.deliveries, &durable)?;
        for name in partitions.names() {
            clean_tmp(&partitions.tmp_dir(name)?);
        }
        let sieve = sieve_scripts::SieveDir::new(config.sieve_directory.clone(), durable.clone());
        let owners = OwnerCache::new(
            config.config_directory.join("index"),
            shares.open_indexes,
            shares.per_index,
            durable,
        );
        Ok(Store {
            inner: Arc::new(Inner {
                config,
                partitions,
                global,
                deliveries,
                owners,
                changes: ChangeFeed::default(),
                namespace: Mutex::new(()),
                quota_span: Mutex::new(()),
                sieve,
            }),
        })
    }

    /// Whether the Sieve response-tracking `key` (vacation's "already replied to this sender",
    /// RFC 5230 §4.2; the key is built by the caller, e.g. a hash of owner, sender and handle)
    /// is recorded with an expiry later than `now` (Unix seconds). Keys longer than
    /// [`MAX_SIEVE_KEY`] bytes are refused with [`StoreError::InvalidName`].
    pub fn sieve_tracked(&self, key: &str, now: u64) -> Result<bool> {
        self.inner.deliveries.sieve_tracked(key, now)
    }

    /// Records the Sieve response-tracking `key` until `until` (Unix seconds), replacing an
    /// earlier expiry; durable (its own commit) before it returns, so that a crash cannot make
    /// vacation reply twice. Expired keys are pruned with the duplicate-delivery records
    /// (at most every [`SIEVE_PRUNE_EVERY`] seconds). Keys longer than [`MAX_SIEVE_KEY`] bytes
    /// are refused with [`StoreError::InvalidName`].
    pub fn sieve_track(&self, key: &str, until: u64) -> Result<()> {
        self.inner.deliveries.sieve_track(key, until)
    }

    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    pub(crate) fn namespace_lock(&self) -> MutexGuard<'_, ()> {
        // Guards no data of its own, so a poisoned lock is as good as a fresh one.
        self.inner
            .namespace
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn resolve(&self, name: &MailboxName) -> Result<Resolved> {
        let entry = self
            .inner
            .global
            .read()?
            .entry(name)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
        if let Some(server) = entry.remote_server() {
            return Err(StoreError::Remote {
                mailbox: name.to_string(),
                server: server.to_string(),
            });
        }
        let owner = self.inner.owners.get(&name.hierarchy_root())?;
        Ok(Resolved { entry, owner })
    }

    /// The mailbox's index header from a snapshot (`NoSuchMailbox` if deleted meanwhile).
    /// The owner's write lock, waited for at most `write_wait` ([`StoreError::Busy`] after),
    /// and the mailbox's header read under it.
    pub(crate) fn write_header<'a>(
        &self,
        r: &'a Resolved,
    ) -> Result<(index::IndexWrite<'a>, IndexHeader)> {
        let name = &r.entry.name;
        let ow = r
            .owner
            .write_within(self.inner.config.write_wait)?
            .ok_or_else(|| StoreError::Busy(name.to_string()))?;
        let h = ow
            .header(&r.entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
        Ok((ow, h))
    }

    pub(crate) fn header_of(&self, r: &Resolved) -> Result<IndexHeader> {
        r.owner
            .read()?
            .header(&r.entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(r.entry.name.to_string()))
    }
}

fn clean_tmp(dir: &std::path::Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            // Best effort: a temp file that cannot be removed now is retried at the next start.
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn store_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<super::Store>();
    }
}
