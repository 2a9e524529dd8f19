//! Service layer: the password database, PAM, shadow files, identity mapping and groups.
//!
//! Owns: "who is this and is their secret right". Must not: know about mailboxes or protocols.
//!
//! Today this is the password database ([`PasswordDb`]), whose network logins
//! ([`PasswordDb::check_login`]) hash on their own bounded queue of threads and are throttled
//! per client host; [`shadow`] checks passwords against the system's `/etc/passwd` and
//! `/etc/shadow` (crypt(3) hashes); `pam` (cargo feature `pam`, off by default) asks the
//! system's PAM stack; [`oauth`] verifies OAuth bearer tokens (JWTs) for
//! OAUTHBEARER and XOAUTH2 against a JWKS file; [`sasldb`] reads a Cyrus SASL user database, for
//! moving a Cyrus site's users over. The database's records keep SCRAM and CRAM-MD5 secrets
//! beside the argon2id hash, and with `allowapop` the password itself for POP3's APOP
//! ([`SecretPolicy`], [`PasswordDb::check_apop`]); the sources answer the SASL mechanisms
//! ([`sasl::Credentials`] on [`PasswordDb`], whose exchanges [`sasl_login`] runs).
//! [`identity`] turns an authenticated identity into a login's user id (`loginrealms`,
//! `krb.equiv`, virtual domains), with [`server_domain`] giving a login without a domain the
//! one of the server address the client reached (`virtdomains: on`).

mod apop;
mod argon;
pub mod authz;
mod cache;
mod disguise;
mod events;
mod hash_queue;
pub mod identity;
mod login;
pub mod oauth;
#[cfg(feature = "pam")]
pub mod pam;
mod password_db;
mod penalty;
mod sasl_credentials;
pub mod sasl_login;
pub mod sasldb;
mod secrets;
pub mod server_domain;
pub mod shadow;
mod throttle;
mod user_store;
mod username;

pub use cache::{DEFAULT_TTL as DEFAULT_CACHE_TTL, NEGATIVE_TTL as NEGATIVE_CACHE_TTL};
pub use disguise::FILE_NAME as DISGUISE_KEY_FILE;
pub use events::{log_authentication, AuthOutcome};
pub use login::{LoginAttempt, LoginCheck, Protocol};
pub use password_db::{AuthError, PasswordDb, PasswordSource, FILE_NAME as PASSWORD_DB_FILE};
pub use penalty::LoginPenalty;
pub use secrets::{SecretPolicy, StoredForms, DEFAULT_SCRAM_ITERATIONS};
pub use throttle::{Admission, ThrottleConfig};
pub use user_store::EtcdUsers;
pub use username::{validate_username, UsernameError};
