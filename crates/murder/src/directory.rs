//! [`Directory`]: this server's view of the Murder, the `mailservice::Cluster` the service
//! asks. A backend's creates, renames, deletes and ACL changes become compare-and-swap
//! transactions on the mailbox's key (module `record`): a name is reserved before the store
//! creates it and activated after, so two backends can never hold one name, and a crash in
//! between leaves a reservation that [`Directory::reconcile`] settles at the next start.
//!
//! The service's calls are synchronous (made on tokio's blocking pool); each runs its etcd
//! requests on the runtime the directory was made on, bounded by the client's timeouts. An
//! unreachable etcd answers `DirectoryError::Unavailable`, so CREATE, RENAME and DELETE say
//! `NO [UNAVAILABLE]` and change nothing, while the mailboxes themselves go on being served.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use mailservice::{Backend, Cluster, DirectoryError};
use mailstore::{DirectoryChange, MailboxEntry, Store};
use types::MailboxName;

use crate::kv::{Kv, Swap, Versioned};
use crate::record::{Keys, MailboxRecord, ServerRecord, State};
use crate::Role;

/// How many times a compare-and-swap is tried again when the key changed under it.
const SWAP_TRIES: usize = 5;

/// How many times a publishing step is tried when etcd does not answer (an election takes a
/// second or two), and how long apart.
const UNAVAILABLE_TRIES: usize = 4;
const UNAVAILABLE_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);

/// This server's view of the Murder (see the module documentation).
pub struct Directory {
    pub(crate) kv: Kv,
    pub(crate) keys: Keys,
    pub(crate) this: String,
    pub(crate) role: Role,
    pub(crate) store: Store,
    pub(crate) runtime: tokio::runtime::Handle,
    /// The servers whose record (and so whose lease) is in the directory now.
    pub(crate) servers: RwLock<BTreeMap<String, ServerRecord>>,
    /// Names the store must never publish (delayed delete's hidden mailboxes).
    pub(crate) hidden: Option<MailboxName>,
    /// A publishing step failed for good: the directory may not say what this backend holds
    /// until the next reconciliation ([`Directory::settle`]).
    pub(crate) dirty: std::sync::atomic::AtomicBool,
}

impl Directory {
    /// The directory of `this` server, a `role`, over the etcd client `kv` with keys `keys`;
    /// `hidden` is the delayed-delete prefix whose mailboxes are never published. Must be
    /// called within a tokio runtime (its handle runs the directory's requests).
    pub fn new(
        kv: Kv,
        keys: Keys,
        this: &str,
        role: Role,
        store: Store,
        hidden: Option<MailboxName>,
    ) -> Arc<Directory> {
        Arc::new(Directory {
            kv,
            keys,
            this: this.to_string(),
            role,
            store,
            runtime: tokio::runtime::Handle::current(),
            servers: RwLock::new(BTreeMap::new()),
            hidden,
            // A backend reconciles once at start.
            dirty: std::sync::atomic::AtomicBool::new(true),
        })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn kv(&self) -> &Kv {
        &self.kv
    }

    pub fn this_server(&self) -> &str {
        &self.this
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// Writes (`held`) or removes this server's index key of `name`, in the transaction that
    /// changes its record.
    pub(crate) fn held_op(&self, name: &MailboxName, held: bool) -> etcd::Op {
        let key = self.keys.held(&self.this, name);
        if held {
            etcd::Op::Put(etcd::PutRequest::new(&key, b""))
        } else {
            etcd::Op::Delete(etcd::DeleteRequest::key(&key))
        }
    }

    /// Whether `name` is one of delayed delete's hidden mailboxes (never published).
    pub(crate) fn is_hidden(&self, name: &MailboxName) -> bool {
        self.hidden.as_ref().is_some_and(|h| name.is_within(h))
    }

    /// Runs `work` to completion on the directory's runtime from synchronous code. A thread of
    /// its own waits for it, so this is safe from anywhere: the blocking pool, a plain thread,
    /// or (by mistake) a runtime worker, where blocking in place would panic.
    fn block<T: Send>(&self, work: impl std::future::Future<Output = T> + Send) -> T {
        std::thread::scope(|scope| {
            scope
                .spawn(|| self.runtime.block_on(work))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// The mailbox's record and the revision it was written at.
    async fn read(
        &self,
        name: &MailboxName,
    ) -> Result<Option<(MailboxRecord, i64)>, DirectoryError> {
        let found = self
            .kv
            .get(&self.keys.mailbox(name))
            .await
            .map_err(unavailable)?;
        Ok(found.and_then(|v| decode(name, v)))
    }

    /// Writes `record` (or removes the key, `None`) if the name is free or this server's;
    /// answers `Taken` if another server holds it.
    pub(crate) async fn put_own(
        &self,
        name: &MailboxName,
        record: Option<&MailboxRecord>,
        only_reserved: bool,
    ) -> Result<(), DirectoryError> {
        let key = self.keys.mailbox(name);
        let mut now = self.read(name).await?;
        for _ in 0..SWAP_TRIES {
            let expect = match &now {
                Some((held, _)) if held.server != self.this => {
                    return Err(DirectoryError::Taken {
                        name: name.to_string(),
                        server: held.server.clone(),
                    })
                }
                Some((held, _)) if only_reserved && held.state != State::Reserved => return Ok(()),
                Some((_, rev)) => Some(*rev),
                None if record.is_none() => return Ok(()),
                None => None,
            };
            let value = record.map(MailboxRecord::encode);
            let also = vec![self.held_op(name, record.is_some())];
            match self
                .kv
                .swap(&key, expect, value, also)
                .await
                .map_err(unavailable)?
            {
                Swap::Done => return Ok(()),
                Swap::Conflict(v) => now = v.and_then(|v| decode(name, v)),
            }
        }
        Err(DirectoryError::Unavailable(format!(
            "{name} kept changing in the directory"
        )))
    }

    /// [`Directory::put_own`], tried again while etcd does not answer; when it never does, the
    /// directory is marked for reconciliation ([`Directory::settle`]).
    async fn publish(
        &self,
        name: &MailboxName,
        record: Option<&MailboxRecord>,
        only_reserved: bool,
    ) -> Result<(), DirectoryError> {
        let mut tries = 0;
        loop {
            match self.put_own(name, record, only_reserved).await {
                Err(DirectoryError::Unavailable(_)) if tries + 1 < UNAVAILABLE_TRIES => {
                    tries += 1;
                    tokio::time::sleep(UNAVAILABLE_PAUSE).await;
                }
                Err(e @ DirectoryError::Unavailable(_)) => {
                    self.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
                    return Err(e);
                }
                other => return other,
            }
        }
    }

    /// Reconciles whenever a publishing step failed for good (and once at start), every
    /// `every`, until the runtime stops (spawn it on a backend).
    pub async fn settle(self: std::sync::Arc<Directory>, every: std::time::Duration) {
        loop {
            if self.dirty.swap(false, std::sync::atomic::Ordering::SeqCst) {
                match self.reconcile(false).await {
                    Ok(report) if report.is_clean() => {
                        tracing::info!("directory: this backend's mailboxes are all published")
                    }
                    Ok(report) => tracing::warn!("directory: reconciled: {}", report.summary()),
                    Err(e) => {
                        tracing::warn!("directory: reconciling: {e}; trying again");
                        self.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Applies one name's current record to the store's copy (after this server changed it
    /// through a backend): best effort.
    pub(crate) async fn refresh_name(&self, name: &MailboxName) {
        let change = match self.read(name).await {
            Ok(Some((r, _))) if r.state == State::Active && r.server != self.this => {
                DirectoryChange::Put(r.remote_entry(name.clone()))
            }
            Ok(Some(_)) => return,
            Ok(None) => DirectoryChange::Remove(name.clone()),
            Err(e) => {
                tracing::warn!("directory: reading {name}: {e}");
                return;
            }
        };
        let store = self.store.clone();
        let applied =
            tokio::task::spawn_blocking(move || store.apply_directory(&[change], None)).await;
        if let Ok(Err(e)) = applied {
            tracing::warn!("directory: copying {name}: {e}");
        }
    }

    /// The servers alive now, by name.
    pub fn alive_servers(&self) -> BTreeMap<String, ServerRecord> {
        self.servers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn decode(name: &MailboxName, v: Versioned) -> Option<(MailboxRecord, i64)> {
    match MailboxRecord::decode(&v.value) {
        Some(r) => Some((r, v.mod_revision)),
        None => {
            tracing::warn!("directory: the entry of {name} is not a mailbox record; ignored");
            None
        }
    }
}

pub(crate) fn unavailable(e: etcd::Error) -> DirectoryError {
    DirectoryError::Unavailable(format!("etcd: {e}"))
}

fn backend_of(name: &str, r: &ServerRecord) -> Backend {
    Backend {
        name: name.to_string(),
        imap: r.imap.clone(),
        lmtp: r.lmtp.clone(),
        pop3: r.pop3.clone(),
        sieve: r.sieve.clone(),
        alive: true,
        mailboxes: r.mailboxes,
        imap_capabilities: r.imap_capabilities.clone(),
    }
}

impl Cluster for Directory {
    fn this_server(&self) -> &str {
        &self.this
    }

    fn is_backend(&self) -> bool {
        self.role.holds_mail()
    }

    fn backend(&self, name: &str) -> Option<Backend> {
        let servers = self.servers.read().unwrap_or_else(|p| p.into_inner());
        Some(match servers.get(name) {
            Some(r) => backend_of(name, r),
            None => Backend {
                name: name.to_string(),
                alive: false,
                ..Backend::default()
            },
        })
    }

    fn backends(&self) -> Vec<Backend> {
        let servers = self.servers.read().unwrap_or_else(|p| p.into_inner());
        servers.iter().map(|(n, r)| backend_of(n, r)).collect()
    }

    fn reserve(&self, name: &MailboxName) -> Result<(), DirectoryError> {
        if self.is_hidden(name) {
            return Ok(());
        }
        self.block(async {
            let mut tries = 0;
            loop {
                match self.try_reserve(name).await {
                    Err(DirectoryError::Unavailable(_)) if tries + 1 < UNAVAILABLE_TRIES => {
                        tries += 1;
                        tokio::time::sleep(UNAVAILABLE_PAUSE).await;
                    }
                    other => return other,
                }
            }
        })
    }

    fn activate(&self, entry: &MailboxEntry) -> Result<(), DirectoryError> {
        if self.is_hidden(&entry.name) {
            return Ok(());
        }
        let record = MailboxRecord::active(&self.this, entry);
        self.block(self.publish(&entry.name, Some(&record), false))
    }

    fn release(&self, name: &MailboxName) -> Result<(), DirectoryError> {
        self.block(self.publish(name, None, true))
    }

    fn update(&self, entry: &MailboxEntry) -> Result<(), DirectoryError> {
        self.activate(entry)
    }

    fn remove(&self, name: &MailboxName) -> Result<(), DirectoryError> {
        self.block(self.publish(name, None, false))
    }

    fn refresh(&self, name: &MailboxName) {
        self.block(self.refresh_name(name));
    }

    fn holder(&self, name: &MailboxName) -> Result<Option<String>, DirectoryError> {
        self.block(async { Ok(self.read(name).await?.map(|(r, _)| r.server)) })
    }

    fn switch(&self, entry: &MailboxEntry, server: &str) -> Result<(), DirectoryError> {
        self.block(async {
            let mut tries = 0;
            loop {
                match self.try_switch(entry, server).await {
                    Err(DirectoryError::Unavailable(_)) if tries + 1 < UNAVAILABLE_TRIES => {
                        tries += 1;
                        tokio::time::sleep(UNAVAILABLE_PAUSE).await;
                    }
                    other => return other,
                }
            }
        })
    }
}

impl Directory {
    /// One attempt at giving `entry`'s mailbox to `server` (see [`Cluster::switch`]): the
    /// record is compared on the revision read, and the index keys move in the same
    /// transaction. A record that names `server` with `entry`'s uniqueid already is an
    /// earlier attempt that went through (its answer lost), so this one is done too.
    async fn try_switch(&self, entry: &MailboxEntry, server: &str) -> Result<(), DirectoryError> {
        let name = &entry.name;
        let done = |r: &MailboxRecord| r.server == server && r.uniqueid == entry.uniqueid;
        let expect = match self.read(name).await? {
            Some((r, _)) if done(&r) => return Ok(()),
            Some((r, rev)) if r.server == self.this && r.state == State::Active => Some(rev),
            Some((r, _)) => {
                return Err(DirectoryError::Taken {
                    name: name.to_string(),
                    server: r.server,
                })
            }
            // Never published (a publishing step that failed for good): it is still this
            // server's to give.
            None => None,
        };
        let record = MailboxRecord {
            server: server.to_string(),
            ..MailboxRecord::active(&self.this, entry)
        };
        let also = vec![
            self.held_op(name, false),
            etcd::Op::Put(etcd::PutRequest::new(&self.keys.held(server, name), b"")),
        ];
        match self
            .kv
            .swap(
                &self.keys.mailbox(name),
                expect,
                Some(record.encode()),
                also,
            )
            .await
            .map_err(unavailable)?
        {
            Swap::Done => Ok(()),
            Swap::Conflict(now) => match now.and_then(|v| decode(name, v)) {
                Some((r, _)) if done(&r) => Ok(()),
                _ => Err(DirectoryError::Unavailable(format!(
                    "{name} changed in the directory while switching it"
                ))),
            },
        }
    }

    /// One attempt at reserving `name` (see [`Cluster::reserve`]).
    async fn try_reserve(&self, name: &MailboxName) -> Result<(), DirectoryError> {
        let reserved = MailboxRecord::reserved(&self.this);
        let key = self.keys.mailbox(name);
        match self
            .kv
            .swap(
                &key,
                None,
                Some(reserved.encode()),
                vec![self.held_op(name, true)],
            )
            .await
            .map_err(unavailable)?
        {
            Swap::Done => Ok(()),
            // Ours already: a reservation left by a crash, or an entry whose mailbox is
            // gone here; the create that follows decides.
            Swap::Conflict(Some(v)) => match decode(name, v) {
                Some((r, _)) if r.server == self.this => Ok(()),
                Some((r, _)) => Err(DirectoryError::Taken {
                    name: name.to_string(),
                    server: r.server,
                }),
                None => Err(DirectoryError::Taken {
                    name: name.to_string(),
                    server: String::new(),
                }),
            },
            Swap::Conflict(None) => Err(DirectoryError::Unavailable(format!(
                "{name} changed in the directory while reserving it"
            ))),
        }
    }
}
