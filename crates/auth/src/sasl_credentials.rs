//! The password sources as the SASL mechanisms see them ([`sasl::Credentials`] on
//! [`PasswordDb`]): PLAIN and LOGIN check a password the way `LOGIN` does (every source of
//! `sasl_pwcheck_method` in order, the verified-credentials cache, a decoy hash for unknown
//! users, auto transition); SCRAM and CRAM-MD5 read the shared-secret forms of the password
//! database, whatever `sasl_pwcheck_method` says (as Cyrus's shared-secret mechanisms read its
//! auxprop database): a user known only to another source has none until auto transition or
//! `darius user passwd` stores them.
//!
//! Every method blocks (hashing, a database read): `sasl_login.rs` runs the steps on the
//! hashing threads.

use types::Secret;

use crate::password_db::PasswordDb;

impl sasl::Credentials for PasswordDb {
    fn verify_plain(
        &self,
        authcid: &str,
        password: &Secret<String>,
    ) -> Result<bool, sasl::Unavailable> {
        self.check_sources(authcid, password)
            .map_err(|e| sasl::Unavailable(e.to_string()))
    }

    fn scram(
        &self,
        authcid: &str,
        hash: sasl::ScramHash,
    ) -> Result<Option<sasl::ScramCredentials>, sasl::Unavailable> {
        self.scram_secrets(authcid, hash)
            .map_err(|e| sasl::Unavailable(e.to_string()))
    }

    fn cram_secret(&self, authcid: &str) -> Result<Option<sasl::CramMd5Secret>, sasl::Unavailable> {
        PasswordDb::cram_secret(self, authcid).map_err(|e| sasl::Unavailable(e.to_string()))
    }
}
