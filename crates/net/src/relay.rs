//! The rest of a proxied session (a Murder frontend's POP3 or ManageSieve session once the
//! backend has taken the user, over plain TCP or TLS): bytes copied both ways between the
//! client and the backend, through one bounded buffer each way, until the backend closes
//! (after the protocol's logout, or its own autologout), the client closes, or the server
//! shuts down. The backend's timers decide when an idle session ends; every write here is
//! bounded by a timeout, so a client that stops reading cannot hold the relay for ever.

use std::io;
use std::time::Duration;

use crate::{ShutdownSignal, Transport};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The buffer each direction copies through.
const RELAY_BUFFER: usize = 16 * 1024;
/// How long the backend may take to finish once the client has closed its side.
const CLOSING_GRACE: Duration = Duration::from_secs(5);

/// Relays between `client` and `backend` until the session ends; `to_backend` is what the
/// client sent ahead (pipelined) before the relay began.
pub async fn relay(
    client: &mut Transport,
    backend: impl AsyncRead + AsyncWrite + Unpin,
    to_backend: &[u8],
    mut shutdown: ShutdownSignal,
    write_timeout: Duration,
) -> io::Result<()> {
    let (backend_read, mut backend_write) = tokio::io::split(backend);
    if !to_backend.is_empty() {
        bounded(write_timeout, backend_write.write_all(to_backend)).await?;
    }
    let (client_read, client_write) = tokio::io::split(client);
    let up = pump(client_read, backend_write, write_timeout);
    let down = pump(backend_read, client_write, write_timeout);
    tokio::pin!(up, down);
    tokio::select! {
        _ = shutdown.wait() => Ok(()),
        ended = &mut down => ended,
        ended = &mut up => {
            // The client is gone: the backend heard the end of its input and closes in turn.
            let _ = tokio::time::timeout(CLOSING_GRACE, &mut down).await;
            ended
        }
    }
}

/// Copies `from` to `to` until `from` ends, then ends `to`'s output.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    write_timeout: Duration,
) -> io::Result<()> {
    let mut buf = vec![0u8; RELAY_BUFFER];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            let _ = bounded(write_timeout, to.shutdown()).await;
            return Ok(());
        }
        bounded(write_timeout, to.write_all(&buf[..n])).await?;
        bounded(write_timeout, to.flush()).await?;
    }
}

/// `io` within `limit`.
async fn bounded(
    limit: Duration,
    io: impl std::future::Future<Output = io::Result<()>>,
) -> io::Result<()> {
    tokio::time::timeout(limit, io)
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
}
