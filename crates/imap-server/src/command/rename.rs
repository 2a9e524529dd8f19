//! RENAME (RFC 9051 §6.3.6). Renaming INBOX moves all its messages to the new mailbox and leaves
//! INBOX empty; any other rename takes the mailbox's children along.

use imap_proto::command::Mailbox;
use mailservice::Operation;

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

pub(crate) async fn run(session: &mut Session, from: Mailbox, to: Mailbox) -> Reply {
    if to == Mailbox::Inbox {
        return Reply::no(
            Some(imap_proto::response::Code::AlreadyExists),
            "INBOX always exists",
        );
    }
    let from_is_inbox = from == Mailbox::Inbox;
    let (src, dst) = match (
        session.authorize(&from, Operation::Rename),
        session.authorize(&to, Operation::Rename),
    ) {
        (Ok(src), Ok(dst)) => (src, dst),
        (Err(e), _) | (_, Err(e)) => return refuse(&e, Target::Source),
    };
    let result = session
        .blocking(move |s| {
            if from_is_inbox {
                s.create(&dst, Vec::new())?;
                s.move_all(&src, &dst).map(|_| ())
            } else {
                s.rename(&src, &dst)
            }
        })
        .await;
    match result {
        Ok(()) => Reply::ok("Rename completed"),
        Err(e) => refuse(&e, Target::Source),
    }
}
