//! What a mechanism asks of the server's password sources, and SCRAM's stored secrets.

use std::num::NonZeroU32;

use hmac::{Mac, SimpleHmac};
use rand::RngCore;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use types::Secret;

/// The credential source could not answer (its reason goes to the log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// The server's password sources, as the mechanisms need them. A user the source does not know
/// answers `Ok(false)` or `Ok(None)`, exactly as a wrong password would, and the mechanisms make
/// the two indistinguishable to the client; `verify_plain` should take as long for a missing
/// user as for a wrong password (verify against a decoy hash). Methods may block (hashing, a
/// database read).
pub trait Credentials: Send + Sync {
    /// Is `password` the password of `authcid`? (PLAIN, LOGIN.)
    fn verify_plain(&self, authcid: &str, password: &Secret<String>) -> Result<bool, Unavailable>;

    /// The stored SCRAM secrets of `authcid` for `hash`, if the source keeps them.
    fn scram(
        &self,
        authcid: &str,
        hash: ScramHash,
    ) -> Result<Option<ScramCredentials>, Unavailable> {
        let _ = (authcid, hash);
        Ok(None)
    }

    /// The stored CRAM-MD5 secret of `authcid` (the HMAC-MD5 states of the password, see
    /// [`crate::CramMd5Secret`]), if the source keeps one.
    fn cram_secret(&self, authcid: &str) -> Result<Option<crate::CramMd5Secret>, Unavailable> {
        let _ = authcid;
        Ok(None)
    }
}

/// SCRAM's hash function (RFC 5802: SHA-1; RFC 7677: SHA-256).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    Sha1,
    Sha256,
}

impl ScramHash {
    /// The length of the hash's output, and so of every SCRAM key and proof.
    pub fn output_len(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
        }
    }

    /// RFC 5802 §2.2 H().
    pub(crate) fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    /// RFC 5802 §2.2 HMAC(key, str).
    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => hmac_with::<Sha1>(key, data),
            ScramHash::Sha256 => hmac_with::<Sha256>(key, data),
        }
    }

    /// RFC 5802 §2.2 Hi(str, salt, i): PBKDF2 with HMAC as the PRF and one output block.
    pub(crate) fn hi(self, password: &[u8], salt: &[u8], iterations: NonZeroU32) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => hi_with::<Sha1>(password, salt, iterations),
            ScramHash::Sha256 => hi_with::<Sha256>(password, salt, iterations),
        }
    }
}

fn hmac_with<D>(key: &[u8], data: &[u8]) -> Vec<u8>
where
    D: Digest + hmac::digest::core_api::BlockSizeUser,
{
    // `SimpleHmac` takes a key of any length, so `new_from_slice` cannot fail.
    let mut mac = match SimpleHmac::<D>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hi_with<D>(password: &[u8], salt: &[u8], iterations: NonZeroU32) -> Vec<u8>
where
    D: Digest + hmac::digest::core_api::BlockSizeUser + Clone,
{
    let keyed = match SimpleHmac::<D>::new_from_slice(password) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    let mut first = keyed.clone();
    first.update(salt);
    first.update(&1u32.to_be_bytes());
    let mut u = first.finalize().into_bytes().to_vec();
    let mut result = u.clone();
    for _ in 1..iterations.get() {
        let mut next = keyed.clone();
        next.update(&u);
        u = next.finalize().into_bytes().to_vec();
        result.iter_mut().zip(&u).for_each(|(r, x)| *r ^= x);
    }
    result
}

/// What a server stores for SCRAM instead of the password (RFC 5802 §3): the salt, the
/// iteration count, StoredKey = H(HMAC(SaltedPassword, "Client Key")) and
/// ServerKey = HMAC(SaltedPassword, "Server Key").
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredentials {
    pub hash: ScramHash,
    pub salt: Vec<u8>,
    pub iterations: NonZeroU32,
    pub stored_key: Secret<Vec<u8>>,
    pub server_key: Secret<Vec<u8>>,
}

impl ScramCredentials {
    /// New stored secrets for a password (when a password is set, or at the next plaintext
    /// login): a fresh random salt of [`crate::SCRAM_SALT_LEN`] bytes.
    pub fn generate(password: &[u8], iterations: NonZeroU32, hash: ScramHash) -> ScramCredentials {
        let mut salt = [0u8; crate::SCRAM_SALT_LEN];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        ScramCredentials::derive(password, &salt, iterations, hash)
    }

    /// The stored secrets for a password and a given salt (RFC 5802 §3). The password is used
    /// as given (no SASLprep; see the crate doc).
    pub fn derive(
        password: &[u8],
        salt: &[u8],
        iterations: NonZeroU32,
        hash: ScramHash,
    ) -> ScramCredentials {
        let salted = hash.hi(password, salt, iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        ScramCredentials {
            hash,
            salt: salt.to_vec(),
            iterations,
            stored_key: Secret::new(hash.hash(&client_key)),
            server_key: Secret::new(hash.hmac(&salted, b"Server Key")),
        }
    }
}

impl std::fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredentials")
            .field("hash", &self.hash)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hi_with_one_iteration_is_hmac_of_salt_and_block_one() {
        // RFC 5802 §2.2: U1 = HMAC(str, salt + INT(1)), and Hi = U1 when i = 1.
        let one = NonZeroU32::MIN;
        let expected = ScramHash::Sha256.hmac(b"pencil", b"salt\0\0\0\x01");
        assert_eq!(ScramHash::Sha256.hi(b"pencil", b"salt", one), expected);
    }

    #[test]
    fn hi_matches_the_pbkdf2_hmac_sha1_vector_of_rfc_6070() {
        // RFC 6070 test 2: P = "password", S = "salt", c = 2.
        let two = NonZeroU32::new(2).unwrap();
        let dk = ScramHash::Sha1.hi(b"password", b"salt", two);
        assert_eq!(hex(&dk), "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
    }

    #[test]
    fn generated_secrets_have_fresh_salts_of_the_stored_length() {
        let i = NonZeroU32::MIN;
        let a = ScramCredentials::generate(b"pw", i, ScramHash::Sha256);
        let b = ScramCredentials::generate(b"pw", i, ScramHash::Sha256);
        assert_eq!(a.salt.len(), crate::SCRAM_SALT_LEN);
        assert_ne!(a.salt, b.salt);
        assert_eq!(
            a,
            ScramCredentials::derive(b"pw", &a.salt, i, ScramHash::Sha256)
        );
    }

    #[test]
    fn debug_hides_the_keys() {
        let c = ScramCredentials::derive(b"pw", b"salt", NonZeroU32::MIN, ScramHash::Sha1);
        let shown = format!("{c:?}");
        assert!(!shown.contains("stored_key") && !shown.contains("salt"));
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
