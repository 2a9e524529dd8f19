//! What reading a foreign store or writing an export can fail with: every error names the file
//! and, for a syntax error, the line, so an administrator can open the file and look.

use std::io;
use std::path::{Path, PathBuf};

use mailstore::StoreError;

/// Why an import or an export stopped (or skipped one mailbox).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}:{line}: {what}", path.display())]
    Syntax {
        path: PathBuf,
        line: u64,
        what: String,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The mailbox is in the store already: an import adds mailboxes, it never merges.
    #[error("{0}: the mailbox exists already (an import only creates mailboxes)")]
    Exists(String),
    #[error("{0}")]
    Refused(String),
}

impl MigrateError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: io::Error) -> MigrateError {
        MigrateError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A syntax error in `path` at `line` (1-based).
    pub fn syntax(path: &Path, error: SyntaxError) -> MigrateError {
        MigrateError::Syntax {
            path: path.to_path_buf(),
            line: error.line,
            what: error.what,
        }
    }
}

/// A syntax error of an I/O-free parser: the line (1-based) and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: u64,
    pub what: String,
}

impl SyntaxError {
    pub fn new(line: u64, what: impl Into<String>) -> SyntaxError {
        SyntaxError {
            line,
            what: what.into(),
        }
    }
}

pub type Result<T, E = MigrateError> = std::result::Result<T, E>;
