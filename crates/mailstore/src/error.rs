//! The store's error type. Variants are split into *refusals* (the request cannot be honoured;
//! the server answers `NO` with a response code) and *failures* (something is broken on this
//! machine; the server logs it with context). [`StoreError::is_refusal`] tells them apart.

use std::path::PathBuf;

/// Everything a store operation can answer instead of success.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // ---- refusals ----
    #[error("no such mailbox: {0}")]
    NoSuchMailbox(String),
    #[error("mailbox already exists: {0}")]
    AlreadyExists(String),
    #[error("partition {0:?} is reserved and cannot hold ordinary mailboxes")]
    ReservedPartition(String),
    #[error("no such partition: {0:?}")]
    NoSuchPartition(String),
    #[error("bad message: {0}")]
    BadMessage(String),
    #[error("message is larger than the limit of {limit} bytes")]
    TooBig { limit: u64 },
    #[error("no message with UID {0}")]
    NoSuchMessage(u32),
    #[error("the mailbox's UID space is exhausted")]
    UidSpaceExhausted,
    #[error("the mailbox has too many keywords (limit {0})")]
    TooManyKeywords(usize),
    #[error("invalid rename: {0}")]
    InvalidRename(String),
    #[error("invalid mailbox name: {0}")]
    InvalidName(String),
    /// The insert would take quota root `.0` past what the caller's quota policy allows.
    #[error("quota exceeded on quota root {0}")]
    OverQuota(String),
    #[error("no such quota root: {0}")]
    NoSuchQuotaRoot(String),
    #[error("{0} is a newsgroup: its articles come and go with the news server only")]
    Newsgroup(String),
    /// The mailbox is another server's (a Murder's directory entry): it is served there.
    #[error("{mailbox} is on server {server}")]
    Remote { mailbox: String, server: String },

    // ---- failures ----
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt {what}: {detail}")]
    Corrupt { what: String, detail: String },
    #[error(
        "{path}: on-disk format version {found} is not supported (this build reads {supported})"
    )]
    UnsupportedFormat {
        path: PathBuf,
        found: u64,
        supported: u64,
    },
    /// Another process has the store open (redb allows one process per file): admin tools must
    /// go through the running server's admin socket, or wait until it is stopped.
    #[error("{0} is in use by another process")]
    InUse(PathBuf),
    /// The mailbox's owner stayed locked by another operation (a partition move, a
    /// reconstruct) longer than [`crate::StoreConfig::write_wait`]: try again later.
    #[error("mailbox {0} is busy, try again later")]
    Busy(String),
    /// Boxed: redb's error is large and would bloat every `Result` of the crate.
    #[error("database error: {0}")]
    Db(Box<redb::Error>),
}

impl StoreError {
    /// True for outcomes that are the client's or the data's fault rather than this machine's.
    pub fn is_refusal(&self) -> bool {
        match self {
            StoreError::NoSuchMailbox(_)
            | StoreError::AlreadyExists(_)
            | StoreError::ReservedPartition(_)
            | StoreError::NoSuchPartition(_)
            | StoreError::BadMessage(_)
            | StoreError::TooBig { .. }
            | StoreError::NoSuchMessage(_)
            | StoreError::UidSpaceExhausted
            | StoreError::TooManyKeywords(_)
            | StoreError::InvalidRename(_)
            | StoreError::InvalidName(_)
            | StoreError::OverQuota(_)
            | StoreError::NoSuchQuotaRoot(_)
            | StoreError::Newsgroup(_)
            | StoreError::Remote { .. } => true,
            StoreError::Io { .. }
            | StoreError::Corrupt { .. }
            | StoreError::UnsupportedFormat { .. }
            | StoreError::InUse(_)
            | StoreError::Busy(_)
            | StoreError::Db(_) => false,
        }
    }

    /// True when a database file's bytes are not a readable database (damaged or overwritten),
    /// as opposed to busy, in use, or of an unknown version: such a file can only be set aside
    /// (see [`crate::Store::set_aside_damaged_index`]).
    pub fn is_damaged_database(&self) -> bool {
        match self {
            StoreError::Db(e) => match &**e {
                redb::Error::Corrupted(_) => true,
                redb::Error::Io(io) => io.kind() == std::io::ErrorKind::InvalidData,
                _ => false,
            },
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            what: what.into(),
            detail: detail.into(),
        }
    }
}

/// Converts every redb error type into [`StoreError::Db`] so `?` works on all of them.
macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> StoreError {
                StoreError::Db(Box::new(e.into()))
            }
        }
    )*};
}

from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
