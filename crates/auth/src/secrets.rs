//! The shared-secret forms a password database record keeps beside its argon2id hash, so that
//! SCRAM and CRAM-MD5 logins work without the password: what is stored is decided by
//! [`SecretPolicy`] (from `sasl_scram_iteration_counter` and `sasl_mech_list`).
//!
//! - SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802 §3, RFC 7677): the salt, the iteration count,
//!   StoredKey and ServerKey. Always stored. They let whoever reads them impersonate the server
//!   to a SCRAM client, not log in (a client proof needs ClientKey).
//! - CRAM-MD5 (RFC 2195): the HMAC-MD5 key states ([`sasl::CramMd5Secret`]). Whoever reads them
//!   can log in with CRAM-MD5 as the user, so they are stored only when the administrator asks
//!   for the mechanism.
//! - APOP (RFC 1939 §7): the password itself. APOP's digest is MD5(timestamp || password) with
//!   the server's timestamp first, so nothing short of the password can compute it; it is
//!   stored only with `allowapop`, and whoever reads it has the password.
//!
//! In the record (JSON), binary values are base64 (RFC 4648, with padding).

use std::num::NonZeroU32;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sasl::{CramMd5Secret, ScramCredentials, ScramHash};
use serde::{Deserialize, Serialize};
use types::Secret;

/// Cyrus SASL's default (and RFC 7677 §4's minimum) SCRAM iteration count.
pub const DEFAULT_SCRAM_ITERATIONS: u32 = 4096;

/// Which shared-secret forms a new password is stored with, and which stored forms logins use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretPolicy {
    /// The iteration count of new SCRAM secrets (`sasl_scram_iteration_counter`).
    pub scram_iterations: NonZeroU32,
    /// Whether CRAM-MD5 secrets are stored (`sasl_mech_list` names CRAM-MD5).
    pub cram_md5: bool,
    /// Whether a recoverable copy of the password is stored for APOP, and APOP logins use it
    /// (`allowapop`). Off, a record's stored copy is ignored.
    pub apop: bool,
}

impl Default for SecretPolicy {
    fn default() -> SecretPolicy {
        SecretPolicy {
            scram_iterations: NonZeroU32::new(DEFAULT_SCRAM_ITERATIONS).unwrap_or(NonZeroU32::MIN),
            cram_md5: false,
            apop: false,
        }
    }
}

/// The forms a user's record holds, for `darius user show` and the tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredForms {
    /// The SCRAM-SHA-1 iteration count, when SCRAM-SHA-1 secrets are stored.
    pub scram_sha1: Option<u32>,
    /// The SCRAM-SHA-256 iteration count, when SCRAM-SHA-256 secrets are stored.
    pub scram_sha256: Option<u32>,
    pub cram_md5: bool,
    /// The password, recoverable, for APOP.
    pub apop: bool,
}

impl std::fmt::Display for StoredForms {
    /// `argon2id scram-sha-1(4096) scram-sha-256(4096) cram-md5 apop`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("argon2id")?;
        if let Some(i) = self.scram_sha1 {
            write!(f, " scram-sha-1({i})")?;
        }
        if let Some(i) = self.scram_sha256 {
            write!(f, " scram-sha-256({i})")?;
        }
        if self.cram_md5 {
            f.write_str(" cram-md5")?;
        }
        if self.apop {
            f.write_str(" apop")?;
        }
        Ok(())
    }
}

/// SCRAM secrets as the record stores them.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StoredScram {
    salt: String,
    iterations: u32,
    stored_key: String,
    server_key: String,
}

impl StoredScram {
    pub(crate) fn generate(password: &[u8], iterations: NonZeroU32, hash: ScramHash) -> Self {
        let c = ScramCredentials::generate(password, iterations, hash);
        StoredScram {
            salt: BASE64.encode(&c.salt),
            iterations: c.iterations.get(),
            stored_key: BASE64.encode(c.stored_key.expose()),
            server_key: BASE64.encode(c.server_key.expose()),
        }
    }

    pub(crate) fn iterations(&self) -> u32 {
        self.iterations
    }

    /// The secrets, or why the stored form is unusable.
    pub(crate) fn credentials(&self, hash: ScramHash) -> Result<ScramCredentials, String> {
        let decode = |what: &str, text: &str| {
            BASE64
                .decode(text)
                .map_err(|e| format!("SCRAM {what}: {e}"))
        };
        let salt = decode("salt", &self.salt)?;
        let stored_key = decode("StoredKey", &self.stored_key)?;
        let server_key = decode("ServerKey", &self.server_key)?;
        if stored_key.len() != hash.output_len() || server_key.len() != hash.output_len() {
            return Err(format!("SCRAM keys of the wrong length for {hash:?}"));
        }
        if salt.is_empty() {
            return Err("SCRAM salt is empty".into());
        }
        let iterations =
            NonZeroU32::new(self.iterations).ok_or("SCRAM iteration count is 0".to_string())?;
        Ok(ScramCredentials {
            hash,
            salt,
            iterations,
            stored_key: Secret::new(stored_key),
            server_key: Secret::new(server_key),
        })
    }
}

pub(crate) fn encode_cram(secret: &CramMd5Secret) -> String {
    BASE64.encode(secret.to_bytes().expose())
}

pub(crate) fn decode_cram(text: &str) -> Result<CramMd5Secret, String> {
    let bytes = BASE64
        .decode(text)
        .map_err(|e| format!("CRAM-MD5 secret: {e}"))?;
    let bytes: [u8; CramMd5Secret::LEN] = bytes
        .try_into()
        .map_err(|_| "CRAM-MD5 secret of the wrong length".to_string())?;
    Ok(CramMd5Secret::from_bytes(&bytes))
}

/// The password as the record keeps it for APOP: base64 of its UTF-8 bytes (an encoding, not a
/// protection).
pub(crate) fn encode_apop(password: &[u8]) -> String {
    BASE64.encode(password)
}

pub(crate) fn decode_apop(text: &str) -> Result<Secret<Vec<u8>>, String> {
    let bytes = BASE64
        .decode(text)
        .map_err(|e| format!("APOP secret: {e}"))?;
    if bytes.is_empty() {
        return Err("APOP secret is empty".into());
    }
    Ok(Secret::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_scram_reads_back_as_the_derived_secrets() {
        let i = NonZeroU32::new(4096).unwrap();
        for hash in [ScramHash::Sha1, ScramHash::Sha256] {
            let stored = StoredScram::generate(b"pencil", i, hash);
            let back = stored.credentials(hash).unwrap();
            assert_eq!(
                back,
                ScramCredentials::derive(b"pencil", &back.salt, i, hash)
            );
            assert_eq!(back.salt.len(), sasl::SCRAM_SALT_LEN);
            let other = match hash {
                ScramHash::Sha1 => ScramHash::Sha256,
                ScramHash::Sha256 => ScramHash::Sha1,
            };
            assert!(stored.credentials(other).is_err(), "keys of another length");
        }
    }

    #[test]
    fn cram_secrets_read_back_and_damaged_ones_are_refused() {
        let secret = CramMd5Secret::from_password(b"tanstaaftanstaaf");
        assert_eq!(decode_cram(&encode_cram(&secret)).unwrap(), secret);
        assert!(decode_cram("AAAA").is_err());
        assert!(decode_cram("not base64!").is_err());
    }

    #[test]
    fn apop_secrets_read_back_and_damaged_ones_are_refused() {
        let back = decode_apop(&encode_apop("tanstaaf".as_bytes())).unwrap();
        assert_eq!(back.expose().as_slice(), b"tanstaaf");
        assert!(
            decode_apop("").is_err(),
            "an empty password is never stored"
        );
        assert!(decode_apop("not base64!").is_err());
    }

    #[test]
    fn forms_are_listed_in_a_fixed_order() {
        let forms = StoredForms {
            scram_sha1: Some(4096),
            scram_sha256: Some(10000),
            cram_md5: true,
            apop: true,
        };
        assert_eq!(
            forms.to_string(),
            "argon2id scram-sha-1(4096) scram-sha-256(10000) cram-md5 apop"
        );
    }
}
