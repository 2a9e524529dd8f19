//! DELETE (RFC 9051 §6.3.5). INBOX cannot be deleted by its owner, by whatever name (the service
//! decides on the internal name); an administrator deleting `user.NAME` deletes the user's
//! hierarchy. Otherwise Cyrus, like RFC 3501, keeps children when a parent is deleted (the
//! parent's name then lives on as \Noselect only while children exist).

use imap_proto::command::Mailbox;
use mailservice::Operation;

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

pub(crate) async fn run(session: &mut Session, mailbox: Mailbox) -> Reply {
    let authorized = match session.authorize(&mailbox, Operation::DeleteMailbox) {
        Ok(a) => a,
        Err(e) => return refuse(&e, Target::Source),
    };
    if session
        .state
        .view()
        .is_some_and(|v| v.mailbox.name() == authorized.name())
    {
        session.state.deselect();
    }
    match session.blocking(move |s| s.delete(&authorized)).await {
        Ok(()) => Reply::ok("Delete completed"),
        Err(e) => refuse(&e, Target::Source),
    }
}
