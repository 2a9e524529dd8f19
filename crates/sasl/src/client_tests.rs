//! The client side: RFC 5802 §5 and RFC 7677 §3 replayed from the client's end with the RFCs'
//! client nonces, round trips against this crate's server, and what a wrong or hostile server
//! makes the client do.

use std::num::NonZeroU32;
use std::sync::Arc;

use proptest::prelude::*;
use types::Secret;

use super::*;
use crate::{Authenticator, FailureReason, Mechanism, Setup, Step, UnknownUserDisguise};

#[test]
fn rfc5802_example_from_the_client_side() {
    let mut c =
        ScramClient::with_nonce(ScramHash::Sha1, "user", None, "fyko+d2lbbFgONRv9qkxdawL").unwrap();
    assert_eq!(c.client_first(), b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    let last = c
        .respond(
            b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            b"pencil",
        )
        .unwrap();
    assert_eq!(
        String::from_utf8(last).unwrap(),
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
    );
    assert_eq!(c.server_final(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="), Ok(()));
}

#[test]
fn rfc7677_example_from_the_client_side() {
    let mut c =
        ScramClient::with_nonce(ScramHash::Sha256, "user", None, "rOprNGfwEbeRWgbNEkqO").unwrap();
    assert_eq!(c.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    let parameters = c
        .server_first(
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        )
        .unwrap()
        .clone();
    assert_eq!(parameters.iterations.get(), 4096);
    let salted = SaltedPassword::new(ScramHash::Sha256, b"pencil", &parameters);
    let last = c.client_final(&salted).unwrap();
    assert_eq!(
        String::from_utf8(last).unwrap(),
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
         p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    );
    assert_eq!(
        c.server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
        Ok(())
    );
}

#[test]
fn a_forged_server_signature_is_refused() {
    let mut c =
        ScramClient::with_nonce(ScramHash::Sha1, "user", None, "fyko+d2lbbFgONRv9qkxdawL").unwrap();
    c.respond(
        b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        b"pencil",
    )
    .unwrap();
    // The RFC's signature with its last character changed.
    assert_eq!(
        c.server_final(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ8"),
        Err(ClientError::BadServerSignature)
    );
    assert_eq!(c.server_final(b"v=x"), Err(ClientError::OutOfOrder));
}

/// `bob` (and `a,b=c`, a name SCRAM must escape) with password `secret`, whose SCRAM secrets
/// are derived as a server stores them.
fn bob() -> Arc<crate::tests::Users> {
    let salt: &[u8] = b"bob's salt 16 by";
    crate::tests::Users::with(&[("bob", "secret", salt), ("a,b=c", "secret", salt)])
}

fn server(mechanism: Mechanism) -> Authenticator {
    let setup = Setup::new(
        bob(),
        "imap.example.org",
        UnknownUserDisguise {
            key: Secret::new([3; 32]),
            iterations: NonZeroU32::new(4096).unwrap(),
        },
    );
    Authenticator::new(mechanism, setup).unwrap()
}

fn challenge(step: Step) -> Vec<u8> {
    match step {
        Step::Challenge(c) => c,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

/// Runs a SCRAM exchange between the client and this crate's server: the server's outcome,
/// and the client's verdict on the server's final data.
fn round_trip(
    hash: ScramHash,
    user: &str,
    authzid: Option<&str>,
    password: &[u8],
) -> (Step, Result<(), ClientError>) {
    let mechanism = match hash {
        ScramHash::Sha1 => Mechanism::ScramSha1,
        ScramHash::Sha256 => Mechanism::ScramSha256,
    };
    let mut s = server(mechanism);
    let mut c = ScramClient::new(hash, user, authzid).unwrap();
    let server_first = challenge(s.step(&c.client_first()));
    let last = c.respond(&server_first, password).unwrap();
    let outcome = s.step(&last);
    let final_data = match &outcome {
        Step::Done(success) => success.additional_data.clone().unwrap(),
        Step::Failed(failure) => failure.additional_data().unwrap().to_vec(),
        Step::Challenge(c) => panic!("a third SCRAM challenge: {c:?}"),
    };
    (outcome, c.server_final(&final_data))
}

#[test]
fn scram_round_trips_with_this_crates_server() {
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        let (outcome, verdict) = round_trip(hash, "bob", None, b"secret");
        let Step::Done(success) = outcome else {
            panic!("{hash:?}: {outcome:?}")
        };
        assert_eq!(success.authcid, "bob");
        assert_eq!(success.authzid, None);
        assert_eq!(verdict, Ok(()), "{hash:?}");
    }
}

#[test]
fn names_with_comma_and_equals_are_escaped_and_the_authzid_arrives() {
    let (outcome, verdict) = round_trip(ScramHash::Sha256, "a,b=c", Some("x=y,z"), b"secret");
    let Step::Done(success) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(success.authcid, "a,b=c");
    assert_eq!(success.authzid.as_deref(), Some("x=y,z"));
    assert_eq!(verdict, Ok(()));
}

#[test]
fn a_wrong_password_fails_on_both_sides() {
    let (outcome, verdict) = round_trip(ScramHash::Sha256, "bob", None, b"guess");
    let Step::Failed(failure) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(failure.reason(), &FailureReason::WrongCredentials);
    assert_eq!(
        verdict,
        Err(ClientError::ServerError("invalid-proof".into()))
    );
}

#[test]
fn plain_round_trips_with_this_crates_server() {
    let message = plain(Some("bob"), "bob", "secret").unwrap();
    assert_eq!(message.expose(), b"bob\0bob\0secret");
    match server(Mechanism::Plain).step(message.expose()) {
        Step::Done(success) => {
            assert_eq!(success.authcid, "bob");
            assert_eq!(success.authzid.as_deref(), Some("bob"));
        }
        other => panic!("{other:?}"),
    }
    let message = plain(None, "bob", "secret").unwrap();
    assert_eq!(message.expose(), b"\0bob\0secret");
    assert!(matches!(
        server(Mechanism::Plain).step(message.expose()),
        Step::Done(_)
    ));
}

#[test]
fn plain_refuses_what_it_cannot_encode() {
    let invalid = |what| Err(ClientError::InvalidField(what));
    assert_eq!(plain(None, "", "secret").map(|_| ()), invalid("user name"));
    assert_eq!(plain(None, "bob", "").map(|_| ()), invalid("password"));
    assert_eq!(plain(None, "b\0b", "x").map(|_| ()), invalid("user name"));
    assert_eq!(
        plain(Some("a\0"), "bob", "x").map(|_| ()),
        invalid("authorization identity")
    );
    let long = "x".repeat(MAX_FIELD_LEN + 1);
    assert_eq!(plain(None, "bob", &long).map(|_| ()), invalid("password"));
}

#[test]
fn the_client_nonce_must_be_printable_without_commas() {
    for nonce in ["", "a,b", "a b", "é"] {
        assert_eq!(
            ScramClient::with_nonce(ScramHash::Sha1, "bob", None, nonce).err(),
            Some(ClientError::InvalidField("client nonce")),
            "{nonce:?}"
        );
    }
    assert!(ScramClient::new(ScramHash::Sha1, "", None).is_err());
}

fn client() -> ScramClient {
    ScramClient::with_nonce(ScramHash::Sha256, "bob", None, "abc").unwrap()
}

#[test]
fn hostile_or_broken_server_first_messages_end_the_exchange() {
    let cases: &[(&[u8], ClientError)] = &[
        (b"r=abc,s=c2FsdA==,i=4096", ClientError::NonceMismatch),
        (b"r=xyzdef,s=c2FsdA==,i=4096", ClientError::NonceMismatch),
        (b"r=ab,s=c2FsdA==,i=4096", ClientError::NonceMismatch),
        (
            b"m=ext,r=abcdef,s=c2FsdA==,i=1",
            ClientError::ExtensionNotSupported,
        ),
        (
            b"r=abcdef,s=c2FsdA==,i=1000001",
            ClientError::TooManyIterations(1_000_001),
        ),
        (
            b"r=abcdef,s=c2FsdA==,i=99999999999999999999999",
            ClientError::TooManyIterations(u64::MAX),
        ),
        (
            b"r=abcdef,s=c2FsdA==,i=0",
            ClientError::Malformed("iteration count"),
        ),
        (
            b"r=abcdef,s=c2FsdA==,i=-1",
            ClientError::Malformed("iteration count"),
        ),
        (
            b"r=abcdef,s=c2FsdA==",
            ClientError::Malformed("no iteration count"),
        ),
        (
            b"r=abcdef,s=!!,i=1",
            ClientError::Malformed("salt is not base64"),
        ),
        (
            b"r=abcdef,i=1,s=c2FsdA==",
            ClientError::Malformed("no salt"),
        ),
        (
            b"s=c2FsdA==,r=abcdef,i=1",
            ClientError::Malformed("no nonce"),
        ),
        (
            b"r=abc\xffdef,s=c2FsdA==,i=1",
            ClientError::Malformed("not UTF-8"),
        ),
        (b"", ClientError::Malformed("no nonce")),
    ];
    for (message, expected) in cases {
        let mut c = client();
        assert_eq!(
            c.server_first(message).err().as_ref(),
            Some(expected),
            "{}",
            String::from_utf8_lossy(message)
        );
        // The exchange is over: nothing more is computed for this server.
        assert_eq!(
            c.server_first(b"r=abcdef,s=c2FsdA==,i=1").err(),
            Some(ClientError::OutOfOrder)
        );
    }
    let long = format!("r=abcdef,s={},i=1", "A".repeat(MAX_RESPONSE_LEN));
    assert_eq!(
        client().server_first(long.as_bytes()).err(),
        Some(ClientError::Malformed("message too long"))
    );
    // Extensions after the iteration count are ignored (RFC 5802 §7).
    assert!(client()
        .server_first(b"r=abcdef,s=c2FsdA==,i=1,x=later")
        .is_ok());
}

#[test]
fn a_salted_password_for_other_parameters_is_refused() {
    let mut c = client();
    let parameters = c.server_first(b"r=abcdef,s=c2FsdA==,i=2").unwrap().clone();
    let other = ScramParameters {
        iterations: NonZeroU32::MIN,
        ..parameters.clone()
    };
    let stale = SaltedPassword::new(ScramHash::Sha256, b"pw", &other);
    assert_eq!(
        c.client_final(&stale),
        Err(ClientError::WrongSaltedPassword)
    );
    let mut c = client();
    let parameters = c.server_first(b"r=abcdef,s=c2FsdA==,i=2").unwrap().clone();
    let sha1 = SaltedPassword::new(ScramHash::Sha1, b"pw", &parameters);
    assert_eq!(c.client_final(&sha1), Err(ClientError::WrongSaltedPassword));
}

#[test]
fn steps_out_of_order_fail() {
    let mut c = client();
    let salted = SaltedPassword::new(
        ScramHash::Sha256,
        b"pw",
        &ScramParameters {
            salt: b"salt".to_vec(),
            iterations: NonZeroU32::MIN,
        },
    );
    assert_eq!(c.client_final(&salted), Err(ClientError::OutOfOrder));
    assert_eq!(
        client().server_final(b"v=AAAA"),
        Err(ClientError::OutOfOrder)
    );
}

#[test]
fn debug_hides_the_salted_password() {
    let salted = SaltedPassword::new(
        ScramHash::Sha1,
        b"pw",
        &ScramParameters {
            salt: b"salt".to_vec(),
            iterations: NonZeroU32::MIN,
        },
    );
    let shown = format!("{salted:?}");
    assert!(
        !shown.contains("key") && !shown.contains("salt:"),
        "{shown}"
    );
}

proptest! {
    /// Whatever a server sends, the client answers a message or an error, never panics, and
    /// refuses a second message after a failure.
    #[test]
    fn random_server_messages_never_panic(
        first in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            "r=abc[!-+--~]{0,8},s=[A-Za-z0-9+/=]{0,12},i=[0-9]{1,3}(,[a-z]=[a-z]*)?"
                .prop_map(String::into_bytes),
        ],
        last in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            "[ve]=[A-Za-z0-9+/=]{0,48}".prop_map(String::into_bytes),
        ],
    ) {
        let mut c = client();
        match c.respond(&first, b"pw") {
            Ok(message) => {
                prop_assert!(message.starts_with(b"c=biws,r=abc"));
                // A random signature is not the right one.
                prop_assert!(c.server_final(&last).is_err());
            }
            Err(_) => prop_assert_eq!(c.server_first(&first).err(), Some(ClientError::OutOfOrder)),
        }
    }
}

#[test]
fn a_bound_exchange_carries_the_binding_the_server_checks() {
    use crate::{ChannelBinding, ChannelBindingType};
    for (kind, data, server_data, ok) in [
        (
            ChannelBindingType::TlsExporter,
            vec![7; 32],
            vec![7; 32],
            true,
        ),
        (
            ChannelBindingType::TlsExporter,
            vec![7; 32],
            vec![6; 32],
            false,
        ),
        (
            ChannelBindingType::TlsServerEndPoint,
            vec![5; 32],
            vec![5; 32],
            true,
        ),
    ] {
        let mut setup = Setup::new(
            bob(),
            "imap.example.org",
            UnknownUserDisguise {
                key: Secret::new([3; 32]),
                iterations: NonZeroU32::new(4096).unwrap(),
            },
        );
        setup.channel_bindings = vec![ChannelBinding {
            kind,
            data: server_data,
        }];
        let mut server = Authenticator::new(Mechanism::ScramSha256Plus, setup).unwrap();
        let mut client = ScramClient::new(ScramHash::Sha256, "bob", None)
            .unwrap()
            .with_channel_binding(kind, data);
        let first = client.client_first();
        assert!(first.starts_with(format!("p={},,", kind.name()).as_bytes()));
        let Step::Challenge(server_first) = server.step(&first) else {
            panic!("no server-first message");
        };
        let last = client.respond(&server_first, b"secret").unwrap();
        let done = server.step(&last);
        assert_eq!(matches!(done, Step::Done(_)), ok, "{kind:?}: {done:?}");
    }
}
