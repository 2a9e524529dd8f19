//! The client side of PLAIN (RFC 4616) and SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802, RFC 7677),
//! for a server that logs in to another one (a Murder frontend to its backends) and for load
//! generators. I/O-free like the server side: messages in, messages out. No channel binding: the
//! gs2 header is `n,,` (or `n,a=AUTHZID,`), which a server offering the -PLUS mechanisms accepts
//! from a client that does not support binding.
//!
//! SCRAM in four calls: [`ScramClient::new`] (the client-first message), then
//! [`ScramClient::server_first`] with the server's challenge, which answers the salt and
//! iteration count; [`SaltedPassword::new`] computes PBKDF2 over them (the expensive part, which
//! a caller may keep for the next login with the same salt and count); [`ScramClient::client_final`]
//! makes the final message; [`ScramClient::server_final`] checks the server's `v=` signature,
//! which only a server holding the password's ServerKey can compute (RFC 5802 §1: mutual
//! authentication). [`ScramClient::respond`] does the middle two at once.
//!
//! Limits, since a server's messages are untrusted input: a message longer than
//! [`crate::MAX_RESPONSE_LEN`], a salt or nonce longer than [`crate::MAX_FIELD_LEN`] or an
//! iteration count above [`MAX_ITERATIONS`] fails the exchange. The names and password are used
//! as given (no SASLprep, as on the server side).

use std::num::NonZeroU32;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use subtle::ConstantTimeEq;
use types::Secret;

use crate::{
    ChannelBindingType, NonceSource, ScramHash, SystemNonces, MAX_FIELD_LEN, MAX_RESPONSE_LEN,
};

/// The largest PBKDF2 iteration count a client computes: a server asking for more would make
/// every login cost seconds of CPU.
pub const MAX_ITERATIONS: u32 = 1_000_000;

/// Why a client-side exchange cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// A name or password the client was given is empty, too long or contains NUL.
    #[error("invalid {0}: empty, longer than the field limit, or containing NUL")]
    InvalidField(&'static str),
    /// The server's message does not follow the SCRAM syntax.
    #[error("malformed server message: {0}")]
    Malformed(&'static str),
    /// The server's nonce does not start with the client's, or adds nothing to it.
    #[error("the server's nonce does not extend the client's")]
    NonceMismatch,
    /// The server asks for more PBKDF2 iterations than [`MAX_ITERATIONS`].
    #[error("the server asks for {0} iterations, more than {MAX_ITERATIONS}")]
    TooManyIterations(u64),
    /// The server sent a mandatory extension (`m=`) this client does not know.
    #[error("the server requires an extension this client does not support")]
    ExtensionNotSupported,
    /// The server ended the exchange with `e=`: the value it gave.
    #[error("the server refused: {0}")]
    ServerError(String),
    /// The server's `v=` signature is wrong: it does not hold this password's keys.
    #[error("the server's signature does not match: it does not know the password")]
    BadServerSignature,
    /// A salted password computed for another hash, salt or iteration count.
    #[error("the salted password is for other SCRAM parameters than the server's")]
    WrongSaltedPassword,
    /// A call out of the order of the exchange, or after it ended.
    #[error("step out of order")]
    OutOfOrder,
}

/// RFC 4616 PLAIN's message `[authzid] NUL authcid NUL passwd`, the initial response.
pub fn plain(
    authzid: Option<&str>,
    authcid: &str,
    password: &str,
) -> Result<Secret<Vec<u8>>, ClientError> {
    let authzid = authzid.unwrap_or("");
    check_field(authzid, "authorization identity", true)?;
    check_field(authcid, "user name", false)?;
    check_field(password, "password", false)?;
    let mut message = Vec::with_capacity(authzid.len() + authcid.len() + password.len() + 2);
    message.extend_from_slice(authzid.as_bytes());
    message.push(0);
    message.extend_from_slice(authcid.as_bytes());
    message.push(0);
    message.extend_from_slice(password.as_bytes());
    Ok(Secret::new(message))
}

fn check_field(value: &str, what: &'static str, may_be_empty: bool) -> Result<(), ClientError> {
    let bad = (value.is_empty() && !may_be_empty)
        || value.len() > MAX_FIELD_LEN
        || value.as_bytes().contains(&0);
    if bad {
        return Err(ClientError::InvalidField(what));
    }
    Ok(())
}

/// The salt and iteration count the server's first message named: with the hash and the
/// password they determine the [`SaltedPassword`], so a caller may key a cache with them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScramParameters {
    pub salt: Vec<u8>,
    pub iterations: NonZeroU32,
}

/// RFC 5802 §3 SaltedPassword = Hi(password, salt, i), with the parameters it was computed for.
#[derive(Clone)]
pub struct SaltedPassword {
    hash: ScramHash,
    parameters: ScramParameters,
    key: Secret<Vec<u8>>,
}

impl SaltedPassword {
    /// PBKDF2 of `password` over `parameters.iterations` rounds: as costly as the server made it.
    pub fn new(hash: ScramHash, password: &[u8], parameters: &ScramParameters) -> SaltedPassword {
        let key = hash.hi(password, &parameters.salt, parameters.iterations);
        SaltedPassword {
            hash,
            parameters: parameters.clone(),
            key: Secret::new(key),
        }
    }
}

impl std::fmt::Debug for SaltedPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaltedPassword")
            .field("hash", &self.hash)
            .field("iterations", &self.parameters.iterations)
            .finish_non_exhaustive()
    }
}

/// One client-side SCRAM exchange, without channel binding unless
/// [`ScramClient::with_channel_binding`] (the -PLUS mechanisms).
pub struct ScramClient {
    hash: ScramHash,
    gs2_header: String,
    /// The connection's channel binding data, sent in `c=` after the GS2 header.
    cbind_data: Vec<u8>,
    /// client-first-message-bare, the start of AuthMessage.
    bare: String,
    state: State,
}

enum State {
    /// The client-first message is out; waiting for the server's.
    ServerFirst,
    /// The server's first message, read and checked.
    ClientFinal {
        server_first: String,
        nonce: String,
        parameters: ScramParameters,
    },
    /// The final message is out; the server must answer with this signature.
    ServerFinal {
        signature: Vec<u8>,
    },
    Over,
}

impl ScramClient {
    /// An exchange as `authcid` (acting as `authzid`, if given) with a client nonce of 24
    /// random bytes from the system.
    pub fn new(
        hash: ScramHash,
        authcid: &str,
        authzid: Option<&str>,
    ) -> Result<ScramClient, ClientError> {
        ScramClient::with_nonce(hash, authcid, authzid, &SystemNonces.scram_nonce())
    }

    /// An exchange with a given client nonce (printable ASCII without `,`): for the RFC
    /// examples, or a caller with its own [`NonceSource`].
    pub fn with_nonce(
        hash: ScramHash,
        authcid: &str,
        authzid: Option<&str>,
        nonce: &str,
    ) -> Result<ScramClient, ClientError> {
        check_field(authcid, "user name", false)?;
        let authzid = authzid.filter(|a| !a.is_empty());
        if let Some(authzid) = authzid {
            check_field(authzid, "authorization identity", false)?;
        }
        if nonce.is_empty() || nonce.len() > MAX_FIELD_LEN || !nonce.chars().all(is_printable) {
            return Err(ClientError::InvalidField("client nonce"));
        }
        let gs2_header = match authzid {
            Some(a) => format!("n,a={},", saslname(a)),
            None => "n,,".to_string(),
        };
        Ok(ScramClient {
            hash,
            gs2_header,
            cbind_data: Vec::new(),
            bare: format!("n={},r={nonce}", saslname(authcid)),
            state: State::ServerFirst,
        })
    }

    /// Binds the exchange to the TLS connection (the -PLUS mechanisms, RFC 5802 §6): the GS2
    /// header names `kind` (`p=tls-exporter`, …) and `c=` carries `data`, which the caller
    /// computed from its TLS connection. Call before [`ScramClient::client_first`].
    pub fn with_channel_binding(mut self, kind: ChannelBindingType, data: Vec<u8>) -> ScramClient {
        if let Some(rest) = self.gs2_header.strip_prefix('n') {
            self.gs2_header = format!("p={}{rest}", kind.name());
        }
        self.cbind_data = data;
        self
    }

    /// The client-first message: the initial response (SASL-IR), or the answer to the
    /// server's empty challenge.
    pub fn client_first(&self) -> Vec<u8> {
        format!("{}{}", self.gs2_header, self.bare).into_bytes()
    }

    /// Reads the server-first message (RFC 5802 §7 `[reserved-mext ","] nonce "," salt ","
    /// iteration-count ["," extensions]`) and answers the parameters the password is salted with.
    pub fn server_first(&mut self, message: &[u8]) -> Result<&ScramParameters, ClientError> {
        if !matches!(self.state, State::ServerFirst) {
            return Err(self.fail(ClientError::OutOfOrder));
        }
        let parsed = self.parse_server_first(message);
        let (nonce, parameters) = match parsed {
            Ok(p) => p,
            Err(e) => return Err(self.fail(e)),
        };
        // Parsed from UTF-8 above.
        let server_first = String::from_utf8_lossy(message).into_owned();
        self.state = State::ClientFinal {
            server_first,
            nonce,
            parameters,
        };
        match &self.state {
            State::ClientFinal { parameters, .. } => Ok(parameters),
            _ => unreachable!("just set"),
        }
    }

    fn parse_server_first(&self, message: &[u8]) -> Result<(String, ScramParameters), ClientError> {
        if message.len() > MAX_RESPONSE_LEN {
            return Err(ClientError::Malformed("message too long"));
        }
        let text = std::str::from_utf8(message).map_err(|_| ClientError::Malformed("not UTF-8"))?;
        let mut attributes = text.split(',');
        let first = attributes.next().unwrap_or_default();
        if first.starts_with("m=") {
            return Err(ClientError::ExtensionNotSupported);
        }
        let nonce = first
            .strip_prefix("r=")
            .ok_or(ClientError::Malformed("no nonce"))?;
        let client_nonce = self.bare.rsplit_once(",r=").map_or("", |(_, n)| n);
        if nonce.len() > MAX_FIELD_LEN || !nonce.chars().all(is_printable) {
            return Err(ClientError::Malformed("nonce"));
        }
        if nonce.len() <= client_nonce.len() || !nonce.starts_with(client_nonce) {
            return Err(ClientError::NonceMismatch);
        }
        let salt = attributes
            .next()
            .and_then(|a| a.strip_prefix("s="))
            .ok_or(ClientError::Malformed("no salt"))?;
        if salt.len() > MAX_FIELD_LEN {
            return Err(ClientError::Malformed("salt too long"));
        }
        let salt = BASE64
            .decode(salt)
            .map_err(|_| ClientError::Malformed("salt is not base64"))?;
        let count = attributes
            .next()
            .and_then(|a| a.strip_prefix("i="))
            .ok_or(ClientError::Malformed("no iteration count"))?;
        // RFC 5802 §7 `posit-number = %x31-39 *DIGIT`.
        if !count.starts_with(|c: char| ('1'..='9').contains(&c))
            || !count.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ClientError::Malformed("iteration count"));
        }
        let count: u64 = count.parse().unwrap_or(u64::MAX);
        let iterations = u32::try_from(count)
            .ok()
            .filter(|&n| n <= MAX_ITERATIONS)
            .and_then(NonZeroU32::new)
            .ok_or(ClientError::TooManyIterations(count))?;
        // Later attributes are extensions, which a client may ignore.
        Ok((nonce.to_string(), ScramParameters { salt, iterations }))
    }

    /// The client-final message (RFC 5802 §7 `channel-binding "," nonce "," proof`) from the
    /// password salted with the server's parameters.
    pub fn client_final(&mut self, salted: &SaltedPassword) -> Result<Vec<u8>, ClientError> {
        let State::ClientFinal {
            server_first,
            nonce,
            parameters,
        } = std::mem::replace(&mut self.state, State::Over)
        else {
            return Err(ClientError::OutOfOrder);
        };
        if salted.hash != self.hash || salted.parameters != parameters {
            return Err(ClientError::WrongSaltedPassword);
        }
        let hash = self.hash;
        let mut cbind_input = self.gs2_header.clone().into_bytes();
        cbind_input.extend_from_slice(&self.cbind_data);
        let without_proof = format!("c={},r={nonce}", BASE64.encode(&cbind_input));
        let auth_message = format!("{},{server_first},{without_proof}", self.bare);
        let salted = salted.key.expose();
        let client_key = hash.hmac(salted, b"Client Key");
        let stored_key = hash.hash(&client_key);
        let client_signature = hash.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = hash.hmac(salted, b"Server Key");
        self.state = State::ServerFinal {
            signature: hash.hmac(&server_key, auth_message.as_bytes()),
        };
        Ok(format!("{without_proof},p={}", BASE64.encode(proof)).into_bytes())
    }

    /// [`ScramClient::server_first`], [`SaltedPassword::new`] and [`ScramClient::client_final`]
    /// in one: the server's first message in, the client's final message out.
    pub fn respond(
        &mut self,
        server_first: &[u8],
        password: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        let parameters = self.server_first(server_first)?.clone();
        let salted = SaltedPassword::new(self.hash, password, &parameters);
        self.client_final(&salted)
    }

    /// Checks the server-final message (RFC 5802 §7 `(server-error / verifier) ["," extensions]`):
    /// `Ok` only for the signature this password's keys give.
    pub fn server_final(&mut self, message: &[u8]) -> Result<(), ClientError> {
        let State::ServerFinal { signature } = std::mem::replace(&mut self.state, State::Over)
        else {
            return Err(ClientError::OutOfOrder);
        };
        if message.len() > MAX_RESPONSE_LEN {
            return Err(ClientError::Malformed("message too long"));
        }
        let text = std::str::from_utf8(message).map_err(|_| ClientError::Malformed("not UTF-8"))?;
        let first = text.split(',').next().unwrap_or_default();
        if let Some(error) = first.strip_prefix("e=") {
            return Err(ClientError::ServerError(error.to_string()));
        }
        let verifier = first
            .strip_prefix("v=")
            .ok_or(ClientError::Malformed("neither v= nor e="))?;
        let verifier = BASE64
            .decode(verifier)
            .map_err(|_| ClientError::Malformed("signature is not base64"))?;
        if bool::from(verifier.ct_eq(&signature)) {
            Ok(())
        } else {
            Err(ClientError::BadServerSignature)
        }
    }

    fn fail(&mut self, error: ClientError) -> ClientError {
        self.state = State::Over;
        error
    }
}

/// RFC 5802 §7 `saslname`: `,` is sent as `=2C` and `=` as `=3D`.
fn saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// RFC 5802 §7 `printable = %x21-2B / %x2D-7E`: visible ASCII except `,`.
fn is_printable(c: char) -> bool {
    c.is_ascii_graphic() && c != ','
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
