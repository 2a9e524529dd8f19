//! COPY (RFC 9051 §6.4.7) and MOVE (RFC 6851), with COPYUID (RFC 4315). A MOVE reports COPYUID
//! in an untagged OK before its EXPUNGEs (RFC 6851 §4.3).

use imap_proto::command::{Addressing, Mailbox};
use imap_proto::response::{Code, StatusKind};
use imap_proto::SequenceSet;
use mailservice::{CopyOutcome, Operation};
use types::Rights;

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Copy,
    Move,
}

pub(crate) async fn run(
    session: &mut Session,
    addressing: Addressing,
    set: SequenceSet,
    mailbox: Mailbox,
    mode: Mode,
) -> Reply {
    let Some(view) = session.state.view() else {
        return Reply::bad("No mailbox selected");
    };
    // RFC 4314 §4: MOVE takes the messages out of the source, which needs `t` and `e` there.
    let move_rights = Rights::DELETE_MESSAGES.union(Rights::EXPUNGE);
    if mode == Mode::Move && !view.mailbox.acting_rights().contains(move_rights) {
        return Reply::no(Some(Code::NoPerm), "MOVE needs the t and e rights here");
    }
    if mode == Mode::Move && view.read_only {
        return Reply::no(Some(Code::ReadOnly), "Mailbox is read-only");
    }
    let targets = match view.resolve(&set, addressing) {
        Ok(t) => t,
        Err(_) => return Reply::bad("Invalid message sequence number"),
    };
    let source = view.mailbox.clone();
    let destination = match session.authorize(&mailbox, Operation::Insert) {
        Ok(d) => d,
        Err(e) => return refuse(&e, Target::Destination),
    };
    if targets.is_empty() {
        return Reply::ok("No messages matched");
    }
    let uids: Vec<types::Uid> = targets.iter().map(|(_, u)| *u).collect();
    let result = session
        .blocking(move |s| match mode {
            Mode::Copy => s.copy(&source, &uids, &destination),
            Mode::Move => s.move_messages(&source, &uids, &destination),
        })
        .await;
    let outcome = match result {
        Ok(o) => o,
        Err(e) => return refuse(&e, Target::Destination),
    };
    let code = copyuid(&outcome);
    if mode == Mode::Copy {
        return match code {
            Some(code) => Reply::ok_code(code, "Copy completed"),
            None => Reply::ok("Copy completed"),
        };
    }
    if let Some(code) = code {
        session.out.untagged(StatusKind::Ok, Some(code), "Moved");
    }
    if let Some(view) = session.state.view_mut() {
        let moved = outcome.mapping.iter().map(|(src, _)| *src).collect();
        let gone = view.remove_own_expunges(moved);
        session.write_expunged(gone.seqs, &gone.uids).await;
    }
    Reply::ok("Move completed")
}

fn copyuid(outcome: &CopyOutcome) -> Option<Code> {
    let source = SequenceSet::from_numbers(outcome.mapping.iter().map(|(s, _)| s.get()))?;
    let destination = SequenceSet::from_numbers(outcome.mapping.iter().map(|(_, d)| d.get()))?;
    Some(Code::CopyUid {
        uid_validity: outcome.uidvalidity,
        source,
        destination,
    })
}
