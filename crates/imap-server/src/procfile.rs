//! Cyrus-style session files: while a session is open, `configdirectory/proc/<session-id>`
//! holds the client's host, the login name once logged in and the selected mailbox
//! (tab-separated, one line). Removed when the session ends; stale ones are removed at start-up.

use std::path::{Path, PathBuf};

pub(crate) struct ProcFile {
    path: PathBuf,
    host: String,
}

pub(crate) fn clean(config_directory: &Path) {
    let dir = config_directory.join("proc");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let _ = std::fs::create_dir_all(dir);
}

impl ProcFile {
    pub fn create(config_directory: &Path, session_id: &str, host: &str) -> ProcFile {
        let file = ProcFile {
            path: config_directory.join("proc").join(session_id),
            host: host.to_string(),
        };
        file.update(None, None);
        file
    }

    /// Rewrites the line; failures are logged, never fatal to the session.
    pub fn update(&self, user: Option<&str>, mailbox: Option<&str>) {
        let line = format!(
            "{}\t{}\t{}\n",
            self.host,
            user.unwrap_or(""),
            mailbox.unwrap_or("")
        );
        if let Err(e) = std::fs::write(&self.path, line) {
            tracing::error!(
                severity = "err",
                "writing session file {}: {e}",
                self.path.display()
            );
        }
    }
}

impl Drop for ProcFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
