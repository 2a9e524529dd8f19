//! STORE and UID STORE (RFC 9051 §6.4.6), with UNCHANGEDSINCE (RFC 7162 §3.1.3) answered by
//! `[MODIFIED]`. Without `.SILENT` every named message that still exists gets its FETCH FLAGS,
//! whether or not its flags changed (RFC 9051 §6.4.6: "STORE will return the updated value";
//! clients that update their display from the answer would otherwise miss a message).
//! Once CONDSTORE is on, each FETCH carries UID and MODSEQ, and a `.SILENT` STORE still
//! reports the new MODSEQ of the messages it changed (RFC 7162 §3.1.3, §3.1).

use std::collections::{BTreeMap, HashSet};

use imap_proto::command::{Addressing, Store, StoreAction, StoreSilence};
use imap_proto::response::{Code, Data, FetchItem};
use imap_proto::SequenceSet;
use mailservice::{FlagChange, RecordFields, UidSelection};
use types::{Flag, ModSeq, Rights, Uid};

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

pub(crate) async fn run(session: &mut Session, store: Store) -> Reply {
    let Some(view) = session.state.view() else {
        return Reply::bad("No mailbox selected");
    };
    // RFC 4314 §4: `\Seen` needs `s`, `\Deleted` needs `t`, other flags `w`. Flags the user
    // may not change are left out of +FLAGS/-FLAGS, as the RFC asks; FLAGS (replace) would
    // also clear flags the user may not touch, so it needs all three. Without any of them the
    // answer is NOPERM even in a read-only session: the rights, not EXAMINE, forbid it.
    let rights = view.mailbox.acting_rights();
    let may = |flag: &Flag| match flag {
        Flag::Seen => rights.contains(Rights::SEEN),
        Flag::Deleted => rights.contains(Rights::DELETE_MESSAGES),
        _ => rights.contains(Rights::WRITE),
    };
    let flag_rights = Rights::SEEN
        .union(Rights::WRITE)
        .union(Rights::DELETE_MESSAGES);
    if !rights.intersects(flag_rights) {
        return Reply::no(Some(Code::NoPerm), "No right to change flags here");
    }
    if view.read_only {
        return Reply::no(Some(Code::ReadOnly), "Mailbox is read-only");
    }
    let targets = match view.resolve(&store.set, store.addressing) {
        Ok(t) => t,
        Err(_) => return Reply::bad("Invalid message sequence number"),
    };
    let change = match store.action {
        StoreAction::Replace if !rights.contains(flag_rights) => {
            return Reply::no(
                Some(Code::NoPerm),
                "STORE FLAGS needs the s, w and t rights; use +FLAGS or -FLAGS",
            );
        }
        StoreAction::Replace => FlagChange::Replace(store.flags),
        StoreAction::Add => FlagChange::Add(store.flags.into_iter().filter(may).collect()),
        StoreAction::Remove => FlagChange::Remove(store.flags.into_iter().filter(may).collect()),
    };
    let unchanged_since = store.unchanged_since.and_then(ModSeq::new);
    // `UNCHANGEDSINCE 0` fails for every message that exists (RFC 7162 §3.1.3): no MODSEQ is
    // at or below 0.
    let refuse_all = store.unchanged_since == Some(0);
    let mailbox = view.mailbox.clone();
    if store.unchanged_since.is_some() {
        session.enable_condstore().await;
    }
    let uids: Vec<types::Uid> = targets.iter().map(|(_, u)| *u).collect();
    let outcome = match session
        .blocking(move |s| {
            if refuse_all {
                let existing =
                    s.records(&mailbox, UidSelection::Uids(&uids), RecordFields::BASIC)?;
                return Ok(mailservice::StoreFlagsOutcome {
                    modified: existing.into_iter().map(|r| r.uid).collect(),
                    ..Default::default()
                });
            }
            s.store_flags(&mailbox, &uids, change, unchanged_since)
        })
        .await
    {
        Ok(o) => o,
        Err(e) => return refuse(&e, Target::Source),
    };
    let mut answers: BTreeMap<Uid, (Vec<Flag>, ModSeq)> = BTreeMap::new();
    let Some(view) = session.state.view_mut() else {
        return Reply::bad("No mailbox selected");
    };
    for (uid, flags, modseq) in outcome.updated {
        view.note_own_change(uid, modseq);
        answers.insert(uid, (flags, modseq));
    }
    let silent = store.silence == StoreSilence::Silent;
    if !silent {
        let unchanged = unchanged(&targets, &answers, &outcome.modified);
        answers.extend(current_flags(session, unchanged).await);
    }
    // A keyword this STORE defined is announced (RFC 9051 §7.3.5) even under .SILENT, and
    // before any FETCH that carries it.
    session
        .announce_keywords(answers.values().map(|(f, _)| f.as_slice()))
        .await;
    if !silent || session.enabled.condstore {
        answer_flags(session, &targets, &answers, store.addressing, silent);
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

/// The targets a STORE neither changed nor refused for UNCHANGEDSINCE, whose flags are read
/// back for the answer. The refused ones go into a set first: a list search per target was
/// quadratic when a large STORE met a large `[MODIFIED]`.
fn unchanged(
    targets: &[(u32, Uid)],
    answers: &BTreeMap<Uid, (Vec<Flag>, ModSeq)>,
    modified: &[Uid],
) -> Vec<Uid> {
    let modified: HashSet<Uid> = modified.iter().copied().collect();
    targets
        .iter()
        .map(|(_, uid)| *uid)
        .filter(|uid| !answers.contains_key(uid) && !modified.contains(uid))
        .collect()
}

/// The flags of messages a STORE left as they were; messages expunged meanwhile are absent.
async fn current_flags(session: &Session, uids: Vec<Uid>) -> BTreeMap<Uid, (Vec<Flag>, ModSeq)> {
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
        .map(|r| (r.uid, (r.flags, r.modseq)))
        .collect()
}

/// One FETCH per message, in sequence order: FLAGS (not under `.SILENT`), the UID for UID
/// STORE (RFC 9051 §6.4.9) and, once CONDSTORE is on, always the UID and the MODSEQ.
fn answer_flags(
    session: &mut Session,
    targets: &[(u32, Uid)],
    answers: &BTreeMap<Uid, (Vec<Flag>, ModSeq)>,
    addressing: Addressing,
    silent: bool,
) {
    let condstore = session.enabled.condstore;
    for (seq, uid) in targets {
        let Some((flags, modseq)) = answers.get(uid) else {
            continue;
        };
        let mut items = Vec::with_capacity(3);
        if !silent {
            items.push(session.flags_item(*uid, flags));
        }
        if addressing == Addressing::Uid || condstore {
            items.push(FetchItem::Uid(*uid));
        }
        if condstore {
            items.push(FetchItem::ModSeq(*modseq));
        }
        session.out.data(Data::Fetch { seq: *seq, items });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A conditional STORE on a million messages that all changed meanwhile: every target is
    /// in `[MODIFIED]`, and the check used to search the whole list for each.
    #[test]
    fn a_large_modified_set_is_checked_in_linear_time() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let uid = |n: u32| Uid::new(n).unwrap();
            let targets: Vec<(u32, Uid)> = (1..=1_000_000).map(|n| (n, uid(n))).collect();
            let modified: Vec<Uid> = (3..=1_000_000).rev().map(uid).collect();
            let mut answers = BTreeMap::new();
            answers.insert(uid(1), (vec![Flag::Seen], ModSeq::MIN));
            let _ = tx.send(unchanged(&targets, &answers, &modified));
        });
        let left = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("did not finish within a minute");
        assert_eq!(
            left,
            vec![Uid::new(2).unwrap()],
            "changed: 1, modified: 3 and up"
        );
    }
}
