//! Where an mbox message goes while it is read: memory up to [`IN_MEMORY`] bytes, then a
//! file in the import's spool directory, so a huge message never sits in memory.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use mailstore::AppendSource;

/// Message bytes held in memory at most; a larger message is spooled to a file.
pub const IN_MEMORY: usize = 1024 * 1024;

/// A private directory for spool files, removed with what is left in it when dropped.
pub struct SpoolDir {
    pub path: PathBuf,
    counter: u64,
}

impl SpoolDir {
    /// Creates a fresh directory under `parent`.
    pub fn create(parent: &Path) -> io::Result<SpoolDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = parent.join(format!("darius-mbox-{}-{nanos}", std::process::id()));
        fs::create_dir(&path)?;
        Ok(SpoolDir { path, counter: 0 })
    }

    fn next_path(&mut self) -> PathBuf {
        self.counter += 1;
        self.path.join(self.counter.to_string())
    }
}

impl Drop for SpoolDir {
    fn drop(&mut self) {
        // Best effort: a failure leaves a directory in the temporary directory, nothing more.
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// One message being written.
pub enum Spool {
    Memory(Vec<u8>),
    File(PathBuf, BufWriter<fs::File>),
}

/// Writes to a [`Spool`], moving to a file of `dir` past [`IN_MEMORY`] bytes.
pub struct SpoolWriter<'d> {
    pub spool: Spool,
    dir: &'d mut SpoolDir,
}

impl<'d> SpoolWriter<'d> {
    pub fn new(dir: &'d mut SpoolDir) -> SpoolWriter<'d> {
        SpoolWriter {
            spool: Spool::Memory(Vec::new()),
            dir,
        }
    }

    /// The message as an import source, and whether it is a spool file.
    pub fn finish(self) -> io::Result<(AppendSource, bool)> {
        match self.spool {
            Spool::Memory(bytes) => Ok((AppendSource::Bytes(bytes), false)),
            Spool::File(path, mut w) => {
                w.flush()?;
                Ok((AppendSource::File(path), true))
            }
        }
    }
}

impl Write for SpoolWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Spool::Memory(bytes) = &mut self.spool {
            if bytes.len() + data.len() <= IN_MEMORY {
                bytes.extend_from_slice(data);
                return Ok(data.len());
            }
            let path = self.dir.next_path();
            let mut w = BufWriter::new(fs::File::create(&path)?);
            w.write_all(bytes)?;
            self.spool = Spool::File(path, w);
        }
        match &mut self.spool {
            Spool::File(_, w) => w.write(data),
            Spool::Memory(_) => Ok(0),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.spool {
            Spool::File(_, w) => w.flush(),
            Spool::Memory(_) => Ok(()),
        }
    }
}
