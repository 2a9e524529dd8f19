//! The password database: user names mapped to their secrets, in one redb file under
//! `configdirectory` or, in a Murder with `murder_users: etcd`, in the Murder's etcd (see
//! `user_store`). Passwords are stored as argon2id hashes (PHC strings) beside the
//! shared-secret forms SCRAM and CRAM-MD5 need (see `secrets.rs`), and as themselves only for
//! APOP with `allowapop`; the record is JSON, and records written before the shared-secret
//! forms existed read as records without them. The file is private to the server's account
//! (mode 0600 from its creation on). A change reads the record, decides, and stores the new
//! one only if the record is still the one read (tried again a few times otherwise), so
//! changes made at once by two processes, or two servers of a Murder, never undo each other.
//!
//! With `sasl_auto_transition`, a successful plaintext login stores the forms a record lacks,
//! and a user whom another source (`shadow`) accepted gets a record (as Cyrus SASL's
//! `auto_transition` creates the user in its database).
//!
//! redb allows one process per file: while the server runs, tools reach this database through the
//! server's admin socket, and open the file themselves only when the server is stopped (in
//! etcd, they reach the records directly).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use types::Secret;

use crate::argon::Hasher;
use crate::cache::{CacheAnswer, CredentialCache};
use crate::hash_queue::HashQueue;
use crate::login::Protocol;
use crate::secrets::{
    decode_apop, decode_cram, encode_apop, encode_cram, SecretPolicy, StoredForms, StoredScram,
};
use crate::throttle::{FailureThrottle, ThrottleConfig};
use crate::user_store::{Current, EtcdUsers, LocalStore, UserStore, FORMAT_VERSION};
use crate::username::{validate_username, UsernameError};

/// How many times a change is tried when the record changed between its read and its write.
const SWAP_TRIES: usize = 5;

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
    /// A password source could not decide (PAM failing or timing out): answer "unavailable".
    #[error("{0}")]
    Unavailable(String),
    #[error("the password database {path} is in use by another process (is the server running?)")]
    Busy { path: PathBuf },
    #[error("password database {path}: {reason}")]
    Db { path: PathBuf, reason: String },
    #[error("password database {path}: unsupported format version {found} (this build reads {FORMAT_VERSION})")]
    Version { path: PathBuf, found: u64 },
    /// The users' records in etcd (`murder_users: etcd`): a record that does not decode, or
    /// etcd refusing a request (etcd out of reach is [`AuthError::Unavailable`]).
    #[error("the users in etcd ({keys}): {reason}")]
    Etcd { keys: String, reason: String },
}

#[derive(Serialize, Deserialize)]
struct UserRecord {
    /// PHC string of the argon2id hash.
    argon2id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scram_sha1: Option<StoredScram>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scram_sha256: Option<StoredScram>,
    /// base64 of `sasl::CramMd5Secret::to_bytes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cram_md5: Option<String>,
    /// base64 of the password, for APOP (`allowapop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    apop: Option<String>,
}

impl UserRecord {
    fn forms(&self) -> StoredForms {
        StoredForms {
            scram_sha1: self.scram_sha1.as_ref().map(StoredScram::iterations),
            scram_sha256: self.scram_sha256.as_ref().map(StoredScram::iterations),
            cram_md5: self.cram_md5.is_some(),
            apop: self.apop.is_some(),
        }
    }

    /// Adds the forms `policy` wants and the record lacks; false when none was missing.
    fn complete(&mut self, password: &[u8], policy: &SecretPolicy) -> bool {
        let mut added = false;
        for (slot, hash) in [
            (&mut self.scram_sha1, sasl::ScramHash::Sha1),
            (&mut self.scram_sha256, sasl::ScramHash::Sha256),
        ] {
            if slot.is_none() {
                *slot = Some(StoredScram::generate(
                    password,
                    policy.scram_iterations,
                    hash,
                ));
                added = true;
            }
        }
        if policy.cram_md5 && self.cram_md5.is_none() {
            self.cram_md5 = Some(encode_cram(&sasl::CramMd5Secret::from_password(password)));
            added = true;
        }
        if policy.apop && self.apop.is_none() {
            self.apop = Some(encode_apop(password));
            added = true;
        }
        added
    }
}

/// Which source accepted a network login's password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// The password database.
    Auxprop,
    /// Another source (`shadow`, `pam`).
    Elsewhere,
}

/// What a change makes of a record.
enum Edit {
    /// Store this record instead.
    Put(Vec<u8>),
    /// Remove the user.
    Remove,
    /// Leave it as it is.
    Keep,
}

pub struct PasswordDb {
    /// Where the records are.
    store: UserStore,
    hasher: Hasher,
    pub(crate) verified: CredentialCache,
    /// The shared-secret forms new passwords are stored with.
    pub(crate) policy: SecretPolicy,
    /// `sasl_auto_transition`.
    pub(crate) auto_transition: bool,
    /// Which identities may log in, as whom.
    identity: crate::identity::LoginIdentity,
    /// Makes SCRAM's answers for unknown users stable (see `disguise.rs`).
    pub(crate) disguise_key: Secret<[u8; 32]>,
    /// Network logins' hashing threads (see `hash_queue.rs`), started on first use so that
    /// tools which only add users start none.
    pub(crate) queue: OnceLock<Result<HashQueue, String>>,
    /// (threads, waiting checks) of that queue.
    pub(crate) queue_size: (usize, usize),
    /// How long a login waits for room in a full hashing queue before `Busy`.
    pub(crate) queue_wait: std::time::Duration,
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
    /// The system's PAM stack (`pam`, cargo feature `pam`).
    #[cfg(feature = "pam")]
    Pam(crate::pam::PamSource),
}

impl PasswordDb {
    /// Opens (creating if needed) the database in `configdirectory`.
    pub fn open(configdirectory: &Path) -> Result<PasswordDb, AuthError> {
        let store = LocalStore::open(&configdirectory.join(FILE_NAME))?;
        PasswordDb::with_store(UserStore::Local(store), configdirectory)
    }

    /// The database whose records are in etcd (`murder_users: etcd`), as `users` says; the
    /// local file is not opened. `configdirectory` still holds this server's own key for
    /// SCRAM's answers about unknown users.
    pub fn open_etcd(configdirectory: &Path, users: EtcdUsers) -> Result<PasswordDb, AuthError> {
        let store = UserStore::etcd(users, crate::cache::DEFAULT_TTL)?;
        PasswordDb::with_store(store, configdirectory)
    }

    /// The database over `store`, with the defaults of every setting.
    fn with_store(store: UserStore, configdirectory: &Path) -> Result<PasswordDb, AuthError> {
        let disguise_key = crate::disguise::load_or_create(configdirectory)?;
        let hasher = Hasher::new();
        let workers = hasher.max_concurrent();
        Ok(PasswordDb {
            store,
            hasher,
            verified: CredentialCache::new(crate::cache::DEFAULT_TTL),
            policy: SecretPolicy::default(),
            auto_transition: false,
            identity: crate::identity::LoginIdentity::new(
                None,
                None,
                Vec::new(),
                crate::authz::Mechanism::Unix,
                types::Domains::off(),
            ),
            disguise_key,
            queue: OnceLock::new(),
            queue_size: (workers, workers * crate::hash_queue::WAITING_PER_WORKER),
            queue_wait: crate::hash_queue::WAIT_FOR_ROOM,
            throttle: FailureThrottle::new(ThrottleConfig::off()),
            sources: vec![PasswordSource::Auxprop],
        })
    }

    /// Throttles network logins per client host (see `throttle.rs`); off unless set.
    pub fn with_login_throttle(mut self, config: ThrottleConfig) -> PasswordDb {
        self.throttle = FailureThrottle::new(config);
        self
    }

    /// New passwords are stored with the shared-secret forms `policy` names (the default: SCRAM
    /// with 4096 iterations, no CRAM-MD5, no APOP copy); APOP logins use a stored copy only when
    /// `policy.apop` is on.
    pub fn with_secrets(mut self, policy: SecretPolicy) -> PasswordDb {
        self.policy = policy;
        self
    }

    /// `sasl_auto_transition`: after a successful plaintext login, store the shared-secret
    /// forms the user's record lacks, creating the record for a user another source accepted.
    pub fn with_auto_transition(mut self, on: bool) -> PasswordDb {
        self.auto_transition = on;
        self
    }

    /// `auth_cache_ttl`: how long a verified password is accepted without a new check; zero
    /// turns the verified-credentials cache off. With the records in etcd, also how long a
    /// record read for a login is used without asking etcd again (a watch drops it as soon as
    /// it changes on any server; the TTL is the worst case, while etcd is out of reach).
    pub fn with_cache_ttl(mut self, ttl: std::time::Duration) -> PasswordDb {
        self.verified = CredentialCache::new(ttl);
        self.store.set_cache_ttl(ttl);
        self
    }

    /// The identity rules of logins (`loginrealms`, `krb.equiv`, the local realm); by default
    /// no local realm, no map and no other realm.
    pub fn with_identity(mut self, identity: crate::identity::LoginIdentity) -> PasswordDb {
        self.identity = identity;
        self
    }

    /// The identity rules the protocol servers apply to an authenticated identity.
    pub fn login_identity(&self) -> &crate::identity::LoginIdentity {
        &self.identity
    }

    /// The iteration count new SCRAM secrets get, which SCRAM must also announce for users it
    /// does not know.
    pub fn scram_iterations(&self) -> std::num::NonZeroU32 {
        self.policy.scram_iterations
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
    ///
    /// With `sasl_auto_transition` on, an accepted password's missing shared-secret forms are
    /// stored (see [`PasswordDb::transition`]). The unit tests' shorthand for an IMAP login.
    #[cfg(test)]
    pub(crate) fn check_sources(
        &self,
        name: &str,
        password: &Secret<String>,
    ) -> Result<bool, AuthError> {
        self.check_sources_for(Protocol::Imap, name, password)
    }

    /// [`PasswordDb::check_sources`] for a login over `protocol`, which names the PAM
    /// service. When no source accepts and one could not decide (PAM timing out), the answer
    /// is that error: the login is neither refused nor counted as a failure.
    pub(crate) fn check_sources_for(
        &self,
        protocol: Protocol,
        name: &str,
        password: &Secret<String>,
    ) -> Result<bool, AuthError> {
        let accepted = self.accepting_source(protocol, name, password)?;
        if let Some(accepted) = accepted {
            if self.auto_transition {
                if let Err(e) = self.transition(name, password, accepted) {
                    tracing::warn!("auto transition of {name:?}: {e}");
                }
            }
        }
        Ok(accepted.is_some())
    }

    // Only the PAM source uses `protocol` and leaves a check undecided.
    #[cfg_attr(not(feature = "pam"), allow(unused_variables, unused_mut))]
    fn accepting_source(
        &self,
        protocol: Protocol,
        name: &str,
        password: &Secret<String>,
    ) -> Result<Option<Accepted>, AuthError> {
        let mut undecided: Option<AuthError> = None;
        for source in &self.sources {
            match source {
                #[cfg(feature = "pam")]
                PasswordSource::Pam(pam) => match self.check_pam(pam, protocol, name, password) {
                    Ok(true) => return Ok(Some(Accepted::Elsewhere)),
                    Ok(false) => {}
                    Err(e) => {
                        undecided.get_or_insert(e);
                    }
                },
                PasswordSource::Auxprop => {
                    if self.verify(name, password)? {
                        return Ok(Some(Accepted::Auxprop));
                    }
                }
                PasswordSource::Shadow(files) => {
                    let refusal = match files.stored_hash(name, password)? {
                        Ok(stored) => {
                            // Keyed by the hash: a changed shadow entry is a new password.
                            let key = format!("shadow:{stored}");
                            let secret = password.expose().as_bytes();
                            match self.verified.check(name, secret, &key) {
                                CacheAnswer::Valid => return Ok(Some(Accepted::Elsewhere)),
                                CacheAnswer::Invalid => {
                                    tracing::info!(
                                        "shadow: login of {name:?} refused: the same wrong password again"
                                    );
                                    continue;
                                }
                                CacheAnswer::Unknown => {}
                            }
                            match crate::shadow::ShadowFiles::check_hash(&stored, secret) {
                                crate::shadow::ShadowCheck::Valid => {
                                    self.verified.remember(name, secret, &key);
                                    return Ok(Some(Accepted::Elsewhere));
                                }
                                crate::shadow::ShadowCheck::Refused(why) => {
                                    self.verified.remember_failure(name, secret, &key);
                                    why
                                }
                            }
                        }
                        Err(why) => why,
                    };
                    tracing::info!("shadow: login of {name:?} refused: {refusal}");
                }
            }
        }
        undecided.map_or(Ok(None), Err)
    }

    /// PAM's answer, cached like shadow's under the service's name: a success lets the same
    /// password in again for the cache's lifetime without a PAM transaction (so without its
    /// account check either, as with saslauthd's cache), a refusal refuses it again for the
    /// negative lifetime. A password changed through PAM is not seen here: the old one works
    /// until its entry expires, the new one at once. An undecided check is not cached.
    #[cfg(feature = "pam")]
    fn check_pam(
        &self,
        pam: &crate::pam::PamSource,
        protocol: Protocol,
        name: &str,
        password: &Secret<String>,
    ) -> Result<bool, AuthError> {
        let key = format!("pam:{}", pam.service(protocol));
        let secret = password.expose().as_bytes();
        match self.verified.check(name, secret, &key) {
            CacheAnswer::Valid => return Ok(true),
            CacheAnswer::Invalid => {
                tracing::info!("pam: login of {name:?} refused: the same wrong password again");
                return Ok(false);
            }
            CacheAnswer::Unknown => {}
        }
        match pam.check(protocol, name, password) {
            crate::pam::PamCheck::Valid => {
                self.verified.remember(name, secret, &key);
                Ok(true)
            }
            crate::pam::PamCheck::Refused(why) => {
                self.verified.remember_failure(name, secret, &key);
                tracing::info!("pam: login of {name:?} refused: {why}");
                Ok(false)
            }
            crate::pam::PamCheck::Unavailable(why) => Err(AuthError::Unavailable(format!(
                "pam: login of {name:?}: {why}"
            ))),
        }
    }

    /// `sasl_auto_transition`: stores the shared-secret forms (SCRAM, and CRAM-MD5 when the
    /// policy asks for it) that `name`'s record lacks, from the password a source just accepted.
    ///
    /// - accepted by the database: the record is completed;
    /// - accepted by another source and no record: one is created with the password (argon2id
    ///   and the shared-secret forms), as Cyrus SASL creates the user (`SASL_SET_CREATE`);
    /// - accepted by another source and a record exists: it is completed only if its own
    ///   argon2id hash takes this password too. Cyrus would overwrite the record's password;
    ///   here a record never gets secrets of a password other than its own.
    fn transition(
        &self,
        name: &str,
        password: &Secret<String>,
        accepted: Accepted,
    ) -> Result<(), AuthError> {
        let secret = password.expose().as_bytes();
        let Some(mut record) = self.record(name)? else {
            if accepted == Accepted::Auxprop || validate_username(name).is_err() {
                return Ok(());
            }
            let record = self.encode(&self.new_record(password)?)?;
            if self.store.create(name, &record)? {
                tracing::info!("auto transition: {name:?} added to the password database");
            }
            return Ok(());
        };
        let before = record.argon2id.clone();
        if !record.complete(secret, &self.policy) {
            return Ok(());
        }
        if accepted == Accepted::Elsewhere {
            let ours = self
                .hasher
                .verify(&before, secret)
                .map_err(|e| self.err(format!("user {name}: stored hash: {}", e.0)))?;
            if !ours {
                tracing::info!(
                    "auto transition: {name:?} has another password in the password database; left alone"
                );
                return Ok(());
            }
        }
        let bytes = self.encode(&record)?;
        // Stored only if the record is still the one the forms were made for (no `user passwd`
        // in between).
        let stored = self.update(name, |current| {
            let unchanged =
                serde_json::from_slice::<UserRecord>(current).is_ok_and(|c| c.argon2id == before);
            Ok(if unchanged {
                Edit::Put(bytes.clone())
            } else {
                Edit::Keep
            })
        });
        match stored {
            Ok(true) => tracing::info!("auto transition: {name:?} now has {}", record.forms()),
            Ok(false) | Err(AuthError::NoSuchUser(_)) => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// For a backup: writes the database to `dest`, a new file (mode 0600) that
    /// [`PasswordDb::open`] opens: the local file is copied under a write transaction, so
    /// that no commit runs during the copy (every commit is durable, so the copy is the
    /// database at its last commit, a crash image redb opens); records in etcd are read at
    /// one revision into a new file.
    pub fn copy_to(&self, dest: &Path) -> Result<(), AuthError> {
        self.store.copy_to(dest)
    }

    pub(crate) fn err(&self, e: impl std::fmt::Display) -> AuthError {
        self.store.err(e)
    }

    /// Adds a user; refuses an existing name.
    pub fn add_user(&self, name: &str, password: &Secret<String>) -> Result<(), AuthError> {
        validate_username(name)?;
        let record = self.encode(&self.new_record(password)?)?;
        if !self.store.create(name, &record)? {
            return Err(AuthError::AlreadyExists(name.to_string()));
        }
        // A remembered failure of the name before it existed must not refuse its first login.
        self.verified.forget(name);
        Ok(())
    }

    /// Replaces a user's password, and with it every shared-secret form of the old one.
    pub fn set_password(&self, name: &str, password: &Secret<String>) -> Result<(), AuthError> {
        self.verified.forget(name);
        let record = self.encode(&self.new_record(password)?)?;
        self.update(name, |_| Ok(Edit::Put(record.clone())))?;
        self.verified.forget(name);
        Ok(())
    }

    /// Removes a user.
    pub fn delete_user(&self, name: &str) -> Result<(), AuthError> {
        self.verified.forget(name);
        self.update(name, |_| Ok(Edit::Remove))?;
        self.verified.forget(name);
        Ok(())
    }

    /// Every user name, sorted.
    pub fn list_users(&self) -> Result<Vec<String>, AuthError> {
        self.store.names()
    }

    /// Whether `name` has a record (read now, never from a cache).
    pub fn user_exists(&self, name: &str) -> Result<bool, AuthError> {
        Ok(self.store.read(name)?.is_some())
    }

    /// Which secret forms `name`'s record holds; `None` for a user the database does not know.
    pub fn stored_forms(&self, name: &str) -> Result<Option<StoredForms>, AuthError> {
        let Some(current) = self.store.read(name)? else {
            return Ok(None);
        };
        Ok(Some(self.decode(name, &current.bytes)?.forms()))
    }

    /// `name`'s stored SCRAM secrets for `hash`, if any.
    pub(crate) fn scram_secrets(
        &self,
        name: &str,
        hash: sasl::ScramHash,
    ) -> Result<Option<sasl::ScramCredentials>, AuthError> {
        let Some(record) = self.record(name)? else {
            return Ok(None);
        };
        let stored = match hash {
            sasl::ScramHash::Sha1 => record.scram_sha1,
            sasl::ScramHash::Sha256 => record.scram_sha256,
        };
        stored
            .map(|s| s.credentials(hash))
            .transpose()
            .map_err(|e| self.err(format!("user {name}: {e}")))
    }

    /// `name`'s password as stored for APOP, if any; `None` too when the policy does not allow
    /// APOP (`allowapop` off), whatever the record holds.
    pub(crate) fn apop_secret(&self, name: &str) -> Result<Option<Secret<Vec<u8>>>, AuthError> {
        if !self.policy.apop {
            return Ok(None);
        }
        let Some(record) = self.record(name)? else {
            return Ok(None);
        };
        record
            .apop
            .map(|s| decode_apop(&s))
            .transpose()
            .map_err(|e| self.err(format!("user {name}: {e}")))
    }

    /// `name`'s stored CRAM-MD5 secret, if any.
    pub(crate) fn cram_secret(&self, name: &str) -> Result<Option<sasl::CramMd5Secret>, AuthError> {
        let Some(record) = self.record(name)? else {
            return Ok(None);
        };
        record
            .cram_md5
            .map(|s| decode_cram(&s))
            .transpose()
            .map_err(|e| self.err(format!("user {name}: {e}")))
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
        match self.verified.check(name, secret, phc) {
            CacheAnswer::Valid if record.is_some() => return Ok(true),
            CacheAnswer::Invalid => return Ok(false),
            _ => {}
        }
        let ok = self
            .hasher
            .verify(phc, secret)
            .map_err(|e| self.err(format!("user {name}: stored hash: {}", e.0)))?;
        let ok = ok && record.is_some();
        if ok {
            self.verified.remember(name, secret, phc);
        } else {
            self.verified.remember_failure(name, secret, phc);
        }
        Ok(ok)
    }

    /// `name`'s record as a login reads it (from etcd, through its cache).
    fn record(&self, name: &str) -> Result<Option<UserRecord>, AuthError> {
        self.store
            .read_for_login(name)?
            .map(|bytes| self.decode(name, &bytes))
            .transpose()
    }

    fn decode(&self, name: &str, bytes: &[u8]) -> Result<UserRecord, AuthError> {
        serde_json::from_slice(bytes).map_err(|e| self.err(format!("user {name}: {e}")))
    }

    /// A record for a new password: its argon2id hash and the forms the policy names.
    fn new_record(&self, password: &Secret<String>) -> Result<UserRecord, AuthError> {
        if password.expose().is_empty() {
            return Err(AuthError::EmptyPassword);
        }
        let secret = password.expose().as_bytes();
        let argon2id = self
            .hasher
            .hash(secret)
            .map_err(|e| self.err(format!("hashing: {}", e.0)))?;
        let mut record = UserRecord {
            argon2id,
            scram_sha1: None,
            scram_sha256: None,
            cram_md5: None,
            apop: None,
        };
        record.complete(secret, &self.policy);
        Ok(record)
    }

    fn encode(&self, record: &UserRecord) -> Result<Vec<u8>, AuthError> {
        serde_json::to_vec(record).map_err(|e| self.err(e))
    }

    /// Changes `name`'s record as `edit` decides from the record as stored now (its encoded
    /// bytes), storing the outcome only if the record is still that one; read and decided
    /// again, a few times, when it changed meanwhile. Whether anything was written;
    /// [`AuthError::NoSuchUser`] when there is no record.
    fn update(
        &self,
        name: &str,
        mut edit: impl FnMut(&[u8]) -> Result<Edit, AuthError>,
    ) -> Result<bool, AuthError> {
        for _ in 0..SWAP_TRIES {
            let Some(current): Option<Current> = self.store.read(name)? else {
                return Err(AuthError::NoSuchUser(name.to_string()));
            };
            let swapped = match edit(&current.bytes)? {
                Edit::Keep => return Ok(false),
                Edit::Put(bytes) => self.store.swap(name, &current, Some(&bytes))?,
                Edit::Remove => self.store.swap(name, &current, None)?,
            };
            if swapped {
                return Ok(true);
            }
        }
        Err(AuthError::Unavailable(format!(
            "the record of {name} kept changing while it was being changed; try again"
        )))
    }
}

/// A valid argon2id hash of a random password, verified against when the user does not exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$LeLK0ovW5C5jE1+uqVVNR6I5h8uEKX0aQzA8a0Z5KHc";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user_store::create_private;
    use std::num::NonZeroU32;
    use std::sync::Arc;

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

    /// Where the child test below creates its files.
    const UMASK_CHILD_DIR: &str = "DARIUS_TEST_UMASK_CHILD_DIR";

    /// The file is created private, not made private after redb created it with the umask's
    /// mode: run under umask 000, where an ordinary new file is readable and writable by all.
    #[test]
    fn the_database_file_is_created_private_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"umask 000 && exec "$0" --exact "$1" --test-threads=1"#)
            .arg(std::env::current_exe().unwrap())
            .arg("password_db::tests::created_private_under_umask_000_child")
            .env(UMASK_CHILD_DIR, dir.path())
            .output()
            .unwrap();
        assert!(
            child.status.success(),
            "{}{}",
            String::from_utf8_lossy(&child.stdout),
            String::from_utf8_lossy(&child.stderr)
        );
        assert!(
            dir.path().join(FILE_NAME).exists(),
            "the child test ran and created the file"
        );
    }

    /// The child process of the test above; does nothing when run on its own.
    #[test]
    fn created_private_under_umask_000_child() {
        use std::os::unix::fs::PermissionsExt;
        let Some(dir) = std::env::var_os(UMASK_CHILD_DIR) else {
            return;
        };
        let dir = Path::new(&dir);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let ordinary = dir.join("ordinary");
        std::fs::write(&ordinary, b"").unwrap();
        assert_eq!(mode(&ordinary), 0o666, "the umask is 000");
        let path = dir.join(FILE_NAME);
        create_private(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        drop(PasswordDb::open(dir).unwrap());
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

    /// Replaces `name`'s record with one holding only the argon2id hash, as written before
    /// the shared-secret forms existed.
    fn make_old_style(db: &PasswordDb, name: &str) {
        let argon2id = db.record(name).unwrap().unwrap().argon2id;
        let old = serde_json::to_vec(&serde_json::json!({ "argon2id": argon2id })).unwrap();
        assert!(db.update(name, |_| Ok(Edit::Put(old.clone()))).unwrap());
    }

    fn forms(scram: Option<u32>, cram_md5: bool) -> Option<StoredForms> {
        Some(StoredForms {
            scram_sha1: scram,
            scram_sha256: scram,
            cram_md5,
            apop: false,
        })
    }

    #[test]
    fn new_passwords_get_the_scram_secrets_and_cram_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let db = PasswordDb::open(dir.path()).unwrap();
        db.add_user("alice", &secret("pencil")).unwrap();
        assert_eq!(db.stored_forms("alice").unwrap(), forms(Some(4096), false));
        assert_eq!(db.stored_forms("nobody").unwrap(), None);
        for hash in [sasl::ScramHash::Sha1, sasl::ScramHash::Sha256] {
            let stored = db.scram_secrets("alice", hash).unwrap().unwrap();
            let i = NonZeroU32::new(4096).unwrap();
            assert_eq!(
                stored,
                sasl::ScramCredentials::derive(b"pencil", &stored.salt, i, hash)
            );
        }
        assert_eq!(db.cram_secret("alice").unwrap(), None);
        drop(db);
        let db = PasswordDb::open(dir.path())
            .unwrap()
            .with_secrets(SecretPolicy {
                scram_iterations: NonZeroU32::new(10_000).unwrap(),
                cram_md5: true,
                apop: false,
            });
        let old_salt = db
            .scram_secrets("alice", sasl::ScramHash::Sha256)
            .unwrap()
            .unwrap()
            .salt;
        db.set_password("alice", &secret("crayon")).unwrap();
        assert_eq!(db.stored_forms("alice").unwrap(), forms(Some(10_000), true));
        assert_eq!(
            db.cram_secret("alice").unwrap(),
            Some(sasl::CramMd5Secret::from_password(b"crayon"))
        );
        let new = db
            .scram_secrets("alice", sasl::ScramHash::Sha256)
            .unwrap()
            .unwrap();
        assert_ne!(new.salt, old_salt, "a new password gets new salts");
        assert_eq!(
            new,
            sasl::ScramCredentials::derive(
                b"crayon",
                &new.salt,
                NonZeroU32::new(10_000).unwrap(),
                sasl::ScramHash::Sha256
            )
        );
        db.delete_user("alice").unwrap();
        assert_eq!(db.cram_secret("alice").unwrap(), None);
        assert_eq!(
            db.scram_secrets("alice", sasl::ScramHash::Sha1).unwrap(),
            None
        );
        drop(db);
        let bytes = std::fs::read(dir.path().join(FILE_NAME)).unwrap();
        assert!(!bytes.windows(6).any(|w| w == b"crayon"));
    }

    #[test]
    fn records_without_the_shared_secret_forms_still_log_in() {
        let dir = tempfile::tempdir().unwrap();
        let db = PasswordDb::open(dir.path()).unwrap();
        db.add_user("alice", &secret("pencil")).unwrap();
        make_old_style(&db, "alice");
        assert_eq!(db.stored_forms("alice").unwrap(), forms(None, false));
        assert!(db.verify("alice", &secret("pencil")).unwrap());
        assert_eq!(
            db.scram_secrets("alice", sasl::ScramHash::Sha256).unwrap(),
            None
        );
        // Without auto transition a login writes nothing.
        assert!(db.check_sources("alice", &secret("pencil")).unwrap());
        assert_eq!(db.stored_forms("alice").unwrap(), forms(None, false));
    }

    #[test]
    fn auto_transition_completes_a_record_at_a_right_password_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = PasswordDb::open(dir.path())
            .unwrap()
            .with_auto_transition(true)
            .with_secrets(SecretPolicy {
                cram_md5: true,
                ..SecretPolicy::default()
            });
        db.add_user("alice", &secret("pencil")).unwrap();
        make_old_style(&db, "alice");
        assert!(!db.check_sources("alice", &secret("crayon")).unwrap());
        assert_eq!(db.stored_forms("alice").unwrap(), forms(None, false));
        assert!(db.check_sources("alice", &secret("pencil")).unwrap());
        assert_eq!(db.stored_forms("alice").unwrap(), forms(Some(4096), true));
        assert_eq!(
            db.cram_secret("alice").unwrap(),
            Some(sasl::CramMd5Secret::from_password(b"pencil"))
        );
        // Complete records are left as they are (the salts stay).
        let salt = |db: &PasswordDb| {
            db.scram_secrets("alice", sasl::ScramHash::Sha1)
                .unwrap()
                .unwrap()
                .salt
        };
        let before = salt(&db);
        assert!(db.check_sources("alice", &secret("pencil")).unwrap());
        assert_eq!(salt(&db), before);
    }

    /// `shadow` in the sources: a user it accepts gets a record when auto transition is on (as
    /// Cyrus SASL creates the user), none when it is off; a record with another password is
    /// not given this password's secrets.
    #[test]
    fn auto_transition_brings_shadow_users_into_the_database() {
        // `openssl passwd -5 -salt 7sKUlgj5q8qujhX5 'correct horse'`.
        const HORSE: &str = "$5$7sKUlgj5q8qujhX5$7jWEuHuHfI1npBuXnlhUdfxbm4gnDCoKKGJuJXu2lH2";
        let dir = tempfile::tempdir().unwrap();
        let (passwd, shadow) = (dir.path().join("passwd"), dir.path().join("shadow"));
        std::fs::write(
            &passwd,
            "carol:x:1001:1001::/home/carol:/bin/sh
dave:x:1002:1002::/home/dave:/bin/sh
",
        )
        .unwrap();
        std::fs::write(
            &shadow,
            format!(
                "carol:{HORSE}:19000:0:99999:7:::
dave:{HORSE}:19000:0:99999:7:::
"
            ),
        )
        .unwrap();
        let files = crate::shadow::ShadowFiles::at(&passwd, &shadow);
        let sources = vec![PasswordSource::Auxprop, PasswordSource::Shadow(files)];
        {
            let off = PasswordDb::open(dir.path())
                .unwrap()
                .with_sources(sources.clone());
            assert!(off
                .check_sources("carol", &secret("correct horse"))
                .unwrap());
            assert!(!off.user_exists("carol").unwrap());
        }
        let db = PasswordDb::open(dir.path())
            .unwrap()
            .with_sources(sources)
            .with_auto_transition(true);
        db.add_user("dave", &secret("other password")).unwrap();
        make_old_style(&db, "dave");
        assert!(!db.check_sources("carol", &secret("wrong horse")).unwrap());
        assert!(!db.user_exists("carol").unwrap());
        assert!(db.check_sources("carol", &secret("correct horse")).unwrap());
        assert_eq!(db.stored_forms("carol").unwrap(), forms(Some(4096), false));
        assert!(db.verify("carol", &secret("correct horse")).unwrap());
        assert!(db.check_sources("dave", &secret("correct horse")).unwrap());
        assert_eq!(db.stored_forms("dave").unwrap(), forms(None, false));
        assert!(!db.verify("dave", &secret("correct horse")).unwrap());
    }

    /// The database answers the SASL mechanisms: PLAIN through every source, SCRAM from the
    /// stored secrets, and an unknown user the same way as a wrong password.
    #[test]
    fn sasl_exchanges_against_the_database() {
        use sasl::{Authenticator, Mechanism, Setup, Step};
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(PasswordDb::open(dir.path()).unwrap());
        db.add_user("alice", &secret("pencil")).unwrap();
        let plain = |response: &[u8]| {
            let setup = Setup::new(db.clone(), "mail.example", db.unknown_user_disguise());
            let mut a = Authenticator::new(Mechanism::Plain, setup).unwrap();
            a.step(response)
        };
        assert!(matches!(plain(b"\0alice\0pencil"), Step::Done(s) if s.authcid == "alice"));
        assert!(matches!(plain(b"\0alice\0crayon"), Step::Failed(_)));
        assert!(matches!(plain(b"\0nobody\0pencil"), Step::Failed(_)));
        // SCRAM's first answer carries the stored salt and count for a known user, and a
        // stable made-up salt for an unknown one.
        let first = |user: &str| {
            let setup = Setup::new(db.clone(), "mail.example", db.unknown_user_disguise());
            let mut a = Authenticator::new(Mechanism::ScramSha256, setup).unwrap();
            match a.step(format!("n,,n={user},r=abcdefgh").as_bytes()) {
                Step::Challenge(c) => String::from_utf8(c).unwrap(),
                other => panic!("{other:?}"),
            }
        };
        let field = |challenge: &str, name: char| {
            challenge
                .split(',')
                .find_map(|f| f.strip_prefix(&format!("{name}=")))
                .unwrap()
                .to_string()
        };
        let stored = db
            .scram_secrets("alice", sasl::ScramHash::Sha256)
            .unwrap()
            .unwrap();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        assert_eq!(field(&first("alice"), 's'), b64.encode(&stored.salt));
        assert_eq!(field(&first("alice"), 'i'), "4096");
        let unknown = field(&first("nobody"), 's');
        assert_eq!(field(&first("nobody"), 'i'), "4096");
        assert_eq!(b64.decode(&unknown).unwrap().len(), sasl::SCRAM_SALT_LEN);
        drop(db);
        // The made-up salt survives a restart (the key is kept in the config directory).
        let db = Arc::new(PasswordDb::open(dir.path()).unwrap());
        let setup = Setup::new(db.clone(), "mail.example", db.unknown_user_disguise());
        let mut a = Authenticator::new(Mechanism::ScramSha256, setup).unwrap();
        let Step::Challenge(c) = a.step(b"n,,n=nobody,r=abcdefgh") else {
            panic!("no challenge")
        };
        assert_eq!(field(&String::from_utf8(c).unwrap(), 's'), unknown);
    }

    #[test]
    fn a_wrong_password_is_remembered_briefly_and_forgotten_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let db = PasswordDb::open(dir.path()).unwrap();
        db.add_user("alice", &secret("right")).unwrap();
        assert!(!db.verify("alice", &secret("wrong")).unwrap());
        let phc = db.record("alice").unwrap().unwrap().argon2id;
        assert_eq!(
            db.verified.check("alice", b"wrong", &phc),
            CacheAnswer::Invalid
        );
        assert!(!db.verify("alice", &secret("wrong")).unwrap());
        db.set_password("alice", &secret("wrong")).unwrap();
        assert!(db.verify("alice", &secret("wrong")).unwrap());
        // An unknown user's failure does not outlive the user's creation.
        assert!(!db.verify("bob", &secret("pw")).unwrap());
        db.add_user("bob", &secret("pw")).unwrap();
        assert!(db.verify("bob", &secret("pw")).unwrap());
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
