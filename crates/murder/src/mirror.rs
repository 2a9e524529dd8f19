//! The directory's copy on every server: remote entries in the mailboxes database (so LIST,
//! LSUB and access decisions run as on a single server) and the servers alive, kept current by
//! one etcd watch of the Murder's whole prefix.
//!
//! The copy records the revision it reflects in the same transaction as each batch, so a
//! restarted server or a watch broken by a network blip resumes at the next revision: no full
//! reload, no event missed or applied twice. Only when etcd has compacted the history past that
//! revision (or the copy was never filled) is the directory read whole, at one revision, in
//! pages, and the remote entries it no longer names removed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use etcd::{EventKind, WatchEvent, WatchRequest};
use mailstore::DirectoryChange;
use types::MailboxName;

use crate::directory::Directory;
use crate::record::{MailboxRecord, ServerRecord, State};

/// Entries read per etcd request and applied per transaction during a full load. Large: etcd
/// 3.4 counts the rest of the range at every page, so a page costs the whole remaining range.
const LOAD_PAGE: usize = 10_000;

/// How long to wait before trying again after the copy could not be brought up to date.
const RETRY: Duration = Duration::from_secs(2);

impl Directory {
    /// Keeps the copy current until the runtime stops (spawn it). Errors are logged and the
    /// work resumes from what the copy holds.
    pub async fn follow(self: Arc<Directory>) {
        loop {
            if let Err(e) = self.follow_once().await {
                tracing::warn!("directory: {e}; the copy resumes shortly");
                tokio::time::sleep(RETRY).await;
            }
        }
    }

    /// One watch from the copy's revision until it fails or is compacted away.
    async fn follow_once(&self) -> Result<(), String> {
        let mut revision = self.copy_revision().await?;
        if revision == 0 {
            revision = self.load().await?;
        } else {
            self.load_servers().await?;
        }
        let request = WatchRequest::prefix(&self.keys.all()).from_revision(revision as i64 + 1);
        let mut watcher = self
            .kv
            .client()
            .watch(request)
            .await
            .map_err(|e| format!("watching etcd: {e}"))?;
        loop {
            match watcher
                .next()
                .await
                .map_err(|e| format!("etcd watch: {e}"))?
            {
                WatchEvent::Events { revision, events } => {
                    let mut changes = Vec::new();
                    for event in events {
                        let put = event.kind == EventKind::Put;
                        self.note_event(put, &event.kv.key, &event.kv.value, &mut changes);
                    }
                    self.apply(changes, Some(revision as u64)).await?;
                }
                WatchEvent::Progress { .. } => {}
                WatchEvent::Compacted { compact_revision } => {
                    tracing::warn!(
                        "directory: etcd compacted its history to revision {compact_revision}, \
                         past this copy; reading the directory whole"
                    );
                    self.set_copy_revision(0).await?;
                    return Ok(());
                }
            }
        }
    }

    /// Turns one changed key into a change of the copy (mailboxes) or of the servers map.
    fn note_event(&self, put: bool, key: &[u8], value: &[u8], changes: &mut Vec<DirectoryChange>) {
        if let Some(name) = self.keys.mailbox_of(key) {
            let record = if put {
                MailboxRecord::decode(value)
            } else {
                None
            };
            if put && record.is_none() {
                tracing::warn!("directory: the entry of {name} is not a mailbox record; ignored");
            }
            if let Some(change) = self.copy_change(name, record.as_ref()) {
                changes.push(change);
            }
        } else if let Some(server) = self.keys.server_of(key) {
            let mut servers = self.servers.write().unwrap_or_else(|p| p.into_inner());
            match put.then(|| ServerRecord::decode(value)).flatten() {
                Some(record) => {
                    servers.insert(server, record);
                }
                None => {
                    if servers.remove(&server).is_some() {
                        tracing::warn!("directory: server {server} is down (its lease ended)");
                    }
                }
            }
        }
    }

    /// What the copy does with a mailbox whose record is now `record` (`None`: gone): another
    /// server's active mailbox is put, anything else removed (the store keeps local entries).
    fn copy_change(
        &self,
        name: MailboxName,
        record: Option<&MailboxRecord>,
    ) -> Option<DirectoryChange> {
        match record {
            Some(r) if r.state == State::Active && r.server != self.this => {
                Some(DirectoryChange::Put(r.remote_entry(name)))
            }
            // A reservation is not a mailbox yet; whatever the copy had stays until it is.
            Some(r) if r.state == State::Reserved => None,
            _ => Some(DirectoryChange::Remove(name)),
        }
    }

    async fn apply(
        &self,
        changes: Vec<DirectoryChange>,
        revision: Option<u64>,
    ) -> Result<(), String> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.apply_directory(&changes, revision))
            .await
            .map_err(|e| format!("applying directory changes: {e}"))?
            .map(|_| ())
            .map_err(|e| format!("applying directory changes: {e}"))
    }

    async fn copy_revision(&self) -> Result<u64, String> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.directory_revision())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("reading the copy's revision: {e}"))
    }

    async fn set_copy_revision(&self, revision: u64) -> Result<(), String> {
        self.apply(Vec::new(), Some(revision)).await
    }

    /// Reads the servers alive now.
    async fn load_servers(&self) -> Result<(), String> {
        let mut found = BTreeMap::new();
        let mut pages = self
            .kv
            .client()
            .range_prefix_all(&self.keys.servers(), LOAD_PAGE);
        while let Some(kvs) = pages
            .next()
            .await
            .map_err(|e| format!("reading the servers from etcd: {e}"))?
        {
            for kv in kvs {
                if let (Some(name), Some(r)) = (
                    self.keys.server_of(&kv.key),
                    ServerRecord::decode(&kv.value),
                ) {
                    found.insert(name, r);
                }
            }
        }
        *self.servers.write().unwrap_or_else(|p| p.into_inner()) = found;
        Ok(())
    }

    /// Reads the whole directory at one revision into the copy, a page per transaction;
    /// answers that revision.
    pub(crate) async fn load(&self) -> Result<u64, String> {
        // Every remote entry the directory still holds is written again below, after this
        // counter; those left at or below it are gone from the directory.
        let store = self.store.clone();
        let before = tokio::task::spawn_blocking(move || store.mailboxes_modseq())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("reading the copy: {e}"))?;
        let mut copied = 0usize;
        let mut pages = self
            .kv
            .client()
            .range_prefix_all(&self.keys.mailboxes(), LOAD_PAGE);
        while let Some(kvs) = pages
            .next()
            .await
            .map_err(|e| format!("reading the directory from etcd: {e}"))?
        {
            let mut page = Vec::with_capacity(kvs.len());
            for kv in kvs {
                let Some(name) = self.keys.mailbox_of(&kv.key) else {
                    continue;
                };
                let record = MailboxRecord::decode(&kv.value);
                if let Some(DirectoryChange::Put(e)) = self.copy_change(name, record.as_ref()) {
                    copied += 1;
                    page.push(DirectoryChange::Put(e));
                }
            }
            self.apply(page, None).await?;
        }
        // An empty directory has no page, and so no revision: read one.
        let revision = match pages.revision() {
            0 => {
                self.kv
                    .client()
                    .range(etcd::RangeRequest::key(&self.keys.all()))
                    .await
                    .map_err(|e| format!("reading etcd's revision: {e}"))?
                    .header
                    .revision
            }
            r => r,
        };
        let store = self.store.clone();
        let stale: Vec<DirectoryChange> =
            tokio::task::spawn_blocking(move || store.remote_mailboxes_unchanged_since(before))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("listing the copy: {e}"))?
                .into_iter()
                .map(DirectoryChange::Remove)
                .collect();
        for chunk in stale.chunks(LOAD_PAGE) {
            self.apply(chunk.to_vec(), None).await?;
        }
        self.load_servers().await?;
        let revision = u64::try_from(revision).unwrap_or(0);
        self.set_copy_revision(revision).await?;
        tracing::info!("directory: read whole at revision {revision} ({copied} remote mailboxes)");
        Ok(revision)
    }
}
