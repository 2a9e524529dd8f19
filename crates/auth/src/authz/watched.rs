//! A small configuration file read again whenever its modification time or length changes, so
//! an administrator's edit takes effect at the next lookup without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Larger files are not read (they are an administrator's, but a mistake must not exhaust
/// memory): a warning is logged and the file counts as empty.
pub(super) const MAX_FILE_BYTES: u64 = 16 << 20;

type Stamp = (SystemTime, u64);

#[derive(Debug)]
pub(super) struct Watched<T> {
    path: PathBuf,
    parse: fn(&str) -> T,
    state: Mutex<Option<(Stamp, Arc<T>)>>,
}

impl<T: Default> Watched<T> {
    pub(super) fn new(path: PathBuf, parse: fn(&str) -> T) -> Watched<T> {
        Watched {
            path,
            parse,
            state: Mutex::new(None),
        }
    }

    /// The parsed contents as of now; a missing or unreadable file reads as empty.
    pub(super) fn get(&self) -> Arc<T> {
        let stamp = stamp(&self.path);
        // A poisoned lock only means another lookup panicked mid-update; the cached value is
        // replaced wholesale, so it is never half-written.
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((old, value)) = state.as_ref() {
            if stamp == Some(*old) {
                return value.clone();
            }
        }
        let value = Arc::new(self.read());
        if let Some(stamp) = stamp {
            *state = Some((stamp, value.clone()));
        } else {
            *state = None;
        }
        value
    }

    fn read(&self) -> T {
        match read_bounded(&self.path) {
            Ok(text) => (self.parse)(&text),
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %self.path.display(), error = %e, "cannot read file");
                }
                T::default()
            }
        }
    }
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn read_bounded(path: &Path) -> std::io::Result<String> {
    let len = std::fs::metadata(path)?.len();
    if len > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_FILE_BYTES} bytes"
        )));
    }
    let bytes = std::fs::read(path)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
