//! LMTP through a Murder frontend (docs/murder.md): a recipient whose INBOX another server
//! holds is relayed to that backend's LMTP service, as Cyrus's `lmtpproxyd` does.
//!
//! A transaction opens at most one connection per backend ([`Relay`], one [`Leg`] each), at
//! the first recipient routed there: greeting, LHLO, AUTH PLAIN as the frontend when the
//! backend offers it and credentials are configured ([`ProxyLogin`]), then MAIL FROM with the
//! client's SIZE and BODY and the submitter the frontend decided (`AUTH=`, RFC 4954 §5). Each
//! recipient's RCPT goes to its backend at once and the client hears the backend's own reply.
//! After the data the message is sent to each leg in turn from the session's spool (memory or
//! file, read a buffer at a time), without the frontend's `Return-Path` (the backend writes its
//! own from MAIL FROM), and each leg's per-recipient replies are passed on in the client's RCPT
//! order. A backend that cannot be reached, or fails before its replies are all in, answers
//! `451 4.4.1` for its recipients only, so the MTA retries them later; `421` from a backend
//! never reaches the client (it would tell the MTA that the frontend is closing).
//!
//! Must not: store anything, or decide whether a recipient exists: the backend answers for its
//! users (the frontend only refuses names its directory copy does not hold).

mod client;
mod reply;

use std::time::Duration;

use lmtp_proto::{codes, Address, Body as BodyType, Command, MailParams, RcptParams, Reply};
use mailservice::Backend;

use crate::body::Body;
use client::{BackendError, BackendLmtp};

/// How long connecting to a backend and its greeting, LHLO and AUTH may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

pub use mailservice::ProxyLogin;

/// What every leg of a transaction needs to open.
pub(crate) struct RelaySettings<'a> {
    /// Named in LHLO.
    pub servername: &'a str,
    pub login: Option<&'a ProxyLogin>,
    /// How long a backend may take to answer or to take what is sent.
    pub timeout: Duration,
}

/// The backends of one transaction.
pub(crate) struct Relay {
    /// MAIL FROM's reverse path and parameters for every leg.
    from: Option<Address>,
    params: MailParams,
    /// The submitter named with `AUTH=` to a backend the frontend authenticated to.
    submitter: String,
    legs: Vec<Leg>,
}

/// One backend of a transaction.
struct Leg {
    /// The backend's name in the directory.
    server: String,
    state: LegState,
    /// How many of its recipients it accepted.
    accepted: usize,
}

enum LegState {
    Open(Box<BackendLmtp>),
    /// The reply each of its recipients gets from now on.
    Failed(Reply),
}

/// The reply for a recipient whose backend cannot be reached or failed: temporary, so the
/// MTA tries again (RFC 3463 X.4.1 "no answer from host").
pub(crate) fn backend_unavailable() -> Reply {
    Reply::new(
        451,
        "4.4.1",
        "Mailbox server is not available now, try again later",
    )
}

impl Relay {
    /// A relay whose legs will start with MAIL FROM `from` and the client's SIZE, BODY and
    /// SMTPUTF8; to a backend that trusts the frontend (it authenticated), `submitter` as
    /// `AUTH=` (RFC 4954 §5: `<>` when the submitter is not known).
    pub(crate) fn new(
        from: Option<Address>,
        client: &MailParams,
        submitter: Option<&str>,
    ) -> Relay {
        Relay {
            from,
            params: MailParams {
                size: client.size,
                body: client.body,
                smtputf8: client.smtputf8,
                ..MailParams::default()
            },
            submitter: submitter.unwrap_or("<>").to_string(),
            legs: Vec::new(),
        }
    }

    /// Relays one RCPT to `backend` (the directory's entry for `server`, if it knows one):
    /// the reply for the client, and the leg that accepted the recipient, if it did.
    pub(crate) async fn rcpt(
        &mut self,
        settings: &RelaySettings<'_>,
        server: &str,
        backend: Option<Backend>,
        to: &Address,
        ignore_quota: bool,
    ) -> (Reply, Option<usize>) {
        let leg = match self.legs.iter().position(|l| l.server == server) {
            Some(leg) => leg,
            None => {
                let state = self.open(settings, server, backend).await;
                self.legs.push(Leg {
                    server: server.to_string(),
                    state,
                    accepted: 0,
                });
                self.legs.len() - 1
            }
        };
        let Leg {
            state, accepted, ..
        } = &mut self.legs[leg];
        let backend = match state {
            LegState::Open(backend) => backend,
            LegState::Failed(reply) => return (reply.clone(), None),
        };
        let mut params = RcptParams::default();
        if ignore_quota && backend.offered.ignore_quota {
            params.other.push(("IGNOREQUOTA".into(), None));
        }
        let rcpt = Command::Rcpt {
            forward_path: to.clone(),
            params,
        };
        match backend.command(&rcpt).await {
            Ok(reply) if reply.is_positive() => {
                *accepted += 1;
                (reply, Some(leg))
            }
            Ok(reply) => (reply, None),
            Err(e) => {
                tracing::warn!("LMTP relay to {server}: RCPT: {e}");
                *state = LegState::Failed(backend_unavailable());
                (backend_unavailable(), None)
            }
        }
    }

    /// Opens a leg to `server`: connected, greeted, authenticated, MAIL accepted; or the
    /// reply its recipients get instead.
    async fn open(
        &self,
        settings: &RelaySettings<'_>,
        server: &str,
        backend: Option<Backend>,
    ) -> LegState {
        let Some(address) = backend.filter(|b| b.alive).and_then(|b| b.lmtp) else {
            tracing::warn!("LMTP relay: backend {server} is down or has no LMTP service");
            return LegState::Failed(backend_unavailable());
        };
        let opened = BackendLmtp::open(
            &address,
            settings.servername,
            settings.login,
            CONNECT_TIMEOUT,
            settings.timeout,
        )
        .await;
        let mut backend = match opened {
            Ok(backend) => backend,
            Err(e) => {
                tracing::warn!("LMTP relay to {server} ({address}): {e}");
                return LegState::Failed(backend_unavailable());
            }
        };
        let mut params = self.params.clone();
        if backend.authenticated {
            params.auth = Some(self.submitter.clone());
        }
        let mail = Command::Mail {
            reverse_path: self.from.clone(),
            params,
        };
        match backend.command(&mail).await {
            Ok(reply) if reply.is_positive() => LegState::Open(Box::new(backend)),
            // The backend refuses the message itself (too large, say): its words for each
            // recipient routed there.
            Ok(reply) => LegState::Failed(reply),
            Err(e) => {
                tracing::warn!("LMTP relay to {server} ({address}): MAIL: {e}");
                LegState::Failed(backend_unavailable())
            }
        }
    }

    /// Sends the message (`body` from octet `skip` on) to every leg that accepted a recipient,
    /// and collects each leg's per-recipient replies, in RCPT order. The legs are closed.
    pub(crate) async fn deliver(
        &mut self,
        body: &mut Body,
        skip: u64,
        body_type: Option<BodyType>,
    ) -> Vec<Vec<Reply>> {
        let mut out = Vec::with_capacity(self.legs.len());
        for leg in std::mem::take(&mut self.legs) {
            let replies = match leg.state {
                LegState::Open(backend) if leg.accepted > 0 => {
                    let mut backend = *backend;
                    let replies = send_to(
                        &mut backend,
                        &leg.server,
                        body,
                        skip,
                        body_type,
                        leg.accepted,
                    )
                    .await;
                    backend.quit().await;
                    replies
                }
                LegState::Open(backend) => {
                    backend.quit().await;
                    Vec::new()
                }
                LegState::Failed(_) => Vec::new(),
            };
            out.push(replies);
        }
        out
    }
}

/// Sends the message to one backend and reads its `count` replies; a failure answers
/// `451 4.4.1` for the recipients whose reply did not come.
async fn send_to(
    backend: &mut BackendLmtp,
    server: &str,
    body: &mut Body,
    skip: u64,
    body_type: Option<BodyType>,
    count: usize,
) -> Vec<Reply> {
    if body_type == Some(BodyType::BinaryMime) && !backend.offered.chunking {
        // RFC 3030 §3: a binary body cannot be sent after DATA.
        let refusal = Reply::new(
            554,
            codes::MEDIA_ERROR,
            "The mailbox server cannot take a binary message",
        );
        return vec![refusal; count];
    }
    let len = body.len().saturating_sub(skip);
    let sent = match body.reader(skip).await {
        Ok(mut reader) => backend.send_message(&mut reader, len).await,
        Err(e) => Err(BackendError::Io(e)),
    };
    match sent {
        Ok(None) => {}
        // DATA itself refused: its reply for each recipient (none of them got the message).
        Ok(Some(refusal)) => return vec![refusal; count],
        Err(e) => {
            tracing::warn!("LMTP relay to {server}: sending the message: {e}");
            return vec![backend_unavailable(); count];
        }
    }
    let mut replies = Vec::with_capacity(count);
    while replies.len() < count {
        match backend.reply().await {
            Ok(reply) => replies.push(reply),
            Err(e) => {
                tracing::warn!("LMTP relay to {server}: after the message: {e}");
                replies.resize(count, backend_unavailable());
            }
        }
    }
    replies
}
