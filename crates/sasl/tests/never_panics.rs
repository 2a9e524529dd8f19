//! Random responses into every mechanism: each step answers a challenge, success or failure,
//! never a panic, and every exchange ends within a few steps.

use proptest::prelude::*;
use sasl::fuzzing::setup;
use sasl::{Authenticator, Step};

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
        mechanism in prop::sample::select(sasl::fuzzing::mechanisms()),
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
