//! The per-owner index: one redb database per hierarchy owner (`user.NAME` and everything below
//! it, or one top-level shared hierarchy), holding every mailbox header and message record of
//! that owner.
//!
//! Owns: `CONFIG/index/HH/HASH.redb` files and their tables (see `docs/on-disk-format.md`).
//! Locking: redb gives MVCC readers that never block the single writer. On top of that each
//! [`OwnerDb`] has a writer lock ([`OwnerLock`]) taken by [`OwnerDb::write`] and held until the change
//! has been committed *and published* (see [`IndexWrite::commit`]), so change notifications leave
//! in commit order. A writer may take the mailboxes database's write transaction while holding
//! this lock, never the reverse; no code holds two owners' locks at once.
//! Must not: touch message files (callers link files before committing here).

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use redb::{
    AccessGuard, Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable,
    TableDefinition, WriteTransaction,
};
use serde::{Deserialize, Serialize};

use crate::codec::IndexRecord;
use crate::config::FsyncPolicy;
use crate::durable::Durable;
use crate::error::{Result, StoreError};
use crate::model::{MailboxType, QuotaUsage, UidSelection};
use crate::summary::{Edit, Row, Summaries, Version};

/// Version stored under `meta["format_version"]`; other values are refused.
pub const INDEX_FORMAT_VERSION: u64 = 1;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const HEADERS: TableDefinition<&str, &[u8]> = TableDefinition::new("mailbox_headers");
const RECORDS: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("records");
const CACHE: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("cache");
const HEADER_BLOCKS: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("header_blocks");
const TOMBSTONES: TableDefinition<(&str, u32), u64> = TableDefinition::new("tombstones");
/// When each expunge happened: `(uniqueid, MODSEQ of the expunge) -> Unix seconds`. Added after
/// format 1 was first written, without a version bump: an index written before lacks the table
/// until its first expunge creates it, and readers take a missing table as empty.
const EXPUNGE_TIMES: TableDefinition<(&str, u64), i64> = TableDefinition::new("expunge_times");
/// Messages expunged under `expunge_mode: delayed`, kept for `darius unexpunge` until
/// `darius expire` purges them: `(uniqueid, uid) -> Unix seconds of the expunge (8 bytes, little
/// endian) followed by the message's index record as it was`. Nothing that serves clients reads
/// it. Added after format 1 was first written, like [`EXPUNGE_TIMES`]: a missing table reads as
/// empty and the first delayed expunge creates it.
const EXPUNGED: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("expunged_records");
/// Quota usage of each subtree of the owner's hierarchy: for every name from the owner's top
/// down to each mailbox, `name -> (RFC 822 bytes, messages)` of all mailboxes at or below it.
/// Written in the same transaction as the headers it sums (see [`IndexWrite::put_header`]), so
/// it cannot drift from them; a root's usage is then a few lookups (`crate::quota`). Added
/// after format 1 was first written: [`OwnerDb::open`] builds it for an index that lacks it.
const USAGE: TableDefinition<&str, (u64, u64)> = TableDefinition::new("quota_usage");
#[cfg(test)]
pub(crate) const USAGE_FOR_TESTS: TableDefinition<&str, (u64, u64)> = USAGE;
#[cfg(test)]
pub(crate) const HEADERS_FOR_TESTS: TableDefinition<&str, &[u8]> = HEADERS;

/// Most keywords one mailbox may define: Cyrus's 128 user flags (`MAX_USER_FLAGS`). A STORE,
/// APPEND or COPY that would define one more is refused (`NO [LIMIT]`), and SELECT stops
/// offering `\*` in PERMANENTFLAGS once the table is full. The table is also what every
/// session is sent in its untagged FLAGS, so the bound keeps that response a few KB at most.
/// (A table that grew past it under an older build stays readable; only additions stop.)
pub const MAX_KEYWORDS: usize = 128;

/// Per-mailbox header in the owner index (JSON; small and read once per operation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IndexHeader {
    pub name: String,
    pub uniqueid: String,
    pub partition: String,
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub highestmodseq: u64,
    pub exists: u32,
    pub size: u64,
    pub deleted: u32,
    pub seen: u32,
    pub acl: String,
    pub mailbox_type: MailboxType,
    /// The mailbox's keyword table; records refer to keywords by index.
    pub keywords: Vec<String>,
    /// Cyrus's `recentuid` for the owner's sessions: the highest UID a read-write session has
    /// claimed as `\Recent` (RFC 3501 §2.3.2); the messages above it are recent for the next
    /// session that claims them. A header written before this field existed reads as nothing
    /// recent (UIDNEXT - 1), and the next write stores that value.
    #[serde(default)]
    pub recentuid: Option<u32>,
    /// The highest MODSEQ whose tombstones were purged (Cyrus's `deletedmodseq`): every expunge
    /// above it still has its tombstone, so VANISHED since a MODSEQ at or above it is exact
    /// (RFC 7162 §3.2.5.2). 0 in a header written before the field existed: nothing purged.
    #[serde(default)]
    pub deletedmodseq: u64,
}

impl IndexHeader {
    /// The owner's recent mark (see `recentuid`).
    pub(crate) fn recent_mark(&self) -> u32 {
        self.recentuid
            .unwrap_or_else(|| self.uidnext.saturating_sub(1))
    }
}

/// A message row as read back: UID, record, and the large blobs when asked for.
pub(crate) struct RecordRow {
    pub uid: u32,
    pub record: IndexRecord,
    pub cache: Option<Vec<u8>>,
    pub header: Option<Vec<u8>>,
}

/// One open owner index.
pub(crate) struct OwnerDb {
    db: Database,
    lock: OwnerLock,
    /// What SELECT keeps of this owner's mailboxes between opens.
    pub summaries: Summaries,
    durability: Durability,
    path: PathBuf,
}

impl std::fmt::Debug for OwnerDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerDb").field("path", &self.path).finish()
    }
}

pub(crate) fn durability(policy: FsyncPolicy) -> Durability {
    match policy {
        FsyncPolicy::Always => Durability::Immediate,
        FsyncPolicy::Never => Durability::None,
    }
}

/// Opens (creating if needed) a database only one process may hold; another process holding it
/// is [`StoreError::InUse`], so admin tools know to go through the running server.
pub(crate) fn create_exclusive(path: &Path, cache_bytes: usize) -> Result<Database> {
    match Database::builder().set_cache_size(cache_bytes).create(path) {
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => Err(StoreError::InUse(path.to_path_buf())),
        other => Ok(other?),
    }
}

/// Checks (or, in a fresh database, writes) the format version and creates all tables, so read
/// transactions can open them unconditionally. An existing database is only read: a write
/// transaction would cost an fsync on every open.
pub(crate) fn init_versioned(
    db: &Database,
    path: &Path,
    meta: TableDefinition<&str, &[u8]>,
    version: u64,
    create: impl FnOnce(&WriteTransaction) -> Result<()>,
) -> Result<()> {
    let check = |found: Option<Option<u64>>| match found {
        None => Ok(false),
        Some(Some(v)) if v == version => Ok(true),
        Some(other) => Err(StoreError::UnsupportedFormat {
            path: path.to_path_buf(),
            found: other.unwrap_or(0),
            supported: version,
        }),
    };
    let found = match db.begin_read()?.open_table(meta) {
        Ok(t) => t.get("format_version")?.map(|v| decode_u64(v.value())),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    if check(found)? {
        return Ok(());
    }
    let txn = db.begin_write()?;
    {
        let mut t = txn.open_table(meta)?;
        let found = t.get("format_version")?.map(|v| decode_u64(v.value()));
        if !check(found)? {
            t.insert("format_version", version.to_le_bytes().as_slice())?;
        }
    }
    create(&txn)?;
    txn.commit()?;
    Ok(())
}

pub(crate) fn decode_u64(b: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(b).ok().map(u64::from_le_bytes)
}

impl OwnerDb {
    pub(crate) fn open(
        path: &Path,
        owner: &str,
        cache_bytes: usize,
        durable: &Durable,
    ) -> Result<OwnerDb> {
        durable.create_dir(&crate::durable::parent_of(path))?;
        let db = durable.created_file(path, || {
            Ok(Database::builder()
                .set_cache_size(cache_bytes)
                .create(path)?)
        })?;
        init_versioned(&db, path, META, INDEX_FORMAT_VERSION, |txn| {
            txn.open_table(META)?.insert("owner", owner.as_bytes())?;
            txn.open_table(HEADERS)?;
            txn.open_table(RECORDS)?;
            txn.open_table(CACHE)?;
            txn.open_table(HEADER_BLOCKS)?;
            txn.open_table(TOMBSTONES)?;
            txn.open_table(EXPUNGE_TIMES)?;
            txn.open_table(EXPUNGED)?;
            txn.open_table(USAGE)?;
            Ok(())
        })?;
        build_usage_if_missing(&db)?;
        Ok(OwnerDb {
            db,
            lock: OwnerLock::default(),
            summaries: Summaries::default(),
            durability: durability(durable.policy()),
            path: path.to_path_buf(),
        })
    }

    pub(crate) fn read(&self) -> Result<IndexRead> {
        Ok(IndexRead {
            txn: self.db.begin_read()?,
        })
    }

    /// Starts the owner's single write; blocks while another writer of this owner is active.
    pub(crate) fn write(&self) -> Result<IndexWrite<'_>> {
        self.write_with(self.durability)
    }

    /// A write whose commit need not reach the disk before it returns: for state a crash may
    /// lose harmlessly (the `\Recent` mark). The next durable commit of this owner writes it.
    pub(crate) fn write_volatile(&self) -> Result<IndexWrite<'_>> {
        self.write_with(Durability::None)
    }

    /// [`OwnerDb::write`] that gives up with `None` when another writer holds the owner
    /// longer than `wait`.
    pub(crate) fn write_within(&self, wait: Duration) -> Result<Option<IndexWrite<'_>>> {
        match self.lock.lock_within(wait) {
            Some(guard) => self.begin(guard, self.durability).map(Some),
            None => Ok(None),
        }
    }

    /// For a backup: makes every commit so far durable, then copies the index file to `dest`
    /// (see `crate::ops_backup`); the guard returned keeps the owner's writers out until the
    /// caller has copied the files that go with it.
    pub(crate) fn copy_to(
        &self,
        dest: &Path,
        copier: &mut crate::ops_backup::Copier,
    ) -> Result<OwnerGuard<'_>> {
        let guard = self.write_with(Durability::Immediate)?.commit()?;
        copier.copy(&self.path, dest)?;
        Ok(guard)
    }

    fn write_with(&self, durability: Durability) -> Result<IndexWrite<'_>> {
        self.begin(self.lock.lock(), durability)
    }

    fn begin<'a>(
        &'a self,
        guard: OwnerGuard<'a>,
        durability: Durability,
    ) -> Result<IndexWrite<'a>> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(durability)?;
        Ok(IndexWrite {
            txn,
            guard,
            summaries: &self.summaries,
            edits: RefCell::new(Vec::new()),
        })
    }
}

/// The writer lock of one owner: a mutex whose waiters may give up after a while, so a
/// delivery can answer "try again later" instead of waiting out a long partition move.
#[derive(Default)]
pub(crate) struct OwnerLock {
    held: Mutex<bool>,
    freed: Condvar,
}

/// Holds an owner's writer lock until dropped.
pub(crate) struct OwnerGuard<'a> {
    lock: &'a OwnerLock,
}

impl OwnerLock {
    /// Takes the lock, waiting as long as it takes.
    pub(crate) fn lock(&self) -> OwnerGuard<'_> {
        let mut held = self.flag();
        while *held {
            held = self.freed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        *held = true;
        OwnerGuard { lock: self }
    }

    /// Takes the lock, waiting at most `wait`.
    pub(crate) fn lock_within(&self, wait: Duration) -> Option<OwnerGuard<'_>> {
        let deadline = Instant::now() + wait;
        let mut held = self.flag();
        while *held {
            let left = deadline.checked_duration_since(Instant::now())?;
            held = self
                .freed
                .wait_timeout(held, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *held = true;
        Some(OwnerGuard { lock: self })
    }

    /// The flag's mutex is held only to test and set the flag: a poisoned one is still right.
    fn flag(&self) -> std::sync::MutexGuard<'_, bool> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for OwnerGuard<'_> {
    fn drop(&mut self) {
        // A writer that panicked drops its guard too: its transaction was aborted with it, so
        // the database is consistent and the next writer may go on.
        *self.lock.flag() = false;
        self.lock.freed.notify_one();
    }
}

/// Builds the [`USAGE`] table of an index written before it existed (one write, once).
fn build_usage_if_missing(db: &Database) -> Result<()> {
    match db.begin_read()?.open_table(USAGE) {
        Ok(_) => return Ok(()),
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let txn = db.begin_write()?;
    let sums = usage_from_headers(&txn.open_table(HEADERS)?)?;
    write_usage(&mut txn.open_table(USAGE)?, &sums)?;
    txn.commit()?;
    Ok(())
}

/// Usage at `name` in a [`USAGE`] table (an absent entry is zero).
fn usage_at(t: &impl ReadableTable<&'static str, (u64, u64)>, name: &str) -> Result<QuotaUsage> {
    let found = t.get(name)?.map(|v| v.value());
    Ok(found.map_or_else(QuotaUsage::default, QuotaUsage::from_pair))
}

/// Writes the subtree sums into an empty [`USAGE`] table; zero sums are left out, as
/// [`IndexWrite::put_header`] leaves them.
fn write_usage(
    t: &mut redb::Table<&'static str, (u64, u64)>,
    sums: &std::collections::BTreeMap<String, (u64, u64)>,
) -> Result<()> {
    for (name, v) in sums {
        if *v != (0, 0) {
            t.insert(name.as_str(), *v)?;
        }
    }
    Ok(())
}

/// The subtree sums [`USAGE`] should hold, computed from every header.
fn usage_from_headers(
    headers: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<std::collections::BTreeMap<String, (u64, u64)>> {
    let mut sums = std::collections::BTreeMap::<String, (u64, u64)>::new();
    for item in headers.iter()? {
        let h = decode_header(item?.1.value())?;
        for name in subtrees_of(&h.name)? {
            let e = sums.entry(name).or_default();
            e.0 = e.0.saturating_add(h.size);
            e.1 = e.1.saturating_add(u64::from(h.exists));
        }
    }
    Ok(sums)
}

/// The names whose subtree holds mailbox `name` within its owner: the owner's top and every
/// level down to `name` itself.
fn subtrees_of(name: &str) -> Result<Vec<String>> {
    let name = types::MailboxName::try_from(name)
        .map_err(|e| StoreError::corrupt("mailbox header", e.to_string()))?;
    let top = name.hierarchy_root();
    let mut out = vec![name.to_string()];
    let mut cur = name;
    while cur != top {
        match cur.parent() {
            Some(p) => {
                out.push(p.to_string());
                cur = p;
            }
            None => break,
        }
    }
    Ok(out)
}

fn decode_header(bytes: &[u8]) -> Result<IndexHeader> {
    let mut h: IndexHeader = serde_json::from_slice(bytes)
        .map_err(|e| StoreError::corrupt("mailbox header", e.to_string()))?;
    // Fixed as of this read, before any append moves UIDNEXT: the upgrade path of `recentuid`.
    h.recentuid = Some(h.recent_mark());
    Ok(h)
}

fn bounds(sel: &UidSelection<'_>) -> (u32, u32) {
    match sel {
        UidSelection::All | UidSelection::Uids(_) => (1, u32::MAX),
        // IMAP allows `5:3` for `3:5` (RFC 9051 §9 seq-range); never hand redb a reversed range.
        UidSelection::Range(a, b) => (a.get().min(b.get()), a.get().max(b.get())),
    }
}

/// Below this many rows of UID range per wanted UID, one range scan reads a `Uids` selection;
/// above it, point lookups do. A lookup walks the tree from the root for every UID (measured:
/// 10,000 lookups in the records table take about 3.5x as long as a scan of the same rows), while
/// a scan also pays for the rows between the wanted ones.
const SCAN_SPAN_PER_UID: u64 = 4;

/// A forward cursor over one table's rows of a mailbox, for reading tables keyed alike (records,
/// cache, header blocks) side by side in one pass instead of one lookup per row.
struct Cursor<'t> {
    rows: redb::Range<'t, (&'static str, u32), &'static [u8]>,
    peeked: Option<(u32, AccessGuard<'t, &'static [u8]>)>,
}

impl<'t> Cursor<'t> {
    fn open<T>(table: &'t T, uniqueid: &str, lo: u32, hi: u32) -> Result<Cursor<'t>>
    where
        T: ReadableTable<(&'static str, u32), &'static [u8]>,
    {
        Ok(Cursor {
            rows: table.range((uniqueid, lo)..=(uniqueid, hi))?,
            peeked: None,
        })
    }

    /// The value stored under `uid`, skipping the rows below it. Calls must come in ascending
    /// UID order.
    fn seek(&mut self, uid: u32) -> Result<Option<AccessGuard<'t, &'static [u8]>>> {
        loop {
            let (at, value) = match self.peeked.take() {
                Some(row) => row,
                None => match self.rows.next() {
                    Some(item) => {
                        let (k, v) = item?;
                        (k.value().1, v)
                    }
                    None => return Ok(None),
                },
            };
            match at.cmp(&uid) {
                std::cmp::Ordering::Less => continue,
                std::cmp::Ordering::Equal => return Ok(Some(value)),
                std::cmp::Ordering::Greater => {
                    self.peeked = Some((at, value));
                    return Ok(None);
                }
            }
        }
    }
}

/// The UIDs of a `Uids` selection, ascending and without duplicates.
fn sorted_uids(uids: &[types::Uid]) -> Vec<u32> {
    let mut out: Vec<u32> = uids.iter().map(|u| u.get()).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether point lookups beat a range scan for these (sorted, distinct) UIDs: one UID, or
/// UIDs spread thinly over their range.
fn sparse(uids: &[u32]) -> bool {
    match (uids.first(), uids.last()) {
        (Some(&lo), Some(&hi)) if uids.len() > 1 => {
            u64::from(hi - lo) + 1 > SCAN_SPAN_PER_UID * uids.len() as u64
        }
        _ => true,
    }
}

/// Reads rows of one mailbox from already opened tables: one range scan over the records with
/// the blob tables read alongside, or point lookups for a sparse `Uids` selection.
fn read_rows<R, C, H>(
    records: &R,
    cache: Option<&C>,
    headers: Option<&H>,
    uniqueid: &str,
    sel: UidSelection<'_>,
) -> Result<Vec<RecordRow>>
where
    R: ReadableTable<(&'static str, u32), &'static [u8]>,
    C: ReadableTable<(&'static str, u32), &'static [u8]>,
    H: ReadableTable<(&'static str, u32), &'static [u8]>,
{
    let wanted = match sel {
        UidSelection::Uids(uids) => Some(sorted_uids(uids)),
        UidSelection::All | UidSelection::Range(..) => None,
    };
    let (lo, hi) = match wanted.as_deref() {
        Some([]) => return Ok(Vec::new()),
        Some(w) if sparse(w) => return lookup_rows(records, cache, headers, uniqueid, w),
        Some(w) => (w[0], w[w.len() - 1]),
        None => bounds(&sel),
    };
    let mut cache = cache
        .map(|t| Cursor::open(t, uniqueid, lo, hi))
        .transpose()?;
    let mut headers = headers
        .map(|t| Cursor::open(t, uniqueid, lo, hi))
        .transpose()?;
    let mut next_wanted = wanted.as_deref().unwrap_or_default().iter().peekable();
    let mut out = Vec::with_capacity(wanted.as_ref().map_or(0, Vec::len));
    for item in records.range((uniqueid, lo)..=(uniqueid, hi))? {
        let (k, v) = item?;
        let uid = k.value().1;
        if wanted.is_some() {
            while next_wanted.next_if(|&&w| w < uid).is_some() {}
            if next_wanted.next_if_eq(&&uid).is_none() {
                continue;
            }
        }
        out.push(RecordRow {
            uid,
            record: IndexRecord::decode(v.value())?,
            cache: seek_blob(cache.as_mut(), uid)?,
            header: seek_blob(headers.as_mut(), uid)?,
        });
    }
    Ok(out)
}

fn seek_blob(cursor: Option<&mut Cursor<'_>>, uid: u32) -> Result<Option<Vec<u8>>> {
    match cursor {
        Some(c) => Ok(c.seek(uid)?.map(|v| v.value().to_vec())),
        None => Ok(None),
    }
}

/// Point lookups of a few (sorted, distinct) UIDs.
fn lookup_rows<R, C, H>(
    records: &R,
    cache: Option<&C>,
    headers: Option<&H>,
    uniqueid: &str,
    uids: &[u32],
) -> Result<Vec<RecordRow>>
where
    R: ReadableTable<(&'static str, u32), &'static [u8]>,
    C: ReadableTable<(&'static str, u32), &'static [u8]>,
    H: ReadableTable<(&'static str, u32), &'static [u8]>,
{
    let mut out = Vec::with_capacity(uids.len());
    for &uid in uids {
        let Some(v) = records.get((uniqueid, uid))? else {
            continue;
        };
        out.push(RecordRow {
            uid,
            record: IndexRecord::decode(v.value())?,
            cache: match cache {
                Some(t) => t.get((uniqueid, uid))?.map(|v| v.value().to_vec()),
                None => None,
            },
            header: match headers {
                Some(t) => t.get((uniqueid, uid))?.map(|v| v.value().to_vec()),
                None => None,
            },
        });
    }
    Ok(out)
}

/// A consistent snapshot of one owner index. Use it only while the [`OwnerDb`] it came from is
/// alive (callers hold the `Arc`): since redb 3 a read transaction of a dropped `Database`
/// answers `DatabaseClosed` instead of reading on.
pub(crate) struct IndexRead {
    txn: ReadTransaction,
}

impl IndexRead {
    /// Usage of every mailbox of this owner at or below `name`.
    pub(crate) fn subtree_usage(&self, name: &str) -> Result<QuotaUsage> {
        usage_at(&self.txn.open_table(USAGE)?, name)
    }

    pub(crate) fn header(&self, uniqueid: &str) -> Result<Option<IndexHeader>> {
        let t = self.txn.open_table(HEADERS)?;
        let found = t.get(uniqueid)?;
        found.map(|v| decode_header(v.value())).transpose()
    }

    pub(crate) fn records(
        &self,
        uniqueid: &str,
        sel: UidSelection<'_>,
        want_cache: bool,
        want_header: bool,
    ) -> Result<Vec<RecordRow>> {
        let records = self.txn.open_table(RECORDS)?;
        let cache = if want_cache {
            Some(self.txn.open_table(CACHE)?)
        } else {
            None
        };
        let headers = if want_header {
            Some(self.txn.open_table(HEADER_BLOCKS)?)
        } else {
            None
        };
        read_rows(&records, cache.as_ref(), headers.as_ref(), uniqueid, sel)
    }

    /// One pass over a mailbox's records for SELECT: each UID with its system flags and MODSEQ,
    /// read in place (see [`crate::summary`]).
    pub(crate) fn scan(&self, uniqueid: &str) -> Result<Vec<Row>> {
        let t = self.txn.open_table(RECORDS)?;
        let mut rows = Vec::new();
        for item in t.range((uniqueid, 1)..=(uniqueid, u32::MAX))? {
            let (k, v) = item?;
            let (flags, modseq) = IndexRecord::peek(v.value())?;
            rows.push(Row {
                uid: k.value().1,
                flags,
                modseq,
            });
        }
        Ok(rows)
    }

    /// The RFC 822 size total of the mailbox's `\Deleted` messages (what EXPUNGE would free:
    /// STATUS DELETED-STORAGE), read one record at a time.
    pub(crate) fn deleted_storage(&self, uniqueid: &str) -> Result<u64> {
        let t = self.txn.open_table(RECORDS)?;
        let mut total = 0u64;
        for item in t.range((uniqueid, 1)..=(uniqueid, u32::MAX))? {
            let (_, v) = item?;
            let record = IndexRecord::decode(v.value())?;
            if record.system_flags & crate::codec::FLAG_DELETED != 0 {
                total = total.saturating_add(record.size);
            }
        }
        Ok(total)
    }

    /// How many messages of the mailbox have a UID of at least `from`.
    pub(crate) fn count_from(&self, uniqueid: &str, from: u32) -> Result<u32> {
        let t = self.txn.open_table(RECORDS)?;
        let mut n: u32 = 0;
        for item in t.range((uniqueid, from)..=(uniqueid, u32::MAX))? {
            item?;
            n = n.saturating_add(1);
        }
        Ok(n)
    }

    /// UIDs of expunged messages whose expunge MODSEQ is above `since` (RFC 7162 VANISHED).
    pub(crate) fn vanished_since(&self, uniqueid: &str, since: u64) -> Result<Vec<u32>> {
        let t = self.txn.open_table(TOMBSTONES)?;
        let mut out = Vec::new();
        for item in t.range((uniqueid, 1)..=(uniqueid, u32::MAX))? {
            let (k, v) = item?;
            if v.value() > since {
                out.push(k.value().1);
            }
        }
        Ok(out)
    }

    /// What the mailbox's expunge dates say about `older_than` (Unix seconds).
    pub(crate) fn expunge_ages(&self, uniqueid: &str, older_than: i64) -> Result<ExpungeAges> {
        let t = match self.txn.open_table(EXPUNGE_TIMES) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(ExpungeAges::default()),
            Err(e) => return Err(e.into()),
        };
        let mut ages = ExpungeAges::default();
        for item in t.range((uniqueid, 0)..=(uniqueid, u64::MAX))? {
            let (k, v) = item?;
            ages.dated = true;
            if v.value() < older_than {
                ages.cut = Some(k.value().1);
            }
        }
        Ok(ages)
    }

    /// The mailbox's kept expunged messages (`expunge_mode: delayed`), ascending by UID.
    pub(crate) fn kept(&self, uniqueid: &str) -> Result<Vec<KeptRow>> {
        match self.txn.open_table(EXPUNGED) {
            Ok(t) => kept_rows(&t, uniqueid),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the mailbox has any tombstone.
    pub(crate) fn has_tombstones(&self, uniqueid: &str) -> Result<bool> {
        let t = self.txn.open_table(TOMBSTONES)?;
        let mut rows = t.range((uniqueid, 1)..=(uniqueid, u32::MAX))?;
        Ok(rows.next().transpose()?.is_some())
    }
}

/// What [`IndexRead::expunge_ages`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ExpungeAges {
    /// The highest expunge MODSEQ dated before the cut-off.
    pub cut: Option<u64>,
    /// Whether any expunge of the mailbox is dated at all.
    pub dated: bool,
}

/// A mailbox's tombstones `(uid, expunge MODSEQ)` and expunge dates `(MODSEQ, Unix seconds)`.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExpungeHistory {
    pub tombstones: Vec<(u32, u64)>,
    pub times: Vec<(u64, i64)>,
    /// Kept expunged messages `(uid, stored value)` (see [`EXPUNGED`]).
    pub kept: Vec<(u32, Vec<u8>)>,
}

/// A message expunged under `expunge_mode: delayed` and kept (see [`EXPUNGED`]).
#[derive(Clone, Debug)]
pub(crate) struct KeptRow {
    pub uid: u32,
    /// Unix seconds of the expunge.
    pub expunged_at: i64,
    pub record: IndexRecord,
}

fn encode_kept(expunged_at: i64, record: &IndexRecord) -> Vec<u8> {
    let mut out = expunged_at.to_le_bytes().to_vec();
    out.extend_from_slice(&record.encode());
    out
}

fn decode_kept(uid: u32, b: &[u8]) -> Result<KeptRow> {
    let (when, rest) = b
        .split_first_chunk::<8>()
        .ok_or_else(|| StoreError::corrupt("expunged record", "shorter than its date"))?;
    Ok(KeptRow {
        uid,
        expunged_at: i64::from_le_bytes(*when),
        record: IndexRecord::decode(rest)?,
    })
}

/// The kept expunged messages of a mailbox in `t`, ascending by UID.
fn kept_rows(
    t: &impl ReadableTable<(&'static str, u32), &'static [u8]>,
    uniqueid: &str,
) -> Result<Vec<KeptRow>> {
    let mut out = Vec::new();
    for item in t.range((uniqueid, 1)..=(uniqueid, u32::MAX))? {
        let (k, v) = item?;
        out.push(decode_kept(k.value().1, v.value())?);
    }
    Ok(out)
}

/// One batch of [`IndexWrite::purge_tombstones`].
pub(crate) struct PurgedBatch {
    /// `(uid, expunge MODSEQ)` of the tombstones dropped.
    pub purged: Vec<(u32, u64)>,
    /// Where the next batch starts; `None` when the mailbox's tombstones were all looked at.
    pub next: Option<u32>,
}

/// One [`USAGE`] entry `quota -f` found wrong: `(RFC 822 bytes, messages)` stored and computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UsageFix {
    pub name: String,
    pub stored: (u64, u64),
    pub computed: (u64, u64),
}

/// The single write transaction of an owner, holding the owner's lock.
pub(crate) struct IndexWrite<'a> {
    pub(crate) txn: WriteTransaction,
    guard: OwnerGuard<'a>,
    summaries: &'a Summaries,
    /// What this write did to records and headers, replayed on the summaries after commit.
    edits: RefCell<Vec<Edit>>,
}

impl<'a> IndexWrite<'a> {
    pub(crate) fn header(&self, uniqueid: &str) -> Result<Option<IndexHeader>> {
        let t = self.txn.open_table(HEADERS)?;
        let found = t.get(uniqueid)?;
        found.map(|v| decode_header(v.value())).transpose()
    }

    /// The uniqueids of every mailbox this owner index holds a header for.
    pub(crate) fn mailbox_ids(&self) -> Result<Vec<String>> {
        let t = self.txn.open_table(HEADERS)?;
        let mut out = Vec::new();
        for item in t.iter()? {
            out.push(item?.0.value().to_string());
        }
        Ok(out)
    }

    /// Writes a mailbox header and moves its usage (size, messages, name) in [`USAGE`].
    pub(crate) fn put_header(&self, h: &IndexHeader) -> Result<()> {
        let old = self.header(&h.uniqueid)?;
        let json = serde_json::to_vec(h)
            .map_err(|e| StoreError::corrupt("mailbox header", e.to_string()))?;
        self.txn
            .open_table(HEADERS)?
            .insert(h.uniqueid.as_str(), json.as_slice())?;
        self.edit(Edit::Header(h.uniqueid.clone(), Version::of(h)));
        self.charge(old.as_ref(), Some(h))
    }

    /// Usage of every mailbox of this owner at or below `name`, as this transaction sees it.
    pub(crate) fn subtree_usage(&self, name: &str) -> Result<QuotaUsage> {
        usage_at(&self.txn.open_table(USAGE)?, name)
    }

    /// Moves a mailbox's usage from what header `old` counted to what `new` counts.
    fn charge(&self, old: Option<&IndexHeader>, new: Option<&IndexHeader>) -> Result<()> {
        let key = |h: &IndexHeader| (h.name.clone(), h.size, h.exists);
        if old.map(key) == new.map(key) {
            return Ok(());
        }
        let mut t = self.txn.open_table(USAGE)?;
        for (h, add) in [(old, false), (new, true)] {
            let Some(h) = h else { continue };
            for name in subtrees_of(&h.name)? {
                let (bytes, msgs) = t.get(name.as_str())?.map_or((0, 0), |v| v.value());
                let (bytes, msgs) = if add {
                    (
                        bytes.saturating_add(h.size),
                        msgs.saturating_add(u64::from(h.exists)),
                    )
                } else {
                    // Saturating: a table that drifted (it cannot, short of a bug) must not
                    // wrap; `quota -f` sets it right.
                    (
                        bytes.saturating_sub(h.size),
                        msgs.saturating_sub(u64::from(h.exists)),
                    )
                };
                if (bytes, msgs) == (0, 0) {
                    t.remove(name.as_str())?;
                } else {
                    t.insert(name.as_str(), (bytes, msgs))?;
                }
            }
        }
        Ok(())
    }

    /// Recomputes [`USAGE`] from the headers; returns the entries that were wrong (an absent
    /// entry reads as zero).
    pub(crate) fn rebuild_usage(&self) -> Result<Vec<UsageFix>> {
        let sums = usage_from_headers(&self.txn.open_table(HEADERS)?)?;
        let mut t = self.txn.open_table(USAGE)?;
        let mut stored = std::collections::BTreeMap::new();
        for item in t.iter()? {
            let (k, v) = item?;
            stored.insert(k.value().to_string(), v.value());
        }
        let names: std::collections::BTreeSet<&String> = stored.keys().chain(sums.keys()).collect();
        let fixes = names
            .into_iter()
            .filter_map(|name| {
                let stored = stored.get(name).copied().unwrap_or((0, 0));
                let computed = sums.get(name).copied().unwrap_or((0, 0));
                (stored != computed).then(|| UsageFix {
                    name: name.clone(),
                    stored,
                    computed,
                })
            })
            .collect();
        t.retain(|_, _| false)?;
        write_usage(&mut t, &sums)?;
        Ok(fixes)
    }

    /// Overwrites one [`USAGE`] entry, bypassing the headers: only for tests that need a
    /// drifted table for `quota -f` to repair.
    #[cfg(test)]
    pub(crate) fn corrupt_usage(&self, name: &str, v: (u64, u64)) -> Result<()> {
        self.txn.open_table(USAGE)?.insert(name, v)?;
        Ok(())
    }

    fn edit(&self, edit: Edit) {
        self.edits.borrow_mut().push(edit);
    }

    fn edit_put(&self, uniqueid: &str, uid: u32, r: &IndexRecord) {
        let row = Row {
            uid,
            flags: r.system_flags,
            modseq: r.modseq,
        };
        self.edit(Edit::Put(uniqueid.to_string(), row));
    }

    pub(crate) fn records(&self, uniqueid: &str, sel: UidSelection<'_>) -> Result<Vec<RecordRow>> {
        let records = self.txn.open_table(RECORDS)?;
        read_rows::<_, redb::Table<(&str, u32), &[u8]>, redb::Table<(&str, u32), &[u8]>>(
            &records, None, None, uniqueid, sel,
        )
    }

    /// Records with their cache and header blobs (for copies inside this owner).
    pub(crate) fn full_records(
        &self,
        uniqueid: &str,
        sel: UidSelection<'_>,
    ) -> Result<Vec<RecordRow>> {
        let records = self.txn.open_table(RECORDS)?;
        let cache = self.txn.open_table(CACHE)?;
        let headers = self.txn.open_table(HEADER_BLOCKS)?;
        read_rows(&records, Some(&cache), Some(&headers), uniqueid, sel)
    }

    pub(crate) fn put_record(&self, uniqueid: &str, uid: u32, r: &IndexRecord) -> Result<()> {
        self.txn
            .open_table(RECORDS)?
            .insert((uniqueid, uid), r.encode().as_slice())?;
        self.edit_put(uniqueid, uid, r);
        Ok(())
    }

    /// Inserts new messages: record, cache and header block.
    pub(crate) fn put_messages(&self, uniqueid: &str, rows: &[RecordRow]) -> Result<()> {
        let mut records = self.txn.open_table(RECORDS)?;
        let mut cache = self.txn.open_table(CACHE)?;
        let mut headers = self.txn.open_table(HEADER_BLOCKS)?;
        let mut tomb = self.txn.open_table(TOMBSTONES)?;
        for row in rows {
            let key = (uniqueid, row.uid);
            records.insert(key, row.record.encode().as_slice())?;
            self.edit_put(uniqueid, row.uid, &row.record);
            cache.insert(key, row.cache.as_deref().unwrap_or_default())?;
            headers.insert(key, row.header.as_deref().unwrap_or_default())?;
            // A UID re-used by reconstruct after an expunge must not stay "vanished".
            tomb.remove(key)?;
        }
        Ok(())
    }

    /// Removes messages and leaves tombstones carrying `modseq` for QRESYNC, dated `now`
    /// (Unix seconds) for tombstone retention.
    pub(crate) fn remove_messages(
        &self,
        uniqueid: &str,
        uids: &[u32],
        modseq: u64,
        now: i64,
    ) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        let mut records = self.txn.open_table(RECORDS)?;
        let mut cache = self.txn.open_table(CACHE)?;
        let mut headers = self.txn.open_table(HEADER_BLOCKS)?;
        let mut tomb = self.txn.open_table(TOMBSTONES)?;
        for &uid in uids {
            records.remove((uniqueid, uid))?;
            cache.remove((uniqueid, uid))?;
            headers.remove((uniqueid, uid))?;
            tomb.insert((uniqueid, uid), modseq)?;
        }
        self.edit(Edit::Remove(uniqueid.to_string(), uids.to_vec()));
        self.put_expunge_time(uniqueid, modseq, now)
    }

    /// Keeps the records of messages just expunged (`expunge_mode: delayed`), dated `now`.
    pub(crate) fn keep_expunged(&self, uniqueid: &str, rows: &[RecordRow], now: i64) -> Result<()> {
        let mut t = self.txn.open_table(EXPUNGED)?;
        for row in rows {
            t.insert(
                (uniqueid, row.uid),
                encode_kept(now, &row.record).as_slice(),
            )?;
        }
        Ok(())
    }

    /// Forgets kept expunged messages (restored, or purged after their files were unlinked).
    pub(crate) fn drop_kept(&self, uniqueid: &str, uids: &[u32]) -> Result<()> {
        let mut t = self.txn.open_table(EXPUNGED)?;
        for &uid in uids {
            t.remove((uniqueid, uid))?;
        }
        Ok(())
    }

    /// Dates the expunges at `modseq` (a later date replaces an earlier one: retention then
    /// errs on keeping).
    pub(crate) fn put_expunge_time(&self, uniqueid: &str, modseq: u64, when: i64) -> Result<()> {
        let mut times = self.txn.open_table(EXPUNGE_TIMES)?;
        let later = times
            .get((uniqueid, modseq))?
            .map_or(when, |v| v.value().max(when));
        times.insert((uniqueid, modseq), later)?;
        Ok(())
    }

    /// The UIDs of the mailbox's kept expunged messages (`expunge_mode: delayed`), ascending.
    pub(crate) fn kept_uids(&self, uniqueid: &str) -> Result<Vec<u32>> {
        let t = self.txn.open_table(EXPUNGED)?;
        let mut out = Vec::new();
        for item in t.range((uniqueid, 1)..=(uniqueid, u32::MAX))? {
            out.push(item?.0.value().1);
        }
        Ok(out)
    }

    pub(crate) fn tombstones(&self, uniqueid: &str) -> Result<Vec<u32>> {
        let t = self.txn.open_table(TOMBSTONES)?;
        let mut out = Vec::new();
        for item in t.range((uniqueid, 1)..=(uniqueid, u32::MAX))? {
            out.push(item?.0.value().1);
        }
        Ok(out)
    }

    /// The mailbox's tombstones and expunge dates, to be copied with it into another owner.
    pub(crate) fn expunge_history(&self, uniqueid: &str) -> Result<ExpungeHistory> {
        let mut out = ExpungeHistory::default();
        let t = self.txn.open_table(TOMBSTONES)?;
        for item in t.range((uniqueid, 1)..=(uniqueid, u32::MAX))? {
            let (k, v) = item?;
            out.tombstones.push((k.value().1, v.value()));
        }
        let t = self.txn.open_table(EXPUNGE_TIMES)?;
        for item in t.range((uniqueid, 0)..=(uniqueid, u64::MAX))? {
            let (k, v) = item?;
            out.times.push((k.value().1, v.value()));
        }
        let t = self.txn.open_table(EXPUNGED)?;
        for item in t.range((uniqueid, 1)..=(uniqueid, u32::MAX))? {
            let (k, v) = item?;
            out.kept.push((k.value().1, v.value().to_vec()));
        }
        Ok(out)
    }

    /// Writes a mailbox's expunge history as [`IndexWrite::expunge_history`] read it.
    pub(crate) fn put_expunge_history(&self, uniqueid: &str, h: &ExpungeHistory) -> Result<()> {
        let mut tomb = self.txn.open_table(TOMBSTONES)?;
        for &(uid, modseq) in &h.tombstones {
            tomb.insert((uniqueid, uid), modseq)?;
        }
        let mut times = self.txn.open_table(EXPUNGE_TIMES)?;
        for &(modseq, when) in &h.times {
            times.insert((uniqueid, modseq), when)?;
        }
        let mut kept = self.txn.open_table(EXPUNGED)?;
        for (uid, value) in &h.kept {
            kept.insert((uniqueid, *uid), value.as_slice())?;
        }
        Ok(())
    }

    /// Drops tombstones whose expunge MODSEQ is at or below `up_to`, looking at no more than
    /// `limit` tombstones from UID `from` on, so one transaction stays small however many a
    /// mailbox has.
    pub(crate) fn purge_tombstones(
        &self,
        uniqueid: &str,
        up_to: u64,
        from: u32,
        limit: usize,
    ) -> Result<PurgedBatch> {
        let mut t = self.txn.open_table(TOMBSTONES)?;
        let mut purged = Vec::new();
        let mut next = None;
        {
            let rows = t.range((uniqueid, from.max(1))..=(uniqueid, u32::MAX))?;
            for (looked, item) in rows.enumerate() {
                let (k, v) = item?;
                let uid = k.value().1;
                if looked == limit {
                    next = Some(uid);
                    break;
                }
                if v.value() <= up_to {
                    purged.push((uid, v.value()));
                }
            }
        }
        for &(uid, _) in &purged {
            t.remove((uniqueid, uid))?;
        }
        Ok(PurgedBatch { purged, next })
    }

    /// Forgets the dates of expunges at or below `up_to`, at most `limit` of them; returns how
    /// many it forgot.
    pub(crate) fn drop_expunge_times(
        &self,
        uniqueid: &str,
        up_to: u64,
        limit: usize,
    ) -> Result<usize> {
        let mut t = self.txn.open_table(EXPUNGE_TIMES)?;
        let mut keys = Vec::new();
        for item in t.range((uniqueid, 0)..=(uniqueid, up_to))?.take(limit) {
            keys.push(item?.0.value().1);
        }
        for &modseq in &keys {
            t.remove((uniqueid, modseq))?;
        }
        Ok(keys.len())
    }

    /// Removes a mailbox's header, records, blobs and tombstones.
    pub(crate) fn remove_mailbox(&self, uniqueid: &str) -> Result<()> {
        let old = self.header(uniqueid)?;
        self.charge(old.as_ref(), None)?;
        self.edit(Edit::Gone(uniqueid.to_string()));
        self.txn.open_table(HEADERS)?.remove(uniqueid)?;
        let all = (uniqueid, 1u32)..=(uniqueid, u32::MAX);
        self.txn
            .open_table(RECORDS)?
            .retain_in(all.clone(), |_, _| false)?;
        self.txn
            .open_table(CACHE)?
            .retain_in(all.clone(), |_, _| false)?;
        self.txn
            .open_table(HEADER_BLOCKS)?
            .retain_in(all.clone(), |_, _| false)?;
        self.txn
            .open_table(TOMBSTONES)?
            .retain_in(all.clone(), |_, _| false)?;
        self.txn
            .open_table(EXPUNGED)?
            .retain_in(all, |_, _| false)?;
        self.txn
            .open_table(EXPUNGE_TIMES)?
            .retain_in((uniqueid, 0)..=(uniqueid, u64::MAX), |_, _| false)?;
        Ok(())
    }

    /// Commits; the returned guard keeps the owner locked so the caller can publish the change
    /// before the next writer commits.
    pub(crate) fn commit(self) -> Result<OwnerGuard<'a>> {
        self.txn.commit()?;
        self.summaries.apply(self.edits.into_inner());
        Ok(self.guard)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::InternalDate;
    use types::Uid;

    type Row = (u32, IndexRecord, Option<Vec<u8>>, Option<Vec<u8>>);

    fn row(uid: u32) -> RecordRow {
        RecordRow {
            uid,
            record: IndexRecord {
                system_flags: (uid % 32) as u8,
                keywords: (0..(uid % 3) as u16).collect(),
                internal_date: InternalDate {
                    unix_seconds: 1_700_000_000 + i64::from(uid),
                    offset_minutes: 60,
                },
                save_date: i64::from(uid),
                size: u64::from(uid) * 100,
                modseq: u64::from(uid),
                guid: [uid as u8; 32],
            },
            cache: Some(format!("cache {uid}").into_bytes()),
            header: Some(format!("Subject: {uid}\r\nX-Foo: y{uid}\r\n\r\n").into_bytes()),
        }
    }

    /// Two mailboxes whose keys sort next to each other, UIDs with gaps (as after expunges).
    #[test]
    fn a_bounded_writer_gives_up_while_another_holds_the_owner_and_gets_it_once_freed() {
        let dir = tempfile::tempdir().unwrap();
        let db = owner(&dir);
        let held = db.write().unwrap();
        assert!(
            db.write_within(Duration::from_millis(50))
                .unwrap()
                .is_none(),
            "the owner is held: a bounded writer gives up"
        );
        std::thread::scope(|s| {
            let waiter = s.spawn(|| db.write_within(Duration::from_secs(600)).unwrap().is_some());
            std::thread::sleep(Duration::from_millis(20));
            drop(held);
            assert!(waiter.join().unwrap(), "freeing the owner wakes the waiter");
        });
        assert!(db.write_within(Duration::ZERO).unwrap().is_some());
    }

    fn owner(dir: &tempfile::TempDir) -> OwnerDb {
        let db = OwnerDb::open(
            &dir.path().join("o.redb"),
            "user.o",
            1 << 20,
            &Durable::new(FsyncPolicy::Never, Default::default()),
        )
        .unwrap();
        let w = db.write().unwrap();
        let uids: Vec<RecordRow> = (1..=300).filter(|u| u % 7 != 3).map(row).collect();
        w.put_messages("a", &uids).unwrap();
        w.put_messages("b", &(1..=50).map(row).collect::<Vec<_>>())
            .unwrap();
        drop(w.commit().unwrap());
        db
    }

    fn rows(rows: Vec<RecordRow>) -> Vec<Row> {
        rows.into_iter()
            .map(|r| (r.uid, r.record, r.cache, r.header))
            .collect()
    }

    fn uids(list: &[u32]) -> Vec<Uid> {
        list.iter().map(|&u| Uid::new(u).unwrap()).collect()
    }

    /// The rows one point lookup per UID finds, in UID order.
    fn looked_up(snap: &IndexRead, wanted: &[u32], cache: bool, header: bool) -> Vec<Row> {
        let mut wanted = wanted.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let records = snap.txn.open_table(RECORDS).unwrap();
        let c = snap.txn.open_table(CACHE).unwrap();
        let h = snap.txn.open_table(HEADER_BLOCKS).unwrap();
        rows(
            lookup_rows(
                &records,
                cache.then_some(&c),
                header.then_some(&h),
                "a",
                &wanted,
            )
            .unwrap(),
        )
    }

    #[test]
    fn scans_read_the_same_rows_as_point_lookups() {
        let dir = tempfile::tempdir().unwrap();
        let db = owner(&dir);
        let snap = db.read().unwrap();
        let dense: Vec<u32> = (20..=120).rev().chain([20, 33, 299, 301]).collect();
        let cases: Vec<(UidSelection<'_>, Vec<u32>)> = vec![
            (UidSelection::All, (1..=400).collect()),
            (
                UidSelection::Range(Uid::new(17).unwrap(), Uid::new(45).unwrap()),
                (17..=45).collect(),
            ),
            (
                UidSelection::Range(Uid::new(45).unwrap(), Uid::new(17).unwrap()),
                (17..=45).collect(),
            ),
        ];
        for (sel, expected) in cases {
            for (cache, header) in [(false, false), (true, false), (false, true), (true, true)] {
                let got = rows(snap.records("a", sel, cache, header).unwrap());
                assert_eq!(got, looked_up(&snap, &expected, cache, header), "{sel:?}");
            }
        }
        let lists: [&[u32]; 4] = [&dense, &[1, 300], &[3, 10, 17], &[]];
        for list in lists {
            let list_uids = uids(list);
            for (cache, header) in [(false, false), (true, true), (false, true)] {
                let got = rows(
                    snap.records("a", UidSelection::Uids(&list_uids), cache, header)
                        .unwrap(),
                );
                assert_eq!(got, looked_up(&snap, list, cache, header), "{list:?}");
            }
        }
    }

    #[test]
    fn a_header_written_before_deletedmodseq_reads_as_nothing_purged() {
        let old = br#"{"name":"user.o","uniqueid":"u1","partition":"default","uidvalidity":7,
            "uidnext":5,"highestmodseq":9,"exists":2,"size":10,"deleted":0,"seen":0,"acl":"",
            "mailbox_type":"Normal","keywords":[],"recentuid":4}"#;
        let h = decode_header(old).unwrap();
        assert_eq!((h.deletedmodseq, h.highestmodseq), (0, 9));
    }

    #[test]
    fn a_dense_uid_list_is_read_by_one_scan_and_a_sparse_one_by_lookups() {
        assert!(!sparse(&(1..=100).step_by(3).collect::<Vec<_>>()));
        assert!(sparse(&[1, 1000]));
        assert!(sparse(&[7]), "one UID is one lookup");
        assert!(!sparse(&[7, 8]));
    }

    #[test]
    fn a_cursor_skips_rows_and_keeps_the_one_it_overshot() {
        let dir = tempfile::tempdir().unwrap();
        let db = owner(&dir);
        let snap = db.read().unwrap();
        let t = snap.txn.open_table(CACHE).unwrap();
        let mut c = Cursor::open(&t, "a", 1, u32::MAX).unwrap();
        let mut seek = |uid| c.seek(uid).unwrap().map(|v| v.value().to_vec());
        assert_eq!(seek(2), Some(b"cache 2".to_vec()));
        assert_eq!(seek(3), None);
        assert_eq!(seek(4), Some(b"cache 4".to_vec()));
        assert_eq!(seek(300), Some(b"cache 300".to_vec()));
        assert_eq!(seek(301), None, "rows of the next mailbox are out of range");
    }
}
