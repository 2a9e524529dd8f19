//! FETCH and UID FETCH (RFC 9051 §6.4.5, RFC 3516 BINARY). The requested items are merged and
//! bounded first ([`plan`]); records come from the index in batches, ENVELOPE and
//! BODYSTRUCTURE from the cache, header sections from the cached header block. Message data
//! never sits whole in memory: small messages are read with their batch (within a byte budget),
//! larger ones stay in their file and each section is read as its range a chunk at a time
//! ([`emit`]), with the output written to the socket whenever it passes
//! [`crate::output::Output::FLUSH_AT`]. A non-PEEK body fetch sets `\Seen` first and reports
//! the new FLAGS.
//!
//! CONDSTORE (RFC 7162 §3.1.4): `CHANGEDSINCE n` keeps only the messages whose MODSEQ is above
//! `n` (and reports MODSEQ); `VANISHED` (UID FETCH with QRESYNC on, §3.2.6) first reports the
//! UIDs of the set expunged since `n`.

mod binary;
mod emit;
mod fields;
mod plan;
mod section;
mod source;

use imap_proto::command::{Addressing, Fetch, FetchAttr};
use imap_proto::response::Vanished;
use imap_proto::NumberRanges;
use mailservice::{
    Authorized, FlagChange, MailService, MessageRecord, RecordFields, ServiceError, StoreError,
    UidSelection,
};
use message::{CacheError, MessageCache};
use types::{Flag, ModSeq, Uid};

use crate::command::Reply;
use crate::condstore::vanished_among;
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
    if fetch.vanished && (fetch.addressing != Addressing::Uid || fetch.changed_since.is_none()) {
        return Reply::bad("VANISHED needs UID FETCH with CHANGEDSINCE");
    }
    if fetch.vanished && !session.enabled.qresync {
        return Reply::bad("VANISHED needs QRESYNC enabled first");
    }
    let Some(view) = session.state.view() else {
        return Reply::bad("No mailbox selected");
    };
    let mut targets = match view.resolve(&fetch.set, fetch.addressing) {
        Ok(t) => t,
        Err(_) => return Reply::bad("Invalid message sequence number"),
    };
    // A user without `s` keeps no `\Seen` (RFC 4314 §4): a body fetch then sets nothing.
    let no_seen = view.read_only || !view.mailbox.acting_rights().contains(types::Rights::SEEN);
    let mut plan = match Plan::new(fetch.items, fetch.addressing, no_seen) {
        Ok(plan) => plan,
        Err(text) => return Reply::bad(&text),
    };
    let wants_modseq = plan.items.iter().any(|p| p.attr == FetchAttr::ModSeq);
    if wants_modseq || fetch.changed_since.is_some() {
        session.enable_condstore().await;
    }
    if let Some(since) = fetch.changed_since {
        plan.ensure(FetchAttr::ModSeq);
        if fetch.vanished {
            if let Err(reply) = report_vanished(session, &fetch.set, since).await {
                return reply;
            }
        }
        targets = match changed_since(session, targets, since).await {
            Ok(t) => t,
            Err(reply) => return reply,
        };
    }
    if plan.needs.sets_seen && session.enabled.condstore {
        // RFC 7162 §3.1: a FETCH that sets `\Seen` reports the change with UID and MODSEQ.
        plan.ensure(FetchAttr::Uid);
        plan.ensure(FetchAttr::ModSeq);
    }
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

/// The targets whose MODSEQ is above `since`, read from the index a batch at a time.
async fn changed_since(
    session: &Session,
    targets: Vec<(u32, Uid)>,
    since: u64,
) -> Result<Vec<(u32, Uid)>, Reply> {
    let Some(view) = session.state.view() else {
        return Err(Reply::bad("No mailbox selected"));
    };
    let mut kept = Vec::new();
    for batch in targets.chunks(CHANGED_BATCH) {
        let (mailbox, batch) = (view.mailbox.clone(), batch.to_vec());
        let found = session
            .blocking(move |s| {
                let (lo, hi) = match (batch.first(), batch.last()) {
                    (Some(first), Some(last)) => (first.1, last.1),
                    _ => return Ok(Vec::new()),
                };
                let records =
                    s.records(&mailbox, UidSelection::Range(lo, hi), RecordFields::BASIC)?;
                Ok(records
                    .into_iter()
                    .filter(|r| r.modseq.get() > since)
                    .filter_map(|r| {
                        let at = batch.binary_search_by_key(&r.uid, |&(_, u)| u).ok()?;
                        Some(batch[at])
                    })
                    .collect::<Vec<_>>())
            })
            .await
            .map_err(|e| refuse(&e, Target::Source))?;
        kept.extend(found);
    }
    Ok(kept)
}

/// Messages per index read when filtering by CHANGEDSINCE.
const CHANGED_BATCH: usize = 4096;

/// `VANISHED (EARLIER)`: the UIDs of `set` expunged since `since` (RFC 7162 §3.2.6).
async fn report_vanished(
    session: &mut Session,
    set: &imap_proto::SequenceSet,
    since: u64,
) -> Result<(), Reply> {
    let Some(view) = session.state.view() else {
        return Err(Reply::bad("No mailbox selected"));
    };
    let largest = view.uids().last().map_or(0, |u| u.get());
    let known = set
        .normalize(largest)
        .unwrap_or_else(|| NumberRanges::from_ranges(Vec::new()));
    // 0 asks for everything ever expunged; every expunge has a MODSEQ above the first.
    let since = ModSeq::new(since).unwrap_or(ModSeq::MIN);
    let mailbox = view.mailbox.clone();
    let history = session
        .blocking(move |s| s.vanished_since(&mailbox, since))
        .await
        .map_err(|e| refuse(&e, Target::Source))?;
    let Some(view) = session.state.view() else {
        return Err(Reply::bad("No mailbox selected"));
    };
    let vanished = vanished_among(&known, history, view.uids());
    session.write_vanished(Vanished::Earlier, &vanished).await;
    Ok(())
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
