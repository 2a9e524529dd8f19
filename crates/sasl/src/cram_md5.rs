//! CRAM-MD5 (RFC 2195): the server sends `<random.time@host>`, the client answers
//! `user SP hex(HMAC-MD5(secret, challenge))`. The server needs the recoverable shared secret.

use std::sync::Arc;

use hmac::{Mac, SimpleHmac};
use md5::Md5;
use subtle::ConstantTimeEq;
use types::Secret;

use crate::{field, Credentials, FailureReason, Setup, Step, Success};

pub(crate) struct CramMd5 {
    credentials: Arc<dyn Credentials>,
    challenge: Vec<u8>,
    /// Stands in for the secret of a user the source does not know, so that the digest is
    /// computed and compared all the same.
    decoy: Secret<Vec<u8>>,
}

impl CramMd5 {
    pub(crate) fn new(mut setup: Setup) -> CramMd5 {
        // RFC 2195 §2: the challenge has the form of an RFC 822 msg-id; keep the host name to
        // characters that cannot break it.
        let host: String = setup
            .hostname
            .chars()
            .filter(|c| c.is_ascii_graphic() && !"<>@".contains(*c))
            .collect();
        let id: String = setup
            .nonces
            .cram_id()
            .chars()
            .filter(|c| c.is_ascii_graphic() && !"<>@".contains(*c))
            .collect();
        let challenge = format!("<{id}@{host}>").into_bytes();
        let decoy = Secret::new(hmac_md5(setup.unknown_user.key.expose(), &challenge));
        CramMd5 {
            credentials: setup.credentials,
            challenge,
            decoy,
        }
    }

    pub(crate) fn start(&mut self) -> Step {
        Step::Challenge(self.challenge.clone())
    }

    pub(crate) fn step(&mut self, response: &[u8]) -> Step {
        self.check(response).unwrap_or_else(Step::from)
    }

    fn check(&self, response: &[u8]) -> Result<Step, FailureReason> {
        let response = field::text(response)?;
        // The digest is the last word: user names may contain spaces.
        let (user, digest) = response
            .rsplit_once(' ')
            .ok_or(FailureReason::Malformed("CRAM-MD5 needs `user digest`"))?;
        if user.is_empty() {
            return Err(FailureReason::Malformed("empty user name"));
        }
        let digest = decode_hex_digest(digest)
            .ok_or(FailureReason::Malformed("the digest is not 32 hex digits"))?;
        let secret = self
            .credentials
            .cram_secret(user)
            .map_err(|e| FailureReason::Unavailable(e.0))?;
        let known = secret.is_some();
        let secret = secret.as_ref().unwrap_or(&self.decoy);
        let expected = hmac_md5(secret.expose(), &self.challenge);
        let matches: bool = expected.ct_eq(&digest).into();
        match (known, matches) {
            (true, true) => Ok(Step::Done(Success {
                authcid: user.to_string(),
                authzid: None,
                additional_data: None,
                trace: None,
            })),
            (true, false) => Err(FailureReason::WrongCredentials),
            (false, _) => Err(FailureReason::UnknownUser),
        }
    }
}

fn hmac_md5(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = match SimpleHmac::<Md5>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 2195 §2: the digest is 16 octets as lower-case hex; upper case is accepted too.
fn decode_hex_digest(text: &str) -> Option<[u8; 16]> {
    let bytes = text.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let mut digest = [0u8; 16];
    for (out, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        *out = (high * 16 + low) as u8;
    }
    Some(digest)
}
