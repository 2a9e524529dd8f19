//! Exchanges against an in-memory credential source: the RFC examples byte for byte, and the
//! ways a response can be wrong.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use types::Secret;

use crate::*;

/// Users with a password, the SCRAM secrets derived from it with a chosen salt, and the
/// password as the CRAM-MD5 secret.
struct Users {
    users: HashMap<String, (String, Vec<u8>)>,
}

impl Users {
    fn with(users: &[(&str, &str, &[u8])]) -> Arc<Users> {
        let users = users
            .iter()
            .map(|(name, password, salt)| (name.to_string(), (password.to_string(), salt.to_vec())))
            .collect();
        Arc::new(Users { users })
    }
}

impl Credentials for Users {
    fn verify_plain(&self, authcid: &str, password: &Secret<String>) -> Result<bool, Unavailable> {
        Ok(self
            .users
            .get(authcid)
            .is_some_and(|(p, _)| p == password.expose()))
    }

    fn scram(
        &self,
        authcid: &str,
        hash: ScramHash,
    ) -> Result<Option<ScramCredentials>, Unavailable> {
        let iterations = NonZeroU32::new(4096).unwrap();
        Ok(self
            .users
            .get(authcid)
            .map(|(p, salt)| ScramCredentials::derive(p.as_bytes(), salt, iterations, hash)))
    }

    fn cram_secret(&self, authcid: &str) -> Result<Option<Secret<Vec<u8>>>, Unavailable> {
        Ok(self
            .users
            .get(authcid)
            .map(|(p, _)| Secret::new(p.clone().into_bytes())))
    }
}

/// A source that is down.
struct Broken;

impl Credentials for Broken {
    fn verify_plain(&self, _: &str, _: &Secret<String>) -> Result<bool, Unavailable> {
        Err(Unavailable("database closed".into()))
    }
}

struct FixedNonces {
    scram: &'static str,
    cram: &'static str,
}

impl NonceSource for FixedNonces {
    fn scram_nonce(&mut self) -> String {
        self.scram.to_string()
    }
    fn cram_id(&mut self) -> String {
        self.cram.to_string()
    }
}

const RFC5802_SALT: &str = "QSXCR+Q6sek8bf92";
const RFC7677_SALT: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";

fn rfc_users() -> Arc<Users> {
    let salt = BASE64.decode(RFC5802_SALT).unwrap();
    Users::with(&[
        ("user", "pencil", &salt),
        ("tim", "tanstaaftanstaaf", b"x"),
        ("bob", "secret", b"bob-salt-16bytes"),
    ])
}

/// Credentials for the RFC 7677 example (same user and password, another salt).
fn rfc7677_users() -> Arc<Users> {
    let salt = BASE64.decode(RFC7677_SALT).unwrap();
    Users::with(&[("user", "pencil", &salt)])
}

fn setup(credentials: Arc<dyn Credentials>, scram_nonce: &'static str) -> Setup {
    let mut setup = Setup::new(
        credentials,
        "postoffice.reston.mci.net",
        UnknownUserDisguise {
            key: Secret::new([7u8; 32]),
            iterations: NonZeroU32::new(4096).unwrap(),
        },
    );
    setup.nonces = Box::new(FixedNonces {
        scram: scram_nonce,
        cram: "1896.697170952",
    });
    setup
}

fn auth(mechanism: Mechanism, credentials: Arc<dyn Credentials>) -> Authenticator {
    Authenticator::new(mechanism, setup(credentials, "3rfcNHYJY1ZVvWVs7j")).unwrap()
}

fn challenge(step: Step) -> Vec<u8> {
    match step {
        Step::Challenge(c) => c,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

fn done(step: Step) -> Success {
    match step {
        Step::Done(s) => s,
        other => panic!("expected success, got {other:?}"),
    }
}

fn failed(step: Step) -> Failure {
    match step {
        Step::Failed(f) => f,
        other => panic!("expected failure, got {other:?}"),
    }
}

// ---- SCRAM: RFC 5802 §5 and RFC 7677 §3, byte for byte ----

#[test]
fn rfc5802_scram_sha1_example_replays_byte_for_byte() {
    let mut a = auth(Mechanism::ScramSha1, rfc_users());
    let server_first = challenge(a.step(b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"));
    assert_eq!(
        server_first,
        b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
    );
    let success = done(a.step(
        b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    ));
    assert_eq!(success.authcid, "user");
    assert_eq!(success.authzid, None);
    assert_eq!(
        success.additional_data.as_deref(),
        Some(&b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="[..])
    );
}

#[test]
fn rfc7677_scram_sha256_example_replays_byte_for_byte() {
    let setup = setup(rfc7677_users(), "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    let mut a = Authenticator::new(Mechanism::ScramSha256, setup).unwrap();
    assert_eq!(a.start(), Step::Challenge(Vec::new()));
    let server_first = challenge(a.step(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
    assert_eq!(
        String::from_utf8(server_first).unwrap(),
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    );
    let success = done(a.step(
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
          p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    ));
    assert_eq!(
        success.additional_data.as_deref(),
        Some(&b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="[..])
    );
}

/// A SCRAM client, to run exchanges the RFCs do not show (authzid, channel binding).
struct Client {
    hash: ScramHash,
    password: &'static str,
    gs2_header: String,
    cbind_data: Vec<u8>,
    bare: String,
}

impl Client {
    fn new(hash: ScramHash, user: &str, password: &'static str, gs2_header: &str) -> Client {
        Client {
            hash,
            password,
            gs2_header: gs2_header.to_string(),
            cbind_data: Vec::new(),
            bare: format!("n={user},r=clientnonce"),
        }
    }

    fn first(&self) -> Vec<u8> {
        format!("{}{}", self.gs2_header, self.bare).into_bytes()
    }

    fn last(&self, server_first: &[u8]) -> Vec<u8> {
        let server_first = std::str::from_utf8(server_first).unwrap();
        let mut salt = None;
        let mut iterations = None;
        let mut nonce = None;
        for attribute in server_first.split(',') {
            let (k, v) = attribute.split_once('=').unwrap();
            match k {
                "r" => nonce = Some(v.to_string()),
                "s" => salt = Some(BASE64.decode(v).unwrap()),
                "i" => iterations = Some(v.parse::<NonZeroU32>().unwrap()),
                _ => {}
            }
        }
        let keys = ScramCredentials::derive(
            self.password.as_bytes(),
            &salt.unwrap(),
            iterations.unwrap(),
            self.hash,
        );
        let mut cbind = self.gs2_header.clone().into_bytes();
        cbind.extend_from_slice(&self.cbind_data);
        let without_proof = format!("c={},r={}", BASE64.encode(cbind), nonce.unwrap());
        let auth_message = format!("{},{server_first},{without_proof}", self.bare);
        let salted = self.hash_password(&keys);
        let client_key = self.hash.hmac(&salted, b"Client Key");
        let signature = self
            .hash
            .hmac(keys.stored_key.expose(), auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(k, s)| k ^ s)
            .collect();
        format!("{without_proof},p={}", BASE64.encode(proof)).into_bytes()
    }

    /// SaltedPassword, recomputed from the password (the client side of RFC 5802 §3).
    fn hash_password(&self, keys: &ScramCredentials) -> Vec<u8> {
        let mut salted = self.hash.hmac(
            self.password.as_bytes(),
            &[keys.salt.clone(), vec![0, 0, 0, 1]].concat(),
        );
        let mut u = salted.clone();
        for _ in 1..keys.iterations.get() {
            u = self.hash.hmac(self.password.as_bytes(), &u);
            salted.iter_mut().zip(&u).for_each(|(s, x)| *s ^= x);
        }
        salted
    }
}

fn run_scram(a: &mut Authenticator, client: &Client) -> Step {
    let server_first = challenge(a.step(&client.first()));
    a.step(&client.last(&server_first))
}

#[test]
fn scram_sha256_with_an_authzid_names_both_identities() {
    let mut a = auth(Mechanism::ScramSha256, rfc_users());
    let client = Client::new(ScramHash::Sha256, "bob", "secret", "n,a=ad=3Dmin=2Cx,");
    let success = done(run_scram(&mut a, &client));
    assert_eq!(success.authcid, "bob");
    assert_eq!(success.authzid.as_deref(), Some("ad=min,x"));
}

#[test]
fn scram_with_a_wrong_password_fails_with_invalid_proof() {
    let mut a = auth(Mechanism::ScramSha1, rfc_users());
    let failure = failed(run_scram(
        &mut a,
        &Client::new(ScramHash::Sha1, "bob", "wrong", "n,,"),
    ));
    assert_eq!(failure.reason(), &FailureReason::WrongCredentials);
    assert_eq!(failure.additional_data(), Some(&b"e=invalid-proof"[..]));
}

#[test]
fn scram_missing_user_and_wrong_password_look_the_same_to_the_client() {
    let exchange = |user: &str| {
        let mut a = auth(Mechanism::ScramSha256, rfc_users());
        let client = Client::new(ScramHash::Sha256, user, "wrong", "n,,");
        let server_first = String::from_utf8(challenge(a.step(&client.first()))).unwrap();
        let failure = failed(a.step(&client.last(server_first.as_bytes())));
        let shape: Vec<(String, usize)> = server_first
            .split(',')
            .map(|attr| (attr[..2].to_string(), attr.len()))
            .collect();
        let iterations = server_first.rsplit_once(",i=").unwrap().1.to_string();
        (
            shape,
            iterations,
            failure.additional_data().map(<[u8]>::to_vec),
            failure,
        )
    };
    let (known_shape, known_i, known_data, known) = exchange("bob");
    let (missing_shape, missing_i, missing_data, missing) = exchange("nobody");
    assert_eq!(known_shape, missing_shape, "same attributes, same lengths");
    assert_eq!(known_i, missing_i);
    assert_eq!(known_data, missing_data);
    // Only the log tells them apart.
    assert_eq!(known.reason(), &FailureReason::WrongCredentials);
    assert_eq!(missing.reason(), &FailureReason::UnknownUser);
}

#[test]
fn scram_missing_user_gets_the_same_salt_every_time_and_no_password_works() {
    let salt_of = |user: &str| {
        let mut a = auth(Mechanism::ScramSha1, rfc_users());
        let first = challenge(a.step(format!("n,,n={user},r=abc").as_bytes()));
        String::from_utf8(first)
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(salt_of("nobody"), salt_of("nobody"));
    assert_ne!(salt_of("nobody"), salt_of("nobody2"));
    let mut a = auth(Mechanism::ScramSha1, rfc_users());
    let failure = failed(run_scram(
        &mut a,
        &Client::new(ScramHash::Sha1, "nobody", "", "n,,"),
    ));
    assert_eq!(failure.reason(), &FailureReason::UnknownUser);
}

#[test]
fn scram_rejects_a_tampered_final_message() {
    let client = Client::new(ScramHash::Sha256, "bob", "secret", "n,,");
    let tamper = |edit: &dyn Fn(String) -> String| {
        let mut a = auth(Mechanism::ScramSha256, rfc_users());
        let server_first = challenge(a.step(&client.first()));
        let last = String::from_utf8(client.last(&server_first)).unwrap();
        failed(a.step(edit(last).as_bytes()))
    };
    // Another nonce.
    let f = tamper(&|m| m.replacen("r=clientnonce", "r=clientnoncf", 1));
    assert_eq!(f.additional_data(), Some(&b"e=other-error"[..]));
    // A proof with one bit flipped.
    let f = tamper(&|m| {
        let (head, proof) = m.rsplit_once(",p=").unwrap();
        let mut p = BASE64.decode(proof).unwrap();
        p[0] ^= 1;
        format!("{head},p={}", BASE64.encode(p))
    });
    assert_eq!(f.reason(), &FailureReason::WrongCredentials);
    // A short proof.
    let f = tamper(&|m| format!("{},p=AAAA", m.rsplit_once(",p=").unwrap().0));
    assert_eq!(f.reason(), &FailureReason::WrongCredentials);
    // No proof at all.
    let f = tamper(&|m| m.rsplit_once(",p=").unwrap().0.to_string());
    assert_eq!(f.additional_data(), Some(&b"e=invalid-encoding"[..]));
    // c= claiming another gs2 header than the first message's.
    let f = tamper(&|m| m.replacen("c=biws", "c=eSws", 1));
    assert_eq!(f.reason(), &FailureReason::ChannelBindingMismatch);
}

#[test]
fn scram_refuses_mandatory_extensions_and_bad_names() {
    let first_fails =
        |message: &[u8]| failed(auth(Mechanism::ScramSha1, rfc_users()).step(message));
    let f = first_fails(b"n,,m=ext,n=bob,r=abc");
    assert_eq!(
        f.additional_data(),
        Some(&b"e=extensions-not-supported"[..])
    );
    let f = first_fails(b"n,,n=b=2Xob,r=abc");
    assert_eq!(
        f.additional_data(),
        Some(&b"e=invalid-username-encoding"[..])
    );
    let f = first_fails(b"n,,n=,r=abc");
    assert_eq!(
        f.additional_data(),
        Some(&b"e=invalid-username-encoding"[..])
    );
    for bad in [
        &b"n,,n=bob"[..],
        b"n,,n=bob,r=",
        b"x,,n=bob,r=a",
        b"n,n=bob,r=a",
        b"n,,r=a,n=bob",
    ] {
        assert_eq!(
            first_fails(bad).additional_data(),
            Some(&b"e=invalid-encoding"[..]),
            "{bad:?}"
        );
    }
    // A nonce with a byte outside `printable`.
    assert_eq!(
        first_fails(b"n,,n=bob,r=a\x7f").reason(),
        &FailureReason::Malformed("SCRAM message syntax")
    );
}

// ---- SCRAM channel binding (RFC 5802 §6) ----

fn tls_setup(bindings: &[(ChannelBindingType, &[u8])]) -> Setup {
    let mut s = setup(rfc_users(), "servernonce");
    s.channel_bindings = bindings
        .iter()
        .map(|(kind, data)| ChannelBinding {
            kind: *kind,
            data: data.to_vec(),
        })
        .collect();
    s
}

#[test]
fn scram_plus_checks_the_channel_binding_data() {
    let exporter = (
        ChannelBindingType::TlsExporter,
        &b"exported keying material 32 byte"[..],
    );
    let mut client = Client::new(ScramHash::Sha256, "bob", "secret", "p=tls-exporter,,");
    client.cbind_data = exporter.1.to_vec();
    let mut a = Authenticator::new(Mechanism::ScramSha256Plus, tls_setup(&[exporter])).unwrap();
    assert_eq!(done(run_scram(&mut a, &client)).authcid, "bob");

    // The same client on a connection whose binding differs (a man in the middle).
    let other = (
        ChannelBindingType::TlsExporter,
        &b"another connection's material..."[..],
    );
    let mut a = Authenticator::new(Mechanism::ScramSha256Plus, tls_setup(&[other])).unwrap();
    let failure = failed(run_scram(&mut a, &client));
    assert_eq!(failure.reason(), &FailureReason::ChannelBindingMismatch);
    assert_eq!(
        failure.additional_data(),
        Some(&b"e=channel-bindings-dont-match"[..])
    );
}

#[test]
fn scram_plus_refuses_a_binding_type_it_does_not_offer_and_plain_flags() {
    let endpoint = (ChannelBindingType::TlsServerEndPoint, &b"cert hash"[..]);
    let first = |message: &[u8]| {
        let mut a = Authenticator::new(Mechanism::ScramSha1Plus, tls_setup(&[endpoint])).unwrap();
        a.step(message)
    };
    assert!(matches!(
        first(b"p=tls-server-end-point,,n=bob,r=a"),
        Step::Challenge(_)
    ));
    let f = failed(first(b"p=tls-exporter,,n=bob,r=a"));
    assert_eq!(
        f.additional_data(),
        Some(&b"e=unsupported-channel-binding-type"[..])
    );
    for flag in ["n", "y"] {
        let f = failed(first(format!("{flag},,n=bob,r=a").as_bytes()));
        assert_eq!(f.reason(), &FailureReason::ChannelBindingRefused);
    }
}

#[test]
fn scram_refuses_y_when_the_server_offers_plus_and_accepts_it_otherwise() {
    let client = Client::new(ScramHash::Sha256, "bob", "secret", "y,,");
    let endpoint = (ChannelBindingType::TlsServerEndPoint, &b"cert hash"[..]);
    let mut a = Authenticator::new(Mechanism::ScramSha256, tls_setup(&[endpoint])).unwrap();
    let f = failed(a.step(&client.first()));
    assert_eq!(f.reason(), &FailureReason::Downgrade);
    assert_eq!(
        f.additional_data(),
        Some(&b"e=server-does-support-channel-binding"[..])
    );

    let mut a = Authenticator::new(Mechanism::ScramSha256, tls_setup(&[])).unwrap();
    assert_eq!(done(run_scram(&mut a, &client)).authcid, "bob");
    // `p` in a mechanism without -PLUS is refused.
    let mut a = Authenticator::new(Mechanism::ScramSha256, tls_setup(&[endpoint])).unwrap();
    let f = failed(a.step(b"p=tls-server-end-point,,n=bob,r=a"));
    assert_eq!(f.reason(), &FailureReason::ChannelBindingRefused);
}

#[test]
fn plus_mechanisms_and_external_cannot_start_without_what_they_need() {
    let need = |m| Authenticator::new(m, setup(rfc_users(), "n")).err();
    assert_eq!(
        need(Mechanism::ScramSha1Plus),
        Some(SetupError::NoChannelBinding(Mechanism::ScramSha1Plus))
    );
    assert_eq!(
        need(Mechanism::ScramSha256Plus),
        Some(SetupError::NoChannelBinding(Mechanism::ScramSha256Plus))
    );
    assert_eq!(
        need(Mechanism::External),
        Some(SetupError::NoExternalIdentity)
    );
}

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

// ---- the exchange as a whole ----

#[test]
fn a_step_after_the_end_fails() {
    let mut a = auth(Mechanism::Plain, rfc_users());
    done(a.step(b"\0bob\0secret"));
    assert_eq!(
        failed(a.step(b"\0bob\0secret")).reason(),
        &FailureReason::ExchangeOver
    );
    assert_eq!(failed(a.start()).reason(), &FailureReason::ExchangeOver);
    let mut a = auth(Mechanism::Login, rfc_users());
    challenge(a.step(b"bob"));
    assert_eq!(failed(a.start()).reason(), &FailureReason::ExchangeOver);
}

#[test]
fn authenticator_can_move_to_a_hashing_thread() {
    fn send<T: Send>() {}
    send::<Authenticator>();
}

#[test]
fn scram_bounds_the_user_name_and_the_nonce() {
    let long = "x".repeat(MAX_FIELD_LEN + 1);
    for message in [
        format!("n,,n={long},r=a"),
        format!("n,,n=bob,r={long}"),
        format!("n,a={long},n=bob,r=a"),
    ] {
        let f = failed(auth(Mechanism::ScramSha1, rfc_users()).step(message.as_bytes()));
        assert_eq!(f.reason(), &FailureReason::TooLong);
    }
}

#[test]
fn scram_without_a_server_nonce_refuses_to_run() {
    let mut a = Authenticator::new(Mechanism::ScramSha1, setup(rfc_users(), ",\n")).unwrap();
    assert!(failed(a.step(b"n,,n=bob,r=abc")).is_unavailable());
}

#[test]
fn failures_never_show_the_password() {
    let f = failed(plain(b"\0bob\0hunter2"));
    assert!(!format!("{f:?} {}", f.reason()).contains("hunter2"));
}
