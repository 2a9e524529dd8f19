//! An open message file for reading ranges of it: FETCH streams a message from here to the
//! socket in bounded pieces instead of holding it whole.
//!
//! Owns: positional reads of one message file. Must not: know the index; the caller found the
//! file through it ([`crate::Store::open_message`]). Once open, the file stays readable to the
//! end even if an expunge or a partition move unlinks it meanwhile (POSIX keeps the inode while
//! a descriptor is open), so a response never ends half-way because of another session.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::article::ArticleReader;
use crate::error::{Result, StoreError};

/// One open message file and its length at opening.
#[derive(Debug)]
pub struct MessageFile {
    file: File,
    len: u64,
    path: PathBuf,
    /// A news article, read through its decoding (module `article`); `len` is the message's.
    article: Option<Mutex<ArticleReader>>,
}

impl MessageFile {
    pub(crate) fn open(path: PathBuf) -> Result<MessageFile> {
        let file = File::open(&path).map_err(|e| StoreError::io(&path, e))?;
        let len = file.metadata().map_err(|e| StoreError::io(&path, e))?.len();
        Ok(MessageFile {
            file,
            len,
            path,
            article: None,
        })
    }

    /// A news article file holding a message of `size` octets (the index's RFC822.SIZE).
    pub(crate) fn open_article(path: PathBuf, size: u64) -> Result<MessageFile> {
        let file = File::open(&path).map_err(|e| StoreError::io(&path, e))?;
        let file_len = file.metadata().map_err(|e| StoreError::io(&path, e))?.len();
        let reader = ArticleReader::new(&file, file_len, &path)?;
        Ok(MessageFile {
            file,
            len: size,
            path,
            article: Some(Mutex::new(reader)),
        })
    }

    /// Octets in the file (RFC822.SIZE). Message files are never rewritten in place, so this
    /// stays true while the file is open.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The message from its start as a [`std::io::Read`] (exports copy it through one).
    pub fn reader(self) -> MessageReader {
        MessageReader { file: self, at: 0 }
    }

    /// Up to `len` octets from `offset`, fewer only at the end of the file; `len` is capped by
    /// the file's length, so a caller cannot make this allocate more than the file holds.
    pub fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        if let Some(article) = &self.article {
            let mut reader = article
                .lock()
                .map_err(|_| StoreError::corrupt("article reader", "poisoned"))?;
            let len = len.min(self.len.saturating_sub(offset));
            return reader.read_range(&self.file, &self.path, offset, len);
        }
        let end = offset.saturating_add(len).min(self.len);
        let want = usize::try_from(end.saturating_sub(offset))
            .map_err(|_| StoreError::corrupt("read range", "larger than memory"))?;
        let mut out = vec![0; want];
        let mut done = 0;
        while done < want {
            match self.file.read_at(&mut out[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(StoreError::io(&self.path, e)),
            }
        }
        out.truncate(done);
        Ok(out)
    }
}

/// A message read front to back ([`MessageFile::reader`]); news articles come decoded.
#[derive(Debug)]
pub struct MessageReader {
    file: MessageFile,
    at: u64,
}

impl std::io::Read for MessageReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let piece = self
            .file
            .read_range(self.at, buf.len() as u64)
            .map_err(std::io::Error::other)?;
        buf[..piece.len()].copy_from_slice(&piece);
        self.at += piece.len() as u64;
        Ok(piece.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ranges_are_clamped_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.");
        std::fs::write(&path, b"0123456789").unwrap();
        let f = MessageFile::open(path.clone()).unwrap();
        assert_eq!(f.len(), 10);
        assert_eq!(f.read_range(2, 3).unwrap(), b"234");
        assert_eq!(f.read_range(8, u64::MAX).unwrap(), b"89");
        assert_eq!(f.read_range(20, 5).unwrap(), b"");
        // Unlinked while open: still readable to the end.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(f.read_range(0, 10).unwrap(), b"0123456789");
    }

    #[test]
    fn a_reader_gives_the_whole_message_and_articles_decoded() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("1.");
        std::fs::write(&plain, b"Subject: a\r\n\r\nbody\r\n").unwrap();
        let mut out = Vec::new();
        MessageFile::open(plain)
            .unwrap()
            .reader()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"Subject: a\r\n\r\nbody\r\n");
        let wire = dir.path().join("2");
        std::fs::write(&wire, b"Subject: a\r\n\r\n..dot\r\n.\r\n").unwrap();
        let message = b"Subject: a\r\n\r\n.dot\r\n";
        let mut out = Vec::new();
        MessageFile::open_article(wire, message.len() as u64)
            .unwrap()
            .reader()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, message);
    }
}
