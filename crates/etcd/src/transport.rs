//! Connections to members: TCP or TLS, with a small pool of idle keep-alive connections per
//! endpoint.

use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, BufReader, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::config::{Endpoint, TlsConfig};
use crate::error::{Error, Result};

/// The most idle connections kept per endpoint; more are closed when returned.
const MAX_IDLE_PER_ENDPOINT: usize = 4;

/// A byte stream to a member.
pub(crate) enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    /// The TCP socket under the stream.
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => tls.get_ref().0,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A connection to a member, buffered for reading (the buffer belongs to the connection:
/// it must survive from one response to the next on a kept-alive connection).
pub(crate) type Conn = BufReader<Stream>;

/// Whether an idle pooled connection still looks usable: nothing buffered, and the peer has
/// neither sent anything nor closed it (a closed socket reads as end of input at once).
fn still_open(conn: &Conn) -> bool {
    if !conn.buffer().is_empty() {
        return false;
    }
    let mut probe = [0u8; 1];
    matches!(conn.get_ref().tcp().try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// Why a connection could not be made.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// TCP failed or timed out.
    Network(String),
    /// The TLS handshake failed.
    Tls(String),
}

/// Opens connections to members and keeps idle ones per endpoint.
pub(crate) struct Connector {
    tls: Option<TlsConnector>,
    connect_timeout: Duration,
    idle: Vec<Mutex<Vec<Conn>>>,
}

impl Connector {
    /// A connector for `endpoints` (by index), with TLS when `tls`.
    pub fn new(
        endpoints: usize,
        tls: Option<&TlsConfig>,
        connect_timeout: Duration,
    ) -> Result<Connector> {
        let tls = tls.map(load_tls).transpose()?;
        Ok(Connector {
            tls,
            connect_timeout,
            idle: (0..endpoints).map(|_| Mutex::new(Vec::new())).collect(),
        })
    }

    /// An idle connection to endpoint `index` that still looks open, or a new one.
    pub async fn get(
        &self,
        index: usize,
        endpoint: &Endpoint,
    ) -> std::result::Result<Conn, ConnectError> {
        if let Some(pool) = self.idle.get(index) {
            // A poisoned lock only means another task panicked while pushing or popping;
            // the list of connections is still a list of connections.
            let mut pool = pool.lock().unwrap_or_else(|p| p.into_inner());
            while let Some(conn) = pool.pop() {
                if still_open(&conn) {
                    return Ok(conn);
                }
            }
        }
        self.connect(endpoint).await
    }

    /// Keeps `conn` to endpoint `index` for another request, if there is room.
    pub fn put_back(&self, index: usize, conn: Conn) {
        if let Some(pool) = self.idle.get(index) {
            let mut pool = pool.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < MAX_IDLE_PER_ENDPOINT {
                pool.push(conn);
            }
        }
    }

    /// Drops every idle connection to endpoint `index` (after it failed).
    pub fn forget(&self, index: usize) {
        if let Some(pool) = self.idle.get(index) {
            pool.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
    }

    /// A new connection to `endpoint`, within the connect timeout.
    pub async fn connect(&self, endpoint: &Endpoint) -> std::result::Result<Conn, ConnectError> {
        let work = async {
            let tcp = TcpStream::connect(endpoint.authority.as_str())
                .await
                .map_err(|e| ConnectError::Network(format!("{}: {e}", endpoint.authority)))?;
            // Requests are small and written whole; waiting to coalesce them only adds delay.
            let _ = tcp.set_nodelay(true);
            if !endpoint.tls {
                return Ok(Stream::Plain(tcp));
            }
            let connector = self.tls.as_ref().ok_or_else(|| {
                ConnectError::Tls(format!(
                    "{}: TLS endpoint without a TLS configuration",
                    endpoint.authority
                ))
            })?;
            let tls = connector
                .connect(endpoint.server_name.clone(), tcp)
                .await
                .map_err(|e| ConnectError::Tls(format!("{}: {e}", endpoint.authority)))?;
            Ok(Stream::Tls(Box::new(tls)))
        };
        match tokio::time::timeout(self.connect_timeout, work).await {
            Ok(stream) => Ok(BufReader::new(stream?)),
            Err(_) => Err(ConnectError::Network(format!(
                "{}: no connection within {:?}",
                endpoint.authority, self.connect_timeout
            ))),
        }
    }
}

/// The rustls client configuration for `config` (net's, which every TLS client of Darius
/// shares): the CA file's certificates as the only roots, and the client certificate when
/// given.
fn load_tls(config: &TlsConfig) -> Result<TlsConnector> {
    let files = net::ClientTlsFiles {
        ca_file: Some(config.ca_file.clone()),
        cert_file: config.cert_file.clone(),
        key_file: config.key_file.clone(),
    };
    let config =
        net::client_tls::load_client_config(&files).map_err(|e| Error::Tls(e.to_string()))?;
    Ok(TlsConnector::from(config))
}
