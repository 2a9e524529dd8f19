//! The `webhook` method: an HTTP/1.1 POST of each notification's JSON
//! (`Content-Type: application/json`) to `notify_webhook_url`, through a bounded on-disk
//! queue ([`crate::queue`]) so that a slow or dead receiver never slows delivery and a
//! restart loses nothing.
//!
//! One worker thread owns the queue: it appends what arrives on its in-memory channel (beyond
//! `notify_webhook_queue_max` entries, new notifications are dropped and counted), and sends
//! the oldest entry, one at a time, in order. A 2xx reply removes it; anything else (no
//! connection, a timeout, another status) retries it after a back-off that doubles from
//! `notify_webhook_retry_min` up to `notify_webhook_retry_max`.
//!
//! Only `http://` URLs: `https://` is refused at startup (put a local TLS proxy in front).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::method::{Drops, Method, Settings};
use crate::queue::DiskQueue;
use crate::Notification;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one read or write may wait.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest status or header line read.
const MAX_STATUS_LINE: u64 = 8 * 1024;

/// The most reply header read before the connection is given up.
const MAX_HEADER: u64 = 64 * 1024;

/// The largest reply body read (and discarded) to keep the connection.
const MAX_REPLY_BODY: u64 = 1024 * 1024;

/// How long the sender, woken by the first notification after a quiet spell, waits for
/// more before sending: a little latency for one wake-up per burst instead of one per message.
const LINGER: Duration = Duration::from_millis(5);

/// Time between two flushes of the queue's appended records to disk at the most (a crash of
/// the process loses none of them; one of the machine, at most this much).
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// A `http://host[:port][/path]` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Url {
    /// Parses `text`; `Err` says what is wrong.
    pub fn parse(text: &str) -> Result<Url, String> {
        if text.is_empty() {
            return Err("not set (the webhook method needs an http:// URL)".into());
        }
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("https://") {
            return Err(format!(
                "{text}: https is not supported; use http:// (to a local TLS proxy if the receiver is remote)"
            ));
        }
        if !lower.starts_with("http://") {
            return Err(format!("{text}: not an http:// URL"));
        }
        let rest = &text["http://".len()..];
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(format!(
                "{text}: user information in the URL is not supported"
            ));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (
                host,
                port.parse::<u16>()
                    .map_err(|_| format!("{text}: bad port {port:?}"))?,
            ),
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(format!("{text}: not a usable URL"));
        }
        Ok(Url {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }
}

/// `webhook` (see the module documentation).
pub struct WebhookMethod {
    url: Url,
    dir: PathBuf,
    retry_min: Duration,
    retry_max: Duration,
    queue_max: u64,
}

impl WebhookMethod {
    /// The method from the `notify_webhook_*` options.
    pub fn new(settings: &Settings) -> Result<WebhookMethod, String> {
        let url =
            Url::parse(&settings.webhook_url).map_err(|e| format!("notify_webhook_url: {e}"))?;
        Ok(WebhookMethod {
            url,
            dir: settings.webhook_dir.clone(),
            retry_min: settings.webhook_retry_min.max(Duration::from_millis(10)),
            retry_max: settings.webhook_retry_max.max(settings.webhook_retry_min),
            queue_max: settings.webhook_queue_max,
        })
    }
}

impl Method for WebhookMethod {
    fn run(self: Box<Self>, queue: Receiver<Notification>, drops: Arc<Drops>) {
        let mut disk = match DiskQueue::open(&self.dir) {
            Ok(disk) => disk,
            Err(e) => {
                tracing::error!(
                    "notify: webhook: cannot open the queue in {}: {e}; webhook notifications are dropped",
                    self.dir.display()
                );
                for _ in queue {
                    drops.drop_one("the webhook queue cannot be opened");
                }
                return;
            }
        };
        if !disk.is_empty() {
            tracing::info!(
                "notify: webhook: {} notifications queued from before",
                disk.len()
            );
        }
        let mut backoff: Option<Duration> = None;
        let mut next_try = Instant::now();
        let mut open = true;
        let mut synced_at = Instant::now();
        let mut connection: Option<Connection> = None;
        loop {
            let wait = match (disk.is_empty(), open) {
                // Idle: the head is written once nothing came for a while.
                (true, true) if disk.head_unsaved() => crate::queue::HEAD_INTERVAL,
                (true, true) => Duration::from_secs(3600),
                (true, false) => return,
                (false, _) => next_try.saturating_duration_since(Instant::now()),
            };
            if open {
                match queue.recv_timeout(wait) {
                    Ok(n) => {
                        let idle = disk.is_empty();
                        self.enqueue(&mut disk, n, &drops);
                        if idle {
                            // The first of a burst: gather what comes in the next moment,
                            // so the thread wakes once per burst, not once per message
                            // (senders find it asleep, not waiting on the channel, and
                            // wake nobody).
                            std::thread::sleep(LINGER);
                        }
                        self.take_waiting(&queue, &mut disk, &drops);
                        if synced_at.elapsed() >= SYNC_INTERVAL {
                            if let Err(e) = disk.sync() {
                                tracing::warn!("notify: webhook: syncing the queue: {e}");
                            }
                            synced_at = Instant::now();
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        if let Err(e) = disk.save_head() {
                            tracing::warn!("notify: webhook: saving the queue's head: {e}");
                        }
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        open = false;
                        if let Err(e) = disk.sync().and_then(|()| disk.save_head()) {
                            tracing::warn!("notify: webhook: syncing the queue: {e}");
                        }
                    }
                }
            } else {
                std::thread::sleep(wait);
            }
            // Everything queued, in order, until the queue is empty or a POST fails; what
            // arrives meanwhile joins the queue as it goes.
            while !disk.is_empty() && Instant::now() >= next_try {
                match self.send_oldest(&mut disk, &mut connection) {
                    Ok(()) => backoff = None,
                    Err(e) => {
                        let delay = backoff.map_or(self.retry_min, |d| (d * 2).min(self.retry_max));
                        tracing::warn!(
                            "notify: webhook: {e}; {} queued, retrying in {} ms",
                            disk.len(),
                            delay.as_millis()
                        );
                        backoff = Some(delay);
                        next_try = Instant::now() + delay;
                    }
                }
                if open {
                    self.take_waiting(&queue, &mut disk, &drops);
                }
            }
        }
    }
}

impl WebhookMethod {
    /// Moves what waits on the channel to the disk queue, without waiting.
    fn take_waiting(&self, queue: &Receiver<Notification>, disk: &mut DiskQueue, drops: &Drops) {
        while let Ok(n) = queue.try_recv() {
            self.enqueue(disk, n, drops);
        }
    }

    /// Appends `n` to the disk queue, or drops it when the queue is full.
    fn enqueue(&self, disk: &mut DiskQueue, n: Notification, drops: &Drops) {
        if disk.len() >= self.queue_max {
            drops.drop_one("the webhook queue is full (notify_webhook_queue_max)");
            return;
        }
        if let Err(e) = disk.push(n.message.as_bytes()) {
            tracing::warn!("notify: webhook: queueing: {e}");
            drops.drop_one("the webhook queue cannot be written");
        }
    }

    /// POSTs the oldest entry and removes it when the receiver took it.
    fn send_oldest(
        &self,
        disk: &mut DiskQueue,
        connection: &mut Option<Connection>,
    ) -> Result<(), String> {
        let Some(body) = disk.peek().map_err(|e| format!("reading the queue: {e}"))? else {
            return Ok(());
        };
        post(&self.url, &body, connection)?;
        disk.pop(body.len())
            .map_err(|e| format!("sent, but the queue cannot advance: {e}"))
    }
}

/// POSTs `body` as JSON to `url`; `Ok` on a 2xx status. Goes over `connection` when one is
/// kept (a new one if that fails), and leaves there the one the receiver lets us keep.
pub fn post(url: &Url, body: &[u8], connection: &mut Option<Connection>) -> Result<(), String> {
    // A kept connection the receiver has since closed fails at once: try a new one then.
    if let Some(mut kept) = connection.take() {
        if let Ok(keep) = kept.exchange(url, body) {
            if keep.0 {
                *connection = Some(kept);
            }
            return keep.1;
        }
    }
    let mut fresh = Connection::open(url)?;
    let (keep, result) = fresh.exchange(url, body)?;
    if keep {
        *connection = Some(fresh);
    }
    result
}

/// A connection to the receiver, kept open between POSTs while the receiver allows it
/// (HTTP/1.1 persistent connections), so a busy queue costs no connection per notification.
pub struct Connection {
    target: String,
    reader: BufReader<TcpStream>,
}

impl Connection {
    fn open(url: &Url) -> Result<Connection, String> {
        let target = format!("{}:{}", url.host, url.port);
        let addrs = (url.host.as_str(), url.port)
            .to_socket_addrs()
            .map_err(|e| format!("{target}: {e}"))?;
        let mut last = format!("{target}: no address");
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = format!("{target}: {e}"),
            }
        }
        let stream = stream.ok_or(last)?;
        let io = |e: std::io::Error| format!("{target}: {e}");
        stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(io)?;
        stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        Ok(Connection {
            target,
            reader: BufReader::new(stream),
        })
    }

    /// One POST and its reply. `Err`: the connection failed (nothing is known of the
    /// request); `Ok((keep, result))`: the receiver answered, `result` says whether it took
    /// the notification and `keep` whether the connection can carry the next one.
    fn exchange(&mut self, url: &Url, body: &[u8]) -> Result<(bool, Result<(), String>), String> {
        let target = self.target.clone();
        let io = |e: std::io::Error| format!("{target}: {e}");
        let host = match url.host.contains(':') {
            true => format!("[{}]:{}", url.host, url.port),
            false => format!("{}:{}", url.host, url.port),
        };
        let mut request = format!(
            "POST {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: darius-notify\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            url.path,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        let stream = self.reader.get_mut();
        stream.write_all(&request).map_err(io)?;
        stream.flush().map_err(io)?;
        let mut status = String::new();
        (&mut self.reader)
            .take(MAX_STATUS_LINE)
            .read_line(&mut status)
            .map_err(io)?;
        if status.is_empty() {
            return Err(format!("{target}: the connection was closed"));
        }
        let code = status_code(&status).ok_or_else(|| format!("{target}: no HTTP status line"))?;
        // The header: what says whether the connection can be used again.
        let mut keep = status.starts_with("HTTP/1.1");
        let mut length: Option<u64> = None;
        let mut header_bytes = 0u64;
        loop {
            let mut line = String::new();
            let got = (&mut self.reader)
                .take(MAX_STATUS_LINE)
                .read_line(&mut line)
                .map_err(io)?;
            header_bytes += got as u64;
            if got == 0 || header_bytes > MAX_HEADER {
                keep = false;
                break;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                || (name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close"))
            {
                keep = false;
            }
        }
        let bodyless = code == 204 || code == 304 || (100..200).contains(&code);
        match (bodyless, length) {
            (true, _) => {}
            (false, Some(n)) if n <= MAX_REPLY_BODY && keep => {
                let skipped = std::io::copy(&mut (&mut self.reader).take(n), &mut std::io::sink())
                    .map_err(io)?;
                keep = skipped == n;
            }
            // A body of unknown or excessive length: the connection is not reused.
            _ => keep = false,
        }
        let result = match code {
            200..=299 => Ok(()),
            _ => Err(format!("{target}: HTTP status {code}")),
        };
        Ok((keep, result))
    }
}

/// The status code of an HTTP/1.x status line.
fn status_code(line: &str) -> Option<u16> {
    let mut words = line.split_ascii_whitespace();
    words.next().filter(|v| v.starts_with("HTTP/1."))?;
    words.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_parse_and_https_is_refused() {
        assert_eq!(
            Url::parse("http://127.0.0.1:8080/mail").unwrap(),
            Url {
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/mail".into()
            }
        );
        assert_eq!(Url::parse("http://example.org").unwrap().port, 80);
        assert_eq!(Url::parse("http://[::1]:81/x").unwrap().host, "::1");
        assert!(Url::parse("https://example.org/")
            .unwrap_err()
            .contains("https is not supported"));
        assert!(Url::parse("ftp://example.org/").is_err());
        assert!(Url::parse("http://h:99999/").is_err());
        assert!(Url::parse("").is_err());
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_code("HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(status_code("HTTP/1.0 500 x"), Some(500));
        assert_eq!(status_code("SSH-2.0"), None);
    }
}
