//! Backend LMTP connections kept between transactions, shared by every session of the
//! frontend (as Cyrus's `lmtpproxyd` keeps its backends open): a transaction takes an idle
//! connection to its backend, or opens one ([`BackendLmtp::open`]), and gives it back when the
//! transaction left it clean: after the message's final replies (RFC 5321 §4.1.1.4: the
//! transaction is over), after a refused MAIL, or after a successful `RSET`.
//!
//! Bounds: at most [`ProxyPooling::idle_max`] idle connections per backend (the oldest is
//! closed for a newer one); an idle connection is closed after [`ProxyPooling::idle_timeout`];
//! all of a backend's are closed once the directory no longer names it alive at the same LMTP
//! address. A sweeper task runs while anything is idle. Connections carry nothing of a
//! session: the frontend authenticates as itself (`proxy_authname`, or the backend's own
//! `SERVER_authname`; the same for every session), a connection is reused only for its
//! [`Route`] (backend, address and that identity), and the submitter (`MAIL … AUTH=`) lives
//! only within a transaction.
//!
//! Must not: hand one connection to two transactions, or hand out one with unread input (a
//! backend's `421`, or a close, found by [`BackendLmtp::is_clean`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use lmtp_proto::Command;
use mailservice::Cluster;

use super::client::BackendLmtp;

/// How a frontend keeps its backend LMTP connections (`lmtp_proxy_idle_max`,
/// `lmtp_proxy_idle_timeout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyPooling {
    /// Idle connections kept per backend; 0 closes each after its transaction.
    pub idle_max: usize,
    /// How long a connection may wait unused before it is closed.
    pub idle_timeout: Duration,
}

impl Default for ProxyPooling {
    fn default() -> ProxyPooling {
        ProxyPooling {
            idle_max: 8,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Where a connection leads, and as whom the frontend logs in there: a kept connection is
/// only reused for the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    /// The backend's name in the directory.
    pub server: String,
    /// The `host:port` of its LMTP service.
    pub address: String,
    /// The identity the frontend authenticates as there when the backend offers AUTH.
    pub authname: Option<String>,
}

/// The shortest pause between two sweeps (for very short idle timeouts).
const MIN_SWEEP: Duration = Duration::from_millis(50);
/// How long closing a connection waits for the answer to QUIT.
const QUIT_WAIT: Duration = Duration::from_secs(5);

/// The idle connections of every backend. Cloning shares them.
#[derive(Clone)]
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    settings: ProxyPooling,
    /// Asked by the sweeper whether a backend is still where its connections lead.
    directory: Option<Arc<dyn Cluster>>,
    /// A `std` mutex: held for a few vector operations, never across an `.await`.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// By backend name, oldest first.
    idle: HashMap<String, Vec<Idle>>,
    /// Whether a sweeper task is running.
    sweeping: bool,
}

/// A connection waiting for its next transaction.
struct Idle {
    route: Route,
    connection: BackendLmtp,
    since: Instant,
}

impl Pool {
    /// An empty pool; `directory` (a frontend's cluster) lets it close connections to backends
    /// that left or moved.
    pub(crate) fn new(settings: ProxyPooling, directory: Option<Arc<dyn Cluster>>) -> Pool {
        Pool {
            inner: Arc::new(Inner {
                settings,
                directory,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// An idle connection along `route` that is still open and clean, the most recently used
    /// first; the backend's connections found closed, expired, or along another route are
    /// closed on the way.
    pub(crate) fn take(&self, route: &Route) -> Option<BackendLmtp> {
        let now = Instant::now();
        let mut retired = Vec::new();
        let found = {
            let mut state = self.inner.lock();
            let list = state.idle.get_mut(&route.server)?;
            let mut found = None;
            while let Some(mut idle) = list.pop() {
                let fresh = now.duration_since(idle.since) < self.inner.settings.idle_timeout;
                if idle.route == *route && fresh && idle.connection.is_clean() {
                    found = Some(idle.connection);
                    break;
                }
                retired.push(idle.connection);
            }
            if list.is_empty() {
                state.idle.remove(&route.server);
            }
            found
        };
        retire(retired);
        found
    }

    /// Keeps `connection` (clean: no transaction open on it) for the next transaction along
    /// `route`.
    pub(crate) fn put(&self, route: &Route, connection: BackendLmtp) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // Only at shutdown: nothing would sweep the pool.
            return;
        };
        if self.inner.settings.idle_max == 0 {
            return retire(vec![connection]);
        }
        let mut retired = Vec::new();
        let start_sweeper = {
            let mut state = self.inner.lock();
            let list = state.idle.entry(route.server.clone()).or_default();
            // A connection along another route (an address the backend left, an identity the
            // configuration no longer names) is no use any more.
            let (keep, gone): (Vec<Idle>, Vec<Idle>) = std::mem::take(list)
                .into_iter()
                .partition(|idle| idle.route == *route);
            *list = keep;
            retired.extend(gone.into_iter().map(|idle| idle.connection));
            if list.len() >= self.inner.settings.idle_max {
                retired.push(list.remove(0).connection);
            }
            list.push(Idle {
                route: route.clone(),
                connection,
                since: Instant::now(),
            });
            !std::mem::replace(&mut state.sweeping, true)
        };
        retire(retired);
        if start_sweeper {
            runtime.spawn(sweep(Arc::downgrade(&self.inner)));
        }
    }

    /// `connection` after its transaction was abandoned: `RSET` (RFC 5321 §4.1.1.5), and kept
    /// when the backend agrees, in a task of its own so that nobody waits for it.
    pub(crate) fn reset_and_put(&self, route: &Route, mut connection: BackendLmtp) {
        let pool = self.clone();
        let route = route.clone();
        let task = async move {
            let server = &route.server;
            match connection.command(&Command::Rset).await {
                Ok(reply) if reply.code == 250 => pool.put(&route, connection),
                Ok(reply) => {
                    tracing::debug!("LMTP relay to {server}: RSET answered {}", reply.code);
                    connection.quit().await;
                }
                Err(e) => tracing::debug!("LMTP relay to {server}: RSET: {e}"),
            }
        };
        // Dropped transactions may outlive the runtime at shutdown: the connection just closes.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(task);
        }
    }

    /// Closes every idle connection to `server` (the directory says it is down or gone).
    pub(crate) fn forget(&self, server: &str) {
        let gone = self.inner.lock().idle.remove(server);
        retire(gone.into_iter().flatten().map(|i| i.connection).collect());
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves only vectors of connections: still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where each pooled backend's LMTP service is now, by the directory; `None` for one that
    /// is down or gone. Without a directory every backend stays where it was.
    fn current_addresses(&self, servers: Vec<String>) -> HashMap<String, Option<String>> {
        let Some(directory) = &self.directory else {
            return HashMap::new();
        };
        servers
            .into_iter()
            .map(|server| {
                let backend = directory.backend(&server);
                let address = backend.filter(|b| b.alive).and_then(|b| b.lmtp);
                (server, address)
            })
            .collect()
    }
}

/// Closes idle connections that expired or whose backend left its address, every quarter of
/// the idle timeout, until the pool is empty (or dropped).
async fn sweep(pool: Weak<Inner>) {
    loop {
        let pause = match pool.upgrade() {
            Some(inner) => (inner.settings.idle_timeout / 4).max(MIN_SWEEP),
            None => return,
        };
        tokio::time::sleep(pause).await;
        let Some(inner) = pool.upgrade() else {
            return;
        };
        let servers = inner.lock().idle.keys().cloned().collect();
        // Asked without the pool's lock: the directory has locks of its own.
        let addresses = inner.current_addresses(servers);
        let now = Instant::now();
        let mut retired = Vec::new();
        let done = {
            let mut state = inner.lock();
            for (server, list) in state.idle.iter_mut() {
                let here = addresses.get(server);
                let (keep, gone): (Vec<Idle>, Vec<Idle>) =
                    std::mem::take(list).into_iter().partition(|idle| {
                        let moved = here.is_some_and(|a| a.as_deref() != Some(&idle.route.address));
                        !moved && now.duration_since(idle.since) < inner.settings.idle_timeout
                    });
                *list = keep;
                retired.extend(gone.into_iter().map(|i| i.connection));
            }
            state.idle.retain(|_, list| !list.is_empty());
            state.sweeping = !state.idle.is_empty();
            !state.sweeping
        };
        retire(retired);
        if done {
            return;
        }
    }
}

/// Says QUIT on each connection and closes it, in a task of its own.
fn retire(connections: Vec<BackendLmtp>) {
    if connections.is_empty() {
        return;
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            for connection in connections {
                connection.quit_within(QUIT_WAIT).await;
            }
        });
    }
}
