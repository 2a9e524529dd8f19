//! The mailboxes database: `CONFIG/mailboxes.redb`, one redb file holding the global tables —
//! mailbox entries (name → uniqueid, partition, ACL, type, special-use, modseqs), and, in their
//! own tables, subscriptions ([`crate::subs`]), private seen state and `\Recent` marks
//! ([`crate::seen`]) and quota roots ([`crate::quota`]).
//!
//! Locking: redb's single writer; callers may open a [`GlobalWrite`] while holding an owner
//! index lock, never the reverse. Readers use MVCC snapshots and never block.
//! Must not: touch message files or owner indexes.

use std::path::Path;

use redb::{
    Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    WriteTransaction,
};
use types::MailboxName;

use crate::durable::Durable;
use crate::error::{Result, StoreError};
use crate::index::{create_exclusive, decode_u64, durability, init_versioned};
use crate::model::MailboxEntry;

/// Version stored under `meta["format_version"]`.
pub const MAILBOXES_FORMAT_VERSION: u64 = 1;
pub const MAILBOXES_DB_FILE: &str = "mailboxes.redb";

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const MAILBOXES: TableDefinition<&str, &[u8]> = TableDefinition::new("mailboxes");
pub(crate) const SUBS: TableDefinition<(&str, &str), ()> = TableDefinition::new("subscriptions");
pub(crate) const SEEN: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("seen");
/// Added after format 1 was first written: a database from before lacks it until the first
/// write that needs it creates it; readers take a missing table as empty.
pub(crate) const RECENT: TableDefinition<(&str, &str), u32> = TableDefinition::new("recent");
pub(crate) const QUOTA_ROOTS: TableDefinition<&str, &[u8]> = TableDefinition::new("quota_roots");
/// Which mailboxes' ACLs grant something to an identifier: (identifier, mailbox name). Kept
/// with every entry written, so LIST finds the mailboxes shared with a user without reading
/// every entry. Added after format version 1 without a version change: an older database
/// gets it filled when first opened.
pub(crate) const ACL_NAMES: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("acl_identifiers");

pub(crate) struct MailboxesDb {
    db: Database,
    durability: Durability,
    path: std::path::PathBuf,
}

impl MailboxesDb {
    pub(crate) fn open(
        config_dir: &Path,
        cache_bytes: usize,
        durable: &Durable,
    ) -> Result<MailboxesDb> {
        durable.create_dir(config_dir)?;
        let path = config_dir.join(MAILBOXES_DB_FILE);
        let db = durable.created_file(&path, || create_exclusive(&path, cache_bytes))?;
        init_versioned(&db, &path, META, MAILBOXES_FORMAT_VERSION, |txn| {
            txn.open_table(MAILBOXES)?;
            txn.open_table(SUBS)?;
            txn.open_table(SEEN)?;
            txn.open_table(RECENT)?;
            txn.open_table(QUOTA_ROOTS)?;
            txn.open_table(ACL_NAMES)?;
            Ok(())
        })?;
        let db = MailboxesDb {
            db,
            durability: durability(durable.policy()),
            path,
        };
        db.fill_acl_index()?;
        Ok(db)
    }

    /// Builds [`ACL_NAMES`] in a database written before it existed.
    fn fill_acl_index(&self) -> Result<()> {
        let missing = match self.db.begin_read()?.open_table(ACL_NAMES) {
            Ok(_) => false,
            Err(redb::TableError::TableDoesNotExist(_)) => true,
            Err(e) => return Err(e.into()),
        };
        if !missing {
            return Ok(());
        }
        let g = self.write()?;
        let entries = scan_within(&g.txn.open_table(MAILBOXES)?, None)?;
        let mut t = g.txn.open_table(ACL_NAMES)?;
        for e in &entries {
            for id in acl_identifiers(&e.acl) {
                t.insert((id.as_str(), e.name.as_str()), ())?;
            }
        }
        drop(t);
        g.commit()
    }

    /// For a backup: a crash image of the database at its last commit (see `crate::ops_backup`).
    pub(crate) fn copy_to(
        &self,
        dest: &Path,
        copier: &mut crate::ops_backup::Copier,
    ) -> Result<()> {
        crate::ops_backup::copy_database(&self.db, &self.path, dest, copier)
    }

    pub(crate) fn read(&self) -> Result<GlobalRead> {
        Ok(GlobalRead {
            txn: self.db.begin_read()?,
        })
    }

    pub(crate) fn write(&self) -> Result<GlobalWrite> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(self.durability)?;
        Ok(GlobalWrite { txn })
    }

    /// A write whose commit need not reach the disk before it returns (a private `\Recent`
    /// mark, which a crash may lose harmlessly); the next durable commit writes it.
    pub(crate) fn write_volatile(&self) -> Result<GlobalWrite> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::None)?;
        Ok(GlobalWrite { txn })
    }
}

/// The identifiers an ACL grants something to, read with [`types::Acl::from_stored`] so that the
/// index holds each identifier in the one form lookups ask for (`anybody` and `ANYONE` are
/// `anyone`); negative entries (`-identifier`) and entries without rights grant nothing. An ACL
/// stored empty (before ACLs existed: its rights come from where the mailbox is) is indexed
/// under the empty identifier, [`LEGACY_ACL`]. An ACL that cannot be read grants nothing to
/// anyone through the index: only the walks of administrators and owners find the mailbox, and
/// `reconstruct` repairs it from the copy in its header.
pub(crate) fn acl_identifiers(acl: &str) -> Vec<String> {
    if acl.is_empty() {
        return vec![LEGACY_ACL.to_string()];
    }
    let Ok(acl) = types::Acl::from_stored(acl) else {
        return Vec::new();
    };
    acl.entries()
        .iter()
        .filter(|e| !e.identifier.negative && !e.rights.is_empty())
        .map(|e| e.identifier.to_string())
        .collect()
}

/// The second halves of the keys of a `(first, second)`-keyed table whose first half is
/// `first`, in order: one user's subscriptions or seen sets, the mailboxes indexed under one
/// identifier.
pub(crate) fn keys_under<V: redb::Value + 'static>(
    t: &impl ReadableTable<(&'static str, &'static str), V>,
    first: &str,
) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    for item in t.range((first, "")..)? {
        let (k, _) = item?;
        let (found, second) = k.value();
        if found != first {
            break;
        }
        keys.push(second.to_string());
    }
    Ok(keys)
}

/// The index key of mailboxes whose ACL was stored empty.
pub const LEGACY_ACL: &str = "";

fn decode_entry(b: &[u8]) -> Result<MailboxEntry> {
    serde_json::from_slice(b).map_err(|e| StoreError::corrupt("mailbox entry", e.to_string()))
}

/// Entries in name order; with a prefix, that mailbox and those below it (see [`each_within`]).
fn scan_within<T>(t: &T, prefix: Option<&MailboxName>) -> Result<Vec<MailboxEntry>>
where
    T: ReadableTable<&'static str, &'static [u8]>,
{
    let mut out = Vec::new();
    let Some(prefix) = prefix else {
        for item in t.iter()? {
            let (_, v) = item?;
            out.push(decode_entry(v.value())?);
        }
        return Ok(out);
    };
    each_within(t, prefix, |_, value| {
        out.push(decode_entry(value)?);
        Ok(true)
    })?;
    Ok(out)
}

/// Calls `each(key, value)` for `prefix` itself, if present, then for every name below it in
/// name order, as long as `each` answers `true`. The scan covers exactly `prefix` and the keys
/// starting with its [`MailboxName::below_prefix`] (`prefix.`, or `example.com!` for a
/// domain's root): a bare prefix scan of `user.bob` would also walk `user.bob2`,
/// `user.bob10`… and every one of their mailboxes. Of those keys it skips the names of another
/// domain that share its text (`example.` also begins `example.com!…`). Any table keyed by
/// mailbox name will do (the mailboxes, the quota roots).
pub(crate) fn each_within<T>(
    t: &T,
    prefix: &MailboxName,
    mut each: impl FnMut(&str, &[u8]) -> Result<bool>,
) -> Result<()>
where
    T: ReadableTable<&'static str, &'static [u8]>,
{
    if let Some(v) = t.get(prefix.as_str())? {
        if !each(prefix.as_str(), v.value())? {
            return Ok(());
        }
    }
    let below = prefix.below_prefix();
    for item in t.range(below.as_str()..)? {
        let (k, v) = item?;
        let key = k.value();
        if !key.starts_with(&below) {
            break;
        }
        // A key that is no valid name is left to the caller, which reports it.
        if MailboxName::try_from(key).is_ok_and(|name| !name.is_within(prefix)) {
            continue;
        }
        if !each(key, v.value())? {
            break;
        }
    }
    Ok(())
}

pub(crate) struct GlobalRead {
    pub(crate) txn: ReadTransaction,
}

impl GlobalRead {
    pub(crate) fn entry(&self, name: &MailboxName) -> Result<Option<MailboxEntry>> {
        let t = self.txn.open_table(MAILBOXES)?;
        let found = t.get(name.as_str())?;
        found.map(|v| decode_entry(v.value())).transpose()
    }

    /// Entries in name order; with a prefix, only that mailbox and those below it.
    pub(crate) fn list(&self, prefix: Option<&MailboxName>) -> Result<Vec<MailboxEntry>> {
        scan_within(&self.txn.open_table(MAILBOXES)?, prefix)
    }

    /// Whether a mailbox lies within `prefix`.
    pub(crate) fn any_within(&self, prefix: &MailboxName) -> Result<bool> {
        let mut found = false;
        each_within(&self.txn.open_table(MAILBOXES)?, prefix, |_, _| {
            found = true;
            Ok(false)
        })?;
        Ok(found)
    }

    /// The Murder directory's revision the remote entries reflect (0: never filled).
    pub(crate) fn directory_revision(&self) -> Result<u64> {
        let t = self.txn.open_table(META)?;
        let v = t
            .get(DIRECTORY_REVISION)?
            .and_then(|v| decode_u64(v.value()));
        Ok(v.unwrap_or(0))
    }

    /// The mailboxes database's change counter (every entry written since has a larger
    /// `modified_modseq`).
    pub(crate) fn modseq(&self) -> Result<u64> {
        let t = self.txn.open_table(META)?;
        let v = t.get("modseq")?.and_then(|v| decode_u64(v.value()));
        Ok(v.unwrap_or(0))
    }

    /// The names of the entries `keep` refuses, reading (and decoding) one entry at a time.
    pub(crate) fn names_where(
        &self,
        mut pick: impl FnMut(&MailboxEntry) -> bool,
    ) -> Result<Vec<MailboxName>> {
        let mut out = Vec::new();
        for item in self.txn.open_table(MAILBOXES)?.iter()? {
            let (_, v) = item?;
            let entry = decode_entry(v.value())?;
            if pick(&entry) {
                out.push(entry.name);
            }
        }
        Ok(out)
    }

    /// The entries whose ACL grants something to any of `identifiers`, in name order.
    pub(crate) fn granted_to(&self, identifiers: &[&str]) -> Result<Vec<MailboxEntry>> {
        let index = self.txn.open_table(ACL_NAMES)?;
        let mut names = std::collections::BTreeSet::new();
        for &id in identifiers {
            names.extend(keys_under(&index, id)?);
        }
        let t = self.txn.open_table(MAILBOXES)?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            if let Some(v) = t.get(name.as_str())? {
                out.push(decode_entry(v.value())?);
            }
        }
        Ok(out)
    }
}

pub(crate) struct GlobalWrite {
    pub(crate) txn: WriteTransaction,
}

impl GlobalWrite {
    /// The entry stored under `name`, as this transaction sees it.
    pub(crate) fn entry(&self, name: &MailboxName) -> Result<Option<MailboxEntry>> {
        let t = self.txn.open_table(MAILBOXES)?;
        let found = t.get(name.as_str())?;
        found.map(|v| decode_entry(v.value())).transpose()
    }

    pub(crate) fn put_entry(&self, e: &MailboxEntry) -> Result<()> {
        let json = serde_json::to_vec(e)
            .map_err(|err| StoreError::corrupt("mailbox entry", err.to_string()))?;
        self.unindex(&e.name)?;
        self.txn
            .open_table(MAILBOXES)?
            .insert(e.name.as_str(), json.as_slice())?;
        let mut index = self.txn.open_table(ACL_NAMES)?;
        for id in acl_identifiers(&e.acl) {
            index.insert((id.as_str(), e.name.as_str()), ())?;
        }
        Ok(())
    }

    pub(crate) fn remove_entry(&self, name: &MailboxName) -> Result<()> {
        self.unindex(name)?;
        self.txn.open_table(MAILBOXES)?.remove(name.as_str())?;
        Ok(())
    }

    /// Drops the index rows of the entry now stored under `name`, if any.
    fn unindex(&self, name: &MailboxName) -> Result<()> {
        let old = {
            let t = self.txn.open_table(MAILBOXES)?;
            let found = t.get(name.as_str())?;
            found.map(|v| decode_entry(v.value())).transpose()?
        };
        if let Some(old) = old {
            let mut index = self.txn.open_table(ACL_NAMES)?;
            for id in acl_identifiers(&old.acl) {
                index.remove((id.as_str(), name.as_str()))?;
            }
        }
        Ok(())
    }

    fn meta_u64(&self, key: &str) -> Result<u64> {
        let t = self.txn.open_table(META)?;
        let v = t.get(key)?.and_then(|v| decode_u64(v.value()));
        Ok(v.unwrap_or(0))
    }

    fn set_meta_u64(&self, key: &str, v: u64) -> Result<()> {
        self.txn
            .open_table(META)?
            .insert(key, v.to_le_bytes().as_slice())?;
        Ok(())
    }

    /// Bumps and returns the mailboxes database's change counter.
    pub(crate) fn next_modseq(&self) -> Result<u64> {
        let v = self.meta_u64("modseq")? + 1;
        self.set_meta_u64("modseq", v)?;
        Ok(v)
    }

    /// A UIDVALIDITY derived from the clock but always above every one handed out before, so a
    /// mailbox re-created within the same second still gets a new one.
    pub(crate) fn next_uidvalidity(&self) -> Result<u32> {
        let last = self.meta_u64("last_uidvalidity")?;
        let now = u64::try_from(crate::model::unix_now()).unwrap_or(1);
        let v = now.max(last + 1).clamp(1, u64::from(u32::MAX));
        self.set_meta_u64("last_uidvalidity", v)?;
        Ok(v as u32)
    }

    /// Makes every later [`GlobalWrite::next_uidvalidity`] larger than `v` (a UIDVALIDITY an
    /// imported mailbox keeps), so a mailbox deleted and created again never gets it back.
    pub(crate) fn note_uidvalidity(&self, v: u32) -> Result<()> {
        let last = self.meta_u64("last_uidvalidity")?;
        if u64::from(v) > last {
            self.set_meta_u64("last_uidvalidity", u64::from(v))?;
        }
        Ok(())
    }

    /// Records the Murder directory's revision this copy has reached (see `ops_remote`).
    pub(crate) fn set_directory_revision(&self, revision: u64) -> Result<()> {
        self.set_meta_u64(DIRECTORY_REVISION, revision)
    }

    pub(crate) fn commit(self) -> Result<()> {
        self.txn.commit()?;
        Ok(())
    }
}

/// The META key holding the Murder directory's revision the remote entries reflect.
const DIRECTORY_REVISION: &str = "directory_revision";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_holds_identifiers_in_the_form_lookups_use() {
        assert_eq!(
            acl_identifiers("anybody\tlrs\tfred\tlwi\t-anonymous\ts\tGroup:x\t\tgroup:staff\tr\t"),
            ["anyone", "fred", "group:staff"].map(String::from),
            "anybody is anyone; negative entries and entries without rights grant nothing"
        );
        assert_eq!(acl_identifiers(""), [LEGACY_ACL.to_string()]);
        assert!(acl_identifiers(types::acl::EMPTY_STORED).is_empty());
        assert!(
            acl_identifiers("fred\tlr\tbob").is_empty(),
            "unreadable: no rows"
        );
        assert!(acl_identifiers("fred\tlQ\t").is_empty(), "unknown right");
    }
}
