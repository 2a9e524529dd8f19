//! A small async POP3 client (RFC 1939, RFC 2595 STLS): USER/PASS, STAT, LIST, RETR, DELE,
//! QUIT. Commands are written with `pop3_proto::Command::encode` and status lines read with
//! `pop3_proto::Response::parse`, the codec the server uses; multi-line responses go through
//! [`MultiLine`], which undoes the dot-stuffing and holds at most a given number of bytes.

use std::time::Duration;

use pop3_proto::{Command, Response};
use tokio::io::{AsyncBufReadExt, BufReader};
use types::Secret;

use super::imap::ClientError;
use super::net::{BoxStream, Endpoint, TlsMode};

/// The longest status line read (RFC 2449 §4 allows servers 512 octets; a little more is
/// accepted, longer is an error rather than memory).
pub const MAX_STATUS_LINE: usize = 1024;

/// Why a multi-line response could not be read.
#[derive(Debug, PartialEq, Eq)]
pub struct TooLarge(pub usize);

/// The body of one multi-line response, fed in pieces as they arrive (RFC 1939 §3): a line that
/// starts with `.` loses that `.`, and a line that is only `.` ends the response. Line ends are
/// kept as the server sent them, so a RETR body is the message byte for byte.
#[derive(Debug)]
pub struct MultiLine {
    body: Vec<u8>,
    /// The start of a line whose end has not arrived yet.
    partial: Vec<u8>,
    max: usize,
    done: bool,
}

impl MultiLine {
    /// A reader that fails once the body (and the line being read) would exceed `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            body: Vec::new(),
            partial: Vec::new(),
            max,
            done: false,
        }
    }

    /// Takes what it needs of `data`: everything up to and including the terminating line.
    /// Returns the number of bytes consumed; what follows the terminator belongs to the next
    /// response and is left to the caller.
    pub fn feed(&mut self, data: &[u8]) -> Result<usize, TooLarge> {
        let mut pos = 0;
        while !self.done && pos < data.len() {
            let Some(lf) = data[pos..].iter().position(|&b| b == b'\n') else {
                self.partial.extend_from_slice(&data[pos..]);
                self.check()?;
                return Ok(data.len());
            };
            let end = pos + lf + 1;
            if self.partial.is_empty() {
                self.line(&data[pos..end]);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&data[pos..end]);
                self.line(&line);
            }
            self.check()?;
            pos = end;
        }
        Ok(pos)
    }

    fn line(&mut self, line: &[u8]) {
        match line {
            b".\r\n" | b".\n" => self.done = true,
            [b'.', rest @ ..] => self.body.extend_from_slice(rest),
            _ => self.body.extend_from_slice(line),
        }
    }

    /// The body may reach `max`; a line still being read may hold two more bytes (the
    /// terminator's `.` and CR waiting for its LF, or a stuffed line's extra `.`).
    fn check(&self) -> Result<(), TooLarge> {
        let held = self.body.len() + self.partial.len().saturating_sub(2);
        if self.body.len() > self.max || held > self.max {
            Err(TooLarge(self.max))
        } else {
            Ok(())
        }
    }

    /// Whether the terminating line has been read.
    pub fn is_done(&self) -> bool {
        self.done
    }

    pub fn into_body(self) -> Vec<u8> {
        self.body
    }
}

/// `+OK n size` of STAT (RFC 1939 §5): the message count and the maildrop's size in octets.
pub fn parse_stat(text: &str) -> Option<(u32, u64)> {
    let mut words = text.split_ascii_whitespace();
    Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
}

/// The scan listing of LIST without an argument: one `n size` line per message, in order
/// (RFC 1939 §5). `None` when a line is not of that form or the numbers are not 1, 2, 3, …
pub fn parse_scan_listing(body: &[u8]) -> Option<Vec<u64>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut sizes = Vec::new();
    for line in text.lines() {
        let (n, size) = parse_stat(line)?;
        if n as usize != sizes.len() + 1 {
            return None;
        }
        sizes.push(size);
    }
    Some(sizes)
}

pub struct Pop3Client {
    io: BufReader<BoxStream>,
    timeout: Duration,
    /// The server's greeting.
    pub greeting: Response,
}

impl Pop3Client {
    /// Connects and reads the greeting; with `TlsMode::Starttls`, upgrades with STLS (RFC 2595
    /// §4) before returning.
    pub async fn connect(ep: &Endpoint, timeout: Duration) -> Result<Self, ClientError> {
        let stream = tokio::time::timeout(timeout, ep.connect())
            .await
            .map_err(|_| ClientError::Timeout)??;
        let mut c = Self {
            io: BufReader::new(stream),
            timeout,
            greeting: Response::ok(""),
        };
        c.greeting = c.status().await?;
        if !c.greeting.ok {
            return Err(ClientError::Bye(c.greeting.text.clone()));
        }
        if ep.tls == TlsMode::Starttls {
            let r = c.command(&Command::Stls).await?;
            if !r.ok {
                return Err(ClientError::Malformed(format!("STLS refused: {}", r.text)));
            }
            let plain = std::mem::replace(
                &mut c.io,
                BufReader::new(Box::new(tokio::io::empty()) as BoxStream),
            );
            if !plain.buffer().is_empty() {
                return Err(ClientError::Malformed("data after STLS's +OK".into()));
            }
            let tls = tokio::time::timeout(timeout, ep.wrap(plain.into_inner()))
                .await
                .map_err(|_| ClientError::Timeout)??;
            c.io = BufReader::new(tls);
        }
        Ok(c)
    }

    /// Sends one command and reads its status line.
    pub async fn command(&mut self, cmd: &Command) -> Result<Response, ClientError> {
        let mut line = cmd.encode();
        line.extend_from_slice(b"\r\n");
        self.send(&line).await?;
        self.status().await
    }

    /// USER then PASS (RFC 1939 §7): the first refusal, or PASS's answer.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<Response, ClientError> {
        let r = self.user(user).await?;
        if !r.ok {
            return Ok(r);
        }
        self.pass(password).await
    }

    pub async fn user(&mut self, user: &str) -> Result<Response, ClientError> {
        self.command(&Command::User {
            name: user.to_owned(),
        })
        .await
    }

    pub async fn pass(&mut self, password: &str) -> Result<Response, ClientError> {
        self.command(&Command::Pass {
            password: Secret::new(password.to_owned()),
        })
        .await
    }

    /// A command with a multi-line answer: its status line, and after `+OK` the body
    /// (dot-stuffing undone), at most `max` bytes of it.
    pub async fn multi(
        &mut self,
        cmd: &Command,
        max: usize,
    ) -> Result<(Response, Option<Vec<u8>>), ClientError> {
        let r = self.command(cmd).await?;
        if !r.ok {
            return Ok((r, None));
        }
        let body = tokio::time::timeout(self.timeout, self.body(max))
            .await
            .map_err(|_| ClientError::Timeout)??;
        Ok((r, Some(body)))
    }

    async fn body(&mut self, max: usize) -> Result<Vec<u8>, ClientError> {
        let mut reader = MultiLine::new(max);
        while !reader.is_done() {
            let data = self.io.fill_buf().await?;
            if data.is_empty() {
                return Err(eof());
            }
            let n = reader.feed(data).map_err(|TooLarge(max)| {
                ClientError::Malformed(format!("multi-line response over {max} bytes"))
            })?;
            self.io.consume(n);
        }
        Ok(reader.into_body())
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        super::send_within(&mut self.io, bytes, self.timeout).await
    }

    /// Reads one status line (at most [`MAX_STATUS_LINE`] bytes).
    async fn status(&mut self) -> Result<Response, ClientError> {
        let line = tokio::time::timeout(self.timeout, self.line())
            .await
            .map_err(|_| ClientError::Timeout)??;
        let line = line.strip_suffix(b"\n").unwrap_or(&line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Response::parse(line).ok_or_else(|| {
            ClientError::Malformed(format!(
                "not a POP3 status line: {:?}",
                String::from_utf8_lossy(line)
            ))
        })
    }

    async fn line(&mut self) -> Result<Vec<u8>, ClientError> {
        let mut line = Vec::new();
        loop {
            let data = self.io.fill_buf().await?;
            if data.is_empty() {
                return Err(eof());
            }
            let (n, end) = match data.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (data.len(), false),
            };
            line.extend_from_slice(&data[..n]);
            self.io.consume(n);
            if line.len() > MAX_STATUS_LINE {
                return Err(ClientError::Malformed(format!(
                    "status line over {MAX_STATUS_LINE} bytes"
                )));
            }
            if end {
                return Ok(line);
            }
        }
    }
}

fn eof() -> ClientError {
    ClientError::Io(std::io::ErrorKind::UnexpectedEof.into())
}

#[cfg(test)]
#[path = "pop3_tests.rs"]
mod tests;
