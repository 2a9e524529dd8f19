//! Feeding one foreign mailbox into the store: create it with the UIDVALIDITY it had, place
//! its messages in batches under the UIDs they had (a message without one, or whose UID does
//! not ascend, gets the next free UID), then raise UIDNEXT to the old store's.
//!
//! Memory stays bounded: a batch holds at most [`BATCH_MESSAGES`] messages and
//! [`BATCH_BYTES`] octets of in-memory message bytes (larger messages are passed as files).

use std::collections::HashSet;

use mailstore::{
    AppendSource, CreateOptions, ImportedMailbox, ImportedMessage, InternalDate, Store, StoreError,
};
use types::{Flag, MailboxName, Uid, UidValidity};

use crate::maildir::error::{MigrateError, Result};

/// Messages a batch (one index commit) holds at most.
pub const BATCH_MESSAGES: usize = 2000;
/// In-memory message octets a batch holds at most.
pub const BATCH_BYTES: u64 = 64 * 1024 * 1024;

/// What an import reports as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// A mailbox is started; `messages` is its message count when known beforehand.
    Mailbox {
        name: &'a MailboxName,
        messages: Option<u64>,
    },
    /// Messages were stored.
    Stored { messages: u64, bytes: u64 },
    /// Something was left out or changed (a mailbox skipped, a keyword dropped).
    Warning(String),
}

/// Where an import's events go.
pub type Progress<'a> = dyn FnMut(Event<'_>) + 'a;

/// What an import or export did, in total.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub mailboxes: u64,
    pub messages: u64,
    pub bytes: u64,
    /// Mailboxes left out, with the reason.
    pub skipped: Vec<(String, String)>,
    pub warnings: u64,
}

/// One message read from a foreign store.
pub struct Incoming {
    pub source: AppendSource,
    /// The UID it had, when it had one.
    pub uid: Option<u32>,
    pub flags: Vec<Flag>,
    pub internal_date: InternalDate,
    /// The source is a spool file of ours, removed once its batch is stored.
    pub spooled: bool,
}

/// One mailbox being imported.
pub struct Feed<'s, 'p, 'q> {
    store: &'s Store,
    name: MailboxName,
    batch: Vec<ImportedMessage>,
    batch_bytes: u64,
    last_uid: u32,
    next_uid: u32,
    keywords: HashSet<String>,
    /// Spool files of the queued batch.
    spooled: Vec<std::path::PathBuf>,
    progress: &'p mut Progress<'q>,
    pub summary: Summary,
}

impl<'s, 'p, 'q> Feed<'s, 'p, 'q> {
    /// Creates `name` with `uidvalidity`; `first_uid` is the lowest UID that will be imported
    /// (the mailbox's UIDNEXT until messages arrive) and `next_uid` the old store's UIDNEXT.
    /// A mailbox that exists already is refused ([`MigrateError::Exists`]).
    pub fn begin(
        store: &'s Store,
        name: MailboxName,
        uidvalidity: u32,
        first_uid: u32,
        next_uid: u32,
        progress: &'p mut Progress<'q>,
    ) -> Result<Feed<'s, 'p, 'q>> {
        let uidvalidity = UidValidity::new(uidvalidity)
            .ok_or_else(|| MigrateError::Refused(format!("{name}: UIDVALIDITY 0")))?;
        let first = first_uid.max(1);
        let mailbox = ImportedMailbox {
            uidvalidity,
            uidnext: first,
            highestmodseq: 1,
            options: CreateOptions::default(),
        };
        match store.create_imported_mailbox(&name, mailbox) {
            Ok(_) => {}
            Err(StoreError::AlreadyExists(_)) => return Err(MigrateError::Exists(name.into())),
            Err(e) => return Err(e.into()),
        }
        Ok(Feed {
            store,
            name,
            batch: Vec::new(),
            batch_bytes: 0,
            last_uid: first - 1,
            next_uid,
            keywords: HashSet::new(),
            spooled: Vec::new(),
            progress,
            summary: Summary {
                mailboxes: 1,
                ..Summary::default()
            },
        })
    }

    pub fn name(&self) -> &MailboxName {
        &self.name
    }

    /// Reports a warning about this mailbox.
    pub fn warn(&mut self, what: String) {
        self.summary.warnings += 1;
        (self.progress)(Event::Warning(format!("{}: {what}", self.name)));
    }

    /// Queues one message (storing the batch when it is full).
    pub fn push(&mut self, mut message: Incoming) -> Result<()> {
        let uid = match message.uid {
            Some(u) if u > self.last_uid => u,
            _ => self
                .last_uid
                .checked_add(1)
                .ok_or_else(|| MigrateError::Refused(format!("{}: no UIDs left", self.name)))?,
        };
        self.last_uid = uid;
        self.keep_keywords(&mut message.flags);
        match &message.source {
            AppendSource::Bytes(b) => self.batch_bytes += b.len() as u64,
            AppendSource::File(p) if message.spooled => self.spooled.push(p.clone()),
            AppendSource::File(_) => {}
        }
        let uid = Uid::new(uid).ok_or_else(|| MigrateError::Refused("UID 0".into()))?;
        self.batch.push(ImportedMessage {
            source: message.source,
            uid,
            flags: message.flags,
            internal_date: message.internal_date,
            modseq: None,
            save_date: None,
        });
        if self.batch.len() >= BATCH_MESSAGES || self.batch_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Drops keywords past the store's limit of distinct keywords a mailbox ([`mailstore::MAX_KEYWORDS`]).
    fn keep_keywords(&mut self, flags: &mut Vec<Flag>) {
        let mut dropped = Vec::new();
        flags.retain(|f| match f {
            Flag::Keyword(k) => {
                if self.keywords.contains(k) {
                    return true;
                }
                if self.keywords.len() < mailstore::MAX_KEYWORDS {
                    self.keywords.insert(k.clone());
                    return true;
                }
                dropped.push(k.clone());
                false
            }
            _ => true,
        });
        for k in dropped {
            self.warn(format!(
                "keyword {k} dropped: the mailbox has {} keywords already",
                mailstore::MAX_KEYWORDS
            ));
        }
    }

    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let messages = batch.len() as u64;
        self.batch_bytes = 0;
        let outcome = self.store.import_messages(&self.name, batch);
        self.remove_spooled();
        let outcome = outcome?;
        self.summary.messages += messages;
        self.summary.bytes += outcome.bytes;
        (self.progress)(Event::Stored {
            messages,
            bytes: outcome.bytes,
        });
        Ok(())
    }

    /// Stores what is queued and raises UIDNEXT to the old store's.
    pub fn finish(mut self) -> Result<Summary> {
        self.flush()?;
        self.store.raise_uidnext(&self.name, self.next_uid)?;
        Ok(std::mem::take(&mut self.summary))
    }
}

impl Feed<'_, '_, '_> {
    fn remove_spooled(&mut self) {
        for p in self.spooled.drain(..) {
            // A spool file left behind is removed with its directory at the end.
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for Feed<'_, '_, '_> {
    fn drop(&mut self) {
        self.remove_spooled();
    }
}

impl Summary {
    /// Adds another mailbox's numbers.
    pub fn add(&mut self, other: Summary) {
        self.mailboxes += other.mailboxes;
        self.messages += other.messages;
        self.bytes += other.bytes;
        self.warnings += other.warnings;
        self.skipped.extend(other.skipped);
    }
}

/// UIDs an export reads from the store at once, so memory stays bounded whatever the mailbox.
const EXPORT_CHUNK: u32 = 2000;

/// Calls `each` with every message record of `name` below `uidnext`, ascending, read
/// [`EXPORT_CHUNK`] UIDs at a time; counts them into `summary` and reports each chunk as
/// stored. `each` gets the summary and progress too (for its warnings).
pub(crate) fn each_record(
    store: &Store,
    name: &MailboxName,
    uidnext: u32,
    summary: &mut Summary,
    progress: &mut Progress<'_>,
    mut each: impl FnMut(&mailstore::MessageRecord, &mut Summary, &mut Progress<'_>) -> Result<()>,
) -> Result<()> {
    let mut low = 1u32;
    while low < uidnext {
        let high = low.saturating_add(EXPORT_CHUNK - 1).min(uidnext - 1);
        let (Some(lo), Some(hi)) = (Uid::new(low), Uid::new(high)) else {
            break;
        };
        let records = store.records(
            name,
            mailstore::SeenSource::Index,
            mailstore::UidSelection::Range(lo, hi),
            mailstore::RecordFields::BASIC,
        )?;
        let (mut count, mut bytes) = (0u64, 0u64);
        for r in &records {
            each(r, summary, progress)?;
            count += 1;
            bytes += r.size;
        }
        summary.messages += count;
        summary.bytes += bytes;
        progress(Event::Stored {
            messages: count,
            bytes,
        });
        low = match high.checked_add(1) {
            Some(l) => l,
            None => break,
        };
    }
    Ok(())
}
