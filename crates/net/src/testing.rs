//! Test support for other crates (feature `testing`): a throwaway certificate authority that
//! issues server certificates for loopback, and a [`Tap`], a TCP relay that records what a
//! client sends to a server, so a test can see whether a connection was encrypted. Being
//! test support, failures panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::client_tls::{load_client_config, ClientTls, ClientTlsFiles, ClientTlsMode};
use crate::ServerTls;

/// A certificate authority whose files live in a directory of the test's.
pub struct TestCa {
    name: String,
    dir: PathBuf,
    certificate: rcgen::Certificate,
    key: KeyPair,
}

impl TestCa {
    /// A new CA named `name`, its certificate written to `dir/NAME-ca.pem`.
    pub fn new(dir: &Path, name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        let key = KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        std::fs::create_dir_all(dir).unwrap();
        let ca = TestCa {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            certificate,
            key,
        };
        std::fs::write(ca.ca_file(), ca.certificate.pem()).unwrap();
        ca
    }

    /// The PEM file of the CA's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join(format!("{}-ca.pem", self.name))
    }

    /// A server certificate for `127.0.0.1` and `localhost` signed by this CA, as a server
    /// loads it (`tls_server_cert`, `tls_server_key`, written as `dir/NAME-SERVER.pem`).
    pub fn server(&self, server: &str) -> ServerTls {
        self.server_named(server, &["127.0.0.1", "localhost"])
    }

    /// A server certificate for `names` (host names or IP addresses) signed by this CA.
    pub fn server_named(&self, server: &str, names: &[&str]) -> ServerTls {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let params = CertificateParams::new(names).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params
            .signed_by(&key, &self.certificate, &self.key)
            .unwrap();
        let cert_file = self.dir.join(format!("{}-{server}.pem", self.name));
        let key_file = self.dir.join(format!("{}-{server}.key", self.name));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        crate::load_server_config(&cert_file, &key_file, None).unwrap()
    }

    /// A client that trusts this CA only, under `mode`.
    pub fn client(&self, mode: ClientTlsMode) -> ClientTls {
        let files = ClientTlsFiles {
            ca_file: Some(self.ca_file()),
            ..ClientTlsFiles::default()
        };
        ClientTls::new(mode, load_client_config(&files).unwrap())
    }
}

/// A relay in front of a server that keeps every byte its clients sent.
pub struct Tap {
    /// Where clients connect instead of the server.
    pub addr: SocketAddr,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl Tap {
    /// A relay to `server`, on a loopback port of its own; runs on the current runtime.
    pub async fn start(server: SocketAddr) -> Tap {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&sent);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(upstream) = TcpStream::connect(server).await else {
                    continue;
                };
                tokio::spawn(relay(client, upstream, Arc::clone(&kept)));
            }
        });
        Tap { addr, sent }
    }

    /// Everything clients sent so far, all connections one after the other.
    pub fn sent(&self) -> Vec<u8> {
        self.sent.lock().unwrap().clone()
    }

    /// Whether clients sent `text` in the clear.
    pub fn saw(&self, text: &str) -> bool {
        let sent = self.sent();
        sent.windows(text.len()).any(|w| w == text.as_bytes())
    }
}

/// Copies both ways, keeping what goes to the server.
async fn relay(client: TcpStream, server: TcpStream, sent: Arc<Mutex<Vec<u8>>>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            sent.lock().unwrap().extend_from_slice(&buf[..n]);
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let down = async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(up, down);
}
