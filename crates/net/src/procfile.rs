//! Cyrus-style session files: while a session is open, `configdirectory/proc/<session-id>`
//! holds the client's host, the login name once logged in and the selected mailbox
//! (tab-separated, one line). Removed when the session ends; stale ones are removed at start-up.
//!
//! The files are written by one dedicated thread, never on a runtime thread: a session only
//! records the content its file should have (or that it should be gone) in a map and wakes the
//! writer, so accepting a connection costs a map insertion, and a slow or stuck file system
//! stalls only the writer. Only the latest wish per file is kept, so the map holds at most one
//! entry per live session and a short session's create-then-remove may never touch the disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

/// The shared writer; the server owns one.
pub struct ProcFiles {
    dir: PathBuf,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

#[derive(Default)]
struct Pending {
    /// Path → the line it should hold, or `None`: remove it.
    files: HashMap<PathBuf, Option<String>>,
    closed: bool,
}

impl ProcFiles {
    /// Removes stale files (at start-up, before any session) and starts the writer thread.
    pub fn start(config_directory: &Path) -> ProcFiles {
        let dir = config_directory.join("proc");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let _ = std::fs::create_dir_all(&dir);
        let shared = Arc::new(Shared::default());
        let writer = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("procfiles".into())
            .spawn(move || write_loop(&writer));
        if let Err(e) = spawned {
            tracing::error!(severity = "err", "starting the session file writer: {e}");
        }
        ProcFiles { dir, shared }
    }

    /// The file of a new session, written as soon as the writer gets to it.
    pub fn create(&self, session_id: &str, host: &str) -> ProcFile {
        let file = ProcFile {
            path: self.dir.join(session_id),
            host: host.to_string(),
            shared: Arc::clone(&self.shared),
        };
        file.update(None, None);
        file
    }
}

impl Drop for ProcFiles {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn want(&self, path: &Path, content: Option<String>) {
        self.lock().files.insert(path.to_path_buf(), content);
        self.wake.notify_one();
    }
}

/// Applies the latest wishes until the server goes away and nothing is left to write.
fn write_loop(shared: &Shared) {
    loop {
        let batch = {
            let mut pending = shared.lock();
            while pending.files.is_empty() && !pending.closed {
                pending = shared.wake.wait(pending).unwrap_or_else(|p| p.into_inner());
            }
            if pending.files.is_empty() {
                return;
            }
            std::mem::take(&mut pending.files)
        };
        for (path, content) in batch {
            let result = match content {
                Some(line) => std::fs::write(&path, line),
                None => match std::fs::remove_file(&path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    other => other,
                },
            };
            if let Err(e) = result {
                tracing::error!(severity = "err", "session file {}: {e}", path.display());
            }
        }
    }
}

/// One session's file.
pub struct ProcFile {
    path: PathBuf,
    host: String,
    shared: Arc<Shared>,
}

impl ProcFile {
    /// Sets the line; failures are logged by the writer, never fatal to the session.
    pub fn update(&self, user: Option<&str>, mailbox: Option<&str>) {
        let line = format!(
            "{}\t{}\t{}\n",
            self.host,
            user.unwrap_or(""),
            mailbox.unwrap_or("")
        );
        self.shared.want(&self.path, Some(line));
    }
}

impl Drop for ProcFile {
    fn drop(&mut self) {
        self.shared.want(&self.path, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn eventually(what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !check() {
            assert!(Instant::now() < deadline, "never happened: {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn files_follow_the_session_and_stale_ones_go_at_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc")).unwrap();
        std::fs::write(dir.path().join("proc/stale"), "x").unwrap();
        let files = ProcFiles::start(dir.path());
        assert!(!dir.path().join("proc/stale").exists());
        let path = dir.path().join("proc/s1");
        let file = files.create("s1", "192.0.2.1");
        eventually("created", || {
            std::fs::read_to_string(&path).is_ok_and(|t| t == "192.0.2.1\t\t\n")
        });
        file.update(Some("alice"), Some("user.alice"));
        eventually("updated", || {
            std::fs::read_to_string(&path).is_ok_and(|t| t == "192.0.2.1\talice\tuser.alice\n")
        });
        drop(file);
        eventually("removed", || !path.exists());
    }

    /// A file that blocks its writer (here a FIFO nobody reads, standing for a stuck file
    /// system) used to block the thread that accepted the connection.
    #[test]
    fn a_stuck_file_system_does_not_block_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let files = ProcFiles::start(dir.path());
        let fifo = dir.path().join("proc/stuck");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("SKIPPED: mkfifo is not available");
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let file = files.create("stuck", "192.0.2.1");
            file.update(Some("alice"), None);
            let _ = tx.send(());
            // Keep the writer alive (blocked on the FIFO) until the test ends.
            std::thread::sleep(Duration::from_secs(60));
            drop((file, files));
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("creating a session file blocked the session");
        // Let the writer finish: open the FIFO for reading.
        let _ = std::fs::read(&fifo);
    }
}
