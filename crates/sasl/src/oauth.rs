//! OAUTHBEARER (RFC 7628) and XOAUTH2 (Google's older format): the client sends an OAuth 2.0
//! bearer token (RFC 6750), which a [`TokenVerifier`] checks; the token's user is the
//! authentication identity.
//!
//! OAUTHBEARER's one message is `gs2-header kvsep *kvpair kvsep` (RFC 7628 §3.1), e.g.
//! `n,a=user@example.com,^Ahost=server.example.com^Aport=143^Aauth=Bearer TOKEN^A^A` with `^A`
//! for the byte 0x01. Channel binding is not supported: the GS2 flag is `n` or `y`, and `p=`
//! fails. An `a=` authorization identity different from the token's user is passed up as
//! [`crate::Success::authzid`]; whether that identity may act for the other is the server's
//! decision (proxy logins), as for every mechanism.
//!
//! XOAUTH2's one message is `user=NAME^Aauth=Bearer TOKEN^A^A`. As in Dovecot, `user=` must
//! name the token's user (compared without regard to ASCII case): a token issued to someone
//! else fails, it is not an authorization identity.
//!
//! When the token is refused, the server does not fail at once: it sends an error challenge
//! (RFC 7628 §3.2.2: `{"status":"invalid_token",…}`; XOAUTH2: `{"status":"401",…}`), the client
//! answers it (OAUTHBEARER with a single 0x01, §3.2.3; XOAUTH2 with an empty response), and then
//! the exchange fails. A response that does not follow the syntax, or a verifier that cannot
//! answer, fails at once.
//!
//! Limits: a response at most [`crate::MAX_TOKEN_RESPONSE_LEN`] bytes (JWT access tokens can be
//! long), at most [`MAX_PAIRS`] key/value pairs, the user names at most
//! [`crate::MAX_FIELD_LEN`] bytes. Values are taken as RFC 7628's `VCHAR / SP / HTAB / CR / LF`
//! and, leniently, any other non-control UTF-8 character (user names with non-ASCII letters).

use std::sync::Arc;

use crate::{field, FailureReason, Step, Success, Unavailable};

/// The most key/value pairs a message may carry (RFC 7628 defines `auth`, `host` and `port`).
pub const MAX_PAIRS: usize = 16;

/// RFC 7628 §3.1 `kvsep`.
const KVSEP: char = '\x01';

/// Checks bearer tokens for OAUTHBEARER and XOAUTH2. May block (reading a key file); servers
/// call it, through [`crate::Authenticator::step`], on their hashing threads.
pub trait TokenVerifier: Send + Sync {
    /// Whether `token` (the `b64token` of `auth=Bearer …`, as sent) is valid here, and whose.
    fn verify(&self, token: &str) -> Result<TokenCheck, Unavailable>;
}

/// What a [`TokenVerifier`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// The token is valid and was issued to `username`.
    Valid { username: String },
    /// The token is refused: expired, for another audience, a bad signature… `reason` is for
    /// the log and must not contain the token.
    Invalid { reason: String },
}

/// Which of the two formats.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    OAuthBearer,
    XOAuth2,
}

pub(crate) struct OAuth {
    format: Format,
    verifier: Arc<dyn TokenVerifier>,
    state: State,
}

enum State {
    /// Waiting for the client's message; `challenged`: the empty opening challenge was sent.
    Initial {
        challenged: bool,
    },
    /// The error challenge was sent; the exchange fails after the client's answer, with this.
    ErrorSent(FailureReason),
    Over,
}

/// The parts of the client's message the exchange uses.
struct Message<'a> {
    /// OAUTHBEARER's `a=`, or XOAUTH2's `user=`.
    user: Option<String>,
    token: &'a str,
}

impl OAuth {
    pub(crate) fn oauthbearer(verifier: Arc<dyn TokenVerifier>) -> OAuth {
        OAuth::new(Format::OAuthBearer, verifier)
    }

    pub(crate) fn xoauth2(verifier: Arc<dyn TokenVerifier>) -> OAuth {
        OAuth::new(Format::XOAuth2, verifier)
    }

    fn new(format: Format, verifier: Arc<dyn TokenVerifier>) -> OAuth {
        OAuth {
            format,
            verifier,
            state: State::Initial { challenged: false },
        }
    }

    /// Both formats are client-first: without an initial response the challenge is empty.
    pub(crate) fn start(&mut self) -> Step {
        self.state = State::Initial { challenged: true };
        Step::Challenge(Vec::new())
    }

    /// An empty initial response (`=`) is taken as none, as PLAIN does.
    pub(crate) fn step(&mut self, response: &[u8]) -> Step {
        match std::mem::replace(&mut self.state, State::Over) {
            State::Initial { challenged: false } if response.is_empty() => self.start(),
            State::Initial { .. } => match self.client_message(response) {
                Ok(step) => step,
                Err(reason) => reason.into(),
            },
            State::ErrorSent(reason) => {
                let acknowledged = match self.format {
                    // RFC 7628 §3.2.3: `client-resp = … / kvsep`.
                    Format::OAuthBearer => response == [KVSEP as u8],
                    Format::XOAuth2 => response.is_empty(),
                };
                if acknowledged {
                    reason.into()
                } else {
                    FailureReason::Malformed("the answer to the error challenge").into()
                }
            }
            State::Over => FailureReason::ExchangeOver.into(),
        }
    }

    fn client_message(&mut self, response: &[u8]) -> Result<Step, FailureReason> {
        let text = std::str::from_utf8(response).map_err(|_| FailureReason::NotUtf8)?;
        let message = match self.format {
            Format::OAuthBearer => parse_oauthbearer(text)?,
            Format::XOAuth2 => parse_xoauth2(text)?,
        };
        let Some(token) = bearer_token(message.token) else {
            // Another scheme (RFC 7628 §4.2's MAC), or no token: say which scheme we take.
            return Ok(self.refuse(FailureReason::InvalidToken(
                "not a Bearer token".to_string(),
            )));
        };
        let username = match self.verifier.verify(token) {
            Err(e) => return Err(FailureReason::Unavailable(e.0)),
            Ok(TokenCheck::Invalid { reason }) => {
                return Ok(self.refuse(FailureReason::InvalidToken(reason)))
            }
            Ok(TokenCheck::Valid { username }) => username,
        };
        if username.is_empty() || field::text(username.as_bytes()).is_err() {
            let why = "the token's user name is empty, too long or has a NUL".to_string();
            return Err(FailureReason::Unavailable(why));
        }
        let same_user = |user: &String| user.eq_ignore_ascii_case(&username);
        let authzid = match (self.format, message.user) {
            (Format::OAuthBearer, user) => user.filter(|user| !same_user(user)),
            (Format::XOAuth2, Some(user)) if same_user(&user) => None,
            (Format::XOAuth2, _) => return Ok(self.refuse(FailureReason::TokenUserMismatch)),
        };
        Ok(Step::Done(Success {
            authcid: username,
            authzid,
            additional_data: None,
            trace: None,
        }))
    }

    /// Sends the error challenge; the exchange fails with `reason` after the client's answer.
    fn refuse(&mut self, reason: FailureReason) -> Step {
        self.state = State::ErrorSent(reason);
        let error: &[u8] = match self.format {
            // RFC 7628 §3.2.2: `status` is required; `schemes` names the ones we take.
            Format::OAuthBearer => br#"{"status":"invalid_token","schemes":"bearer"}"#,
            Format::XOAuth2 => br#"{"status":"401","schemes":"bearer"}"#,
        };
        Step::Challenge(error.to_vec())
    }
}

/// RFC 7628 §3.1 `client-resp = gs2-header kvsep *kvpair kvsep`.
fn parse_oauthbearer(text: &str) -> Result<Message<'_>, FailureReason> {
    let (gs2_header, rest) = text.split_once(KVSEP).ok_or(FailureReason::Malformed(
        "OAUTHBEARER needs a GS2 header and kvsep",
    ))?;
    let authzid = gs2_authzid(gs2_header)?;
    let pairs = kvpairs(rest)?;
    let token = single(&pairs, "auth").ok_or(FailureReason::Malformed("no auth= pair"))?;
    // RFC 7628 §3.1: `port = 1*DIGIT`; `host` (the name the client connected to) is not checked.
    if let Some(port) = single(&pairs, "port") {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FailureReason::Malformed("port= is not a number"));
        }
    }
    Ok(Message {
        user: authzid,
        token,
    })
}

/// Google's XOAUTH2: `user=NAME^Aauth=Bearer TOKEN^A^A`.
fn parse_xoauth2(text: &str) -> Result<Message<'_>, FailureReason> {
    let pairs = kvpairs(text)?;
    let user = single(&pairs, "user").ok_or(FailureReason::Malformed("no user= pair"))?;
    let user = field::non_empty_text(user.as_bytes(), "empty user=")?;
    let token = single(&pairs, "auth").ok_or(FailureReason::Malformed("no auth= pair"))?;
    Ok(Message {
        user: Some(user.to_string()),
        token,
    })
}

/// RFC 5801 §4 `gs2-header = [gs2-nonstd-flag ","] gs2-cb-flag "," [gs2-authzid] ","`, with
/// the channel binding flags RFC 7628 allows a server without channel binding: `n` and `y`.
fn gs2_authzid(header: &str) -> Result<Option<String>, FailureReason> {
    let malformed = FailureReason::Malformed("GS2 header");
    let header = header.strip_suffix(',').ok_or(malformed.clone())?;
    // The non-standard-token flag `F` concerns GSS-API mechanisms only; it changes nothing here.
    let header = header.strip_prefix("F,").unwrap_or(header);
    let (flag, authzid) = header.split_once(',').ok_or(malformed.clone())?;
    match flag {
        "n" | "y" => {}
        flag if flag.starts_with("p=") => return Err(FailureReason::ChannelBindingRefused),
        _ => return Err(malformed),
    }
    match authzid {
        "" => Ok(None),
        authzid => {
            let name = authzid.strip_prefix("a=").ok_or(malformed)?;
            field::saslname(name).map(Some)
        }
    }
}

/// `*kvpair kvsep` where `kvpair = key "=" value kvsep`, `key = 1*ALPHA`.
fn kvpairs(text: &str) -> Result<Vec<(&str, &str)>, FailureReason> {
    let malformed = |what| FailureReason::Malformed(what);
    let body = text
        .strip_suffix(KVSEP)
        .ok_or(malformed("the message does not end with kvsep"))?;
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let body = body
        .strip_suffix(KVSEP)
        .ok_or(malformed("a key/value pair does not end with kvsep"))?;
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for pair in body.split(KVSEP) {
        if pairs.len() == MAX_PAIRS {
            return Err(FailureReason::TooLong);
        }
        let (key, value) = pair
            .split_once('=')
            .ok_or(malformed("a pair without '='"))?;
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(malformed("a key that is not 1*ALPHA"));
        }
        if !value.chars().all(is_value_char) {
            return Err(malformed("a control character in a value"));
        }
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(malformed("a key given twice"));
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// RFC 7628 §3.1 `value = *(VCHAR / SP / HTAB / CR / LF)`, and non-ASCII UTF-8.
fn is_value_char(c: char) -> bool {
    matches!(c, '\t' | '\r' | '\n') || !c.is_control()
}

/// The value of `key`, if present (keys are case-sensitive; unknown ones are ignored; a key
/// given twice was refused by [`kvpairs`]).
fn single<'a>(pairs: &[(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// RFC 6750 §2.1 `credentials = "Bearer" 1*SP b64token`, the scheme name without regard to
/// case (RFC 7235 §2.1); `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" )
/// *"="`.
fn bearer_token(auth: &str) -> Option<&str> {
    let (scheme, token) = auth.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return None;
    }
    let token = token.trim_start_matches(' ');
    let body = token.trim_end_matches('=');
    let b64 = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
    (!body.is_empty() && body.bytes().all(b64)).then_some(token)
}
