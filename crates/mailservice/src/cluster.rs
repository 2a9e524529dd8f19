//! The Murder seen from the service (docs/murder.md): which server holds a mailbox, how to reach
//! the backends, and the directory a backend keeps its mailboxes in.
//!
//! The service knows the cluster only through [`Cluster`], which the `murder` crate implements
//! over etcd (and a fixed list implements for tests). A server without one is a single server
//! and every mailbox is local. Another server's mailbox is an entry of type `Remote` in the
//! mailboxes database (`mailstore::ops_remote`), so access decisions, LIST and the namespace
//! work on it as on a local one; what touches its messages is proxied by the protocol servers
//! to the backend [`MailService::remote_of`] names.
//!
//! A backend tells the directory of its mailboxes through [`Cluster::reserve`] and friends:
//! a name is reserved before it is created here and activated after, so no two backends ever
//! hold one name (the directory refuses the second reservation), and a crash between the two
//! leaves a reservation the backend settles at its next start.

use mailstore::MailboxEntry;
use types::MailboxName;

use crate::access::Authorized;
use crate::error::ServiceError;
use crate::MailService;

/// How to reach one server of the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Backend {
    /// Its name in the directory (`SERVER` of `SERVER!PARTITION`).
    pub name: String,
    /// `host:port` of its IMAP, LMTP, POP3 and ManageSieve services; `None` when it runs none.
    pub imap: Option<String>,
    pub lmtp: Option<String>,
    pub pop3: Option<String>,
    pub sieve: Option<String>,
    /// Whether it is alive now (its lease in the directory is held).
    pub alive: bool,
    /// How many mailboxes it holds (for placement: the least loaded takes new ones).
    pub mailboxes: u64,
    /// What its IMAP service offers a user after login (CAPABILITY), as it published it;
    /// `None` when it published nothing (a frontend then cannot narrow its own list by it).
    pub imap_capabilities: Option<Vec<String>>,
}

/// A frontend's own credentials at the backends (Cyrus's `proxy_authname` and
/// `proxy_password`): every protocol logs in to a backend as `authname` with the session's
/// user as the SASL authorization identity, so `authname` must be in the backends'
/// `proxyservers` (LMTP authenticates only where a backend offers AUTH, and is then trusted
/// with `MAIL … AUTH=`).
#[derive(Clone, Debug)]
pub struct ProxyLogin {
    pub authname: String,
    pub password: types::Secret<String>,
    /// Cyrus's per-server credentials (`SERVER_authname`, `SERVER_password`), by backend
    /// name: used at that backend instead of the two above (see [`ProxyLogin::at`]).
    pub per_server: std::collections::BTreeMap<String, ServerLogin>,
}

/// One backend's own credentials; what is `None` is the frontend's default.
#[derive(Clone, Debug, Default)]
pub struct ServerLogin {
    pub authname: Option<String>,
    pub password: Option<types::Secret<String>>,
}

impl ProxyLogin {
    /// The credentials the frontend logs in with at `server`: its own `SERVER_authname` and
    /// `SERVER_password` where set, else `proxy_authname` and `proxy_password`.
    pub fn at(&self, server: &str) -> ProxyLogin {
        let own = self.per_server.get(server);
        ProxyLogin {
            authname: own
                .and_then(|o| o.authname.clone())
                .unwrap_or_else(|| self.authname.clone()),
            password: own
                .and_then(|o| o.password.clone())
                .unwrap_or_else(|| self.password.clone()),
            per_server: std::collections::BTreeMap::new(),
        }
    }
}

/// Where a mailbox held by another server is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteMailbox {
    pub server: String,
    pub partition: String,
}

/// Why the directory refused or failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// Another server holds (or has reserved) the name.
    #[error("{name} is held by server {server}")]
    Taken { name: String, server: String },
    /// The directory cannot be reached or changed now; nothing was changed.
    #[error("the mailbox directory is unavailable: {0}")]
    Unavailable(String),
}

impl From<DirectoryError> for ServiceError {
    fn from(e: DirectoryError) -> ServiceError {
        match e {
            DirectoryError::Taken { .. } => ServiceError::AlreadyExists,
            DirectoryError::Unavailable(why) => ServiceError::Unavailable(why),
        }
    }
}

/// The cluster this server is part of. The directory calls block (they are made on the
/// blocking pool, as every service operation is).
pub trait Cluster: Send + Sync + 'static {
    /// This server's name in the directory.
    fn this_server(&self) -> &str;

    /// Whether this server holds mailboxes (a backend, or a unified node).
    fn is_backend(&self) -> bool;

    /// The server called `name`, if the directory knows it.
    fn backend(&self, name: &str) -> Option<Backend>;

    /// Every backend the directory knows, alive or not, in name order.
    fn backends(&self) -> Vec<Backend>;

    /// Reserves `name` for this server before it is created here.
    fn reserve(&self, name: &MailboxName) -> Result<(), DirectoryError>;

    /// The mailbox now exists here: its reservation becomes an active entry.
    fn activate(&self, entry: &MailboxEntry) -> Result<(), DirectoryError>;

    /// A reservation whose creation failed is given up.
    fn release(&self, name: &MailboxName) -> Result<(), DirectoryError>;

    /// The entry of a mailbox held here changed (its ACL, its special use).
    fn update(&self, entry: &MailboxEntry) -> Result<(), DirectoryError>;

    /// The mailbox held here is gone.
    fn remove(&self, name: &MailboxName) -> Result<(), DirectoryError>;

    /// Makes the directory copy in the mailboxes database current with the directory (after
    /// this server's own change through a backend, so the client reads what it wrote). Best
    /// effort: the directory's change feed brings it anyway.
    fn refresh(&self, _name: &MailboxName) {}

    /// The server the directory itself (not this server's copy) names for `name` now,
    /// reserved or active; `None` when it names none. A transfer's markers are settled by it.
    fn holder(&self, _name: &MailboxName) -> Result<Option<String>, DirectoryError> {
        Err(DirectoryError::Unavailable(
            "this directory cannot say who holds a mailbox".into(),
        ))
    }

    /// A Cyrus backend moved the mailbox here by its legacy XFER (`MUPDATEPUSH`): the
    /// directory names this server for it from now on, whoever it named before.
    fn take_over(&self, _entry: &MailboxEntry) -> Result<(), DirectoryError> {
        Err(DirectoryError::Unavailable(
            "this directory takes no mailboxes over from Cyrus".into(),
        ))
    }

    /// The commit point of a transfer (XFER): the directory entry of `entry`'s mailbox, held
    /// by this server, names `server` from now on, with `entry`'s partition, uniqueid, ACL and
    /// special use (the copy there). One atomic change, made only if the entry still says
    /// what this server published; done already (an earlier attempt whose answer was lost)
    /// counts as done. [`DirectoryError::Taken`] when another server holds the name.
    fn switch(&self, _entry: &MailboxEntry, _server: &str) -> Result<(), DirectoryError> {
        Err(DirectoryError::Unavailable(
            "this directory cannot move mailboxes".into(),
        ))
    }
}

impl MailService {
    /// The same service, part of `cluster`.
    pub fn with_cluster(mut self, cluster: std::sync::Arc<dyn Cluster>) -> MailService {
        self.cluster = Some(cluster);
        self
    }

    /// The cluster this server is part of; `None` for a single server.
    pub fn cluster(&self) -> Option<&std::sync::Arc<dyn Cluster>> {
        self.cluster.as_ref()
    }

    /// Which server holds the authorized mailbox when it is not this one.
    pub fn remote_of(&self, mailbox: &Authorized) -> Result<Option<RemoteMailbox>, ServiceError> {
        self.remote_of_name(mailbox.name())
    }

    /// As [`MailService::remote_of`], for an internal name (a user's INBOX for delivery).
    pub fn remote_of_name(
        &self,
        name: &MailboxName,
    ) -> Result<Option<RemoteMailbox>, ServiceError> {
        if self.cluster.is_none() {
            return Ok(None);
        }
        let entry = self.store.mailbox_entry(name)?;
        Ok(remote_of_entry(&entry))
    }

    /// The directory side of creating `name` here: reserves it, runs `create`, then activates
    /// it (or releases the reservation when `create` failed). Without a cluster, `create`
    /// alone; a frontend (which holds no mailboxes) refuses.
    pub(crate) fn published_create(
        &self,
        name: &MailboxName,
        create: impl FnOnce() -> Result<MailboxEntry, ServiceError>,
    ) -> Result<MailboxEntry, ServiceError> {
        let Some(cluster) = self.cluster.as_ref() else {
            return create();
        };
        if !cluster.is_backend() {
            return Err(ServiceError::Refused(
                "this server is a Murder frontend: it holds no mailboxes (a backend does)",
            ));
        }
        cluster.reserve(name)?;
        match create() {
            Ok(entry) => {
                if let Err(e) = cluster.activate(&entry) {
                    // The mailbox exists here; the reservation stays, and the next start's
                    // reconciliation (or `darius murder sync`) activates it.
                    tracing::warn!("directory: activating {name}: {e}");
                }
                Ok(entry)
            }
            Err(e) => {
                if let Err(r) = cluster.release(name) {
                    tracing::warn!("directory: releasing {name}: {r}");
                }
                Err(e)
            }
        }
    }

    /// RENAME of a mailbox held here and those below it: every new name is reserved first
    /// (so no other backend takes one meanwhile), then the store renames, then the new names
    /// are activated and the old ones removed. A refused reservation changes nothing.
    pub(crate) fn published_rename(
        &self,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<(), ServiceError> {
        let Some(cluster) = self.cluster.as_ref().filter(|c| c.is_backend()) else {
            return Ok(self.store.rename_mailbox(from, to)?);
        };
        let moving: Vec<MailboxName> = self
            .store
            .list_mailboxes(Some(from))?
            .into_iter()
            .map(|e| e.name)
            .collect();
        let renamed = |old: &MailboxName| {
            MailboxName::try_from(format!("{to}{}", &old.as_str()[from.as_str().len()..]))
                .map_err(|e| ServiceError::BadName(e.to_string()))
        };
        let new_names = moving.iter().map(renamed).collect::<Result<Vec<_>, _>>()?;
        let mut reserved = Vec::new();
        let mut outcome = Ok(());
        for name in &new_names {
            match cluster.reserve(name) {
                Ok(()) => reserved.push(name.clone()),
                Err(e) => {
                    outcome = Err(ServiceError::from(e));
                    break;
                }
            }
        }
        if outcome.is_ok() {
            outcome = self
                .store
                .rename_mailbox(from, to)
                .map_err(ServiceError::from);
        }
        if let Err(e) = outcome {
            for name in &reserved {
                if let Err(r) = cluster.release(name) {
                    tracing::warn!("directory: releasing {name}: {r}");
                }
            }
            return Err(e);
        }
        for name in &new_names {
            match self.store.mailbox_entry(name) {
                Ok(entry) => {
                    if let Err(e) = cluster.activate(&entry) {
                        tracing::warn!("directory: activating {name}: {e}");
                    }
                }
                Err(e) => tracing::warn!("directory: reading {name}: {e}"),
            }
        }
        self.published_remove(&moving);
        Ok(())
    }

    /// Tells the directory that these mailboxes held here are gone (best effort: a failure is
    /// logged, and reconciliation removes the entries later).
    pub(crate) fn published_remove(&self, names: &[MailboxName]) {
        if let Some(cluster) = self.cluster.as_ref().filter(|c| c.is_backend()) {
            for name in names {
                if let Err(e) = cluster.remove(name) {
                    tracing::warn!("directory: removing {name}: {e}");
                }
            }
        }
    }

    /// Tells the directory that the entry of a mailbox held here changed (best effort).
    pub(crate) fn published_update(&self, name: &MailboxName) {
        if let Some(cluster) = self.cluster.as_ref().filter(|c| c.is_backend()) {
            match self.store.mailbox_entry(name) {
                Ok(entry) if entry.remote_server().is_none() => {
                    if let Err(e) = cluster.update(&entry) {
                        tracing::warn!("directory: updating {name}: {e}");
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("directory: reading {name}: {e}"),
            }
        }
    }
}

/// The remote location an entry names, if it is another server's.
pub fn remote_of_entry(entry: &MailboxEntry) -> Option<RemoteMailbox> {
    Some(RemoteMailbox {
        server: entry.remote_server()?.to_string(),
        partition: entry.remote_partition().unwrap_or_default().to_string(),
    })
}
