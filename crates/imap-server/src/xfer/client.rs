//! The source's connection to the target: logged in as the proxy identity for the
//! administrator who asked (as a frontend logs in for a user, `proxy::conn`), the transfer
//! steps written one after the other without waiting (`{N+}` literals, so a message needs no
//! round trip), at most [`WINDOW`] of them unanswered. The target answers in order, one
//! command at a time; the first refusal is the transfer's answer, the completions after it
//! are read to keep the stream in step.

use std::collections::VecDeque;

use imap_proto::command::{AppendData, Command, Tag, TaggedCommand, XferStep};
use imap_proto::response::Code;
use imap_proto::wire::LiteralStyle;
use imap_proto::{LiteralKind, MailboxEncoding, SpoolRef};
use tokio::io::AsyncReadExt;

use crate::proxy::{BackendConn, Completion, ProxyError};

/// Steps written and not yet answered, at most.
const WINDOW: usize = 64;

/// Why a transfer stopped at the target.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TargetError {
    /// The connection failed (or the target broke the protocol).
    #[error("{0}")]
    Lost(#[from] ProxyError),
    /// The target refused a step.
    #[error("it refused {step}: {text}")]
    Refused { step: &'static str, text: String },
}

/// A connection to the target of a transfer.
pub(crate) struct TargetConn {
    conn: BackendConn,
    /// Tags written and not answered yet, oldest first, with the step's name.
    unanswered: VecDeque<(String, &'static str)>,
    /// The first refusal among the answers read.
    refused: Option<TargetError>,
    /// The code of the last completion read.
    last_code: Option<Code>,
}

impl TargetConn {
    /// A logged-in connection, which must offer the transfer steps.
    pub async fn new(conn: BackendConn) -> Result<TargetConn, TargetError> {
        if !conn.offers(super::CAPABILITY) {
            return Err(TargetError::Refused {
                step: "the login",
                text: format!(
                    "it does not offer {} to this administrator (not a Darius backend, or the \
                     administrator is not one there)",
                    super::CAPABILITY
                ),
            });
        }
        Ok(TargetConn {
            conn,
            unanswered: VecDeque::new(),
            refused: None,
            last_code: None,
        })
    }

    /// Writes `step` without waiting for its answer.
    pub async fn send(&mut self, step: XferStep) -> Result<(), TargetError> {
        self.send_with(Command::XferStep(step), None).await
    }

    /// Writes an ordinary command (SETQUOTA) without waiting for its answer.
    pub async fn send_command(&mut self, command: Command) -> Result<(), TargetError> {
        self.send_with(command, None).await
    }

    /// Writes an XFERMSG whose message is the `len` bytes of `file` (opened already, so a
    /// message expunged meanwhile can still be read to its end).
    pub async fn send_file(
        &mut self,
        step: XferStep,
        file: std::fs::File,
        len: u64,
    ) -> Result<(), TargetError> {
        self.send_with(Command::XferStep(step), Some((file, len)))
            .await
    }

    async fn send_with(
        &mut self,
        command: Command,
        file: Option<(std::fs::File, u64)>,
    ) -> Result<(), TargetError> {
        while self.unanswered.len() >= WINDOW {
            self.read_one().await?;
        }
        let tag = self.conn.tag();
        let name = command.name();
        let command = TaggedCommand {
            tag: Tag::new(&tag).ok_or_else(|| ProxyError::Protocol("a bad tag".into()))?,
            command,
        };
        let mut bytes = command.to_bytes(MailboxEncoding::ModifiedUtf7, LiteralStyle::NonSync);
        let timeout = self.conn.timeout;
        match file {
            None => self.conn.io.write_all(&bytes, timeout).await?,
            Some((file, len)) => {
                // The encoder wrote the literal's header and the final CRLF; the bytes go in
                // between.
                bytes.truncate(bytes.len().saturating_sub(2));
                self.conn.io.write_all(&bytes, timeout).await?;
                self.write_file(file, len).await?;
                self.conn.io.write_all(b"\r\n", timeout).await?;
            }
        }
        self.unanswered.push_back((tag, name));
        Ok(())
    }

    /// Streams `len` bytes of `file`.
    async fn write_file(&mut self, file: std::fs::File, len: u64) -> Result<(), ProxyError> {
        let mut file = tokio::fs::File::from_std(file);
        let mut buf = vec![0u8; 64 * 1024];
        let mut left = len;
        while left > 0 {
            let max = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
            let n = file.read(&mut buf[..max]).await?;
            if n == 0 {
                return Err(ProxyError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            self.conn.io.write_all(&buf[..n], self.conn.timeout).await?;
            left -= n as u64;
        }
        Ok(())
    }

    /// Reads the answer of the oldest unanswered step.
    async fn read_one(&mut self) -> Result<(), TargetError> {
        let Some((tag, step)) = self.unanswered.pop_front() else {
            return Ok(());
        };
        let done = self.completion(&tag).await?;
        if !done.is_ok() && self.refused.is_none() {
            self.refused = Some(TargetError::Refused {
                step,
                text: done.text(),
            });
        }
        self.last_code = done.code;
        Ok(())
    }

    /// Reads until `tag`'s completion, skipping untagged responses (and their literals).
    async fn completion(&mut self, tag: &str) -> Result<Completion, ProxyError> {
        let timeout = self.conn.timeout;
        loop {
            let line = self.conn.io.line(timeout).await?;
            if let Some(done) = Completion::of(&line, tag) {
                return Ok(done);
            }
            if !line.starts_with(b"* ") {
                return Err(ProxyError::Protocol(format!(
                    "a line that answers nothing: {}",
                    String::from_utf8_lossy(&line[..line.len().min(80)]).trim_end()
                )));
            }
            if line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"* BYE") {
                return Err(ProxyError::Bye(
                    String::from_utf8_lossy(&line[5..]).trim().into(),
                ));
            }
            let mut line = line;
            while let Some(mut left) = imap_proto::response_line_literal(&line) {
                while left > 0 {
                    let max = usize::try_from(left).unwrap_or(usize::MAX).min(16 * 1024);
                    left -= self.conn.io.chunk(max, timeout).await?.len() as u64;
                }
                line = self.conn.io.line(timeout).await?;
            }
        }
    }

    /// Waits for every step written so far; the first refusal among them is the answer.
    pub async fn settle(&mut self) -> Result<(), TargetError> {
        while !self.unanswered.is_empty() {
            self.read_one().await?;
        }
        match self.refused.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Writes `step` and waits for it (and everything before it); answers its completion's
    /// response code.
    pub async fn call(&mut self, step: XferStep) -> Result<Option<Code>, TargetError> {
        self.send(step).await?;
        self.settle().await?;
        Ok(self.last_code.take())
    }

    /// Says LOGOUT and closes.
    pub async fn close(self) {
        self.conn.logout().await;
    }
}

/// The `XFERMSG` of a message `len` bytes long whose bytes come from a file.
pub(crate) fn spooled(len: u64) -> AppendData {
    AppendData::Spooled {
        spool: SpoolRef(0),
        len,
        kind: LiteralKind::Literal,
    }
}
