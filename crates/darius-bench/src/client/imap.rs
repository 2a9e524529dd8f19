//! A small async IMAP client: tagged commands, server literals, client literals with `+`
//! continuation or LITERAL+ (RFC 7888) when advertised, STARTTLS, IDLE (RFC 2177), AUTHENTICATE
//! with SASL-IR (RFC 4959).
//!
//! It reports what the server said and leaves judging it to the workloads, except for what makes
//! the conversation impossible (I/O errors, malformed responses, BYE, a wrong tag), which become
//! [`ClientError`]s.

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use super::net::{BoxStream, Endpoint, TlsMode};
use super::parse::{
    literal_announced, parse_response, Code, Malformed, Response, Status, Untagged,
};

/// Responses larger than this are refused rather than buffered (a misbehaving server must not
/// exhaust the load generator's memory).
const MAX_RESPONSE: usize = 256 << 20;

/// The most commands [`ImapClient::pipeline`] sends before reading their completions.
pub const MAX_PIPELINE: usize = 256;

#[derive(Debug)]
pub enum ClientError {
    Io(std::io::Error),
    Malformed(String),
    Bye(String),
    Timeout,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "i/o: {e}"),
            Self::Malformed(m) => write!(f, "{m}"),
            Self::Bye(t) => write!(f, "server said BYE: {t}"),
            Self::Timeout => write!(f, "timed out"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<Malformed> for ClientError {
    fn from(e: Malformed) -> Self {
        Self::Malformed(e.0)
    }
}

impl ClientError {
    /// The error-kind label used in reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Io(_) => "io",
            Self::Malformed(_) => "malformed",
            Self::Bye(_) => "bye",
            Self::Timeout => "timeout",
        }
    }
}

/// The outcome of one tagged command: its status and the untagged data that came before it.
#[derive(Debug)]
pub struct Completion {
    pub status: Status,
    pub code: Option<Code>,
    pub text: String,
    pub untagged: Vec<Untagged>,
}

impl Completion {
    /// The completion of the command tagged `expected`, from its tagged response.
    fn of(
        expected: &str,
        tag: String,
        status: Status,
        code: Option<Code>,
        text: String,
        untagged: Vec<Untagged>,
    ) -> Result<Completion, ClientError> {
        if tag != expected {
            return Err(ClientError::Malformed(format!(
                "tag {tag}, expected {expected}"
            )));
        }
        Ok(Completion {
            status,
            code,
            text,
            untagged,
        })
    }

    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }
}

/// How APPEND sends its message literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Literals {
    /// `{n+}` without waiting when the server offers LITERAL+ (RFC 7888), else `{n}`.
    Auto,
    /// Always `{n}` and wait for the `+` continuation.
    Synchronizing,
}

pub struct ImapClient {
    io: BufReader<BoxStream>,
    next_tag: u32,
    caps: Vec<String>,
    timeout: Duration,
    literals: Literals,
    /// Bytes of server responses read so far (literals included).
    received: u64,
}

impl ImapClient {
    /// Connects, reads the greeting and (for `Starttls`) upgrades the connection.
    pub async fn connect(ep: &Endpoint, timeout: Duration) -> Result<Self, ClientError> {
        let stream = tokio::time::timeout(timeout, ep.connect())
            .await
            .map_err(|_| ClientError::Timeout)??;
        let mut client = Self::greeted(stream, timeout).await?;
        if ep.tls == TlsMode::Starttls {
            client.starttls(ep).await?;
        }
        Ok(client)
    }

    /// A client over an established stream, after the server's greeting.
    pub async fn greeted(stream: BoxStream, timeout: Duration) -> Result<Self, ClientError> {
        let mut client = Self {
            io: BufReader::with_capacity(16 * 1024, stream),
            next_tag: 1,
            caps: Vec::new(),
            timeout,
            literals: Literals::Auto,
            received: 0,
        };
        match client.read_response().await? {
            Response::Untagged(Untagged::Status {
                status: Status::Ok | Status::Preauth,
                code,
                ..
            }) => client.take_caps(code.as_ref()),
            other => return Err(ClientError::Malformed(format!("bad greeting: {other:?}"))),
        }
        Ok(client)
    }

    async fn starttls(&mut self, ep: &Endpoint) -> Result<(), ClientError> {
        let done = self.command("STARTTLS").await?;
        if !done.is_ok() {
            return Err(ClientError::Malformed(format!(
                "STARTTLS refused: {}",
                done.text
            )));
        }
        let placeholder: BoxStream = Box::new(tokio::io::duplex(1).0);
        let plain = std::mem::replace(&mut self.io, BufReader::new(placeholder)).into_inner();
        self.io = BufReader::with_capacity(16 * 1024, ep.wrap(plain).await?);
        self.caps.clear();
        Ok(())
    }

    pub fn set_literals(&mut self, literals: Literals) {
        self.literals = literals;
    }

    /// Bytes of server responses read since the connection opened.
    pub fn received(&self) -> u64 {
        self.received
    }

    pub fn has_cap(&self, cap: &str) -> bool {
        self.caps.iter().any(|c| c.eq_ignore_ascii_case(cap))
    }

    fn take_caps(&mut self, code: Option<&Code>) {
        if let Some(code) = code.filter(|c| c.name == "CAPABILITY") {
            self.caps = code.args.clone();
        }
    }

    /// LOGIN with quoted strings, then learns the capabilities if the server did not say them.
    pub async fn login(&mut self, user: &str, pass: &str) -> Result<Completion, ClientError> {
        let done = self
            .command(&format!("LOGIN {} {}", quote(user), quote(pass)))
            .await?;
        if done.is_ok() {
            self.take_caps(done.code.as_ref());
            let caps = done.untagged.iter().find_map(|u| match u {
                Untagged::Capability(c) => Some(c.clone()),
                _ => None,
            });
            if let Some(caps) = caps {
                self.caps = caps;
            }
            if self.caps.is_empty() {
                let cap = self.command("CAPABILITY").await?;
                for u in cap.untagged {
                    if let Untagged::Capability(c) = u {
                        self.caps = c;
                    }
                }
            }
        }
        Ok(done)
    }

    /// AUTHENTICATE `mechanism` (RFC 9051 §6.2.2). The initial response goes on the command
    /// line when the server offers SASL-IR (RFC 4959; `=` when empty), else after the server's
    /// first `+`. Every later challenge is decoded from base64 and handed to `respond`, whose
    /// answer is sent in base64; an `Err` from it (or a challenge that is not base64) cancels
    /// the exchange with `*` and comes back as `ClientError::Malformed`. Success data a server
    /// sends as a last challenge (SCRAM's `v=`) goes to `respond` too, which answers it with an
    /// empty response. At most `MAX_CHALLENGES` challenges are answered.
    pub async fn authenticate(
        &mut self,
        mechanism: &str,
        initial: &[u8],
        mut respond: impl FnMut(&[u8]) -> Result<Vec<u8>, String>,
    ) -> Result<Completion, ClientError> {
        const MAX_CHALLENGES: usize = 8;
        let tag = self.tag();
        let mut pending = Some(initial);
        let line = if self.has_cap("SASL-IR") {
            let ir = pending.take().map_or_else(String::new, sasl_ir);
            format!("{tag} AUTHENTICATE {mechanism} {ir}\r\n")
        } else {
            format!("{tag} AUTHENTICATE {mechanism}\r\n")
        };
        self.write(line.as_bytes()).await?;
        let mut untagged = Vec::new();
        let mut challenges = 0;
        loop {
            match self.step(&tag, &mut untagged).await? {
                Step::Done(completion) => return Ok(completion),
                Step::Continuation(text) => {
                    challenges += 1;
                    let answer = if let Some(initial) = pending.take() {
                        Ok(initial.to_vec())
                    } else if challenges > MAX_CHALLENGES {
                        Err(format!("more than {MAX_CHALLENGES} challenges"))
                    } else {
                        BASE64
                            .decode(text.trim_end())
                            .map_err(|e| format!("challenge is not base64: {e}"))
                            .and_then(|challenge| respond(&challenge))
                    };
                    match answer {
                        Ok(answer) => {
                            let line = format!("{}\r\n", BASE64.encode(answer));
                            self.write(line.as_bytes()).await?;
                        }
                        Err(why) => {
                            self.write(b"*\r\n").await?;
                            let _ = self.complete(&tag).await;
                            return Err(ClientError::Malformed(format!(
                                "AUTHENTICATE {mechanism} cancelled: {why}"
                            )));
                        }
                    }
                }
            }
        }
    }

    /// Sends `TAG command` and collects everything up to the tagged completion.
    pub async fn command(&mut self, command: &str) -> Result<Completion, ClientError> {
        let tag = self.tag();
        let line = format!("{tag} {command}\r\n");
        self.write(line.as_bytes()).await?;
        self.complete(&tag).await
    }

    /// Sends `commands` pipelined (RFC 9051 §5.5): up to `window` at a time (at least 1, at most
    /// [`MAX_PIPELINE`]) in one write, then reads their completions in order before the next
    /// batch, so neither side waits on a full socket buffer. Commands must not contain
    /// synchronizing literals. Returns one completion per command.
    pub async fn pipeline(
        &mut self,
        commands: &[String],
        window: usize,
    ) -> Result<Vec<Completion>, ClientError> {
        let window = window.clamp(1, MAX_PIPELINE);
        let mut out = Vec::with_capacity(commands.len());
        for batch in commands.chunks(window) {
            let mut buf = String::new();
            let mut tags = Vec::with_capacity(batch.len());
            for command in batch {
                let tag = self.tag();
                buf.push_str(&format!("{tag} {command}\r\n"));
                tags.push(tag);
            }
            self.write(buf.as_bytes()).await?;
            for tag in &tags {
                out.push(self.complete(tag).await?);
            }
        }
        Ok(out)
    }

    /// `APPEND mailbox [flags] literal`, with LITERAL+ when the server offers it.
    pub async fn append(
        &mut self,
        mailbox: &str,
        flags: &str,
        message: &[u8],
    ) -> Result<Completion, ClientError> {
        let tag = self.tag();
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("({flags}) ")
        };
        let n = message.len();
        let head = format!("{tag} APPEND {} {flags}", quote(mailbox));
        if self.literals == Literals::Auto && self.has_cap("LITERAL+") {
            let mut buf = Vec::with_capacity(head.len() + n + 16);
            buf.extend_from_slice(format!("{head}{{{n}+}}\r\n").as_bytes());
            buf.extend_from_slice(message);
            buf.extend_from_slice(b"\r\n");
            self.write(&buf).await?;
            return self.complete(&tag).await;
        }
        self.write(format!("{head}{{{n}}}\r\n").as_bytes()).await?;
        let mut early = Vec::new();
        loop {
            match self.read_response().await? {
                Response::Continuation(_) => break,
                Response::Untagged(u) => early.push(u),
                Response::Tagged {
                    status, code, text, ..
                } => {
                    return Ok(Completion {
                        status,
                        code,
                        text,
                        untagged: early,
                    })
                }
            }
        }
        let mut buf = Vec::with_capacity(n + 2);
        buf.extend_from_slice(message);
        buf.extend_from_slice(b"\r\n");
        self.write(&buf).await?;
        let mut done = self.complete(&tag).await?;
        early.append(&mut done.untagged);
        done.untagged = early;
        Ok(done)
    }

    /// Sends IDLE and waits for the continuation; untagged data before it is returned.
    pub async fn idle_start(&mut self) -> Result<(String, Vec<Untagged>), ClientError> {
        let tag = self.tag();
        self.write(format!("{tag} IDLE\r\n").as_bytes()).await?;
        let mut early = Vec::new();
        loop {
            match self.read_response().await? {
                Response::Continuation(_) => return Ok((tag, early)),
                Response::Untagged(u) => early.push(u),
                Response::Tagged { text, .. } => {
                    return Err(ClientError::Malformed(format!("IDLE refused: {text}")))
                }
            }
        }
    }

    /// Reads the next untagged response while idling (no timeout: idling is waiting).
    pub async fn idle_next(&mut self) -> Result<Untagged, ClientError> {
        match self.read_response_untimed().await? {
            Response::Untagged(u) => Ok(u),
            other => Err(ClientError::Malformed(format!("during IDLE: {other:?}"))),
        }
    }

    /// Ends IDLE with DONE and waits for the completion of the IDLE command.
    pub async fn idle_done(&mut self, tag: &str) -> Result<Completion, ClientError> {
        self.write(b"DONE\r\n").await?;
        self.complete(tag).await
    }

    /// LOGOUT; the BYE that precedes the completion is expected.
    pub async fn logout(&mut self) -> Result<(), ClientError> {
        let tag = self.tag();
        self.write(format!("{tag} LOGOUT\r\n").as_bytes()).await?;
        loop {
            match self.read_response().await {
                Ok(Response::Tagged { .. }) => return Ok(()),
                Ok(_) | Err(ClientError::Bye(_)) => {}
                Err(ClientError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(())
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn tag(&mut self) -> String {
        let t = format!("b{}", self.next_tag);
        self.next_tag += 1;
        t
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        super::send_within(&mut self.io, bytes, self.timeout).await
    }

    async fn complete(&mut self, tag: &str) -> Result<Completion, ClientError> {
        let mut untagged = Vec::new();
        match self.step(tag, &mut untagged).await? {
            Step::Done(completion) => Ok(completion),
            Step::Continuation(c) => Err(ClientError::Malformed(format!(
                "unexpected continuation: {c}"
            ))),
        }
    }

    /// Reads up to the completion of `tag` or the next continuation request, collecting the
    /// untagged responses; a `* BYE` is an error.
    async fn step(&mut self, tag: &str, untagged: &mut Vec<Untagged>) -> Result<Step, ClientError> {
        loop {
            match self.read_response().await? {
                Response::Untagged(Untagged::Status {
                    status: Status::Bye,
                    text,
                    ..
                }) => return Err(ClientError::Bye(text)),
                Response::Untagged(u) => untagged.push(u),
                Response::Continuation(c) => return Ok(Step::Continuation(c)),
                Response::Tagged {
                    tag: t,
                    status,
                    code,
                    text,
                } => {
                    let untagged = std::mem::take(untagged);
                    return Completion::of(tag, t, status, code, text, untagged).map(Step::Done);
                }
            }
        }
    }

    async fn read_response(&mut self) -> Result<Response, ClientError> {
        tokio::time::timeout(self.timeout, self.read_response_untimed())
            .await
            .map_err(|_| ClientError::Timeout)?
    }

    async fn read_response_untimed(&mut self) -> Result<Response, ClientError> {
        let mut buf = Vec::with_capacity(128);
        loop {
            let start = buf.len();
            let n = self.io.read_until(b'\n', &mut buf).await?;
            if n == 0 {
                return Err(ClientError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            let Some(len) = literal_announced(&buf[start..]) else {
                break;
            };
            if buf.len() + len > MAX_RESPONSE {
                return Err(ClientError::Malformed(format!("literal of {len} bytes")));
            }
            let at = buf.len();
            buf.resize(at + len, 0);
            self.io.read_exact(&mut buf[at..]).await?;
        }
        if buf.len() > MAX_RESPONSE {
            return Err(ClientError::Malformed("response too long".into()));
        }
        self.received += buf.len() as u64;
        Ok(parse_response(&buf)?)
    }
}

/// A SASL initial response on the command line (RFC 4959 §3): base64, `=` when empty.
fn sasl_ir(initial: &[u8]) -> String {
    if initial.is_empty() {
        "=".to_owned()
    } else {
        BASE64.encode(initial)
    }
}

/// An IMAP quoted string (RFC 9051 §4.3).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Where [`ImapClient::step`] stopped.
enum Step {
    Done(Completion),
    Continuation(String),
}

#[cfg(test)]
#[path = "imap_tests.rs"]
mod tests;
