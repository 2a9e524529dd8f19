//! crypt(3) hash strings as `/etc/shadow` (or an old-style `/etc/passwd`) holds them, verified
//! the way libxcrypt's `crypt()` would: yescrypt `$y$`, SHA-512-crypt `$6$`, SHA-256-crypt `$5$`
//! (optionally with `rounds=N`) and bcrypt `$2b$`, `$2y$`, `$2a$`. Every comparison of a computed
//! hash with the stored one is constant-time (done inside the RustCrypto and bcrypt crates).
//!
//! A stored string libxcrypt would never reproduce is refused, not "repaired": `crypt()`
//! answers `*0` for `rounds=` outside 1000..=999999999 and writes at most 16 salt characters,
//! so a stored hash with fewer rounds or a longer salt can never compare equal there either.
//! MD5-crypt `$1$`, DES crypt and bcrypt's `$2x$` (the 2011 sign-extension bug variant) are
//! refused as unsupported.

// Both crates implement password-hash 0.6's one `PasswordVerifier` trait.
use sha_crypt::{PasswordVerifier as _, ShaCrypt};
use yescrypt::Yescrypt;

use super::Refusal;

/// SHA-crypt's `rounds=` range (the SHA-crypt specification; libxcrypt refuses others).
const SHA_ROUNDS: std::ops::RangeInclusive<u32> = 1_000..=999_999_999;
/// SHA-crypt salts are at most 16 characters (longer ones are cut by `crypt()`).
const SHA_MAX_SALT: usize = 16;
/// The largest yescrypt working memory (N × r × 128 bytes) a stored hash may ask for: 1 GiB,
/// libxcrypt's highest cost setting. Debian's default (`$y$j9T$`) needs 16 MiB.
const YESCRYPT_MAX_MEMORY: u64 = 1 << 30;

/// Whether `password` matches the crypt(3) string `stored`; a string that can match nothing
/// (locked, empty, unsupported, malformed) is a refusal with its reason.
pub(crate) fn verify(stored: &str, password: &[u8]) -> Result<bool, Refusal> {
    if stored.is_empty() {
        return Err(Refusal::NoPassword);
    }
    // shadow(5): a field starting with `!` is locked (`passwd -l`); `*` (and `*LK*`, `!!`) never
    // matched any crypt output.
    if stored.starts_with('!') || stored.starts_with('*') {
        return Err(Refusal::Locked);
    }
    if let Some(rest) = stored.strip_prefix("$y$") {
        return verify_yescrypt(stored, rest, password);
    }
    if let Some(rest) = stored
        .strip_prefix("$6$")
        .or_else(|| stored.strip_prefix("$5$"))
    {
        return verify_sha_crypt(stored, rest, password);
    }
    for prefix in ["$2b$", "$2y$", "$2a$"] {
        if stored.starts_with(prefix) {
            return bcrypt::verify(password, stored)
                .map_err(|_| unusable("a malformed bcrypt hash"));
        }
    }
    Err(unusable(match stored {
        s if s.starts_with("$1$") => "MD5-crypt ($1$) is not supported",
        s if s.starts_with("$2x$") => "bcrypt $2x$ is not supported",
        s if s.starts_with('$') => "an unsupported crypt scheme",
        s if s.len() == 13 => "traditional DES crypt is not supported",
        _ => "not a crypt(3) hash",
    }))
}

fn unusable(reason: &str) -> Refusal {
    Refusal::UnusableHash(reason.to_string())
}

/// `$5$[rounds=N$]salt$hash` and `$6$…`.
fn verify_sha_crypt(stored: &str, rest: &str, password: &[u8]) -> Result<bool, Refusal> {
    let fields: Vec<&str> = rest.split('$').collect();
    let (rounds, salt) = match fields.as_slice() {
        [rounds, salt, _hash] => (Some(*rounds), *salt),
        [salt, _hash] => (None, *salt),
        _ => return Err(unusable("a malformed SHA-crypt hash")),
    };
    if let Some(rounds) = rounds {
        let n = rounds
            .strip_prefix("rounds=")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or_else(|| unusable("a malformed SHA-crypt rounds= field"))?;
        if !SHA_ROUNDS.contains(&n) {
            return Err(unusable("SHA-crypt rounds= outside 1000..=999999999"));
        }
    }
    if salt.is_empty() || salt.len() > SHA_MAX_SALT || salt.starts_with("rounds=") {
        return Err(unusable("a malformed SHA-crypt salt"));
    }
    match ShaCrypt::default().verify_password(password, stored) {
        Ok(()) => Ok(true),
        Err(sha_crypt::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(_) => Err(unusable("a malformed SHA-crypt hash")),
    }
}

/// `$y$params$salt$hash`.
fn verify_yescrypt(stored: &str, rest: &str, password: &[u8]) -> Result<bool, Refusal> {
    let params = rest
        .split('$')
        .next()
        .and_then(|p| p.parse::<yescrypt::Params>().ok())
        .ok_or_else(|| unusable("malformed yescrypt parameters"))?;
    let memory = params
        .n()
        .checked_mul(u64::from(params.r()))
        .and_then(|m| m.checked_mul(128));
    if memory.is_none_or(|m| m > YESCRYPT_MAX_MEMORY) || params.p() > 1 {
        return Err(unusable(
            "yescrypt parameters beyond this server's bound (1 GiB, p = 1)",
        ));
    }
    match Yescrypt::default().verify_password(password, stored) {
        Ok(()) => Ok(true),
        Err(yescrypt::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(_) => Err(unusable("a malformed yescrypt hash")),
    }
}

/// A yescrypt hash at Debian's default cost (`mkpasswd -m yescrypt`, of a random password
/// nobody kept), checked when there is nothing to check, so that an unknown or locked user is
/// not answered measurably faster than a wrong password at the usual cost.
const DECOY: &str = "$y$j9T$5s3.16dVA24xGptsdH4OL1$MZK59XZP/TR4i9fBvKlPgs2NLjMBHKpZy8WVMPFd/1.";

/// Spends about one default-cost check's time and memory on `password`, with no outcome.
pub(crate) fn spend_a_check(password: &[u8]) {
    let _ = Yescrypt::default().verify_password(password, DECOY);
}
