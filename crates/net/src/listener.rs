//! Listeners and the accept loop.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::Semaphore;

use crate::shutdown::ShutdownSignal;

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

/// Serves a TCP listener until shutdown (see [`accept_loop`]).
pub async fn serve_tcp<H, F>(
    listener: TcpListener,
    limit: ConnectionLimit,
    shutdown: ShutdownSignal,
    handler: H,
) where
    H: Fn(TcpStream, ConnInfo, ShutdownSignal) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    accept_loop(listener, limit, shutdown, move |(stream, info), signal| {
        handler(stream, info, signal)
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
