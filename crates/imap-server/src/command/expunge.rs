//! EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1); both need the `e` right
//! (RFC 4314 §4).

use imap_proto::command::Addressing;
use imap_proto::response::Code;
use imap_proto::SequenceSet;
use mailservice::Expunge;
use types::Rights;

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

pub(crate) async fn run(session: &mut Session, set: Option<SequenceSet>) -> Reply {
    let Some(view) = session.state.view() else {
        return Reply::bad("No mailbox selected");
    };
    // RFC 4314 §4: EXPUNGE needs `e`; without it the rights, not EXAMINE, forbid it.
    if !view.mailbox.acting_rights().contains(Rights::EXPUNGE) {
        return Reply::no(Some(Code::NoPerm), "No right to expunge here");
    }
    if view.read_only {
        return Reply::no(Some(Code::ReadOnly), "Mailbox is read-only");
    }
    let which = match &set {
        None => Expunge::AllDeleted,
        Some(set) => match view.resolve(set, Addressing::Uid) {
            Ok(found) => Expunge::DeletedAmong(found.into_iter().map(|(_, uid)| uid).collect()),
            Err(_) => return Reply::bad("Invalid UID set"),
        },
    };
    let mailbox = view.mailbox.clone();
    let expunged = match session.blocking(move |s| s.expunge(&mailbox, which)).await {
        Ok(uids) => uids,
        Err(e) => return refuse(&e, Target::Source),
    };
    if let Some(view) = session.state.view_mut() {
        let gone = view.remove_own_expunges(expunged);
        session.write_expunged(gone.seqs, &gone.uids).await;
    }
    if session.enabled.qresync {
        // The client's cached HIGHESTMODSEQ moves with the expunge: report what else changed,
        // then tell it where that leaves the mailbox (RFC 7162 §3.2.10; Dovecot does the same).
        let _ = session.report_updates(true).await;
        if let Some(view) = session.state.view().filter(|v| !v.gone) {
            if let Some(m) = types::ModSeq::new(view.known_modseq) {
                return Reply::ok_code(Code::HighestModSeq(m), "Expunge completed");
            }
        }
    }
    Reply::ok("Expunge completed")
}
