//! SCRAM-SHA-256-PLUS over real TLS (rustls as the client, `sasl::client` for the SCRAM side):
//! bound to the connection with `tls-exporter` (RFC 9266) and with `tls-server-end-point`
//! (RFC 5929), both over IMAPS and after STARTTLS; binding data from another connection fails;
//! and a client saying it could bind (`y`) while the server offers -PLUS is a downgrade.
#![allow(clippy::unwrap_used)]

mod common;

use common::line;

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use sasl::client::ScramClient;
use sasl::{ChannelBindingType, ScramHash};

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// The server's certificate, trusted, and the TLS client for it.
fn client_config(server: &common::Server) -> (Arc<ClientConfig>, Vec<u8>) {
    let cert = CertificateDer::from_pem_file(server.cert_path()).unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(config), cert.as_ref().to_vec())
}

/// A TLS connection over IMAPS, or over IMAP after STARTTLS; the greeting (or the STARTTLS
/// answer) has been read.
fn connect(server: &common::Server, starttls: bool) -> Tls {
    let (config, _) = client_config(server);
    let name = "localhost".try_into().unwrap();
    let conn = ClientConnection::new(config, name).unwrap();
    if starttls {
        let mut tcp = TcpStream::connect(("127.0.0.1", server.imap_port)).unwrap();
        assert!(line(&mut tcp).starts_with("* OK"));
        tcp.write_all(b"s STARTTLS\r\n").unwrap();
        assert!(line(&mut tcp).starts_with("s OK"));
        let mut tls = StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock).unwrap();
        }
        tls
    } else {
        let tcp = TcpStream::connect(("127.0.0.1", server.imaps_port)).unwrap();
        let mut tls = StreamOwned::new(conn, tcp);
        assert!(line(&mut tls).starts_with("* OK"));
        tls
    }
}

/// The connection's binding data of `kind`, as the client computes it.
fn binding(tls: &Tls, kind: ChannelBindingType, server_cert: &[u8]) -> Vec<u8> {
    match kind {
        ChannelBindingType::TlsExporter => {
            let mut out = vec![0u8; 32];
            tls.conn
                .export_keying_material(&mut out, b"EXPORTER-Channel-Binding", Some(&[]))
                .unwrap();
            out
        }
        // The test certificate is ECDSA with SHA-256 (rcgen's default): SHA-256 of it.
        ChannelBindingType::TlsServerEndPoint => {
            use sha2::Digest;
            sha2::Sha256::digest(server_cert).to_vec()
        }
    }
}

/// Runs AUTHENTICATE `mechanism` with `client` and bob's password: the tagged answer.
fn scram(tls: &mut Tls, mechanism: &str, mut client: ScramClient) -> String {
    let first = B64.encode(client.client_first());
    tls.write_all(format!("a AUTHENTICATE {mechanism} {first}\r\n").as_bytes())
        .unwrap();
    let challenge = line(tls);
    let Some(server_first) = challenge.strip_prefix("+ ") else {
        return challenge;
    };
    let server_first = B64.decode(server_first.trim_end()).unwrap();
    let last = client.respond(&server_first, b"pw-bob").unwrap();
    tls.write_all(format!("{}\r\n", B64.encode(last)).as_bytes())
        .unwrap();
    let answer = line(tls);
    let Some(server_final) = answer.strip_prefix("+ ") else {
        return answer;
    };
    let server_final = B64.decode(server_final.trim_end()).unwrap();
    client.server_final(&server_final).unwrap();
    tls.write_all(b"\r\n").unwrap();
    line(tls)
}

#[test]
fn scram_plus_binds_to_the_tls_connection() {
    let server = common::Server::start_with("auth_failure_delay: 0\n");
    server.add_user("bob", "pw-bob");
    let (_, cert) = client_config(&server);
    for starttls in [false, true] {
        for kind in [
            ChannelBindingType::TlsExporter,
            ChannelBindingType::TlsServerEndPoint,
        ] {
            let mut tls = connect(&server, starttls);
            let data = binding(&tls, kind, &cert);
            let client = ScramClient::new(ScramHash::Sha256, "bob", None)
                .unwrap()
                .with_channel_binding(kind, data);
            let answer = scram(&mut tls, "SCRAM-SHA-256-PLUS", client);
            assert!(
                answer.starts_with("a OK"),
                "{kind:?} (STARTTLS {starttls}): {answer}"
            );
        }
    }

    // Binding data of another connection (a man in the middle's) fails.
    let other = connect(&server, false);
    let foreign = binding(&other, ChannelBindingType::TlsExporter, &cert);
    let mut tls = connect(&server, false);
    let client = ScramClient::new(ScramHash::Sha256, "bob", None)
        .unwrap()
        .with_channel_binding(ChannelBindingType::TlsExporter, foreign);
    let answer = scram(&mut tls, "SCRAM-SHA-256-PLUS", client);
    assert!(
        answer.starts_with("a NO [AUTHENTICATIONFAILED]"),
        "{answer}"
    );

    // The plain mechanism without binding still works on TLS (`n`).
    let mut tls = connect(&server, false);
    let client = ScramClient::new(ScramHash::Sha256, "bob", None).unwrap();
    let answer = scram(&mut tls, "SCRAM-SHA-256", client);
    assert!(answer.starts_with("a OK"), "{answer}");

    // `y` ("I could bind, the server cannot") while -PLUS is offered: a downgrade, refused.
    let mut tls = connect(&server, false);
    let first = B64.encode("y,,n=bob,r=abcdefghijklmnop");
    tls.write_all(format!("a AUTHENTICATE SCRAM-SHA-256 {first}\r\n").as_bytes())
        .unwrap();
    let answer = line(&mut tls);
    assert!(
        answer.starts_with("a NO [AUTHENTICATIONFAILED]"),
        "{answer}"
    );
}
