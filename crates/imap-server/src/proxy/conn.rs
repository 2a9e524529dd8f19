//! One authenticated connection to a backend: connect, read the greeting, STARTTLS where
//! `proxy_tls` wants it (RFC 9051 §6.2.1; the capabilities asked again after it), `AUTHENTICATE
//! PLAIN` as the frontend with the session's user as the authorization identity (RFC 4616;
//! the initial response inline when the backend offers SASL-IR, RFC 4959), and learn what
//! the backend offers after login.

use std::time::Duration;

use base64::Engine;
use imap_proto::response::{Code, Response, StatusKind};
use imap_proto::MailboxEncoding;
use net::{ClientStream, ClientTls};
use tokio::net::TcpStream;

use super::io::BackendIo;
use super::ProxyError;
use crate::{ProxyLogin, ProxyTimeouts};

/// How a command ended at the backend.
pub(crate) struct Completion {
    pub kind: StatusKind,
    pub code: Option<Code>,
    /// What followed the backend's tag, exactly as sent (` OK [code] text` CRLF): the client
    /// gets it under its own tag.
    pub rest: Vec<u8>,
}

impl Completion {
    /// The completion in `line` when it carries `tag`.
    pub fn of(line: &[u8], tag: &str) -> Option<Completion> {
        let rest = line.strip_prefix(tag.as_bytes())?;
        if rest.first() != Some(&b' ') {
            return None;
        }
        let word: Vec<u8> = rest[1..]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .map(u8::to_ascii_uppercase)
            .collect();
        let kind = match word.as_slice() {
            b"OK" => StatusKind::Ok,
            b"NO" => StatusKind::No,
            _ => StatusKind::Bad,
        };
        // The code matters (APPENDUID, READ-ONLY); text the parser does not take is kept as
        // sent anyway.
        let code = match imap_proto::parse_response(line, MailboxEncoding::Utf8) {
            Ok(Response::Status(status)) => status.code,
            _ => None,
        };
        Some(Completion {
            kind,
            code,
            rest: rest.to_vec(),
        })
    }

    /// Whether the command succeeded (`OK`).
    pub fn is_ok(&self) -> bool {
        self.kind == StatusKind::Ok
    }

    /// The human text, for a log line or an answer of the frontend's own.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.rest).trim().to_string()
    }
}

/// Extensions turned on at the backend with ENABLE, following the client's (RFC 5161).
#[derive(Default, Clone, Copy)]
pub(crate) struct EnabledThere {
    pub imap4rev2: bool,
    pub condstore: bool,
    pub qresync: bool,
}

/// A connection to one backend, logged in for the session's user.
pub(crate) struct BackendConn {
    /// The backend's name in the directory.
    pub name: String,
    pub io: BackendIo,
    /// What the backend offers after login, upper-cased.
    capabilities: Vec<String>,
    next_tag: u32,
    pub enabled: EnabledThere,
    /// A mailbox may be selected there for this session (the proxied selected state, or a
    /// SELECT that failed after closing one).
    pub selected: bool,
    /// Longest silence while an answer is owed.
    pub timeout: Duration,
}

impl BackendConn {
    /// Connects to `address`, starts TLS as `tls` says, authenticates as `login` for `user`,
    /// all within the connect timeout.
    pub async fn open(
        name: &str,
        address: &str,
        login: &ProxyLogin,
        user: &str,
        tls: &ClientTls,
        max_line: usize,
        timeouts: ProxyTimeouts,
    ) -> Result<BackendConn, ProxyError> {
        let login = &login.at(name);
        let opening = async {
            let stream = TcpStream::connect(address).await?;
            // Commands are small and each waits for its answer.
            let _ = stream.set_nodelay(true);
            let mut conn = BackendConn {
                name: name.to_string(),
                io: BackendIo::new(ClientStream::Plain(stream), max_line),
                capabilities: Vec::new(),
                next_tag: 0,
                enabled: EnabledThere::default(),
                selected: false,
                timeout: timeouts.connect,
            };
            conn.greeting().await?;
            conn.start_tls(tls, address).await?;
            conn.authenticate(login, user).await?;
            conn.timeout = timeouts.response;
            Ok(conn)
        };
        tokio::time::timeout(timeouts.connect, opening)
            .await
            .map_err(|_| ProxyError::Timeout)?
    }

    /// A tag of this connection's own, never reused on it.
    pub fn tag(&mut self) -> String {
        self.next_tag += 1;
        format!("P{}", self.next_tag)
    }

    /// Whether the backend offers `capability` (as written in CAPABILITY, any case).
    pub fn offers(&self, capability: &str) -> bool {
        self.capabilities
            .iter()
            .any(|c| c.eq_ignore_ascii_case(capability))
    }

    /// `* OK` with or without capabilities; `* PREAUTH` (as whom?) and `* BYE` are refusals.
    async fn greeting(&mut self) -> Result<(), ProxyError> {
        let line = self.io.line(self.timeout).await?;
        match imap_proto::parse_response(&line, MailboxEncoding::ModifiedUtf7) {
            Ok(Response::Status(status)) if status.tag.is_none() => match status.kind {
                StatusKind::Ok => {
                    if let Some(Code::Capability(caps)) = status.code {
                        self.capabilities = caps;
                    }
                    Ok(())
                }
                StatusKind::Bye => Err(ProxyError::Bye(status.text)),
                _ => Err(ProxyError::Protocol(format!(
                    "an unexpected greeting: {}",
                    String::from_utf8_lossy(&line).trim_end()
                ))),
            },
            _ => Err(ProxyError::Protocol("no IMAP greeting".into())),
        }
    }

    /// STARTTLS when the backend offers it and `tls` wants it, then CAPABILITY again: what
    /// was learnt before TLS is forgotten (RFC 9051 §6.2.1).
    async fn start_tls(&mut self, tls: &ClientTls, address: &str) -> Result<(), ProxyError> {
        if self.capabilities.is_empty() {
            self.capability().await?;
        }
        if !tls.wanted(self.offers("STARTTLS"))? {
            return Ok(());
        }
        let tag = self.tag();
        let command = format!("{tag} STARTTLS\r\n");
        self.io.write_all(command.as_bytes(), self.timeout).await?;
        match self
            .until_completion(&tag, Continuation::Unexpected)
            .await?
        {
            Some(done) if done.is_ok() => {}
            Some(done) => {
                return Err(ProxyError::Protocol(format!(
                    "a refusal of STARTTLS: {}",
                    done.text()
                )))
            }
            None => return Err(ProxyError::Protocol("an unexpected continuation".into())),
        }
        self.io.start_tls(tls, address).await?;
        self.capabilities.clear();
        self.capability().await
    }

    /// RFC 4616 PLAIN: `authzid NUL authcid NUL password`, the user as authorization identity.
    async fn authenticate(&mut self, login: &ProxyLogin, user: &str) -> Result<(), ProxyError> {
        if self.capabilities.is_empty() {
            self.capability().await?;
        }
        let mut message = Vec::new();
        message.extend_from_slice(user.as_bytes());
        message.push(0);
        message.extend_from_slice(login.authname.as_bytes());
        message.push(0);
        message.extend_from_slice(login.password.expose().as_bytes());
        let response = types::Secret::new(format!(
            "{}\r\n",
            base64::engine::general_purpose::STANDARD.encode(&message)
        ));
        let tag = self.tag();
        if self.offers("SASL-IR") {
            let command = format!("{tag} AUTHENTICATE PLAIN {}", response.expose());
            self.io.write_all(command.as_bytes(), self.timeout).await?;
        } else {
            let command = format!("{tag} AUTHENTICATE PLAIN\r\n");
            self.io.write_all(command.as_bytes(), self.timeout).await?;
            if let Some(done) = self.until_completion(&tag, Continuation::Expected).await? {
                return Err(ProxyError::LoginRefused(done.text()));
            }
            let bytes = response.expose().as_bytes();
            self.io.write_all(bytes, self.timeout).await?;
        }
        match self
            .until_completion(&tag, Continuation::Unexpected)
            .await?
        {
            Some(done) if done.is_ok() => {
                match done.code {
                    Some(Code::Capability(caps)) => self.capabilities = caps,
                    // What the backend offers changes with login (RFC 9051 §7.2.2).
                    _ => self.capability().await?,
                }
                Ok(())
            }
            Some(done) => Err(ProxyError::LoginRefused(done.text())),
            None => Err(ProxyError::Protocol("an unexpected continuation".into())),
        }
    }

    /// Asks for the capabilities (learnt from the untagged CAPABILITY).
    async fn capability(&mut self) -> Result<(), ProxyError> {
        let tag = self.tag();
        let command = format!("{tag} CAPABILITY\r\n");
        self.io.write_all(command.as_bytes(), self.timeout).await?;
        match self
            .until_completion(&tag, Continuation::Unexpected)
            .await?
        {
            Some(done) if done.is_ok() => Ok(()),
            _ => Err(ProxyError::Protocol("CAPABILITY failed".into())),
        }
    }

    /// Reads until `tag` completes (`Some`) or, when one is expected, a continuation request
    /// comes (`None`); untagged CAPABILITY is learnt, other untagged data skipped. For the
    /// exchanges of login only: after login every response goes through the session's relay.
    async fn until_completion(
        &mut self,
        tag: &str,
        continuation: Continuation,
    ) -> Result<Option<Completion>, ProxyError> {
        loop {
            let line = self.io.line(self.timeout).await?;
            if let Some(done) = Completion::of(&line, tag) {
                return Ok(Some(done));
            }
            if line.starts_with(b"+") {
                return match continuation {
                    Continuation::Expected => Ok(None),
                    Continuation::Unexpected => {
                        Err(ProxyError::Protocol("an unexpected continuation".into()))
                    }
                };
            }
            match imap_proto::parse_response(&line, MailboxEncoding::ModifiedUtf7) {
                Ok(Response::Data(imap_proto::response::Data::Capability(caps))) => {
                    self.capabilities = caps;
                }
                Ok(Response::Status(status)) if status.kind == StatusKind::Bye => {
                    return Err(ProxyError::Bye(status.text));
                }
                _ => self.skip_literals(&line).await?,
            }
        }
    }

    /// Skips the literals a response line announces, and the lines after them.
    async fn skip_literals(&mut self, first: &[u8]) -> Result<(), ProxyError> {
        let mut line = first.to_vec();
        while let Some(mut left) = imap_proto::response_line_literal(&line) {
            while left > 0 {
                let max = usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .min(super::io::CHUNK);
                let chunk = self.io.chunk(max, self.timeout).await?;
                left -= chunk.len() as u64;
            }
            line = self.io.line(self.timeout).await?;
        }
        Ok(())
    }

    /// Sends one command without literals (`line`, untagged) and reads until its completion,
    /// skipping untagged data: for the server's own requests outside a client session.
    pub(crate) async fn command(&mut self, line: &str) -> Result<Completion, ProxyError> {
        let tag = self.tag();
        let command = format!("{tag} {line}\r\n");
        self.io.write_all(command.as_bytes(), self.timeout).await?;
        self.until_completion(&tag, Continuation::Unexpected)
            .await?
            .ok_or_else(|| ProxyError::Protocol("an unexpected continuation".into()))
    }

    /// Says LOGOUT and closes, waiting briefly for the answer (the session is over anyway).
    pub async fn logout(mut self) {
        let tag = self.tag();
        let command = format!("{tag} LOGOUT\r\n");
        self.timeout = self.timeout.min(Duration::from_secs(5));
        if self
            .io
            .write_all(command.as_bytes(), self.timeout)
            .await
            .is_ok()
        {
            loop {
                match self.io.line(self.timeout).await {
                    Ok(line) if Completion::of(&line, &tag).is_none() => {
                        if self.skip_literals(&line).await.is_err() {
                            break;
                        }
                    }
                    _ => break,
                }
            }
        }
        self.io.shutdown().await;
    }
}

/// Whether a continuation request may come before the completion.
#[derive(Clone, Copy)]
enum Continuation {
    Expected,
    Unexpected,
}
