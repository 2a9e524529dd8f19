//! The receiving end of a webhook notifier: a small HTTP/1.1 server (keep-alive,
//! `Content-Length` bodies) that answers every POST with `204` and records, per Message-ID
//! named in a `MessageNew` event, when each notification arrived.
//!
//! Bounded: at most [`MAX_CONNECTIONS`] connections at once (more wait in the listen backlog),
//! bodies of at most [`MAX_BODY`] octets (`413` and the connection closed), heads of at most
//! [`http::MAX_HEAD`], an idle connection closed after [`IDLE_TIMEOUT`], at most
//! [`MAX_MESSAGE_IDS`] Message-IDs tracked (more are counted as `untracked`).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

use super::event::{self, Parsed};
use super::http::{self, Persistence};
use super::join::{join, Arrivals, Delivered, Joined};

/// The largest body read; a longer one is refused with `413`.
pub const MAX_BODY: u64 = 1024 * 1024;
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// A connection that sends nothing for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Distinct Message-IDs kept (about 100 octets each with their times).
pub const MAX_MESSAGE_IDS: usize = 2_000_000;
/// How often [`Receiver::finish`] looks whether everything has arrived.
const POLL: Duration = Duration::from_millis(100);

/// What the receiver has seen. One lock, taken once per request: the receiver's own cost is
/// not what is measured, and requests come one per delivered message.
#[derive(Debug, Default)]
pub struct Log {
    pub arrivals: HashMap<String, Arrivals>,
    /// Complete requests read (answered, whatever the answer).
    pub requests: u64,
    /// Requests refused: not HTTP/1.x, not a POST, too long, or a body that is no event.
    pub bad_requests: u64,
    /// Events other than `MessageNew`.
    pub other_events: u64,
    /// `MessageNew` events that named no usable Message-ID.
    pub without_midset: u64,
    /// Notifications for Message-IDs beyond [`MAX_MESSAGE_IDS`].
    pub untracked: u64,
}

impl Log {
    /// Records the events of one body, arrived `at`.
    pub fn record(&mut self, parsed: Parsed, at: Instant) {
        self.other_events += parsed.other_events;
        self.without_midset += parsed.without_midset;
        for id in parsed.message_ids {
            if let Some(a) = self.arrivals.get_mut(&id) {
                a.add(at);
            } else if self.arrivals.len() < MAX_MESSAGE_IDS {
                self.arrivals.entry(id).or_default().add(at);
            } else {
                self.untracked += 1;
            }
        }
    }

    /// The receiver's own counters under their report names.
    fn metrics(&self, m: &mut BTreeMap<String, f64>) {
        for (name, v) in [
            ("webhook_requests", self.requests),
            ("webhook_bad_requests", self.bad_requests),
            ("webhook_other_events", self.other_events),
            ("webhook_without_midset", self.without_midset),
            ("webhook_untracked", self.untracked),
        ] {
            m.insert(name.to_owned(), v as f64);
        }
    }
}

/// A running receiver; [`Receiver::finish`] stops it.
pub struct Receiver {
    addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// Listens on `addr` (`127.0.0.1:8080`; port 0 for any) and serves in the background.
    pub async fn start(addr: &str) -> std::io::Result<Receiver> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Log::default()));
        let task = tokio::spawn(accept_loop(listener, log.clone()));
        Ok(Receiver { addr, log, task })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits until every notification `delivered` should raise has arrived, or `grace` has
    /// passed, then stops serving and joins. The figures go into `metrics` (see
    /// [`Joined::metrics`]), with `webhook_wait_seconds`, the time waited.
    pub async fn finish(
        self,
        delivered: &[Delivered],
        grace: Duration,
        metrics: &mut BTreeMap<String, f64>,
    ) -> Joined {
        let start = Instant::now();
        let joined = loop {
            let joined = join(delivered, &lock(&self.log).arrivals);
            if joined.missing == 0 || start.elapsed() >= grace {
                break joined;
            }
            tokio::time::sleep(POLL).await;
        };
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.task.abort();
        let _ = self.task.await;
        joined.metrics(metrics);
        lock(&self.log).metrics(metrics);
        metrics.insert(
            "webhook_wait_seconds".to_owned(),
            start.elapsed().as_secs_f64(),
        );
        joined
    }
}

/// The log, also when a connection task panicked while holding it (its counts stay usable).
fn lock(log: &Mutex<Log>) -> std::sync::MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn accept_loop(listener: TcpListener, log: Arc<Mutex<Log>>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        while connections.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            // Answers go out at once: Nagle would hold one back behind the notifier's delayed
            // ACK and slow the notifier down, which is what is measured.
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                stream
            }
            // Out of file descriptors and the like: wait rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let log = log.clone();
        connections.spawn(async move {
            let _permit = permit;
            // A connection that fails (reset, timeout) has nothing left to record.
            let _ = connection(stream, &log).await;
        });
    }
}

/// Serves one connection until the client closes it, asks to, or a request is refused in a way
/// that leaves its framing unknown.
async fn connection(mut stream: TcpStream, log: &Mutex<Log>) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(8192);
    loop {
        let head = loop {
            match http::parse_head(&buf) {
                Ok(Some(head)) => break head,
                Ok(None) => {}
                Err(e) => {
                    let (code, reason) = e.status();
                    return refuse(&mut stream, log, code, reason).await;
                }
            }
            if !read_more(&mut stream, &mut buf).await? {
                return Ok(());
            }
        };
        if head.method != "POST" {
            return refuse(&mut stream, log, 405, "Method Not Allowed").await;
        }
        if head.content_length > MAX_BODY {
            return refuse(&mut stream, log, 413, "Content Too Large").await;
        }
        // At most MAX_BODY, checked above.
        let end = head.len + head.content_length as usize;
        if head.expects_continue && buf.len() < end {
            stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        while buf.len() < end {
            if !read_more(&mut stream, &mut buf).await? {
                return Ok(());
            }
        }
        let at = Instant::now();
        let (code, reason) = {
            let mut log = lock(log);
            log.requests += 1;
            match event::parse(&buf[head.len..end]) {
                Ok(parsed) => {
                    log.record(parsed, at);
                    (204, "No Content")
                }
                Err(_) => {
                    log.bad_requests += 1;
                    (400, "Bad Request")
                }
            }
        };
        stream
            .write_all(&http::response(code, reason, head.persistence))
            .await?;
        if head.persistence == Persistence::Close {
            return Ok(());
        }
        buf.drain(..end);
    }
}

/// Counts a refused request and answers it, closing the connection.
async fn refuse(
    stream: &mut TcpStream,
    log: &Mutex<Log>,
    code: u16,
    reason: &str,
) -> std::io::Result<()> {
    {
        let mut log = lock(log);
        log.requests += 1;
        log.bad_requests += 1;
    }
    stream
        .write_all(&http::response(code, reason, Persistence::Close))
        .await?;
    stream.shutdown().await
}

/// Reads what has arrived onto `buf` (at most 16 KiB more); false at the end of the stream or
/// after [`IDLE_TIMEOUT`] of silence.
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    match tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut chunk)).await {
        Ok(Ok(0)) | Err(_) => Ok(false),
        Ok(Ok(n)) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(true)
        }
        Ok(Err(e)) => Err(e),
    }
}
