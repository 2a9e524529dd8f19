//! SEARCH and UID SEARCH (RFC 9051 §6.4.4), ESEARCH return options (RFC 4731) and SEARCHRES
//! (RFC 5182). Flags, dates and sizes come from the index; header keys from the cached header
//! block; BODY and TEXT read the message files. A search with a MODSEQ key (RFC 7162 §3.1.5)
//! turns CONDSTORE on and reports the highest MODSEQ of the messages found.

mod criteria;
mod matcher;

use std::sync::Arc;

use imap_proto::command::{Addressing, SearchKey, SearchReturn, Tag};
use imap_proto::response::{Code, Data, ESearchItem};
use imap_proto::{command::Search, SequenceSet};
use mailservice::{RecordFields, UidSelection};
use types::Uid;

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};
use criteria::{Context, Criterion, Unusable};
use matcher::Candidate;

/// Messages per store read. BODY and TEXT read message files, so their batches stay small;
/// other keys need only the index (and the cached header blocks), where a read costs little per
/// message but something per batch (a snapshot, the mailbox header).
const BODY_BATCH: usize = 512;
const INDEX_BATCH: usize = 4096;

pub(crate) async fn run(session: &mut Session, tag: &Tag, search: Search) -> Reply {
    let Some(view) = session.state.view() else {
        return Reply::bad("No mailbox selected");
    };
    let charset = match charset(search.charset.as_deref()) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    let all: Vec<(u32, Uid)> = view
        .uids()
        .iter()
        .enumerate()
        .map(|(i, u)| (i as u32 + 1, *u))
        .collect();
    let cx = Context {
        exists: view.exists(),
        largest_uid: view.uids().last().map_or(0, |u| u.get()),
        saved: &view.saved_search,
        charset,
        recent: (!session.enabled.imap4rev2).then(|| view.recent.ranges()),
    };
    let uses_modseq = search.criteria.iter().any(mentions_modseq);
    let criteria = match Criterion::compile(SearchKey::And(search.criteria), &cx) {
        Ok(c) => c,
        Err(Unusable::TooDeep) => return Reply::bad("search criteria are nested too deeply"),
        Err(Unusable::NotInRev2(key)) => {
            return Reply::bad(&format!("{key} is not an IMAP4rev2 search key"))
        }
    };
    let (need_header, need_body) = criteria.needs();
    if uses_modseq {
        session.enable_condstore().await;
    }
    let Some(view) = session.state.view() else {
        return Reply::bad("No mailbox selected");
    };
    let now = mailservice::InternalDate::now().unix_seconds;
    let job = Arc::new(Job {
        mailbox: view.mailbox.clone(),
        criteria,
        need_header,
        need_body,
        now,
    });
    let mut found: Vec<(u32, Uid)> = Vec::new();
    let mut modseqs: Vec<types::ModSeq> = Vec::new();
    let batch = if need_body { BODY_BATCH } else { INDEX_BATCH };
    // Two batches at a time: one per core of the machines we size for; the blocking pool
    // runs them in parallel while the session waits for both. A short last pair is halved.
    for pair in all.chunks(batch * 2) {
        let (first, second) = pair.split_at(pair.len().div_ceil(2));
        let (a, b) = (Arc::clone(&job), Arc::clone(&job));
        let (first, second) = (first.to_vec(), second.to_vec());
        let (r1, r2) = tokio::join!(
            session.blocking(move |s| a.run(s, &first)),
            session.blocking(move |s| b.run(s, &second)),
        );
        for result in [r1, r2] {
            match result {
                Ok(hits) => {
                    for (seq, uid, modseq) in hits {
                        modseqs.push(modseq);
                        found.push((seq, uid));
                    }
                }
                Err(e) => return refuse(&e, Target::Source),
            }
        }
    }
    let highest = uses_modseq
        .then(|| reported_modseq(search.return_options.as_deref(), &modseqs))
        .flatten();
    answer(
        session,
        tag,
        &search.return_options,
        search.addressing,
        found,
        highest,
    );
    Reply::ok("Search completed")
}

/// The MODSEQ a search with a MODSEQ key reports (RFC 7162 §3.1.5): the highest of the
/// messages found; when ESEARCH returns only MIN and/or MAX, the highest of those messages.
fn reported_modseq(
    options: Option<&[SearchReturn]>,
    modseqs: &[types::ModSeq],
) -> Option<types::ModSeq> {
    let only_ends = options.is_some_and(|o| {
        !o.is_empty()
            && !o.contains(&SearchReturn::All)
            && !o.contains(&SearchReturn::Count)
            && (o.contains(&SearchReturn::Min) || o.contains(&SearchReturn::Max))
    });
    if !only_ends {
        return modseqs.iter().max().copied();
    }
    let has = |r| options.is_some_and(|o| o.contains(&r));
    let min = modseqs.first().filter(|_| has(SearchReturn::Min));
    let max = modseqs.last().filter(|_| has(SearchReturn::Max));
    min.max(max).copied()
}

/// Whether a key (at any depth; the parser bounds the nesting) is MODSEQ.
pub(crate) fn mentions_modseq(key: &SearchKey) -> bool {
    match key {
        SearchKey::ModSeq { .. } => true,
        SearchKey::Not(k) => mentions_modseq(k),
        SearchKey::Or(a, b) => mentions_modseq(a) || mentions_modseq(b),
        SearchKey::And(keys) => keys.iter().any(mentions_modseq),
        _ => false,
    }
}

/// One SEARCH, shared by the batches that evaluate it.
struct Job {
    mailbox: mailservice::Authorized,
    criteria: Criterion,
    need_header: bool,
    need_body: bool,
    now: i64,
}

impl Job {
    /// The messages of `batch` (ascending UIDs) that match, with their MODSEQ.
    fn run(
        &self,
        s: &mailservice::MailService,
        batch: &[(u32, Uid)],
    ) -> Result<Vec<(u32, Uid, types::ModSeq)>, mailservice::ServiceError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let fields = RecordFields {
            cache: self.need_body,
            header: self.need_header,
        };
        // The batch's UIDs are ascending. One range read costs less than a lookup per UID; a
        // message of the range the view has not announced (reconstruct may index a file under
        // an old UID) is skipped below.
        let (lo, hi) = (batch[0].1, batch[batch.len() - 1].1);
        let records = s.records(&self.mailbox, UidSelection::Range(lo, hi), fields)?;
        let mut hits = Vec::new();
        for record in &records {
            let Ok(i) = batch.binary_search_by_key(&record.uid, |(_, u)| *u) else {
                continue;
            };
            let (seq, uid) = batch[i];
            let load_body = || body_text(s, &self.mailbox, record);
            let candidate = Candidate::new(seq, uid, record, self.now, &load_body);
            if self.criteria.matches(&candidate) {
                hits.push((seq, uid, record.modseq));
            }
        }
        Ok(hits)
    }
}

/// The decoded text parts of a message (UTF-8), for BODY and TEXT.
fn body_text(
    s: &mailservice::MailService,
    mailbox: &mailservice::Authorized,
    record: &mailservice::MessageRecord,
) -> Vec<String> {
    let (Ok(raw), Ok(cache)) = (s.read_message(mailbox, record.uid), record.message_cache()) else {
        return Vec::new();
    };
    message::text_for_search(&raw, &cache).collect()
}

/// The command's charset: `None` for UTF-8 and US-ASCII, whose strings are matched as they
/// are; `NO [BADCHARSET]` for one we cannot decode (RFC 9051 §6.4.4).
fn charset(label: Option<&str>) -> Result<Option<&'static encoding_rs::Encoding>, Reply> {
    let Some(label) = label else {
        return Ok(None);
    };
    if label.eq_ignore_ascii_case("UTF-8") || label.eq_ignore_ascii_case("US-ASCII") {
        return Ok(None);
    }
    match encoding_rs::Encoding::for_label(label.as_bytes()) {
        Some(encoding) => Ok(Some(encoding)),
        None => {
            let supported = vec![
                "UTF-8".to_string(),
                "US-ASCII".to_string(),
                "ISO-8859-1".to_string(),
            ];
            Err(Reply::no(
                Some(Code::BadCharset(supported)),
                "Unsupported charset",
            ))
        }
    }
}

/// SEARCH, or ESEARCH when RETURN was given; SAVE keeps the result for `$`. `highest` is the
/// MODSEQ to report when the criteria had a MODSEQ key (see [`reported_modseq`]).
fn answer(
    session: &mut Session,
    tag: &Tag,
    options: &Option<Vec<SearchReturn>>,
    addressing: Addressing,
    found: Vec<(u32, Uid)>,
    highest: Option<types::ModSeq>,
) {
    let number = |(seq, uid): &(u32, Uid)| match addressing {
        Addressing::Uid => uid.get(),
        Addressing::Sequence => *seq,
    };
    let Some(options) = options else {
        let numbers = found.iter().map(number).collect();
        session.out.data(Data::Search {
            numbers,
            mod_seq: highest,
        });
        return;
    };
    let has = |o: SearchReturn| options.contains(&o);
    let all = options.is_empty() || has(SearchReturn::All);
    let (min, max) = (found.first(), found.last());
    if has(SearchReturn::Save) {
        let saved: Vec<Uid> = if (has(SearchReturn::Min) || has(SearchReturn::Max))
            && !all
            && !has(SearchReturn::Count)
        {
            [
                has(SearchReturn::Min).then_some(min),
                has(SearchReturn::Max).then_some(max),
            ]
            .into_iter()
            .flatten()
            .flatten()
            .map(|(_, u)| *u)
            .collect()
        } else {
            found.iter().map(|(_, u)| *u).collect()
        };
        if let Some(view) = session.state.view_mut() {
            view.saved_search = saved;
        }
        if options.len() == 1 {
            return;
        }
    }
    let mut items = Vec::new();
    if let (true, Some(m)) = (has(SearchReturn::Min), min) {
        items.push(ESearchItem::Min(number(m)));
    }
    if let (true, Some(m)) = (has(SearchReturn::Max), max) {
        items.push(ESearchItem::Max(number(m)));
    }
    if all {
        if let Some(set) = SequenceSet::from_numbers(found.iter().map(number)) {
            items.push(ESearchItem::All(set));
        }
    }
    if has(SearchReturn::Count) {
        items.push(ESearchItem::Count(
            u32::try_from(found.len()).unwrap_or(u32::MAX),
        ));
    }
    if let Some(m) = highest {
        items.push(ESearchItem::ModSeq(m));
    }
    session.out.data(Data::ESearch {
        tag: Some(tag.clone()),
        addressing,
        items,
    });
}
