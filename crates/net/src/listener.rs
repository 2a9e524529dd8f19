//! Listeners and the accept loop, with its limits: `maxconnections` per listener (further
//! clients wait in the kernel's backlog) and, for TCP, `maxconnections_per_host` (further
//! connections from that host get one line in the listener's protocol and are closed).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::Semaphore;

use crate::host_limit::HostLimit;
use crate::shutdown::ShutdownSignal;

/// How long a refused client has to take its one-line refusal before the connection closes.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a handler knows of its connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub local: SocketAddr,
}

impl ConnInfo {
    pub fn is_loopback(&self) -> bool {
        self.peer.ip().is_loopback()
    }

    /// Whether a plaintext login (LOGIN, or PLAIN outside TLS) may be accepted: always over TLS
    /// and on loopback connections, elsewhere only when the admin set `allowplaintext`.
    pub fn plaintext_login_allowed(&self, over_tls: bool, allowplaintext: bool) -> bool {
        over_tls || self.is_loopback() || allowplaintext
    }
}

/// The most connections one listener serves at once; further clients wait in the kernel's
/// backlog until a slot frees, so a flood cannot exhaust memory or file descriptors.
#[derive(Clone)]
pub struct ConnectionLimit(Arc<Semaphore>);

impl ConnectionLimit {
    pub fn new(max: usize) -> ConnectionLimit {
        ConnectionLimit(Arc::new(Semaphore::new(max)))
    }
}

/// Binds a TCP listener on `host:port`.
pub async fn bind_tcp(host: &str, port: u16) -> io::Result<TcpListener> {
    TcpListener::bind((host, port)).await
}

/// Something connections are accepted from.
trait Accept: Send + Sync + 'static {
    /// The accepted connection and what is known of it.
    type Conn: Send + 'static;
    fn accept_one(&self) -> impl Future<Output = io::Result<Self::Conn>> + Send;
}

impl Accept for TcpListener {
    type Conn = (TcpStream, ConnInfo);
    async fn accept_one(&self) -> io::Result<Self::Conn> {
        let (stream, peer) = self.accept().await?;
        let local = stream.local_addr().unwrap_or(peer);
        Ok((stream, ConnInfo { peer, local }))
    }
}

impl Accept for UnixListener {
    type Conn = UnixStream;
    async fn accept_one(&self) -> io::Result<Self::Conn> {
        Ok(self.accept().await?.0)
    }
}

/// Accepts connections until shutdown, running `handler` for each on its own task. Each task
/// keeps a clone of the shutdown signal, so `Shutdown::drain` waits for it.
async fn accept_loop<L, H, F>(
    listener: L,
    limit: ConnectionLimit,
    mut shutdown: ShutdownSignal,
    handler: H,
) where
    L: Accept,
    H: Fn(L::Conn, ShutdownSignal) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let handler = Arc::new(handler);
    loop {
        let permit = tokio::select! {
            _ = shutdown.wait() => return,
            permit = limit.0.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let conn = tokio::select! {
            _ = shutdown.wait() => return,
            accepted = listener.accept_one() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: log, back off briefly, keep serving.
                    tracing::error!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let handler = Arc::clone(&handler);
        let signal = shutdown.clone();
        tokio::spawn(async move {
            handler(conn, signal).await;
            drop(permit);
        });
    }
}

/// What a TCP listener enforces.
pub struct TcpLimits {
    /// `maxconnections`, for this listener.
    pub total: ConnectionLimit,
    /// `maxconnections_per_host`, usually shared by every TCP listener of the server.
    pub per_host: HostLimit,
    /// Sent to a connection `per_host` refuses, before it is closed: one complete line in the
    /// listener's protocol (`* BYE …` for IMAP, `421 …` for LMTP).
    pub refusal: &'static str,
}

/// Serves a TCP listener until shutdown (see [`accept_loop`]).
pub async fn serve_tcp<H, F>(
    listener: TcpListener,
    limits: TcpLimits,
    shutdown: ShutdownSignal,
    handler: H,
) where
    H: Fn(TcpStream, ConnInfo, ShutdownSignal) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let TcpLimits {
        total,
        per_host,
        refusal,
    } = limits;
    let handler = Arc::new(handler);
    accept_loop(listener, total, shutdown, move |(stream, info), signal| {
        let handler = Arc::clone(&handler);
        let claim = per_host.claim(info.peer.ip());
        async move {
            match claim {
                Some(claim) => {
                    handler(stream, info, signal).await;
                    drop(claim);
                }
                None => refuse(stream, refusal).await,
            }
        }
    })
    .await;
}

/// Says `refusal` and closes, without waiting long for a client that does not read.
async fn refuse(mut stream: TcpStream, refusal: &str) {
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
        stream.write_all(refusal.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// Serves a UNIX stream socket until shutdown (local delivery agents); the peer is local by
/// construction, and the socket file's mode decides who may connect.
pub async fn serve_unix<H, F>(
    listener: UnixListener,
    limit: ConnectionLimit,
    shutdown: ShutdownSignal,
    handler: H,
) where
    H: Fn(UnixStream, ShutdownSignal) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    accept_loop(listener, limit, shutdown, handler).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_is_allowed_on_loopback_or_tls_or_by_config() {
        let lo = ConnInfo {
            peer: "127.0.0.1:5000".parse().unwrap(),
            local: "127.0.0.1:143".parse().unwrap(),
        };
        let far = ConnInfo {
            peer: "192.0.2.7:5000".parse().unwrap(),
            local: "192.0.2.1:143".parse().unwrap(),
        };
        assert!(lo.plaintext_login_allowed(false, false));
        assert!(!far.plaintext_login_allowed(false, false));
        assert!(far.plaintext_login_allowed(true, false));
        assert!(far.plaintext_login_allowed(false, true));
    }
}
