//! Service layer: the password database, PAM, shadow files, identity mapping and groups.
//!
//! Owns: "who is this and is their secret right". Must not: know about mailboxes or protocols.
//!
//! Today this is the password database ([`PasswordDb`]); the Authentication issue adds SCRAM and
//! CRAM-MD5 secrets to the same records, PAM, shadow files and identity mapping.

mod argon;
mod cache;
mod events;
mod password_db;
mod username;

pub use events::{log_authentication, AuthOutcome};
pub use password_db::{AuthError, PasswordDb};
pub use username::{validate_username, UsernameError};
