//! Message files: spooling into a partition's `tmp/` (normalised, hashed and scanned on the way,
//! in bounded memory), linking into place without ever overwriting, and reading back.
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
use crate::normalise::{CrlfNormaliser, NormaliseError};

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

/// Octets read from a source at once; normalising can double them, so memory per spool stays
/// at a few hundred KiB whatever the message's size.
const CHUNK: usize = 64 * 1024;

/// Reads `source` in chunks, normalises each, and writes it to a new temp file in `tmp_dir`
/// while hashing it and scanning its structure ([`message::StreamScan`]); then fsyncs the file.
/// The message is never held whole in memory.
pub(crate) fn spool(
    source: &AppendSource,
    tmp_dir: &Path,
    limit: Option<u64>,
    durable: &Durable,
) -> Result<Spooled> {
    spool_with(source, tmp_dir, limit, Some(durable))
}

/// [`spool`], fsyncing the temp file only when `durable` is given: an import fsyncs a whole
/// batch at once ([`Durable::sync_filesystem`]) instead.
pub(crate) fn spool_with(
    source: &AppendSource,
    tmp_dir: &Path,
    limit: Option<u64>,
    durable: Option<&Durable>,
) -> Result<Spooled> {
    let (mut file, temp) = create_temp(tmp_dir)?;
    let mut writer = Describer::new(limit, &mut file, temp.path());
    match source {
        AppendSource::Bytes(b) => {
            for chunk in b.chunks(CHUNK) {
                writer.feed(chunk)?;
            }
        }
        AppendSource::File(path) => {
            let mut src = fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
            let mut buf = vec![0u8; CHUNK];
            loop {
                let got = src.read(&mut buf).map_err(|e| StoreError::io(path, e))?;
                if got == 0 {
                    break;
                }
                writer.feed(&buf[..got])?;
            }
        }
    }
    let described = writer.finish();
    if described.size == 0 {
        return Err(StoreError::BadMessage("empty message".into()));
    }
    if let Some(durable) = durable {
        durable.sync_file(&file, temp.path())?;
    }
    Ok(Spooled {
        temp,
        size: described.size,
        guid: described.guid,
        cache: described.cache,
        header: described.header,
    })
}

/// Size, GUID, cache and header section of a stored message file (already CRLF), read in
/// chunks (reconstruct's re-parse).
pub(crate) fn describe_file(path: &Path) -> Result<Described> {
    describe_with(path, |_| {})
}

/// Size, GUID, cache and header section of a message held in memory (already CRLF).
pub(crate) fn describe_bytes(bytes: &[u8]) -> Described {
    let mut d = Description::default();
    d.add(bytes);
    d.finish(Path::new("(article)"))
}

/// [`describe_file`] for a file another store wrote, which may not be in our form: also says
/// whether its bytes are already exactly what the store keeps (CRLF line ends, no NUL, within
/// `limit`), so that it can be linked rather than copied.
pub(crate) fn describe_foreign(path: &Path, limit: Option<u64>) -> Result<(Described, bool)> {
    let src = fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
    describe_foreign_open(src, path, limit)
}

/// [`describe_foreign`] of a file the caller opened (`path` names it in errors).
pub(crate) fn describe_foreign_open(
    src: fs::File,
    path: &Path,
    limit: Option<u64>,
) -> Result<(Described, bool)> {
    let mut stored_form = true;
    let mut after_cr = false;
    let described = describe_open(src, path, |chunk| {
        if stored_form {
            stored_form = in_stored_form(chunk, after_cr);
            after_cr = chunk.last() == Some(&b'\r');
        }
    })?;
    if limit.is_some_and(|l| described.size > l) || described.size == 0 {
        stored_form = false;
    }
    Ok((described, stored_form))
}

/// Reads `path` in chunks, describing it and showing each chunk to `each` as well.
fn describe_with(path: &Path, each: impl FnMut(&[u8])) -> Result<Described> {
    let src = fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
    describe_open(src, path, each)
}

thread_local! {
    /// The read buffer of [`describe_open`], kept per thread: describing a store's worth of
    /// small files would otherwise allocate and zero a chunk for each.
    static READ_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// [`describe_with`] of an open file.
fn describe_open(mut src: fs::File, path: &Path, mut each: impl FnMut(&[u8])) -> Result<Described> {
    READ_BUFFER.with(|cell| {
        // A nested call (none today) gets a buffer of its own rather than a borrow panic.
        let mut own = Vec::new();
        let mut guard = cell.try_borrow_mut();
        let buf = match &mut guard {
            Ok(b) => &mut **b,
            Err(_) => &mut own,
        };
        if buf.len() < CHUNK {
            buf.resize(CHUNK, 0);
        }
        let mut d = Description::default();
        loop {
            let got = src
                .read(&mut buf[..CHUNK])
                .map_err(|e| StoreError::io(path, e))?;
            if got == 0 {
                break;
            }
            each(&buf[..got]);
            d.add(&buf[..got]);
        }
        Ok(d.finish(path))
    })
}

/// Whether `chunk` has no NUL and no LF without a CR before it (`after_cr`: the previous
/// chunk ended in CR).
fn in_stored_form(chunk: &[u8], after_cr: bool) -> bool {
    for at in memchr::memchr2_iter(b'\n', 0, chunk) {
        if chunk[at] == 0 {
            return false;
        }
        let cr_before = match at {
            0 => after_cr,
            _ => chunk[at - 1] == b'\r',
        };
        if !cr_before {
            return false;
        }
    }
    true
}

/// What the index records about a message's bytes.
pub(crate) struct Described {
    pub size: u64,
    pub guid: [u8; 32],
    pub cache: Vec<u8>,
    pub header: Vec<u8>,
}

/// Hash, structure scan and size of bytes fed in order.
#[derive(Default)]
struct Description {
    hash: Sha256,
    scan: message::StreamScan,
    size: u64,
}

impl Description {
    fn add(&mut self, bytes: &[u8]) {
        self.hash.update(bytes);
        self.scan.feed(bytes);
        self.size += bytes.len() as u64;
    }

    fn finish(self, path: &Path) -> Described {
        let scanned = self.scan.finish();
        if !scanned.complete || !scanned.header_complete {
            // Only a message made of megabytes of headers or delimiter lines gets here.
            tracing::warn!(
                "{}: message structure past {} octets not recognised (header section kept: {})",
                path.display(),
                message::STREAM_SCAN_BUDGET,
                if scanned.header_complete {
                    "whole"
                } else {
                    "a prefix"
                }
            );
        }
        Described {
            size: self.size,
            guid: self.hash.finalize().into(),
            cache: scanned.cache.to_bytes(),
            header: scanned.header,
        }
    }
}

/// Normalises chunks into a file while describing them.
struct Describer<'a> {
    normaliser: CrlfNormaliser,
    description: Description,
    out: Vec<u8>,
    file: &'a mut fs::File,
    path: &'a Path,
}

impl<'a> Describer<'a> {
    fn new(limit: Option<u64>, file: &'a mut fs::File, path: &'a Path) -> Self {
        Describer {
            normaliser: CrlfNormaliser::new(limit),
            description: Description::default(),
            out: Vec::with_capacity(2 * CHUNK),
            file,
            path,
        }
    }

    fn feed(&mut self, input: &[u8]) -> Result<()> {
        self.out.clear();
        self.normaliser
            .feed(input, &mut self.out)
            .map_err(NormaliseError::into_store)?;
        self.description.add(&self.out);
        self.file
            .write_all(&self.out)
            .map_err(|e| StoreError::io(self.path, e))
    }

    fn finish(self) -> Described {
        self.description.finish(self.path)
    }
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

/// A new, empty temp file in `tmp_dir`, removed again when the returned [`TempFile`] drops.
fn create_temp(tmp_dir: &Path) -> Result<(fs::File, TempFile)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "{}-{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        crate::model::unix_now()
    );
    let path = tmp_dir.join(name);
    let f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    Ok((f, TempFile { path }))
}

/// Copies an existing message file into a temp file on another partition (through the kernel's
/// copy, never whole in memory) and fsyncs it.
pub(crate) fn copy_to_temp(src: &Path, tmp_dir: &Path, durable: &Durable) -> Result<TempFile> {
    let mut from = fs::File::open(src).map_err(|e| StoreError::io(src, e))?;
    let (mut to, temp) = create_temp(tmp_dir)?;
    io::copy(&mut from, &mut to).map_err(|e| StoreError::io(temp.path(), e))?;
    durable.sync_file(&to, temp.path())?;
    Ok(temp)
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
    fn only_crlf_text_without_nul_is_in_stored_form() {
        assert!(in_stored_form(b"A: b\r\n\r\nbody\r\n", false));
        assert!(
            in_stored_form(b"bare\rcr\r\n", false),
            "a bare CR is kept as it is"
        );
        assert!(!in_stored_form(b"A: b\n", false));
        assert!(!in_stored_form(b"A: \0b\r\n", false));
        assert!(
            in_stored_form(b"\nrest", true),
            "the CR ended the chunk before"
        );
        assert!(!in_stored_form(b"\nrest", false));
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
