//! Reading a Cyrus SASL user database (`sasldb2`), so that a Cyrus site moves its users to
//! Darius without resetting their passwords (`darius user import-sasldb`).
//!
//! Owns: the on-disk formats Cyrus SASL's `sasldb` plugin writes, read without any C library,
//! and the split of each key into user, realm and property. Must not: write the file, or decide
//! which Darius user an entry becomes (the `darius` binary does that).
//!
//! Cyrus SASL keys every property as `user NUL realm NUL property` and stores the value as is:
//! `userPassword` is the password in clear, `authPassword` a SCRAM secret
//! (`SCRAM-SHA-1$iterations:salt$StoredKey:ServerKey`, written only when the site set
//! `scram_secret_generate`), older builds wrote `cmusaslsecretMECH` entries. The file is one of:
//! - a Berkeley DB *hash* database ([`berkeley`]): what Debian's `sasl2-bin` writes (Cyrus SASL's
//!   `db_berkeley.c` always opens the file as `DB_HASH`), in either byte order;
//! - an LMDB environment's data file ([`lmdb`]), for builds configured `--with-dblib=lmdb`.
//!
//! GDBM and NDBM builds' files are not read: they are refused as an unknown format.
//!
//! Every length and count comes from the file, so each is bounded: the file's size
//! ([`MAX_FILE_BYTES`]), one item's size ([`MAX_ITEM_BYTES`]), and every page is visited at
//! most once, so a corrupt link can neither loop nor make the reader go round again.

mod berkeley;
mod lmdb;
mod pages;

use std::fmt;
use std::io::Read;
use std::path::Path;

use types::Secret;

/// A raw key and its value, as a reader finds them.
type Pair = (Vec<u8>, Vec<u8>);

/// Largest file read: a sasldb of a hundred thousand users is a few tens of MiB.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// Largest key or value accepted. Cyrus SASL's `saslpasswd2` keeps passwords under 2 KiB and
/// SCRAM secrets are about 200 bytes; anything near this limit is not a password.
pub const MAX_ITEM_BYTES: usize = 64 << 10;

/// One property of one user.
pub struct SasldbEntry {
    pub user: String,
    pub realm: String,
    /// `userPassword`, `authPassword`, `cmusaslsecretCRAM-MD5`…
    pub property: String,
    pub value: Secret<Vec<u8>>,
}

impl fmt::Debug for SasldbEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SasldbEntry")
            .field("user", &self.user)
            .field("realm", &self.realm)
            .field("property", &self.property)
            .field("value", &self.value)
            .finish()
    }
}

/// Which on-disk format the file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SasldbFormat {
    /// Berkeley DB hash, little-endian.
    BerkeleyHashLittleEndian,
    /// Berkeley DB hash, big-endian (written on a big-endian machine).
    BerkeleyHashBigEndian,
    /// LMDB (64-bit, little-endian).
    Lmdb,
}

impl fmt::Display for SasldbFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SasldbFormat::BerkeleyHashLittleEndian => "Berkeley DB hash, little-endian",
            SasldbFormat::BerkeleyHashBigEndian => "Berkeley DB hash, big-endian",
            SasldbFormat::Lmdb => "LMDB",
        })
    }
}

/// What a whole file held.
#[derive(Debug)]
pub struct Sasldb {
    pub format: SasldbFormat,
    pub entries: Vec<SasldbEntry>,
    /// Keys that are not `user NUL realm NUL property` in UTF-8: no Cyrus SASL wrote them, so
    /// they are counted and left out rather than failing the whole file.
    pub unreadable_keys: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SasldbError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the file is larger than {MAX_FILE_BYTES} bytes, more than any sasldb")]
    TooLarge,
    #[error(
        "not a Cyrus SASL database this build reads (a Berkeley DB hash or an LMDB file; \
         GDBM and NDBM files are not read)"
    )]
    UnknownFormat,
    #[error("unsupported Berkeley DB file: {0}")]
    Unsupported(String),
    #[error("corrupt database: {0}")]
    Corrupt(String),
    #[error("an entry is larger than {MAX_ITEM_BYTES} bytes")]
    ItemTooLarge,
}

/// Reads the file at `path` (at most [`MAX_FILE_BYTES`]).
pub fn read(path: &Path) -> Result<Sasldb, SasldbError> {
    let io = |source| SasldbError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    parse(&bytes)
}

/// Reads a whole database held in memory.
pub fn parse(bytes: &[u8]) -> Result<Sasldb, SasldbError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(SasldbError::TooLarge);
    }
    let (format, pairs) = if let Some(order) = berkeley::byte_order(bytes) {
        let format = match order {
            pages::ByteOrder::Little => SasldbFormat::BerkeleyHashLittleEndian,
            pages::ByteOrder::Big => SasldbFormat::BerkeleyHashBigEndian,
        };
        (format, berkeley::pairs(bytes, order)?)
    } else if lmdb::is_lmdb(bytes) {
        (SasldbFormat::Lmdb, lmdb::pairs(bytes)?)
    } else {
        return Err(SasldbError::UnknownFormat);
    };
    let mut entries = Vec::with_capacity(pairs.len());
    let mut unreadable_keys = 0;
    for (key, value) in pairs {
        match entry(&key, value) {
            Some(entry) => entries.push(entry),
            None => unreadable_keys += 1,
        }
    }
    Ok(Sasldb {
        format,
        entries,
        unreadable_keys,
    })
}

/// `user NUL realm NUL property` (Cyrus SASL `sasldb/allockey.c`); user and property are never
/// empty, the realm may be.
fn entry(key: &[u8], value: Vec<u8>) -> Option<SasldbEntry> {
    let mut parts = key.splitn(3, |b| *b == 0);
    let (user, realm, property) = (parts.next()?, parts.next()?, parts.next()?);
    if user.is_empty() || property.is_empty() || property.contains(&0) {
        return None;
    }
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).ok();
    Some(SasldbEntry {
        user: text(user)?,
        realm: text(realm)?,
        property: text(property)?,
        value: Secret::new(value),
    })
}

#[cfg(test)]
mod tests;
