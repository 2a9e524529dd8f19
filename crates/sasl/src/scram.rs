//! SCRAM-SHA-1 and SCRAM-SHA-256, with and without channel binding (RFC 5802, RFC 7677).
//!
//! Client-first: `gs2-header client-first-message-bare`; the server answers
//! `r=nonce,s=salt,i=iterations`; client-final: `c=…,r=…,p=proof`; the server checks the proof
//! against StoredKey and succeeds with `v=ServerSignature` as additional data. A user the
//! source does not know gets a salt derived from [`crate::UnknownUserDisguise::key`] and the
//! name, the usual iteration count, and fails at the proof as a wrong password does.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::{
    field, Failure, FailureReason, Mechanism, ScramCredentials, ScramHash, Setup, SetupError, Step,
    Success,
};
use types::Secret;

/// A channel binding type (RFC 5056) a -PLUS mechanism can check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelBindingType {
    /// RFC 5929 §4: the hash of the server's certificate.
    TlsServerEndPoint,
    /// RFC 9266: keying material exported from TLS 1.3.
    TlsExporter,
}

impl ChannelBindingType {
    pub fn name(self) -> &'static str {
        match self {
            ChannelBindingType::TlsServerEndPoint => "tls-server-end-point",
            ChannelBindingType::TlsExporter => "tls-exporter",
        }
    }
}

/// One channel binding of the connection: its type and data, computed by the TLS layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelBinding {
    pub kind: ChannelBindingType,
    pub data: Vec<u8>,
}

pub(crate) struct Scram {
    hash: ScramHash,
    /// This is a -PLUS mechanism.
    plus: bool,
    setup: Setup,
    state: State,
}

enum State {
    ClientFirst,
    ClientFinal(Box<Pending>),
    Over,
}

/// What the server remembers between its first message and the client's final one.
struct Pending {
    authcid: String,
    authzid: Option<String>,
    /// The gs2 header exactly as sent, and the channel binding data it committed to.
    expected_cbind_input: Vec<u8>,
    nonce: String,
    /// client-first-message-bare "," server-first-message ",": the start of AuthMessage.
    auth_message_start: String,
    credentials: ScramCredentials,
    known_user: bool,
}

impl Scram {
    pub(crate) fn new(mechanism: Mechanism, setup: Setup) -> Result<Scram, SetupError> {
        let (hash, plus) = match mechanism {
            Mechanism::ScramSha1 => (ScramHash::Sha1, false),
            Mechanism::ScramSha1Plus => (ScramHash::Sha1, true),
            Mechanism::ScramSha256 => (ScramHash::Sha256, false),
            Mechanism::ScramSha256Plus => (ScramHash::Sha256, true),
            Mechanism::Plain
            | Mechanism::Login
            | Mechanism::CramMd5
            | Mechanism::Anonymous
            | Mechanism::External
            | Mechanism::OAuthBearer
            | Mechanism::XOAuth2
            | Mechanism::Gssapi => unreachable!("Authenticator::new sends only SCRAM here"),
        };
        if plus && setup.channel_bindings.is_empty() {
            return Err(SetupError::NoChannelBinding(mechanism));
        }
        Ok(Scram {
            hash,
            plus,
            setup,
            state: State::ClientFirst,
        })
    }

    /// SCRAM is client-first: without an initial response the server's challenge is empty.
    pub(crate) fn start(&mut self) -> Step {
        Step::Challenge(Vec::new())
    }

    pub(crate) fn step(&mut self, response: &[u8]) -> Step {
        match std::mem::replace(&mut self.state, State::Over) {
            State::ClientFirst => match self.client_first(response) {
                Ok((pending, server_first)) => {
                    self.state = State::ClientFinal(Box::new(pending));
                    Step::Challenge(server_first.into_bytes())
                }
                Err(failure) => Step::Failed(failure),
            },
            State::ClientFinal(pending) => match self.client_final(&pending, response) {
                Ok(success) => Step::Done(success),
                Err(failure) => Step::Failed(failure),
            },
            State::Over => FailureReason::ExchangeOver.into(),
        }
    }

    /// Answers the client's first message with the server-first message.
    fn client_first(&mut self, response: &[u8]) -> Result<(Pending, String), Failure> {
        let message = std::str::from_utf8(response).map_err(|_| invalid_encoding())?;
        let first = ClientFirst::parse(message)?;
        let cbind_data = self.check_cbind_flag(first.cbind_flag)?.to_vec();
        let (authcid, authzid, client_nonce, bare) =
            (first.authcid, first.authzid, first.client_nonce, first.bare);
        let credentials = self
            .setup
            .credentials
            .scram(&authcid, self.hash)
            .map_err(|e| Failure::new(FailureReason::Unavailable(e.0)))?
            .filter(|c| c.hash == self.hash);
        let known_user = credentials.is_some();
        let credentials = credentials.unwrap_or_else(|| self.disguise(&authcid));
        let server_nonce: String = self
            .setup
            .nonces
            .scram_nonce()
            .chars()
            .filter(|&c| is_printable(c))
            .collect();
        if server_nonce.is_empty() {
            // Without a server part the client alone would choose the nonce: replayable.
            let why = "the nonce source gave no SCRAM nonce".to_string();
            return Err(Failure::new(FailureReason::Unavailable(why)));
        }
        let nonce = format!("{client_nonce}{server_nonce}");
        let server_first = format!(
            "r={nonce},s={},i={}",
            BASE64.encode(&credentials.salt),
            credentials.iterations
        );
        let mut expected_cbind_input = first.gs2_header.as_bytes().to_vec();
        expected_cbind_input.extend_from_slice(&cbind_data);
        let pending = Pending {
            authcid,
            authzid,
            expected_cbind_input,
            nonce,
            auth_message_start: format!("{bare},{server_first},"),
            credentials,
            known_user,
        };
        Ok((pending, server_first))
    }

    /// RFC 5802 §6: `n` (client does not support channel binding), `y` (it does but thinks the
    /// server does not), `p=type` (it uses `type`). Answers the binding data `c=` must carry.
    fn check_cbind_flag(&self, flag: &str) -> Result<&[u8], Failure> {
        let offered = &self.setup.channel_bindings;
        match (flag, self.plus) {
            ("n", false) => Ok(&[]),
            ("y", false) if offered.is_empty() => Ok(&[]),
            // The server offers -PLUS: a client that supports channel binding and says it
            // thinks the server does not is being downgraded by someone in between.
            ("y", false) => Err(Failure::with_data(
                FailureReason::Downgrade,
                "e=server-does-support-channel-binding",
            )),
            ("n" | "y", true) => Err(Failure::with_data(
                FailureReason::ChannelBindingRefused,
                "e=channel-binding-not-supported",
            )),
            (flag, plus) => {
                let name = flag.strip_prefix("p=").ok_or_else(invalid_encoding)?;
                let binding = offered.iter().find(|b| b.kind.name() == name);
                match (binding, plus) {
                    (Some(binding), true) => Ok(&binding.data),
                    (None, true) => Err(Failure::with_data(
                        FailureReason::ChannelBindingRefused,
                        "e=unsupported-channel-binding-type",
                    )),
                    (_, false) => Err(Failure::with_data(
                        FailureReason::ChannelBindingRefused,
                        "e=channel-binding-not-supported",
                    )),
                }
            }
        }
    }

    /// RFC 5802 §7 `client-final-message = client-final-message-without-proof "," proof`.
    fn client_final(&self, pending: &Pending, response: &[u8]) -> Result<Success, Failure> {
        let message = std::str::from_utf8(response).map_err(|_| invalid_encoding())?;
        let (without_proof, proof) = message.rsplit_once(",p=").ok_or_else(invalid_encoding)?;
        let mut attributes = without_proof.split(',');
        let cbind_input = attributes
            .next()
            .and_then(|a| a.strip_prefix("c="))
            .and_then(|c| BASE64.decode(c).ok())
            .ok_or_else(invalid_encoding)?;
        let nonce = attributes
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .ok_or_else(invalid_encoding)?;
        let proof = BASE64.decode(proof).map_err(|_| invalid_encoding())?;
        if !bool::from(cbind_input.ct_eq(&pending.expected_cbind_input)) {
            return Err(Failure::with_data(
                FailureReason::ChannelBindingMismatch,
                "e=channel-bindings-dont-match",
            ));
        }
        if nonce != pending.nonce {
            return Err(Failure::with_data(
                FailureReason::Malformed("the nonce is not the server's"),
                "e=other-error",
            ));
        }
        let hash = self.hash;
        let auth_message = format!("{}{without_proof}", pending.auth_message_start);
        let stored_key = pending.credentials.stored_key.expose();
        let client_signature = hash.hmac(stored_key, auth_message.as_bytes());
        let proof_ok = proof.len() == hash.output_len() && {
            let client_key: Vec<u8> = proof
                .iter()
                .zip(&client_signature)
                .map(|(p, s)| p ^ s)
                .collect();
            bool::from(hash.hash(&client_key).ct_eq(stored_key))
        };
        match (pending.known_user, proof_ok) {
            (true, true) => {
                let server_key = pending.credentials.server_key.expose();
                let signature = hash.hmac(server_key, auth_message.as_bytes());
                Ok(Success {
                    authcid: pending.authcid.clone(),
                    authzid: pending.authzid.clone(),
                    additional_data: Some(format!("v={}", BASE64.encode(signature)).into_bytes()),
                    trace: None,
                })
            }
            (true, false) => Err(Failure::with_data(
                FailureReason::WrongCredentials,
                "e=invalid-proof",
            )),
            (false, _) => Err(Failure::with_data(
                FailureReason::UnknownUser,
                "e=invalid-proof",
            )),
        }
    }

    /// Credentials for a user the source does not know: the same salt every time for the same
    /// name, unpredictable without the server's key, and keys no password matches.
    fn disguise(&self, authcid: &str) -> ScramCredentials {
        let key = self.setup.unknown_user.key.expose();
        let label = |what: &str| format!("darius scram {what} {:?} {authcid}", self.hash);
        let derived = |what: &str| ScramHash::Sha256.hmac(key, label(what).as_bytes());
        let mut salt = derived("salt");
        salt.truncate(crate::SCRAM_SALT_LEN);
        let mut stored_key = derived("stored-key");
        stored_key.truncate(self.hash.output_len());
        let mut server_key = derived("server-key");
        server_key.truncate(self.hash.output_len());
        ScramCredentials {
            hash: self.hash,
            salt,
            iterations: self.setup.unknown_user.iterations,
            stored_key: Secret::new(stored_key),
            server_key: Secret::new(server_key),
        }
    }
}

/// RFC 5802 §7 `client-first-message = gs2-header client-first-message-bare`, where
/// `gs2-header = gs2-cbind-flag "," [authzid] ","` and
/// `client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]`.
struct ClientFirst<'a> {
    gs2_header: &'a str,
    cbind_flag: &'a str,
    authzid: Option<String>,
    authcid: String,
    client_nonce: &'a str,
    bare: &'a str,
}

impl<'a> ClientFirst<'a> {
    fn parse(message: &'a str) -> Result<ClientFirst<'a>, Failure> {
        let (cbind_flag, rest) = message.split_once(',').ok_or_else(invalid_encoding)?;
        let (authzid, bare) = rest.split_once(',').ok_or_else(invalid_encoding)?;
        let gs2_header = &message[..cbind_flag.len() + authzid.len() + 2];
        let authzid = match authzid {
            "" => None,
            a => Some(saslname(
                a.strip_prefix("a=").ok_or_else(invalid_encoding)?,
            )?),
        };
        let mut attributes = bare.split(',');
        let first = attributes.next().unwrap_or_default();
        if first.starts_with("m=") {
            return Err(Failure::with_data(
                FailureReason::ExtensionNotSupported,
                "e=extensions-not-supported",
            ));
        }
        let authcid = saslname(first.strip_prefix("n=").ok_or_else(invalid_encoding)?)?;
        let client_nonce = attributes
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .ok_or_else(invalid_encoding)?;
        check_nonce(client_nonce)?;
        // Later attributes are extensions (`attr-val`), which the server may ignore.
        Ok(ClientFirst {
            gs2_header,
            cbind_flag,
            authzid,
            authcid,
            client_nonce,
            bare,
        })
    }
}

fn invalid_encoding() -> Failure {
    Failure::with_data(
        FailureReason::Malformed("SCRAM message syntax"),
        "e=invalid-encoding",
    )
}

/// RFC 5802 §7 `saslname`, answering `e=invalid-username-encoding` when it is not one.
fn saslname(value: &str) -> Result<String, Failure> {
    field::saslname(value)
        .map_err(|reason| Failure::with_data(reason, "e=invalid-username-encoding"))
}

/// RFC 5802 §7 `printable = %x21-2B / %x2D-7E`: visible ASCII except `,`.
fn is_printable(c: char) -> bool {
    c.is_ascii_graphic() && c != ','
}

fn check_nonce(nonce: &str) -> Result<(), Failure> {
    if nonce.is_empty() || !nonce.chars().all(is_printable) {
        return Err(invalid_encoding());
    }
    if nonce.len() > crate::MAX_FIELD_LEN {
        return Err(Failure::with_data(
            FailureReason::TooLong,
            "e=invalid-encoding",
        ));
    }
    Ok(())
}
