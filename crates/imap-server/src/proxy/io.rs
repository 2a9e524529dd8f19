//! The connection to one backend (plain TCP, or TLS after STARTTLS), read with limits: lines up to the configured line length (as
//! for a client), literals taken in chunks so that a large one never sits in memory whole.
//! A backend is trusted more than a client, but not without bounds.

use std::time::Duration;

use net::{ClientStream, ClientTls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ProxyError;

/// Bytes asked of the socket at once, and the largest chunk of a literal handed on at once.
pub(crate) const CHUNK: usize = 16 * 1024;

/// A backend's socket and what was read from it and not yet taken.
pub(crate) struct BackendIo {
    stream: ClientStream,
    /// Bytes read and not yet taken: `buf[pos..]`.
    buf: Vec<u8>,
    pos: usize,
    /// Longest line accepted, CRLF included.
    max_line: usize,
}

impl BackendIo {
    /// Reads `stream`, accepting lines up to `max_line` bytes.
    pub fn new(stream: ClientStream, max_line: usize) -> BackendIo {
        BackendIo {
            stream,
            buf: Vec::new(),
            pos: 0,
            max_line,
        }
    }

    /// Waits for more bytes from the backend. Cancel-safe (`read_buf` is): IDLE waits on it
    /// beside the client's socket.
    pub async fn fill(&mut self) -> Result<(), ProxyError> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos >= CHUNK {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.reserve(CHUNK);
        match self.stream.read_buf(&mut self.buf).await {
            Ok(0) => Err(ProxyError::Closed),
            Ok(_) => Ok(()),
            Err(e) => Err(ProxyError::Io(e)),
        }
    }

    /// [`BackendIo::fill`], giving up after `limit` of silence.
    async fn fill_within(&mut self, limit: Duration) -> Result<(), ProxyError> {
        tokio::time::timeout(limit, self.fill())
            .await
            .map_err(|_| ProxyError::Timeout)?
    }

    /// A whole line already read, LF included; `None` when the buffer holds none yet.
    pub fn take_line(&mut self) -> Result<Option<Vec<u8>>, ProxyError> {
        let pending = &self.buf[self.pos..];
        match pending.iter().position(|&b| b == b'\n') {
            Some(i) if i < self.max_line => {
                let line = pending[..=i].to_vec();
                self.pos += i + 1;
                Ok(Some(line))
            }
            Some(_) => Err(self.too_long()),
            None if pending.len() >= self.max_line => Err(self.too_long()),
            None => Ok(None),
        }
    }

    /// The error for a line past the limit.
    fn too_long(&self) -> ProxyError {
        ProxyError::Protocol(format!("a line longer than {} bytes", self.max_line))
    }

    /// The next line, waiting at most `limit` for each read.
    pub async fn line(&mut self, limit: Duration) -> Result<Vec<u8>, ProxyError> {
        loop {
            if let Some(line) = self.take_line()? {
                return Ok(line);
            }
            self.fill_within(limit).await?;
        }
    }

    /// Up to `max` bytes of a literal, at least one.
    pub async fn chunk(&mut self, max: usize, limit: Duration) -> Result<Vec<u8>, ProxyError> {
        if self.pos == self.buf.len() {
            self.fill_within(limit).await?;
        }
        let n = max.min(self.buf.len() - self.pos);
        let chunk = self.buf[self.pos..self.pos + n].to_vec();
        self.pos += n;
        Ok(chunk)
    }

    /// Writes `data`, giving up after `limit` (a backend that stopped reading).
    pub async fn write_all(&mut self, data: &[u8], limit: Duration) -> Result<(), ProxyError> {
        tokio::time::timeout(limit, self.stream.write_all(data))
            .await
            .map_err(|_| ProxyError::Timeout)?
            .map_err(ProxyError::Io)
    }

    /// Drops the buffer's space once everything read was taken: a connection kept between
    /// commands should cost kilobytes, not the size of the last answer's chunks.
    pub fn release_idle_memory(&mut self) {
        if self.pos == self.buf.len() {
            self.buf = Vec::new();
            self.pos = 0;
        }
    }

    /// Whether the connection still looks usable before a command is sent on it: not closed
    /// by the backend (its autologout ends idle connections with `* BYE`), with nothing
    /// unread but what a backend may send between commands.
    pub fn usable(&mut self) -> bool {
        let mut probe = [0u8; 1024];
        loop {
            match self.stream.try_read_now(&mut probe) {
                Ok(0) => return false,
                Ok(n) => self.buf.extend_from_slice(&probe[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => return false,
            }
            if self.buf.len() - self.pos > self.max_line {
                return false;
            }
        }
        let pending = &self.buf[self.pos..];
        let bye = |line: &[u8]| line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"* BYE");
        !pending.split(|&b| b == b'\n').any(bye)
    }

    /// The TLS handshake after the backend's `OK` to STARTTLS (RFC 9051 §6.2.1), with
    /// `address`'s host as the name its certificate must carry. Nothing may have come after
    /// that `OK`.
    pub async fn start_tls(&mut self, tls: &ClientTls, address: &str) -> Result<(), ProxyError> {
        let unread = &self.buf[self.pos..];
        self.stream.start_tls(tls, address, unread).await?;
        self.buf = Vec::new();
        self.pos = 0;
        Ok(())
    }

    /// Whether the connection is TLS.
    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// Closes the socket (after LOGOUT, or when the connection is given up).
    pub async fn shutdown(&mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.stream.shutdown()).await;
    }
}
