//! A raw ManageSieve client for the tests (RFC 5804): sends lines and literals, reads
//! responses up to their `OK`/`NO`/`BYE`, literals (`{n}`) included; over TCP, or over TLS
//! after STARTTLS.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

pub trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

pub struct Client {
    stream: Box<dyn Stream>,
}

/// A response: the data lines before the status line (literals inlined), and that line.
#[derive(Debug)]
pub struct Reply {
    pub data: Vec<String>,
    pub status: String,
}

impl Reply {
    pub fn ok(&self) -> bool {
        self.status.starts_with("OK")
    }
}

impl Client {
    /// Connects and reads the greeting (the capability listing and `OK`).
    pub fn connect(port: u16) -> (Client, Reply) {
        Client::connect_to("127.0.0.1".parse().unwrap(), port)
    }

    /// [`Client::connect`] to `ip` (a client that is not on loopback).
    pub fn connect_to(ip: std::net::IpAddr, port: u16) -> (Client, Reply) {
        let tcp = TcpStream::connect((ip, port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut client = Client {
            stream: Box::new(tcp),
        };
        let greeting = client.reply().unwrap();
        assert!(greeting.ok(), "{greeting:?}");
        (client, greeting)
    }

    /// Connects and authenticates with PLAIN (authzid, authcid, password).
    pub fn login(port: u16, authzid: &str, user: &str, password: &str) -> Client {
        let (mut client, _) = Client::connect(port);
        let reply = client.plain(authzid, user, password);
        assert!(reply.ok(), "{reply:?}");
        client
    }

    /// `AUTHENTICATE "PLAIN" "base64"` with the initial response.
    pub fn plain(&mut self, authzid: &str, user: &str, password: &str) -> Reply {
        let b64 = base64::engine::general_purpose::STANDARD
            .encode(format!("{authzid}\0{user}\0{password}"));
        self.cmd(&format!("AUTHENTICATE \"PLAIN\" \"{b64}\""))
    }

    /// STARTTLS, the TLS handshake (the test server's certificate trusted) and the capability
    /// listing the server sends again.
    pub fn starttls(mut self, cert: &std::path::Path) -> (Client, Reply) {
        let reply = self.cmd("STARTTLS");
        assert!(reply.ok(), "{reply:?}");
        let cert = CertificateDer::from_pem_file(cert).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(cert).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let conn =
            ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
        let mut tls = StreamOwned::new(conn, self.stream);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock).unwrap();
        }
        let mut client = Client {
            stream: Box::new(tls),
        };
        let caps = client.reply().unwrap();
        (client, caps)
    }

    pub fn send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok() && self.stream.flush().is_ok()
    }

    /// Sends `line` with CRLF and reads the reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        assert!(self.send(format!("{line}\r\n").as_bytes()));
        self.reply().unwrap()
    }

    /// `KEYWORD args… {n+}` CRLF `script` CRLF, and the reply.
    pub fn with_literal(&mut self, head: &str, script: &[u8]) -> Reply {
        let mut out = format!("{head} {{{}+}}\r\n", script.len()).into_bytes();
        out.extend_from_slice(script);
        out.extend_from_slice(b"\r\n");
        assert!(self.send(&out));
        self.reply().unwrap()
    }

    fn byte(&mut self) -> Option<u8> {
        let mut b = [0u8; 1];
        match self.stream.read(&mut b) {
            Ok(1) => Some(b[0]),
            _ => None,
        }
    }

    /// One line, with the literals it announces read into it; `None` at EOF.
    fn line(&mut self) -> Option<String> {
        let mut out = Vec::new();
        loop {
            let b = self.byte()?;
            out.push(b);
            if b != b'\n' {
                continue;
            }
            let text = String::from_utf8_lossy(&out).to_string();
            let Some(n) = literal_size(text.trim_end()) else {
                return Some(text.trim_end().to_string());
            };
            for _ in 0..n {
                out.push(self.byte()?);
            }
        }
    }

    /// Lines up to and including the status line; `None` when the connection ends first.
    pub fn reply(&mut self) -> Option<Reply> {
        let mut data = Vec::new();
        loop {
            let line = self.line()?;
            if ["OK", "NO", "BYE"]
                .iter()
                .any(|s| line == *s || line.starts_with(&format!("{s} ")))
            {
                return Some(Reply { data, status: line });
            }
            data.push(line);
        }
    }

    /// Whether the server closed the connection (reads EOF).
    pub fn closed(&mut self) -> bool {
        self.byte().is_none()
    }
}

fn literal_size(line: &str) -> Option<usize> {
    let inner = line.strip_suffix('}')?;
    let open = inner.rfind('{')?;
    inner[open + 1..].parse().ok()
}
