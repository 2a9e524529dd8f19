//! Where the password database's records are kept: the server's own redb file (`local`, the
//! default) or the Murder's etcd (`etcd`, `murder_users: etcd`), so that every server of a
//! Murder knows every user. Both hold the same encoded record under the user's name; only how
//! it is read and written differs. [`crate::PasswordDb`] makes and checks the records, and
//! changes one by reading it, deciding, and swapping it only if it is still what was read.

mod etcd;
mod local;
mod login_cache;

use std::path::Path;
use std::time::Duration;

use self::etcd::EtcdStore;
pub use self::etcd::EtcdUsers;
#[cfg(test)]
pub(crate) use local::create_private;
pub(crate) use local::{LocalStore, FORMAT_VERSION};

use crate::password_db::AuthError;

/// A record as stored now, with what a compare-and-swap compares.
#[derive(Clone, Debug)]
pub(crate) struct Current {
    /// The encoded record.
    pub bytes: Vec<u8>,
    /// etcd's mod revision of the key (0 in the local file, which compares the bytes).
    pub revision: i64,
}

/// The records' store.
pub(crate) enum UserStore {
    /// `configdirectory/passwd.redb`.
    Local(LocalStore),
    /// `PREFIX/users/NAME` in etcd.
    Etcd(EtcdStore),
}

impl UserStore {
    /// The store `users` describes in etcd, keeping login records for `ttl`.
    pub(crate) fn etcd(users: EtcdUsers, ttl: Duration) -> Result<UserStore, AuthError> {
        EtcdStore::new(users, ttl).map(UserStore::Etcd)
    }

    /// An error of this store about a record (`what`).
    pub(crate) fn err(&self, what: impl std::fmt::Display) -> AuthError {
        match self {
            UserStore::Local(s) => s.err(what),
            UserStore::Etcd(s) => s.err(what),
        }
    }

    /// `name`'s record as stored now.
    pub(crate) fn read(&self, name: &str) -> Result<Option<Current>, AuthError> {
        match self {
            UserStore::Local(s) => s.read(name),
            UserStore::Etcd(s) => s.read(name),
        }
    }

    /// `name`'s record for a login check: in etcd, from the login cache when it was read
    /// within its TTL.
    pub(crate) fn read_for_login(&self, name: &str) -> Result<Option<Vec<u8>>, AuthError> {
        match self {
            UserStore::Local(s) => Ok(s.read(name)?.map(|c| c.bytes)),
            UserStore::Etcd(s) => s.read_for_login(name),
        }
    }

    /// Stores `bytes` as `name`'s record unless it has one; whether it was stored.
    pub(crate) fn create(&self, name: &str, bytes: &[u8]) -> Result<bool, AuthError> {
        match self {
            UserStore::Local(s) => s.create(name, bytes),
            UserStore::Etcd(s) => s.create(name, bytes),
        }
    }

    /// Replaces `name`'s record by `bytes` (`None`: removes it) if it is still `expected`;
    /// whether it was.
    pub(crate) fn swap(
        &self,
        name: &str,
        expected: &Current,
        bytes: Option<&[u8]>,
    ) -> Result<bool, AuthError> {
        match self {
            UserStore::Local(s) => s.swap(name, expected, bytes),
            UserStore::Etcd(s) => s.swap(name, expected, bytes),
        }
    }

    /// Every user name, sorted.
    pub(crate) fn names(&self) -> Result<Vec<String>, AuthError> {
        match self {
            UserStore::Local(s) => s.names(),
            UserStore::Etcd(s) => s.names(),
        }
    }

    /// For a backup: a new local database file at `dest` with every record (the local file
    /// copied under a write transaction; etcd's records read at one revision).
    pub(crate) fn copy_to(&self, dest: &Path) -> Result<(), AuthError> {
        match self {
            UserStore::Local(s) => s.copy_to(dest),
            UserStore::Etcd(s) => {
                let copy = LocalStore::create_new(dest)?;
                s.records(|page| copy.insert_all(&page))
            }
        }
    }

    /// Keeps records read for logins for `ttl` (etcd only: the local file is read each time).
    pub(crate) fn set_cache_ttl(&self, ttl: Duration) {
        if let UserStore::Etcd(s) = self {
            s.set_cache_ttl(ttl);
        }
    }
}
