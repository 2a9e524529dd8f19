//! LMTP through a Murder frontend (docs/murder.md): a recipient whose INBOX another server
//! holds is relayed to that backend's LMTP service, as Cyrus's `lmtpproxyd` does.
//!
//! A transaction uses at most one connection per backend ([`Relay`], one [`Leg`] each), from
//! the first recipient routed there: one kept from an earlier transaction ([`Pool`]), or a new
//! one (greeting, LHLO, STARTTLS where `proxy_tls` wants it and LHLO again, AUTH PLAIN as the
//! frontend when the backend offers it and credentials are configured, [`ProxyLogin`]); then
//! MAIL FROM with the client's SIZE and BODY and the submitter the frontend decided (`AUTH=`,
//! RFC 4954 §5). A kept connection that fails before its leg accepted a recipient is replaced
//! by a new one, once; never after the message may have reached the backend. Each
//! recipient's RCPT goes to its backend at once and the client hears the backend's own reply.
//! After the data the message is sent to each leg in turn from the session's spool (memory or
//! file, read a buffer at a time), without the frontend's `Return-Path` (the backend writes
//! its own from MAIL FROM), and each leg's per-recipient replies are passed on in the client's
//! RCPT order; a connection the transaction left clean goes back to the pool. A backend that
//! cannot be reached, or fails before its replies are all in, answers
//! `451 4.4.1` for its recipients only, so the MTA retries them later; `421` from a backend
//! never reaches the client (it would tell the MTA that the frontend is closing).
//!
//! Must not: store anything, or decide whether a recipient exists: the backend answers for its
//! users (the frontend only refuses names its directory copy does not hold).

mod client;
mod pool;
mod reply;

use std::time::Duration;

use lmtp_proto::{codes, Address, Body as BodyType, Command, MailParams, RcptParams, Reply};
use mailservice::Backend;

use crate::body::Body;
use client::{BackendError, BackendLmtp};
pub(crate) use pool::Pool;
pub use pool::ProxyPooling;
use pool::Route;

/// How long connecting to a backend and its greeting, LHLO and AUTH may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

pub use mailservice::ProxyLogin;

/// What every leg of a transaction needs to open.
pub(crate) struct RelaySettings<'a> {
    /// Named in LHLO.
    pub servername: &'a str,
    pub login: Option<&'a ProxyLogin>,
    /// When to start TLS with a backend, and what its certificate must chain to.
    pub tls: &'a net::ClientTls,
    /// How long a backend may take to answer or to take what is sent.
    pub timeout: Duration,
}

/// The backends of one transaction. Dropped before its message was sent (the client's RSET,
/// a refused message, a closed session), its connections are reset and kept.
pub(crate) struct Relay {
    /// Where the legs' connections come from and go back to.
    pool: Pool,
    /// MAIL FROM's reverse path and parameters for every leg.
    from: Option<Address>,
    params: MailParams,
    /// The submitter named with `AUTH=` to a backend the frontend authenticated to.
    submitter: String,
    legs: Vec<Leg>,
}

/// One backend of a transaction.
struct Leg {
    /// The backend, the `host:port` of its LMTP service the leg was opened to (empty when
    /// none) and the frontend's identity there.
    route: Route,
    state: LegState,
    /// How many of its recipients it accepted.
    accepted: usize,
}

enum LegState {
    /// MAIL accepted on `backend`.
    Open {
        backend: Box<BackendLmtp>,
        origin: Origin,
    },
    /// The reply each of its recipients gets from now on.
    Failed(Reply),
}

/// Where a leg's connection came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// Kept from an earlier transaction: the backend may have closed it since (a restart)
    /// without the frontend seeing it yet.
    Pooled,
    /// Opened for this transaction.
    Fresh,
}

/// What MAIL FROM got on a connection.
enum Mailed {
    Accepted(Box<BackendLmtp>),
    /// Refused with this reply; the connection is still usable (no transaction started).
    Refused(Reply, Box<BackendLmtp>),
}

/// What RCPT got on a leg.
enum RcptOutcome {
    /// The backend's reply.
    Answered(Reply),
    /// The connection failed.
    Broken(BackendError),
    /// The leg had failed before: its reply.
    LegFailed(Reply),
}

/// The state a connection is left in after the message.
enum After {
    /// Every reply read: the transaction is over (RFC 5321 §4.1.1.4).
    Clean,
    /// The message was not taken (refused DATA, or never sent): a transaction is open.
    InTransaction,
    /// The connection failed: it is closed.
    Broken,
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
    /// `AUTH=` (RFC 4954 §5: `<>` when the submitter is not known). Its connections come from
    /// `pool` where one is idle.
    pub(crate) fn new(
        pool: Pool,
        from: Option<Address>,
        client: &MailParams,
        submitter: Option<&str>,
    ) -> Relay {
        Relay {
            pool,
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
    /// the reply for the client, and the leg that accepted the recipient, if it did. A kept
    /// connection that fails before its leg accepted anyone is replaced by a new one, once:
    /// nothing can have been delivered through it in this transaction.
    pub(crate) async fn rcpt(
        &mut self,
        settings: &RelaySettings<'_>,
        server: &str,
        backend: Option<Backend>,
        to: &Address,
        ignore_quota: bool,
    ) -> (Reply, Option<usize>) {
        let leg = match self.legs.iter().position(|l| l.route.server == server) {
            Some(leg) => leg,
            None => {
                let leg = self.open(settings, server, backend).await;
                self.legs.push(leg);
                self.legs.len() - 1
            }
        };
        let mut outcome = self.legs[leg].rcpt(to, ignore_quota).await;
        if let RcptOutcome::Broken(e) = &outcome {
            if self.legs[leg].may_retry() {
                tracing::info!(
                    "LMTP relay to {server}: a kept connection failed ({e}): RCPT again on a new one"
                );
                let route = self.legs[leg].route.clone();
                self.legs[leg].state = self.open_new(settings, &route).await;
                outcome = self.legs[leg].rcpt(to, ignore_quota).await;
            }
        }
        let Leg {
            state, accepted, ..
        } = &mut self.legs[leg];
        match outcome {
            RcptOutcome::Answered(reply) if reply.is_positive() => {
                *accepted += 1;
                (reply, Some(leg))
            }
            RcptOutcome::Answered(reply) | RcptOutcome::LegFailed(reply) => (reply, None),
            RcptOutcome::Broken(e) => {
                tracing::warn!("LMTP relay to {server}: RCPT: {e}");
                *state = LegState::Failed(backend_unavailable());
                (backend_unavailable(), None)
            }
        }
    }

    /// Opens a leg to `server`: a kept connection, or a new one, with MAIL accepted; or the
    /// reply its recipients get instead.
    async fn open(
        &self,
        settings: &RelaySettings<'_>,
        server: &str,
        backend: Option<Backend>,
    ) -> Leg {
        let address = backend.filter(|b| b.alive).and_then(|b| b.lmtp);
        let route = Route {
            server: server.to_string(),
            address: address.clone().unwrap_or_default(),
            authname: settings.login.map(|l| l.authname.clone()),
        };
        if address.is_none() {
            tracing::warn!("LMTP relay: backend {server} is down or has no LMTP service");
            self.pool.forget(server);
            return Leg {
                route,
                state: LegState::Failed(backend_unavailable()),
                accepted: 0,
            };
        }
        let state = match self.open_kept(&route).await {
            Some(state) => state,
            None => self.open_new(settings, &route).await,
        };
        Leg {
            route,
            state,
            accepted: 0,
        }
    }

    /// MAIL on a kept connection along `route`, if one is idle and answers.
    async fn open_kept(&self, route: &Route) -> Option<LegState> {
        let server = &route.server;
        let backend = self.pool.take(route)?;
        match self.mail(Box::new(backend)).await {
            Ok(Mailed::Accepted(backend)) => Some(LegState::Open {
                backend,
                origin: Origin::Pooled,
            }),
            Ok(Mailed::Refused(reply, backend)) => {
                self.pool.put(route, *backend);
                Some(LegState::Failed(reply))
            }
            Err(e) => {
                tracing::info!("LMTP relay to {server}: a kept connection failed ({e}): a new one");
                None
            }
        }
    }

    /// Connects along `route` (greeted, authenticated) and says MAIL.
    async fn open_new(&self, settings: &RelaySettings<'_>, route: &Route) -> LegState {
        let (server, address) = (&route.server, &route.address);
        let opened = BackendLmtp::open(
            address,
            settings.servername,
            settings.login,
            settings.tls,
            CONNECT_TIMEOUT,
            settings.timeout,
        )
        .await;
        let backend = match opened {
            Ok(backend) => backend,
            Err(e) => {
                tracing::warn!("LMTP relay to {server} ({address}): {e}");
                return LegState::Failed(backend_unavailable());
            }
        };
        match self.mail(Box::new(backend)).await {
            Ok(Mailed::Accepted(backend)) => LegState::Open {
                backend,
                origin: Origin::Fresh,
            },
            // The backend refuses the message itself (too large, say): its words for each
            // recipient routed there.
            Ok(Mailed::Refused(reply, backend)) => {
                self.pool.put(route, *backend);
                LegState::Failed(reply)
            }
            Err(e) => {
                tracing::warn!("LMTP relay to {server} ({address}): MAIL: {e}");
                LegState::Failed(backend_unavailable())
            }
        }
    }

    /// Says MAIL FROM on `backend`, with `AUTH=` where the backend authenticated the frontend.
    async fn mail(&self, mut backend: Box<BackendLmtp>) -> Result<Mailed, BackendError> {
        let mut params = self.params.clone();
        if backend.authenticated {
            params.auth = Some(self.submitter.clone());
        }
        let mail = Command::Mail {
            reverse_path: self.from.clone(),
            params,
        };
        let reply = backend.command(&mail).await?;
        Ok(match reply.is_positive() {
            true => Mailed::Accepted(backend),
            false => Mailed::Refused(reply, backend),
        })
    }

    /// Sends the message (`body` from octet `skip` on) to every leg that accepted a recipient,
    /// and collects each leg's per-recipient replies, in RCPT order. Each connection left
    /// clean goes back to the pool; one that failed is closed.
    pub(crate) async fn deliver(
        &mut self,
        body: &mut Body,
        skip: u64,
        body_type: Option<BodyType>,
    ) -> Vec<Vec<Reply>> {
        let mut out = Vec::with_capacity(self.legs.len());
        for leg in std::mem::take(&mut self.legs) {
            let replies = match leg.state {
                LegState::Open { mut backend, .. } if leg.accepted > 0 => {
                    let (replies, after) = send_to(
                        &mut backend,
                        &leg.route.server,
                        body,
                        skip,
                        body_type,
                        leg.accepted,
                    )
                    .await;
                    match after {
                        After::Clean => self.pool.put(&leg.route, *backend),
                        After::InTransaction => {
                            self.pool.reset_and_put(&leg.route, *backend);
                        }
                        After::Broken => {}
                    }
                    replies
                }
                LegState::Open { backend, .. } => {
                    self.pool.reset_and_put(&leg.route, *backend);
                    Vec::new()
                }
                LegState::Failed(_) => Vec::new(),
            };
            out.push(replies);
        }
        out
    }
}

impl Drop for Relay {
    /// A transaction given up before its message: its open legs are reset and kept.
    fn drop(&mut self) {
        for leg in std::mem::take(&mut self.legs) {
            if let LegState::Open { backend, .. } = leg.state {
                self.pool.reset_and_put(&leg.route, *backend);
            }
        }
    }
}

impl Leg {
    /// Whether a failure on this leg may be retried on a new connection: its connection was
    /// kept from an earlier transaction and no recipient was accepted on it in this one.
    fn may_retry(&self) -> bool {
        let pooled = matches!(
            self.state,
            LegState::Open {
                origin: Origin::Pooled,
                ..
            }
        );
        pooled && self.accepted == 0
    }

    /// Says RCPT for `to` on this leg (with `IGNOREQUOTA` where asked and offered).
    async fn rcpt(&mut self, to: &Address, ignore_quota: bool) -> RcptOutcome {
        let backend = match &mut self.state {
            LegState::Open { backend, .. } => backend,
            LegState::Failed(reply) => return RcptOutcome::LegFailed(reply.clone()),
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
            Ok(reply) => RcptOutcome::Answered(reply),
            Err(e) => RcptOutcome::Broken(e),
        }
    }
}

/// Sends the message to one backend and reads its `count` replies; a failure answers
/// `451 4.4.1` for the recipients whose reply did not come. Also says what state the
/// connection is left in.
async fn send_to(
    backend: &mut BackendLmtp,
    server: &str,
    body: &mut Body,
    skip: u64,
    body_type: Option<BodyType>,
    count: usize,
) -> (Vec<Reply>, After) {
    if body_type == Some(BodyType::BinaryMime) && !backend.offered.chunking {
        // RFC 3030 §3: a binary body cannot be sent after DATA.
        let refusal = Reply::new(
            554,
            codes::MEDIA_ERROR,
            "The mailbox server cannot take a binary message",
        );
        return (vec![refusal; count], After::InTransaction);
    }
    let len = body.len().saturating_sub(skip);
    let sent = match body.reader(skip).await {
        Ok(mut reader) => backend.send_message(&mut reader, len).await,
        Err(e) => Err(BackendError::Io(e)),
    };
    match sent {
        Ok(None) => {}
        // DATA itself refused: its reply for each recipient (none of them got the message).
        Ok(Some(refusal)) => return (vec![refusal; count], After::InTransaction),
        Err(e) => {
            tracing::warn!("LMTP relay to {server}: sending the message: {e}");
            return (vec![backend_unavailable(); count], After::Broken);
        }
    }
    let mut replies = Vec::with_capacity(count);
    while replies.len() < count {
        match backend.reply().await {
            Ok(reply) => replies.push(reply),
            Err(e) => {
                tracing::warn!("LMTP relay to {server}: after the message: {e}");
                replies.resize(count, backend_unavailable());
                return (replies, After::Broken);
            }
        }
    }
    (replies, After::Clean)
}
