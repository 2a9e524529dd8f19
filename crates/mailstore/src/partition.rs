//! Partitions and mailbox directories.
//!
//! Owns: the directory layout under each partition root:
//! ```text
//! PARTITION/tmp/                       spool files being written (same file system, so link works)
//! PARTITION/AB/CD/UNIQUEID/            one mailbox (AB, CD: first four hex digits of its uniqueid)
//! PARTITION/AB/CD/UNIQUEID/cyrus.header  name, uniqueid, ACL copy (for `reconstruct -m`)
//! PARTITION/AB/CD/UNIQUEID/123.        message with UID 123
//! ```
//! The two-level fan-out keeps every directory at 256 entries plus mailboxes/65536.
//! Must not: touch the index or the mailboxes database.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{StoreConfig, RESERVED_NEWS_PARTITION};
use crate::durable::Durable;
use crate::error::{Result, StoreError};
use crate::model::MailboxType;

/// Format version of `cyrus.header`.
pub const MAILBOX_HEADER_FILE_VERSION: u64 = 1;
pub const MAILBOX_HEADER_FILE: &str = "cyrus.header";

/// The configured partitions.
#[derive(Debug)]
pub(crate) struct Partitions {
    roots: BTreeMap<String, PathBuf>,
    default: String,
    durable: Durable,
}

/// Contents of a mailbox directory's `cyrus.header`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MailboxHeaderFile {
    pub version: u64,
    pub name: String,
    pub uniqueid: String,
    pub acl: String,
    pub mailbox_type: MailboxType,
}

impl Partitions {
    pub(crate) fn new(config: &StoreConfig, durable: &Durable) -> Result<Partitions> {
        if !config.partitions.contains_key(&config.default_partition) {
            return Err(StoreError::NoSuchPartition(
                config.default_partition.clone(),
            ));
        }
        for (name, root) in &config.partitions {
            // The news spool is the news server's: nothing of ours is written there.
            if name != RESERVED_NEWS_PARTITION {
                durable.create_dir(&root.join("tmp"))?;
            }
        }
        Ok(Partitions {
            roots: config.partitions.clone(),
            default: config.default_partition.clone(),
            durable: durable.clone(),
        })
    }

    pub(crate) fn default_name(&self) -> &str {
        &self.default
    }

    pub(crate) fn durable(&self) -> &Durable {
        &self.durable
    }

    /// The root of a partition an ordinary mailbox may live on.
    pub(crate) fn check_ordinary(&self, partition: &str) -> Result<&Path> {
        if partition == RESERVED_NEWS_PARTITION {
            return Err(StoreError::ReservedPartition(partition.to_string()));
        }
        self.root(partition)
    }

    pub(crate) fn root(&self, partition: &str) -> Result<&Path> {
        self.roots
            .get(partition)
            .map(PathBuf::as_path)
            .ok_or_else(|| StoreError::NoSuchPartition(partition.to_string()))
    }

    /// The mail partitions: every configured one but the news spool, which holds no
    /// mailbox directories (walks, spool cleaning and backups pass it by).
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.roots
            .keys()
            .map(String::as_str)
            .filter(|&n| n != RESERVED_NEWS_PARTITION)
    }

    /// The news spool (`partition-news`), when configured.
    pub(crate) fn news_root(&self) -> Option<&Path> {
        self.roots
            .get(RESERVED_NEWS_PARTITION)
            .map(PathBuf::as_path)
    }

    pub(crate) fn mailbox_dir(&self, partition: &str, uniqueid: &str) -> Result<PathBuf> {
        Ok(mailbox_dir_in(self.root(partition)?, uniqueid))
    }

    pub(crate) fn tmp_dir(&self, partition: &str) -> Result<PathBuf> {
        Ok(self.root(partition)?.join("tmp"))
    }

    /// Creates the mailbox directory (and its fan-out parents, each synced into its own
    /// parent) and its `cyrus.header`.
    pub(crate) fn create_mailbox_dir(
        &self,
        partition: &str,
        hdr: &MailboxHeaderFile,
    ) -> Result<PathBuf> {
        let dir = self.mailbox_dir(partition, &hdr.uniqueid)?;
        self.durable.create_dir(&dir)?;
        self.write_header_file(&dir, hdr)?;
        Ok(dir)
    }

    /// Replaces `cyrus.header` atomically (write a temp file, rename over).
    pub(crate) fn write_header_file(&self, dir: &Path, hdr: &MailboxHeaderFile) -> Result<()> {
        let path = dir.join(MAILBOX_HEADER_FILE);
        let tmp = dir.join(format!("{MAILBOX_HEADER_FILE}.new"));
        let json = serde_json::to_vec_pretty(hdr)
            .map_err(|e| StoreError::corrupt("cyrus.header", e.to_string()))?;
        let mut f = fs::File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        f.write_all(&json).map_err(|e| StoreError::io(&tmp, e))?;
        self.durable.sync_file(&f, &tmp)?;
        fs::rename(&tmp, &path).map_err(|e| StoreError::io(&path, e))?;
        self.sync_dir(dir)
    }

    pub(crate) fn sync_dir(&self, dir: &Path) -> Result<()> {
        self.durable.sync_dir(dir)
    }
}

pub(crate) fn read_header_file(dir: &Path) -> Result<MailboxHeaderFile> {
    let path = dir.join(MAILBOX_HEADER_FILE);
    let bytes = fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
    let hdr: MailboxHeaderFile = serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::corrupt(path.display().to_string(), e.to_string()))?;
    if hdr.version != MAILBOX_HEADER_FILE_VERSION {
        return Err(StoreError::UnsupportedFormat {
            path,
            found: hdr.version,
            supported: MAILBOX_HEADER_FILE_VERSION,
        });
    }
    Ok(hdr)
}

/// `ROOT/AB/CD/UNIQUEID`. Uniqueids are lower-case hex, so the fan-out is uniform.
pub(crate) fn mailbox_dir_in(root: &Path, uniqueid: &str) -> PathBuf {
    let a = uniqueid.get(0..2).unwrap_or("00");
    let b = uniqueid.get(2..4).unwrap_or("00");
    root.join(a).join(b).join(uniqueid)
}

/// The message file of `uid` in a mailbox directory.
pub(crate) fn message_path(dir: &Path, uid: u32) -> PathBuf {
    dir.join(format!("{uid}."))
}

/// Where a message expunged under `expunge_mode: delayed` waits for `unexpunge` or `expire`:
/// `UID.expunged`, a name that is no message file's (`UID.`), so that reconstruct neither
/// removes it as a stale expunge nor indexes it anew.
pub(crate) fn kept_path(dir: &Path, uid: u32) -> PathBuf {
    dir.join(format!("{uid}.expunged"))
}

/// A fresh uniqueid: 128 bits of SHA-256 over the name, the clock, the process and a counter.
pub(crate) fn new_uniqueid(name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(nanos.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    hex(&h.finalize()[..16])
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_dirs_fan_out_on_the_uniqueid() {
        let d = mailbox_dir_in(Path::new("/p"), "abcdef0123");
        assert_eq!(d, Path::new("/p/ab/cd/abcdef0123"));
    }

    #[test]
    fn uniqueids_are_distinct_hex() {
        let a = new_uniqueid("x");
        let b = new_uniqueid("x");
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
