//! Where a message goes while DATA arrives: memory for the usual sizes, a spool file beyond
//! [`SPILL_AT`], so a large message never sits whole in the session's memory.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use mailservice::AppendSource;
use tokio::io::AsyncWriteExt;

/// Messages up to this size stay in memory while they arrive.
pub const SPILL_AT: usize = 1024 * 1024;

static SPOOL_COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) enum Body {
    Memory(Vec<u8>),
    File {
        path: PathBuf,
        file: tokio::fs::File,
    },
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
            *self = Body::File { path, file };
            if let Body::File { file, .. } = self {
                file.write_all(&held).await?;
            }
        }
        match self {
            Body::File { file, .. } => file.write_all(bytes).await,
            Body::Memory(buf) => {
                buf.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// The message as the store takes it; the spool file (if any) stays until `Drop`.
    pub async fn source(&mut self) -> std::io::Result<AppendSource> {
        match self {
            Body::Memory(buf) => Ok(AppendSource::Bytes(std::mem::take(buf))),
            Body::File { path, file } => {
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
        drop(big);
        assert!(!path.exists(), "the spool file is removed with the body");
    }
}
