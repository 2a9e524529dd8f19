//! The `shadow` password source: users and crypt(3) hashes from `/etc/passwd` and
//! `/etc/shadow`, for sites that want the system's accounts without PAM (Cyrus's
//! `saslauthd -a shadow`).
//!
//! Owns: finding a user's hash in those files, the shadow(5) ageing rules, and verifying
//! yescrypt, SHA-crypt and bcrypt hashes (`crypt.rs`). Must not: write either file, cache
//! anything (the login layer's credential cache does), or run on an async thread.
//!
//! Rules, in order: the user must have a passwd entry; when the shadow file has an entry for
//! them, its hash and ageing fields decide (as `getspnam` does for saslauthd); when it has none
//! and passwd's second field is not `x`, that field is the hash (the pre-shadow format), but
//! a malformed shadow line for the user refuses rather than falling back to passwd. A
//! locked (`!…`, `*…`), empty or unsupported hash never verifies, nor does an expired account,
//! a password past its maximum age, or one that must be changed first (last change `0`):
//! IMAP has no way to change it. Both files are read afresh for every check, so a `passwd`
//! run takes effect at once; reading is bounded (`files.rs`).
//!
//! [`ShadowFiles::verify`] is blocking and costs one crypt computation (tens of milliseconds
//! and 16 MiB for Debian's default yescrypt): callers run it on the password-hashing threads
//! (`hash_queue.rs`). A check that has nothing to compare (unknown user, locked account)
//! still spends a default-cost yescrypt computation, so that the answer's timing does not tell
//! a client which accounts exist. The shadow file is normally readable only by root and group
//! `shadow`: the server's user must be in that group.

mod crypt;
mod files;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use types::Secret;

pub use files::{Problem, MAX_FILE_BYTES, MAX_LINE_BYTES};
use files::{ShadowEntry, Which};

/// The longest password checked: SHA-crypt's cost grows with the password's length, and no
/// system password is this long. Longer ones are refused unchecked.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// How many skipped lines [`ShadowFiles::problems`] reports per file at most.
const MAX_PROBLEMS: usize = 100;

/// Where the passwd and shadow files are.
#[derive(Clone, Debug)]
pub struct ShadowFiles {
    passwd: PathBuf,
    shadow: PathBuf,
}

/// The outcome of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShadowCheck {
    Valid,
    /// Refused; the reason is for the log only, never for the client.
    Refused(Refusal),
}

/// Why a check was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no such user in the passwd file")]
    NoSuchUser,
    #[error("wrong password")]
    WrongPassword,
    #[error("password longer than {MAX_PASSWORD_BYTES} bytes")]
    PasswordTooLong,
    #[error("passwd says the hash is in the shadow file, which has no entry for the user")]
    NoShadowEntry,
    #[error("the shadow file's entry for the user is malformed (see the warning before)")]
    MalformedShadowEntry,
    #[error("the account is locked")]
    Locked,
    #[error("the account has no password")]
    NoPassword,
    #[error("the account expired")]
    AccountExpired,
    #[error("the password expired and the account is inactive")]
    PasswordInactive,
    #[error("the password must be changed before logging in")]
    MustChangePassword,
    #[error("the stored hash is unusable: {0}")]
    UnusableHash(String),
}

/// The files could not be read (a failure to log, not a refusal).
#[derive(Debug, thiserror::Error)]
pub enum ShadowError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is larger than {limit} bytes; not read")]
    TooLarge { path: PathBuf, limit: u64 },
}

impl ShadowFiles {
    /// The system's `/etc/passwd` and `/etc/shadow`.
    pub fn system() -> ShadowFiles {
        ShadowFiles::at("/etc/passwd", "/etc/shadow")
    }

    /// Files elsewhere (tests, a chroot).
    pub fn at(passwd: impl Into<PathBuf>, shadow: impl Into<PathBuf>) -> ShadowFiles {
        ShadowFiles {
            passwd: passwd.into(),
            shadow: shadow.into(),
        }
    }

    pub fn passwd_path(&self) -> &Path {
        &self.passwd
    }

    pub fn shadow_path(&self) -> &Path {
        &self.shadow
    }

    /// Checks `user`'s password. Blocking and CPU-heavy: run it on the hashing threads.
    pub fn verify(
        &self,
        user: &str,
        password: &Secret<String>,
    ) -> Result<ShadowCheck, ShadowError> {
        self.verify_on(user, password.expose().as_bytes(), today())
    }

    fn verify_on(
        &self,
        user: &str,
        password: &[u8],
        today: i64,
    ) -> Result<ShadowCheck, ShadowError> {
        match self.stored_hash_on(user, password, today)? {
            Ok(stored) => Ok(Self::check_hash(&stored, password)),
            Err(why) => Ok(ShadowCheck::Refused(why)),
        }
    }

    /// The hash `user`'s password is to be checked against, or why there is none (after a
    /// check's worth of work, so that the refusal takes as long as a check). The hash also
    /// keys the verified-credentials cache: a changed hash is a new password.
    pub(crate) fn stored_hash(
        &self,
        user: &str,
        password: &Secret<String>,
    ) -> Result<Result<String, Refusal>, ShadowError> {
        self.stored_hash_on(user, password.expose().as_bytes(), today())
    }

    fn stored_hash_on(
        &self,
        user: &str,
        password: &[u8],
        today: i64,
    ) -> Result<Result<String, Refusal>, ShadowError> {
        let refused = |why| {
            crypt::spend_a_check(password);
            Ok(Err(why))
        };
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(Err(Refusal::PasswordTooLong));
        }
        if !plausible_name(user) {
            return refused(Refusal::NoSuchUser);
        }
        let (passwd, problems) = files::find_passwd(&self.passwd, user)?;
        log_problems(&problems);
        let Some(passwd) = passwd else {
            return refused(Refusal::NoSuchUser);
        };
        let (shadow, problems) = files::find_shadow(&self.shadow, user)?;
        log_problems(&problems);
        if shadow.is_none() && !problems.is_empty() {
            // Fail closed: a broken shadow entry must not revive a hash left in passwd.
            return refused(Refusal::MalformedShadowEntry);
        }
        match shadow {
            Some(entry) => match ageing(&entry, today) {
                Ok(()) => Ok(Ok(entry.hash)),
                Err(why) => refused(why),
            },
            None if passwd.password == "x" => refused(Refusal::NoShadowEntry),
            None => Ok(Ok(passwd.password)),
        }
    }

    /// Checks `password` against a hash [`ShadowFiles::stored_hash`] gave. Blocking and
    /// CPU-heavy.
    pub(crate) fn check_hash(stored: &str, password: &[u8]) -> ShadowCheck {
        match crypt::verify(stored, password) {
            Ok(true) => ShadowCheck::Valid,
            Ok(false) => ShadowCheck::Refused(Refusal::WrongPassword),
            Err(why) => {
                crypt::spend_a_check(password);
                ShadowCheck::Refused(why)
            }
        }
    }

    /// Every line of either file that would be skipped, and why (at most 100 per file): for
    /// a configuration check, so that a broken entry is found before its user complains.
    pub fn problems(&self) -> Result<Vec<Problem>, ShadowError> {
        let mut all = files::problems(&self.passwd, Which::Passwd, MAX_PROBLEMS)?;
        match files::problems(&self.shadow, Which::Shadow, MAX_PROBLEMS) {
            Ok(more) => all.extend(more),
            Err(ShadowError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(all)
    }
}

/// A name that could be in the files at all (`:` and newlines separate fields and lines).
fn plausible_name(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= 256
        && !user.bytes().any(|b| matches!(b, b':' | b'\n' | b'\r' | 0))
}

fn log_problems(problems: &[Problem]) {
    for problem in problems {
        tracing::warn!(severity = "warning", "skipped a malformed line: {problem}");
    }
}

/// Days since 1970-01-01 (UTC), the unit of shadow(5)'s dates.
fn today() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs / 86_400).unwrap_or(i64::MAX)
}

/// shadow(5)'s ageing rules, in the order the shadow suite's `isexpired()` applies them: the
/// account's expiry date, a forced change (last change 0), the inactivity period after the
/// maximum age, then the maximum age itself (ignored when ≥ 10000 days, i.e. "never").
fn ageing(entry: &ShadowEntry, today: i64) -> Result<(), Refusal> {
    if entry.expire.is_some_and(|day| day > 0 && today >= day) {
        return Err(Refusal::AccountExpired);
    }
    let Some(last) = entry.last_change else {
        return Ok(());
    };
    if last == 0 {
        return Err(Refusal::MustChangePassword);
    }
    let Some(max) = entry.max_age else {
        return Ok(());
    };
    let inactive_from = entry
        .inactive
        .map(|inactive| last.saturating_add(max).saturating_add(inactive));
    if inactive_from.is_some_and(|day| today >= day) {
        return Err(Refusal::PasswordInactive);
    }
    if max < 10_000 && today >= last.saturating_add(max) {
        return Err(Refusal::MustChangePassword);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
