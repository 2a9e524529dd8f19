//! Quota roots, their usage, and the check every insert makes under its owner's lock.
//!
//! A quota root is a mailbox name registered in the mailboxes database's `quota_roots` table
//! with its limits; it need not be a mailbox. A mailbox is governed by its nearest registered
//! ancestor-or-self only. Usage is never a free-standing counter: each owner index keeps, in
//! the same transaction as the mailbox headers, the usage of every subtree of its hierarchy
//! (`quota_usage`, see `index.rs`). A root's usage is its subtree minus the subtrees of the
//! roots nested directly inside it, so checking it costs a few lookups however many mailboxes
//! the root governs. Each hard-linked copy counts in full, since every mailbox counts its own
//! messages; index and cache overhead is not counted.
//!
//! Every root lies within one hierarchy owner except the top-level `user`, which spans every
//! user: its usage sums one entry per user, and inserts it governs serialise on one store-wide
//! lock so that two owners cannot both take the last of its room.
//!
//! What may be inserted is not decided here: callers pass a [`QuotaPolicy`] (the service
//! layer's rules for APPEND/COPY and for delivery), which the store consults with the root's
//! limits and exact usage while it holds the lock that makes the check and the insert atomic.

use std::collections::BTreeSet;
use std::sync::MutexGuard;

use redb::ReadableTable;
use types::MailboxName;

use crate::error::{Result, StoreError};
use crate::index::IndexWrite;
use crate::mailboxes_db::{each_within, MAILBOXES, QUOTA_ROOTS};
use crate::model::{QuotaLimits, QuotaRepairReport, QuotaUsage, RepairMode, UsageCorrection};
use crate::Store;

/// Decides whether an insert may be charged to a quota root. Implemented by the service
/// layer; the store calls it under the lock that makes check and insert atomic.
pub trait QuotaPolicy: Sync {
    /// Whether `adding` may be charged to `root`, which has `limits` and uses `usage` now.
    fn admit(
        &self,
        root: &MailboxName,
        limits: QuotaLimits,
        usage: QuotaUsage,
        adding: QuotaUsage,
    ) -> bool;
}

/// The roots whose mailboxes belong to many owners (see the module documentation): `user`
/// (in any domain) and a whole domain, `example.com!`.
fn spans_owners(root: &MailboxName) -> bool {
    root.local() == "user" || root.is_domain_root()
}

/// An owner whose write transaction is open in the caller: its usage is read from that
/// transaction, which sees what the caller has already written.
pub(crate) type Locked<'a, 'b> = Option<(&'a MailboxName, &'a IndexWrite<'b>)>;

impl Store {
    /// Defines (or redefines the limits of) a quota root.
    pub fn set_quota_root(&self, root: &MailboxName, limits: QuotaLimits) -> Result<()> {
        let json = serde_json::to_vec(&limits)
            .map_err(|e| StoreError::corrupt("quota limits", e.to_string()))?;
        let g = self.inner.global.write()?;
        g.txn
            .open_table(QUOTA_ROOTS)?
            .insert(root.as_str(), json.as_slice())?;
        g.commit()
    }

    /// Removes a quota root (Cyrus's way: delete the root, then `quota -f`; here the usage
    /// needs no repair, since the root's mailboxes are counted by whichever root now governs
    /// them). Answers whether it existed.
    pub fn remove_quota_root(&self, root: &MailboxName) -> Result<bool> {
        let g = self.inner.global.write()?;
        let existed = g
            .txn
            .open_table(QUOTA_ROOTS)?
            .remove(root.as_str())?
            .is_some();
        g.commit()?;
        Ok(existed)
    }

    /// All quota roots in name order with their limits.
    pub fn quota_roots(&self) -> Result<Vec<(MailboxName, QuotaLimits)>> {
        let r = self.inner.global.read()?;
        let t = r.txn.open_table(QUOTA_ROOTS)?;
        let mut out = Vec::new();
        for item in t.iter()? {
            let (k, v) = item?;
            out.push((root_name(k.value())?, decode_limits(v.value())?));
        }
        Ok(out)
    }

    /// The limits of quota root `root`, if it is one.
    pub fn quota_limits(&self, root: &MailboxName) -> Result<Option<QuotaLimits>> {
        let r = self.inner.global.read()?;
        let t = r.txn.open_table(QUOTA_ROOTS)?;
        let found = t.get(root.as_str())?;
        found.map(|v| decode_limits(v.value())).transpose()
    }

    /// The quota root governing `name`: its nearest registered ancestor-or-self.
    pub fn quota_root_of(&self, name: &MailboxName) -> Result<Option<MailboxName>> {
        Ok(self.governing_quota_root(name)?.map(|(root, _)| root))
    }

    /// The quota root governing `name`, with its limits, from one read of the roots: its
    /// nearest registered ancestor-or-self, and last its domain's root (`example.com!`).
    pub fn governing_quota_root(
        &self,
        name: &MailboxName,
    ) -> Result<Option<(MailboxName, QuotaLimits)>> {
        let r = self.inner.global.read()?;
        let t = r.txn.open_table(QUOTA_ROOTS)?;
        let mut cur = Some(name.clone());
        while let Some(n) = cur {
            if let Some(v) = t.get(n.as_str())? {
                let limits = decode_limits(v.value())?;
                return Ok(Some((n, limits)));
            }
            cur = n.parent().or_else(|| {
                (!n.is_domain_root())
                    .then(|| n.domain().and_then(MailboxName::domain_root))
                    .flatten()
            });
        }
        Ok(None)
    }

    /// Usage charged to `root`: every mailbox within it except those a deeper root governs.
    pub fn quota_usage(&self, root: &MailboxName) -> Result<QuotaUsage> {
        self.usage_of(root, None)
    }

    /// What renaming `from` (and everything below it) to `to` would add to the quota root that
    /// governs `to`: `(root, limits, its usage now, the usage arriving)`, or `None` when no
    /// limited root is there or nothing would change roots. Quota roots keep their names
    /// across a rename, so everything within `from` comes under `to`'s root, including what a
    /// root nested in `from` governed. Not atomic with the rename: a caller's check, not a
    /// guarantee (the rename itself is never refused by the store).
    pub fn rename_quota_delta(
        &self,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<Option<(MailboxName, QuotaLimits, QuotaUsage, QuotaUsage)>> {
        let Some((root, limits)) = self.governing_quota_root(to)? else {
            return Ok(None);
        };
        let adding = if self.quota_root_of(from)?.as_ref() == Some(&root) {
            // Already counted there, except what roots nested in `from` govern.
            let mut adding = QuotaUsage::default();
            for nested in self.nested_roots(from)? {
                adding = adding.plus(self.subtree_total(&nested, None)?);
            }
            adding
        } else {
            self.subtree_total(from, None)?
        };
        if adding == QuotaUsage::default() {
            return Ok(None);
        }
        Ok(Some((
            root.clone(),
            limits,
            self.usage_of(&root, None)?,
            adding,
        )))
    }

    /// The same figure as [`Store::quota_usage`], summed the slow way from each governed
    /// mailbox's message records: what `quota -f` checks the maintained usage against.
    pub fn quota_usage_by_scan(&self, root: &MailboxName) -> Result<QuotaUsage> {
        let mut usage = QuotaUsage::default();
        for entry in self.list_mailboxes(Some(root))? {
            if self.quota_root_of(&entry.name)?.as_ref() != Some(root) {
                continue;
            }
            let owner = self.inner.owners.get(&entry.name.hierarchy_root())?;
            let snap = owner.read()?;
            for row in snap.records(
                &entry.uniqueid,
                crate::model::UidSelection::All,
                false,
                false,
            )? {
                usage.storage_bytes += row.record.size;
                usage.messages += 1;
            }
        }
        Ok(usage)
    }

    /// `quota -f`: makes each owner's maintained usage equal to what its mailbox headers
    /// and message records say, and reports, for each root whose usage that changed, the
    /// usage before and after. With `roots`, only the owners holding mailboxes of those roots
    /// are repaired (and reported). Roots are never removed. A second run reports nothing.
    pub fn repair_quota(&self, roots: Option<&[MailboxName]>) -> Result<QuotaRepairReport> {
        self.repair_quota_with(roots, RepairMode::Fix)
    }

    /// [`Store::repair_quota`], or with [`RepairMode::DryRun`] the same findings with nothing
    /// written: each owner's transaction is aborted, so a dry run's report lists the headers
    /// and the count of maintained sums that disagree but no per-root corrections (the usage
    /// "after" exists only once written).
    pub fn repair_quota_with(
        &self,
        roots: Option<&[MailboxName]>,
        mode: RepairMode,
    ) -> Result<QuotaRepairReport> {
        let _ns = self.namespace_lock();
        let all_roots: Vec<MailboxName> = self.quota_roots()?.into_iter().map(|(r, _)| r).collect();
        let wanted: Vec<MailboxName> = match roots {
            Some(r) => r.to_vec(),
            None => all_roots.clone(),
        };
        for r in &wanted {
            if !all_roots.contains(r) {
                return Err(StoreError::NoSuchQuotaRoot(r.to_string()));
            }
        }
        let before: Vec<QuotaUsage> = wanted
            .iter()
            .map(|r| self.usage_of(r, None))
            .collect::<Result<_>>()?;
        let owners: BTreeSet<MailboxName> = match roots {
            None => self.owners_within(None)?,
            Some(_) => {
                let mut set = BTreeSet::new();
                for r in &wanted {
                    set.extend(self.owners_within(Some(r))?);
                }
                set
            }
        };
        let mut report = QuotaRepairReport::default();
        for owner in owners {
            let db = self.inner.owners.get(&owner)?;
            let ow = db.write()?;
            for id in ow.mailbox_ids()? {
                let Some(mut h) = ow.header(&id)? else {
                    continue;
                };
                let (mut size, mut exists) = (0u64, 0u32);
                for row in ow.records(&id, crate::model::UidSelection::All)? {
                    size = size.saturating_add(row.record.size);
                    exists = exists.saturating_add(1);
                }
                if (h.size, h.exists) != (size, exists) {
                    report.headers_fixed.push(h.name.clone());
                    h.size = size;
                    h.exists = exists;
                    ow.put_header(&h)?;
                }
            }
            report.entries_fixed += ow.rebuild_usage()?.len();
            match mode {
                RepairMode::Fix => drop(ow.commit()?),
                RepairMode::DryRun => drop(ow),
            }
        }
        if mode == RepairMode::DryRun {
            return Ok(report);
        }
        for (root, before) in wanted.iter().zip(before) {
            let after = self.usage_of(root, None)?;
            if after != before {
                report.corrections.push(UsageCorrection {
                    root: root.clone(),
                    before,
                    after,
                });
            }
        }
        Ok(report)
    }

    /// Checks an insert of `adding` into mailbox `name`, whose owner `owner` the caller has
    /// locked with the open write `ow`, against `policy` and the governing root (none: no
    /// check). On success returns the lock that must stay held until the caller's commit when
    /// the root spans owners.
    pub(crate) fn check_quota<'s>(
        &'s self,
        owner: &MailboxName,
        ow: &IndexWrite<'_>,
        name: &MailboxName,
        adding: QuotaUsage,
        policy: Option<&dyn QuotaPolicy>,
    ) -> Result<Option<MutexGuard<'s, ()>>> {
        let Some(policy) = policy else {
            return Ok(None);
        };
        let Some((root, limits)) = self.governing_quota_root(name)? else {
            return Ok(None);
        };
        let guard = spans_owners(&root).then(|| {
            self.inner
                .quota_span
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        });
        let usage = self.usage_of(&root, Some((owner, ow)))?;
        if policy.admit(&root, limits, usage, adding) {
            Ok(guard)
        } else {
            Err(StoreError::OverQuota(root.to_string()))
        }
    }

    /// Usage of `root`: its subtree minus the subtrees of the roots nested directly in it.
    fn usage_of(&self, root: &MailboxName, locked: Locked<'_, '_>) -> Result<QuotaUsage> {
        let mut usage = self.subtree_total(root, locked)?;
        for nested in self.nested_roots(root)? {
            usage = usage.minus(self.subtree_total(&nested, locked)?);
        }
        Ok(usage)
    }

    /// The roots strictly within `root` with no other root between them and `root`.
    fn nested_roots(&self, root: &MailboxName) -> Result<Vec<MailboxName>> {
        let r = self.inner.global.read()?;
        let t = r.txn.open_table(QUOTA_ROOTS)?;
        let mut out: Vec<MailboxName> = Vec::new();
        each_within(&t, root, |key, _| {
            let name = root_name(key)?;
            // Name order puts a root before everything within it.
            if name != *root && !out.last().is_some_and(|outer| name.is_within(outer)) {
                out.push(name);
            }
            Ok(true)
        })?;
        Ok(out)
    }

    /// Usage of every mailbox at or below `name`.
    fn subtree_total(&self, name: &MailboxName, locked: Locked<'_, '_>) -> Result<QuotaUsage> {
        let owners = if spans_owners(name) {
            self.owners_within(Some(name))?
        } else {
            BTreeSet::from([name.hierarchy_root()])
        };
        let mut total = QuotaUsage::default();
        for owner in owners {
            // Across owners each one's whole hierarchy counts; within one, the subtree.
            let key = if spans_owners(name) { &owner } else { name };
            let usage = match locked {
                Some((o, ow)) if *o == owner => ow.subtree_usage(key.as_str())?,
                _ => {
                    if !self.inner.owners.path_for(&owner).exists() {
                        continue;
                    }
                    self.inner
                        .owners
                        .get(&owner)?
                        .read()?
                        .subtree_usage(key.as_str())?
                }
            };
            total = total.plus(usage);
        }
        Ok(total)
    }

    /// The hierarchy owners of the mailboxes at or below `prefix` (all: every owner), read
    /// from the mailboxes database's keys alone.
    fn owners_within(&self, prefix: Option<&MailboxName>) -> Result<BTreeSet<MailboxName>> {
        let r = self.inner.global.read()?;
        let t = r.txn.open_table(MAILBOXES)?;
        let mut out = BTreeSet::new();
        match prefix {
            Some(prefix) => each_within(&t, prefix, |key, _| {
                out.insert(root_name(key)?.hierarchy_root());
                Ok(true)
            })?,
            None => {
                for item in t.iter()? {
                    let (k, _) = item?;
                    out.insert(root_name(k.value())?.hierarchy_root());
                }
            }
        }
        Ok(out)
    }
}

fn root_name(s: &str) -> Result<MailboxName> {
    MailboxName::try_from(s).map_err(|e| StoreError::corrupt("quota roots", e.to_string()))
}

fn decode_limits(b: &[u8]) -> Result<QuotaLimits> {
    serde_json::from_slice(b).map_err(|e| StoreError::corrupt("quota limits", e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::model::{AppendItem, CreateOptions, QuotaLimits};
    use crate::{Store, StoreConfig};
    use types::MailboxName;

    fn name(s: &str) -> MailboxName {
        MailboxName::try_from(s).unwrap()
    }

    fn store(dir: &std::path::Path) -> Store {
        let partitions = [("default".to_string(), dir.join("spool"))].into();
        let store = Store::open(StoreConfig::new(dir.join("conf"), partitions, "default")).unwrap();
        for b in ["user.kim", "user.kim.lists", "user.kim.lists.rust"] {
            store
                .create_mailbox(&name(b), CreateOptions::default())
                .unwrap();
            let items = vec![AppendItem::bytes(format!("Subject: {b}\r\n\r\nx\r\n"))];
            store.append(&name(b), items).unwrap();
        }
        for r in ["user.kim", "user.kim.lists.rust"] {
            store
                .set_quota_root(&name(r), QuotaLimits::default())
                .unwrap();
        }
        store
    }

    #[test]
    fn repair_sets_drifted_usage_right_keeps_every_root_and_runs_clean_twice() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let kim = name("user.kim");
        let good = s.quota_usage(&kim).unwrap();
        assert_eq!(good.messages, 2);
        // Drift one subtree sum and one header total, as a bug or a hand edit might.
        let owner = s.inner.owners.get(&kim).unwrap();
        {
            let ow = owner.write().unwrap();
            ow.corrupt_usage("user.kim", (7, 99)).unwrap();
            let r = s.resolve(&name("user.kim.lists")).unwrap();
            let mut h = ow.header(&r.entry.uniqueid).unwrap().unwrap();
            h.size += 1000;
            // Written straight into the table: the usage follows only through `put_header`.
            let json = serde_json::to_vec(&h).unwrap();
            ow.txn
                .open_table(super::super::index::HEADERS_FOR_TESTS)
                .unwrap()
                .insert(h.uniqueid.as_str(), json.as_slice())
                .unwrap();
            drop(ow.commit().unwrap());
        }
        let bad = s.quota_usage(&kim).unwrap();
        assert_ne!(bad, good);
        let report = s.repair_quota(None).unwrap();
        assert_eq!(report.headers_fixed, vec!["user.kim.lists".to_string()]);
        assert!(report.entries_fixed >= 1);
        assert_eq!(report.corrections.len(), 1, "{report:?}");
        assert_eq!(report.corrections[0].root, kim);
        assert_eq!(report.corrections[0].before, bad);
        assert_eq!(report.corrections[0].after, good);
        assert_eq!(
            s.quota_usage(&kim).unwrap(),
            s.quota_usage_by_scan(&kim).unwrap()
        );
        // The nested root survives, with its own usage.
        assert_eq!(s.quota_roots().unwrap().len(), 2);
        let rust = s.quota_usage(&name("user.kim.lists.rust")).unwrap();
        assert_eq!(rust.messages, 1);
        assert!(s.repair_quota(None).unwrap().is_clean());
        assert_eq!(
            s.repair_quota(Some(&[name("user.kim.lists.rust")]))
                .unwrap(),
            Default::default()
        );
        assert!(matches!(
            s.repair_quota(Some(&[name("user.nobody")])),
            Err(crate::StoreError::NoSuchQuotaRoot(_))
        ));
    }

    #[test]
    fn an_index_without_the_usage_table_gets_one_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let kim = name("user.kim");
        let good = s.quota_usage(&kim).unwrap();
        let path = s.inner.owners.path_for(&kim);
        drop(s);
        {
            let db = redb::Database::open(&path).unwrap();
            let txn = db.begin_write().unwrap();
            assert!(txn
                .delete_table(super::super::index::USAGE_FOR_TESTS)
                .unwrap());
            txn.commit().unwrap();
        }
        let s = Store::open(StoreConfig::new(
            dir.path().join("conf"),
            [("default".to_string(), dir.path().join("spool"))].into(),
            "default",
        ))
        .unwrap();
        assert_eq!(s.quota_usage(&kim).unwrap(), good);
        assert!(s.repair_quota(None).unwrap().is_clean());
    }
}
