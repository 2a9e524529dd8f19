//! APPEND literals streamed to spool files (never held whole in memory), one per message of the
//! command being read; removed when the command ends, whatever its outcome. Files are created
//! and written through `tokio::fs` and removed on the blocking pool, never on a runtime thread.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

/// Most messages (spool files) one APPEND may carry (RFC 3502 MULTIAPPEND sets no limit). A
/// client that uploads a folder sends one APPEND per message or a few hundred per command;
/// past this the command is refused with `NO [LIMIT]` and its files removed.
pub(crate) const MAX_APPEND_MESSAGES: usize = 1_000;

pub(crate) struct Spool {
    dir: PathBuf,
    session: String,
    next: u64,
    writing: Option<(tokio::fs::File, PathBuf)>,
    files: Vec<(u64, PathBuf)>,
}

impl Spool {
    pub fn new(dir: &Path, session: &str) -> Spool {
        Spool {
            dir: dir.to_path_buf(),
            session: session.to_string(),
            next: 0,
            writing: None,
            files: Vec::new(),
        }
    }

    /// Spool files of the command being read, the one being written included.
    pub fn count(&self) -> usize {
        self.files.len() + usize::from(self.writing.is_some())
    }

    pub async fn begin(&mut self) -> std::io::Result<()> {
        self.next += 1;
        let path = self.dir.join(format!("{}-{}", self.session, self.next));
        let file = tokio::fs::File::create(&path).await?;
        self.writing = Some((file, path));
        Ok(())
    }

    pub async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match &mut self.writing {
            Some((file, _)) => file.write_all(data).await,
            None => Ok(()),
        }
    }

    /// Closes the file being written and returns its id for the framer.
    pub async fn finish(&mut self) -> std::io::Result<u64> {
        if let Some((mut file, path)) = self.writing.take() {
            file.flush().await?;
            self.files.push((self.next, path));
        }
        Ok(self.next)
    }

    pub fn path(&self, id: u64) -> Option<&Path> {
        self.files
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, p)| p.as_path())
    }

    /// Takes the spool file `id` out of the command's files: it outlives the command, and
    /// removing it becomes the caller's business (a transfer keeps XFERMSG messages until it
    /// places a batch of them).
    pub fn take(&mut self, id: u64) -> Option<PathBuf> {
        let at = self.files.iter().position(|(i, _)| *i == id)?;
        Some(self.files.remove(at).1)
    }

    /// Removes every spool file of the finished command (the store copied the bytes before
    /// acknowledging). The names are unique to this session and command, so the removal runs
    /// in the background on the blocking pool; outside a runtime it runs here.
    pub fn clear(&mut self) {
        let mut paths: Vec<PathBuf> = self.files.drain(..).map(|(_, p)| p).collect();
        if let Some((_, path)) = self.writing.take() {
            paths.push(path);
        }
        if paths.is_empty() {
            return;
        }
        let remove = move || {
            for path in paths {
                let _ = std::fs::remove_file(path);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(remove)),
            Err(_) => remove(),
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.clear();
    }
}
