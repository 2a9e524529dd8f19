//! Cyrus-style protocol telemetry: when `configdirectory/log/USER/` exists, everything a session
//! of USER exchanges after authentication is appended to a file there named after the session,
//! client bytes after `<TIME<` and server bytes after `>TIME>` (Unix seconds), as Cyrus writes
//! it. Logging starts after login, so LOGIN and AUTHENTICATE exchanges (with their secrets)
//! never reach the file. Write errors turn telemetry off for the session; they never end it.
//!
//! The file is opened and written through `tokio::fs`, which runs each operation on the
//! blocking pool: a slow disk delays this session's telemetry, never a runtime thread.

use std::path::Path;

use tokio::io::AsyncWriteExt;

pub struct Telemetry {
    file: tokio::fs::File,
}

impl Telemetry {
    /// Opens the session's file when the admin created the user's log directory.
    pub async fn open(config_directory: &Path, user: &str, session_id: &str) -> Option<Telemetry> {
        let dir = config_directory.join("log").join(user);
        if !tokio::fs::metadata(&dir).await.is_ok_and(|m| m.is_dir()) {
            return None;
        }
        let path = dir.join(session_id);
        let opened = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await;
        match opened {
            Ok(file) => Some(Telemetry { file }),
            Err(e) => {
                tracing::error!(severity = "err", "telemetry file {}: {e}", path.display());
                None
            }
        }
    }

    pub async fn client(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.record(b'<', data).await
    }

    pub async fn server(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.record(b'>', data).await
    }

    /// Waits until everything recorded is in the file (at the end of the session).
    pub async fn finish(&mut self) -> std::io::Result<()> {
        self.file.flush().await
    }

    async fn record(&mut self, mark: u8, data: &[u8]) -> std::io::Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut entry = Vec::with_capacity(data.len() + 16);
        entry.push(mark);
        entry.extend_from_slice(now.to_string().as_bytes());
        entry.push(mark);
        entry.extend_from_slice(data);
        self.file.write_all(&entry).await
    }
}
