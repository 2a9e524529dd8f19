//! A path in from a Cyrus Murder: this backend's mailboxes pushed to a Cyrus `mupdate` master
//! (RFC 3656), so that Cyrus frontends (`proxyd`, `lmtpproxyd`) route clients and deliveries
//! here (docs/murder.md, "MUPDATE").
//!
//! [`Bridge`] is the `mailservice::Cluster` the service asks, wrapping the etcd directory when
//! the server also has one: the service calls it exactly where a mailbox enters or leaves the
//! directory (reserve before the store creates a name, activate after, update on an ACL or
//! partition change, remove after a delete, and the same around a rename), synchronously, so a
//! name the master gives to another server refuses the CREATE as a Cyrus backend refuses it.
//! (The mailbox events of `mailservice::events` would be later and lossy: queued, dropped
//! when full, and only for the groups `event_groups` turns on.)
//!
//! One task holds the connection ([`Bridge::start`]); the service's calls, made on the
//! blocking pool, queue a request and wait for its answer (bounded by [`CALL_TIMEOUT`]).
//! Every connection starts with a push of everything ([`ops::push`]), so changes made while
//! the master was unreachable are caught up: then a reservation (CREATE, RENAME) answers
//! `Unavailable`, and the other changes are left to that push. A connection that fails under
//! a change is replaced at once and the change tried again on the new one; after a failed
//! attempt the next comes `mupdate_retry_delay` later; an idle connection is checked with
//! `NOOP`.
//!
//! Names are Cyrus's internal names (`user.ann`, `example.com!user.bob`), which is what the
//! store keeps, so they go as they are; locations are `servername!PARTITION`.

mod client;
mod ops;

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use mailservice::{Backend, Cluster, DirectoryError};
use mailstore::{MailboxEntry, Store};
use mupdate_proto::CommandBody;
use tokio::sync::mpsc as queue;
use types::{MailboxName, Secret};

use client::Connection;
pub use client::MupdateError;
use ops::{OpError, Place, Removing};

use crate::SyncReport;

/// How long a service call waits for the bridge's answer (a change is a `FIND` and one
/// command: milliseconds, unless a push of every mailbox runs first).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long `darius murder mupdate-sync` waits for a push.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(3600);

/// How long a connection may stay idle before a `NOOP` checks it.
const KEEPALIVE: Duration = Duration::from_secs(60);

/// The `mupdate_*` options (Cyrus's names).
#[derive(Clone, Debug)]
pub struct MupdateConfig {
    /// `mupdate_server`: the master's host (a name, or an IPv4 or IPv6 address).
    pub host: String,
    /// `mupdate_port` (3905).
    pub port: u16,
    /// `mupdate_username`: the authorization identity; empty acts as `authname`.
    pub username: String,
    /// `mupdate_authname`: who logs in; the master must list it in its `admins`.
    pub authname: String,
    /// `mupdate_password`.
    pub password: Secret<String>,
    /// `mupdate_retry_delay`: the pause between failed connection attempts.
    pub retry_delay: Duration,
    /// This server in locations (`servername`): what Cyrus frontends connect to.
    pub server: String,
    /// `defaultpartition`: where a reservation says a new mailbox goes.
    pub partition: String,
    /// STARTTLS toward the master (`proxy_tls`, the CA in `tls_server_ca_file`): with a
    /// master that offers it under `auto`, always under `on`, never under `off`.
    pub tls: net::ClientTls,
}

/// What the bridge is asked.
#[derive(Debug)]
enum Op {
    Reserve(MailboxName),
    Activate(MailboxEntry),
    Remove(MailboxName, Removing),
    /// A transfer gave the mailbox to another server.
    HandOver(MailboxEntry, String),
    /// A Cyrus backend's transfer gave the mailbox to this server.
    TakeOver(MailboxEntry),
    Push {
        dry_run: bool,
    },
}

/// What it answers.
#[derive(Debug)]
enum Reply {
    Changed(Result<(), DirectoryError>),
    Pushed(Result<SyncReport, String>),
}

struct Request {
    op: Op,
    reply: mpsc::Sender<Reply>,
}

/// The bridge to a Cyrus mupdate master (see the module documentation).
pub struct Bridge {
    config: MupdateConfig,
    store: Store,
    inner: Option<Arc<dyn Cluster>>,
    hidden: Option<MailboxName>,
    requests: queue::UnboundedSender<Request>,
    receiver: std::sync::Mutex<Option<queue::UnboundedReceiver<Request>>>,
}

impl Bridge {
    /// The bridge for this backend's `store`; `inner` is the etcd directory when the server
    /// has one (every call goes there first); `hidden` is delayed delete's prefix, whose
    /// mailboxes are never pushed. Nothing is sent until [`Bridge::start`].
    pub fn new(
        config: MupdateConfig,
        store: Store,
        inner: Option<Arc<dyn Cluster>>,
        hidden: Option<MailboxName>,
    ) -> Arc<Bridge> {
        let (requests, receiver) = queue::unbounded_channel();
        Arc::new(Bridge {
            config,
            store,
            inner,
            hidden,
            requests,
            receiver: std::sync::Mutex::new(Some(receiver)),
        })
    }

    /// Starts the bridge's task on the current runtime: it connects, pushes everything, then
    /// serves the service's changes until the bridge is dropped. A second call does nothing.
    pub fn start(&self) {
        let receiver = self
            .receiver
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(receiver) = receiver {
            tokio::spawn(self.worker().run(receiver));
        }
    }

    /// One push on a connection of its own, without starting the bridge (`darius murder
    /// mupdate-sync` while no server runs); `dry_run` only compares.
    pub async fn push_once(&self, dry_run: bool) -> Result<SyncReport, String> {
        let worker = self.worker();
        let mut conn = Connection::open(&self.config)
            .await
            .map_err(|e| e.to_string())?;
        let outcome = worker.push(&mut conn, dry_run).await;
        conn.logout().await;
        outcome
    }

    fn worker(&self) -> Worker {
        Worker {
            config: self.config.clone(),
            place: self.place(),
            store: self.store.clone(),
            hidden: self.hidden.clone(),
        }
    }

    fn place(&self) -> Place {
        Place {
            server: self.config.server.clone(),
            partition: self.config.partition.clone(),
        }
    }

    fn is_hidden(&self, name: &MailboxName) -> bool {
        self.hidden.as_ref().is_some_and(|h| name.is_within(h))
    }

    /// Queues `op` and waits for the answer, up to `timeout`.
    fn ask(&self, op: Op, timeout: Duration) -> Option<Reply> {
        let (reply, answer) = mpsc::channel();
        self.requests.send(Request { op, reply }).ok()?;
        answer.recv_timeout(timeout).ok()
    }

    /// Queues a change of one mailbox and waits for it.
    fn change(&self, op: Op) -> Result<(), DirectoryError> {
        match self.ask(op, CALL_TIMEOUT) {
            Some(Reply::Changed(outcome)) => outcome,
            Some(Reply::Pushed(_)) | None => Err(DirectoryError::Unavailable(
                "the mupdate master did not answer in time".into(),
            )),
        }
    }

    /// Pushes everything now (`darius murder mupdate-sync`), connecting first if needed;
    /// `dry_run` only compares. Blocks: call it off the runtime's workers.
    pub fn push_now(&self, dry_run: bool) -> Result<SyncReport, String> {
        match self.ask(Op::Push { dry_run }, PUSH_TIMEOUT) {
            Some(Reply::Pushed(outcome)) => outcome,
            Some(Reply::Changed(_)) | None => {
                Err("the bridge to the mupdate master did not answer".into())
            }
        }
    }
}

/// Both outcomes; the first failure wins.
fn both(
    first: Result<(), DirectoryError>,
    second: Result<(), DirectoryError>,
) -> Result<(), DirectoryError> {
    first.and(second)
}

impl Cluster for Bridge {
    fn this_server(&self) -> &str {
        self.inner
            .as_ref()
            .map_or(self.config.server.as_str(), |c| c.this_server())
    }

    fn is_backend(&self) -> bool {
        self.inner.as_ref().is_none_or(|c| c.is_backend())
    }

    fn backend(&self, name: &str) -> Option<Backend> {
        self.inner.as_ref().and_then(|c| c.backend(name))
    }

    fn backends(&self) -> Vec<Backend> {
        self.inner.as_ref().map_or_else(Vec::new, |c| c.backends())
    }

    fn reserve(&self, name: &MailboxName) -> Result<(), DirectoryError> {
        if let Some(inner) = &self.inner {
            inner.reserve(name)?;
        }
        if self.is_hidden(name) {
            return Ok(());
        }
        let outcome = self.change(Op::Reserve(name.clone()));
        if outcome.is_err() {
            if let Some(Err(e)) = self.inner.as_ref().map(|c| c.release(name)) {
                tracing::warn!("directory: releasing {name}: {e}");
            }
        }
        outcome
    }

    fn activate(&self, entry: &MailboxEntry) -> Result<(), DirectoryError> {
        let inner = self.inner.as_ref().map_or(Ok(()), |c| c.activate(entry));
        if self.is_hidden(&entry.name) {
            return inner;
        }
        both(inner, self.change(Op::Activate(entry.clone())))
    }

    fn release(&self, name: &MailboxName) -> Result<(), DirectoryError> {
        let inner = self.inner.as_ref().map_or(Ok(()), |c| c.release(name));
        both(
            inner,
            self.change(Op::Remove(name.clone(), Removing::ReservationOnly)),
        )
    }

    fn update(&self, entry: &MailboxEntry) -> Result<(), DirectoryError> {
        let inner = self.inner.as_ref().map_or(Ok(()), |c| c.update(entry));
        if self.is_hidden(&entry.name) {
            return inner;
        }
        both(inner, self.change(Op::Activate(entry.clone())))
    }

    fn remove(&self, name: &MailboxName) -> Result<(), DirectoryError> {
        let inner = self.inner.as_ref().map_or(Ok(()), |c| c.remove(name));
        both(inner, self.change(Op::Remove(name.clone(), Removing::Any)))
    }

    fn refresh(&self, name: &MailboxName) {
        if let Some(inner) = &self.inner {
            inner.refresh(name);
        }
    }

    /// The master's entry names this server now. With an etcd directory as well, the name is
    /// taken there first (refused when another server holds it).
    fn take_over(&self, entry: &MailboxEntry) -> Result<(), DirectoryError> {
        if let Some(inner) = &self.inner {
            inner.reserve(&entry.name)?;
            inner.activate(entry)?;
        }
        self.change(Op::TakeOver(entry.clone()))
    }

    /// The etcd directory says, when there is one; the master's list does not decide.
    fn holder(&self, name: &MailboxName) -> Result<Option<String>, DirectoryError> {
        match &self.inner {
            Some(inner) => inner.holder(name),
            None => Err(DirectoryError::Unavailable(
                "moving mailboxes needs the Murder's etcd directory".into(),
            )),
        }
    }

    /// The etcd directory's switch is the commit point; the master is told after it, so
    /// the Cyrus frontends route to the new server. A failure there is reported, and
    /// repaired by `darius murder mupdate-sync` on this server (which deletes its stale
    /// entry) and then on the target (which adds its own).
    fn switch(&self, entry: &MailboxEntry, server: &str) -> Result<(), DirectoryError> {
        let Some(inner) = &self.inner else {
            return Err(DirectoryError::Unavailable(
                "moving mailboxes needs the Murder's etcd directory".into(),
            ));
        };
        inner.switch(entry, server)?;
        if !self.is_hidden(&entry.name) {
            if let Err(e) = self.change(Op::HandOver(entry.clone(), server.to_string())) {
                tracing::warn!(
                    "mupdate: {} moved to {server}, the master still names this server: {e}",
                    entry.name
                );
            }
        }
        Ok(())
    }
}

/// The bridge's task: owns the connection.
struct Worker {
    config: MupdateConfig,
    place: Place,
    store: Store,
    hidden: Option<MailboxName>,
}

impl Worker {
    async fn run(self, mut requests: queue::UnboundedReceiver<Request>) {
        let mut conn: Option<Connection> = None;
        let mut next_attempt = tokio::time::Instant::now();
        loop {
            if conn.is_none() && tokio::time::Instant::now() >= next_attempt {
                conn = self.connect_and_push().await;
                if conn.is_none() {
                    next_attempt = tokio::time::Instant::now() + self.config.retry_delay;
                }
            }
            let wake = match conn {
                Some(_) => tokio::time::Instant::now() + KEEPALIVE,
                None => next_attempt,
            };
            tokio::select! {
                request = requests.recv() => {
                    let Some(request) = request else {
                        if let Some(c) = conn.take() {
                            c.logout().await;
                        }
                        return;
                    };
                    let reply = self.serve(&mut conn, request.op).await;
                    // The caller may have stopped waiting; nothing to do then.
                    let _ = request.reply.send(reply);
                }
                () = tokio::time::sleep_until(wake) => {
                    if let Some(c) = conn.as_mut() {
                        if let Err(e) = c.run_one(CommandBody::Noop).await {
                            tracing::warn!("mupdate: {e}; connecting again");
                            conn = None;
                        }
                    }
                }
            }
        }
    }

    /// Connects, logs in and pushes everything; `None` (logged) when any of it fails.
    async fn connect_and_push(&self) -> Option<Connection> {
        let mut conn = match Connection::open(&self.config).await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(
                    "mupdate: {e}; trying again in {:?}",
                    self.config.retry_delay
                );
                return None;
            }
        };
        tracing::info!(
            "mupdate: connected to {} ({} {}) as {}{}",
            self.config.host,
            conn.banner.implementation,
            conn.banner.version,
            self.config.authname,
            if conn.is_tls() { " over TLS" } else { "" }
        );
        match self.push(&mut conn, false).await {
            Ok(report) if report.is_clean() => {
                tracing::info!("mupdate: the master lists every mailbox of this backend")
            }
            Ok(report) => tracing::info!("mupdate: pushed: {}", report.summary()),
            Err(e) => {
                tracing::warn!("mupdate: pushing this backend's mailboxes: {e}");
                return None;
            }
        }
        Some(conn)
    }

    /// This backend's mailboxes: every local one but delayed delete's hidden ones.
    async fn local(&self) -> Result<BTreeMap<MailboxName, MailboxEntry>, String> {
        let store = self.store.clone();
        let hidden = self.hidden.clone();
        let entries = tokio::task::spawn_blocking(move || store.list_mailboxes(None))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("listing this server's mailboxes: {e}"))?;
        Ok(entries
            .into_iter()
            .filter(|e| e.remote_server().is_none())
            .filter(|e| hidden.as_ref().is_none_or(|h| !e.name.is_within(h)))
            .map(|e| (e.name.clone(), e))
            .collect())
    }

    async fn push(&self, conn: &mut Connection, dry_run: bool) -> Result<SyncReport, String> {
        let local = self.local().await?;
        ops::push(conn, &self.place, &local, dry_run)
            .await
            .map_err(|e| e.to_string())
    }

    /// Serves one request on the connection. When the connection fails under it (the master
    /// restarted, a network blip), it is replaced at once (with its push) and the change tried
    /// again on the new one; only then is it `Unavailable`.
    async fn serve(&self, conn: &mut Option<Connection>, op: Op) -> Reply {
        if let Op::Push { dry_run } = op {
            return Reply::Pushed(self.push_request(conn, dry_run).await);
        }
        let mut retried = false;
        loop {
            let Some(c) = conn.as_mut() else {
                return Reply::Changed(Err(DirectoryError::Unavailable(format!(
                    "the mupdate master {} cannot be reached",
                    self.config.host
                ))));
            };
            let outcome = match &op {
                Op::Reserve(name) => ops::reserve(c, &self.place, name).await,
                Op::Activate(entry) => ops::activate(c, &self.place, entry).await,
                Op::Remove(name, which) => ops::remove(c, &self.place, name, *which).await,
                Op::HandOver(entry, server) => ops::hand_over(c, &self.place, entry, server).await,
                Op::TakeOver(entry) => ops::take_over(c, &self.place, entry).await,
                Op::Push { .. } => Ok(()),
            };
            match outcome {
                Ok(()) => return Reply::Changed(Ok(())),
                Err(OpError::Refused(e)) => {
                    tracing::warn!("mupdate: {op:?}: {e}");
                    return Reply::Changed(Err(e));
                }
                Err(OpError::Connection(e)) if retried => {
                    tracing::warn!("mupdate: {e}");
                    *conn = None;
                    return Reply::Changed(Err(DirectoryError::Unavailable(e.to_string())));
                }
                Err(OpError::Connection(e)) => {
                    tracing::warn!("mupdate: {e}; connecting again");
                    retried = true;
                    *conn = self.connect_and_push().await;
                }
            }
        }
    }

    /// A push asked for: on the connection, or on a new one made at once.
    async fn push_request(
        &self,
        conn: &mut Option<Connection>,
        dry_run: bool,
    ) -> Result<SyncReport, String> {
        if conn.is_none() {
            *conn = Some(
                Connection::open(&self.config)
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
        let Some(c) = conn.as_mut() else {
            return Err("no connection".into());
        };
        let outcome = self.push(c, dry_run).await;
        if outcome.is_err() {
            *conn = None;
        }
        outcome
    }
}
