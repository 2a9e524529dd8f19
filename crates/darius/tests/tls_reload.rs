//! SIGHUP reads the TLS certificate and key again, and `admins` and `quotawarn` for what
//! comes after: a session opened before (IMAPS, in IDLE)
//! stays connected and keeps working, new connections are shown the new certificate; a key
//! that does not read leaves the certificate in use; options changed in the file that take
//! effect only at a restart are named in the log.
#![allow(clippy::unwrap_used)]

mod common;

use common::line;

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A client trusting every certificate in `pems` (the old and the new one).
fn client(pems: &[&str]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for pem in pems {
        roots
            .add(CertificateDer::from_pem_slice(pem.as_bytes()).unwrap())
            .unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Every connection a full handshake: a resumed one shows the certificate it began with.
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// An IMAPS connection, its greeting read: the stream and the certificate it was shown.
fn connect(port: u16, config: &Arc<ClientConfig>) -> (Tls, Vec<u8>) {
    let conn = ClientConnection::new(Arc::clone(config), "localhost".try_into().unwrap()).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    assert!(line(&mut tls).starts_with("* OK"));
    let shown = tls.conn.peer_certificates().unwrap()[0].as_ref().to_vec();
    (tls, shown)
}

fn der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec()
}

fn hup(server: &common::Server) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Connects until the certificate shown is `want` (the reload is asynchronous to the signal).
fn until_shown(port: u16, config: &Arc<ClientConfig>, want: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, shown) = connect(port, config);
        if shown == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate is never shown"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sighup_replaces_the_certificate_for_new_connections_and_keeps_sessions() {
    let mut server = common::Server::start_with("");
    server.add_user("bob", "pw-bob");
    let old = std::fs::read_to_string(server.cert_path()).unwrap();
    let pair =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let new = pair.cert.pem();
    let config = client(&[&old, &new]);

    // A session before: logged in, idling.
    let (mut before, shown) = connect(server.imaps_port, &config);
    assert_eq!(shown, der(&old));
    before.write_all(b"a LOGIN bob pw-bob\r\n").unwrap();
    assert!(line(&mut before).starts_with("a OK"));
    before.write_all(b"b SELECT INBOX\r\n").unwrap();
    while !line(&mut before).starts_with("b OK") {}
    before.write_all(b"c IDLE\r\n").unwrap();
    assert!(line(&mut before).starts_with('+'));

    // The new pair on disk, and an option changed that needs a restart.
    let dir = server.dir.path();
    std::fs::write(dir.join("cert.pem"), &new).unwrap();
    std::fs::write(dir.join("key.pem"), pair.key_pair.serialize_pem()).unwrap();
    let mut conf = std::fs::read_to_string(&server.conf).unwrap();
    conf.push_str("timeout: 45\n");
    std::fs::write(&server.conf, conf).unwrap();
    hup(&server);
    until_shown(server.imaps_port, &config, &der(&new));
    assert!(server.logged("TLS certificate"), "{}", server.log());
    assert!(
        server.logged("taking effect only at a restart: timeout"),
        "{}",
        server.log()
    );

    // The session from before goes on over its own TLS.
    before.write_all(b"DONE\r\n").unwrap();
    assert!(line(&mut before).starts_with("c OK"));
    before.write_all(b"d NOOP\r\n").unwrap();
    assert!(line(&mut before).starts_with("d OK"));

    // A key that does not read: the certificate in use stays.
    std::fs::write(dir.join("key.pem"), "not a key").unwrap();
    hup(&server);
    assert!(
        server.logged("the certificate in use stays"),
        "{}",
        server.log()
    );
    let (mut after, shown) = connect(server.imaps_port, &config);
    assert_eq!(shown, der(&new));
    after.write_all(b"e LOGIN bob pw-bob\r\n").unwrap();
    assert!(line(&mut after).starts_with("e OK"));
    drop(before);
    drop(after);
    assert_eq!(server.stop(), Some(0));
}

/// Sends `command` on a fresh plain IMAP session of `user`: the tagged answer.
fn as_user(port: u16, user: &str, password: &str, command: &str) -> String {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    assert!(line(&mut tcp).starts_with("* OK"));
    tcp.write_all(format!("a LOGIN {user} {password}\r\n").as_bytes())
        .unwrap();
    loop {
        let l = line(&mut tcp);
        if l.starts_with("a ") {
            assert!(l.starts_with("a OK"), "{l}");
            break;
        }
    }
    tcp.write_all(format!("b {command}\r\n").as_bytes())
        .unwrap();
    loop {
        let l = line(&mut tcp);
        if l.starts_with("b ") {
            return l;
        }
    }
}

#[test]
fn sighup_reads_admins_again_for_later_logins() {
    let mut server = common::Server::start_with("");
    server.add_user("bob", "pw-bob");
    let setquota = "SETQUOTA user.bob (STORAGE 1000)";
    let answer = as_user(server.imap_port, "bob", "pw-bob", setquota);
    assert!(answer.starts_with("b NO"), "{answer}");
    let conf = std::fs::read_to_string(&server.conf)
        .unwrap()
        .replace("admins: admin\n", "admins: admin bob\n");
    std::fs::write(&server.conf, conf).unwrap();
    hup(&server);
    assert!(
        server.logged("admins is now: admin bob"),
        "{}",
        server.log()
    );
    let answer = as_user(server.imap_port, "bob", "pw-bob", setquota);
    assert!(answer.starts_with("b OK"), "{answer}");
    // admins changed live: not listed among the options that wait for a restart.
    assert!(
        !server.log().contains("only at a restart: admins"),
        "{}",
        server.log()
    );

    // quotawarn too: one message of four is below the default 90 %, above 20 %.
    let answer = as_user(
        server.imap_port,
        "bob",
        "pw-bob",
        "SETQUOTA user.bob (MESSAGE 4)",
    );
    assert!(answer.starts_with("b OK"), "{answer}");
    let message = "Subject: x\r\n\r\nbody";
    let append = format!("APPEND INBOX {{{}+}}\r\n{message}", message.len());
    let answer = as_user(server.imap_port, "bob", "pw-bob", &append);
    assert!(answer.starts_with("b OK"), "{answer}");
    let select = |server: &common::Server| -> Vec<String> {
        let mut tcp = TcpStream::connect(("127.0.0.1", server.imap_port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        line(&mut tcp);
        tcp.write_all(b"a LOGIN bob pw-bob\r\nb SELECT INBOX\r\n")
            .unwrap();
        let mut lines = Vec::new();
        loop {
            let l = line(&mut tcp);
            if l.starts_with("b ") {
                return lines;
            }
            lines.push(l);
        }
    };
    let lines = select(&server);
    assert!(!lines.iter().any(|l| l.contains("[ALERT]")), "{lines:?}");
    let conf = std::fs::read_to_string(&server.conf).unwrap() + "quotawarn: 20\n";
    std::fs::write(&server.conf, conf).unwrap();
    hup(&server);
    assert!(server.logged("quota warnings"), "{}", server.log());
    let lines = select(&server);
    assert!(lines.iter().any(|l| l.contains("[ALERT]")), "{lines:?}");
    assert_eq!(server.stop(), Some(0));
}
