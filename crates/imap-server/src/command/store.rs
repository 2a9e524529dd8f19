//! STORE and UID STORE (RFC 9051 §6.4.6), with UNCHANGEDSINCE (RFC 7162 §3.1.3) answered by
//! `[MODIFIED]`.

use imap_proto::command::{Addressing, Store, StoreAction, StoreSilence};
use imap_proto::response::{Code, Data, FetchFlag, FetchItem};
use imap_proto::SequenceSet;
use mailservice::FlagChange;
use types::ModSeq;

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
    let Some(view) = session.state.view_mut() else {
        return Reply::bad("No mailbox selected");
    };
    for (uid, flags, modseq) in outcome.updated {
        view.note_own_change(uid, modseq);
        if store.silence == StoreSilence::Silent {
            continue;
        }
        let Some(seq) = view.seq_of(uid) else {
            continue;
        };
        let mut items = vec![FetchItem::Flags(
            flags.into_iter().map(FetchFlag::Flag).collect(),
        )];
        if store.addressing == Addressing::Uid {
            items.push(FetchItem::Uid(uid));
        }
        session.out.data(Data::Fetch { seq, items });
    }
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
