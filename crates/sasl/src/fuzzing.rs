//! The fuzz target's entry point (`fuzz/fuzz_targets/sasl_exchange.rs`), shared with the
//! committed-corpus runner and the proptests (`tests/fuzz_corpus.rs`, `tests/never_panics.rs`):
//! arbitrary bytes drive one server exchange of any mechanism against a fixed user.
#![doc(hidden)]

use std::num::NonZeroU32;
use std::sync::Arc;

use types::Secret;

use crate::{
    Authenticator, ChannelBinding, ChannelBindingType, CramMd5Secret, Credentials, Mechanism,
    ScramCredentials, ScramHash, Setup, Step, TokenCheck, TokenVerifier, Unavailable,
    UnknownUserDisguise,
};

/// Separates the client's responses in the fuzzer's input.
pub const RESPONSE_SEPARATOR: u8 = 0xff;
/// At most this many responses are sent: every mechanism ends within four.
const MAX_STEPS: usize = 8;

/// One user, `bob`, whose password is `secret`, with SCRAM secrets of one iteration.
pub struct Bob;

impl Credentials for Bob {
    fn verify_plain(&self, authcid: &str, password: &Secret<String>) -> Result<bool, Unavailable> {
        Ok(authcid == "bob" && password.expose() == "secret")
    }

    fn scram(
        &self,
        authcid: &str,
        hash: ScramHash,
    ) -> Result<Option<ScramCredentials>, Unavailable> {
        Ok((authcid == "bob")
            .then(|| ScramCredentials::derive(b"secret", b"salt", NonZeroU32::MIN, hash)))
    }

    fn cram_secret(&self, authcid: &str) -> Result<Option<CramMd5Secret>, Unavailable> {
        Ok((authcid == "bob").then(|| CramMd5Secret::from_password(b"secret")))
    }
}

/// One bearer token, `good`, issued to `bob`.
pub struct BobsToken;

impl TokenVerifier for BobsToken {
    fn verify(&self, token: &str) -> Result<TokenCheck, Unavailable> {
        Ok(match token {
            "good" => TokenCheck::Valid {
                username: "bob".into(),
            },
            _ => TokenCheck::Invalid {
                reason: "unknown".into(),
            },
        })
    }
}

/// A setup offering everything: both channel bindings, an external identity, a token verifier.
pub fn setup() -> Setup {
    let mut setup = Setup::new(
        Arc::new(Bob),
        "mail.example.org",
        UnknownUserDisguise {
            key: Secret::new([1; 32]),
            iterations: NonZeroU32::MIN,
        },
    );
    setup.channel_bindings = vec![
        ChannelBinding {
            kind: ChannelBindingType::TlsExporter,
            data: vec![9; 32],
        },
        ChannelBinding {
            kind: ChannelBindingType::TlsServerEndPoint,
            data: vec![8; 32],
        },
    ];
    setup.external_identity = Some("cert".into());
    setup.token_verifier = Some(Arc::new(BobsToken));
    setup
}

/// The mechanisms the fuzzer drives: all but GSSAPI, which needs a Kerberos realm
/// (`tests/gssapi.rs` sends it damaged tokens against one).
pub fn mechanisms() -> Vec<Mechanism> {
    Mechanism::ALL
        .into_iter()
        .filter(|m| !m.needs_kerberos())
        .collect()
}

/// The first byte picks the mechanism, the second whether the server opens with `start`
/// (odd) or the first response is an initial response (even); the rest are the responses,
/// separated by [`RESPONSE_SEPARATOR`]. Every step must answer, and once the exchange has
/// ended every later step must fail.
pub fn exchange(data: &[u8]) {
    let [pick, opening, rest @ ..] = data else {
        return;
    };
    let mechanisms = mechanisms();
    let mechanism = mechanisms[usize::from(*pick) % mechanisms.len()];
    let Ok(mut exchange) = Authenticator::new(mechanism, setup()) else {
        return;
    };
    let mut ended = false;
    if opening % 2 == 1 {
        ended = !matches!(exchange.start(), Step::Challenge(_));
    }
    for response in rest.split(|&b| b == RESPONSE_SEPARATOR).take(MAX_STEPS) {
        let step = exchange.step(response);
        if ended {
            assert!(
                matches!(step, Step::Failed(_)),
                "{mechanism}: a step after the end answered {step:?}"
            );
        }
        ended |= !matches!(step, Step::Challenge(_));
    }
}
