//! The password database: one redb file under `configdirectory` mapping user names to their
//! secrets. Passwords are stored only as argon2id hashes (PHC strings); the record is JSON so the
//! Authentication issue can add SCRAM/CRAM-MD5 secrets without a format break.
//!
//! redb allows one process per file: while the server runs, tools reach this database through the
//! server's admin socket, and open the file themselves only when the server is stopped.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use types::Secret;

use crate::argon::Hasher;
use crate::cache::CredentialCache;
use crate::hash_queue::HashQueue;
use crate::throttle::{FailureThrottle, ThrottleConfig};
use crate::username::{validate_username, UsernameError};

const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Version of the record format, kept under `META["version"]`.
const FORMAT_VERSION: u64 = 1;

/// The database file's name inside the config directory.
pub const FILE_NAME: &str = "passwd.redb";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("user {0} already exists")]
    AlreadyExists(String),
    #[error("no such user {0}")]
    NoSuchUser(String),
    #[error(transparent)]
    BadUsername(#[from] UsernameError),
    #[error("password is empty")]
    EmptyPassword,
    #[error(transparent)]
    Shadow(#[from] crate::shadow::ShadowError),
    #[error("the password database {path} is in use by another process (is the server running?)")]
    Busy { path: PathBuf },
    #[error("password database {path}: {reason}")]
    Db { path: PathBuf, reason: String },
    #[error("password database {path}: unsupported format version {found} (this build reads {FORMAT_VERSION})")]
    Version { path: PathBuf, found: u64 },
}

#[derive(Serialize, Deserialize)]
struct UserRecord {
    /// PHC string of the argon2id hash.
    argon2id: String,
}

/// Page cache of the password database.
const PAGE_CACHE_BYTES: usize = 2 << 20;

pub struct PasswordDb {
    db: Database,
    path: PathBuf,
    hasher: Hasher,
    verified: CredentialCache,
    /// Network logins' hashing threads (see `hash_queue.rs`), started on first use so that
    /// tools which only add users start none.
    pub(crate) queue: OnceLock<Result<HashQueue, String>>,
    /// (threads, waiting checks) of that queue.
    pub(crate) queue_size: (usize, usize),
    pub(crate) throttle: FailureThrottle,
    /// Where network logins' passwords are checked, in order (`sasl_pwcheck_method`).
    pub(crate) sources: Vec<PasswordSource>,
}

/// One place a network login's password may be checked (`sasl_pwcheck_method`).
#[derive(Clone, Debug)]
pub enum PasswordSource {
    /// Darius's own password database (`auxprop`).
    Auxprop,
    /// The system's passwd and shadow files (`shadow`).
    Shadow(crate::shadow::ShadowFiles),
}

impl PasswordDb {
    /// Opens (creating if needed) the database in `configdirectory`.
    pub fn open(configdirectory: &Path) -> Result<PasswordDb, AuthError> {
        let path = configdirectory.join(FILE_NAME);
        // redb's default page cache is 1 GiB; a password lookup touches a handful of pages.
        let db = Database::builder()
            .set_cache_size(PAGE_CACHE_BYTES)
            .create(&path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => AuthError::Busy { path: path.clone() },
                other => AuthError::Db {
                    path: path.clone(),
                    reason: other.to_string(),
                },
            })?;
        // The hashes are secrets: never readable by other accounts, whatever the umask and
        // whatever mode the administrator gave the config directory.
        restrict_to_owner(&path).map_err(|e| AuthError::Db {
            path: path.clone(),
            reason: format!("making it private (mode 0600): {e}"),
        })?;
        let hasher = Hasher::new();
        let workers = hasher.max_concurrent();
        let store = PasswordDb {
            db,
            path,
            hasher,
            verified: CredentialCache::new(),
            queue: OnceLock::new(),
            queue_size: (workers, workers * crate::hash_queue::WAITING_PER_WORKER),
            throttle: FailureThrottle::new(ThrottleConfig::off()),
            sources: vec![PasswordSource::Auxprop],
        };
        store.check_version()?;
        Ok(store)
    }

    /// Throttles network logins per client host (see `throttle.rs`); off unless set.
    pub fn with_login_throttle(mut self, config: ThrottleConfig) -> PasswordDb {
        self.throttle = FailureThrottle::new(config);
        self
    }

    /// Network logins check their passwords in `sources`, in order, until one accepts
    /// (`sasl_pwcheck_method`); the default is the password database alone. Administrative
    /// checks ([`PasswordDb::verify`]) always use the database.
    pub fn with_sources(mut self, sources: Vec<PasswordSource>) -> PasswordDb {
        self.sources = sources;
        self
    }

    /// A network login's check: each source in order until one accepts. A refusal's reason
    /// is logged (never the password), the client only learns that the login failed.
    /// Blocking and CPU-heavy: runs on the hashing threads.
    pub(crate) fn check_sources(
        &self,
        name: &str,
        password: &Secret<String>,
    ) -> Result<bool, AuthError> {
        for source in &self.sources {
            match source {
                PasswordSource::Auxprop => {
                    if self.verify(name, password)? {
                        return Ok(true);
                    }
                }
                PasswordSource::Shadow(files) => {
                    let refusal = match files.stored_hash(name, password)? {
                        Ok(stored) => {
                            // Keyed by the hash: a changed shadow entry is a new password.
                            let key = format!("shadow:{stored}");
                            let secret = password.expose().as_bytes();
                            if self.verified.check(name, secret, &key) {
                                return Ok(true);
                            }
                            match crate::shadow::ShadowFiles::check_hash(&stored, secret) {
                                crate::shadow::ShadowCheck::Valid => {
                                    self.verified.remember(name, secret, &key);
                                    return Ok(true);
                                }
                                crate::shadow::ShadowCheck::Refused(why) => why,
                            }
                        }
                        Err(why) => why,
                    };
                    tracing::info!("shadow: login of {name:?} refused: {refusal}");
                }
            }
        }
        Ok(false)
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

    /// Adds a user; refuses an existing name.
    pub fn add_user(&self, name: &str, password: &Secret<String>) -> Result<(), AuthError> {
        validate_username(name)?;
        let record = self.hash_record(password)?;
        self.write(|users| {
            if users.get(name)?.is_some() {
                return Ok(Err(AuthError::AlreadyExists(name.to_string())));
            }
            users.insert(name, record.as_slice())?;
            Ok(Ok(()))
        })
    }

    /// Replaces a user's password.
    pub fn set_password(&self, name: &str, password: &Secret<String>) -> Result<(), AuthError> {
        self.verified.forget(name);
        let record = self.hash_record(password)?;
        self.write(|users| {
            if users.get(name)?.is_none() {
                return Ok(Err(AuthError::NoSuchUser(name.to_string())));
            }
            users.insert(name, record.as_slice())?;
            Ok(Ok(()))
        })
    }

    /// Removes a user.
    pub fn delete_user(&self, name: &str) -> Result<(), AuthError> {
        self.verified.forget(name);
        self.write(|users| {
            if users.remove(name)?.is_none() {
                return Ok(Err(AuthError::NoSuchUser(name.to_string())));
            }
            Ok(Ok(()))
        })
    }

    /// Every user name, sorted.
    pub fn list_users(&self) -> Result<Vec<String>, AuthError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let users = txn.open_table(USERS).map_err(|e| self.err(e))?;
        let mut names = Vec::new();
        for entry in users.iter().map_err(|e| self.err(e))? {
            let (name, _) = entry.map_err(|e| self.err(e))?;
            names.push(name.value().to_string());
        }
        Ok(names)
    }

    pub fn user_exists(&self, name: &str) -> Result<bool, AuthError> {
        Ok(self.record(name)?.is_some())
    }

    /// Checks a plaintext password. An unknown user and a wrong password both give `false`; a
    /// hash is computed either way so that timing does not tell them apart.
    ///
    /// A user who proved the same password recently is accepted from the verified-credentials
    /// cache (see `cache.rs`) without a new argon2id computation.
    pub fn verify(&self, name: &str, password: &Secret<String>) -> Result<bool, AuthError> {
        let record = self.record(name)?;
        let phc = record
            .as_ref()
            .map(|r| r.argon2id.as_str())
            .unwrap_or(DUMMY_HASH);
        let secret = password.expose().as_bytes();
        if record.is_some() && self.verified.check(name, secret, phc) {
            return Ok(true);
        }
        let ok = self
            .hasher
            .verify(phc, secret)
            .map_err(|e| self.err(format!("user {name}: stored hash: {}", e.0)))?;
        if ok && record.is_some() {
            self.verified.remember(name, secret, phc);
        }
        Ok(ok && record.is_some())
    }

    fn record(&self, name: &str) -> Result<Option<UserRecord>, AuthError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let users = txn.open_table(USERS).map_err(|e| self.err(e))?;
        let Some(bytes) = users.get(name).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        serde_json::from_slice(bytes.value())
            .map(Some)
            .map_err(|e| self.err(format!("user {name}: {e}")))
    }

    fn hash_record(&self, password: &Secret<String>) -> Result<Vec<u8>, AuthError> {
        if password.expose().is_empty() {
            return Err(AuthError::EmptyPassword);
        }
        let argon2id = self
            .hasher
            .hash(password.expose().as_bytes())
            .map_err(|e| self.err(format!("hashing: {}", e.0)))?;
        serde_json::to_vec(&UserRecord { argon2id }).map_err(|e| self.err(e))
    }

    /// Runs `change` in one write transaction; commits only when it returns `Ok(Ok(_))`.
    fn write<T>(
        &self,
        change: impl FnOnce(
            &mut redb::Table<&str, &[u8]>,
        ) -> Result<Result<T, AuthError>, redb::StorageError>,
    ) -> Result<T, AuthError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        let outcome = {
            let mut users = txn.open_table(USERS).map_err(|e| self.err(e))?;
            change(&mut users).map_err(|e| self.err(e))?
        };
        match outcome {
            Ok(value) => {
                txn.commit().map_err(|e| self.err(e))?;
                Ok(value)
            }
            Err(refusal) => {
                txn.abort().map_err(|e| self.err(e))?;
                Err(refusal)
            }
        }
    }
}

fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// A valid argon2id hash of a random password, verified against when the user does not exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$LeLK0ovW5C5jE1+uqVVNR6I5h8uEKX0aQzA8a0Z5KHc";

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret<String> {
        Secret::new(s.to_string())
    }

    #[test]
    fn add_verify_change_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let db = PasswordDb::open(dir.path()).unwrap();
        db.add_user("alice", &secret("wonderland")).unwrap();
        assert!(db.verify("alice", &secret("wonderland")).unwrap());
        assert!(!db.verify("alice", &secret("Wonderland")).unwrap());
        assert!(!db.verify("bob", &secret("wonderland")).unwrap());
        db.set_password("alice", &secret("looking-glass")).unwrap();
        assert!(!db.verify("alice", &secret("wonderland")).unwrap());
        assert!(db.verify("alice", &secret("looking-glass")).unwrap());
        db.delete_user("alice").unwrap();
        assert!(db.list_users().unwrap().is_empty());
    }

    #[test]
    fn duplicates_unknown_users_and_empty_passwords_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = PasswordDb::open(dir.path()).unwrap();
        db.add_user("alice", &secret("x")).unwrap();
        assert!(matches!(
            db.add_user("alice", &secret("y")),
            Err(AuthError::AlreadyExists(_))
        ));
        assert!(matches!(
            db.set_password("bob", &secret("y")),
            Err(AuthError::NoSuchUser(_))
        ));
        assert!(matches!(
            db.delete_user("bob"),
            Err(AuthError::NoSuchUser(_))
        ));
        assert!(matches!(
            db.add_user("carol", &secret("")),
            Err(AuthError::EmptyPassword)
        ));
        assert!(matches!(
            db.add_user("a/b", &secret("x")),
            Err(AuthError::BadUsername(_))
        ));
        assert!(
            db.verify("alice", &secret("y")).is_ok_and(|ok| !ok),
            "refused add kept the old password"
        );
    }

    #[test]
    fn passwords_are_stored_only_as_argon2id() {
        let dir = tempfile::tempdir().unwrap();
        let db = PasswordDb::open(dir.path()).unwrap();
        db.add_user("alice", &secret("plain-text-marker")).unwrap();
        let record = db.record("alice").unwrap().unwrap();
        assert!(record.argon2id.starts_with("$argon2id$"));
        drop(db);
        let bytes = std::fs::read(dir.path().join(FILE_NAME)).unwrap();
        assert!(!bytes.windows(17).any(|w| w == b"plain-text-marker"));
    }

    #[test]
    fn the_database_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        drop(PasswordDb::open(dir.path()).unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        // A file made readable by others (an older version, a copy) is tightened on open.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(PasswordDb::open(dir.path()).unwrap());
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn users_survive_reopening_and_list_sorted() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = PasswordDb::open(dir.path()).unwrap();
            db.add_user("zed", &secret("x")).unwrap();
            db.add_user("amy", &secret("x")).unwrap();
        }
        let db = PasswordDb::open(dir.path()).unwrap();
        assert_eq!(db.list_users().unwrap(), ["amy", "zed"]);
    }

    #[test]
    fn a_changed_password_is_not_served_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let db = PasswordDb::open(dir.path()).unwrap();
        db.add_user("alice", &secret("old")).unwrap();
        assert!(db.verify("alice", &secret("old")).unwrap());
        assert!(
            db.verify("alice", &secret("old")).unwrap(),
            "second check from the cache"
        );
        db.set_password("alice", &secret("new")).unwrap();
        assert!(!db.verify("alice", &secret("old")).unwrap());
        assert!(db.verify("alice", &secret("new")).unwrap());
        db.delete_user("alice").unwrap();
        assert!(!db.verify("alice", &secret("new")).unwrap());
    }

    #[test]
    fn the_dummy_hash_is_well_formed() {
        assert!(Hasher::new().verify(DUMMY_HASH, b"anything").is_ok());
    }

    /// The sources are tried in order, and a shadow login's cached success is tied to the
    /// hash it was checked against: after the shadow entry changes, the old password no longer
    /// logs in, even within the cache's lifetime.
    #[test]
    fn sources_in_order_and_a_changed_shadow_hash_drops_the_cached_success() {
        // `openssl passwd -5 -salt 7sKUlgj5q8qujhX5 'correct horse'` and `… 'battery staple'`.
        const HORSE: &str = "$5$7sKUlgj5q8qujhX5$7jWEuHuHfI1npBuXnlhUdfxbm4gnDCoKKGJuJXu2lH2";
        const STAPLE: &str = "$5$7sKUlgj5q8qujhX5$byaJLYE1btr3Aw2Iq27zqjxM6ZaqrtispjeMYzcHgm0";
        let dir = tempfile::tempdir().unwrap();
        let (passwd, shadow) = (dir.path().join("passwd"), dir.path().join("shadow"));
        std::fs::write(&passwd, "carol:x:1001:1001::/home/carol:/bin/sh\n").unwrap();
        let set_hash = |hash: &str| {
            std::fs::write(&shadow, format!("carol:{hash}:19000:0:99999:7:::\n")).unwrap();
        };
        set_hash(HORSE);
        let files = crate::shadow::ShadowFiles::at(&passwd, &shadow);
        let db = PasswordDb::open(dir.path())
            .unwrap()
            .with_sources(vec![PasswordSource::Auxprop, PasswordSource::Shadow(files)]);
        db.add_user("alice", &secret("wonderland")).unwrap();
        assert!(db.check_sources("alice", &secret("wonderland")).unwrap());
        for _ in 0..2 {
            assert!(db.check_sources("carol", &secret("correct horse")).unwrap());
        }
        assert!(!db
            .check_sources("carol", &secret("battery staple"))
            .unwrap());
        set_hash(STAPLE);
        assert!(!db.check_sources("carol", &secret("correct horse")).unwrap());
        assert!(db
            .check_sources("carol", &secret("battery staple"))
            .unwrap());
        let other = tempfile::tempdir().unwrap();
        let auxprop_only = PasswordDb::open(other.path()).unwrap();
        assert!(!auxprop_only
            .check_sources("carol", &secret("battery staple"))
            .unwrap());
    }
}
