//! OAUTHBEARER (RFC 7628 §4's examples byte for byte) and XOAUTH2, against an in-memory table
//! of tokens.

use std::collections::HashMap;
use std::sync::Arc;

use super::*;

/// Tokens and the users they were issued to; any other token is refused.
struct Tokens(HashMap<&'static str, &'static str>);

impl TokenVerifier for Tokens {
    fn verify(&self, token: &str) -> Result<TokenCheck, Unavailable> {
        Ok(match self.0.get(token) {
            Some(user) => TokenCheck::Valid {
                username: user.to_string(),
            },
            None => TokenCheck::Invalid {
                reason: "unknown token".to_string(),
            },
        })
    }
}

/// A verifier whose key file cannot be read.
struct Down;

impl TokenVerifier for Down {
    fn verify(&self, _: &str) -> Result<TokenCheck, Unavailable> {
        Err(Unavailable("JWKS file unreadable".into()))
    }
}

/// The token of RFC 7628 §4.1 and §4.3.
const RFC_TOKEN: &str = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==";

fn tokens() -> Arc<Tokens> {
    Arc::new(Tokens(HashMap::from([
        (RFC_TOKEN, "user@example.com"),
        (
            "ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg",
            "someuser@example.com",
        ),
    ])))
}

fn oauth_with(mechanism: Mechanism, verifier: Arc<dyn TokenVerifier>) -> Authenticator {
    let mut setup = setup(rfc_users(), "n");
    setup.token_verifier = Some(verifier);
    Authenticator::new(mechanism, setup).unwrap()
}

fn oauth(mechanism: Mechanism) -> Authenticator {
    oauth_with(mechanism, tokens())
}

fn bearer(message: &str) -> Step {
    oauth(Mechanism::OAuthBearer).step(message.as_bytes())
}

fn malformed(step: Step) {
    let failure = failed(step);
    assert!(
        matches!(failure.reason(), FailureReason::Malformed(_)),
        "{failure:?}"
    );
}

const INVALID_TOKEN: &[u8] = br#"{"status":"invalid_token","schemes":"bearer"}"#;

#[test]
fn rfc7628_4_1_successful_bearer_token_exchange() {
    // RFC 7628 §4.1, the IMAP client's initial response as sent (SASL-IR).
    let response = BASE64
        .decode(
            "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB",
        )
        .unwrap();
    assert_eq!(
        response,
        format!("n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer {RFC_TOKEN}\x01\x01").as_bytes()
    );
    let success = done(oauth(Mechanism::OAuthBearer).step(&response));
    assert_eq!(success.authcid, "user@example.com");
    // `a=` names the token's own user: no proxying asked for.
    assert_eq!(success.authzid, None);
    assert_eq!(success.additional_data, None);
}

#[test]
fn rfc7628_4_3_failed_exchange_sends_the_error_and_fails_after_the_kvsep() {
    // §4.3: the same message with a token the server does not accept.
    let mut a = oauth_with(Mechanism::OAuthBearer, Arc::new(Tokens(HashMap::new())));
    let message = format!("n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer {RFC_TOKEN}\x01\x01");
    assert_eq!(challenge(a.step(message.as_bytes())), INVALID_TOKEN);
    // The client's `AQ==`.
    let failure = failed(a.step(b"\x01"));
    assert_eq!(
        failure.reason(),
        &FailureReason::InvalidToken("unknown token".into())
    );
    assert_eq!(
        failed(a.step(b"\x01")).reason(),
        &FailureReason::ExchangeOver
    );
}

#[test]
fn the_error_challenge_answered_otherwise_fails_too() {
    for answer in [&b""[..], b"\x01\x01", b"n,,\x01auth=Bearer x\x01\x01"] {
        let mut a = oauth(Mechanism::OAuthBearer);
        assert_eq!(challenge(a.start()), b"");
        let refused = a.step(b"n,,\x01auth=Bearer other\x01\x01");
        assert_eq!(challenge(refused), INVALID_TOKEN);
        malformed(a.step(answer));
    }
}

#[test]
fn an_empty_initial_response_asks_for_the_message() {
    let mut a = oauth(Mechanism::OAuthBearer);
    assert_eq!(challenge(a.step(b"")), b"");
    let message = format!("y,,\x01auth=Bearer {RFC_TOKEN}\x01\x01");
    assert_eq!(done(a.step(message.as_bytes())).authcid, "user@example.com");
}

#[test]
fn an_authzid_other_than_the_tokens_user_is_passed_up() {
    let message = format!("n,a=boss=2Cjr=3D,\x01auth=Bearer {RFC_TOKEN}\x01\x01");
    let success = done(bearer(&message));
    assert_eq!(success.authcid, "user@example.com");
    assert_eq!(success.authzid.as_deref(), Some("boss,jr="));
    // The same user in another case is the same user.
    let message = format!("n,a=User@Example.COM,\x01auth=Bearer {RFC_TOKEN}\x01\x01");
    assert_eq!(done(bearer(&message)).authzid, None);
}

#[test]
fn channel_binding_flags_n_and_y_are_taken_and_p_is_refused() {
    let with = |gs2: &str| bearer(&format!("{gs2}\x01auth=Bearer {RFC_TOKEN}\x01\x01"));
    done(with("n,,"));
    done(with("y,,"));
    done(with("F,n,,"));
    assert_eq!(
        failed(with("p=tls-exporter,,")).reason(),
        &FailureReason::ChannelBindingRefused
    );
    for bad in [
        "",
        "n,",
        ",,",
        "x,,",
        "n,,,",
        "n,b=x,",
        "n,a=,",
        "n,a=bad=2X,",
        "n,a=a,b,",
    ] {
        malformed(with(bad));
    }
}

#[test]
fn malformed_key_value_pairs_fail_without_an_error_round() {
    let token = format!("auth=Bearer {RFC_TOKEN}");
    for message in [
        // No kvsep after the GS2 header; the lone kvsep belongs after an error only.
        format!("n,,{token}\x01\x01"),
        "\x01".to_string(),
        // The closing kvsep is missing, or the last pair's.
        format!("n,,\x01{token}\x01"),
        format!("n,,\x01{token}"),
        // No auth=, an empty key, a key that is not ALPHA, no '=', a key twice.
        "n,,\x01host=a\x01\x01".to_string(),
        "n,,\x01\x01".to_string(),
        format!("n,,\x01=x\x01{token}\x01\x01"),
        format!("n,,\x01ho5t=x\x01{token}\x01\x01"),
        format!("n,,\x01host\x01{token}\x01\x01"),
        format!("n,,\x01{token}\x01{token}\x01\x01"),
        // A control character in a value, a port that is not a number.
        format!("n,,\x01host=a\x00b\x01{token}\x01\x01"),
        format!("n,,\x01port=14x\x01{token}\x01\x01"),
        format!("n,,\x01port=\x01{token}\x01\x01"),
    ] {
        malformed(bearer(&message));
    }
    let bytes = b"n,,\x01auth=Bearer \xff\x01\x01";
    assert_eq!(
        failed(oauth(Mechanism::OAuthBearer).step(bytes)).reason(),
        &FailureReason::NotUtf8
    );
}

#[test]
fn unknown_keys_are_ignored_and_their_number_is_bounded() {
    let extra: String = (0..MAX_OAUTH_PAIRS - 1)
        .map(|i| format!("x{}=1\x01", "k".repeat(i)))
        .collect();
    let message = format!("n,,\x01{extra}auth=Bearer {RFC_TOKEN}\x01\x01");
    done(bearer(&message));
    let extra = format!("{extra}more=1\x01");
    let message = format!("n,,\x01{extra}auth=Bearer {RFC_TOKEN}\x01\x01");
    assert_eq!(failed(bearer(&message)).reason(), &FailureReason::TooLong);
}

#[test]
fn another_scheme_or_a_bad_b64token_gets_the_error_round() {
    for auth in [
        "MAC token=\"h480djs93hd8\"",
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer ===",
        "Basic dXNlcjpwYXNz",
    ] {
        let mut a = oauth(Mechanism::OAuthBearer);
        let message = format!("n,,\x01auth={auth}\x01\x01");
        assert_eq!(
            challenge(a.step(message.as_bytes())),
            INVALID_TOKEN,
            "{auth}"
        );
        assert!(matches!(
            failed(a.step(b"\x01")).reason(),
            FailureReason::InvalidToken(_)
        ));
    }
    // The scheme's name without regard to case, and several spaces.
    done(bearer(&format!("n,,\x01auth=bEARER   {RFC_TOKEN}\x01\x01")));
}

#[test]
fn a_verifier_that_cannot_answer_fails_at_once_as_unavailable() {
    let mut a = oauth_with(Mechanism::OAuthBearer, Arc::new(Down));
    let failure = failed(a.step(format!("n,,\x01auth=Bearer {RFC_TOKEN}\x01\x01").as_bytes()));
    assert!(failure.is_unavailable());
}

#[test]
fn oauth_mechanisms_need_a_token_verifier() {
    for m in [Mechanism::OAuthBearer, Mechanism::XOAuth2] {
        let error = Authenticator::new(m, setup(rfc_users(), "n")).err();
        assert_eq!(error, Some(SetupError::NoTokenVerifier(m)));
        assert!(m.sends_bearer_token() && !m.sends_password());
    }
}

#[test]
fn token_responses_may_be_longer_than_others_and_are_bounded() {
    let long = "a".repeat(MAX_RESPONSE_LEN);
    let message = format!("n,,\x01auth=Bearer {long}\x01\x01");
    // Past the other mechanisms' limit, the token reaches the verifier (which refuses it).
    challenge(bearer(&message));
    let long = "a".repeat(MAX_TOKEN_RESPONSE_LEN);
    let message = format!("n,,\x01auth=Bearer {long}\x01\x01");
    assert_eq!(failed(bearer(&message)).reason(), &FailureReason::TooLong);
    assert_eq!(
        Mechanism::Plain.max_response_len(),
        MAX_RESPONSE_LEN,
        "the other mechanisms keep their limit"
    );
}

// ---- XOAUTH2 ----

const GOOGLE_TOKEN: &str = "ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg";

fn xoauth2(message: &str) -> Step {
    oauth(Mechanism::XOAuth2).step(message.as_bytes())
}

#[test]
fn xoauth2_in_googles_format_logs_in_as_the_tokens_user() {
    // Google's documented example: `user=…^Aauth=Bearer …^A^A`.
    let response = BASE64
        .decode("dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2cBAQ==")
        .unwrap();
    assert_eq!(
        response,
        format!("user=someuser@example.com\x01auth=Bearer {GOOGLE_TOKEN}\x01\x01").as_bytes()
    );
    let success = done(oauth(Mechanism::XOAuth2).step(&response));
    assert_eq!(success.authcid, "someuser@example.com");
    assert_eq!(success.authzid, None);
    let same = format!("auth=Bearer {GOOGLE_TOKEN}\x01user=SomeUser@Example.com\x01\x01");
    assert_eq!(done(xoauth2(&same)).authcid, "someuser@example.com");
}

#[test]
fn xoauth2_refuses_a_token_of_another_user_after_the_error_round() {
    let mut a = oauth(Mechanism::XOAuth2);
    let message = format!("user=other@example.com\x01auth=Bearer {GOOGLE_TOKEN}\x01\x01");
    let error = challenge(a.step(message.as_bytes()));
    assert_eq!(error, br#"{"status":"401","schemes":"bearer"}"#);
    // The client answers the error with an empty response.
    assert_eq!(
        failed(a.step(b"")).reason(),
        &FailureReason::TokenUserMismatch
    );
    let mut a = oauth(Mechanism::XOAuth2);
    let message = "user=someuser@example.com\x01auth=Bearer expired\x01\x01";
    challenge(a.step(message.as_bytes()));
    malformed(a.step(b"\x01"));
}

#[test]
fn xoauth2_malformed_messages_fail() {
    let auth = format!("auth=Bearer {GOOGLE_TOKEN}");
    for message in [
        format!("{auth}\x01\x01"),
        format!("user=\x01{auth}\x01\x01"),
        "user=someuser@example.com\x01\x01".to_string(),
        format!("user=someuser@example.com\x01{auth}\x01"),
        format!("n,,\x01user=someuser@example.com\x01{auth}\x01\x01"),
    ] {
        malformed(xoauth2(&message));
    }
}
