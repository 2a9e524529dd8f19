//! The frontend of a Murder (docs/murder.md): what a session asks of a mailbox another server
//! holds is passed on to that server, the backend, over a connection the session opens as
//! the frontend on the user's behalf, and the backend's answers come back to the client as
//! the backend sent them.
//!
//! Owns: the connections to backends (at most one per backend and session, opened on first
//! use and logged out when the session ends), relaying commands and responses, the proxied
//! selected state's commands, placing a new mailbox on a backend, and COPY/MOVE between
//! servers. Must not: decide access (the session authorizes through `mailservice` first,
//! exactly as on a single server, so a mailbox the user may not see answers the same here)
//! or rewrite what a backend says about its mailboxes (untagged responses are relayed byte
//! for byte; a completion only changes its tag to the client's).
//!
//! Failures: a backend that is down, refuses the frontend's login, breaks the protocol or
//! stays silent past the response timeout answers `NO [UNAVAILABLE]`, with a log line, and
//! the session goes on. A connection given up halfway through a command is closed, never
//! reused. When the backend of the selected mailbox is lost, the session leaves the
//! selected state (`* OK [CLOSED]`, RFC 9051 §7.1) instead of saying BYE: the session is
//! the frontend's.
//!
//! Layout: `io` reads a backend's socket with limits; `conn` opens and authenticates a
//! connection; `relay` sends commands and relays answers; `selected` is SELECT to a backend
//! and the proxied selected state (IDLE included); `mailbox` the commands forwarded one at a
//! time (STATUS, APPEND, ACL, quota, CREATE, DELETE, RENAME); `copy` COPY and MOVE to a
//! mailbox on another server; `referral` RFC 2193's referrals for clients that asked for
//! them; `subscriptions` the user's subscriptions, kept at the backend of their INBOX.

mod conn;
mod copy;
mod io;
pub(crate) mod mailbox;
mod referral;
mod relay;
pub(crate) mod selected;
mod subscriptions;

use std::collections::HashMap;

use imap_proto::response::Code;
use mailservice::{Authorized, RemoteMailbox, ServiceError};
use types::MailboxName;

pub(crate) use conn::{BackendConn, Completion};
pub(crate) use io::BackendIo;
pub(crate) use referral::Referrals;
pub(crate) use subscriptions::SubscriptionUse;

use crate::command::Reply;
use crate::connection::Session;

/// Why a backend could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProxyError {
    #[error("the directory knows no such server")]
    UnknownBackend,
    #[error("the server is down or runs no IMAP service")]
    Down,
    #[error("this server has no credentials for backends (proxy_authname)")]
    NoCredentials,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("no answer in time")]
    Timeout,
    #[error("the connection was closed")]
    Closed,
    #[error("TLS: {0}")]
    Tls(#[from] net::ClientTlsError),
    #[error("it said BYE: {0}")]
    Bye(String),
    #[error("it refused the proxy login: {0}")]
    LoginRefused(String),
    #[error("it sent {0}")]
    Protocol(String),
}

/// The mailbox of the proxied selected state.
pub(crate) struct ProxiedMailbox {
    /// The backend that holds it, which has it selected for this session.
    pub backend: String,
    /// Its authorization here (its name, the rights the directory's ACL gives).
    pub mailbox: Authorized,
    /// Selected with EXAMINE, or read-only at the backend (`[READ-ONLY]`).
    pub read_only: bool,
}

/// The session's connections to backends, by backend name.
#[derive(Default)]
pub(crate) struct Backends {
    open: HashMap<String, BackendConn>,
}

impl Backends {
    /// Takes `name`'s connection out for one command.
    fn take(&mut self, name: &str) -> Option<BackendConn> {
        self.open.remove(name)
    }

    /// Gives a connection back after a command that completed (one that failed halfway is
    /// dropped instead: its state at the backend is unknown).
    pub fn put(&mut self, mut conn: BackendConn) {
        conn.io.release_idle_memory();
        self.open.insert(conn.name.clone(), conn);
    }

    /// Records whether `name`'s connection has a mailbox selected for the session.
    pub fn set_selected(&mut self, name: &str, selected: bool) {
        if let Some(conn) = self.open.get_mut(name) {
            conn.selected = selected;
        }
    }

    /// Logs every connection out: the session has ended.
    pub async fn logout_all(&mut self) {
        for (_, conn) in self.open.drain() {
            conn.logout().await;
        }
    }
}

impl Session {
    /// Whether this server passes commands on to backends: it is part of a Murder and has
    /// credentials for them (a frontend or unified node). A backend without them proxies
    /// nothing: another server's mailbox is answered by the single server's code, from the
    /// directory copy (LIST, the ACL commands) or with `NO [UNAVAILABLE]` (its messages).
    pub(crate) fn proxying(&self) -> bool {
        self.server.config.proxy.is_some() && self.service().cluster().is_some()
    }

    /// Where an authorized mailbox is when another server holds it and this one proxies.
    pub(crate) fn remote(
        &self,
        mailbox: &Authorized,
    ) -> Result<Option<RemoteMailbox>, ServiceError> {
        if !self.proxying() {
            return Ok(None);
        }
        self.service().remote_of(mailbox)
    }

    /// Where a mailbox named by the client is when another server holds it and this one
    /// proxies; `None` as well when the name means nothing (the local handler then answers
    /// as on a single server).
    pub(crate) fn remote_by_name(&self, client_name: &str) -> Option<RemoteMailbox> {
        if !self.proxying() {
            return None;
        }
        let identity = self.state.identity()?;
        let service = self.service();
        let name = service
            .namespace()
            .to_internal(identity, client_name)
            .ok()?;
        service.remote_of_name(&name).ok().flatten()
    }

    /// The connection to `backend`, taken from the pool for one command (give it back with
    /// [`Backends::put`]), opened now when there is none or the one kept was closed by the
    /// backend. The extensions the client enabled are enabled there first.
    pub(crate) async fn backend(&mut self, backend: &str) -> Result<BackendConn, ProxyError> {
        let mut conn = match self.backends.take(backend) {
            Some(mut conn) => {
                if conn.io.usable() {
                    conn
                } else if conn.selected {
                    // The selected mailbox's connection is gone: that is the client's to hear.
                    return Err(ProxyError::Closed);
                } else {
                    self.connect(backend).await?
                }
            }
            None => self.connect(backend).await?,
        };
        self.sync_enabled(&mut conn).await?;
        Ok(conn)
    }

    /// Opens a connection to `backend`, found in the directory, for the session's user.
    async fn connect(&mut self, backend: &str) -> Result<BackendConn, ProxyError> {
        let name = backend.to_string();
        let found = self
            .blocking(move |s| Ok(s.cluster().and_then(|c| c.backend(&name))))
            .await
            .ok()
            .flatten()
            .ok_or(ProxyError::UnknownBackend)?;
        let address = found.imap.filter(|_| found.alive).ok_or(ProxyError::Down)?;
        let config = &self.server.config;
        let login = config.proxy.as_ref().ok_or(ProxyError::NoCredentials)?;
        let user = self.state.identity().map(|i| i.user()).unwrap_or_default();
        let conn = BackendConn::open(
            backend,
            &address,
            login,
            user,
            &config.proxy_tls,
            config.limits.max_line,
            config.proxy_timeouts,
        )
        .await?;
        let tls = if conn.io.is_tls() { " over TLS" } else { "" };
        tracing::info!(
            "{}: proxying for {user} to server {backend} at {address}{tls}",
            self.id
        );
        Ok(conn)
    }

    /// The answer to a command whose backend failed: `NO [UNAVAILABLE]`, and a log line with
    /// the reason. When it is the backend of the selected mailbox, the session leaves the
    /// selected state first (`* OK [CLOSED]`).
    pub(crate) fn unavailable(&mut self, backend: &str, error: &ProxyError) -> Reply {
        tracing::warn!("{}: server {backend}: {error}", self.id);
        if let Some(proxied) = self.state.proxied().filter(|p| p.backend == backend) {
            if matches!(error, ProxyError::Bye(_)) {
                // The backend ended the session: the mailbox may have moved to another server
                // (XFER). The directory copy is brought up to date at once, so the client's
                // next SELECT goes where the mailbox is now.
                let (service, name) = (self.server.service.clone(), proxied.mailbox.name().clone());
                drop(tokio::task::spawn_blocking(move || {
                    if let Some(cluster) = service.cluster() {
                        cluster.refresh(&name);
                    }
                }));
            }
            self.state.deselect();
            self.proc
                .update(self.state.identity().map(|i| i.user()), None);
            self.out.untagged(
                imap_proto::response::StatusKind::Ok,
                Some(Code::Closed),
                "The selected mailbox's server is unavailable",
            );
        }
        Reply::no(
            Some(Code::Unavailable),
            &format!("Server {backend} is unavailable"),
        )
    }

    /// Makes the directory copy current after a change made through a backend, so the
    /// client's next LIST shows it (best effort: the directory's feed brings it anyway).
    pub(crate) async fn refresh(&self, names: Vec<MailboxName>) {
        let _ = self
            .blocking(move |s| {
                if let Some(cluster) = s.cluster() {
                    for name in &names {
                        cluster.refresh(name);
                    }
                }
                Ok(())
            })
            .await;
    }
}
