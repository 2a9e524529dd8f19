//! The import: a Cyrus configuration's mailboxes, messages, seen state, subscriptions, quota
//! roots and Sieve scripts into a [`Store`] that has none of those mailboxes yet.
//!
//! Order: read the mailboxes database and refuse before writing anything when a mailbox
//! exists already or the setup is one we do not read (virtual domains); then the mailboxes,
//! two hierarchies at a time and parents first within each (each created with its UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and ACL, then its
//! messages in batches of [`BATCH`] under their UIDs, flags, internal dates and MODSEQs); then
//! every user's seen state in mailboxes they do not own, subscriptions, quota roots and Sieve
//! scripts. One mailbox that cannot be read is reported and skipped (or, when only its
//! `cyrus.index` is unreadable, its message files come in as new messages); the import goes on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use mailstore::{
    AppendSource, CreateOptions, ImportOutcome, ImportedMailbox, ImportedMessage, InternalDate,
    SeenSource, Store, StoreError,
};
use types::{MailboxName, Uid, UidValidity};

use super::conf::{self, CyrusConfig};
use super::mboxlist::{self, Kind, MailboxRecord, Skipped};
use super::userstate::{import_quotas, per_user, special_use, users};
use super::{db, header, index, sieve, CyrusError};

/// Messages per [`Store::import_messages`] call (one index commit each).
pub const BATCH: usize = 2000;

/// Hierarchies imported at once. Two: a small mailbox's import mostly waits for its flushes,
/// which then overlap the reading and hashing of a big one instead of adding to it.
const LANES: usize = 2;

/// What a lane reports to the thread that reports progress.
enum Lane {
    /// Mailbox `plan[i]` is started.
    Started(usize),
    Progress(Event),
    /// Mailbox `plan[i]` is done.
    Done(
        usize,
        Result<(Vec<u32>, ImportOutcome, Option<String>), CyrusError>,
    ),
}

/// The plan's mailboxes grouped by hierarchy (a user's, or a shared top-level name), each
/// group in the plan's order (parents first), the groups with the most to read first (by the
/// size of their `cyrus.index` files): hierarchies are imported side by side, the mailboxes
/// of one in order, and the longest is not left to run alone at the end.
fn owner_groups(cyrus: &CyrusConfig, plan: &[(MailboxName, &MailboxRecord)]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut of_key: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (name, _)) in plan.iter().enumerate() {
        let key = match name.owner_user() {
            Some(user) => format!("user {user}"),
            None => name.as_str().split('.').next().unwrap_or("").to_string(),
        };
        match of_key.get(&key) {
            Some(&g) => groups[g].push(i),
            None => {
                of_key.insert(key, groups.len());
                groups.push(vec![i]);
            }
        }
    }
    let index_size = |i: usize| {
        locate(cyrus, plan[i].1)
            .and_then(|(meta, _)| std::fs::metadata(meta.join("cyrus.index")).ok())
            .map_or(0, |m| m.len())
    };
    let mut weighed: Vec<(u64, Vec<usize>)> = groups
        .into_iter()
        .map(|g| (g.iter().map(|&i| index_size(i)).sum(), g))
        .collect();
    // Stable: equal weights keep the plan's order.
    weighed.sort_by_key(|g| std::cmp::Reverse(g.0));
    weighed.into_iter().map(|(_, g)| g).collect()
}

/// Whether the import writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ImportMode {
    /// Create the mailboxes and write everything.
    #[default]
    Write,
    /// Read and check everything, write nothing, report what would be imported.
    DryRun,
}

/// How to import.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Write, or only read and report.
    pub mode: ImportMode,
    /// The mailboxes database to read instead of the configured one: a copy, or a
    /// `ctl_mboxlist -d` dump (Cyrus 3.x's JSON object, or 2.4's `NAME<TAB>mbtype partition
    /// acl` lines, which are the flat format).
    pub mailboxes_db: Option<PathBuf>,
}

/// What the import tells its caller as it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Mailbox `index` (from 0) of `total` is being imported.
    Mailbox {
        index: usize,
        total: usize,
        name: String,
    },
    /// Something skipped or imported in a degraded way, in one line.
    Note(String),
}

/// What the import did (or, dry, would do).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Mailboxes created.
    pub mailboxes: u64,
    /// Messages placed under their old UIDs.
    pub messages: u64,
    /// Message files hard-linked from the Cyrus partition.
    pub linked: u64,
    /// Message files copied (another file system, or not in our form).
    pub copied: u64,
    /// Octets of the messages stored.
    pub bytes: u64,
    /// (user, mailbox) seen sets of non-owners.
    pub seen_sets: u64,
    /// Subscriptions of all users.
    pub subscriptions: u64,
    /// Quota roots defined.
    pub quota_roots: u64,
    /// Sieve scripts stored.
    pub sieve_scripts: u64,
    /// Mailboxes skipped, and messages whose files were missing.
    pub problems: u64,
    pub seconds: f64,
}

/// A mailbox as imported: what later steps need.
pub(super) struct Imported {
    /// Its name here.
    pub(super) name: MailboxName,
    /// The user whose hierarchy it is in, if any.
    pub(super) owner: Option<String>,
    /// The UIDs imported, ascending.
    pub(super) uids: Vec<u32>,
}

/// Imports the Cyrus store configured by the `imapd.conf` at `config_path` into `store`.
pub fn import(
    config_path: &Path,
    store: &Store,
    options: &ImportOptions,
    progress: &mut dyn FnMut(Event),
) -> Result<Summary, CyrusError> {
    let started = Instant::now();
    let mut cyrus = conf::read_file(config_path)?;
    if let Some(path) = &options.mailboxes_db {
        cyrus.mailboxes_db = path.clone();
    }
    let (entries, skipped) = read_mailboxes(&cyrus.mailboxes_db)?;
    refuse_domains(&cyrus, &skipped)?;
    for s in &skipped {
        if let Skipped::Unreadable(name, why) = s {
            progress(Event::Note(format!(
                "{name}: unreadable mailboxes database entry: {why}"
            )));
        }
    }
    let plan = plan(&cyrus, &entries, store, progress)?;
    let special_use = special_use(&cyrus, progress);
    let mut summary = Summary::default();
    let mut done: BTreeMap<String, Imported> = BTreeMap::new();
    let total = plan.len();
    let lanes = owner_groups(&cyrus, &plan);
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<Lane>();
    std::thread::scope(|scope| {
        for _ in 0..LANES.min(lanes.len()) {
            let tx = tx.clone();
            let (next, lanes, plan) = (&next, &lanes, &plan);
            let (cyrus, special_use) = (&cyrus, &special_use);
            scope.spawn(move || {
                while let Some(group) = lanes.get(next.fetch_add(1, Ordering::Relaxed)) {
                    for &i in group {
                        let (name, entry) = &plan[i];
                        let _ = tx.send(Lane::Started(i));
                        let uses = entry
                            .uniqueid
                            .as_ref()
                            .and_then(|id| special_use.get(id))
                            .cloned()
                            .unwrap_or_default();
                        let mut note = |e: Event| {
                            let _ = tx.send(Lane::Progress(e));
                        };
                        let r = import_mailbox(
                            cyrus,
                            store,
                            options.mode,
                            (name, uses),
                            entry,
                            &mut note,
                        );
                        let _ = tx.send(Lane::Done(i, r));
                    }
                }
            });
        }
        drop(tx);
        let mut started = 0;
        for message in rx {
            match message {
                Lane::Started(i) => {
                    progress(Event::Mailbox {
                        index: started,
                        total,
                        name: plan[i].1.name.clone(),
                    });
                    started += 1;
                }
                Lane::Progress(e) => progress(e),
                Lane::Done(i, Ok((uids, outcome, header_id))) => {
                    let (name, entry) = &plan[i];
                    summary.mailboxes += 1;
                    summary.messages += uids.len() as u64;
                    summary.linked += outcome.linked;
                    summary.copied += outcome.copied;
                    summary.bytes += outcome.bytes;
                    // 2.4's mailboxes database has no uniqueid; its cyrus.header does.
                    if let Some(id) = entry.uniqueid.clone().or(header_id) {
                        done.insert(
                            id,
                            Imported {
                                owner: name.owner_user().map(str::to_string),
                                name: name.clone(),
                                uids,
                            },
                        );
                    }
                }
                Lane::Done(i, Err(e)) => {
                    summary.problems += 1;
                    progress(Event::Note(format!("{}: skipped: {e}", plan[i].1.name)));
                }
            }
        }
    });
    let users = users(&cyrus, &entries);
    for (user, inbox_id) in &users {
        let r = per_user(
            &cyrus,
            store,
            options.mode,
            user,
            inbox_id.as_deref(),
            &done,
            &mut summary,
        );
        if let Err(e) = r {
            summary.problems += 1;
            progress(Event::Note(format!(
                "user {user}: seen state or subscriptions: {e}"
            )));
        }
        let scripts = sieve::import_user(
            &cyrus,
            store,
            options.mode,
            user,
            inbox_id.as_deref(),
            &entries,
        );
        match scripts {
            Ok(n) => summary.sieve_scripts += n,
            Err(e) => {
                summary.problems += 1;
                progress(Event::Note(format!("user {user}: Sieve scripts: {e}")));
            }
        }
    }
    summary.quota_roots = import_quotas(&cyrus, store, options.mode, progress)?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The mailboxes database's entries: a database file, or a 3.x `ctl_mboxlist -d` JSON dump.
fn read_mailboxes(path: &Path) -> Result<(Vec<MailboxRecord>, Vec<Skipped>), CyrusError> {
    let bytes = super::read_bounded(path, super::twoskip::MAX_FILE)?;
    if bytes.trim_ascii_start().starts_with(b"{") {
        return mboxlist::from_json_dump(&bytes).map_err(|what| CyrusError::format(path, 0, what));
    }
    let records = db::parse(path, &bytes)?;
    drop(bytes);
    Ok(mboxlist::entries(&records))
}

fn refuse_domains(cyrus: &CyrusConfig, skipped: &[Skipped]) -> Result<(), CyrusError> {
    let domain = skipped.iter().find_map(|s| match s {
        Skipped::Domain(d) => Some(d.clone()),
        Skipped::Unreadable(..) => None,
    });
    if let Some(d) = domain {
        return Err(CyrusError::Refused(format!(
            "the Cyrus store has mailboxes in the virtual domain {d:?}; importing virtual \
             domains is not supported yet"
        )));
    }
    if cyrus.virtdomains {
        return Err(CyrusError::Refused(
            "virtdomains is on in the Cyrus configuration; importing virtual domains is not \
             supported yet"
                .into(),
        ));
    }
    Ok(())
}

/// The mail mailboxes to import, in name order, each with its Darius name; refuses when any
/// exists already.
fn plan<'a>(
    cyrus: &CyrusConfig,
    entries: &'a [MailboxRecord],
    store: &Store,
    progress: &mut dyn FnMut(Event),
) -> Result<Vec<(MailboxName, &'a MailboxRecord)>, CyrusError> {
    let deleted = format!("{}.", cyrus.deletedprefix);
    let mut out = Vec::new();
    let mut existing = Vec::new();
    for e in entries {
        match &e.kind {
            Kind::Mail => {}
            Kind::Sieve => continue,
            Kind::Other(t) => {
                progress(Event::Note(format!(
                    "{}: type {t:?} is not imported",
                    e.name
                )));
                continue;
            }
        }
        if e.name.starts_with(&deleted) {
            progress(Event::Note(format!(
                "{}: a deleted mailbox, not imported",
                e.name
            )));
            continue;
        }
        let name = match MailboxName::try_from(e.name.as_str()) {
            Ok(n) => n,
            Err(why) => {
                progress(Event::Note(format!(
                    "{}: not a valid name here ({why}), skipped",
                    e.name
                )));
                continue;
            }
        };
        match store.mailbox_entry(&name) {
            // One that never held a message (the INBOX `user add` makes) takes the import.
            Ok(_) if never_used(store, &name)? => {}
            Ok(_) => existing.push(e.name.clone()),
            Err(StoreError::NoSuchMailbox(_)) => {}
            Err(other) => return Err(other.into()),
        }
        out.push((name, e));
    }
    if !existing.is_empty() {
        let shown: Vec<&str> = existing.iter().take(5).map(String::as_str).collect();
        return Err(CyrusError::Refused(format!(
            "{} of the Cyrus mailboxes exist in this store already ({}{}); import into a store \
             without them",
            existing.len(),
            shown.join(", "),
            if existing.len() > 5 { ", …" } else { "" }
        )));
    }
    out.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    Ok(out)
}

/// Whether an existing mailbox never held a message (UIDNEXT 1), so that an import may take
/// it over ([`Store::create_imported_mailbox`] does, keeping its ACL, which the import then
/// replaces with Cyrus's).
fn never_used(store: &Store, name: &MailboxName) -> Result<bool, CyrusError> {
    let status = store.status(name, SeenSource::Index)?;
    Ok(status.uidnext.get() == 1 && status.exists == 0)
}

/// The directory holding the mailbox's `cyrus.header`/`cyrus.index`, and its messages'.
fn locate(cyrus: &CyrusConfig, e: &MailboxRecord) -> Option<(PathBuf, PathBuf)> {
    let id = if e.legacy_dirs {
        None
    } else {
        e.uniqueid.as_deref()
    };
    cyrus
        .mailbox_dirs(&e.partition, &e.name, id)
        .into_iter()
        .map(|data| (cyrus.meta_dir(&e.partition, &data), data))
        .find(|(meta, data)| {
            meta.join("cyrus.header").exists() || data.join("cyrus.index").exists()
        })
}

/// One mailbox: answers the UIDs imported, how their files came in, and the uniqueid its
/// `cyrus.header` gives.
fn import_mailbox(
    cyrus: &CyrusConfig,
    store: &Store,
    mode: ImportMode,
    (name, special_use): (&MailboxName, Vec<String>),
    e: &MailboxRecord,
    progress: &mut dyn FnMut(Event),
) -> Result<(Vec<u32>, ImportOutcome, Option<String>), CyrusError> {
    let Some((meta, data)) = locate(cyrus, e) else {
        return Err(CyrusError::Refused(format!(
            "no mailbox directory found on partition {:?}",
            e.partition
        )));
    };
    let head = match header::read_file(&meta.join("cyrus.header")) {
        Ok(h) => h,
        Err(err) => {
            progress(Event::Note(format!("{}: {err}; keywords are lost", e.name)));
            header::Header::default()
        }
    };
    let acl = acl_of(e, &head);
    let (mailbox, pending) = match index::read_file(&meta.join("cyrus.index")) {
        Ok(ix) => from_index(e, &data, ix, progress)?,
        Err(err) => {
            progress(Event::Note(format!(
                "{}: {err}; importing its message files as new messages without flags",
                e.name
            )));
            from_files(e, &data)?
        }
    };
    let uids = pending.uids();
    if mode == ImportMode::DryRun {
        return Ok((uids, ImportOutcome::default(), head.uniqueid));
    }
    let options = CreateOptions {
        partition: Some(e.partition.clone()),
        acl,
        special_use: special_use.clone(),
        ..CreateOptions::default()
    };
    // Messages must arrive at or above UIDNEXT: create the mailbox with the first UID to
    // import, then raise UIDNEXT to the old store's once they are in.
    let uidnext = mailbox.uidnext;
    let mailbox = ImportedMailbox {
        uidnext: uids.first().copied().unwrap_or(uidnext).min(uidnext),
        ..mailbox
    };
    let imported = ImportedMailbox {
        options,
        ..mailbox.clone()
    };
    let taken_over = store.mailbox_entry(name).is_ok();
    match store.create_imported_mailbox(name, imported) {
        Err(StoreError::NoSuchPartition(_)) => {
            let mut fallback = mailbox;
            fallback.options.partition = None;
            fallback.options.acl = acl_of(e, &head);
            store.create_imported_mailbox(name, fallback)?;
        }
        other => {
            other?;
        }
    }
    if taken_over {
        let entry = store.set_acl(name, &acl_of(e, &head))?;
        if !special_use.is_empty() && entry.special_use.is_empty() {
            store.set_special_use(name, special_use)?;
        }
    }
    let batches = (0..uids.len())
        .step_by(BATCH)
        .map(|first| pending.batch(first..uids.len().min(first + BATCH), &data, &head));
    let outcome = store.import_batches(name, batches)?;
    store.raise_uidnext(name, uidnext)?;
    Ok((uids, outcome, head.uniqueid))
}

/// The mailbox's ACL: the mailboxes database's (Cyrus's own reference), else `cyrus.header`'s.
fn acl_of(e: &MailboxRecord, head: &header::Header) -> String {
    if e.acl.is_empty() {
        head.acl.clone()
    } else {
        e.acl.clone()
    }
}

/// A mailbox's messages still to import, made into [`ImportedMessage`]s a batch at a time so
/// that a large mailbox never holds them all at once.
enum Pending {
    /// Live `cyrus.index` records whose files exist, in UID order.
    Records(Vec<index::IndexRecord>),
    /// UIDs of message files found without a readable index, ascending.
    Files(Vec<u32>),
}

impl Pending {
    fn uids(&self) -> Vec<u32> {
        match self {
            Pending::Records(records) => records.iter().map(|r| r.uid).collect(),
            Pending::Files(uids) => uids.clone(),
        }
    }

    /// Messages `range` (by position) as the store's import wants them.
    fn batch(
        &self,
        range: std::ops::Range<usize>,
        data: &Path,
        head: &header::Header,
    ) -> Vec<ImportedMessage> {
        let path = |uid: u32| data.join(format!("{uid}."));
        match self {
            Pending::Records(records) => records
                .get(range)
                .unwrap_or_default()
                .iter()
                .filter_map(|r| {
                    Some(ImportedMessage {
                        source: AppendSource::File(path(r.uid)),
                        uid: Uid::new(r.uid)?,
                        flags: r.flags(head),
                        internal_date: InternalDate {
                            unix_seconds: i64::from(r.internaldate),
                            offset_minutes: 0,
                        },
                        modseq: (r.modseq > 0).then_some(r.modseq),
                        save_date: (r.savedate > 0).then_some(i64::from(r.savedate)),
                    })
                })
                .collect(),
            Pending::Files(uids) => uids
                .get(range)
                .unwrap_or_default()
                .iter()
                .filter_map(|&uid| {
                    let file = path(uid);
                    let mtime = std::fs::metadata(&file)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_secs());
                    Some(ImportedMessage {
                        source: AppendSource::File(file),
                        uid: Uid::new(uid)?,
                        flags: Vec::new(),
                        internal_date: InternalDate {
                            unix_seconds: i64::try_from(mtime).unwrap_or(0),
                            offset_minutes: 0,
                        },
                        modseq: None,
                        save_date: None,
                    })
                })
                .collect(),
        }
    }
}

/// The mailbox as `cyrus.index` records it, and its live messages whose files exist (missing
/// files are reported).
fn from_index(
    e: &MailboxRecord,
    data: &Path,
    ix: index::Index,
    progress: &mut dyn FnMut(Event),
) -> Result<(ImportedMailbox, Pending), CyrusError> {
    let uidvalidity = validity(&[Some(ix.header.uidvalidity), e.uidvalidity])?;
    let mailbox = ImportedMailbox {
        uidvalidity,
        uidnext: ix.header.last_uid.saturating_add(1),
        highestmodseq: ix.header.highestmodseq,
        options: CreateOptions::default(),
    };
    let mut records = ix.records;
    let before = records.len();
    records.retain(|r| !r.is_expunged());
    let live = records.len();
    let files = message_file_uids(data)?;
    records.retain(|r| r.uid > 0 && files.binary_search(&r.uid).is_ok());
    let missing = live - records.len();
    if missing > 0 {
        progress(Event::Note(format!(
            "{}: {missing} of {before} message files listed in cyrus.index are missing \
             (archive partition or lost); those messages are not imported",
            e.name
        )));
    }
    Ok((mailbox, Pending::Records(records)))
}

/// The UIDs of the `UID.` message files in `data`, ascending: one read of the directory
/// rather than a look-up per message.
fn message_file_uids(data: &Path) -> Result<Vec<u32>, CyrusError> {
    let mut found: Vec<u32> = Vec::new();
    let dir = std::fs::read_dir(data).map_err(|err| CyrusError::io(data, err))?;
    for item in dir {
        let item = item.map_err(|err| CyrusError::io(data, err))?;
        let file = item.file_name();
        let uid = file
            .to_str()
            .and_then(|f| f.strip_suffix('.'))
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|&n| n > 0);
        if let Some(uid) = uid {
            found.push(uid);
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// When the index is unreadable: every `UID.` file in UID order, no flags, the file's time.
fn from_files(e: &MailboxRecord, data: &Path) -> Result<(ImportedMailbox, Pending), CyrusError> {
    let found = message_file_uids(data)?;
    let last = found.last().copied().unwrap_or(0);
    let mailbox = ImportedMailbox {
        uidvalidity: validity(&[e.uidvalidity])?,
        uidnext: last.saturating_add(1),
        highestmodseq: 1,
        options: CreateOptions::default(),
    };
    Ok((mailbox, Pending::Files(found)))
}

fn nonzero_validity(v: u32) -> Option<UidValidity> {
    UidValidity::new(v)
}

/// The first of the given UIDVALIDITYs that is valid, else one from the clock (as Cyrus
/// does for a new mailbox).
fn validity(candidates: &[Option<u32>]) -> Result<UidValidity, CyrusError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    let now = u32::try_from(now).unwrap_or(u32::MAX);
    candidates
        .iter()
        .flatten()
        .chain(std::iter::once(&now))
        .find_map(|&v| nonzero_validity(v))
        .ok_or_else(|| CyrusError::Refused("no valid UIDVALIDITY".into()))
}
