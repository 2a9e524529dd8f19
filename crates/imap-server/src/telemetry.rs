//! Cyrus-style protocol telemetry: when `configdirectory/log/USER/` exists, everything a session
//! of USER exchanges after authentication is appended to a file there named after the session,
//! client bytes after `<TIME<` and server bytes after `>TIME>` (Unix seconds), as Cyrus writes
//! it. Logging starts after login, so LOGIN and AUTHENTICATE exchanges (with their secrets)
//! never reach the file. Write errors turn telemetry off for the session; they never end it.

use std::fs::File;
use std::io::Write;
use std::path::Path;

pub(crate) struct Telemetry {
    file: File,
}

impl Telemetry {
    /// Opens the session's file when the admin created the user's log directory.
    pub fn open(config_directory: &Path, user: &str, session_id: &str) -> Option<Telemetry> {
        let dir = config_directory.join("log").join(user);
        if !dir.is_dir() {
            return None;
        }
        let path = dir.join(session_id);
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            Ok(file) => Some(Telemetry { file }),
            Err(e) => {
                tracing::error!(severity = "err", "telemetry file {}: {e}", path.display());
                None
            }
        }
    }

    pub fn client(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.record(b'<', data)
    }

    pub fn server(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.record(b'>', data)
    }

    fn record(&mut self, mark: u8, data: &[u8]) -> std::io::Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut entry = Vec::with_capacity(data.len() + 16);
        entry.push(mark);
        entry.extend_from_slice(now.to_string().as_bytes());
        entry.push(mark);
        entry.extend_from_slice(data);
        self.file.write_all(&entry)
    }
}
