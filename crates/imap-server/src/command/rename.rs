//! RENAME (RFC 9051 §6.3.6). Renaming INBOX moves all its messages to the new mailbox and leaves
//! INBOX empty; any other rename takes the mailbox's children along.

use imap_proto::command::Mailbox;
use mailservice::Operation;

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

pub(crate) async fn run(
    session: &mut Session,
    from: Mailbox,
    to: Mailbox,
    partition: Option<String>,
) -> Reply {
    if to == Mailbox::Inbox && from != Mailbox::Inbox {
        return Reply::no(
            Some(imap_proto::response::Code::AlreadyExists),
            "INBOX always exists",
        );
    }
    let Some(identity) = session.state.identity().cloned() else {
        return Reply::bad("Not authenticated");
    };
    let from_is_inbox = from == Mailbox::Inbox;
    let same_name = from == to;
    let (src, dst) = match (
        session.authorize(&from, Operation::Rename),
        session.authorize(&to, Operation::Rename),
    ) {
        (Ok(src), Ok(dst)) => (src, dst),
        (Err(e), _) | (_, Err(e)) => return refuse(&e, Target::Source),
    };
    let result = session
        .blocking(move |s| {
            if from_is_inbox && !same_name {
                s.create(&identity, &dst, Vec::new(), None)?;
                s.move_all(&src, &dst)?;
            } else if !same_name {
                s.rename(&src, &dst)?;
            }
            // Cyrus: `RENAME name name partition` (or a new name and a partition) moves the
            // mailbox's files to another partition.
            match &partition {
                Some(p) => s.set_partition(&identity, &dst, p).map(|_| ()),
                None if same_name => Err(mailservice::ServiceError::AlreadyExists),
                None => Ok(()),
            }
        })
        .await;
    match result {
        Ok(()) => Reply::ok("Rename completed"),
        Err(e) => refuse(&e, Target::Source),
    }
}
