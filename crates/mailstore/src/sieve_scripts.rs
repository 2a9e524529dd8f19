//! Sieve scripts on disk: each user's scripts and which one is active, and the global scripts
//! (RFC 6609 `include :global`), under `sievedir` ([`crate::StoreConfig::sieve_directory`]).
//!
//! Owns: the layout, script names as file names, and the write protocol. Must not: decide who
//! may manage whose scripts, how many a user may keep or whether a script is valid Sieve
//! (`mailservice` does).
//!
//! # Layout (see `docs/on-disk-format.md`)
//! ```text
//! SIEVEDIR/global/FILE                 a global script
//! SIEVEDIR/user/USERDIR/FILE           one of the user's scripts
//! SIEVEDIR/user/USERDIR/~HASH.name     the script name of a hashed FILE
//! SIEVEDIR/user/USERDIR/active         symlink to the active script's FILE (absent: none)
//! ```
//! `FILE` is the script name percent-encoded (`%XX` for `/`, `%`, control characters, and a
//! leading `.` or `~`; everything else, UTF-8 included, is kept as it is) followed by `.script`;
//! when that would be longer than [`MAX_PLAIN_FILE_NAME`] bytes (the file system allows 255),
//! `FILE` is `~` and the SHA-256 of the name in hex, then `.script`, and `~HASH.name` holds the
//! name. `USERDIR` is the user id encoded the same way (hashed without a name file). No name
//! can therefore reach outside its directory, nor collide with `active` or a temporary file
//! (those start with `.`, which an encoded name never does).
//!
//! # Durability and atomicity
//! A script is written to a temporary file, fsynced, then renamed over its name, and the
//! directory fsynced: a reader sees the old script or the new one, never a part. Activation
//! makes a new symlink under a temporary name and renames it over `active`; deactivation
//! removes `active`. Every change of a user's scripts runs under one store-wide lock (script
//! changes are rare), so counting scripts and storing one is atomic.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::durable::Durable;
use crate::error::{Result, StoreError};
use crate::Store;

/// The longest `FILE` kept readable; longer encodings are hashed.
pub const MAX_PLAIN_FILE_NAME: usize = 200;
/// RFC 5804 §1.6 asks for at least 128 characters; 128 of the longest UTF-8 characters take
/// 512 bytes, the bound here.
pub const MAX_SCRIPT_NAME_BYTES: usize = 512;
/// The largest script file this module reads; a bigger one (put there by hand) is refused as
/// corrupt rather than read into memory. The service's `sieve_maxscriptsize` is far below.
pub const MAX_SCRIPT_FILE: u64 = 16 << 20;
/// The most scripts one listing returns (the service's `sieve_maxscripts` is far below): a
/// directory filled by hand cannot make a listing unbounded.
pub const MAX_LISTED_SCRIPTS: usize = 10_000;

const SCRIPT_SUFFIX: &str = ".script";
const NAME_SUFFIX: &str = ".name";
const ACTIVE: &str = "active";

/// Identifies one version of a script: it changes whenever the script's content changes (each
/// write is a new file) or, for [`Store::active_sieve_script`], another script becomes active.
/// Made from the file's device, inode, change time and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScriptVersion {
    dev: u64,
    ino: u64,
    ctime_ns: i128,
    mtime_ns: i128,
    len: u64,
}

impl ScriptVersion {
    fn of(meta: &fs::Metadata) -> ScriptVersion {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        ScriptVersion {
            dev: meta.dev(),
            ino: meta.ino(),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            len: meta.len(),
        }
    }
}

/// One of a user's scripts, as LISTSCRIPTS shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SieveScriptInfo {
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    pub active: bool,
}

/// What [`Store::put_sieve_script`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutScript {
    /// Stored (a new script, or a new version of one).
    Stored,
    /// A new script would be one more than the limit allows; nothing was written.
    TooManyScripts,
}

/// What [`Store::delete_sieve_script`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteScript {
    Deleted,
    NoSuchScript,
    /// The active script is not deleted (RFC 5804 §2.10).
    Active,
}

/// What [`Store::rename_sieve_script`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenameScript {
    Renamed,
    NoSuchScript,
    AlreadyExists,
}

/// What [`Store::set_active_sieve_script`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivateScript {
    Done,
    NoSuchScript,
}

/// The scripts' part of the store.
pub(crate) struct SieveDir {
    root: PathBuf,
    durable: Durable,
    lock: Mutex<()>,
}

impl SieveDir {
    pub(crate) fn new(root: PathBuf, durable: Durable) -> SieveDir {
        SieveDir {
            root,
            durable,
            lock: Mutex::new(()),
        }
    }

    fn user_dir(&self, user: &str) -> PathBuf {
        let encoded = encode(user);
        let dir = if encoded.len() > MAX_PLAIN_FILE_NAME {
            format!("~{}", hash_hex(user))
        } else {
            encoded
        };
        self.root.join("user").join(dir)
    }

    fn dir_of(&self, owner: Option<&str>) -> PathBuf {
        match owner {
            Some(user) => self.user_dir(user),
            None => self.root.join("global"),
        }
    }
}

/// Checks a script name (RFC 5804 §1.6: not empty, no control characters nor U+2028/U+2029,
/// and at most [`MAX_SCRIPT_NAME_BYTES`] bytes here).
fn check_name(name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(StoreError::InvalidName(format!(
            "script name {name:?}: {why}"
        )))
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_SCRIPT_NAME_BYTES {
        return bad("too long");
    }
    if name
        .chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
    {
        return bad("control character");
    }
    Ok(())
}

/// `/`, `%`, control characters and a leading `.` or `~` as `%XX`; everything else as it is.
fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.char_indices() {
        let escape = c == '/' || c == '%' || c.is_control() || (i == 0 && (c == '.' || c == '~'));
        if escape {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The inverse of [`encode`]; `None` for what `encode` never makes.
fn decode(file: &str) -> Option<String> {
    let bytes = file.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hash_hex(name: &str) -> String {
    Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The file a script of this name is kept in, and for a hashed one the file holding its name.
fn script_file(name: &str) -> (String, Option<String>) {
    let encoded = encode(name);
    if encoded.len() <= MAX_PLAIN_FILE_NAME {
        (format!("{encoded}{SCRIPT_SUFFIX}"), None)
    } else {
        let hash = hash_hex(name);
        (
            format!("~{hash}{SCRIPT_SUFFIX}"),
            Some(format!("~{hash}{NAME_SUFFIX}")),
        )
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |e| StoreError::io(path, e)
}

fn not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

impl Store {
    fn sieve(&self) -> &SieveDir {
        &self.inner.sieve
    }

    pub(crate) fn sieve_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // Guards no data of its own, so a poisoned lock is as good as a fresh one.
        self.sieve().lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The name and version of `user`'s active script, if one is active: a `readlink` and a
    /// `stat` (plus reading a name file for a hashed name). A link to a missing file (never
    /// left by this module) counts as no active script.
    pub fn active_sieve_script(&self, user: &str) -> Result<Option<(String, ScriptVersion)>> {
        let dir = self.sieve().user_dir(user);
        let link = dir.join(ACTIVE);
        let target = match fs::read_link(&link) {
            Ok(target) => target,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(StoreError::io(&link, e)),
        };
        let Some(file) = target.to_str().filter(|f| !f.contains('/')) else {
            return Err(corrupt(
                &link,
                "the active link points outside the directory",
            ));
        };
        let path = dir.join(file);
        let meta = match fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        let name = name_of_file(&dir, file)?
            .ok_or_else(|| corrupt(&link, "the active link names no script"))?;
        Ok(Some((name, ScriptVersion::of(&meta))))
    }

    /// A script's version alone (one `stat`), so that a caller holding the compiled script of
    /// that version need not read it again: `owner` `None` for a global script; `None` when
    /// there is no such script.
    pub fn sieve_script_version(
        &self,
        owner: Option<&str>,
        name: &str,
    ) -> Result<Option<ScriptVersion>> {
        check_name(name)?;
        let path = self.sieve().dir_of(owner).join(script_file(name).0);
        match fs::metadata(&path) {
            Ok(meta) => Ok(Some(ScriptVersion::of(&meta))),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    /// A script's version and text: `owner` `None` reads a global script. `None` when there
    /// is no such script.
    pub fn read_sieve_script(
        &self,
        owner: Option<&str>,
        name: &str,
    ) -> Result<Option<(ScriptVersion, Vec<u8>)>> {
        check_name(name)?;
        let path = self.sieve().dir_of(owner).join(script_file(name).0);
        let mut file = match fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        let meta = file.metadata().map_err(io_err(&path))?;
        if meta.len() > MAX_SCRIPT_FILE {
            return Err(corrupt(&path, "script file too large"));
        }
        let mut text = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        Read::take(&mut file, MAX_SCRIPT_FILE)
            .read_to_end(&mut text)
            .map_err(io_err(&path))?;
        Ok(Some((ScriptVersion::of(&meta), text)))
    }

    /// `user`'s scripts with their sizes and which is active, sorted by name (at most
    /// [`MAX_LISTED_SCRIPTS`]).
    pub fn list_sieve_scripts(&self, user: &str) -> Result<Vec<SieveScriptInfo>> {
        let dir = self.sieve().user_dir(user);
        let active = fs::read_link(dir.join(ACTIVE))
            .ok()
            .and_then(|t| t.to_str().map(str::to_string));
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io(&dir, e)),
        };
        let mut scripts = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err(&dir))?;
            let Some(file) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Some(name) = name_of_file(&dir, &file)? else {
                continue;
            };
            let meta = entry.metadata().map_err(io_err(&entry.path()))?;
            scripts.push(SieveScriptInfo {
                name,
                size: meta.len(),
                active: active.as_deref() == Some(file.as_str()),
            });
            if scripts.len() >= MAX_LISTED_SCRIPTS {
                break;
            }
        }
        scripts.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(scripts)
    }

    /// Stores `script` as `user`'s script `name`, replacing one of that name; a new name is
    /// refused when the user already has `max_scripts` scripts.
    pub fn put_sieve_script(
        &self,
        user: &str,
        name: &str,
        script: &[u8],
        max_scripts: usize,
    ) -> Result<PutScript> {
        check_name(name)?;
        let _guard = self.sieve_lock();
        let dir = self.sieve().user_dir(user);
        self.sieve().durable.create_dir(&dir)?;
        let (file, name_file) = script_file(name);
        let path = dir.join(&file);
        if !path.exists() && self.list_sieve_scripts(user)?.len() >= max_scripts {
            return Ok(PutScript::TooManyScripts);
        }
        if let Some(name_file) = name_file {
            self.write_replacing(&dir, &name_file, name.as_bytes())?;
        }
        self.write_replacing(&dir, &file, script)?;
        Ok(PutScript::Stored)
    }

    /// Stores a global script (for administrators and tests; RFC 6609 `include :global`).
    pub fn put_global_sieve_script(&self, name: &str, script: &[u8]) -> Result<()> {
        check_name(name)?;
        let _guard = self.sieve_lock();
        let dir = self.sieve().dir_of(None);
        self.sieve().durable.create_dir(&dir)?;
        let (file, name_file) = script_file(name);
        if let Some(name_file) = name_file {
            self.write_replacing(&dir, &name_file, name.as_bytes())?;
        }
        self.write_replacing(&dir, &file, script)
    }

    /// Writes `data` to `dir/file` through a temporary file: fsync, rename, fsync `dir`.
    fn write_replacing(&self, dir: &Path, file: &str, data: &[u8]) -> Result<()> {
        let tmp = dir.join(format!(".tmp-{}-{file}", std::process::id()));
        let written = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(data)?;
            Ok(f)
        })();
        let f = written.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            StoreError::io(&tmp, e)
        })?;
        self.sieve().durable.sync_file(&f, &tmp)?;
        drop(f);
        let path = dir.join(file);
        fs::rename(&tmp, &path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            StoreError::io(&path, e)
        })?;
        self.sieve().durable.sync_dir(dir)
    }

    /// Deletes `user`'s script `name`, unless it is the active one.
    pub fn delete_sieve_script(&self, user: &str, name: &str) -> Result<DeleteScript> {
        check_name(name)?;
        let _guard = self.sieve_lock();
        let dir = self.sieve().user_dir(user);
        let (file, name_file) = script_file(name);
        if active_file(&dir).as_deref() == Some(file.as_str()) {
            return Ok(DeleteScript::Active);
        }
        let path = dir.join(&file);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if not_found(&e) => return Ok(DeleteScript::NoSuchScript),
            Err(e) => return Err(StoreError::io(&path, e)),
        }
        if let Some(name_file) = name_file {
            let _ = fs::remove_file(dir.join(name_file));
        }
        self.sieve().durable.sync_dir(&dir)?;
        Ok(DeleteScript::Deleted)
    }

    /// Renames `user`'s script `old` to `new` (which must not exist); the active script stays
    /// active under its new name.
    pub fn rename_sieve_script(&self, user: &str, old: &str, new: &str) -> Result<RenameScript> {
        check_name(old)?;
        check_name(new)?;
        let _guard = self.sieve_lock();
        let dir = self.sieve().user_dir(user);
        let (old_file, old_name_file) = script_file(old);
        let (new_file, new_name_file) = script_file(new);
        let old_path = dir.join(&old_file);
        if !old_path.exists() {
            return Ok(RenameScript::NoSuchScript);
        }
        if old_file == new_file {
            return Ok(RenameScript::AlreadyExists);
        }
        if let Some(name_file) = &new_name_file {
            self.write_replacing(&dir, name_file, new.as_bytes())?;
        }
        // link(2) never replaces: a script of the new name is refused, not overwritten.
        let new_path = dir.join(&new_file);
        match fs::hard_link(&old_path, &new_path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Ok(RenameScript::AlreadyExists)
            }
            Err(e) if not_found(&e) => return Ok(RenameScript::NoSuchScript),
            Err(e) => return Err(StoreError::io(&new_path, e)),
        }
        if active_file(&dir).as_deref() == Some(old_file.as_str()) {
            self.point_active(&dir, &new_file)?;
        }
        fs::remove_file(&old_path).map_err(io_err(&old_path))?;
        if let Some(name_file) = old_name_file {
            let _ = fs::remove_file(dir.join(name_file));
        }
        self.sieve().durable.sync_dir(&dir)?;
        Ok(RenameScript::Renamed)
    }

    /// Makes `name` `user`'s active script, or, with `None`, deactivates whichever is.
    pub fn set_active_sieve_script(
        &self,
        user: &str,
        name: Option<&str>,
    ) -> Result<ActivateScript> {
        let _guard = self.sieve_lock();
        let dir = self.sieve().user_dir(user);
        let Some(name) = name else {
            let link = dir.join(ACTIVE);
            return match fs::remove_file(&link) {
                Ok(()) => {
                    self.sieve().durable.sync_dir(&dir)?;
                    Ok(ActivateScript::Done)
                }
                Err(e) if not_found(&e) => Ok(ActivateScript::Done),
                Err(e) => Err(StoreError::io(&link, e)),
            };
        };
        check_name(name)?;
        let file = script_file(name).0;
        if !dir.join(&file).is_file() {
            return Ok(ActivateScript::NoSuchScript);
        }
        self.point_active(&dir, &file)?;
        Ok(ActivateScript::Done)
    }

    /// Replaces the `active` link by one to `file`, atomically, and syncs the directory.
    fn point_active(&self, dir: &Path, file: &str) -> Result<()> {
        let tmp = dir.join(format!(".tmp-{}-active", std::process::id()));
        let _ = fs::remove_file(&tmp);
        std::os::unix::fs::symlink(file, &tmp).map_err(io_err(&tmp))?;
        let link = dir.join(ACTIVE);
        fs::rename(&tmp, &link).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            StoreError::io(&link, e)
        })?;
        self.sieve().durable.sync_dir(dir)
    }
}

/// The file `active` points to, if any.
fn active_file(dir: &Path) -> Option<String> {
    fs::read_link(dir.join(ACTIVE))
        .ok()
        .and_then(|t| t.to_str().map(str::to_string))
}

/// The script name a directory entry holds, or `None` when the entry is no script (`active`,
/// temporary files, name files).
fn name_of_file(dir: &Path, file: &str) -> Result<Option<String>> {
    let Some(stem) = file.strip_suffix(SCRIPT_SUFFIX) else {
        return Ok(None);
    };
    if stem.starts_with('.') {
        return Ok(None);
    }
    if let Some(hash) = stem.strip_prefix('~') {
        let path = dir.join(format!("~{hash}{NAME_SUFFIX}"));
        let name = match fs::read(&path) {
            Ok(name) => name,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        return Ok(String::from_utf8(name)
            .ok()
            .filter(|n| check_name(n).is_ok()));
    }
    Ok(decode(stem).filter(|n| check_name(n).is_ok()))
}

fn corrupt(path: &Path, detail: &str) -> StoreError {
    StoreError::Corrupt {
        what: path.display().to_string(),
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_encode_into_their_directory_and_back() {
        for name in [
            "plain", "a/b", "../x", ".hidden", "100%", "été", "a b", "~x",
        ] {
            let (file, name_file) = script_file(name);
            assert!(name_file.is_none());
            assert!(!file.contains('/'), "{file}");
            assert!(!file.starts_with('.'), "{file}");
            let stem = file.strip_suffix(SCRIPT_SUFFIX).unwrap();
            assert_eq!(decode(stem).unwrap(), name);
        }
    }

    #[test]
    fn long_names_are_hashed() {
        let name = "é".repeat(128);
        let (file, name_file) = script_file(&name);
        assert!(file.len() < 100, "{file}");
        assert!(name_file.is_some());
    }

    #[test]
    fn bad_names_are_refused() {
        for name in ["", "a\nb", "a\u{2028}", &"x".repeat(513)] {
            assert!(check_name(name).is_err(), "{name:?}");
        }
    }
}
