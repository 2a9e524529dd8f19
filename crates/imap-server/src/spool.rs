//! APPEND literals streamed to spool files (never held whole in memory), one per message of the
//! command being read; removed when the command ends, whatever its outcome.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

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

    /// Removes every spool file of the finished command.
    pub fn clear(&mut self) {
        if let Some((_, path)) = self.writing.take() {
            let _ = std::fs::remove_file(path);
        }
        for (_, path) in self.files.drain(..) {
            // The store copied the bytes (normalising line ends) before acknowledging.
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.clear();
    }
}
