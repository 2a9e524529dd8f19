//! Random responses into every mechanism: each step answers a challenge, success or failure,
//! never a panic, and every exchange ends within a few steps.

use std::num::NonZeroU32;
use std::sync::Arc;

use proptest::prelude::*;
use sasl::{
    Authenticator, ChannelBinding, ChannelBindingType, CramMd5Secret, Credentials, Mechanism,
    ScramCredentials, ScramHash, Setup, Step, TokenCheck, TokenVerifier, Unavailable,
    UnknownUserDisguise,
};
use types::Secret;

/// One user, `bob`, whose password is `secret`, with SCRAM secrets of one iteration.
struct Bob;

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
struct BobsToken;

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

fn setup() -> Setup {
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

/// Bytes that look like the mechanisms' syntax often enough to get past the first check.
fn response() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        "[nyp=a-z,0-9\\x00 ]{0,40}".prop_map(String::into_bytes),
        (
            prop::sample::select(vec!["n,,", "y,,", "p=tls-exporter,,", "n,a=b=3D,", "p=x,,"]),
            "(n=[a-z=]{0,5},)?(r=[!-~]{0,8})?(,[a-z]=[^,]{0,5}){0,2}"
        )
            .prop_map(|(gs2, bare)| format!("{gs2}{bare}").into_bytes()),
        "c=[a-zA-Z0-9+/=]{0,12},r=[!-~]{0,10},p=[a-zA-Z0-9+/=]{0,44}".prop_map(String::into_bytes),
        // OAUTHBEARER and XOAUTH2: a GS2 header or none, then key/value pairs with kvsep.
        (
            prop::sample::select(vec![
                "",
                "n,,\x01",
                "y,a=bob,\x01",
                "p=x,,\x01",
                "F,n,,\x01"
            ]),
            prop::collection::vec(
                prop::sample::select(vec![
                    "auth=Bearer good",
                    "auth=Bearer bad",
                    "auth=bearer  good==",
                    "auth=MAC x",
                    "user=bob",
                    "user=BOB",
                    "user=eve",
                    "host=h",
                    "port=143",
                    "port=x",
                    "=",
                    "auth",
                    "",
                ]),
                0..5,
            ),
            prop::sample::select(vec!["\x01", "\x01\x01", "", "\x00"]),
        )
            .prop_map(|(gs2, pairs, end)| {
                format!("{gs2}{}{end}", pairs.join("\x01")).into_bytes()
            }),
        Just(b"\x01".to_vec()),
        prop::collection::vec(
            any::<u8>(),
            sasl::MAX_RESPONSE_LEN - 2..sasl::MAX_RESPONSE_LEN + 2
        ),
        prop::collection::vec(
            any::<u8>(),
            sasl::MAX_TOKEN_RESPONSE_LEN - 2..sasl::MAX_TOKEN_RESPONSE_LEN + 2
        ),
    ]
}

proptest! {
    #[test]
    fn random_responses_never_panic_and_exchanges_end(
        // GSSAPI needs a Kerberos realm: tests/gssapi.rs sends it random tokens against one.
        mechanism in prop::sample::select(
            Mechanism::ALL.into_iter().filter(|m| !m.needs_kerberos()).collect::<Vec<_>>()
        ),
        with_start in any::<bool>(),
        responses in prop::collection::vec(response(), 1..6),
    ) {
        let mut exchange = Authenticator::new(mechanism, setup()).unwrap();
        let mut steps = Vec::new();
        if with_start {
            steps.push(exchange.start());
        }
        for r in &responses {
            steps.push(exchange.step(r));
        }
        // Once an exchange ends, it stays ended.
        if let Some(end) = steps.iter().position(|s| !matches!(s, Step::Challenge(_))) {
            for later in &steps[end + 1..] {
                prop_assert!(matches!(later, Step::Failed(_)), "{mechanism}: {later:?}");
            }
        }
        // No mechanism takes more than three client messages (SCRAM: first, final, and
        // nothing else; LOGIN: user, password; OAUTHBEARER: the message, the error's answer).
        let mut exchange = Authenticator::new(mechanism, setup()).unwrap();
        let ended = (0..4).any(|_| !matches!(exchange.step(b"n,,n=bob,r=a"), Step::Challenge(_)));
        prop_assert!(ended, "{mechanism} never ends");
    }
}
