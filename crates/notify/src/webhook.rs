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

/// The longest status line read.
const MAX_STATUS_LINE: u64 = 8 * 1024;

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
        loop {
            let wait = match (disk.is_empty(), open) {
                (true, true) => Duration::from_secs(3600),
                (true, false) => return,
                (false, _) => next_try.saturating_duration_since(Instant::now()),
            };
            if open {
                match queue.recv_timeout(wait) {
                    Ok(n) => {
                        self.enqueue(&mut disk, n, &drops);
                        while let Ok(n) = queue.try_recv() {
                            self.enqueue(&mut disk, n, &drops);
                        }
                        if let Err(e) = disk.sync() {
                            tracing::warn!("notify: webhook: syncing the queue: {e}");
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => open = false,
                }
            } else {
                std::thread::sleep(wait);
            }
            if disk.is_empty() || Instant::now() < next_try {
                continue;
            }
            match self.send_oldest(&mut disk) {
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
        }
    }
}

impl WebhookMethod {
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
    fn send_oldest(&self, disk: &mut DiskQueue) -> Result<(), String> {
        let Some(body) = disk.peek().map_err(|e| format!("reading the queue: {e}"))? else {
            return Ok(());
        };
        post(&self.url, &body)?;
        disk.pop(body.len())
            .map_err(|e| format!("sent, but the queue cannot advance: {e}"))
    }
}

/// POSTs `body` as JSON to `url`; `Ok` on a 2xx status.
pub fn post(url: &Url, body: &[u8]) -> Result<(), String> {
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
    let mut stream = stream.ok_or(last)?;
    let io = |e: std::io::Error| format!("{target}: {e}");
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(io)?;
    let host = match url.host.contains(':') {
        true => format!("[{}]:{}", url.host, url.port),
        false => format!("{}:{}", url.host, url.port),
    };
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: darius-notify\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        url.path,
        body.len()
    );
    stream.write_all(head.as_bytes()).map_err(io)?;
    stream.write_all(body).map_err(io)?;
    stream.flush().map_err(io)?;
    let mut status = String::new();
    BufReader::new((&stream).take(MAX_STATUS_LINE))
        .read_line(&mut status)
        .map_err(io)?;
    let code = status_code(&status).ok_or_else(|| format!("{target}: no HTTP status line"))?;
    match code {
        200..=299 => Ok(()),
        _ => Err(format!("{target}: HTTP status {code}")),
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
