//! Managing a user's Sieve scripts (what ManageSieve offers, RFC 5804): who may, how many and
//! how large (`sieve_maxscripts`, `sieve_maxscriptsize`), and whether a script is valid Sieve
//! for this server (`sieve::parse`, then `sieve::check` against the capabilities offered).
//!
//! Owns: those decisions. Must not: know ManageSieve's syntax (the server maps
//! [`SieveError`] to its response codes) or the layout on disk (the store's).
//!
//! Authorization: an identity manages the scripts of its own user. An administrator manages
//! another user's by logging in as that user through the SASL authorization identity (decided
//! at login by `auth::sasl_login`, as for IMAP), so here the identity always acts for itself;
//! the anonymous identity owns no scripts.

use mailstore::{ActivateScript, DeleteScript, PutScript, RenameScript, SieveScriptInfo};

use crate::{Identity, MailService, ServiceError};

/// The limits on a user's scripts.
#[derive(Clone, Debug)]
pub struct SieveConfig {
    /// `sieve_maxscripts`: the most scripts one user keeps (Cyrus's default, 5).
    pub max_scripts: usize,
    /// `sieve_maxscriptsize`, in bytes (Cyrus's default, 32 KB).
    pub max_script_size: u64,
    /// What scripts may `require`.
    pub capabilities: sieve::Capabilities,
}

impl Default for SieveConfig {
    fn default() -> SieveConfig {
        SieveConfig {
            max_scripts: 5,
            max_script_size: 32 * 1024,
            capabilities: sieve::Capabilities::all(),
        }
    }
}

/// Why a script operation was refused, or that it failed.
#[derive(Debug, thiserror::Error)]
pub enum SieveError {
    #[error("There is no script of this name")]
    NoSuchScript,
    #[error("A script of this name already exists")]
    AlreadyExists,
    #[error("The active script cannot be deleted")]
    Active,
    #[error("Too many scripts (the limit is {0})")]
    TooManyScripts(usize),
    #[error("The script is too large (the limit is {0} bytes)")]
    TooLarge(u64),
    /// Not a valid script: the parser's or checker's first error, with its line and column.
    #[error("{0}")]
    Invalid(String),
    #[error("Invalid script name: {0}")]
    BadName(String),
    #[error("Permission denied")]
    PermissionDenied,
    #[error(transparent)]
    Failed(ServiceError),
}

impl From<mailstore::StoreError> for SieveError {
    fn from(e: mailstore::StoreError) -> SieveError {
        match e {
            mailstore::StoreError::InvalidName(why) => SieveError::BadName(why),
            other => SieveError::Failed(ServiceError::Store(other)),
        }
    }
}

impl From<ServiceError> for SieveError {
    fn from(e: ServiceError) -> SieveError {
        match e {
            ServiceError::BadName(why) => SieveError::BadName(why),
            other => SieveError::Failed(other),
        }
    }
}

impl MailService {
    /// The same service with these limits on Sieve scripts instead of the defaults.
    pub fn with_sieve(mut self, sieve: SieveConfig) -> MailService {
        self.sieve = std::sync::Arc::new(sieve);
        self
    }

    /// The limits on Sieve scripts.
    pub fn sieve_config(&self) -> &SieveConfig {
        &self.sieve
    }

    /// Whose scripts `identity` manages.
    fn script_owner<'a>(&self, identity: &'a Identity) -> Result<&'a str, SieveError> {
        if identity.is_anonymous() || identity.user().is_empty() {
            return Err(SieveError::PermissionDenied);
        }
        Ok(identity.user())
    }

    /// Starts a change of `user`'s scripts: refused while a transfer to another server has
    /// frozen the user's INBOX (the scripts move with it, module `transfer`).
    fn scripts_writing(
        &self,
        user: &str,
    ) -> Result<Option<crate::transfer::WriteGuard<'_>>, SieveError> {
        let Ok(inbox) = self.namespace.user_inbox(user) else {
            return Ok(None);
        };
        self.writing(&[&inbox], crate::transfer::Reach::Mailbox)
            .map(Some)
            .map_err(SieveError::Failed)
    }

    /// Parses and checks a script (CHECKSCRIPT, and PUTSCRIPT before storing): the first
    /// error as `line L, column C: what`.
    pub fn check_sieve_script(&self, script: &[u8]) -> Result<(), SieveError> {
        self.within_size(script.len() as u64)?;
        let parsed = sieve::parse(script).map_err(|e| SieveError::Invalid(e.to_string()))?;
        sieve::check(&parsed, &self.sieve.capabilities)
            .map_err(|e| SieveError::Invalid(e.to_string()))?;
        Ok(())
    }

    fn within_size(&self, size: u64) -> Result<(), SieveError> {
        match size > self.sieve.max_script_size {
            true => Err(SieveError::TooLarge(self.sieve.max_script_size)),
            false => Ok(()),
        }
    }

    /// HAVESPACE (RFC 5804 §2.5): whether a script `name` of `size` bytes could be stored now.
    pub fn have_sieve_space(
        &self,
        identity: &Identity,
        name: &str,
        size: u64,
    ) -> Result<(), SieveError> {
        let user = self.script_owner(identity)?;
        self.within_size(size)?;
        let scripts = self.store.list_sieve_scripts(user)?;
        let replaces = scripts.iter().any(|s| s.name == name);
        if !replaces && scripts.len() >= self.sieve.max_scripts {
            return Err(SieveError::TooManyScripts(self.sieve.max_scripts));
        }
        Ok(())
    }

    /// PUTSCRIPT (§2.6): checks the script, then stores it (replacing one of that name).
    pub fn put_sieve_script(
        &self,
        identity: &Identity,
        name: &str,
        script: &[u8],
    ) -> Result<(), SieveError> {
        let user = self.script_owner(identity)?;
        let _writing = self.scripts_writing(user)?;
        self.check_sieve_script(script)?;
        match self
            .store
            .put_sieve_script(user, name, script, self.sieve.max_scripts)?
        {
            PutScript::Stored => Ok(()),
            PutScript::TooManyScripts => Err(SieveError::TooManyScripts(self.sieve.max_scripts)),
        }
    }

    /// LISTSCRIPTS (§2.7).
    pub fn list_sieve_scripts(
        &self,
        identity: &Identity,
    ) -> Result<Vec<SieveScriptInfo>, SieveError> {
        let user = self.script_owner(identity)?;
        Ok(self.store.list_sieve_scripts(user)?)
    }

    /// GETSCRIPT (§2.9).
    pub fn get_sieve_script(&self, identity: &Identity, name: &str) -> Result<Vec<u8>, SieveError> {
        let user = self.script_owner(identity)?;
        match self.store.read_sieve_script(Some(user), name)? {
            Some((_, text)) => Ok(text),
            None => Err(SieveError::NoSuchScript),
        }
    }

    /// SETACTIVE (§2.8); `None` deactivates.
    pub fn set_active_sieve_script(
        &self,
        identity: &Identity,
        name: Option<&str>,
    ) -> Result<(), SieveError> {
        let user = self.script_owner(identity)?;
        let _writing = self.scripts_writing(user)?;
        match self.store.set_active_sieve_script(user, name)? {
            ActivateScript::Done => Ok(()),
            ActivateScript::NoSuchScript => Err(SieveError::NoSuchScript),
        }
    }

    /// DELETESCRIPT (§2.10): never the active script.
    pub fn delete_sieve_script(&self, identity: &Identity, name: &str) -> Result<(), SieveError> {
        let user = self.script_owner(identity)?;
        let _writing = self.scripts_writing(user)?;
        match self.store.delete_sieve_script(user, name)? {
            DeleteScript::Deleted => Ok(()),
            DeleteScript::NoSuchScript => Err(SieveError::NoSuchScript),
            DeleteScript::Active => Err(SieveError::Active),
        }
    }

    /// RENAMESCRIPT (§2.11).
    pub fn rename_sieve_script(
        &self,
        identity: &Identity,
        old: &str,
        new: &str,
    ) -> Result<(), SieveError> {
        let user = self.script_owner(identity)?;
        let _writing = self.scripts_writing(user)?;
        match self.store.rename_sieve_script(user, old, new)? {
            RenameScript::Renamed => Ok(()),
            RenameScript::NoSuchScript => Err(SieveError::NoSuchScript),
            RenameScript::AlreadyExists => Err(SieveError::AlreadyExists),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn service(dir: &std::path::Path, max_scripts: usize) -> MailService {
        crate::service_for_tests(dir, &[], false).with_sieve(SieveConfig {
            max_scripts,
            max_script_size: 100,
            ..SieveConfig::default()
        })
    }

    #[test]
    fn scripts_are_checked_limited_and_listed() {
        let dir = tempfile::tempdir().unwrap();
        let s = service(dir.path(), 2);
        let alice = s.identity("alice");
        s.put_sieve_script(&alice, "one", b"keep;").unwrap();
        let err = s
            .put_sieve_script(&alice, "bad", b"keep;\nfoo;")
            .unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(matches!(
            s.put_sieve_script(&alice, "big", &[b' '; 101]),
            Err(SieveError::TooLarge(100))
        ));
        s.put_sieve_script(&alice, "two", b"discard;").unwrap();
        assert!(matches!(
            s.put_sieve_script(&alice, "three", b"keep;"),
            Err(SieveError::TooManyScripts(2))
        ));
        // Replacing one is no new script.
        s.put_sieve_script(&alice, "two", b"keep;").unwrap();
        assert!(s.have_sieve_space(&alice, "two", 10).is_ok());
        assert!(s.have_sieve_space(&alice, "three", 10).is_err());
        s.set_active_sieve_script(&alice, Some("one")).unwrap();
        assert!(matches!(
            s.delete_sieve_script(&alice, "one"),
            Err(SieveError::Active)
        ));
        s.rename_sieve_script(&alice, "one", "uno").unwrap();
        let listed = s.list_sieve_scripts(&alice).unwrap();
        let names: Vec<(&str, bool)> = listed.iter().map(|i| (i.name.as_str(), i.active)).collect();
        assert_eq!(names, [("two", false), ("uno", true)]);
        assert_eq!(s.get_sieve_script(&alice, "uno").unwrap(), b"keep;");
        // Another user sees none of them.
        let bob = s.identity("bob");
        assert!(s.list_sieve_scripts(&bob).unwrap().is_empty());
        assert!(matches!(
            s.get_sieve_script(&bob, "uno"),
            Err(SieveError::NoSuchScript)
        ));
    }

    #[test]
    fn the_active_version_changes_with_content_and_choice() {
        let dir = tempfile::tempdir().unwrap();
        let s = service(dir.path(), 5);
        let alice = s.identity("alice");
        let store = &s.store;
        assert!(store.active_sieve_script("alice").unwrap().is_none());
        s.put_sieve_script(&alice, "a", b"keep;").unwrap();
        s.put_sieve_script(&alice, "b", b"keep;").unwrap();
        s.set_active_sieve_script(&alice, Some("a")).unwrap();
        let (name, v1) = store.active_sieve_script("alice").unwrap().unwrap();
        assert_eq!(name, "a");
        s.put_sieve_script(&alice, "a", b"discard;").unwrap();
        let (_, v2) = store.active_sieve_script("alice").unwrap().unwrap();
        assert_ne!(v1, v2);
        let (v3, text) = store
            .read_sieve_script(Some("alice"), "a")
            .unwrap()
            .unwrap();
        assert_eq!(v3, v2);
        assert_eq!(text, b"discard;");
        s.set_active_sieve_script(&alice, Some("b")).unwrap();
        let (name, v4) = store.active_sieve_script("alice").unwrap().unwrap();
        assert_eq!(name, "b");
        assert_ne!(v4, v2);
        s.set_active_sieve_script(&alice, None).unwrap();
        assert!(store.active_sieve_script("alice").unwrap().is_none());
        store.put_global_sieve_script("common", b"keep;").unwrap();
        assert!(store.read_sieve_script(None, "common").unwrap().is_some());
        assert!(store.read_sieve_script(None, "a").unwrap().is_none());
    }
}
