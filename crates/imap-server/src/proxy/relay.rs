//! Sending a command to a backend and relaying its answer: untagged responses go to the
//! client byte for byte (literals streamed in chunks, so the session buffers about
//! [`Output::FLUSH_AT`] however large a FETCH is), and the completion is handed back for the
//! client's tag. A backend's `* BYE` is not relayed: it ends the backend's connection, not
//! the client's session.

use std::path::{Path, PathBuf};

use imap_proto::command::{Command, Tag};
use imap_proto::TaggedCommand;
use tokio::io::AsyncReadExt;

use super::conn::{BackendConn, Completion, EnabledThere};
use super::io::CHUNK;
use super::ProxyError;
use crate::command::Reply;
use crate::connection::Session;
use crate::output::Output;

/// Most bytes of one literal a backend may stream (Cyrus's own bound on a message).
const MAX_RELAYED_LITERAL: u64 = u32::MAX as u64;

/// One piece of a command on its way to a backend.
pub(crate) enum Piece {
    Bytes(Vec<u8>),
    /// A spooled message, `len` bytes.
    File {
        path: PathBuf,
        len: u64,
    },
    /// The backend must answer `+` before the next piece (a synchronising literal).
    GoAhead,
}

/// Where a backend's untagged responses go.
pub(crate) enum Sink {
    Client,
    Discard,
    /// To the client, but for the `* WORD` responses, which are dropped (the backend's
    /// `* ENABLED` to the frontend's own ENABLE).
    ClientSkipping(&'static str),
    /// To the client, but for the `* WORD` responses, which are kept (at most `limit` bytes
    /// in all): the STATUS a LIST-STATUS puts beside a LIST line.
    Capture {
        word: &'static str,
        kept: Vec<Vec<u8>>,
        limit: usize,
    },
}

/// What one response of an exchange was.
pub(crate) enum Step {
    /// The continuation request, as sent.
    GoAhead(Vec<u8>),
    Done(Completion),
}

/// What becomes of one untagged response.
enum Disposition {
    Client,
    Drop,
    Keep(Vec<u8>),
}

impl Session {
    /// The command as a backend gets it, under the backend's `tag`: split after each
    /// synchronising literal (the encoder writes literals only where a string needs one).
    pub(crate) fn command_pieces(
        &self,
        tag: &str,
        command: Command,
    ) -> Result<Vec<Piece>, ProxyError> {
        let tag = Tag::new(tag).ok_or_else(|| ProxyError::Protocol("a bad tag".into()))?;
        let segments = TaggedCommand { tag, command }.to_sync_segments(self.out.encoding);
        let mut pieces = Vec::with_capacity(segments.len() * 2);
        for (i, segment) in segments.into_iter().enumerate() {
            if i > 0 {
                pieces.push(Piece::GoAhead);
            }
            pieces.push(Piece::Bytes(segment));
        }
        Ok(pieces)
    }

    /// Forwards `command` to `backend` and relays the answer to the client; the completion
    /// is the caller's to give back ([`Session::complete`]). A failure is already the
    /// `NO [UNAVAILABLE]` reply.
    pub(crate) async fn forward(
        &mut self,
        backend: &str,
        command: Command,
    ) -> Result<Completion, Reply> {
        let mut conn = match self.backend(backend).await {
            Ok(conn) => conn,
            Err(e) => return Err(self.unavailable(backend, &e)),
        };
        let tag = conn.tag();
        let exchanged = match self.command_pieces(&tag, command) {
            Ok(pieces) => {
                self.exchange(&mut conn, &tag, pieces, &mut Sink::Client)
                    .await
            }
            Err(e) => Err(e),
        };
        match exchanged {
            Ok(done) => {
                self.backends.put(conn);
                Ok(done)
            }
            Err(e) => Err(self.unavailable(backend, &e)),
        }
    }

    /// [`Session::forward`], answered with the backend's completion.
    pub(crate) async fn forward_reply(
        &mut self,
        tag: &Tag,
        backend: &str,
        command: Command,
    ) -> Reply {
        match self.forward(backend, command).await {
            Ok(done) => self.complete(tag, &done),
            Err(reply) => reply,
        }
    }

    /// Writes the backend's completion under the client's tag.
    pub(crate) fn complete(&mut self, tag: &Tag, done: &Completion) -> Reply {
        self.out.buf.extend_from_slice(tag.as_str().as_bytes());
        self.out.buf.extend_from_slice(&done.rest);
        if !done.rest.ends_with(b"\n") {
            self.out.buf.extend_from_slice(b"\r\n");
        }
        Reply::already_sent()
    }

    /// Sends `pieces` and relays what comes back until `tag` completes. A completion before
    /// the last piece (a refused literal) ends the exchange there.
    pub(crate) async fn exchange(
        &mut self,
        conn: &mut BackendConn,
        tag: &str,
        pieces: Vec<Piece>,
        sink: &mut Sink,
    ) -> Result<Completion, ProxyError> {
        for piece in pieces {
            match piece {
                Piece::Bytes(bytes) => conn.io.write_all(&bytes, conn.timeout).await?,
                Piece::File { path, len } => send_file(conn, &path, len).await?,
                Piece::GoAhead => {
                    if let Step::Done(done) = self.relay_until(conn, tag, sink, true).await? {
                        return Ok(done);
                    }
                }
            }
        }
        match self.relay_until(conn, tag, sink, false).await? {
            Step::Done(done) => Ok(done),
            Step::GoAhead(_) => Err(ProxyError::Protocol("an unexpected continuation".into())),
        }
    }

    /// Relays untagged responses until `tag` completes or, when `go_ahead`, the backend asks
    /// for the rest of the command.
    pub(crate) async fn relay_until(
        &mut self,
        conn: &mut BackendConn,
        tag: &str,
        sink: &mut Sink,
        go_ahead: bool,
    ) -> Result<Step, ProxyError> {
        loop {
            let line = conn.io.line(conn.timeout).await?;
            if let Some(done) = Completion::of(&line, tag) {
                return Ok(Step::Done(done));
            }
            if line.starts_with(b"+") {
                if go_ahead {
                    return Ok(Step::GoAhead(line));
                }
                return Err(ProxyError::Protocol("an unexpected continuation".into()));
            }
            if !line.starts_with(b"* ") {
                return Err(ProxyError::Protocol(format!(
                    "a line that is no response: {}",
                    String::from_utf8_lossy(&line[..line.len().min(80)]).trim_end()
                )));
            }
            self.relay_response(conn, line, sink).await?;
        }
    }

    /// Relays one untagged response whose first line is `first`, with its literals and the
    /// lines after them.
    pub(crate) async fn relay_response(
        &mut self,
        conn: &mut BackendConn,
        first: Vec<u8>,
        sink: &mut Sink,
    ) -> Result<(), ProxyError> {
        let word = response_word(&first);
        if word.eq_ignore_ascii_case("BYE") {
            let text = String::from_utf8_lossy(&first[5..]).trim().to_string();
            return Err(ProxyError::Bye(text));
        }
        let mut disposition = match sink {
            Sink::Client => Disposition::Client,
            Sink::Discard => Disposition::Drop,
            Sink::ClientSkipping(skip) if word.eq_ignore_ascii_case(skip) => Disposition::Drop,
            Sink::Capture { word: keep, .. } if word.eq_ignore_ascii_case(keep) => {
                Disposition::Keep(Vec::new())
            }
            Sink::ClientSkipping(_) | Sink::Capture { .. } => Disposition::Client,
        };
        let limit = match sink {
            Sink::Capture { kept, limit, .. } => {
                limit.saturating_sub(kept.iter().map(Vec::len).sum())
            }
            _ => 0,
        };
        let mut line = first;
        loop {
            self.pass(&mut disposition, &line, limit).await?;
            let Some(len) = imap_proto::response_line_literal(&line) else {
                break;
            };
            if len > MAX_RELAYED_LITERAL {
                return Err(ProxyError::Protocol(format!("a literal of {len} bytes")));
            }
            let mut left = len;
            while left > 0 {
                let max = usize::try_from(left).unwrap_or(usize::MAX).min(CHUNK);
                let chunk = conn.io.chunk(max, conn.timeout).await?;
                left -= chunk.len() as u64;
                self.pass(&mut disposition, &chunk, limit).await?;
            }
            line = conn.io.line(conn.timeout).await?;
        }
        if let (Disposition::Keep(bytes), Sink::Capture { kept, .. }) = (disposition, sink) {
            kept.push(bytes);
        }
        Ok(())
    }

    /// Hands one piece of a response to where it goes.
    async fn pass(
        &mut self,
        disposition: &mut Disposition,
        bytes: &[u8],
        limit: usize,
    ) -> Result<(), ProxyError> {
        match disposition {
            Disposition::Client => {
                self.out.buf.extend_from_slice(bytes);
                if self.out.buf.len() >= Output::FLUSH_AT {
                    // A client that stopped reading fails the session on its own; the backend's
                    // answer is still read to its end.
                    let _ = self.flush().await;
                }
            }
            Disposition::Drop => {}
            Disposition::Keep(kept) => {
                if kept.len() + bytes.len() > limit {
                    return Err(ProxyError::Protocol(format!(
                        "a response larger than {limit} bytes"
                    )));
                }
                kept.extend_from_slice(bytes);
            }
        }
        Ok(())
    }

    /// Turns on at the backend what the client turned on here (RFC 5161), so that its
    /// answers are the ones the client expects (MODSEQ in FETCH, VANISHED, UTF-8 names).
    pub(crate) async fn sync_enabled(&mut self, conn: &mut BackendConn) -> Result<(), ProxyError> {
        let (want, there) = (&self.enabled, conn.enabled);
        let mut names = Vec::new();
        if want.imap4rev2 && !there.imap4rev2 {
            names.push("IMAP4rev2");
        }
        if want.condstore && !there.condstore {
            names.push("CONDSTORE");
        }
        if want.qresync && !there.qresync {
            names.push("QRESYNC");
        }
        if names.is_empty() {
            return Ok(());
        }
        let now = EnabledThere {
            imap4rev2: want.imap4rev2 || there.imap4rev2,
            condstore: want.condstore || there.condstore,
            qresync: want.qresync || there.qresync,
        };
        let tag = conn.tag();
        let command = format!("{tag} ENABLE {}\r\n", names.join(" "));
        let pieces = vec![Piece::Bytes(command.into_bytes())];
        let mut sink = Sink::ClientSkipping("ENABLED");
        let done = self.exchange(conn, &tag, pieces, &mut sink).await?;
        if !done.is_ok() {
            tracing::warn!(
                "{}: ENABLE at server {}: {}",
                self.id,
                conn.name,
                done.text()
            );
        }
        conn.enabled = now;
        Ok(())
    }
}

/// The name of an untagged response: `* NAME ...` or `* NUMBER NAME ...`.
fn response_word(line: &[u8]) -> String {
    let mut words = line[2..]
        .split(|&b| b == b' ' || b == b'\r' || b == b'\n')
        .filter(|w| !w.is_empty());
    let first = words.next().unwrap_or_default();
    let word = if first.iter().all(u8::is_ascii_digit) {
        words.next().unwrap_or_default()
    } else {
        first
    };
    String::from_utf8_lossy(word).into_owned()
}

/// Streams `len` bytes of a spool file to the backend.
async fn send_file(conn: &mut BackendConn, path: &Path, len: u64) -> Result<(), ProxyError> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut buf = vec![0u8; CHUNK];
    let mut left = len;
    while left > 0 {
        let max = usize::try_from(left).unwrap_or(usize::MAX).min(CHUNK);
        let n = file.read(&mut buf[..max]).await?;
        if n == 0 {
            return Err(ProxyError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        conn.io.write_all(&buf[..n], conn.timeout).await?;
        left -= n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untagged_responses_are_named_by_their_word() {
        assert_eq!(response_word(b"* 3 EXISTS\r\n"), "EXISTS");
        assert_eq!(response_word(b"* STATUS INBOX (MESSAGES 1)\r\n"), "STATUS");
        assert_eq!(response_word(b"* ENABLED\r\n"), "ENABLED");
        assert_eq!(response_word(b"* 12 FETCH (UID 4)\r\n"), "FETCH");
        assert_eq!(response_word(b"* \r\n"), "");
    }
}
