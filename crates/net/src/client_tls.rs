//! TLS as a client, toward another server: a Murder frontend's connections to its backends
//! (RFC 2595 and RFC 3207, the client's side of STARTTLS), and etcd. One rustls client
//! configuration loaded from PEM files ([`load_client_config`]), the policy of when to ask for
//! TLS ([`ClientTls`], `proxy_tls`), and the byte stream that is plain until the protocol's
//! STARTTLS exchange and TLS after it ([`ClientStream`]).
//!
//! The server's certificate must chain to the configured CAs (or the system's, when none are
//! configured) and name the host or IP address the connection was made to. A certificate that
//! does not verify fails the connection, whatever the mode: there is no fallback to plain.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::{TlsError, TLS_HANDSHAKE_TIMEOUT};

/// Where a client's trust and its own certificate come from.
#[derive(Clone, Debug, Default)]
pub struct ClientTlsFiles {
    /// PEM file of the CA certificates servers' certificates must chain to; `None` trusts the
    /// system's CA certificates.
    pub ca_file: Option<PathBuf>,
    /// PEM file of the certificate chain presented to servers that ask for one (with
    /// `key_file`).
    pub cert_file: Option<PathBuf>,
    /// PEM file of the private key of `cert_file`.
    pub key_file: Option<PathBuf>,
}

/// Loads a client configuration offering TLS 1.2 and 1.3 only: the roots from `files.ca_file`
/// (or the system's), and the client certificate when both of its files are given.
pub fn load_client_config(files: &ClientTlsFiles) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = match &files.ca_file {
        Some(path) => roots_from_file(path)?,
        None => system_roots(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = match (&files.cert_file, &files.key_file) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let chain = certificates(cert)?;
            if chain.is_empty() {
                return Err(file_err(cert, "no certificate found".into()));
            }
            let key_der =
                PrivateKeyDer::from_pem_file(key).map_err(|e| file_err(key, e.to_string()))?;
            builder.with_client_auth_cert(chain, key_der)?
        }
        (Some(path), None) | (None, Some(path)) => {
            return Err(file_err(
                path,
                "a client certificate needs both its certificate and its key".into(),
            ))
        }
    };
    Ok(Arc::new(config))
}

fn file_err(path: &Path, reason: String) -> TlsError {
    TlsError::File {
        path: path.to_path_buf(),
        reason,
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    CertificateDer::pem_file_iter(path)
        .map_err(|e| file_err(path, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(path, e.to_string()))
}

/// The CA certificates of a PEM file; at least one.
fn roots_from_file(path: &Path) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in certificates(path)? {
        roots
            .add(ca)
            .map_err(|e| file_err(path, format!("a CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(file_err(path, "no CA certificate found".into()));
    }
    Ok(roots)
}

/// The system's CA certificates (on Unix, the OpenSSL bundle: `SSL_CERT_FILE`, or the
/// distribution's file). Unreadable ones are skipped. None at all is logged and leaves the
/// store empty: no server certificate then verifies, so TLS to any server fails, and a site
/// without the system's CAs names its own (`tls_server_ca_file`).
fn system_roots() -> rustls::RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map_or_else(|| "none found".to_string(), ToString::to_string);
        tracing::warn!(
            severity = "warning",
            "the system's CA certificates: {why}; no server certificate will verify"
        );
    }
    roots
}

/// When a connection to another server asks for TLS (`proxy_tls`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientTlsMode {
    /// Whenever the server offers STARTTLS; plain otherwise.
    Auto,
    /// Always: a server that does not offer STARTTLS is not used.
    On,
    /// Never.
    Off,
}

/// Why TLS to a server could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ClientTlsError {
    #[error("it does not offer STARTTLS, and TLS is required (proxy_tls: on)")]
    NotOffered,
    #[error("TLS was asked for without a TLS configuration")]
    NotConfigured,
    #[error("{0:?} is no host name or IP address to check its certificate against")]
    BadName(String),
    #[error("it sent more after its STARTTLS answer, before the TLS handshake")]
    DataBeforeHandshake,
    #[error("the TLS handshake failed: {0}")]
    Handshake(io::Error),
    #[error("the TLS handshake timed out")]
    TimedOut,
    #[error("the connection is not plain TCP")]
    NotPlain,
}

/// The policy and the configuration of TLS toward other servers.
#[derive(Clone)]
pub struct ClientTls {
    mode: ClientTlsMode,
    config: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// Never TLS.
    pub fn off() -> ClientTls {
        ClientTls {
            mode: ClientTlsMode::Off,
            config: None,
        }
    }

    /// TLS under `mode` with `config` (unused under [`ClientTlsMode::Off`]).
    pub fn new(mode: ClientTlsMode, config: Arc<ClientConfig>) -> ClientTls {
        ClientTls {
            mode,
            config: (mode != ClientTlsMode::Off).then_some(config),
        }
    }

    /// The mode.
    pub fn mode(&self) -> ClientTlsMode {
        self.mode
    }

    /// Whether to send STARTTLS to a server that does (`offered`) or does not offer it;
    /// under [`ClientTlsMode::On`] a server that does not is an error.
    pub fn wanted(&self, offered: bool) -> Result<bool, ClientTlsError> {
        match (self.mode, offered) {
            (ClientTlsMode::Off, _) => Ok(false),
            (ClientTlsMode::Auto, offered) => Ok(offered),
            (ClientTlsMode::On, true) => Ok(true),
            (ClientTlsMode::On, false) => Err(ClientTlsError::NotOffered),
        }
    }

    /// The client side of a TLS handshake on `tcp`, connected to `address` (`host:port`, as
    /// the directory gives it), whose host name or IP address the certificate must name;
    /// within [`TLS_HANDSHAKE_TIMEOUT`].
    pub async fn handshake(
        &self,
        tcp: TcpStream,
        address: &str,
    ) -> Result<TlsStream<TcpStream>, ClientTlsError> {
        let config = self.config.clone().ok_or(ClientTlsError::NotConfigured)?;
        let name = server_name(address)?;
        let connector = tokio_rustls::TlsConnector::from(config);
        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, connector.connect(name, tcp)).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(ClientTlsError::Handshake(e)),
            Err(_) => Err(ClientTlsError::TimedOut),
        }
    }
}

/// The name a server's certificate must carry, from its `host:port` (`[v6]:port`); a bare
/// host is taken whole.
pub fn server_name(address: &str) -> Result<ServerName<'static>, ClientTlsError> {
    let host = match address.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(rest, |(host, _)| host),
        None => match address.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => host,
            _ => address,
        },
    };
    ServerName::try_from(host.to_string()).map_err(|_| ClientTlsError::BadName(host.to_string()))
}

/// A connection to another server: plain TCP, then TLS once the protocol's STARTTLS went
/// through.
pub enum ClientStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// During the handshake, and after a failed one.
    Closed,
}

impl ClientStream {
    /// Whether the connection is TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self, ClientStream::Tls(_))
    }

    /// Runs the handshake after the server said yes to STARTTLS. `unread` is what the
    /// protocol had read past that answer: it must be nothing (RFC 3207 §4.2: what a server
    /// sends before TLS is not to be trusted after). On failure the connection is closed.
    pub async fn start_tls(
        &mut self,
        tls: &ClientTls,
        address: &str,
        unread: &[u8],
    ) -> Result<(), ClientTlsError> {
        let tcp = match std::mem::replace(self, ClientStream::Closed) {
            ClientStream::Plain(tcp) => tcp,
            other => {
                *self = other;
                return Err(ClientTlsError::NotPlain);
            }
        };
        if !unread.is_empty() {
            return Err(ClientTlsError::DataBeforeHandshake);
        }
        let stream = tls.handshake(tcp, address).await?;
        *self = ClientStream::Tls(Box::new(stream));
        Ok(())
    }

    /// Reads what has arrived without waiting: `WouldBlock` when nothing has, `Ok(0)` when
    /// the server closed. For a check of a kept connection before it is used again.
    pub fn try_read_now(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut context = Context::from_waker(std::task::Waker::noop());
        let mut read = ReadBuf::new(buf);
        match Pin::new(self).poll_read(&mut context, &mut read) {
            Poll::Ready(Ok(())) => Ok(read.filled().len()),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            ClientStream::Closed => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            ClientStream::Closed => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            ClientStream::Closed => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            ClientStream::Closed => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_checked_is_the_addresss_host() {
        let name = |a: &str| server_name(a).map(|n| n.to_str().into_owned()).ok();
        assert_eq!(
            name("b1.example.org:143").as_deref(),
            Some("b1.example.org")
        );
        assert_eq!(name("127.0.0.1:24").as_deref(), Some("127.0.0.1"));
        assert_eq!(name("[::1]:4190").as_deref(), Some("::1"));
        assert_eq!(name("b1.example.org").as_deref(), Some("b1.example.org"));
        assert_eq!(name("::1").as_deref(), Some("::1"));
        assert_eq!(name("bad name:143"), None);
    }

    #[test]
    fn the_mode_decides_whether_to_ask() {
        let files = ClientTlsFiles::default();
        // The configuration is not used to decide; any will do.
        let config = load_client_config(&files).or_else(|_| {
            let dir = tempfile::tempdir().unwrap();
            let pair = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
            let ca = dir.path().join("ca.pem");
            std::fs::write(&ca, pair.cert.pem()).unwrap();
            load_client_config(&ClientTlsFiles {
                ca_file: Some(ca),
                ..ClientTlsFiles::default()
            })
        });
        let config = config.unwrap();
        let auto = ClientTls::new(ClientTlsMode::Auto, Arc::clone(&config));
        assert!(auto.wanted(true).unwrap());
        assert!(!auto.wanted(false).unwrap());
        let on = ClientTls::new(ClientTlsMode::On, config);
        assert!(on.wanted(true).unwrap());
        assert!(matches!(on.wanted(false), Err(ClientTlsError::NotOffered)));
        assert!(!ClientTls::off().wanted(true).unwrap());
    }

    #[test]
    fn a_client_certificate_needs_its_key_and_a_ca_file_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let pair = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key, empty) = (
            dir.path().join("c.pem"),
            dir.path().join("k.pem"),
            dir.path().join("empty.pem"),
        );
        std::fs::write(&cert, pair.cert.pem()).unwrap();
        std::fs::write(&key, pair.key_pair.serialize_pem()).unwrap();
        std::fs::write(&empty, "").unwrap();
        let with = |ca: &Path, cert: Option<&Path>, key: Option<&Path>| {
            load_client_config(&ClientTlsFiles {
                ca_file: Some(ca.to_path_buf()),
                cert_file: cert.map(Path::to_path_buf),
                key_file: key.map(Path::to_path_buf),
            })
        };
        assert!(with(&cert, Some(&cert), Some(&key)).is_ok());
        assert!(with(&cert, Some(&cert), None).is_err());
        let err = with(&empty, None, None).unwrap_err();
        assert!(err.to_string().contains("no CA certificate"), "{err}");
    }

    /// A TLS server on loopback with `tls`'s certificate that sends `hello` and then waits
    /// for `close` before closing; its address.
    async fn tls_server(
        tls: crate::ServerTls,
        hello: &'static [u8],
        close: tokio::sync::oneshot::Receiver<()>,
    ) -> std::net::SocketAddr {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(tls.config);
            let Ok(mut stream) = acceptor.accept(tcp).await else {
                return;
            };
            let _ = close.await;
            stream.write_all(hello).await.unwrap();
            stream.shutdown().await.unwrap();
        });
        addr
    }

    #[tokio::test]
    async fn a_kept_tls_connection_is_read_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let ca = crate::testing::TestCa::new(dir.path(), "ca");
        let (go, close) = tokio::sync::oneshot::channel();
        let addr = tls_server(ca.server("b1"), b"bye", close).await;
        let address = addr.to_string();
        let mut stream = ClientStream::Plain(TcpStream::connect(addr).await.unwrap());
        let tls = ca.client(ClientTlsMode::On);
        stream.start_tls(&tls, &address, b"").await.unwrap();
        assert!(stream.is_tls());
        let mut buf = [0u8; 16];
        // Nothing sent yet (perhaps a session ticket, which is no data).
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let err = stream.try_read_now(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        go.send(()).unwrap();
        let mut got = Vec::new();
        for _ in 0..200 {
            match stream.try_read_now(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(got, b"bye", "the data, then the end");
    }

    #[tokio::test]
    async fn a_certificate_for_another_name_or_from_another_ca_fails_the_handshake() {
        let dir = tempfile::tempdir().unwrap();
        let ca = crate::testing::TestCa::new(dir.path(), "ca");
        let other = crate::testing::TestCa::new(dir.path(), "other");
        let cases = [
            (
                ca.server_named("b1", &["b1.example.org"]),
                &ca,
                "not valid for name",
            ),
            (ca.server("b1"), &other, "UnknownIssuer"),
        ];
        for (certificate, trusted, why) in cases {
            let (_go, close) = tokio::sync::oneshot::channel();
            let addr = tls_server(certificate, b"", close).await;
            let mut stream = ClientStream::Plain(TcpStream::connect(addr).await.unwrap());
            let tls = trusted.client(ClientTlsMode::Auto);
            let err = stream
                .start_tls(&tls, &addr.to_string(), b"")
                .await
                .unwrap_err();
            assert!(err.to_string().contains(why), "{err}");
            assert!(matches!(stream, ClientStream::Closed));
        }
    }

    #[tokio::test]
    async fn bytes_after_the_go_ahead_refuse_the_handshake() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut stream = ClientStream::Plain(TcpStream::connect(addr).await.unwrap());
        let dir = tempfile::tempdir().unwrap();
        let tls = crate::testing::TestCa::new(dir.path(), "ca").client(ClientTlsMode::On);
        let err = stream
            .start_tls(&tls, &addr.to_string(), b"* OK injected\r\n")
            .await
            .unwrap_err();
        assert!(matches!(err, ClientTlsError::DataBeforeHandshake), "{err}");
    }
}
