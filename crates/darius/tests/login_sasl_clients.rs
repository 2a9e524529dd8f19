//! Real SASL clients: Cyrus SASL's `imtest` (Debian `cyrus-clients`) logs in with each
//! mechanism over STARTTLS and IMAPS, and a wrong secret is refused for each; EXTERNAL with a
//! client certificate from the configured CA (STARTTLS with `imtest`, IMAPS with Python's
//! `imaplib`); and the brute-force penalty seen from two client addresses. Skipped without
//! `imtest` unless DARIUS_REQUIRE_INTEROP=1.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

fn imtest_installed() -> bool {
    common::imtest::installed(&[])
}

/// How one `imtest` run ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Authenticated,
    Failed,
}

/// Runs `imtest` with `args` against 127.0.0.1:`port`.
fn imtest(args: &[&str], port: u16) -> (Outcome, String) {
    let (authenticated, text) = common::imtest::run(args, &[], "127.0.0.1", port);
    let outcome = if authenticated {
        Outcome::Authenticated
    } else {
        Outcome::Failed
    };
    (outcome, text)
}

/// A CA, and a client certificate it signed for `cn` (PEM: certificate then key, as `imtest
/// -t` wants), written under `dir`. Returns (CA file, client file).
fn client_certificates(dir: &Path, cn: &str) -> (PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Darius test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let client = dir.join(format!("{cn}.pem"));
    std::fs::write(&client, format!("{}{}", cert.pem(), key.serialize_pem())).unwrap();
    (ca_file, client)
}

#[test]
fn imtest_logs_in_with_each_mechanism_over_starttls_and_imaps() {
    if !imtest_installed() {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (ca, alice_cert) = client_certificates(certs.path(), "alice");
    let server = common::Server::start_with(&format!(
        "auth_failure_delay: 0\nauth_failures_per_host: 0\nallowanonymouslogin: 1\n\
         sasl_mech_list: SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN ANONYMOUS EXTERNAL\n\
         tls_client_ca_file: {}\n",
        ca.display()
    ));
    server.add_user("alice", "pw-alice");
    let transports: [(&str, &[&str], u16); 2] = [
        ("STARTTLS", &["-t", ""], server.imap_port),
        ("IMAPS", &["-s"], server.imaps_port),
    ];
    // `-m login` is IMAP's LOGIN command; the rest are SASL mechanisms. SCRAM and CRAM-MD5
    // prove the secrets `user add` stored (CRAM-MD5's because the mechanism list names it).
    let mechanisms = ["PLAIN", "login", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5"];
    for (transport, tls, port) in transports {
        for mech in mechanisms {
            let mut args = tls.to_vec();
            args.extend(["-m", mech, "-a", "alice", "-w", "pw-alice"]);
            let (outcome, text) = imtest(&args, port);
            assert_eq!(
                outcome,
                Outcome::Authenticated,
                "{mech} over {transport}:\n{text}"
            );
            let mut args = tls.to_vec();
            args.extend(["-m", mech, "-a", "alice", "-w", "wrong"]);
            let (outcome, text) = imtest(&args, port);
            assert_eq!(
                outcome,
                Outcome::Failed,
                "wrong {mech} over {transport}:\n{text}"
            );
        }
        let mut args = tls.to_vec();
        args.extend(["-m", "ANONYMOUS", "-a", "guest@example.org"]);
        let (outcome, text) = imtest(&args, port);
        assert_eq!(
            outcome,
            Outcome::Authenticated,
            "ANONYMOUS over {transport}:\n{text}"
        );
    }

    // EXTERNAL: the certificate's CN is the user; without a certificate it is not offered.
    let cert = alice_cert.display().to_string();
    let (outcome, text) = imtest(&["-t", &cert, "-m", "EXTERNAL"], server.imap_port);
    assert_eq!(outcome, Outcome::Authenticated, "EXTERNAL:\n{text}");
    assert!(
        server.logged("alice EXTERNAL User logged in"),
        "{}",
        server.log()
    );
    let (outcome, text) = imtest(&["-t", "", "-m", "EXTERNAL"], server.imap_port);
    assert_eq!(
        outcome,
        Outcome::Failed,
        "EXTERNAL without a certificate:\n{text}"
    );
    // A certificate from another CA does not get through the handshake.
    let other = tempfile::tempdir().unwrap();
    let (_, stranger) = client_certificates(other.path(), "alice");
    let stranger = stranger.display().to_string();
    let (outcome, text) = imtest(&["-t", &stranger, "-m", "EXTERNAL"], server.imap_port);
    assert_eq!(
        outcome,
        Outcome::Failed,
        "a stranger's certificate:\n{text}"
    );
    // IMAPS with a client certificate, from Python's imaplib.
    common::run_python(
        &server,
        "sasl_external.py",
        &[
            ("CLIENT_CERT", &cert),
            ("STRANGER_CERT", &stranger),
            ("EXPECT_USER", "alice"),
        ],
    );
}

#[test]
fn fifty_wrong_passwords_slow_that_address_and_not_another() {
    // Loopback is not exempt here, and the per-host refusal is off, so that what is measured
    // is the penalty alone.
    let server = common::Server::start_with(
        "auth_failure_delay: 500\nauth_failures_per_host: 0\n\
         client_limit_exceptions: 192.0.2.0/24\n",
    );
    server.add_user("alice", "pw-alice");
    common::run_python(&server, "login_penalty.py", &[]);
}

#[test]
fn oauth_bearer_tokens_log_in_through_imaplib() {
    if !common::have("openssl") {
        return;
    }
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../auth/tests/fixtures/oauth");
    let server = common::Server::start_with(&format!(
        "auth_failure_delay: 0\noauth_jwks_file: {}\noauth_audience: darius-test\n",
        keys.join("jwks.json").display()
    ));
    server.add_user("bob", "pw-bob");
    server.add_user("alice", "pw-alice");
    common::run_python(
        &server,
        "oauth_imap.py",
        &[("OAUTH_KEYS", &keys.display().to_string())],
    );
}
