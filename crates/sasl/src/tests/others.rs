//! CRAM-MD5 (RFC 2195), PLAIN (RFC 4616), LOGIN, ANONYMOUS (RFC 4505) and EXTERNAL.

use std::sync::Arc;

use super::*;

// ---- CRAM-MD5 (RFC 2195 §2) ----

#[test]
fn rfc2195_cram_md5_example() {
    let mut a = auth(Mechanism::CramMd5, rfc_users());
    assert_eq!(
        challenge(a.start()),
        b"<1896.697170952@postoffice.reston.mci.net>"
    );
    let success = done(a.step(b"tim b913a602c7eda7a495b4e6e7334d3890"));
    assert_eq!(success.authcid, "tim");
}

#[test]
fn cram_md5_wrong_digest_missing_user_and_bad_syntax_fail() {
    let answer = |response: &[u8]| {
        let mut a = auth(Mechanism::CramMd5, rfc_users());
        challenge(a.start());
        failed(a.step(response))
    };
    assert_eq!(
        answer(b"tim b913a602c7eda7a495b4e6e7334d3891").reason(),
        &FailureReason::WrongCredentials
    );
    assert_eq!(
        answer(b"tom b913a602c7eda7a495b4e6e7334d3890").reason(),
        &FailureReason::UnknownUser
    );
    assert!(matches!(
        answer(b"tim b913a602").reason(),
        FailureReason::Malformed(_)
    ));
    assert!(matches!(
        answer(b"b913a602c7eda7a495b4e6e7334d3890").reason(),
        FailureReason::Malformed(_)
    ));
    assert!(matches!(
        answer(b" b913a602c7eda7a495b4e6e7334d3890").reason(),
        FailureReason::Malformed(_)
    ));
    assert!(matches!(
        answer(b"tim b913a602c7eda7a495b4e6e7334d38zz").reason(),
        FailureReason::Malformed(_)
    ));
}

#[test]
fn cram_md5_refuses_an_initial_response() {
    let mut a = auth(Mechanism::CramMd5, rfc_users());
    let failure = failed(a.step(b"tim b913a602c7eda7a495b4e6e7334d3890"));
    assert_eq!(failure.reason(), &FailureReason::UnexpectedInitialResponse);
}

// ---- PLAIN (RFC 4616) ----

fn plain(message: &[u8]) -> Step {
    auth(Mechanism::Plain, rfc_users()).step(message)
}

#[test]
fn plain_with_and_without_authzid() {
    let s = done(plain(b"\0bob\0secret"));
    assert_eq!((s.authcid.as_str(), s.authzid), ("bob", None));
    let s = done(plain(b"admin\0bob\0secret"));
    assert_eq!(
        (s.authcid.as_str(), s.authzid.as_deref()),
        ("bob", Some("admin"))
    );
}

#[test]
fn plain_edge_cases_fail() {
    let reason = |m: &[u8]| failed(plain(m)).reason().clone();
    assert_eq!(reason(b"\0bob\0wrong"), FailureReason::WrongCredentials);
    assert_eq!(reason(b"\0nobody\0secret"), FailureReason::WrongCredentials);
    assert!(
        matches!(reason(b"bob\0secret"), FailureReason::Malformed(_)),
        "one NUL"
    );
    assert!(
        matches!(reason(b"bobsecret"), FailureReason::Malformed(_)),
        "no NUL"
    );
    assert!(
        matches!(reason(b"\0bob\0"), FailureReason::Malformed(_)),
        "empty password"
    );
    assert!(
        matches!(reason(b"\0\0secret"), FailureReason::Malformed(_)),
        "empty authcid"
    );
    assert!(
        matches!(reason(b"\0bob\0sec\0ret"), FailureReason::Malformed(_)),
        "third NUL"
    );
    assert_eq!(reason(b"\0bob\0\xff\xfe"), FailureReason::NotUtf8);
    assert_eq!(reason(b"\xc3\0bob\0secret"), FailureReason::NotUtf8);
    let long = [&b"\0bob\0"[..], &[b'x'; MAX_FIELD_LEN + 1]].concat();
    assert_eq!(reason(&long), FailureReason::TooLong);
    let huge = [&b"\0bob\0"[..], &[b'x'; MAX_RESPONSE_LEN]].concat();
    assert_eq!(reason(&huge), FailureReason::TooLong);
}

#[test]
fn plain_accepts_fields_of_the_rfc_minimum_length() {
    // RFC 4616 §2: servers accept at least 255 octets per field.
    let password = "p".repeat(255);
    let users = Users::with(&[(&"u".repeat(255), &password, b"s")]);
    let message = format!("{}\0{}\0{password}", "z".repeat(255), "u".repeat(255));
    assert!(matches!(
        auth(Mechanism::Plain, users).step(message.as_bytes()),
        Step::Done(_)
    ));
}

#[test]
fn plain_without_initial_response_asks_once() {
    let mut a = auth(Mechanism::Plain, rfc_users());
    assert_eq!(a.start(), Step::Challenge(Vec::new()));
    assert!(matches!(
        failed(a.step(b"")).reason(),
        FailureReason::Malformed(_)
    ));
    // An empty initial response (`=`) is answered with the empty challenge.
    let mut a = auth(Mechanism::Plain, rfc_users());
    assert_eq!(a.step(b""), Step::Challenge(Vec::new()));
    assert!(matches!(a.step(b"\0bob\0secret"), Step::Done(_)));
}

#[test]
fn an_unavailable_source_is_not_a_wrong_password() {
    let failure = failed(auth(Mechanism::Plain, Arc::new(Broken)).step(b"\0bob\0secret"));
    assert!(failure.is_unavailable());
    assert!(!failed(plain(b"\0bob\0wrong")).is_unavailable());
}

// ---- LOGIN ----

#[test]
fn login_asks_for_user_name_then_password() {
    let mut a = auth(Mechanism::Login, rfc_users());
    assert_eq!(challenge(a.start()), b"Username:");
    assert_eq!(challenge(a.step(b"bob")), b"Password:");
    assert_eq!(done(a.step(b"secret")).authcid, "bob");

    let mut a = auth(Mechanism::Login, rfc_users());
    assert_eq!(
        challenge(a.step(b"bob")),
        b"Password:",
        "initial response is the user name"
    );
    assert_eq!(
        failed(a.step(b"wrong")).reason(),
        &FailureReason::WrongCredentials
    );

    let mut a = auth(Mechanism::Login, rfc_users());
    challenge(a.start());
    assert!(matches!(
        failed(a.step(b"")).reason(),
        FailureReason::Malformed(_)
    ));
}

// ---- ANONYMOUS (RFC 4505) and EXTERNAL ----

#[test]
fn anonymous_returns_the_trace_for_the_log() {
    let s = done(auth(Mechanism::Anonymous, rfc_users()).step(b"sirhc@example.com"));
    assert_eq!(
        (s.authcid.as_str(), s.trace.as_deref()),
        ("anonymous", Some("sirhc@example.com"))
    );
    let mut a = auth(Mechanism::Anonymous, rfc_users());
    assert_eq!(a.start(), Step::Challenge(Vec::new()));
    assert_eq!(done(a.step(b"")).trace, None);
    // 255 characters (here 510 bytes) is the limit.
    assert!(matches!(
        auth(Mechanism::Anonymous, rfc_users()).step("é".repeat(255).as_bytes()),
        Step::Done(_)
    ));
    let f = failed(auth(Mechanism::Anonymous, rfc_users()).step("é".repeat(256).as_bytes()));
    assert_eq!(f.reason(), &FailureReason::TooLong);
    assert!(matches!(
        failed(auth(Mechanism::Anonymous, rfc_users()).step(b"a\0b")).reason(),
        FailureReason::Malformed(_)
    ));
}

#[test]
fn external_takes_the_identity_from_the_caller() {
    let mut s = setup(rfc_users(), "n");
    s.external_identity = Some("cert-user".into());
    let mut a = Authenticator::new(Mechanism::External, s).unwrap();
    let success = done(a.step(b""));
    assert_eq!(
        (success.authcid.as_str(), success.authzid),
        ("cert-user", None)
    );

    let mut s = setup(rfc_users(), "n");
    s.external_identity = Some("cert-user".into());
    let mut a = Authenticator::new(Mechanism::External, s).unwrap();
    assert_eq!(a.start(), Step::Challenge(Vec::new()));
    assert_eq!(done(a.step(b"bob")).authzid.as_deref(), Some("bob"));
}
