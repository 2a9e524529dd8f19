//! Exchanges against an in-memory credential source: the RFC examples byte for byte, and the
//! ways a response can be wrong.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use types::Secret;

use crate::*;

mod oauth;
mod others;
mod scram;

/// Users with a password, the SCRAM secrets derived from it with a chosen salt, and the
/// CRAM-MD5 secret of the password.
pub(crate) struct Users {
    users: HashMap<String, (String, Vec<u8>)>,
}

impl Users {
    pub(crate) fn with(users: &[(&str, &str, &[u8])]) -> Arc<Users> {
        let users = users
            .iter()
            .map(|(name, password, salt)| (name.to_string(), (password.to_string(), salt.to_vec())))
            .collect();
        Arc::new(Users { users })
    }
}

impl Credentials for Users {
    fn verify_plain(&self, authcid: &str, password: &Secret<String>) -> Result<bool, Unavailable> {
        Ok(self
            .users
            .get(authcid)
            .is_some_and(|(p, _)| p == password.expose()))
    }

    fn scram(
        &self,
        authcid: &str,
        hash: ScramHash,
    ) -> Result<Option<ScramCredentials>, Unavailable> {
        let iterations = NonZeroU32::new(4096).unwrap();
        Ok(self
            .users
            .get(authcid)
            .map(|(p, salt)| ScramCredentials::derive(p.as_bytes(), salt, iterations, hash)))
    }

    fn cram_secret(&self, authcid: &str) -> Result<Option<CramMd5Secret>, Unavailable> {
        Ok(self
            .users
            .get(authcid)
            .map(|(p, _)| CramMd5Secret::from_password(p.as_bytes())))
    }
}

/// A source that is down.
pub(super) struct Broken;

impl Credentials for Broken {
    fn verify_plain(&self, _: &str, _: &Secret<String>) -> Result<bool, Unavailable> {
        Err(Unavailable("database closed".into()))
    }
}

pub(super) struct FixedNonces {
    scram: &'static str,
    cram: &'static str,
}

impl NonceSource for FixedNonces {
    fn scram_nonce(&mut self) -> String {
        self.scram.to_string()
    }
    fn cram_id(&mut self) -> String {
        self.cram.to_string()
    }
}

pub(super) const RFC5802_SALT: &str = "QSXCR+Q6sek8bf92";
pub(super) const RFC7677_SALT: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";

pub(super) fn rfc_users() -> Arc<Users> {
    let salt = BASE64.decode(RFC5802_SALT).unwrap();
    Users::with(&[
        ("user", "pencil", &salt),
        ("tim", "tanstaaftanstaaf", b"x"),
        ("bob", "secret", b"bob-salt-16bytes"),
    ])
}

/// Credentials for the RFC 7677 example (same user and password, another salt).
pub(super) fn rfc7677_users() -> Arc<Users> {
    let salt = BASE64.decode(RFC7677_SALT).unwrap();
    Users::with(&[("user", "pencil", &salt)])
}

pub(super) fn setup(credentials: Arc<dyn Credentials>, scram_nonce: &'static str) -> Setup {
    let mut setup = Setup::new(
        credentials,
        "postoffice.reston.mci.net",
        UnknownUserDisguise {
            key: Secret::new([7u8; 32]),
            iterations: NonZeroU32::new(4096).unwrap(),
        },
    );
    setup.nonces = Box::new(FixedNonces {
        scram: scram_nonce,
        cram: "1896.697170952",
    });
    setup
}

pub(super) fn auth(mechanism: Mechanism, credentials: Arc<dyn Credentials>) -> Authenticator {
    Authenticator::new(mechanism, setup(credentials, "3rfcNHYJY1ZVvWVs7j")).unwrap()
}

pub(super) fn challenge(step: Step) -> Vec<u8> {
    match step {
        Step::Challenge(c) => c,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

pub(super) fn done(step: Step) -> Success {
    match step {
        Step::Done(s) => s,
        other => panic!("expected success, got {other:?}"),
    }
}

pub(super) fn failed(step: Step) -> Failure {
    match step {
        Step::Failed(f) => f,
        other => panic!("expected failure, got {other:?}"),
    }
}

// ---- the exchange as a whole ----

#[test]
fn a_step_after_the_end_fails() {
    let mut a = auth(Mechanism::Plain, rfc_users());
    done(a.step(b"\0bob\0secret"));
    assert_eq!(
        failed(a.step(b"\0bob\0secret")).reason(),
        &FailureReason::ExchangeOver
    );
    assert_eq!(failed(a.start()).reason(), &FailureReason::ExchangeOver);
    let mut a = auth(Mechanism::Login, rfc_users());
    challenge(a.step(b"bob"));
    assert_eq!(failed(a.start()).reason(), &FailureReason::ExchangeOver);
}

#[test]
pub(super) fn authenticator_can_move_to_a_hashing_thread() {
    fn send<T: Send>() {}
    send::<Authenticator>();
}

#[test]
fn plus_mechanisms_and_external_cannot_start_without_what_they_need() {
    let need = |m| Authenticator::new(m, setup(rfc_users(), "n")).err();
    assert_eq!(
        need(Mechanism::ScramSha1Plus),
        Some(SetupError::NoChannelBinding(Mechanism::ScramSha1Plus))
    );
    assert_eq!(
        need(Mechanism::ScramSha256Plus),
        Some(SetupError::NoChannelBinding(Mechanism::ScramSha256Plus))
    );
    assert_eq!(
        need(Mechanism::External),
        Some(SetupError::NoExternalIdentity)
    );
}

#[test]
fn failures_never_show_the_password() {
    let f = failed(auth(Mechanism::Plain, rfc_users()).step(b"\0bob\0hunter2"));
    assert!(!format!("{f:?} {}", f.reason()).contains("hunter2"));
}
