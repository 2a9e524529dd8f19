//! An LMTP client connection to one backend (RFC 2033, RFC 3030 for BDAT): the greeting, LHLO
//! and what it offers, STARTTLS where `proxy_tls` wants it (RFC 3207; LHLO again after it),
//! AUTH PLAIN (RFC 4954, RFC 4616), commands with their replies, and the
//! message sent from the session's [`Body`] a buffer at a time — as one `BDAT n LAST` when the
//! backend offers CHUNKING, else dot-stuffed after DATA. Every read and write is bounded by a
//! timeout; a backend that breaks the protocol, closes, or says `421` is a [`BackendError`],
//! after which the connection is not used again.

use std::time::Duration;

use lmtp_proto::{Command, Reply, SaslData};
use net::{ClientStream, ClientTls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::reply::{Malformed, ReplyReader};
use super::ProxyLogin;
use crate::body::BodyReader;

/// How much of the message one read takes from the spool and one write sends.
const SEND_CHUNK: usize = 64 * 1024;

/// Why a backend connection cannot go on.
#[derive(Debug)]
pub(crate) enum BackendError {
    Io(std::io::Error),
    /// Connecting, or waiting for a reply or a write, took too long.
    Timeout,
    /// The backend's output is not LMTP.
    Malformed(Malformed),
    /// The backend closed the connection.
    Closed,
    /// TLS was wanted and could not be had (not offered under `proxy_tls: on`, or the
    /// certificate did not verify).
    Tls(net::ClientTlsError),
    /// The backend answered with a refusal where the connection cannot go on without success
    /// (the greeting, LHLO, AUTH), or `421` anywhere (RFC 5321 §3.8: it is closing).
    Refused(Reply),
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendError::Io(e) => write!(f, "{e}"),
            BackendError::Timeout => f.write_str("timed out"),
            BackendError::Malformed(m) => write!(f, "{m}"),
            BackendError::Closed => f.write_str("connection closed"),
            BackendError::Tls(e) => write!(f, "TLS: {e}"),
            BackendError::Refused(r) => write!(f, "answered {}", r.code),
        }
    }
}

/// What the backend's LHLO reply offered that the relay uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Offered {
    /// `CHUNKING` (RFC 3030): the message goes as one BDAT.
    pub chunking: bool,
    /// `IGNOREQUOTA` (Cyrus's extension, offered to trusted clients).
    pub ignore_quota: bool,
    /// `AUTH` listing `PLAIN`.
    pub auth_plain: bool,
    /// `STARTTLS` (RFC 3207).
    pub starttls: bool,
}

impl Offered {
    /// Reads the LHLO reply's lines after the first (RFC 5321 §4.1.1.1 `ehlo-line`s).
    fn from_lhlo(reply: &Reply) -> Offered {
        let mut offered = Offered::default();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
            match keyword.as_str() {
                "CHUNKING" => offered.chunking = true,
                "IGNOREQUOTA" => offered.ignore_quota = true,
                "STARTTLS" => offered.starttls = true,
                "AUTH" => offered.auth_plain = words.any(|m| m.eq_ignore_ascii_case("PLAIN")),
                _ => {}
            }
        }
        offered
    }
}

/// One connection to a backend's LMTP service.
pub(crate) struct BackendLmtp {
    stream: ClientStream,
    input: Vec<u8>,
    replies: ReplyReader,
    /// How long a reply or a write may take.
    timeout: Duration,
    pub offered: Offered,
    /// Whether AUTH succeeded: the backend then takes `MAIL … AUTH=` from this connection.
    pub authenticated: bool,
}

impl BackendLmtp {
    /// Connects to `address` (`host:port`) within `connect_timeout`, takes the greeting, says
    /// LHLO as `servername`, starts TLS as `tls` says (and says LHLO again), and authenticates
    /// as `login` when the backend offers PLAIN.
    pub(crate) async fn open(
        address: &str,
        servername: &str,
        login: Option<&ProxyLogin>,
        tls: &ClientTls,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<BackendLmtp, BackendError> {
        let stream = tokio::time::timeout(connect_timeout, TcpStream::connect(address))
            .await
            .map_err(|_| BackendError::Timeout)?
            .map_err(BackendError::Io)?;
        let _ = stream.set_nodelay(true);
        let mut backend = BackendLmtp {
            stream: ClientStream::Plain(stream),
            input: Vec::new(),
            replies: ReplyReader::new(),
            timeout: connect_timeout,
            offered: Offered::default(),
            authenticated: false,
        };
        let greeting = backend.reply().await?;
        if greeting.code != 220 {
            return Err(BackendError::Refused(greeting));
        }
        let lhlo = Command::Lhlo {
            domain: servername.to_string(),
        };
        backend.offered = Offered::from_lhlo(&backend.expect_positive(&lhlo).await?);
        if tls
            .wanted(backend.offered.starttls)
            .map_err(BackendError::Tls)?
        {
            backend.start_tls(tls, address).await?;
            // RFC 3207 §4.2: what the backend said before TLS is forgotten.
            backend.offered = Offered::from_lhlo(&backend.expect_positive(&lhlo).await?);
        }
        if let Some(login) = login.filter(|_| backend.offered.auth_plain) {
            backend.authenticate(login).await?;
            backend.authenticated = true;
        }
        backend.timeout = timeout;
        Ok(backend)
    }

    /// STARTTLS and the handshake after its `220` (RFC 3207 §4), with `address`'s host as the
    /// name the backend's certificate must carry.
    async fn start_tls(&mut self, tls: &ClientTls, address: &str) -> Result<(), BackendError> {
        self.expect_positive(&Command::StartTls).await?;
        tokio::time::timeout(
            self.timeout,
            self.stream.start_tls(tls, address, &self.input),
        )
        .await
        .map_err(|_| BackendError::Timeout)?
        .map_err(BackendError::Tls)
    }

    /// AUTH PLAIN as the frontend itself, with no authorization identity (RFC 4616 §2): the
    /// backend then trusts it to name each message's submitter (`MAIL … AUTH=`).
    async fn authenticate(&mut self, login: &ProxyLogin) -> Result<(), BackendError> {
        let mut message = Vec::with_capacity(login.authname.len() + 32);
        message.push(0);
        message.extend_from_slice(login.authname.as_bytes());
        message.push(0);
        message.extend_from_slice(login.password.expose().as_bytes());
        let auth = Command::Auth {
            mechanism: "PLAIN".into(),
            initial: Some(SaslData::new(message)),
        };
        self.expect_positive(&auth).await.map(|_| ())
    }

    /// Sends `command` and reads its reply; a refusal is an error.
    async fn expect_positive(&mut self, command: &Command) -> Result<Reply, BackendError> {
        let reply = self.command(command).await?;
        if !reply.is_positive() {
            return Err(BackendError::Refused(reply));
        }
        Ok(reply)
    }

    /// Sends `command` and reads its reply, whatever it says (but `421`).
    pub(crate) async fn command(&mut self, command: &Command) -> Result<Reply, BackendError> {
        self.write(&command.to_bytes()).await?;
        self.reply().await
    }

    /// Sends the message: `len` octets from `body`, as one `BDAT len LAST` when the backend
    /// offers CHUNKING, else after DATA's `354`, dot-stuffed. The replies (one per recipient)
    /// are read by the caller.
    pub(crate) async fn send_message(
        &mut self,
        body: &mut BodyReader<'_>,
        len: u64,
    ) -> Result<Option<Reply>, BackendError> {
        let mut stuffer = match self.offered.chunking {
            true => {
                let bdat = Command::Bdat {
                    size: len,
                    last: true,
                };
                self.write(&bdat.to_bytes()).await?;
                None
            }
            false => {
                let go_ahead = self.command(&Command::Data).await?;
                if go_ahead.code != 354 {
                    return Ok(Some(go_ahead));
                }
                Some(DotStuffer::default())
            }
        };
        let mut buf = vec![0u8; SEND_CHUNK];
        let mut out = Vec::new();
        let mut sent = 0u64;
        while sent < len {
            let n = body.read(&mut buf).await.map_err(BackendError::Io)?;
            if n == 0 {
                // The spool is shorter than it said: the backend cannot be told the message
                // ended early (BDAT counts octets), so the connection is given up.
                return Err(BackendError::Closed);
            }
            let n = usize::try_from(len - sent).map_or(n, |left| n.min(left));
            match stuffer.as_mut() {
                Some(stuffer) => {
                    out.clear();
                    stuffer.feed(&buf[..n], &mut out);
                    self.write(&out).await?;
                }
                None => self.write(&buf[..n]).await?,
            }
            sent += n as u64;
        }
        if let Some(stuffer) = stuffer {
            out.clear();
            stuffer.finish(&mut out);
            self.write(&out).await?;
        }
        Ok(None)
    }

    /// Says QUIT and waits a little for the answer (best effort: the transaction is over).
    pub(crate) async fn quit(self) {
        self.quit_within(Duration::from_secs(5)).await;
    }

    /// Says QUIT and waits at most `wait` (and the usual timeout) for the answer.
    pub(crate) async fn quit_within(mut self, wait: Duration) {
        self.timeout = self.timeout.min(wait);
        let _ = self.command(&Command::Quit).await;
    }

    /// Whether the connection can take a new transaction: nothing unread, and the backend has
    /// neither closed it nor said anything since its last reply (an idle backend that speaks
    /// is closing: `421`). Checked without waiting: a close that has not arrived yet is
    /// found by the next command instead.
    pub(crate) fn is_clean(&mut self) -> bool {
        if !self.input.is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        match self.stream.try_read_now(&mut probe) {
            Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
            // Closed (0), or unexpected words from an idle backend.
            Ok(_) => false,
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), BackendError> {
        match tokio::time::timeout(self.timeout, self.stream.write_all(bytes)).await {
            Ok(result) => result.map_err(BackendError::Io),
            Err(_) => Err(BackendError::Timeout),
        }
    }

    /// Reads the next reply; `421` is an error (the backend is closing the connection).
    pub(crate) async fn reply(&mut self) -> Result<Reply, BackendError> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(reply) = self
                .replies
                .take_reply(&mut self.input)
                .map_err(BackendError::Malformed)?
            {
                if reply.code == 421 {
                    return Err(BackendError::Refused(reply));
                }
                return Ok(reply);
            }
            let read = tokio::time::timeout(self.timeout, self.stream.read(&mut chunk)).await;
            match read {
                Err(_) => return Err(BackendError::Timeout),
                Ok(Err(e)) => return Err(BackendError::Io(e)),
                Ok(Ok(0)) => return Err(BackendError::Closed),
                Ok(Ok(n)) => self.input.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

/// DATA's dot-stuffing (RFC 5321 §4.5.2) over a message that comes in pieces: a `.` that
/// starts a line gets another in front; the end adds CRLF when the message does not end with a
/// line end, then `.` CRLF.
#[derive(Debug)]
struct DotStuffer {
    at_line_start: bool,
    any: bool,
}

impl Default for DotStuffer {
    fn default() -> DotStuffer {
        DotStuffer {
            at_line_start: true,
            any: false,
        }
    }
}

impl DotStuffer {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        for &b in bytes {
            if self.at_line_start && b == b'.' {
                out.push(b'.');
            }
            out.push(b);
            self.at_line_start = b == b'\n';
        }
        self.any |= !bytes.is_empty();
    }

    fn finish(self, out: &mut Vec<u8>) {
        if self.any && !self.at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_in_pieces_is_lmtp_protos_in_one() {
        let messages: [&[u8]; 5] = [
            b"",
            b"a\r\n.b\r\n..\r\n.\r\n",
            b".start\r\nno end",
            b"x\r\n.",
            b"line\r\n",
        ];
        for message in messages {
            let mut whole = Vec::new();
            lmtp_proto::dot_stuff(message, &mut whole);
            for split in 0..=message.len() {
                let mut stuffer = DotStuffer::default();
                let mut pieces = Vec::new();
                stuffer.feed(&message[..split], &mut pieces);
                stuffer.feed(&message[split..], &mut pieces);
                stuffer.finish(&mut pieces);
                assert_eq!(pieces, whole, "{message:?} split at {split}");
            }
        }
    }

    #[test]
    fn lhlo_offers_are_read_from_the_keyword_lines() {
        let reply = Reply::multiline(
            250,
            None,
            vec![
                "b1.test".into(),
                "chunking".into(),
                "IGNOREQUOTA".into(),
                "AUTH SCRAM-SHA-256 PLAIN".into(),
            ],
        );
        assert_eq!(
            Offered::from_lhlo(&reply),
            Offered {
                chunking: true,
                ignore_quota: true,
                auth_plain: true,
                starttls: false,
            }
        );
        let plain = Reply::multiline(250, None, vec!["CHUNKING".into(), "SIZE".into()]);
        assert_eq!(
            Offered::from_lhlo(&plain),
            Offered::default(),
            "the first line is the name"
        );
    }
}
