//! Making changes survive a power loss: fsync of files and directories, and creating
//! directories durably.
//!
//! A new directory entry (a file linked in, a subdirectory created) is only on stable storage
//! once the directory holding it is fsynced. So every directory the store creates (partition
//! roots and `tmp/`, the fan-out levels `AB/` and `CD/`, mailbox directories, `index/HH/`, the
//! config directory) goes through [`Durable::create_dir`], which fsyncs the parent of each
//! directory it creates; a new database file has its directory fsynced too. Nothing else in the
//! crate calls `create_dir*` or fsyncs a directory.
//!
//! Must not: decide the order of steps (the callers own the write protocol).

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::config::FsyncPolicy;
use crate::error::{Result, StoreError};
use crate::hooks::{HookEvent, StoreHooks};

/// The fsync policy with the hooks that watch it.
#[derive(Clone, Debug)]
pub(crate) struct Durable {
    policy: FsyncPolicy,
    hooks: StoreHooks,
}

impl Durable {
    pub(crate) fn new(policy: FsyncPolicy, hooks: StoreHooks) -> Durable {
        Durable { policy, hooks }
    }

    pub(crate) fn policy(&self) -> FsyncPolicy {
        self.policy
    }

    pub(crate) fn hooks(&self) -> &StoreHooks {
        &self.hooks
    }

    /// fsyncs an open file's data and metadata (a message file before it is linked).
    pub(crate) fn sync_file(&self, file: &fs::File, path: &Path) -> Result<()> {
        if self.policy == FsyncPolicy::Always {
            file.sync_all().map_err(|e| StoreError::io(path, e))?;
        }
        Ok(())
    }

    /// fsyncs a directory, so the entries linked into or removed from it are durable.
    pub(crate) fn sync_dir(&self, dir: &Path) -> Result<()> {
        if self.policy == FsyncPolicy::Never {
            return Ok(());
        }
        fsync_dir(dir).map_err(|e| StoreError::io(dir, e))?;
        self.hooks.fire(HookEvent::DirSynced(dir));
        Ok(())
    }

    /// Flushes everything written to the file system holding `dir` (syncfs(2)): one call for a
    /// whole batch of imported message files instead of one fsync each.
    pub(crate) fn sync_filesystem(&self, dir: &Path) -> Result<()> {
        if self.policy != FsyncPolicy::Always {
            return Ok(());
        }
        let d = fs::File::open(dir).map_err(|e| StoreError::io(dir, e))?;
        rustix::fs::syncfs(&d).map_err(|e| StoreError::io(dir, e.into()))
    }

    /// Creates `dir` and its missing ancestors, fsyncing the parent of each one created.
    pub(crate) fn create_dir(&self, dir: &Path) -> Result<()> {
        create_missing(dir, 0o777, |parent| self.sync_dir(parent).map_err(into_io))
            .map_err(|e| StoreError::io(dir, e))
    }

    /// fsyncs the directory of a file that `create` is about to create (a new database), once
    /// it exists; does nothing if the file was there before.
    pub(crate) fn created_file<T>(
        &self,
        path: &Path,
        create: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let existed = path.exists();
        let made = create()?;
        if !existed {
            self.sync_dir(&parent_of(path))?;
        }
        Ok(made)
    }
}

/// Flushes everything written to the file system holding `dir` (syncfs(2)), whatever the
/// store's fsync policy: for tools that wrote many files there (`darius restore`).
pub fn sync_file_system(dir: &Path) -> io::Result<()> {
    let d = fs::File::open(dir)?;
    rustix::fs::syncfs(&d).map_err(io::Error::from)
}

/// Creates `dir` and any missing ancestors with `mode` (the umask applies), fsyncing the parent
/// of every directory it creates, so that after a power loss the new directories are still
/// there. For directories outside the store that hold its data (the config directory, the
/// server's spool), created by the binary before the store opens.
pub fn create_dir_durably(dir: &Path, mode: u32) -> io::Result<()> {
    create_missing(dir, mode, fsync_dir)
}

/// Creates the missing directories of `dir`, outermost first; after creating each, calls `sync`
/// on its parent. A directory that appears meanwhile (another thread) gets its parent synced
/// too: we cannot know whether its creator has done so yet.
fn create_missing(
    dir: &Path,
    mode: u32,
    mut sync: impl FnMut(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let mut missing: Vec<&Path> = Vec::new();
    let mut cur = dir;
    loop {
        match fs::metadata(cur) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "not a directory",
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(cur),
            Err(e) => return Err(e),
        }
        match cur.parent() {
            Some(p) if !p.as_os_str().is_empty() => cur = p,
            _ => break,
        }
    }
    for new in missing.into_iter().rev() {
        match fs::DirBuilder::new().mode(mode).create(new) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && new.is_dir() => {}
            Err(e) => return Err(e),
        }
        sync(&parent_of(new))?;
    }
    Ok(())
}

/// The directory holding `path` (`.` for a bare relative name).
pub(crate) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Opening a directory read-only and fsyncing it persists its entries (Linux, and POSIX
/// systems generally).
fn fsync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

fn into_io(e: StoreError) -> io::Error {
    match e {
        StoreError::Io { source, .. } => source,
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{Arc, Mutex};

    use super::*;

    fn recording() -> (Durable, Arc<Mutex<Vec<PathBuf>>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let hooks = StoreHooks::new(move |e| {
            if let HookEvent::DirSynced(p) = e {
                sink.lock().unwrap().push(p.to_path_buf());
            }
        });
        (Durable::new(FsyncPolicy::Always, hooks), log)
    }

    #[test]
    fn every_created_directory_has_its_parent_synced_outermost_first() {
        let root = tempfile::tempdir().unwrap();
        let (d, log) = recording();
        let deep = root.path().join("a/b/c");
        d.create_dir(&deep).unwrap();
        assert!(deep.is_dir());
        let want: Vec<PathBuf> = vec![
            root.path().to_path_buf(),
            root.path().join("a"),
            root.path().join("a/b"),
        ];
        assert_eq!(*log.lock().unwrap(), want);
        log.lock().unwrap().clear();
        d.create_dir(&deep).unwrap();
        assert!(
            log.lock().unwrap().is_empty(),
            "nothing new, nothing synced"
        );
    }

    #[test]
    fn a_file_in_the_way_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("f"), b"x").unwrap();
        let (d, _) = recording();
        assert!(d.create_dir(&root.path().join("f/g")).is_err());
    }

    #[test]
    fn never_policy_creates_without_syncing() {
        let root = tempfile::tempdir().unwrap();
        let log = Arc::new(Mutex::new(0));
        let sink = Arc::clone(&log);
        let d = Durable::new(
            FsyncPolicy::Never,
            StoreHooks::new(move |_| *sink.lock().unwrap() += 1),
        );
        d.create_dir(&root.path().join("x/y")).unwrap();
        assert!(root.path().join("x/y").is_dir());
        assert_eq!(*log.lock().unwrap(), 0);
    }
}
