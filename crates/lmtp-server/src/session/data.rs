//! DATA (RFC 5321 §4.1.1.4): the dot-stuffed body through the decoder into memory or a spool
//! file; and what DATA and BDAT share — the trace fields in front, the size limit learned
//! before the message arrives, and the store with one reply per recipient (RFC 2033 §4.2).

use lmtp_proto::{codes, Body as BodyType, DataDecoder, DataStatus, Reply};

use super::{Accepted, Flow, Session, Transaction, HEAD_FOR_LOG, READ_CHUNK};
use crate::body::Body;
use crate::delivery::{no_room, temporary_failure, too_big, Delivery};
use crate::proxy::backend_unavailable;
use crate::recipient::Recipient;
use crate::trace::{return_path_len, trace_fields, TraceInfo};

impl Session {
    pub(super) async fn data(&mut self) -> Flow {
        let Some(tx) = self.transaction.take() else {
            self.reply(Reply::new(503, codes::BAD_SEQUENCE, "Need MAIL command"));
            return Flow::Continue;
        };
        let refusal = if tx.accepted.is_empty() {
            // RFC 2033 §4.2: DATA with no accepted recipient fails with 503.
            Some("No valid recipients")
        } else if tx.chunks.is_some() {
            // RFC 3030 §2: a transaction's message comes by DATA or by BDAT, not both.
            Some("DATA is not allowed after BDAT")
        } else if tx.body_type == Some(BodyType::BinaryMime) {
            // RFC 3030 §3: a binary body cannot be sent dot-stuffed.
            Some("BINARYMIME requires BDAT")
        } else {
            None
        };
        if let Some(text) = refusal {
            // The transaction stays open (for more RCPTs, or a BDAT).
            self.transaction = Some(tx);
            self.reply(Reply::new(503, codes::BAD_SEQUENCE, text));
            return Flow::Continue;
        }
        self.reply(Reply::new(
            354,
            "",
            "Start mail input; end with <CRLF>.<CRLF>",
        ));
        if self.flush().await.is_err() {
            return Flow::Close;
        }
        let trace = self.trace(&tx);
        let skip = return_path_len(&trace);
        let limit = self.size_limit(&tx).await;
        let mut decoder = DataDecoder::new(limit.octets());
        let mut body = Body::new(trace);
        let mut head = Vec::new();
        let mut decoded = Vec::with_capacity(READ_CHUNK);
        let mut write_error = None;
        loop {
            decoded.clear();
            let (used, status) = decoder.feed(&self.input, &mut decoded);
            self.input.drain(..used);
            keep_head(&mut head, &decoded);
            if write_error.is_none() && !decoded.is_empty() {
                if let Err(e) = body.push(&decoded, &self.server.config.spool_dir).await {
                    write_error = Some(e);
                }
            }
            if status == DataStatus::Done {
                break;
            }
            if let Err(stop) = self.read_more().await {
                // No reply for a transaction the client abandoned; the connection ends.
                self.stopped(stop);
                return Flow::Close;
            }
        }
        let failure = if decoder.too_big() {
            Some(limit.refusal())
        } else {
            write_error.map(|e| {
                tracing::error!("{}: spooling a message: {e}", self.id);
                temporary_failure()
            })
        };
        self.finish(tx, &mut body, &head, skip, failure).await;
        Flow::Continue
    }

    /// The trace fields for the message `tx` is about to receive (a new delivery id).
    pub(super) fn trace(&mut self, tx: &Transaction) -> Vec<u8> {
        self.deliveries += 1;
        let delivery_id = format!("{}-{}", self.id, self.deliveries);
        trace_fields(&TraceInfo {
            from: tx.from.as_ref(),
            lhlo: self.lhlo.as_deref().unwrap_or_default(),
            peer: &self.peer,
            servername: &self.server.config.servername,
            tls: self.transport.is_tls(),
            authenticated: self.authenticated.is_some(),
            id: &delivery_id,
            for_rcpt: match tx.accepted.as_slice() {
                [one] => Some(one.address().to_string_form()),
                _ => None,
            }
            .as_deref(),
            unix_time: mailservice::InternalDate::now().unix_seconds,
        })
    }

    /// How large the message of `tx` may grow: `maxmessagesize`, and the free space of the
    /// recipients' partitions, learned before the message arrives.
    pub(super) async fn size_limit(&self, tx: &Transaction) -> SizeLimit {
        let limit = self.server.config.max_message_size.unwrap_or(u64::MAX);
        let targets = tx
            .accepted
            .iter()
            .filter_map(Accepted::local)
            .map(|r| r.target.clone())
            .collect();
        let room = self.room(targets).await.unwrap_or(u64::MAX);
        SizeLimit { limit, room }
    }

    /// Stores the received message (unless `failure` already decided every reply) and queues
    /// one reply per recipient, in RCPT order (RFC 2033 §4.2). `skip` is the length of the
    /// `Return-Path` field at the front of `body`, which relayed copies go without.
    pub(super) async fn finish(
        &mut self,
        mut tx: Transaction,
        body: &mut Body,
        head: &[u8],
        skip: u64,
        failure: Option<Reply>,
    ) {
        let replies = match failure {
            Some(reply) => vec![reply; tx.accepted.len()],
            None => self.deliver(&mut tx, body, head, skip).await,
        };
        for r in replies {
            self.reply(r);
        }
    }

    /// Relays the message to the transaction's backends, then stores it for the local
    /// recipients (in that order: the store takes a message held in memory for itself); the
    /// replies in RCPT order.
    async fn deliver(
        &self,
        tx: &mut Transaction,
        body: &mut Body,
        head: &[u8],
        skip: u64,
    ) -> Vec<Reply> {
        let relayed = tx.relay.deliver(body, skip, tx.body_type).await;
        let mut relayed: Vec<_> = relayed.into_iter().map(Vec::into_iter).collect();
        let local: Vec<&Recipient> = tx.accepted.iter().filter_map(Accepted::local).collect();
        let stored = match local.is_empty() {
            true => Vec::new(),
            false => {
                let delivery = Delivery {
                    server: &self.server,
                    id: &self.id,
                    from: tx.from.as_ref(),
                    identity: &tx.identity,
                };
                delivery.run(&local, body, head).await
            }
        };
        let mut stored = stored.into_iter();
        tx.accepted
            .iter()
            .map(|accepted| match accepted {
                Accepted::Local(_) => stored.next().unwrap_or_else(temporary_failure),
                Accepted::Relayed { leg, .. } => relayed
                    .get_mut(*leg)
                    .and_then(Iterator::next)
                    .unwrap_or_else(backend_unavailable),
            })
            .collect()
    }
}

/// How large a message may grow, and why.
#[derive(Clone, Copy, Debug)]
pub(super) struct SizeLimit {
    /// `maxmessagesize` (`u64::MAX` for none).
    limit: u64,
    /// What the disks hold now (`u64::MAX` when unknown).
    room: u64,
}

impl SizeLimit {
    pub(super) fn octets(self) -> u64 {
        self.limit.min(self.room)
    }

    /// The reply for a message past [`SizeLimit::octets`]: 452 4.3.1 when the disks are the
    /// limit (try later), else 552 5.3.4.
    pub(super) fn refusal(self) -> Reply {
        if self.room < self.limit {
            no_room()
        } else {
            too_big(self.limit)
        }
    }
}

/// Keeps the first [`HEAD_FOR_LOG`] octets of the message, where its Message-ID is looked for.
pub(super) fn keep_head(head: &mut Vec<u8>, bytes: &[u8]) {
    if head.len() < HEAD_FOR_LOG {
        let take = bytes.len().min(HEAD_FOR_LOG - head.len());
        head.extend_from_slice(&bytes[..take]);
    }
}
