//! The records in etcd (`murder_users: etcd`): key `PREFIX/users/NAME`, value the record's
//! JSON, the same bytes the local file holds. Creating a user is a transaction that writes
//! only if the key is absent (two servers adding one name: one wins); changes and removals
//! compare the key's mod revision with the one read (a compare-and-swap).
//!
//! The database's callers are synchronous and run on blocking threads; each etcd request
//! runs on the runtime given at construction (or one of the store's own), waited for on a
//! thread of its own, so this is safe from any thread, a runtime worker included. The
//! requests are bounded by the client's timeouts: with etcd unreachable, a read or a change
//! answers [`AuthError::Unavailable`].
//!
//! Logins read through [`LoginCache`], which a watch of the prefix keeps current (started
//! with the first login, so tools that only change users start none).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use etcd::{Compare, DeleteRequest, Op, PutRequest, RangeRequest, Txn, WatchEvent};

use super::login_cache::{Cached, LoginCache};
use super::Current;
use crate::password_db::AuthError;

/// How long the watch waits before starting again after etcd refused or ended it.
const WATCH_RETRY: Duration = Duration::from_secs(2);
/// Keys per page when listing users.
const PAGE: usize = 1000;
/// How many times a creation whose outcome was lost is tried again.
const CREATE_TRIES: usize = 3;

/// Where `murder_users: etcd` keeps the users: the Murder's etcd and prefix.
#[derive(Clone, Debug)]
pub struct EtcdUsers {
    /// The client of the Murder's etcd cluster.
    pub client: etcd::Client,
    /// `murder_etcd_prefix`: the records are under `PREFIX/users/`.
    pub prefix: String,
    /// The runtime the etcd requests run on; `None`: the store starts a small one of its own
    /// (for tools, which have none).
    pub runtime: Option<tokio::runtime::Handle>,
}

/// The records in etcd (see the module documentation).
pub(crate) struct EtcdStore {
    client: etcd::Client,
    /// `PREFIX/users/`.
    keys: Vec<u8>,
    handle: tokio::runtime::Handle,
    /// The runtime of its own, when none was given; shut down with the store.
    own: Option<tokio::runtime::Runtime>,
    cache: Arc<LoginCache>,
    /// The watch keeping the cache current, once started.
    watch: OnceLock<tokio::task::JoinHandle<()>>,
}

impl Drop for EtcdStore {
    fn drop(&mut self) {
        if let Some(watch) = self.watch.get() {
            watch.abort();
        }
        // Never blocks or panics, whatever thread drops the store.
        if let Some(runtime) = self.own.take() {
            runtime.shutdown_background();
        }
    }
}

impl EtcdStore {
    /// The store `users` describes; records read for logins are kept for `ttl`.
    pub(crate) fn new(users: EtcdUsers, ttl: Duration) -> Result<EtcdStore, AuthError> {
        let keys = format!("{}/users/", users.prefix.trim_end_matches('/')).into_bytes();
        let (handle, own) = match users.runtime {
            Some(handle) => (handle, None),
            None => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("etcd-users")
                    .enable_all()
                    .build()
                    .map_err(|e| {
                        AuthError::Unavailable(format!("starting a runtime for etcd: {e}"))
                    })?;
                (runtime.handle().clone(), Some(runtime))
            }
        };
        Ok(EtcdStore {
            client: users.client,
            keys,
            handle,
            own,
            cache: Arc::new(LoginCache::new(ttl)),
            watch: OnceLock::new(),
        })
    }

    /// The key prefix of the records, for messages.
    fn shown(&self) -> String {
        String::from_utf8_lossy(&self.keys).into_owned()
    }

    /// `name`'s key.
    fn key(&self, name: &str) -> Vec<u8> {
        let mut key = self.keys.clone();
        key.extend_from_slice(name.as_bytes());
        key
    }

    /// A failure that is not etcd's absence (a record that does not decode, a refusal).
    pub(crate) fn err(&self, e: impl std::fmt::Display) -> AuthError {
        AuthError::Etcd {
            keys: self.shown(),
            reason: e.to_string(),
        }
    }

    /// What an etcd error means here: etcd out of reach is a temporary condition, anything
    /// else a failure.
    fn etcd_err(&self, e: etcd::Error) -> AuthError {
        match e {
            etcd::Error::Unavailable(_)
            | etcd::Error::Indeterminate(_)
            | etcd::Error::Etcd {
                code: etcd::code::UNAVAILABLE,
                ..
            } => AuthError::Unavailable(format!("the users in etcd ({}): {e}", self.shown())),
            etcd::Error::Http(status, _) if (500..600).contains(&status) => {
                AuthError::Unavailable(format!("the users in etcd ({}): {e}", self.shown()))
            }
            other => self.err(other),
        }
    }

    /// Runs `work` to completion on the store's runtime, waiting on a thread of its own: safe
    /// from a blocking thread, a plain thread or a runtime worker alike.
    fn block<T: Send>(
        &self,
        work: impl std::future::Future<Output = T> + Send,
    ) -> Result<T, AuthError> {
        let handle = &self.handle;
        std::thread::scope(|scope| {
            let waiter = std::thread::Builder::new()
                .name("etcd-users".into())
                .spawn_scoped(scope, || handle.block_on(work))
                .map_err(|e| AuthError::Unavailable(format!("starting a thread for etcd: {e}")))?;
            waiter
                .join()
                .map_err(|_| self.err("an etcd request failed (its runtime is shutting down?)"))
        })
    }

    /// `name`'s record and its mod revision, read now.
    pub(crate) fn read(&self, name: &str) -> Result<Option<Current>, AuthError> {
        let key = self.key(name);
        let found = self
            .block(self.client.get(&key))?
            .map_err(|e| self.etcd_err(e))?;
        Ok(found.map(|kv| Current {
            bytes: kv.value,
            revision: kv.mod_revision,
        }))
    }

    /// `name`'s record for a login: from the cache when it was read within the TTL.
    pub(crate) fn read_for_login(&self, name: &str) -> Result<Option<Vec<u8>>, AuthError> {
        match self.cache.get(name) {
            Some(Cached::Present(bytes)) => return Ok(Some(bytes)),
            Some(Cached::Absent) => return Ok(None),
            None => {}
        }
        self.start_watch();
        let key = self.key(name);
        let answer = self
            .block(self.client.range(RangeRequest::key(&key)))?
            .map_err(|e| self.etcd_err(e))?;
        let found = answer.kvs.into_iter().next().map(|kv| kv.value);
        let cached = match &found {
            Some(bytes) => Cached::Present(bytes.clone()),
            None => Cached::Absent,
        };
        self.cache.put(name, cached, answer.header.revision);
        Ok(found)
    }

    /// Writes `bytes` as `name`'s record unless the key exists; whether it was written.
    pub(crate) fn create(&self, name: &str, bytes: &[u8]) -> Result<bool, AuthError> {
        let key = self.key(name);
        for _ in 0..CREATE_TRIES {
            let txn = Txn {
                compare: vec![Compare::absent(&key)],
                success: vec![Op::Put(PutRequest::new(&key, bytes))],
                failure: Vec::new(),
            };
            match self.block(self.client.txn(txn))? {
                Ok(answer) => {
                    if answer.succeeded {
                        self.cache.changed([name], answer.revision);
                    }
                    return Ok(answer.succeeded);
                }
                // The answer was lost: the record's fresh salts tell whether it is ours.
                Err(etcd::Error::Indeterminate(why)) => match self.read(name)? {
                    Some(now) => {
                        self.cache.changed([name], now.revision);
                        return Ok(now.bytes == bytes);
                    }
                    None => tracing::info!("etcd: adding {name:?} again after {why}"),
                },
                Err(e) => return Err(self.etcd_err(e)),
            }
        }
        Err(AuthError::Unavailable(format!(
            "the users in etcd ({}): adding {name} did not get through",
            self.shown()
        )))
    }

    /// Replaces `name`'s record by `bytes` (`None`: deletes the key) if its mod revision is
    /// still `expected`'s; whether it was.
    pub(crate) fn swap(
        &self,
        name: &str,
        expected: &Current,
        bytes: Option<&[u8]>,
    ) -> Result<bool, AuthError> {
        let key = self.key(name);
        let action = match bytes {
            Some(bytes) => Op::Put(PutRequest::new(&key, bytes)),
            None => Op::Delete(DeleteRequest::key(&key)),
        };
        let txn = Txn {
            compare: vec![Compare::mod_revision_is(&key, expected.revision)],
            success: vec![action],
            failure: Vec::new(),
        };
        match self.block(self.client.txn(txn))? {
            Ok(answer) => {
                if answer.succeeded {
                    self.cache.changed([name], answer.revision);
                }
                Ok(answer.succeeded)
            }
            // The answer was lost: done if the key now holds what was meant (new salts make
            // a written record unmistakable), otherwise the caller reads and tries again.
            Err(etcd::Error::Indeterminate(_)) => {
                let now = self.read(name)?;
                let revision = now.as_ref().map_or(expected.revision, |c| c.revision);
                self.cache.changed([name], revision);
                Ok(now.map(|c| c.bytes).as_deref() == bytes)
            }
            Err(e) => Err(self.etcd_err(e)),
        }
    }

    /// Every user name, sorted, read at one revision page by page.
    pub(crate) fn names(&self) -> Result<Vec<String>, AuthError> {
        let mut names = Vec::new();
        self.pages(true, |kvs| {
            names.extend(kvs.into_iter().filter_map(|kv| self.name_of(&kv.key)));
        })?;
        Ok(names)
    }

    /// Every `(name, record)`, read at one revision, given to `each` a page at a time.
    pub(crate) fn records(
        &self,
        mut each: impl FnMut(Vec<(String, Vec<u8>)>) -> Result<(), AuthError>,
    ) -> Result<(), AuthError> {
        let mut failed = None;
        self.pages(false, |kvs| {
            if failed.is_some() {
                return;
            }
            let page = kvs
                .into_iter()
                .filter_map(|kv| Some((self.name_of(&kv.key)?, kv.value)))
                .collect();
            if let Err(e) = each(page) {
                failed = Some(e);
            }
        })?;
        failed.map_or(Ok(()), Err)
    }

    /// Reads the prefix page by page at one revision, handing each page to `page`.
    fn pages(
        &self,
        keys_only: bool,
        mut page: impl FnMut(Vec<etcd::KeyValue>),
    ) -> Result<(), AuthError> {
        let client = self.client.clone();
        let keys = self.keys.clone();
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        // The pages come over a channel of one, so only one is held at a time.
        let reader = async move {
            let mut pages = client.range_prefix_all(&keys, PAGE);
            if keys_only {
                pages = pages.keys_only();
            }
            loop {
                match pages.next().await {
                    Ok(Some(kvs)) => {
                        if sender.send(Ok(kvs)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        let _ = sender.send(Err(e));
                        return;
                    }
                }
            }
        };
        std::thread::scope(|scope| {
            let handle = &self.handle;
            let waiter = std::thread::Builder::new()
                .name("etcd-users".into())
                .spawn_scoped(scope, move || handle.block_on(reader))
                .map_err(|e| AuthError::Unavailable(format!("starting a thread for etcd: {e}")))?;
            let mut outcome = Ok(());
            for answer in receiver.iter() {
                match answer {
                    Ok(kvs) => page(kvs),
                    Err(e) => outcome = Err(self.etcd_err(e)),
                }
            }
            waiter.join().map_err(|_| {
                self.err("listing the users failed (the runtime is shutting down?)")
            })?;
            outcome
        })
    }

    /// The user a key names, if it is one of the records' keys.
    fn name_of(&self, key: &[u8]) -> Option<String> {
        let rest = key.strip_prefix(self.keys.as_slice())?;
        match std::str::from_utf8(rest) {
            Ok(name) if !name.is_empty() => Some(name.to_string()),
            _ => {
                tracing::warn!(
                    "etcd: {} is not a user's key; ignored",
                    String::from_utf8_lossy(key)
                );
                None
            }
        }
    }

    /// Keeps login records for `ttl`.
    pub(crate) fn set_cache_ttl(&self, ttl: Duration) {
        self.cache.set_ttl(ttl);
    }

    /// Starts the watch that keeps the login cache current, once (not when the cache is off).
    fn start_watch(&self) {
        if !self.cache.enabled() {
            return;
        }
        self.watch.get_or_init(|| {
            self.handle.spawn(follow(
                self.client.clone(),
                self.keys.clone(),
                Arc::clone(&self.cache),
            ))
        });
    }
}

/// Drops from `cache` every record that changes under `keys`, for as long as the store lives.
async fn follow(client: etcd::Client, keys: Vec<u8>, cache: Arc<LoginCache>) {
    let prefix = String::from_utf8_lossy(&keys).into_owned();
    loop {
        // After the oldest kept read, so that no change to a kept record goes unreported.
        let from = cache.watch_from();
        let request = etcd::WatchRequest::prefix(&keys)
            .from_revision(from.map_or(0, |r| r.saturating_add(1)));
        let mut watcher = match client.watch(request).await {
            Ok(w) => w,
            Err(e) => {
                tracing::debug!("etcd: watching {prefix}: {e}; trying again");
                tokio::time::sleep(WATCH_RETRY).await;
                continue;
            }
        };
        cache.watching_after(from.unwrap_or(watcher.next_revision().saturating_sub(1)));
        loop {
            match watcher.next().await {
                Ok(WatchEvent::Events { revision, events }) => {
                    let names = events.iter().filter_map(|e| {
                        std::str::from_utf8(e.kv.key.strip_prefix(keys.as_slice())?).ok()
                    });
                    cache.changed(names, revision);
                }
                Ok(WatchEvent::Progress { revision }) => cache.progress(revision),
                Ok(WatchEvent::Compacted { compact_revision }) => {
                    tracing::info!(
                        "etcd: changes to {prefix} compacted away (before {compact_revision}); \
                         the users' records are read again"
                    );
                    cache.clear();
                    break;
                }
                Err(e) => {
                    tracing::warn!("etcd: the watch of {prefix} ended: {e}; starting it again");
                    tokio::time::sleep(WATCH_RETRY).await;
                    break;
                }
            }
        }
    }
}
