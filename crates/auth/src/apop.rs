//! APOP (RFC 1939 §7): a POP3 client proves its password with `APOP name digest`, the digest
//! being the lower-case hex of MD5(timestamp || password), the timestamp the `<…>` the server's
//! greeting carried. The timestamp comes first, so no stored form but the password itself can
//! compute the digest: the password database keeps the password for APOP only with `allowapop`
//! ([`crate::SecretPolicy::apop`]), and the POP3 server offers APOP only when
//! [`PasswordDb::apop_enabled`] says it can work.
//!
//! Must not: know the POP3 dialogue (the greeting, the answers); the session asks here.

use std::sync::Arc;

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::login::{Hashed, LoginAttempt, LoginCheck};
use crate::password_db::{AuthError, PasswordDb, PasswordSource};
use crate::throttle::Admission;

/// The length of an MD5 digest.
const DIGEST_LEN: usize = 16;

impl PasswordDb {
    /// Whether APOP can work at all: `allowapop` is on, and the password database is where
    /// logins are checked (`auxprop` in `sasl_pwcheck_method`) or is filled from the other
    /// sources (`sasl_auto_transition`), as for SCRAM and CRAM-MD5. The POP3 server puts a
    /// timestamp in its greeting, and so offers APOP, only then.
    pub fn apop_enabled(&self) -> bool {
        self.policy.apop
            && (self.auto_transition
                || self
                    .sources
                    .iter()
                    .any(|s| matches!(s, PasswordSource::Auxprop)))
    }

    /// Checks a POP3 client's `APOP name digest` (`attempt` names the user) against the
    /// `timestamp` its greeting carried, as [`PasswordDb::check_login`] checks a password: the
    /// user checked is the canonical user id (a name the identity rules refuse counts as a
    /// failure without a check), a throttled host is refused without a check, the check runs
    /// on the hashing threads ([`LoginCheck::Busy`] when they stay full). An unknown user, a
    /// user whose record holds no password for APOP (stored before `allowapop` was on, or
    /// `allowapop` off), a malformed digest and a wrong one are all [`LoginCheck::Invalid`]
    /// and count against the client's host. The digest's case does not matter; it is compared
    /// in constant time.
    pub async fn check_apop(
        self: &Arc<Self>,
        attempt: LoginAttempt<'_>,
        timestamp: &str,
        digest_hex: &str,
    ) -> Result<LoginCheck, AuthError> {
        let Some(user) = self.canonical_login(&attempt, "APOP login") else {
            return Ok(LoginCheck::Invalid);
        };
        let peer = attempt.peer;
        if self.throttle.admit(peer) == Admission::Refused {
            return Ok(LoginCheck::Throttled);
        }
        let digest = sasl::decode_hex_digest(digest_hex);
        let timestamp = timestamp.as_bytes().to_vec();
        let db = Arc::clone(self);
        let checked_user = user.clone();
        let checked = self
            .on_hashing_threads(move || db.apop_matches(&checked_user, &timestamp, digest))
            .await?;
        let valid = match checked {
            Hashed::Done(valid) => valid?,
            Hashed::Busy => return Ok(LoginCheck::Busy),
            Hashed::Lost => return Err(self.err(format!("user {user}: the APOP check failed"))),
        };
        if valid {
            Ok(LoginCheck::Valid(user))
        } else {
            self.throttle.failed(peer);
            Ok(LoginCheck::Invalid)
        }
    }

    /// Whether `digest` is `user`'s APOP digest of `timestamp`. Blocking (reads the database):
    /// runs on the hashing threads. Without a stored password the digest of an empty one is
    /// computed and compared all the same, so the answer takes as long either way.
    fn apop_matches(
        &self,
        user: &str,
        timestamp: &[u8],
        digest: Option<[u8; DIGEST_LEN]>,
    ) -> Result<bool, AuthError> {
        let secret = if self.apop_enabled() {
            self.apop_secret(user)?
        } else {
            None
        };
        if secret.is_none() {
            tracing::info!(
                "APOP login of {user:?} refused: no password is stored for APOP (unknown user, \
                 or its password was set while allowapop was off)"
            );
        }
        let password = secret.as_ref().map_or(&[][..], |s| s.expose().as_slice());
        let expected = apop_digest(timestamp, password);
        let given = digest.unwrap_or([0; DIGEST_LEN]);
        let matches: bool = expected.ct_eq(&given).into();
        Ok(matches && secret.is_some() && digest.is_some())
    }
}

/// RFC 1939 §7: MD5 of the timestamp (angle brackets included) followed by the password.
pub(crate) fn apop_digest(timestamp: &[u8], password: &[u8]) -> [u8; DIGEST_LEN] {
    let mut md5 = Md5::new();
    md5.update(timestamp);
    md5.update(password);
    md5.finalize().into()
}

#[cfg(test)]
mod tests;
