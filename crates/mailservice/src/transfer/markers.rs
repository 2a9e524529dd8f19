//! The markers a transfer leaves on disk while it is not finished, under the config directory:
//!
//! ```text
//! CONFIG/xfer/in/HEX(NAME)     a copy this server (the target) is receiving: JSON {name,
//!                              uniqueid (once created)}; written before the copy
//! CONFIG/xfer/out/HEX(PREFIX)  a hierarchy this server (the source) is giving away: JSON
//!                              {target, names}; written before the directory switches
//! ```
//!
//! A marker is written to a temporary name, flushed, renamed into place and its directory
//! flushed, so after a crash it is either whole or absent. File names are the hex of the
//! mailbox name, so any name makes a plain file name.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use types::MailboxName;

/// A copy being received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Incoming {
    pub name: String,
    /// The local copy's uniqueid, once it exists (only that mailbox is ever removed for it).
    #[serde(default)]
    pub uniqueid: Option<String>,
}

/// A hierarchy being given away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Outgoing {
    pub target: String,
    /// Every mailbox of the hierarchy whose entry may switch to the target.
    pub names: Vec<String>,
}

/// Which markers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    In,
    Out,
}

/// The marker directories of one server.
#[derive(Clone, Debug)]
pub(crate) struct Markers {
    root: PathBuf,
}

impl Markers {
    /// The markers under `config_directory`.
    pub fn new(config_directory: &Path) -> Markers {
        Markers {
            root: config_directory.join("xfer"),
        }
    }

    fn dir(&self, side: Side) -> PathBuf {
        self.root.join(match side {
            Side::In => "in",
            Side::Out => "out",
        })
    }

    fn path(&self, side: Side, name: &MailboxName) -> PathBuf {
        self.dir(side).join(hex::encode(name.as_str()))
    }

    /// Writes the marker of `name` durably (see the module documentation).
    pub fn put<T: Serialize>(
        &self,
        side: Side,
        name: &MailboxName,
        value: &T,
    ) -> std::io::Result<()> {
        let dir = self.dir(side);
        std::fs::create_dir_all(&dir)?;
        let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
        let path = self.path(side, name);
        let tmp = path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&dir)?.sync_all()
    }

    /// The marker of `name`, if there is one (an unreadable one is an error).
    pub fn get<T: for<'de> Deserialize<'de>>(
        &self,
        side: Side,
        name: &MailboxName,
    ) -> std::io::Result<Option<T>> {
        match std::fs::read(self.path(side, name)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes the marker of `name` durably; none is fine.
    pub fn remove(&self, side: Side, name: &MailboxName) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(side, name)) {
            Ok(()) => std::fs::File::open(self.dir(side))?.sync_all(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every marker of `side`, by the name it is for. A temporary file a crash left while a
    /// marker was written is removed: that marker was never in place, so nothing it would
    /// have guarded was done. Any other file that is no marker is skipped with a warning.
    pub fn all<T: for<'de> Deserialize<'de>>(
        &self,
        side: Side,
    ) -> std::io::Result<Vec<(MailboxName, T)>> {
        let entries = match std::fs::read_dir(self.dir(side)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut found = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "tmp") {
                tracing::info!("xfer: removing {}, left by a crash", path.display());
                std::fs::remove_file(&path)?;
                continue;
            }
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| hex::decode(n).ok())
                .and_then(|n| String::from_utf8(n).ok())
                .and_then(|n| MailboxName::try_from(n).ok());
            let Some(name) = name else {
                tracing::warn!("xfer: {} is no transfer marker; ignored", path.display());
                continue;
            };
            match self.get(side, &name) {
                Ok(Some(value)) => found.push((name, value)),
                Ok(None) => {}
                Err(e) => tracing::warn!("xfer: reading {}: {e}; ignored", path.display()),
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found)
    }
}
