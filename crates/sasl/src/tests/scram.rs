//! SCRAM (RFC 5802, RFC 7677): the RFC examples, a client for the exchanges they do not show,
//! and channel binding (RFC 5802 §6).

use std::num::NonZeroU32;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use super::*;

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
