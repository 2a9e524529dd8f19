//! STORE and UID STORE (RFC 9051 §6.4.6), with UNCHANGEDSINCE (RFC 7162 §3.1.3) answered by
//! `[MODIFIED]`. Without `.SILENT` every named message that still exists gets its FETCH FLAGS,
//! whether or not its flags changed (RFC 9051 §6.4.6: "STORE will return the updated value";
//! clients that update their display from the answer would otherwise miss a message).

use std::collections::BTreeMap;

use imap_proto::command::{Addressing, Store, StoreAction, StoreSilence};
use imap_proto::response::{Code, Data, FetchFlag, FetchItem};
use imap_proto::SequenceSet;
use mailservice::{FlagChange, RecordFields, UidSelection};
use types::{Flag, ModSeq, Uid};

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

pub(crate) async fn run(session: &mut Session, store: Store) -> Reply {
    let Some(view) = session.state.view() else {
        return Reply::bad("No mailbox selected");
    };
    if view.read_only {
        return Reply::no(Some(Code::ReadOnly), "Mailbox is read-only");
    }
    let targets = match view.resolve(&store.set, store.addressing) {
        Ok(t) => t,
        Err(_) => return Reply::bad("Invalid message sequence number"),
    };
    let change = match store.action {
        StoreAction::Replace => FlagChange::Replace(store.flags),
        StoreAction::Add => FlagChange::Add(store.flags),
        StoreAction::Remove => FlagChange::Remove(store.flags),
    };
    let unchanged_since = store.unchanged_since.and_then(ModSeq::new);
    let mailbox = view.mailbox.clone();
    let uids: Vec<types::Uid> = targets.iter().map(|(_, u)| *u).collect();
    let outcome = match session
        .blocking(move |s| s.store_flags(&mailbox, &uids, change, unchanged_since))
        .await
    {
        Ok(o) => o,
        Err(e) => return refuse(&e, Target::Source),
    };
    let mut answers: BTreeMap<Uid, Vec<Flag>> = BTreeMap::new();
    let Some(view) = session.state.view_mut() else {
        return Reply::bad("No mailbox selected");
    };
    for (uid, flags, modseq) in outcome.updated {
        view.note_own_change(uid, modseq);
        answers.insert(uid, flags);
    }
    if store.silence == StoreSilence::Report {
        let unchanged: Vec<Uid> = targets
            .iter()
            .map(|(_, uid)| *uid)
            .filter(|uid| !answers.contains_key(uid) && !outcome.modified.contains(uid))
            .collect();
        answers.extend(current_flags(session, unchanged).await);
        answer_flags(session, &targets, &answers, store.addressing);
    }
    let Some(view) = session.state.view() else {
        return Reply::bad("No mailbox selected");
    };
    let modified: Vec<u32> = outcome
        .modified
        .iter()
        .filter_map(|uid| match store.addressing {
            Addressing::Uid => Some(uid.get()),
            Addressing::Sequence => view.seq_of(*uid),
        })
        .collect();
    match SequenceSet::from_numbers(modified) {
        Some(set) => Reply::ok_code(
            Code::Modified(set),
            "Conditional store failed for some messages",
        ),
        None => Reply::ok("Store completed"),
    }
}

/// The flags of messages a STORE left as they were; messages expunged meanwhile are absent.
async fn current_flags(session: &Session, uids: Vec<Uid>) -> BTreeMap<Uid, Vec<Flag>> {
    let Some(view) = session.state.view() else {
        return BTreeMap::new();
    };
    if uids.is_empty() {
        return BTreeMap::new();
    }
    let mailbox = view.mailbox.clone();
    let records = session
        .blocking(move |s| s.records(&mailbox, UidSelection::Uids(&uids), RecordFields::BASIC))
        .await;
    // A failed read only costs the courtesy FETCH; the STORE itself has succeeded.
    records
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.uid, r.flags))
        .collect()
}

/// One FETCH FLAGS per message, in sequence order; UID STORE adds the UID (RFC 9051 §6.4.9).
fn answer_flags(
    session: &mut Session,
    targets: &[(u32, Uid)],
    answers: &BTreeMap<Uid, Vec<Flag>>,
    addressing: Addressing,
) {
    for (seq, uid) in targets {
        let Some(flags) = answers.get(uid) else {
            continue;
        };
        let mut items = vec![FetchItem::Flags(
            flags.iter().cloned().map(FetchFlag::Flag).collect(),
        )];
        if addressing == Addressing::Uid {
            items.push(FetchItem::Uid(*uid));
        }
        session.out.data(Data::Fetch { seq: *seq, items });
    }
}
