//! The records in a redb file under `configdirectory` (`passwd.redb`), private to the server's
//! account (mode 0600 from its creation on). redb allows one process per file: while the
//! server runs, tools reach it through the server's admin socket.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::Current;
use crate::password_db::AuthError;

const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Version of the record format, kept under `META["version"]`.
pub(crate) const FORMAT_VERSION: u64 = 1;

/// Page cache of the file: a password lookup touches a handful of pages (redb's default is
/// 1 GiB).
const PAGE_CACHE_BYTES: usize = 2 << 20;

/// The redb file of the records.
pub(crate) struct LocalStore {
    db: Database,
    path: PathBuf,
}

impl LocalStore {
    /// Opens (creating if needed, private) the database file at `path`.
    pub(crate) fn open(path: &Path) -> Result<LocalStore, AuthError> {
        let failed = |reason: String| AuthError::Db {
            path: path.to_path_buf(),
            reason,
        };
        create_private(path).map_err(|e| failed(format!("creating it (mode 0600): {e}")))?;
        let db = Database::builder()
            .set_cache_size(PAGE_CACHE_BYTES)
            .create(path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => AuthError::Busy {
                    path: path.to_path_buf(),
                },
                other => failed(other.to_string()),
            })?;
        // The hashes are secrets: never readable by other accounts, whatever the umask and
        // whatever mode the administrator gave the config directory.
        restrict_to_owner(path)
            .map_err(|e| failed(format!("making it private (mode 0600): {e}")))?;
        let store = LocalStore {
            db,
            path: path.to_path_buf(),
        };
        store.check_version()?;
        Ok(store)
    }

    /// A new, empty database at `path`, which must not exist yet (a backup's copy).
    pub(crate) fn create_new(path: &Path) -> Result<LocalStore, AuthError> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| AuthError::Db {
                path: path.to_path_buf(),
                reason: format!("creating it (mode 0600): {e}"),
            })?;
        LocalStore::open(path)
    }

    pub(crate) fn err(&self, e: impl std::fmt::Display) -> AuthError {
        AuthError::Db {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }

    fn check_version(&self) -> Result<(), AuthError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        let found = {
            let mut meta = txn.open_table(META).map_err(|e| self.err(e))?;
            txn.open_table(USERS).map_err(|e| self.err(e))?;
            let found = meta
                .get("version")
                .map_err(|e| self.err(e))?
                .map(|v| v.value());
            if found.is_none() {
                meta.insert("version", FORMAT_VERSION)
                    .map_err(|e| self.err(e))?;
            }
            found
        };
        txn.commit().map_err(|e| self.err(e))?;
        match found {
            Some(v) if v != FORMAT_VERSION => Err(AuthError::Version {
                path: self.path.clone(),
                found: v,
            }),
            _ => Ok(()),
        }
    }

    /// `name`'s record as stored now.
    pub(crate) fn read(&self, name: &str) -> Result<Option<Current>, AuthError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let users = txn.open_table(USERS).map_err(|e| self.err(e))?;
        let found = users.get(name).map_err(|e| self.err(e))?;
        Ok(found.map(|bytes| Current {
            bytes: bytes.value().to_vec(),
            revision: 0,
        }))
    }

    /// Stores `bytes` as `name`'s record unless it has one; whether it was stored.
    pub(crate) fn create(&self, name: &str, bytes: &[u8]) -> Result<bool, AuthError> {
        self.write(|users| {
            if users.get(name)?.is_some() {
                return Ok(false);
            }
            users.insert(name, bytes)?;
            Ok(true)
        })
    }

    /// Replaces `name`'s record by `bytes` (`None`: removes it) if it is still `expected`
    /// (byte for byte); whether it was.
    pub(crate) fn swap(
        &self,
        name: &str,
        expected: &Current,
        bytes: Option<&[u8]>,
    ) -> Result<bool, AuthError> {
        self.write(|users| {
            let unchanged = users
                .get(name)?
                .is_some_and(|now| now.value() == expected.bytes.as_slice());
            if !unchanged {
                return Ok(false);
            }
            match bytes {
                Some(bytes) => users.insert(name, bytes)?,
                None => users.remove(name)?,
            };
            Ok(true)
        })
    }

    /// Every user name, sorted.
    pub(crate) fn names(&self) -> Result<Vec<String>, AuthError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let users = txn.open_table(USERS).map_err(|e| self.err(e))?;
        let mut names = Vec::new();
        for entry in users.iter().map_err(|e| self.err(e))? {
            let (name, _) = entry.map_err(|e| self.err(e))?;
            names.push(name.value().to_string());
        }
        Ok(names)
    }

    /// Stores every `(name, record)` of `records` in one transaction, replacing what is there.
    pub(crate) fn insert_all(&self, records: &[(String, Vec<u8>)]) -> Result<(), AuthError> {
        self.write(|users| {
            for (name, bytes) in records {
                users.insert(name.as_str(), bytes.as_slice())?;
            }
            Ok(true)
        })
        .map(|_| ())
    }

    /// For a backup: copies the database file to `dest` (a new file, mode 0600) while holding
    /// a write transaction, so that no commit runs during the copy. Every commit here is
    /// durable, so the copy is the database at its last commit, a crash image redb opens.
    pub(crate) fn copy_to(&self, dest: &Path) -> Result<(), AuthError> {
        let hold = self.db.begin_write().map_err(|e| self.err(e))?;
        use std::os::unix::fs::OpenOptionsExt;
        let copied = (|| -> std::io::Result<()> {
            let mut from = std::fs::File::open(&self.path)?;
            let mut to = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(dest)?;
            std::io::copy(&mut from, &mut to)?;
            to.sync_all()
        })();
        hold.abort().map_err(|e| self.err(e))?;
        copied.map_err(|e| AuthError::Db {
            path: dest.to_path_buf(),
            reason: format!("copying the password database: {e}"),
        })
    }

    /// Runs `change` in one write transaction; commits it when `change` answers that it
    /// wrote (true), else aborts it. Answers that.
    fn write(
        &self,
        change: impl FnOnce(&mut redb::Table<&str, &[u8]>) -> Result<bool, redb::StorageError>,
    ) -> Result<bool, AuthError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        let wrote = {
            let mut users = txn.open_table(USERS).map_err(|e| self.err(e))?;
            change(&mut users).map_err(|e| self.err(e))?
        };
        if wrote {
            txn.commit().map_err(|e| self.err(e))?;
        } else {
            txn.abort().map_err(|e| self.err(e))?;
        }
        Ok(wrote)
    }
}

/// Creates the database file, empty and private, if it does not exist, so that it is never
/// readable by others: a file redb created would get the umask's mode until
/// [`restrict_to_owner`] ran, and a reader that opened it meanwhile would keep reading. redb
/// initialises an empty file as a new database.
pub(crate) fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Takes every permission but the owner's away from `path`, if it has any.
fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
