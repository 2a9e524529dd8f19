//! The per-installation key that makes SCRAM's answers for users the database does not know
//! look like a real user's, the same for the same name every time (`sasl::UnknownUserDisguise`):
//! 32 random bytes in `configdirectory/sasl-disguise.key`, made (mode 0600) when the password
//! database is first opened and kept across restarts, so a client cannot find out which names
//! exist by asking twice, or again after a restart, and comparing the salts.

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use types::Secret;

use crate::password_db::{AuthError, PasswordDb};

/// The key file's name inside the config directory.
pub const FILE_NAME: &str = "sasl-disguise.key";

/// Reads the key, making it first if there is none.
pub(crate) fn load_or_create(configdirectory: &Path) -> Result<Secret<[u8; 32]>, AuthError> {
    let path = configdirectory.join(FILE_NAME);
    let failed = |what: &str, e: std::io::Error| AuthError::Db {
        path: path.clone(),
        reason: format!("{what}: {e}"),
    };
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path);
    match created {
        Ok(mut file) => {
            let mut key = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
            file.write_all(&key)
                .and_then(|()| file.sync_all())
                .map_err(|e| failed("writing", e))?;
            return Ok(Secret::new(key));
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(failed("creating", e)),
    }
    let mut file = std::fs::File::open(&path).map_err(|e| failed("opening", e))?;
    let mode = file
        .metadata()
        .map_err(|e| failed("reading its mode", e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| failed("making it private (mode 0600)", e))?;
    }
    let mut bytes = Vec::with_capacity(33);
    Read::by_ref(&mut file)
        .take(33)
        .read_to_end(&mut bytes)
        .map_err(|e| failed("reading", e))?;
    let key: [u8; 32] = bytes.try_into().map_err(|_| AuthError::Db {
        path: path.clone(),
        reason: "not a 32-byte key (remove it to make a new one)".into(),
    })?;
    Ok(Secret::new(key))
}

impl PasswordDb {
    /// What SCRAM answers a user the database does not know with: salts from this
    /// installation's key and the iteration count new secrets get.
    pub fn unknown_user_disguise(&self) -> sasl::UnknownUserDisguise {
        sasl::UnknownUserDisguise {
            key: Secret::new(*self.disguise_key.expose()),
            iterations: self.scram_iterations(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_private_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let path = dir.path().join(FILE_NAME);
        let mode = || std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(), 0o600);
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(first.expose(), again.expose());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        load_or_create(dir.path()).unwrap();
        assert_eq!(mode(), 0o600);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            load_or_create(other.path()).unwrap().expose(),
            first.expose()
        );
    }

    #[test]
    fn a_damaged_key_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, b"short").unwrap();
        assert!(load_or_create(dir.path()).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
    }
}
