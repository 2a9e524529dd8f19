//! Tokens signed with the test keys of `tests/fixtures/oauth` (made by OpenSSL), checked against
//! their JWKS at a fixed time.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as BASE64URL};
use base64::Engine;
use serde_json::{json, Value};

use super::*;

/// The time every test checks at.
const NOW: u64 = 1_800_000_000;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn at(offset: i64) -> i64 {
    NOW as i64 + offset
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oauth")
        .join(name)
}

/// The PKCS #8 DER inside a fixture's PEM.
fn private_key(name: &str) -> Vec<u8> {
    let pem = std::fs::read_to_string(fixture(&format!("{name}.pem"))).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    BASE64.decode(body).unwrap()
}

/// RFC 7515 §5.1: the signature of `input` by the fixture key `key` with `alg`.
fn sign(alg: &str, key: &str, input: &[u8]) -> Vec<u8> {
    let rng = SystemRandom::new();
    let der = private_key(key);
    let rsa = |encoding: &'static dyn signature::RsaEncoding| {
        let pair = RsaKeyPair::from_pkcs8(&der).unwrap();
        let mut sig = vec![0; pair.public_modulus_len()];
        pair.sign(encoding, &rng, input, &mut sig).unwrap();
        sig
    };
    let ecdsa = |alg| {
        let pair = EcdsaKeyPair::from_pkcs8(alg, &der).unwrap();
        pair.sign(&rng, input).unwrap().as_ref().to_vec()
    };
    match alg {
        "RS256" => rsa(&signature::RSA_PKCS1_SHA256),
        "RS384" => rsa(&signature::RSA_PKCS1_SHA384),
        "RS512" => rsa(&signature::RSA_PKCS1_SHA512),
        "PS256" => rsa(&signature::RSA_PSS_SHA256),
        "PS384" => rsa(&signature::RSA_PSS_SHA384),
        "PS512" => rsa(&signature::RSA_PSS_SHA512),
        "ES256" => ecdsa(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        "ES384" => ecdsa(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        "EdDSA" => {
            let pair = Ed25519KeyPair::from_pkcs8(&der).unwrap();
            assert_eq!(pair.public_key().as_ref().len(), 32);
            pair.sign(input).as_ref().to_vec()
        }
        other => panic!("no signer for {other}"),
    }
}

/// A compact JWS of `claims` with `header`, signed by fixture key `key`.
fn token_with(header: Value, claims: Value, key: &str) -> String {
    let alg = header["alg"].as_str().unwrap().to_string();
    let input = format!(
        "{}.{}",
        BASE64URL.encode(header.to_string()),
        BASE64URL.encode(claims.to_string())
    );
    let sig = sign(&alg, key, input.as_bytes());
    format!("{input}.{}", BASE64URL.encode(sig))
}

/// `bob`'s token, valid for an hour, signed with `alg` by `key` (whose `kid` is its name).
fn token(alg: &str, key: &str) -> String {
    token_with(
        json!({"alg": alg, "kid": key, "typ": "at+jwt"}),
        claims(),
        key,
    )
}

fn claims() -> Value {
    json!({
        "iss": "https://id.example.org",
        "aud": "imap",
        "sub": "248289761001",
        "email": "bob",
        "iat": at(-10),
        "exp": at(3600),
    })
}

fn settings(file: PathBuf) -> OauthSettings {
    OauthSettings {
        jwks_file: Some(file),
        issuer: String::new(),
        audience: String::new(),
        username_claim: String::new(),
    }
}

fn verifier_with(settings: OauthSettings) -> JwksVerifier {
    JwksVerifier::from_settings(&settings).unwrap().unwrap()
}

fn verifier() -> JwksVerifier {
    verifier_with(settings(fixture("jwks.json")))
}

fn check(verifier: &JwksVerifier, token: &str) -> Result<String, TokenRefused> {
    match verifier.check_at(token, now()) {
        Ok(user) => Ok(user),
        Err(CheckError::Refused(why)) => Err(why),
        Err(CheckError::Unavailable(why)) => panic!("unavailable: {why}"),
    }
}

fn refused(verifier: &JwksVerifier, token: &str) -> TokenRefused {
    check(verifier, token).expect_err("the token should be refused")
}

/// A verifier of the fixture key set, for other modules' tests.
pub(crate) fn fixture_verifier() -> JwksVerifier {
    verifier()
}

/// `user`'s token signed by `rsa-2048`, valid for an hour by the real clock (the SASL path
/// reads it).
pub(crate) fn token_valid_now(user: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut c = claims();
    c["email"] = json!(user);
    c["iat"] = json!(now - 10);
    c["exp"] = json!(now + 3600);
    token_with(json!({"alg": "RS256", "kid": "rsa-2048"}), c, "rsa-2048")
}

#[test]
fn every_algorithm_verifies_with_its_key() {
    let v = verifier();
    for (alg, key) in [
        ("RS256", "rsa-2048"),
        ("RS384", "rsa-2048"),
        ("RS512", "rsa-2048"),
        ("PS256", "rsa-2048"),
        ("PS384", "rsa-2048"),
        ("PS512", "rsa-2048"),
        ("ES256", "ec-p256"),
        ("ES384", "ec-p384"),
        ("EdDSA", "ed25519"),
    ] {
        assert_eq!(check(&v, &token(alg, key)), Ok("bob".into()), "{alg}");
    }
}

#[test]
fn a_signature_by_another_key_or_over_other_claims_is_refused() {
    let v = verifier();
    // Signed by rsa-other, claiming to be rsa-2048's.
    let forged = token_with(
        json!({"alg": "RS256", "kid": "rsa-2048"}),
        claims(),
        "rsa-other",
    );
    assert_eq!(refused(&v, &forged), TokenRefused::BadSignature);
    // A good token whose claims were swapped for others.
    let good = token("ES256", "ec-p256");
    let mut parts: Vec<&str> = good.split('.').collect();
    let mut other = claims();
    other["email"] = json!("admin");
    let other = BASE64URL.encode(other.to_string());
    parts[1] = &other;
    assert_eq!(refused(&v, &parts.join(".")), TokenRefused::BadSignature);
    // A signature of the wrong length.
    let (input, sig) = good.rsplit_once('.').unwrap();
    let sig = BASE64URL.decode(sig).unwrap();
    let truncated = format!("{input}.{}", BASE64URL.encode(&sig[..sig.len() - 1]));
    assert_eq!(refused(&v, &truncated), TokenRefused::BadSignature);
}

#[test]
fn the_key_is_the_one_kid_names_and_must_suit_the_algorithm() {
    let v = verifier();
    let unknown = token_with(json!({"alg": "RS256", "kid": "gone"}), claims(), "rsa-2048");
    assert_eq!(refused(&v, &unknown), TokenRefused::UnknownKey);
    // An RSA algorithm naming an EC key; ES384 naming the P-256 key (whose JWK says ES256).
    let wrong_type = token_with(
        json!({"alg": "RS256", "kid": "ec-p256"}),
        claims(),
        "rsa-2048",
    );
    assert_eq!(refused(&v, &wrong_type), TokenRefused::UnknownKey);
    let wrong_curve = token_with(
        json!({"alg": "ES384", "kid": "ec-p256"}),
        claims(),
        "ec-p384",
    );
    assert_eq!(refused(&v, &wrong_curve), TokenRefused::UnknownKey);
    // The encryption key is not a signature key.
    let enc = token_with(json!({"alg": "RS256", "kid": "enc"}), claims(), "rsa-2048");
    assert_eq!(refused(&v, &enc), TokenRefused::UnknownKey);
    // Without a kid, a set of several keys names none.
    let no_kid = token_with(json!({"alg": "RS256"}), claims(), "rsa-2048");
    assert_eq!(refused(&v, &no_kid), TokenRefused::UnknownKey);
}

#[test]
fn without_a_kid_the_only_key_of_the_set_is_used() {
    let v = verifier_with(settings(fixture("jwks-other.json")));
    let no_kid = token_with(json!({"alg": "RS256"}), claims(), "rsa-other");
    assert_eq!(check(&v, &no_kid), Ok("bob".into()));
    let by_other = token_with(json!({"alg": "RS256"}), claims(), "rsa-2048");
    assert_eq!(refused(&v, &by_other), TokenRefused::BadSignature);
}

#[test]
fn alg_none_and_hmac_are_refused() {
    let v = verifier();
    let body = BASE64URL.encode(claims().to_string());
    for alg in ["none", "None", "HS256", "HS512"] {
        let header = BASE64URL.encode(json!({"alg": alg, "kid": "hmac"}).to_string());
        // An unsigned token, and one "signed" with the HMAC key of the set.
        let hmac_sig = BASE64URL.encode([0u8; 32]);
        for sig in ["", hmac_sig.as_str()] {
            let token = format!("{header}.{body}.{sig}");
            assert_eq!(
                refused(&v, &token),
                TokenRefused::Algorithm(alg.into()),
                "{alg}"
            );
        }
    }
}

#[test]
fn expiry_not_before_and_issued_at_are_checked_with_a_minute_of_leeway() {
    let v = verifier();
    let with = |name: &str, offset: i64| {
        let mut c = claims();
        c[name] = json!(at(offset));
        token_with(json!({"alg": "ES256", "kid": "ec-p256"}), c, "ec-p256")
    };
    assert_eq!(refused(&v, &with("exp", -3600)), TokenRefused::Expired);
    assert_eq!(
        refused(&v, &with("exp", -LEEWAY_SECONDS)),
        TokenRefused::Expired
    );
    assert_eq!(
        check(&v, &with("exp", 1 - LEEWAY_SECONDS)),
        Ok("bob".into())
    );
    assert_eq!(refused(&v, &with("nbf", 3600)), TokenRefused::NotYetValid);
    assert_eq!(
        refused(&v, &with("nbf", LEEWAY_SECONDS + 1)),
        TokenRefused::NotYetValid
    );
    assert_eq!(check(&v, &with("nbf", LEEWAY_SECONDS)), Ok("bob".into()));
    assert_eq!(
        refused(&v, &with("iat", 3600)),
        TokenRefused::IssuedInTheFuture
    );
    assert_eq!(check(&v, &with("iat", LEEWAY_SECONDS)), Ok("bob".into()));
    // exp is required, and dates are numbers (fractions allowed).
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    let no_exp = token_with(json!({"alg": "ES256", "kid": "ec-p256"}), c, "ec-p256");
    assert!(matches!(refused(&v, &no_exp), TokenRefused::Malformed(_)));
    let mut c = claims();
    c["exp"] = json!(at(3600).to_string());
    let text_exp = token_with(json!({"alg": "ES256", "kid": "ec-p256"}), c, "ec-p256");
    assert!(matches!(refused(&v, &text_exp), TokenRefused::Malformed(_)));
    let mut c = claims();
    c["exp"] = json!(at(100) as f64 + 0.5);
    let fraction = token_with(json!({"alg": "ES256", "kid": "ec-p256"}), c, "ec-p256");
    assert_eq!(check(&v, &fraction), Ok("bob".into()));
}

#[test]
fn issuer_and_audience_are_checked_when_configured() {
    let mut s = settings(fixture("jwks.json"));
    s.issuer = "https://id.example.org".into();
    s.audience = "imap".into();
    let v = verifier_with(s);
    let with = |name: &str, value: Value| {
        let mut c = claims();
        c[name] = value;
        token_with(json!({"alg": "EdDSA", "kid": "ed25519"}), c, "ed25519")
    };
    assert_eq!(check(&v, &token("EdDSA", "ed25519")), Ok("bob".into()));
    assert_eq!(
        check(&v, &with("aud", json!(["web", "imap"]))),
        Ok("bob".into())
    );
    for aud in [
        json!("web"),
        json!(["web", "smtp"]),
        json!([]),
        json!(null),
        json!("IMAP"),
    ] {
        assert_eq!(refused(&v, &with("aud", aud)), TokenRefused::WrongAudience);
    }
    for iss in [
        json!("https://evil.example"),
        json!(null),
        json!(["https://id.example.org"]),
    ] {
        assert_eq!(refused(&v, &with("iss", iss)), TokenRefused::WrongIssuer);
    }
    // Without them configured, any issuer and audience do.
    let open = verifier();
    assert_eq!(check(&open, &with("aud", json!("web"))), Ok("bob".into()));
    assert_eq!(check(&open, &with("iss", json!("x"))), Ok("bob".into()));
}

#[test]
fn the_user_comes_from_the_configured_claim_as_it_is() {
    let mut s = settings(fixture("jwks.json"));
    s.username_claim = "preferred_username".into();
    let v = verifier_with(s);
    let with = |value: Value| {
        let mut c = claims();
        c["preferred_username"] = value;
        token_with(json!({"alg": "ES384", "kid": "ec-p384"}), c, "ec-p384")
    };
    assert_eq!(
        check(&v, &with(json!("Alice@Example.org"))),
        Ok("Alice@Example.org".into())
    );
    for bad in [
        json!(""),
        json!(42),
        json!(null),
        json!("a\nb"),
        json!("x".repeat(1025)),
    ] {
        assert_eq!(refused(&v, &with(bad)), TokenRefused::NoUsername);
    }
    // The default claim is `email`.
    assert_eq!(
        check(&verifier(), &token("ES384", "ec-p384")),
        Ok("bob".into())
    );
}

#[test]
fn malformed_tokens_are_refused() {
    let v = verifier();
    let good = token("ES256", "ec-p256");
    let (header, rest) = good.split_once('.').unwrap();
    let crit = token_with(
        json!({"alg": "ES256", "kid": "ec-p256", "crit": ["exp"]}),
        claims(),
        "ec-p256",
    );
    let not_json = format!("{}.{rest}", BASE64URL.encode("{alg"));
    let no_alg = format!("{}.{rest}", BASE64URL.encode(r#"{"kid":"ec-p256"}"#));
    for bad in [
        String::new(),
        "a.b".to_string(),
        format!("{good}.x"),
        format!("{header}=.{rest}"),
        format!("*{good}"),
        not_json,
        no_alg,
        crit,
        "a".repeat(MAX_TOKEN_LEN + 1),
    ] {
        let why = refused(&v, &bad);
        assert!(
            matches!(why, TokenRefused::Malformed(_)),
            "{bad:.60}: {why:?}"
        );
    }
    // Claims that are not an object, correctly signed.
    let array = token_with(
        json!({"alg": "ES256", "kid": "ec-p256"}),
        json!([1]),
        "ec-p256",
    );
    assert!(matches!(refused(&v, &array), TokenRefused::Malformed(_)));
}

// ---- the key file ----

#[test]
fn an_empty_jwks_option_turns_oauth_off_and_a_bad_file_is_an_error() {
    let off = OauthSettings {
        jwks_file: None,
        ..settings(PathBuf::new())
    };
    assert!(JwksVerifier::from_settings(&off).unwrap().is_none());
    let dir = tempfile::tempdir().unwrap();
    let bad = |content: &[u8]| {
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, content).unwrap();
        JwksVerifier::from_settings(&settings(path))
            .unwrap_err()
            .reason
    };
    let missing = JwksVerifier::from_settings(&settings(dir.path().join("none"))).unwrap_err();
    assert!(missing.to_string().contains("none"), "{missing}");
    assert!(bad(b"{\"keys\": [").contains("not a JWK set"));
    assert!(bad(b"{\"keys\": []}").contains("no RSA, EC or Ed25519"));
    assert!(bad(br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#).contains("no RSA"));
    let small_rsa = json!({"keys": [{"kty": "RSA", "kid": "k1", "n": BASE64URL.encode([0xc5; 128]), "e": "AQAB"}]});
    assert!(bad(small_rsa.to_string().as_bytes()).contains("\"k1\": an RSA modulus under 2048"));
    let bad_ec = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}]});
    assert!(bad(bad_ec.to_string().as_bytes()).contains("key #1: EC coordinates"));
    let bad_b64 = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "not base64!"}]});
    assert!(bad(bad_b64.to_string().as_bytes()).contains("\"x\" is not base64url"));
    let curve = json!({"keys": [{"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"}]});
    assert!(bad(curve.to_string().as_bytes()).contains("unsupported curve"));
    let mut huge = br#"{"keys": [], "pad": ""#.to_vec();
    huge.resize(MAX_JWKS_BYTES as usize + 10, b'x');
    assert!(bad(&huge).contains("larger than"));
    let many: Vec<Value> = (0..=jwks::MAX_KEYS)
        .map(|_| json!({"kty": "oct"}))
        .collect();
    assert!(bad(json!({ "keys": many }).to_string().as_bytes()).contains("more than"));
}

#[test]
fn a_changed_key_file_is_read_again_and_a_broken_one_refuses_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::copy(fixture("jwks-other.json"), &path).unwrap();
    let v = verifier_with(settings(path.clone()));
    let other = token_with(json!({"alg": "RS256"}), claims(), "rsa-other");
    let ours = token("RS256", "rsa-2048");
    assert_eq!(check(&v, &other), Ok("bob".into()));
    assert_eq!(refused(&v, &ours), TokenRefused::UnknownKey);
    // The issuer rotates its keys.
    std::fs::copy(fixture("jwks.json"), &path).unwrap();
    assert_eq!(check(&v, &ours), Ok("bob".into()));
    assert_eq!(refused(&v, &other), TokenRefused::UnknownKey);
    // A broken file: nothing verifies, not even with the keys read before.
    std::fs::write(&path, b"{\"keys\": [ oops").unwrap();
    assert!(matches!(
        v.check_at(&ours, now()),
        Err(CheckError::Unavailable(_))
    ));
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        v.check_at(&ours, now()),
        Err(CheckError::Unavailable(_))
    ));
    std::fs::copy(fixture("jwks.json"), &path).unwrap();
    assert_eq!(check(&v, &ours), Ok("bob".into()));
}

// ---- through the SASL mechanisms ----

#[test]
fn oauthbearer_and_xoauth2_log_in_with_a_signed_token_and_not_with_an_expired_one() {
    use sasl::{Authenticator, Mechanism, Setup, Step, UnknownUserDisguise};

    struct NoPasswords;
    impl sasl::Credentials for NoPasswords {
        fn verify_plain(
            &self,
            _: &str,
            _: &types::Secret<String>,
        ) -> Result<bool, sasl::Unavailable> {
            Ok(false)
        }
    }
    let verifier: Arc<dyn sasl::TokenVerifier> = Arc::new(verifier());
    let exchange = |mechanism, message: String| {
        let mut setup = Setup::new(
            Arc::new(NoPasswords),
            "imap.example.org",
            UnknownUserDisguise {
                key: types::Secret::new([0; 32]),
                iterations: std::num::NonZeroU32::MIN,
            },
        );
        setup.token_verifier = Some(verifier.clone());
        let mut a = Authenticator::new(mechanism, setup).unwrap();
        a.step(message.as_bytes())
    };
    // Signed for a time well ahead of the real clock, which the SASL path reads.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut c = claims();
    c["exp"] = json!(now + 3600);
    c["iat"] = json!(now - 10);
    let fresh = token_with(
        json!({"alg": "PS256", "kid": "rsa-2048"}),
        c.clone(),
        "rsa-2048",
    );
    c["exp"] = json!(now - 3600);
    let expired = token_with(json!({"alg": "PS256", "kid": "rsa-2048"}), c, "rsa-2048");

    let bearer = |t: &str| format!("n,a=bob,\x01host=imap.example.org\x01auth=Bearer {t}\x01\x01");
    match exchange(Mechanism::OAuthBearer, bearer(&fresh)) {
        Step::Done(success) => {
            assert_eq!(success.authcid, "bob");
            assert_eq!(success.authzid, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        exchange(Mechanism::OAuthBearer, bearer(&expired)),
        Step::Challenge(json) if json.starts_with(br#"{"status":"invalid_token""#)
    ));
    let xoauth2 = |t: &str| format!("user=bob\x01auth=Bearer {t}\x01\x01");
    assert!(matches!(
        exchange(Mechanism::XOAuth2, xoauth2(&fresh)),
        Step::Done(success) if success.authcid == "bob"
    ));
    assert!(matches!(
        exchange(Mechanism::XOAuth2, xoauth2(&expired)),
        Step::Challenge(_)
    ));
}
