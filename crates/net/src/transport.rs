//! A connection's byte stream: plain TCP, a local UNIX socket, or TLS (implicit, or after
//! STARTTLS), with the one TLS upgrade every protocol server uses.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::server::TlsStream;

/// How long a client may take to complete a TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

pub enum Transport {
    Plain(TcpStream),
    Unix(UnixStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Between taking the plain stream for STARTTLS and getting the TLS one back, or after a
    /// failed handshake.
    Closed,
}

/// Why a TLS handshake did not complete.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("TLS is already active")]
    AlreadyTls,
    #[error("TLS is not available on this kind of connection")]
    NotTcp,
    #[error("TLS handshake failed: {0}")]
    Failed(io::Error),
    #[error("TLS handshake timed out")]
    TimedOut,
}

impl Transport {
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    /// RFC 9266 `tls-exporter` channel binding data: 32 bytes exported with the label
    /// `EXPORTER-Channel-Binding` and an empty context. Only on TLS 1.3 (on TLS 1.2 the
    /// exporter is safe only with extended master secret, which this does not check).
    pub fn tls_exporter(&self) -> Option<Vec<u8>> {
        let Transport::Tls(stream) = self else {
            return None;
        };
        let conn = stream.get_ref().1;
        if conn.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
            return None;
        }
        let mut out = vec![0u8; 32];
        conn.export_keying_material(&mut out, b"EXPORTER-Channel-Binding", Some(&[]))
            .ok()?;
        Some(out)
    }

    /// The client's certificate (the end of its chain), verified at the handshake against the
    /// configured client CAs; `None` without TLS or without a client certificate.
    pub fn peer_certificate(&self) -> Option<&[u8]> {
        let Transport::Tls(stream) = self else {
            return None;
        };
        stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|cert| cert.as_ref())
    }

    /// Runs the server side of a TLS handshake on a plain TCP stream (implicit TLS, or
    /// STARTTLS after its go-ahead was flushed). On failure the transport is left closed,
    /// except when it was not plain TCP to begin with.
    pub async fn start_tls(
        &mut self,
        config: Arc<rustls::ServerConfig>,
    ) -> Result<(), HandshakeError> {
        let plain = match std::mem::replace(self, Transport::Closed) {
            Transport::Plain(stream) => stream,
            other => {
                let err = if other.is_tls() {
                    HandshakeError::AlreadyTls
                } else {
                    HandshakeError::NotTcp
                };
                *self = other;
                return Err(err);
            }
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(plain)).await {
            Ok(Ok(stream)) => {
                *self = Transport::Tls(Box::new(stream));
                Ok(())
            }
            Ok(Err(e)) => Err(HandshakeError::Failed(e)),
            Err(_) => Err(HandshakeError::TimedOut),
        }
    }
}

/// How a listener's connections start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS, POP3S; RFC 8314).
    Implicit,
    /// Plain, with STARTTLS or STLS offered when a certificate is configured.
    StartTls,
}

impl Transport {
    /// A freshly accepted connection made ready for its protocol: no Nagle delay, and under
    /// [`TlsMode::Implicit`] the TLS handshake done (within [`TLS_HANDSHAKE_TIMEOUT`]). `None`
    /// when it cannot be served: implicit TLS without a certificate, or a failed handshake
    /// (logged with `peer`).
    pub async fn accept(
        stream: tokio::net::TcpStream,
        mode: TlsMode,
        tls: Option<Arc<rustls::ServerConfig>>,
        peer: std::net::SocketAddr,
    ) -> Option<Transport> {
        let _ = stream.set_nodelay(true);
        let mut transport = Transport::Plain(stream);
        if mode == TlsMode::Implicit {
            if let Err(e) = transport.start_tls(tls?).await {
                tracing::warn!(severity = "warning", "{peer}: {e}");
                return None;
            }
        }
        Some(transport)
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Transport::Closed => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Transport::Closed => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Unix(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Transport::Closed => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Transport::Closed => Poll::Ready(Ok(())),
        }
    }
}
