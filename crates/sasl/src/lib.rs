//! Protocol layer: SASL (RFC 4422) server mechanisms as I/O-free state machines — PLAIN,
//! LOGIN, CRAM-MD5, SCRAM-SHA-1(-PLUS), SCRAM-SHA-256(-PLUS), ANONYMOUS, EXTERNAL, OAUTHBEARER
//! and XOAUTH2; and GSSAPI (Kerberos 5, RFC 4752) with the `gssapi` cargo feature, which calls
//! the system's GSS-API library (module `gssapi`: it reads the keytab and the replay cache).
//!
//! Owns: the exchange of challenges and responses and what they prove. Must not: perform I/O,
//! decode base64 of the protocol framing (the protocol layer does that, and `*` cancellation), or
//! look up credentials itself: a [`Credentials`] source (and, for the OAuth mechanisms, a
//! [`TokenVerifier`]) is handed in through [`Setup`].
//!
//! Shape of an exchange: [`Authenticator::new`] for a [`Mechanism`]; if the client sent an
//! initial response (SASL-IR, RFC 4959; `=` is an empty one), pass it to the first
//! [`Authenticator::step`]; otherwise call [`Authenticator::start`] for the server's opening
//! challenge (empty for client-first mechanisms). Every later response goes to `step`, which
//! answers a [`Step`]: another challenge, [`Step::Done`] with the identities, or
//! [`Step::Failed`]. A failure carries its reason for the log only; the client must be told one
//! generic failure whatever the reason (a missing user and a wrong password take the same path
//! through every mechanism, SCRAM answering with a salt derived from a server key).
//!
//! Limits: a response longer than [`Mechanism::max_response_len`] ([`MAX_RESPONSE_LEN`], or
//! [`MAX_TOKEN_RESPONSE_LEN`] for the OAuth mechanisms, whose tokens can be long, or
//! [`MAX_GSSAPI_TOKEN_LEN`] for GSSAPI's Kerberos tickets) or a field (user name, password,
//! authorization identity, trace, nonce) longer than [`MAX_FIELD_LEN`] fails the exchange; each
//! mechanism has a fixed number of steps, and a step after the end fails.
//!
//! `step` may block for as long as the credential source takes (PLAIN and LOGIN verify a
//! password hash; GSSAPI reads the keytab and the replay cache): servers run it on their hashing
//! threads, not on the async runtime.
//!
//! Not done here: SASLprep (RFC 4013) of SCRAM user names and passwords — like Cyrus, the bytes
//! are used as sent, so ASCII passwords behave as the RFC says and others are compared as UTF-8.
//! DIGEST-MD5 is historic (RFC 6331) and not implemented.

#![forbid(unsafe_code)]

mod anonymous;
pub mod client;
mod cram_md5;
mod credentials;
mod external;
mod field;
pub mod fuzzing;
mod gssapi;
mod login;
mod mechanism;
mod nonce;
mod oauth;
mod plain;
mod scram;

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

pub use cram_md5::{decode_hex_digest, CramMd5Secret};
pub use credentials::{Credentials, ScramCredentials, ScramHash, Unavailable};
pub use gssapi::{KerberosError, KerberosService, MAX_CONTEXT_ROUNDS, MAX_GSSAPI_TOKEN_LEN};
pub use mechanism::{Mechanism, UnknownMechanism};
pub use nonce::{NonceSource, SystemNonces};
pub use oauth::{TokenCheck, TokenVerifier, MAX_PAIRS as MAX_OAUTH_PAIRS};
pub use scram::{ChannelBinding, ChannelBindingType};
use types::Secret;

/// The salt length SCRAM secrets should be stored with ([`ScramCredentials::derive`]): the
/// length of the salt a user the source does not know is answered with.
pub const SCRAM_SALT_LEN: usize = 16;
/// The longest client response most mechanisms accept, in bytes (after base64 decoding);
/// [`Mechanism::max_response_len`] gives each mechanism's (OAuth tokens and Kerberos tickets
/// get more).
pub const MAX_RESPONSE_LEN: usize = 4096;
/// The longest client response OAUTHBEARER and XOAUTH2 accept: a JWT access token with its
/// claims and signature often passes 2 KiB.
pub const MAX_TOKEN_RESPONSE_LEN: usize = 16 * 1024;
/// The longest single field (user name, password, authorization identity, trace string, nonce).
/// RFC 4616 §2 requires at least 255 octets per field.
pub const MAX_FIELD_LEN: usize = 1024;

/// What one step of an exchange produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this challenge (raw bytes; the protocol layer encodes it) and wait for a response.
    Challenge(Vec<u8>),
    /// The client proved its identity.
    Done(Success),
    /// The exchange failed; tell the client one generic failure.
    Failed(Failure),
}

/// A successful exchange.
#[derive(Debug, PartialEq, Eq)]
pub struct Success {
    /// The authentication identity: whose credentials were proved (`anonymous` for ANONYMOUS,
    /// the caller's external identity for EXTERNAL, the Kerberos principal `name@REALM` as
    /// Kerberos reports it for GSSAPI, which the server maps to a login identity).
    pub authcid: String,
    /// The authorization identity the client asked to act as, if it named one (an empty one is
    /// `None`). Whether it may is the caller's decision (proxy logins).
    pub authzid: Option<String>,
    /// RFC 4422 §3.6 additional data with success (SCRAM's `v=` server signature). A protocol
    /// without that (IMAP, POP3) sends it as one more challenge and expects an empty response.
    pub additional_data: Option<Vec<u8>>,
    /// ANONYMOUS's trace string (RFC 4505), for the log only: never trusted as an identity.
    pub trace: Option<String>,
}

/// A failed exchange. [`Failure::reason`] is for the log; the client is told nothing more
/// than the protocol's generic failure, except [`Failure::additional_data`] where the protocol
/// carries it (SCRAM's `e=`, which never tells a missing user from a wrong password).
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    reason: FailureReason,
    additional_data: Option<Vec<u8>>,
}

/// Why an exchange failed, for the log. Never contains a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// The response does not follow the mechanism's syntax.
    Malformed(&'static str),
    /// A response or one of its fields is longer than the limits.
    TooLong,
    /// A field that must be UTF-8 is not.
    NotUtf8,
    /// Wrong password or proof (or, for PLAIN and LOGIN, a user the source does not know).
    WrongCredentials,
    /// The credential source has no such user (SCRAM, CRAM-MD5).
    UnknownUser,
    /// SCRAM: the client's channel binding data does not match this connection's.
    ChannelBindingMismatch,
    /// SCRAM: the client said `y` (it supports channel binding and thinks the server does not)
    /// while the server offers the -PLUS mechanisms: a downgrade (RFC 5802 §6).
    Downgrade,
    /// SCRAM: the client asked for a channel binding type this connection does not offer, or
    /// for none (or `p`) in the wrong mechanism.
    ChannelBindingRefused,
    /// SCRAM: a mandatory extension (`m=`) the server does not support.
    ExtensionNotSupported,
    /// The client sent an initial response to a mechanism that does not allow one (CRAM-MD5).
    UnexpectedInitialResponse,
    /// A step after the exchange ended, or `start` after the first step.
    ExchangeOver,
    /// OAUTHBEARER, XOAUTH2: the token verifier refused the token (its reason, for the log), or
    /// the client sent a scheme other than Bearer.
    InvalidToken(String),
    /// XOAUTH2: `user=` names someone other than the token's user.
    TokenUserMismatch,
    /// The credential source could not answer (database error, overloaded); answer
    /// `NO [UNAVAILABLE]` rather than a failed authentication.
    Unavailable(String),
    /// GSSAPI: the Kerberos library refused a token (bad or replayed ticket, a ticket for
    /// another service, a key the keytab lacks), with its message.
    Gssapi(String),
}

impl Failure {
    fn new(reason: FailureReason) -> Failure {
        Failure {
            reason,
            additional_data: None,
        }
    }

    fn with_data(reason: FailureReason, data: &str) -> Failure {
        Failure {
            reason,
            additional_data: Some(data.as_bytes().to_vec()),
        }
    }

    /// The credential source (or the server running the step) could not answer.
    pub fn unavailable(why: String) -> Failure {
        Failure::new(FailureReason::Unavailable(why))
    }

    /// Why the exchange failed, for the log.
    pub fn reason(&self) -> &FailureReason {
        &self.reason
    }

    /// RFC 4422 §3.6-style data the protocol may send with the failure (SCRAM's `e=`).
    pub fn additional_data(&self) -> Option<&[u8]> {
        self.additional_data.as_deref()
    }

    /// The credential source failed, not the client: answer "try later", not "wrong password".
    pub fn is_unavailable(&self) -> bool {
        matches!(self.reason, FailureReason::Unavailable(_))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reason.fmt(f)
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::Malformed(what) => write!(f, "malformed response: {what}"),
            FailureReason::TooLong => f.write_str("response or field too long"),
            FailureReason::NotUtf8 => f.write_str("a field is not UTF-8"),
            FailureReason::WrongCredentials => f.write_str("wrong credentials"),
            FailureReason::UnknownUser => f.write_str("unknown user"),
            FailureReason::ChannelBindingMismatch => f.write_str("channel binding mismatch"),
            FailureReason::Downgrade => {
                f.write_str("client claims the server lacks channel binding (downgrade)")
            }
            FailureReason::ChannelBindingRefused => f.write_str("channel binding type refused"),
            FailureReason::ExtensionNotSupported => f.write_str("mandatory extension"),
            FailureReason::UnexpectedInitialResponse => f.write_str("initial response not allowed"),
            FailureReason::ExchangeOver => f.write_str("step after the end of the exchange"),
            FailureReason::InvalidToken(why) => write!(f, "token refused: {why}"),
            FailureReason::TokenUserMismatch => f.write_str("user= is not the token's user"),
            FailureReason::Unavailable(why) => write!(f, "credentials unavailable: {why}"),
            FailureReason::Gssapi(why) => write!(f, "GSSAPI: {why}"),
        }
    }
}

impl From<FailureReason> for Step {
    fn from(reason: FailureReason) -> Step {
        Step::Failed(Failure::new(reason))
    }
}

/// How SCRAM answers for a user the credential source does not know, so that the exchange looks
/// like a real user's: a salt of [`SCRAM_SALT_LEN`] bytes derived from `key` and the user name
/// (the same one every time) and `iterations`, which must be the count real users' secrets are
/// stored with. `key` must be secret and should be stable across restarts.
pub struct UnknownUserDisguise {
    pub key: Secret<[u8; 32]>,
    pub iterations: NonZeroU32,
}

/// Everything a mechanism may need from the connection and the server.
pub struct Setup {
    pub credentials: Arc<dyn Credentials>,
    /// This server's host name, for CRAM-MD5's challenge `<random.time@host>`.
    pub hostname: String,
    /// This connection's channel bindings, given only when the server offers the -PLUS
    /// mechanisms on it (empty otherwise: no TLS, or -PLUS not in the mechanism list).
    pub channel_bindings: Vec<ChannelBinding>,
    /// The identity established outside SASL (a verified TLS client certificate), for EXTERNAL.
    pub external_identity: Option<String>,
    pub unknown_user: UnknownUserDisguise,
    pub nonces: Box<dyn NonceSource>,
    /// Checks OAUTHBEARER and XOAUTH2 tokens; `None` where OAuth is not configured (those
    /// mechanisms then cannot start).
    pub token_verifier: Option<Arc<dyn TokenVerifier>>,
    /// The service principal's Kerberos credentials, for GSSAPI (`imap/HOST` for IMAP,
    /// `pop/…`, `sieve/…`, `lmtp/…`), acquired once by the server; `None` when GSSAPI is
    /// not offered.
    pub kerberos: Option<KerberosService>,
}

impl Setup {
    /// A setup with no channel bindings, no external identity, no token verifier and nonces
    /// from the system.
    pub fn new(
        credentials: Arc<dyn Credentials>,
        hostname: impl Into<String>,
        unknown_user: UnknownUserDisguise,
    ) -> Setup {
        Setup {
            credentials,
            hostname: hostname.into(),
            channel_bindings: Vec::new(),
            external_identity: None,
            unknown_user,
            nonces: Box::new(SystemNonces),
            token_verifier: None,
            kerberos: None,
        }
    }
}

/// Why a mechanism cannot run on this connection (it should not have been offered).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("{0} needs channel binding data, and this connection offers none")]
    NoChannelBinding(Mechanism),
    #[error("EXTERNAL needs an identity established outside SASL, and there is none")]
    NoExternalIdentity,
    #[error("{0} needs a token verifier (OAuth configuration), and there is none")]
    NoTokenVerifier(Mechanism),
    #[error("GSSAPI needs the service's Kerberos credentials, and there are none")]
    NoKerberosService,
}

enum Exchange {
    Plain(plain::Plain),
    Login(login::Login),
    CramMd5(cram_md5::CramMd5),
    Scram(Box<scram::Scram>),
    Anonymous(anonymous::Anonymous),
    External(external::External),
    OAuth(oauth::OAuth),
    #[cfg(feature = "gssapi")]
    Gssapi(Box<gssapi::Gssapi>),
}

/// One server-side SASL exchange.
pub struct Authenticator {
    exchange: Exchange,
    phase: Phase,
    max_response_len: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Fresh,
    Running,
    Over,
}

impl Authenticator {
    pub fn new(mechanism: Mechanism, setup: Setup) -> Result<Authenticator, SetupError> {
        let exchange = match mechanism {
            Mechanism::Plain => Exchange::Plain(plain::Plain::new(setup.credentials)),
            Mechanism::Login => Exchange::Login(login::Login::new(setup.credentials)),
            Mechanism::CramMd5 => Exchange::CramMd5(cram_md5::CramMd5::new(setup)),
            Mechanism::ScramSha1
            | Mechanism::ScramSha1Plus
            | Mechanism::ScramSha256
            | Mechanism::ScramSha256Plus => {
                Exchange::Scram(Box::new(scram::Scram::new(mechanism, setup)?))
            }
            Mechanism::Anonymous => Exchange::Anonymous(anonymous::Anonymous::new()),
            Mechanism::External => Exchange::External(external::External::new(
                setup
                    .external_identity
                    .ok_or(SetupError::NoExternalIdentity)?,
            )),
            Mechanism::OAuthBearer => Exchange::OAuth(oauth::OAuth::oauthbearer(
                setup
                    .token_verifier
                    .ok_or(SetupError::NoTokenVerifier(mechanism))?,
            )),
            Mechanism::XOAuth2 => Exchange::OAuth(oauth::OAuth::xoauth2(
                setup
                    .token_verifier
                    .ok_or(SetupError::NoTokenVerifier(mechanism))?,
            )),
            Mechanism::Gssapi => gssapi_exchange(setup.kerberos)?,
        };
        Ok(Authenticator {
            exchange,
            phase: Phase::Fresh,
            max_response_len: mechanism.max_response_len(),
        })
    }

    /// The server's opening challenge when the client sent no initial response.
    pub fn start(&mut self) -> Step {
        if self.phase != Phase::Fresh {
            return self.finish(FailureReason::ExchangeOver.into());
        }
        self.phase = Phase::Running;
        let step = match &mut self.exchange {
            Exchange::Plain(plain) => plain.start(),
            Exchange::Anonymous(_) | Exchange::External(_) => Step::Challenge(Vec::new()),
            // RFC 4752 §3.1: client-first; an empty challenge asks for the first token.
            #[cfg(feature = "gssapi")]
            Exchange::Gssapi(_) => Step::Challenge(Vec::new()),
            Exchange::Scram(scram) => scram.start(),
            Exchange::Login(login) => login.start(),
            Exchange::CramMd5(cram) => cram.start(),
            Exchange::OAuth(oauth) => oauth.start(),
        };
        self.finish(step)
    }

    /// The client's next response (the first call, if `start` was not called, is the initial
    /// response).
    pub fn step(&mut self, response: &[u8]) -> Step {
        if self.phase == Phase::Over {
            return FailureReason::ExchangeOver.into();
        }
        let initial = self.phase == Phase::Fresh;
        self.phase = Phase::Running;
        if response.len() > self.max_response_len {
            return self.finish(FailureReason::TooLong.into());
        }
        let step = match &mut self.exchange {
            Exchange::Plain(plain) => plain.step(response),
            Exchange::Login(login) => login.step(response),
            // RFC 2195 is server-first: a client cannot answer a challenge it has not seen.
            Exchange::CramMd5(_) if initial => FailureReason::UnexpectedInitialResponse.into(),
            Exchange::CramMd5(cram) => cram.step(response),
            Exchange::Scram(scram) => scram.step(response),
            Exchange::Anonymous(anonymous) => anonymous.step(response),
            Exchange::External(external) => external.step(response),
            Exchange::OAuth(oauth) => oauth.step(response),
            #[cfg(feature = "gssapi")]
            Exchange::Gssapi(gssapi) => gssapi.step(response),
        };
        self.finish(step)
    }

    fn finish(&mut self, step: Step) -> Step {
        if !matches!(step, Step::Challenge(_)) {
            self.phase = Phase::Over;
        }
        step
    }
}

/// GSSAPI's exchange, when this build has it and the server gave credentials.
fn gssapi_exchange(service: Option<KerberosService>) -> Result<Exchange, SetupError> {
    let service = service.ok_or(SetupError::NoKerberosService)?;
    #[cfg(feature = "gssapi")]
    {
        Ok(Exchange::Gssapi(Box::new(gssapi::Gssapi::new(&service))))
    }
    #[cfg(not(feature = "gssapi"))]
    {
        // Without the feature no KerberosService can be made (acquire answers NotBuilt).
        let _ = service;
        Err(SetupError::NoKerberosService)
    }
}

#[cfg(test)]
mod tests;
