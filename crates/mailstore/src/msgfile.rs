//! Message files: CRLF normalisation, spooling into a partition's `tmp/`, linking into place
//! without ever overwriting, and reading back.
//!
//! Owns: the bytes of messages on disk. Must not: touch any database. The durability order is
//! the caller's: spool (fsync) → [`link_new`] → fsync the directory → commit the index.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::durable::Durable;
use crate::error::{Result, StoreError};
use crate::model::AppendSource;

/// Why input bytes are not an acceptable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NormaliseError {
    BareCr { offset: u64 },
    Nul { offset: u64 },
    TooBig { limit: u64 },
}

impl NormaliseError {
    fn into_store(self) -> StoreError {
        match self {
            NormaliseError::BareCr { offset } => {
                StoreError::BadMessage(format!("bare CR (not followed by LF) at byte {offset}"))
            }
            NormaliseError::Nul { offset } => {
                StoreError::BadMessage(format!("NUL byte at byte {offset}"))
            }
            NormaliseError::TooBig { limit } => StoreError::TooBig { limit },
        }
    }
}

/// Streaming converter to CRLF line ends: bare LF becomes CRLF, CRLF stays, a CR not followed by
/// LF and any NUL are refused (RFC 5322 §2.3 forbids both in a message). Works across chunk
/// boundaries, so a spool file can be fed in pieces.
#[derive(Debug)]
pub struct CrlfNormaliser {
    pending_cr: bool,
    offset: u64,
    limit: Option<u64>,
    written: u64,
}

impl CrlfNormaliser {
    pub fn new(limit: Option<u64>) -> CrlfNormaliser {
        CrlfNormaliser {
            pending_cr: false,
            offset: 0,
            limit,
            written: 0,
        }
    }

    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), NormaliseError> {
        let start = out.len();
        let mut rest = input;
        while !rest.is_empty() {
            if self.pending_cr {
                // The byte after a CR must be its LF.
                if rest[0] != b'\n' {
                    return Err(NormaliseError::BareCr {
                        offset: self.offset - 1,
                    });
                }
                out.extend_from_slice(b"\r\n");
                self.pending_cr = false;
                self.offset += 1;
                rest = &rest[1..];
                continue;
            }
            // Copy the run of ordinary bytes up to the next CR, LF or NUL in one go.
            let run = memchr::memchr3(b'\r', b'\n', 0, rest).unwrap_or(rest.len());
            out.extend_from_slice(&rest[..run]);
            self.offset += run as u64;
            let Some(&special) = rest.get(run) else {
                break;
            };
            match special {
                b'\n' => out.extend_from_slice(b"\r\n"),
                b'\r' => self.pending_cr = true,
                _ => {
                    return Err(NormaliseError::Nul {
                        offset: self.offset,
                    })
                }
            }
            self.offset += 1;
            rest = &rest[run + 1..];
        }
        self.written += (out.len() - start) as u64;
        match self.limit {
            Some(limit) if self.written > limit => Err(NormaliseError::TooBig { limit }),
            _ => Ok(()),
        }
    }

    /// Ends the input; a trailing lone CR is refused.
    pub fn finish(self) -> Result<(), NormaliseError> {
        if self.pending_cr {
            return Err(NormaliseError::BareCr {
                offset: self.offset - 1,
            });
        }
        Ok(())
    }
}

/// Normalises a whole buffer (see [`CrlfNormaliser`]).
pub fn normalise_crlf(input: &[u8], limit: Option<u64>) -> Result<Vec<u8>, NormaliseError> {
    let mut n = CrlfNormaliser::new(limit);
    let mut out = Vec::with_capacity(input.len() + input.len() / 32);
    n.feed(input, &mut out)?;
    n.finish()?;
    Ok(out)
}

/// A file under a partition's `tmp/`, removed when dropped (after linking it is only a second
/// name for the message file, so removing it is always right).
#[derive(Debug)]
pub(crate) struct TempFile {
    path: PathBuf,
}

impl TempFile {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Best effort: a leftover temp file is harmless and removed at the next start.
        let _ = fs::remove_file(&self.path);
    }
}

/// A normalised message sitting in a temp file on the target partition.
#[derive(Debug)]
pub(crate) struct Spooled {
    pub temp: TempFile,
    pub size: u64,
    pub guid: [u8; 32],
    pub cache: Vec<u8>,
    pub header: Vec<u8>,
}

/// Reads `source`, normalises it, writes and fsyncs a temp file in `tmp_dir`, hashes and scans it.
pub(crate) fn spool(
    source: &AppendSource,
    tmp_dir: &Path,
    limit: Option<u64>,
    durable: &Durable,
) -> Result<Spooled> {
    let bytes = match source {
        AppendSource::Bytes(b) => normalise_crlf(b, limit).map_err(NormaliseError::into_store)?,
        AppendSource::File(path) => normalise_file(path, limit)?,
    };
    if bytes.is_empty() {
        return Err(StoreError::BadMessage("empty message".into()));
    }
    spool_normalised(&bytes, tmp_dir, durable)
}

fn normalise_file(path: &Path, limit: Option<u64>) -> Result<Vec<u8>> {
    let mut f = fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
    let mut n = CrlfNormaliser::new(limit);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let got = f.read(&mut buf).map_err(|e| StoreError::io(path, e))?;
        if got == 0 {
            break;
        }
        n.feed(&buf[..got], &mut out)
            .map_err(NormaliseError::into_store)?;
    }
    n.finish().map_err(NormaliseError::into_store)?;
    Ok(out)
}

/// Spools bytes already in CRLF form (used by append and by reconstruct's re-parse).
pub(crate) fn spool_normalised(bytes: &[u8], tmp_dir: &Path, durable: &Durable) -> Result<Spooled> {
    let temp = write_temp(tmp_dir, bytes, durable)?;
    let (guid, cache, header) = describe(bytes);
    Ok(Spooled {
        temp,
        size: bytes.len() as u64,
        guid,
        cache,
        header,
    })
}

/// GUID, cache bytes and raw header block of a normalised message.
pub(crate) fn describe(bytes: &[u8]) -> ([u8; 32], Vec<u8>, Vec<u8>) {
    let guid: [u8; 32] = Sha256::digest(bytes).into();
    let cache = message::scan(bytes).to_bytes();
    (guid, cache, header_block(bytes).to_vec())
}

/// The header block including the empty line that ends it (the whole message if it has none).
pub fn header_block(bytes: &[u8]) -> &[u8] {
    if bytes.starts_with(b"\r\n") {
        return &bytes[..2];
    }
    match bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(pos) => &bytes[..pos + 4],
        None => bytes,
    }
}

pub(crate) fn write_temp(tmp_dir: &Path, bytes: &[u8], durable: &Durable) -> Result<TempFile> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "{}-{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        crate::model::unix_now()
    );
    let path = tmp_dir.join(name);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    let temp = TempFile { path };
    f.write_all(bytes)
        .map_err(|e| StoreError::io(temp.path(), e))?;
    durable.sync_file(&f, temp.path())?;
    Ok(temp)
}

/// Copies an existing message file into a temp file on another partition.
pub(crate) fn copy_to_temp(src: &Path, tmp_dir: &Path, durable: &Durable) -> Result<TempFile> {
    let bytes = fs::read(src).map_err(|e| StoreError::io(src, e))?;
    write_temp(tmp_dir, &bytes, durable)
}

/// Gives `existing` the new name `dest` with link(2), which fails rather than overwrite: after a
/// crash between "file linked" and "index committed" the UID is taken by an unindexed file, and
/// the caller must move on to the next UID. Returns `false` when `dest` already exists.
pub(crate) fn link_new(existing: &Path, dest: &Path) -> Result<bool> {
    match fs::hard_link(existing, dest) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(StoreError::io(dest, e)),
    }
}

/// Renames `old` to `dest` unless `dest` exists (renameat2 with `RENAME_NOREPLACE`): the file has
/// exactly one of the two names at every moment, so a crash cannot leave it twice. Returns
/// `false` when `dest` already exists. On a file system without `RENAME_NOREPLACE` it falls back
/// to link(2) and unlink(2), where a crash in between leaves both names.
pub(crate) fn rename_new(old: &Path, dest: &Path) -> Result<bool> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, old, CWD, dest, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::EXIST) => Ok(false),
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
            if !link_new(old, dest)? {
                return Ok(false);
            }
            remove_if_present(old)?;
            Ok(true)
        }
        Err(e) => Err(StoreError::io(dest, e.into())),
    }
}

pub(crate) fn read_all(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| StoreError::io(path, e))
}

/// Up to `len` bytes from `offset` (fewer at the end of the file, none past it).
pub(crate) fn read_range(path: &Path, offset: u64, len: u64) -> Result<Vec<u8>> {
    let mut f = fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| StoreError::io(path, e))?;
    let mut out = Vec::new();
    f.take(len)
        .read_to_end(&mut out)
        .map_err(|e| StoreError::io(path, e))?;
    Ok(out)
}

pub(crate) fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_lf_becomes_crlf_and_crlf_stays() {
        let out = normalise_crlf(b"a\nb\r\nc\n", None).unwrap();
        assert_eq!(out, b"a\r\nb\r\nc\r\n");
    }

    #[test]
    fn bare_cr_is_refused_with_its_offset() {
        assert_eq!(
            normalise_crlf(b"ab\rc", None),
            Err(NormaliseError::BareCr { offset: 2 })
        );
        assert_eq!(
            normalise_crlf(b"ab\r", None),
            Err(NormaliseError::BareCr { offset: 2 })
        );
    }

    #[test]
    fn nul_is_refused() {
        assert_eq!(
            normalise_crlf(b"a\0", None),
            Err(NormaliseError::Nul { offset: 1 })
        );
    }

    #[test]
    fn crlf_split_across_chunks_is_kept() {
        let mut n = CrlfNormaliser::new(None);
        let mut out = Vec::new();
        n.feed(b"a\r", &mut out).unwrap();
        n.feed(b"\nb\n", &mut out).unwrap();
        n.finish().unwrap();
        assert_eq!(out, b"a\r\nb\r\n");
    }

    #[test]
    fn limit_counts_normalised_bytes() {
        assert_eq!(
            normalise_crlf(b"abc\n", Some(4)),
            Err(NormaliseError::TooBig { limit: 4 })
        );
        assert!(normalise_crlf(b"abc\n", Some(5)).is_ok());
    }

    /// The normaliser's contract, one byte at a time: what the run-copying version must equal.
    fn reference(input: &[u8]) -> Result<Vec<u8>, NormaliseError> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < input.len() {
            match input[i] {
                b'\r' if input.get(i + 1) == Some(&b'\n') => {
                    out.extend_from_slice(b"\r\n");
                    i += 1;
                }
                b'\r' => return Err(NormaliseError::BareCr { offset: i as u64 }),
                b'\n' => out.extend_from_slice(b"\r\n"),
                0 => return Err(NormaliseError::Nul { offset: i as u64 }),
                b => out.push(b),
            }
            i += 1;
        }
        Ok(out)
    }

    proptest::proptest! {
        #[test]
        fn fed_in_any_pieces_it_agrees_with_the_reference(
            input in proptest::collection::vec(
                proptest::prop_oneof![
                    4 => proptest::prelude::any::<u8>(),
                    2 => proptest::prelude::Just(b'\n'),
                    2 => proptest::prelude::Just(b'\r'),
                ],
                0..200,
            ),
            cuts in proptest::collection::vec(0usize..200, 0..6),
        ) {
            let mut n = CrlfNormaliser::new(None);
            let mut out = Vec::new();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.push(input.len());
            cuts.sort_unstable();
            let mut at = 0;
            let mut got = Ok(());
            for cut in cuts {
                got = got.and_then(|()| n.feed(&input[at..cut], &mut out));
                at = cut;
            }
            let got = got.and_then(|()| n.finish()).map(|()| out);
            proptest::prop_assert_eq!(got, reference(&input));
        }
    }

    #[test]
    fn header_block_ends_at_the_blank_line() {
        assert_eq!(header_block(b"A: b\r\n\r\nbody"), b"A: b\r\n\r\n");
        assert_eq!(header_block(b"\r\nbody"), b"\r\n");
        assert_eq!(header_block(b"A: b\r\n"), b"A: b\r\n");
    }

    #[test]
    fn link_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::write(&a, b"one").unwrap();
        fs::write(&b, b"two").unwrap();
        assert!(!link_new(&a, &b).unwrap());
        assert_eq!(fs::read(&b).unwrap(), b"two");
        assert!(link_new(&a, &dir.path().join("c")).unwrap());
    }

    #[test]
    fn rename_new_never_overwrites_and_leaves_one_name() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::write(&a, b"one").unwrap();
        fs::write(&b, b"two").unwrap();
        assert!(!rename_new(&a, &b).unwrap());
        assert_eq!(fs::read(&b).unwrap(), b"two");
        assert!(a.exists());
        let c = dir.path().join("c");
        assert!(rename_new(&a, &c).unwrap());
        assert!(!a.exists());
        assert_eq!(fs::read(&c).unwrap(), b"one");
    }
}
