//! The value types of the store's public API: what callers pass in and get back.

use serde::{Deserialize, Serialize};
use types::{Flag, MailboxName, ModSeq, Uid, UidValidity};

use crate::error::{Result, StoreError};

/// What kind of mailbox an entry in the mailboxes database describes: an ordinary mailbox, a
/// newsgroup (docs/netnews.md), or another server's mailbox in a Murder (this server's copy of
/// the directory entry; its messages are there, docs/murder.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailboxType {
    Normal,
    Netnews,
    Remote,
}

/// Options for [`crate::Store::create_mailbox`].
#[derive(Clone, Debug)]
pub struct CreateOptions {
    /// `None`: the parent's partition, or `defaultpartition` for a top-level mailbox.
    pub partition: Option<String>,
    /// The ACL in Cyrus's text form (`id<TAB>rights<TAB>…`); the store only keeps it.
    pub acl: String,
    pub mailbox_type: MailboxType,
    /// RFC 6154 special-use attributes such as `\Sent`.
    pub special_use: Vec<String>,
}

impl Default for CreateOptions {
    fn default() -> CreateOptions {
        CreateOptions {
            partition: None,
            acl: String::new(),
            mailbox_type: MailboxType::Normal,
            special_use: Vec::new(),
        }
    }
}

/// One row of the mailboxes database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxEntry {
    pub name: MailboxName,
    pub uniqueid: String,
    pub partition: String,
    pub acl: String,
    pub mailbox_type: MailboxType,
    pub special_use: Vec<String>,
    /// Value of the mailboxes database's own change counter when the entry was created/changed.
    pub created_modseq: u64,
    pub modified_modseq: u64,
}

impl MailboxEntry {
    /// For another server's mailbox ([`MailboxType::Remote`]): that server's name. The
    /// partition of a remote entry is `SERVER!PARTITION`, as in Cyrus's mailboxes database.
    pub fn remote_server(&self) -> Option<&str> {
        if self.mailbox_type != MailboxType::Remote {
            return None;
        }
        Some(
            self.partition
                .split_once('!')
                .map_or(self.partition.as_str(), |(s, _)| s),
        )
    }

    /// For another server's mailbox: its partition on that server.
    pub fn remote_partition(&self) -> Option<&str> {
        if self.mailbox_type != MailboxType::Remote {
            return None;
        }
        Some(self.partition.split_once('!').map_or("", |(_, p)| p))
    }

    /// Whether the mailbox's messages are files of ours in a partition (not a newsgroup of
    /// the news spool, not another server's mailbox).
    pub fn is_local_files(&self) -> bool {
        self.mailbox_type == MailboxType::Normal
    }
}

/// An IMAP INTERNALDATE: seconds since the epoch plus the zone it was given in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalDate {
    pub unix_seconds: i64,
    pub offset_minutes: i16,
}

impl InternalDate {
    pub fn now() -> InternalDate {
        InternalDate {
            unix_seconds: unix_now(),
            offset_minutes: 0,
        }
    }
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Where the bytes of a message to append come from.
#[derive(Clone, Debug)]
pub enum AppendSource {
    /// A spool file (may be on another file system than the partition); it is only read.
    File(std::path::PathBuf),
    Bytes(Vec<u8>),
}

/// One message for [`crate::Store::append`].
#[derive(Clone, Debug)]
pub struct AppendItem {
    pub source: AppendSource,
    /// Stored in the index record. Where `\Seen` is private to the appending user, leave it out
    /// here and set it with `store_flags(.., SeenSource::PrivateTo(user), ..)` afterwards.
    pub flags: Vec<Flag>,
    /// `None`: now.
    pub internal_date: Option<InternalDate>,
}

impl AppendItem {
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> AppendItem {
        AppendItem {
            source: AppendSource::Bytes(bytes.into()),
            flags: Vec::new(),
            internal_date: None,
        }
    }
}

/// What [`crate::Store::deliver`] did for one target mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivered {
    Stored(AppendOutcome),
    /// The mailbox already received a message with this Message-ID (duplicate suppression).
    Duplicate,
}

/// RFC 4315 APPENDUID data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendOutcome {
    pub uidvalidity: UidValidity,
    pub uids: Vec<Uid>,
}

/// RFC 4315 COPYUID data: target UIDVALIDITY and (source UID, target UID) pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyOutcome {
    pub uidvalidity: UidValidity,
    pub mapping: Vec<(Uid, Uid)>,
}

/// How STORE changes flags (RFC 9051 §6.4.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlagChange {
    Add(Vec<Flag>),
    Remove(Vec<Flag>),
    Replace(Vec<Flag>),
}

/// Whose `\Seen` an operation reads or writes. Cyrus keeps the owner's `\Seen` in the index
/// record and everybody else's in the per-user seen database; the service layer decides which
/// applies (mailbox shared, ACL grants `s`…) and says so here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeenSource<'a> {
    /// `\Seen` is the one in the index record.
    Index,
    /// `\Seen` is private to this user and lives in the seen database.
    PrivateTo(&'a str),
}

/// Result of [`crate::Store::store_flags`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreFlagsOutcome {
    /// Messages whose flags really changed: new flags (as the acting user sees them) and MODSEQ.
    pub updated: Vec<(Uid, Vec<Flag>, ModSeq)>,
    /// RFC 7162 §3.1.3: messages left alone because their MODSEQ exceeded UNCHANGEDSINCE.
    pub modified: Vec<Uid>,
}

/// Which messages [`crate::Store::expunge`] removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expunge {
    AllDeleted,
    /// RFC 4315 UID EXPUNGE: only those of these UIDs that carry `\Deleted`.
    DeletedAmong(Vec<Uid>),
    /// These UIDs whatever their flags (used by MOVE and by administrative removal).
    Uids(Vec<Uid>),
}

/// Which messages to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UidSelection<'a> {
    All,
    /// Inclusive range.
    Range(Uid, Uid),
    Uids(&'a [Uid]),
}

/// Which large parts of a record to load besides flags, dates, size, MODSEQ and GUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordFields {
    pub cache: bool,
    pub header: bool,
}

impl RecordFields {
    pub const BASIC: RecordFields = RecordFields {
        cache: false,
        header: false,
    };
    pub const WITH_CACHE: RecordFields = RecordFields {
        cache: true,
        header: false,
    };
    pub const ALL: RecordFields = RecordFields {
        cache: true,
        header: true,
    };
}

/// One message as the index knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    pub uid: Uid,
    /// Flags as the acting user sees them (their private `\Seen` where asked for).
    pub flags: Vec<Flag>,
    pub internal_date: InternalDate,
    /// RFC 8514 SAVEDATE, seconds since the epoch.
    pub save_date: i64,
    /// RFC822.SIZE.
    pub size: u64,
    pub modseq: ModSeq,
    /// SHA-256 of the stored bytes (RFC 8474 EMAILID material, single-instance store key).
    pub guid: [u8; 32],
    /// `message::MessageCache::to_bytes()` output, when asked for.
    pub cache: Option<Vec<u8>>,
    /// The raw header block (up to and including the blank line), when asked for.
    pub header: Option<Vec<u8>>,
}

impl MessageRecord {
    /// Decodes the cached ENVELOPE/BODYSTRUCTURE/part tree.
    pub fn message_cache(&self) -> Result<message::MessageCache> {
        let bytes = self
            .cache
            .as_deref()
            .ok_or_else(|| StoreError::corrupt("record", "cache was not loaded"))?;
        message::MessageCache::from_bytes(bytes)
            .map_err(|e| StoreError::corrupt(format!("cache of UID {}", self.uid), e.to_string()))
    }
}

/// STATUS data, read from the mailbox header without scanning messages (except `unseen` for a
/// private-seen viewer, which walks UIDs only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxStatus {
    pub uidvalidity: UidValidity,
    pub uidnext: Uid,
    pub highestmodseq: ModSeq,
    pub exists: u32,
    pub size: u64,
    pub deleted: u32,
    pub unseen: u32,
    /// The mailbox's keyword table (for the FLAGS and PERMANENTFLAGS responses of SELECT).
    pub keywords: Vec<String>,
}

/// What SELECT and EXAMINE read of a mailbox, from one snapshot (see
/// [`crate::Store::select_snapshot`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectSnapshot {
    pub status: MailboxStatus,
    /// Every message, ascending.
    pub uids: Vec<Uid>,
    /// The position (1-based) of the first message without `\Seen` for the viewer.
    pub first_unseen: Option<u32>,
    /// The messages whose MODSEQ is above the one asked about (none when none was), with
    /// flags as the viewer sees them, ascending.
    pub changed: Vec<MessageRecord>,
}

/// What a mailbox remembers of the expunges after a MODSEQ (RFC 7162 §3.2.5.2, §3.2.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VanishedSince {
    /// Every UID expunged with a MODSEQ above the one asked about, ascending.
    Exact(Vec<Uid>),
    /// Tombstones from that far back were pruned (`tombstone_days`): the caller must treat
    /// every UID it cannot see as possibly expunged.
    Pruned,
}

/// What [`crate::Store::prune_tombstones`] did.
#[derive(Debug, Default)]
pub struct PruneReport {
    /// Mailboxes looked at.
    pub mailboxes: usize,
    /// Mailboxes that lost tombstones.
    pub pruned_mailboxes: usize,
    /// Tombstones dropped, over all mailboxes.
    pub tombstones: usize,
    /// Mailboxes that could not be pruned, and why (the others were still done).
    pub failed: Vec<(MailboxName, StoreError)>,
    /// Whether the run was asked to stop before it had looked at every mailbox.
    pub stopped: bool,
}

/// Published on a mailbox's change channel after each committed change, in commit order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Appended {
        uids: Vec<Uid>,
        modseq: ModSeq,
    },
    /// Messages whose MODSEQ moved: their index flags changed, or only somebody's private
    /// `\Seen` (then a `SeenChanged` for that user comes first).
    FlagsChanged {
        changes: Vec<(Uid, ModSeq)>,
    },
    /// A private `\Seen` change; only that user's sessions care.
    SeenChanged {
        user: String,
        uids: Vec<Uid>,
    },
    Expunged {
        uids: Vec<Uid>,
        modseq: ModSeq,
    },
    Renamed {
        to: MailboxName,
    },
    Deleted,
    /// The mailbox's ACL changed: sessions that have it selected check their rights again.
    AclChanged,
}

/// Usage counted against a quota root: RFC 822 sizes and message counts, each copy in full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuotaUsage {
    pub storage_bytes: u64,
    pub messages: u64,
}

impl QuotaUsage {
    /// What one message of `size` octets adds.
    pub fn one_message(size: u64) -> QuotaUsage {
        QuotaUsage {
            storage_bytes: size,
            messages: 1,
        }
    }

    /// STORAGE as RFC 9208 reports it: KiB, rounded down (as Cyrus does).
    pub fn storage_kib(&self) -> u64 {
        self.storage_bytes / 1024
    }

    /// `(bytes, messages)` as the owner index's `quota_usage` table stores them.
    pub(crate) fn from_pair((storage_bytes, messages): (u64, u64)) -> QuotaUsage {
        QuotaUsage {
            storage_bytes,
            messages,
        }
    }

    /// Both figures added, saturating.
    pub(crate) fn plus(self, other: QuotaUsage) -> QuotaUsage {
        QuotaUsage {
            storage_bytes: self.storage_bytes.saturating_add(other.storage_bytes),
            messages: self.messages.saturating_add(other.messages),
        }
    }

    /// `other` taken away from both figures, saturating at zero.
    pub(crate) fn minus(self, other: QuotaUsage) -> QuotaUsage {
        QuotaUsage {
            storage_bytes: self.storage_bytes.saturating_sub(other.storage_bytes),
            messages: self.messages.saturating_sub(other.messages),
        }
    }
}

/// What [`crate::Store::repair_quota`] (`quota -f`) found and set right.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuotaRepairReport {
    /// Roots whose usage changed, with the usage before and after.
    pub corrections: Vec<UsageCorrection>,
    /// Mailboxes whose header totals disagreed with their message records.
    pub headers_fixed: Vec<String>,
    /// Maintained subtree sums that were wrong (`quota_usage` entries rewritten).
    pub entries_fixed: usize,
}

impl QuotaRepairReport {
    /// True when the run found nothing to fix.
    pub fn is_clean(&self) -> bool {
        self.corrections.is_empty() && self.headers_fixed.is_empty() && self.entries_fixed == 0
    }
}

/// One quota root's usage as `quota -f` found it and as it left it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageCorrection {
    pub root: MailboxName,
    pub before: QuotaUsage,
    pub after: QuotaUsage,
}

/// Limits attached to a quota root. Enforcement is the service layer's job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaLimits {
    pub storage_kib: Option<u64>,
    pub messages: Option<u64>,
}

/// What a reconstruct does with message files its index does not list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnlistedFiles {
    /// Index them (Cyrus's `reconstruct -f`): a file below UIDNEXT gets a fresh UID.
    #[default]
    Adopt,
    /// Leave them where they are and list them in [`ReconstructReport::unadopted`].
    Report,
}

/// Whether a repair writes what it finds or only reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RepairMode {
    /// Change the index and the files.
    #[default]
    Fix,
    /// Compute the same report and change nothing (`-n`): index writes are aborted and no
    /// file is renamed, removed or written.
    DryRun,
}

/// How [`crate::Store::reconstruct_with`] runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReconstructOptions {
    pub unlisted: UnlistedFiles,
    pub mode: RepairMode,
}

/// What [`crate::Store::reconstruct`] found and fixed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReconstructReport {
    /// Files with no index record, now indexed (re-parsed), under their UID after any
    /// renumbering.
    pub added: Vec<Uid>,
    /// Files with no index record whose UID lay below UIDNEXT (never acknowledged: their append
    /// crashed before its commit), renamed to a fresh UID: (old, new). Also in `added`.
    pub renumbered: Vec<(Uid, Uid)>,
    /// Index records whose file is gone, now removed (tombstoned).
    pub lost: Vec<Uid>,
    /// Files of already expunged messages, now unlinked.
    pub stale_files_removed: Vec<Uid>,
    /// Files of expunged messages that a delayed expunge keeps, found under their live name
    /// (a crash came between the expunge's commit and the file's rename): now moved to their
    /// kept name, so that `unexpunge` finds them.
    pub kept_files_moved: Vec<Uid>,
    /// Records whose size or GUID disagreed with the file, re-parsed.
    pub recached: Vec<Uid>,
    /// Header counters (exists, size, deleted, seen, UIDNEXT) that were wrong and are now right.
    pub header_fixed: bool,
    /// The mailbox's index header was gone (its owner's index file lost or replaced): it was
    /// made again from the mailboxes database with a new UIDVALIDITY, and every message file
    /// adopted under its UID (flags and internal dates, which only the index knew, are lost).
    pub index_recreated: bool,
    /// The owner's index file could not be read at all and was renamed to this (kept for
    /// inspection); every mailbox of that owner needs a reconstruct.
    pub index_set_aside: Option<std::path::PathBuf>,
    /// Uniqueids of mailboxes whose copy in an owner index they no longer belong to (left by an
    /// interrupted cross-owner rename) was removed.
    pub stale_copies_removed: Vec<String>,
    /// Files the index does not list, left alone because the options said to report them
    /// ([`UnlistedFiles::Report`]): not a change, so not counted by [`Self::is_clean`].
    pub unadopted: Vec<Uid>,
}

impl ReconstructReport {
    pub fn is_clean(&self) -> bool {
        self.added.is_empty()
            && self.lost.is_empty()
            && self.stale_files_removed.is_empty()
            && self.kept_files_moved.is_empty()
            && self.recached.is_empty()
            && self.stale_copies_removed.is_empty()
            && !self.header_fixed
    }
}
