//! The password sources as the SASL mechanisms see them ([`sasl::Credentials`] on
//! [`PasswordDb`]): PLAIN and LOGIN check a password the way `LOGIN` does (every source of
//! `sasl_pwcheck_method` in order, the verified-credentials cache, a decoy hash for unknown
//! users, auto transition); SCRAM and CRAM-MD5 read the shared-secret forms of the password
//! database, whatever `sasl_pwcheck_method` says (as Cyrus's shared-secret mechanisms read its
//! auxprop database): a user known only to another source has none until auto transition or
//! `darius user passwd` stores them.
//!
//! The authentication identity is first put through the login identity rules
//! ([`crate::identity`]): one from a realm `loginrealms` does not allow, or with a malformed
//! domain, fails like a wrong password, and the canonical user id's credentials (with virtual
//! domains, `alice@EXAMPLE.ORG`'s are `alice`'s) are the ones checked.
//!
//! Every method blocks (hashing, a database read): `sasl_login.rs` runs the steps on the
//! hashing threads.

use types::Secret;

use crate::login::Protocol;
use crate::password_db::PasswordDb;
use crate::server_domain::ServerDomain;

impl PasswordDb {
    /// PLAIN and LOGIN's check for a login over `protocol` (which names the PAM service), on a
    /// connection whose server address gives `at`.
    pub(crate) fn verify_plain_for(
        &self,
        protocol: Protocol,
        at: &ServerDomain,
        authcid: &str,
        password: &Secret<String>,
    ) -> Result<bool, sasl::Unavailable> {
        let Some(user) = self.canonical(authcid, at) else {
            return Ok(false);
        };
        self.check_sources_for(protocol, &user, password)
            .map_err(|e| sasl::Unavailable(e.to_string()))
    }

    /// SCRAM's stored secrets of the user `authcid` stands for.
    pub(crate) fn scram_at(
        &self,
        at: &ServerDomain,
        authcid: &str,
        hash: sasl::ScramHash,
    ) -> Result<Option<sasl::ScramCredentials>, sasl::Unavailable> {
        let Some(user) = self.canonical(authcid, at) else {
            return Ok(None);
        };
        self.scram_secrets(&user, hash)
            .map_err(|e| sasl::Unavailable(e.to_string()))
    }

    /// CRAM-MD5's stored secret of the user `authcid` stands for.
    pub(crate) fn cram_secret_at(
        &self,
        at: &ServerDomain,
        authcid: &str,
    ) -> Result<Option<sasl::CramMd5Secret>, sasl::Unavailable> {
        let Some(user) = self.canonical(authcid, at) else {
            return Ok(None);
        };
        PasswordDb::cram_secret(self, &user).map_err(|e| sasl::Unavailable(e.to_string()))
    }

    /// The user id whose credentials an authentication identity proves, under the login
    /// identity rules; `None` (a failed authentication, like a wrong password) for an identity
    /// that may not log in (a realm not in `loginrealms`, a malformed domain).
    fn canonical(&self, authcid: &str, at: &ServerDomain) -> Option<String> {
        match self.login_identity().canonicalise_userid(authcid, at) {
            Ok(user) => Some(user),
            Err(refused) => {
                tracing::info!("authentication of {authcid:?} refused: {refused}");
                None
            }
        }
    }
}

/// The mechanisms' view without a connection: no domain from a server address.
impl sasl::Credentials for PasswordDb {
    fn verify_plain(
        &self,
        authcid: &str,
        password: &Secret<String>,
    ) -> Result<bool, sasl::Unavailable> {
        self.verify_plain_for(Protocol::Imap, &ServerDomain::NONE, authcid, password)
    }

    fn scram(
        &self,
        authcid: &str,
        hash: sasl::ScramHash,
    ) -> Result<Option<sasl::ScramCredentials>, sasl::Unavailable> {
        self.scram_at(&ServerDomain::NONE, authcid, hash)
    }

    fn cram_secret(&self, authcid: &str) -> Result<Option<sasl::CramMd5Secret>, sasl::Unavailable> {
        self.cram_secret_at(&ServerDomain::NONE, authcid)
    }
}
