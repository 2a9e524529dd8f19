//! Where a message goes while DATA arrives: memory for the usual sizes, a spool file beyond
//! [`SPILL_AT`], so a large message never sits whole in the session's memory. A message relayed
//! to a backend is read back from there in bounded pieces ([`BodyReader`]).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use mailservice::AppendSource;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// Messages up to this size stay in memory while they arrive.
pub const SPILL_AT: usize = 1024 * 1024;

static SPOOL_COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) enum Body {
    Memory(Vec<u8>),
    File {
        path: PathBuf,
        file: tokio::fs::File,
        /// Octets written to the file so far.
        len: u64,
    },
}

/// The octets of a [`Body`] from some offset on, read a buffer at a time.
pub(crate) enum BodyReader<'a> {
    Memory(&'a [u8]),
    File(tokio::fs::File),
}

impl BodyReader<'_> {
    /// Fills the front of `buf` with the next octets; 0 at the end.
    pub async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            BodyReader::Memory(rest) => {
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                *rest = &rest[n..];
                Ok(n)
            }
            BodyReader::File(file) => file.read(buf).await,
        }
    }
}

impl Body {
    pub fn new(prefix: Vec<u8>) -> Body {
        Body::Memory(prefix)
    }

    /// Appends decoded message bytes, moving to a spool file in `dir` when memory would grow
    /// past [`SPILL_AT`]. One file handle does every write, in order (a tokio file completes a
    /// write in the background: two handles could reorder them).
    pub async fn push(&mut self, bytes: &[u8], dir: &std::path::Path) -> std::io::Result<()> {
        if let Body::Memory(buf) = self {
            if buf.len() + bytes.len() <= SPILL_AT {
                buf.extend_from_slice(bytes);
                return Ok(());
            }
            let held = std::mem::take(buf);
            let path = dir.join(format!(
                "lmtp-{}-{}.spool",
                std::process::id(),
                SPOOL_COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .await?;
            // Owned by `self` from here, so `Drop` removes it whatever happens next.
            *self = Body::File { path, file, len: 0 };
            if let Body::File { file, len, .. } = self {
                file.write_all(&held).await?;
                *len = held.len() as u64;
            }
        }
        match self {
            Body::File { file, len, .. } => {
                file.write_all(bytes).await?;
                *len += bytes.len() as u64;
                Ok(())
            }
            Body::Memory(buf) => {
                buf.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// The number of octets held.
    pub fn len(&self) -> u64 {
        match self {
            Body::Memory(buf) => buf.len() as u64,
            Body::File { len, .. } => *len,
        }
    }

    /// The octets held from `offset` on, to be read in pieces (the spool file is read through
    /// a handle of its own, after everything written is flushed).
    pub async fn reader(&mut self, offset: u64) -> std::io::Result<BodyReader<'_>> {
        match self {
            Body::Memory(buf) => {
                let start = usize::try_from(offset).map_or(buf.len(), |o| o.min(buf.len()));
                Ok(BodyReader::Memory(&buf[start..]))
            }
            Body::File { path, file, .. } => {
                file.flush().await?;
                let mut reading = tokio::fs::File::open(&path).await?;
                reading.seek(std::io::SeekFrom::Start(offset)).await?;
                Ok(BodyReader::File(reading))
            }
        }
    }

    /// The message as the store takes it; the spool file (if any) stays until `Drop`.
    pub async fn source(&mut self) -> std::io::Result<AppendSource> {
        match self {
            Body::Memory(buf) => Ok(AppendSource::Bytes(std::mem::take(buf))),
            Body::File { path, file, .. } => {
                file.flush().await?;
                Ok(AppendSource::File(path.clone()))
            }
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        if let Body::File { path, .. } = self {
            // The store has its own fsynced copy by now (or the delivery failed): best effort.
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn small_messages_stay_in_memory_large_ones_spill_and_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut small = Body::new(b"Return-Path: <>\r\n".to_vec());
        small.push(b"a\r\n", dir.path()).await.unwrap();
        assert_eq!(small.len(), 20);
        let mut buf = [0u8; 64];
        let n = small
            .reader(17)
            .await
            .unwrap()
            .read(&mut buf)
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"a\r\n", "the reader starts at the offset");
        match small.source().await.unwrap() {
            AppendSource::Bytes(b) => assert_eq!(b, b"Return-Path: <>\r\na\r\n"),
            AppendSource::File(_) => panic!("a small message was spooled"),
        }
        let mut big = Body::new(b"H: v\r\n".to_vec());
        let mut expected = b"H: v\r\n".to_vec();
        for i in 0..40u8 {
            // Distinct chunks, so a reordered or lost write shows.
            let chunk = vec![b'a' + i % 26; 48 * 1024 + usize::from(i)];
            expected.extend_from_slice(&chunk);
            big.push(&chunk, dir.path()).await.unwrap();
        }
        let path = match big.source().await.unwrap() {
            AppendSource::File(p) => p,
            AppendSource::Bytes(_) => panic!("a large message stayed in memory"),
        };
        assert!(
            std::fs::read(&path).unwrap() == expected,
            "the spool file is the message"
        );
        assert_eq!(big.len(), expected.len() as u64);
        let mut reader = big.reader(4).await.unwrap();
        let mut read_back = Vec::new();
        let mut buf = vec![0u8; 7000];
        loop {
            let n = reader.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            read_back.extend_from_slice(&buf[..n]);
        }
        assert!(
            read_back == expected[4..],
            "the reader gives the octets past the offset"
        );
        drop(big);
        assert!(!path.exists(), "the spool file is removed with the body");
    }
}
