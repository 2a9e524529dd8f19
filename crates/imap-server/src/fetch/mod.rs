//! FETCH and UID FETCH (RFC 9051 §6.4.5, RFC 3516 BINARY). The requested items are merged and
//! bounded first ([`plan`]); records come from the index in batches, ENVELOPE and
//! BODYSTRUCTURE from the cache, header sections from the cached header block. Message data
//! never sits whole in memory: small messages are read with their batch (within a byte budget),
//! larger ones stay in their file and each section is read as its range a chunk at a time
//! ([`emit`]), with the output written to the socket whenever it passes
//! [`crate::output::Output::FLUSH_AT`]. A non-PEEK body fetch sets `\Seen` first and reports
//! the new FLAGS.

mod binary;
mod emit;
mod fields;
mod plan;
mod section;
mod source;

use imap_proto::command::Fetch;
use mailservice::{
    Authorized, FlagChange, MailService, MessageRecord, RecordFields, ServiceError, StoreError,
    UidSelection,
};
use message::{CacheError, MessageCache};
use types::{Flag, Uid};

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};
use plan::Plan;
use source::CHUNK;

/// Messages per trip to the blocking pool.
const BATCH: usize = 256;

/// Message octets one batch may read ahead into memory; messages past it, and any larger than
/// [`CHUNK`], are read from their file while their response is written.
const BATCH_PREFETCH: u64 = 16 * CHUNK;

pub(crate) async fn run(session: &mut Session, fetch: Fetch) -> Reply {
    let Some(view) = session.state.view() else {
        return Reply::bad("No mailbox selected");
    };
    let targets = match view.resolve(&fetch.set, fetch.addressing) {
        Ok(t) => t,
        Err(_) => return Reply::bad("Invalid message sequence number"),
    };
    let plan = match Plan::new(fetch.items, fetch.addressing, view.read_only) {
        Ok(plan) => plan,
        Err(text) => return Reply::bad(&text),
    };
    for batch in targets.chunks(BATCH) {
        let loaded = match load_batch(session, batch, &plan).await {
            Ok(loaded) => loaded,
            Err(reply) => return reply,
        };
        if plan.wants_flags() {
            // RFC 9051 §7.3.5: a keyword new to the client is announced before its first FETCH.
            session
                .announce_keywords(loaded.iter().map(|l| l.record.flags.as_slice()))
                .await;
        }
        for item in loaded {
            // `targets` is in sequence order, and so in UID order.
            let Ok(at) = batch.binary_search_by_key(&item.record.uid, |&(_, u)| u) else {
                continue;
            };
            if let Err(reply) = emit::message(session, batch[at].0, item, &plan).await {
                return reply;
            }
        }
    }
    Reply::ok("Fetch completed")
}

/// A record, its decoded cache, and where its message octets will come from.
pub(crate) struct Loaded {
    pub record: MessageRecord,
    pub cache: Result<Option<MessageCache>, CacheError>,
    pub octets: Octets,
}

pub(crate) enum Octets {
    /// No item reads the message file.
    NotNeeded,
    /// Read with the batch (a small message).
    Read(Vec<u8>),
    /// To be opened when its response is written.
    InFile,
}

impl Loaded {
    fn new(mut record: MessageRecord) -> Loaded {
        let cache = match record.cache.take() {
            Some(raw) => MessageCache::from_bytes(&raw).map(Some),
            None => Ok(None),
        };
        Loaded {
            record,
            cache,
            octets: Octets::NotNeeded,
        }
    }

    /// Octets of the top-level header (the record's size when the cache is missing).
    fn header_len(&self) -> u64 {
        match &self.cache {
            Ok(Some(c)) => u64::from(c.header_len()),
            Ok(None) | Err(_) => self.record.size,
        }
    }
}

/// Sets `\Seen` where asked, then loads the batch's records, header blocks and small messages.
async fn load_batch(
    session: &mut Session,
    batch: &[(u32, Uid)],
    plan: &Plan,
) -> Result<Vec<Loaded>, Reply> {
    let Some(view) = session.state.view() else {
        return Err(Reply::bad("No mailbox selected"));
    };
    let mailbox = view.mailbox.clone();
    let uids: Vec<Uid> = batch.iter().map(|(_, u)| *u).collect();
    let needs = plan.needs;
    let (seen_updates, loaded) = session
        .blocking(move |s| {
            let seen_updates = if needs.sets_seen {
                s.store_flags(&mailbox, &uids, FlagChange::Add(vec![Flag::Seen]), None)?
                    .updated
            } else {
                Vec::new()
            };
            // The header block's length is in the cache.
            let fields = RecordFields {
                cache: needs.cache || needs.header,
                header: false,
            };
            let records = s.records(&mailbox, UidSelection::Uids(&uids), fields)?;
            let mut loaded: Vec<Loaded> = records.into_iter().map(Loaded::new).collect();
            if needs.header {
                index_headers(s, &mailbox, &mut loaded)?;
            }
            read_small(s, &mailbox, loaded, needs).map(|l| (seen_updates, l))
        })
        .await
        .map_err(|e| refuse(&e, Target::Source))?;
    if let Some(view) = session.state.view_mut() {
        // The FLAGS in these FETCH responses report the change; its echo need not be repeated.
        for (uid, _, modseq) in seen_updates {
            view.note_own_change(uid, modseq);
        }
    }
    Ok(loaded)
}

/// The index's copies of the header blocks, for as many messages as [`BATCH_PREFETCH`] octets
/// of headers allow; the others' headers are read from their files. (A message without a
/// blank line is all header, so the copy can be as large as the message.)
fn index_headers(
    s: &MailService,
    mailbox: &Authorized,
    loaded: &mut [Loaded],
) -> Result<(), ServiceError> {
    let mut budget = BATCH_PREFETCH;
    let wanted: Vec<Uid> = loaded
        .iter()
        .filter(|l| {
            let len = l.header_len();
            let fits = len <= budget;
            budget -= if fits { len } else { 0 };
            fits
        })
        .map(|l| l.record.uid)
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let fields = RecordFields {
        cache: false,
        header: true,
    };
    for with_header in s.records(mailbox, UidSelection::Uids(&wanted), fields)? {
        if let Ok(i) = loaded.binary_search_by_key(&with_header.uid, |l| l.record.uid) {
            loaded[i].record.header = with_header.header;
        }
    }
    Ok(())
}

/// Reads the messages whose items need the file and that are at most [`CHUNK`] octets, within
/// [`BATCH_PREFETCH`] octets for the batch; the rest are opened when written. A message
/// expunged since the snapshot is skipped (RFC 9051 §7.5.1).
fn read_small(
    s: &MailService,
    mailbox: &Authorized,
    loaded: Vec<Loaded>,
    needs: plan::Needs,
) -> Result<Vec<Loaded>, ServiceError> {
    let mut budget = BATCH_PREFETCH;
    let mut out = Vec::with_capacity(loaded.len());
    for mut l in loaded {
        let size = l.record.size;
        let file = needs.file || (needs.header && l.record.header.is_none());
        l.octets = if !file {
            Octets::NotNeeded
        } else if size <= CHUNK && size <= budget {
            match s.read_message(mailbox, l.record.uid) {
                Ok(raw) => {
                    budget -= size;
                    Octets::Read(raw)
                }
                Err(ServiceError::Store(StoreError::NoSuchMessage(_))) => continue,
                Err(e) => return Err(e),
            }
        } else {
            Octets::InFile
        };
        out.push(l);
    }
    Ok(out)
}
