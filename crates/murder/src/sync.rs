//! Reconciling a backend's mailboxes with the directory (`darius murder sync`, and every
//! backend's start, like Cyrus's `ctl_mboxlist -m`), and listing the directory
//! (`darius murder dump`).
//!
//! The backend's own mailboxes database is the truth about what it holds: a mailbox held here
//! but missing from the directory is published, an entry that says something else is
//! corrected, a reservation left by a crash is activated (the mailbox exists) or released (it
//! does not), and an entry of this server whose mailbox is gone is removed. A name another
//! server holds is reported as a conflict and left alone: an administrator decides.

use std::collections::BTreeMap;

use mailstore::MailboxEntry;
use serde::Serialize;
use types::MailboxName;

use crate::directory::Directory;
use crate::kv::Swap;
use crate::record::{MailboxRecord, State};

/// Entries read per etcd request.
const PAGE: usize = 1000;

/// What a reconciliation found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Held here, missing from the directory: published.
    pub published: Vec<String>,
    /// Reserved by this server and present here (a crash after the create): activated.
    pub activated: Vec<String>,
    /// The directory said something else (partition, ACL, uniqueid): corrected.
    pub corrected: Vec<String>,
    /// This server's entries (or reservations) with no mailbox here: removed.
    pub removed: Vec<String>,
    /// Held here, but another server holds the name in the directory: `(name, server)`.
    pub conflicts: Vec<(String, String)>,
    /// Whether this was only a comparison (nothing changed).
    pub dry_run: bool,
}

impl SyncReport {
    /// One line saying what was found.
    pub fn summary(&self) -> String {
        format!(
            "{} published, {} activated, {} corrected, {} removed, {} held by other servers",
            self.published.len(),
            self.activated.len(),
            self.corrected.len(),
            self.removed.len(),
            self.conflicts.len()
        )
    }

    pub fn is_clean(&self) -> bool {
        self.published.is_empty()
            && self.activated.is_empty()
            && self.corrected.is_empty()
            && self.removed.is_empty()
            && self.conflicts.is_empty()
    }
}

/// One mailbox of the directory, as `darius murder dump` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DumpLine {
    pub name: String,
    #[serde(flatten)]
    pub record: MailboxRecord,
}

impl Directory {
    /// Compares this backend's mailboxes with the directory and, unless `dry_run`, makes the
    /// directory say what the backend holds.
    pub async fn reconcile(&self, dry_run: bool) -> Result<SyncReport, String> {
        let store = self.store.clone();
        let local: BTreeMap<MailboxName, MailboxEntry> =
            tokio::task::spawn_blocking(move || store.list_mailboxes(None))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("listing this server's mailboxes: {e}"))?
                .into_iter()
                .filter(|e| e.remote_server().is_none() && !self.is_hidden(&e.name))
                .map(|e| (e.name.clone(), e))
                .collect();
        let mut held: BTreeMap<MailboxName, (MailboxRecord, i64)> = BTreeMap::new();
        let mut report = SyncReport {
            dry_run,
            ..SyncReport::default()
        };
        // The names to look at: this server's (its index) and every local mailbox.
        let mut names: std::collections::BTreeSet<MailboxName> = local.keys().cloned().collect();
        let mut pages = self
            .kv
            .client()
            .range_prefix_all(&self.keys.held_by(&self.this), PAGE)
            .keys_only();
        while let Some(kvs) = pages
            .next()
            .await
            .map_err(|e| format!("reading this server's entries from etcd: {e}"))?
        {
            names.extend(
                kvs.iter()
                    .filter_map(|kv| self.keys.held_name(&self.this, &kv.key)),
            );
        }
        let names: Vec<MailboxName> = names.into_iter().collect();
        let keys: Vec<Vec<u8>> = names.iter().map(|n| self.keys.mailbox(n)).collect();
        let values = crate::kv::get_many(self.kv.client(), &keys)
            .await
            .map_err(|e| format!("reading the directory from etcd: {e}"))?;
        for (name, value) in names.into_iter().zip(values) {
            let Some(value) = value else {
                continue;
            };
            let Some(record) = MailboxRecord::decode(&value.value) else {
                continue;
            };
            held.insert(name, (record, value.mod_revision));
        }
        for (name, entry) in &local {
            let wanted = MailboxRecord::active(&self.this, entry);
            let (expect, list) = match held.get(name) {
                Some((r, _)) if r.server != self.this => {
                    report.conflicts.push((name.to_string(), r.server.clone()));
                    continue;
                }
                Some((r, _)) if r.matches(entry) => continue,
                Some((r, rev)) if r.state == State::Reserved => (Some(*rev), &mut report.activated),
                Some((_, rev)) => (Some(*rev), &mut report.corrected),
                None => (None, &mut report.published),
            };
            list.push(name.to_string());
            if !dry_run {
                self.write(name, expect, Some(wanted.encode())).await?;
            }
        }
        for (name, (record, rev)) in &held {
            if record.server == self.this && !local.contains_key(name) {
                report.removed.push(name.to_string());
                if !dry_run {
                    self.write(name, Some(*rev), None).await?;
                }
            }
        }
        Ok(report)
    }

    async fn write(
        &self,
        name: &MailboxName,
        expect: Option<i64>,
        value: Option<Vec<u8>>,
    ) -> Result<(), String> {
        let also = vec![self.held_op(name, value.is_some())];
        match self
            .kv
            .swap(&self.keys.mailbox(name), expect, value, also)
            .await
        {
            Ok(Swap::Done) => Ok(()),
            // Changed meanwhile (another server's create, a client's change here): the next
            // reconciliation looks again.
            Ok(Swap::Conflict(_)) => {
                tracing::warn!("directory: {name} changed while reconciling; left for next time");
                Ok(())
            }
            Err(e) => Err(format!("writing {name} to etcd: {e}")),
        }
    }
}

/// Every mailbox of the directory, in name order, through `each`, read at one revision;
/// answers that revision.
pub async fn dump(
    client: &etcd::Client,
    keys: &crate::record::Keys,
    mut each: impl FnMut(DumpLine),
) -> Result<i64, etcd::Error> {
    let mut pages = client.range_prefix_all(&keys.mailboxes(), PAGE);
    while let Some(kvs) = pages.next().await? {
        for kv in kvs {
            let (Some(name), Some(record)) =
                (keys.mailbox_of(&kv.key), MailboxRecord::decode(&kv.value))
            else {
                continue;
            };
            each(DumpLine {
                name: name.to_string(),
                record,
            });
        }
    }
    Ok(pages.revision())
}
