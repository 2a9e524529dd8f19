//! OAuth 2.0 bearer tokens for OAUTHBEARER and XOAUTH2: JWT access tokens (RFC 9068, RFC 7519)
//! verified offline against the issuer's public keys in a JWKS file (`oauth_jwks_file`).
//!
//! A token is accepted when it is a JWS (RFC 7515) signed with RS256/384/512, PS256/384/512,
//! ES256, ES384 or EdDSA (Ed25519) by a key of the set — the one its `kid` names, or the set's
//! only key when it names none — and its claims hold: `exp` (required) not past, `nbf` and `iat`
//! not in the future, each with [`LEEWAY_SECONDS`] of clock leeway; `iss` equal to
//! `oauth_issuer` and `aud` (a string or an array) holding `oauth_audience`, each when set. The
//! user is the claim `oauth_username_claim` (default `email`, as Dovecot's `username_attribute`),
//! taken as it is: no mapping of an address to its local part, so the claim must hold the
//! Darius user name. `alg: none` and the HMAC algorithms are refused (a key set is public).
//!
//! The JWKS file is read at start (a bad file stops start-up) and read again when it changes
//! (its size, modification time or inode), at most [`MAX_JWKS_BYTES`]. A change that makes it
//! bad makes every token fail as "unavailable" until it is fixed, rather than keep keys the
//! administrator meant to remove.
//!
//! Must not: fetch anything over the network (no discovery, no introspection) or keep tokens.

mod jwks;
mod jwt;

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use sasl::{TokenCheck, TokenVerifier, Unavailable};

use jwks::Keys;

/// The largest JWKS file read.
pub const MAX_JWKS_BYTES: u64 = 1024 * 1024;
/// The longest token checked (the SASL exchange bounds the response at 16 KiB).
pub const MAX_TOKEN_LEN: usize = sasl::MAX_TOKEN_RESPONSE_LEN;
/// How far the issuer's clock and ours may disagree.
pub const LEEWAY_SECONDS: i64 = 60;
/// The default username claim.
pub const DEFAULT_USERNAME_CLAIM: &str = "email";

/// The OAuth options of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OauthSettings {
    /// `oauth_jwks_file`; `None` (the option empty) turns OAuth off.
    pub jwks_file: Option<PathBuf>,
    /// `oauth_issuer`; empty means any issuer.
    pub issuer: String,
    /// `oauth_audience`; empty means any audience.
    pub audience: String,
    /// `oauth_username_claim`; empty means [`DEFAULT_USERNAME_CLAIM`].
    pub username_claim: String,
}

/// What the claims must satisfy.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub(crate) issuer: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) username_claim: String,
}

/// The JWKS file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("OAuth key set {}: {reason}", path.display())]
pub struct JwksError {
    pub path: PathBuf,
    pub reason: String,
}

/// Why a token was refused, for the log (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefused {
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("signature algorithm {0:?} refused")]
    Algorithm(String),
    #[error("no key of the set for this token")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
    #[error("expired")]
    Expired,
    #[error("not valid yet (nbf)")]
    NotYetValid,
    #[error("issued in the future (iat)")]
    IssuedInTheFuture,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    #[error("no usable user name in the username claim")]
    NoUsername,
}

/// Why a check gave no answer about the token.
#[derive(Debug)]
pub(crate) enum CheckError {
    Refused(TokenRefused),
    Unavailable(String),
}

/// Verifies bearer tokens against a JWKS file, reloading it when it changes.
#[derive(Debug)]
pub struct JwksVerifier {
    path: PathBuf,
    policy: Policy,
    loaded: Mutex<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    stamp: Stamp,
    /// The keys, or why the file as it is now cannot be used.
    keys: Result<Arc<Keys>, String>,
}

/// What tells a changed file: its inode, size, and modification and change times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(path: &Path) -> Result<Stamp, String> {
        let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
        Ok(Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        })
    }
}

impl JwksVerifier {
    /// The verifier the settings ask for: `Ok(None)` when `oauth_jwks_file` is empty (OAuth
    /// off), an error when the file cannot be read or holds no usable signature key.
    pub fn from_settings(settings: &OauthSettings) -> Result<Option<JwksVerifier>, JwksError> {
        let Some(path) = &settings.jwks_file else {
            return Ok(None);
        };
        let error = |reason: String| JwksError {
            path: path.clone(),
            reason,
        };
        let stamp = Stamp::of(path).map_err(error)?;
        let keys = load(path).map_err(error)?;
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let policy = Policy {
            issuer: non_empty(&settings.issuer),
            audience: non_empty(&settings.audience),
            username_claim: non_empty(&settings.username_claim)
                .unwrap_or_else(|| DEFAULT_USERNAME_CLAIM.to_string()),
        };
        Ok(Some(JwksVerifier {
            path: path.clone(),
            policy,
            loaded: Mutex::new(Loaded {
                stamp,
                keys: Ok(Arc::new(keys)),
            }),
        }))
    }

    /// The token's user, checked at `now`.
    pub(crate) fn check_at(&self, token: &str, now: SystemTime) -> Result<String, CheckError> {
        let keys = self.keys().map_err(CheckError::Unavailable)?;
        let now = match now.duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            Err(_) => 0,
        };
        jwt::verify(token, &keys, &self.policy, now).map_err(CheckError::Refused)
    }

    /// The current keys, read again first if the file changed.
    fn keys(&self) -> Result<Arc<Keys>, String> {
        let stamp =
            Stamp::of(&self.path).map_err(|e| format!("JWKS file {}: {e}", self.path.display()))?;
        // A panic elsewhere while holding the lock leaves `Loaded` whole: both fields are
        // replaced together below.
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if loaded.stamp != stamp {
            loaded.stamp = stamp;
            loaded.keys = load(&self.path).map(Arc::new);
            match &loaded.keys {
                Ok(_) => tracing::info!(path = %self.path.display(), "OAuth key set reloaded"),
                Err(why) => tracing::warn!(
                    path = %self.path.display(),
                    "OAuth key set unusable, every token refused until it is fixed: {why}"
                ),
            }
        }
        loaded
            .keys
            .clone()
            .map_err(|why| format!("JWKS file {}: {why}", self.path.display()))
    }
}

impl TokenVerifier for JwksVerifier {
    fn verify(&self, token: &str) -> Result<TokenCheck, Unavailable> {
        match self.check_at(token, SystemTime::now()) {
            Ok(username) => Ok(TokenCheck::Valid { username }),
            Err(CheckError::Refused(why)) => Ok(TokenCheck::Invalid {
                reason: why.to_string(),
            }),
            Err(CheckError::Unavailable(why)) => Err(Unavailable(why)),
        }
    }
}

/// Reads and parses the file, at most [`MAX_JWKS_BYTES`].
fn load(path: &Path) -> Result<Keys, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut json = Vec::new();
    file.take(MAX_JWKS_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| e.to_string())?;
    if json.len() as u64 > MAX_JWKS_BYTES {
        return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
    }
    Keys::parse(&json)
}

#[cfg(test)]
pub(crate) mod tests;
