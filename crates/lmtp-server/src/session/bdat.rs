//! BDAT (RFC 3030 §2, CHUNKING) and binary bodies (§3, BINARYMIME).
//!
//! `BDAT n [LAST]` is followed by exactly `n` octets of message: no dot-stuffing, no line
//! framing. Whatever the reply, those octets are read (and, when refused, thrown away), so the
//! next command is found where the client put it; a chunk size that does not fit in 64 bits
//! never gets here (a syntax error, answered before any octet is read). Chunks go into the same
//! [`Body`] as DATA (memory, then a spool file past [`crate::SPILL_AT`]), so memory stays bounded
//! whatever the chunk sizes.
//!
//! Replies: `250` for each chunk but the last; after `LAST`, one reply per accepted recipient,
//! exactly as after DATA (RFC 2033 §4.2). Once a chunk is refused (the message outgrew
//! `maxmessagesize` or the free space, or spooling failed), the transaction is failed: every
//! later chunk gets the same reply, the last one per recipient, and nothing is stored. BDAT
//! without MAIL or without an accepted recipient is `503`; RSET discards the chunks.
//!
//! A `BODY=BINARYMIME` message is stored only if the store can keep it unchanged: message
//! files are RFC 5322 text with CRLF line ends, so a NUL or a bare LF (which the store would
//! refuse or rewrite to CRLF) refuses it with `554 5.6.0`.

use lmtp_proto::{codes, Body as BodyType, Reply};

use super::data::{keep_head, SizeLimit};
use super::{Flow, Session, Transaction};
use crate::body::Body;
use crate::delivery::temporary_failure;
use crate::trace::return_path_len;

/// The message of a transaction as its chunks arrive.
pub(crate) struct Chunks {
    body: Body,
    head: Vec<u8>,
    /// Octets received so far, refused chunks included.
    size: u64,
    limit: SizeLimit,
    /// The length of the `Return-Path` field the body starts with (relayed copies go
    /// without it).
    skip: u64,
    /// Set by the first refused chunk: the reply every later chunk gets.
    failure: Option<Reply>,
    /// For BINARYMIME: what would stop the store keeping the octets as sent.
    binary: Option<BinaryCheck>,
}

impl Chunks {
    async fn take(&mut self, bytes: &[u8], session_id: &str, spool: &std::path::Path) {
        self.size = self.size.saturating_add(bytes.len() as u64);
        if self.failure.is_some() {
            return;
        }
        if self.size > self.limit.octets() {
            self.fail(self.limit.refusal());
            return;
        }
        if let Some(check) = self.binary.as_mut() {
            check.scan(bytes);
        }
        keep_head(&mut self.head, bytes);
        if let Err(e) = self.body.push(bytes, spool).await {
            tracing::error!("{session_id}: spooling a message: {e}");
            self.fail(temporary_failure());
        }
    }

    /// Fails the transaction; what was spooled is dropped now (the spool file removed).
    fn fail(&mut self, reply: Reply) {
        self.failure = Some(reply);
        self.body = Body::new(Vec::new());
        self.head = Vec::new();
    }

    /// The reply for the whole message, if it cannot be stored.
    fn refusal(&self) -> Option<Reply> {
        if let Some(failure) = &self.failure {
            return Some(failure.clone());
        }
        self.binary
            .as_ref()
            .and_then(BinaryCheck::refusal)
            .map(|why| Reply::new(554, codes::MEDIA_ERROR, why))
    }
}

/// Finds, across chunk boundaries, the octets a BINARYMIME message cannot be stored with.
#[derive(Default)]
struct BinaryCheck {
    after_cr: bool,
    bare_lf: bool,
    nul: bool,
}

impl BinaryCheck {
    fn scan(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b'\n' if !self.after_cr => self.bare_lf = true,
                0 => self.nul = true,
                _ => {}
            }
            self.after_cr = b == b'\r';
        }
    }

    fn refusal(&self) -> Option<&'static str> {
        if self.nul {
            Some("Binary message refused: it contains NUL, which the store does not keep")
        } else if self.bare_lf {
            Some("Binary message refused: it contains bare LF, which the store would rewrite")
        } else {
            None
        }
    }
}

impl Session {
    /// `BDAT size [LAST]`: reads the chunk, then answers it.
    pub(super) async fn bdat(&mut self, size: u64, last: bool) -> Flow {
        let refusal = match &self.transaction {
            None => Some("Need MAIL command"),
            Some(tx) if tx.accepted.is_empty() => Some("No valid recipients"),
            Some(_) => None,
        };
        if let Some(text) = refusal {
            // RFC 3030 §2: the octets are read even when the command is refused.
            if self.read_chunk(size, None).await == Flow::Close {
                return Flow::Close;
            }
            self.reply(Reply::new(503, codes::BAD_SEQUENCE, text));
            return Flow::Continue;
        }
        let Some(mut tx) = self.transaction.take() else {
            return Flow::Continue;
        };
        let mut chunks = match tx.chunks.take() {
            Some(chunks) => chunks,
            None => self.first_chunk(&tx).await,
        };
        if self.read_chunk(size, Some(&mut chunks)).await == Flow::Close {
            return Flow::Close;
        }
        if !last {
            let reply = chunks
                .failure
                .clone()
                .unwrap_or_else(|| Reply::new(250, codes::OK, format!("{size} octets received")));
            self.reply(reply);
            tx.chunks = Some(chunks);
            self.transaction = Some(tx);
            return Flow::Continue;
        }
        let failure = chunks.refusal();
        self.finish(tx, &mut chunks.body, &chunks.head, chunks.skip, failure)
            .await;
        Flow::Continue
    }

    /// The message's state at its first chunk: the trace fields first, as with DATA.
    async fn first_chunk(&mut self, tx: &Transaction) -> Chunks {
        let trace = self.trace(tx);
        Chunks {
            skip: return_path_len(&trace),
            body: Body::new(trace),
            head: Vec::new(),
            size: 0,
            limit: self.size_limit(tx).await,
            failure: None,
            binary: (tx.body_type == Some(BodyType::BinaryMime)).then(BinaryCheck::default),
        }
    }

    /// Reads `size` octets of chunk into `chunks` (or nowhere), a buffer at a time. Queued
    /// replies are sent before each wait for input, as between commands.
    async fn read_chunk(&mut self, size: u64, mut chunks: Option<&mut Chunks>) -> Flow {
        let mut remaining = size;
        loop {
            let take =
                usize::try_from(remaining).map_or(self.input.len(), |r| r.min(self.input.len()));
            if take > 0 {
                if let Some(chunks) = chunks.as_deref_mut() {
                    let spool = self.server.config.spool_dir.clone();
                    chunks.take(&self.input[..take], &self.id, &spool).await;
                }
                self.input.drain(..take);
                remaining -= take as u64;
            }
            if remaining == 0 {
                return Flow::Continue;
            }
            if self.flush().await.is_err() {
                return Flow::Close;
            }
            if let Err(stop) = self.read_more().await {
                self.stopped(stop);
                return Flow::Close;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BinaryCheck;

    #[test]
    fn binary_check_sees_bare_lf_and_nul_across_chunk_boundaries() {
        let mut crlf_split = BinaryCheck::default();
        crlf_split.scan(b"a\r");
        crlf_split.scan(b"\nb\r\n");
        assert_eq!(crlf_split.refusal(), None);
        let mut bare = BinaryCheck::default();
        bare.scan(b"a\r");
        bare.scan(b"x\n");
        assert!(bare.refusal().is_some_and(|r| r.contains("bare LF")));
        let mut nul = BinaryCheck::default();
        nul.scan(b"\xff\xfe\x00\r\n");
        assert!(nul.refusal().is_some_and(|r| r.contains("NUL")));
    }
}
