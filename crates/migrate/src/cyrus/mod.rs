//! Cyrus 2.4/3.x spool and databases: readers and the import driver.
//!
//! Readers, each bounded and answering malformed input with an error that names the file and
//! offset: [`twoskip`], [`skiplist`] and [`db`] (key/value databases), [`mboxlist`] (mailboxes database
//! entries), [`header`] (`cyrus.header`), [`index`] (`cyrus.index`), [`userdata`] (seen,
//! subscriptions, quota roots), [`conf`] (`imapd.conf` and where Cyrus keeps each file), and
//! [`dlist`] (the text form several of these share). [`import`] feeds what they read into a
//! [`mailstore::Store`] through its import primitive.

pub mod conf;
pub mod db;
pub mod dlist;
mod driver;
pub mod header;
pub mod index;
pub mod mboxlist;
mod sieve;
pub mod skiplist;
pub mod twoskip;
pub mod userdata;
mod userstate;

use std::io::Read;
use std::path::{Path, PathBuf};

pub use driver::{import, Event, ImportMode, ImportOptions, Summary};
pub use sieve::split_script;

/// A key/value database's records, (key, value) in the file's order.
pub type Records = Vec<(Vec<u8>, Vec<u8>)>;

/// Why an import or a read failed.
#[derive(Debug, thiserror::Error)]
pub enum CyrusError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: at offset {offset}: {what}")]
    Format {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    /// The import will not start (a mailbox exists already, an unsupported setup…).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] mailstore::StoreError),
}

impl CyrusError {
    pub(crate) fn format(path: &Path, offset: u64, what: String) -> CyrusError {
        CyrusError::Format {
            path: path.to_path_buf(),
            offset,
            what,
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> CyrusError {
        CyrusError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The whole file at `path`, refused when longer than `max` octets.
pub(crate) fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, CyrusError> {
    let file = std::fs::File::open(path).map_err(|e| CyrusError::io(path, e))?;
    let len = file.metadata().map_err(|e| CyrusError::io(path, e))?.len();
    if len > max {
        return Err(CyrusError::format(
            path,
            0,
            format!("{len} octets is more than the {max} we read"),
        ));
    }
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(max)
        .read_to_end(&mut out)
        .map_err(|e| CyrusError::io(path, e))?;
    Ok(out)
}
