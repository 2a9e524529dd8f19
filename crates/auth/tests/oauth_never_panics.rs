//! Random and near-valid bearer tokens and JWKS files into `auth::oauth`: every token is
//! answered (refused, here: nothing is signed by the set's keys), every file is taken or
//! refused with a reason, and nothing panics.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

use std::path::PathBuf;

use auth::oauth::{JwksVerifier, OauthSettings};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use base64::Engine;
use proptest::prelude::*;
use sasl::{TokenCheck, TokenVerifier};

fn settings(file: PathBuf) -> OauthSettings {
    OauthSettings {
        jwks_file: Some(file),
        issuer: "https://id.example.org".into(),
        audience: "imap".into(),
        username_claim: "email".into(),
    }
}

fn fixture_verifier() -> JwksVerifier {
    let jwks = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oauth/jwks.json");
    JwksVerifier::from_settings(&settings(jwks))
        .unwrap()
        .unwrap()
}

/// JSON fragments a header or claims set might hold.
fn json_part() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(r#"{"alg":"RS256","kid":"rsa-2048"}"#.to_string()),
        Just(r#"{"alg":"ES256","kid":"ec-p256"}"#.to_string()),
        Just(r#"{"alg":"EdDSA"}"#.to_string()),
        Just(r#"{"alg":"none"}"#.to_string()),
        Just(r#"{"alg":"HS256","kid":"hmac"}"#.to_string()),
        Just(r#"{"alg":"RS256","crit":["x"]}"#.to_string()),
        Just(
            r#"{"email":"bob","exp":1e308,"aud":["imap"],"iss":"https://id.example.org"}"#
                .to_string()
        ),
        Just(r#"{"email":"bob","exp":-1e308,"nbf":"x","iat":null}"#.to_string()),
        "[{}\\[\\]\":,a-z0-9 ]{0,40}",
    ]
}

/// A token: three base64url parts of JSON-ish data, or plain garbage.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            json_part(),
            json_part(),
            prop::collection::vec(any::<u8>(), 0..600)
        )
            .prop_map(|(header, claims, sig)| format!(
                "{}.{}.{}",
                BASE64URL.encode(header),
                BASE64URL.encode(claims),
                BASE64URL.encode(sig)
            )),
        "[A-Za-z0-9_.=+/-]{0,200}",
        any::<String>(),
    ]
}

/// A JWKS document: key objects made of the members the parser reads, or garbage.
fn jwks() -> impl Strategy<Value = Vec<u8>> {
    let member = prop_oneof![
        Just(r#""kty":"RSA""#),
        Just(r#""kty":"EC""#),
        Just(r#""kty":"OKP""#),
        Just(r#""kty":"oct""#),
        Just(r#""crv":"P-256""#),
        Just(r#""crv":"Ed25519""#),
        Just(r#""n":"AQAB""#),
        Just(r#""e":"AQAB""#),
        Just(r#""x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA""#),
        Just(r#""y":"!!""#),
        Just(r#""use":"enc""#),
        Just(r#""key_ops":["verify"]"#),
        Just(r#""kid":7"#),
    ];
    prop_oneof![
        prop::collection::vec(prop::collection::vec(member, 0..6), 0..4).prop_map(|keys| {
            let keys: Vec<String> = keys
                .iter()
                .map(|k| format!("{{{}}}", k.join(",")))
                .collect();
            format!(r#"{{"keys":[{}]}}"#, keys.join(",")).into_bytes()
        }),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

proptest! {
    #[test]
    fn random_tokens_are_refused_without_a_panic(token in token()) {
        let verifier = fixture_verifier();
        let check = verifier.verify(&token);
        prop_assert!(matches!(check, Ok(TokenCheck::Invalid { .. })), "{check:?}");
    }

    #[test]
    fn random_key_files_are_taken_or_refused_without_a_panic(json in jwks()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, &json).unwrap();
        if let Ok(Some(verifier)) = JwksVerifier::from_settings(&settings(path)) {
            let check = verifier.verify("a.b.c");
            prop_assert!(matches!(check, Ok(TokenCheck::Invalid { .. })), "{check:?}");
        }
    }
}
