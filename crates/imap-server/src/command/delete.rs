//! DELETE (RFC 9051 §6.3.5). INBOX cannot be deleted by its owner, by whatever name (the service
//! decides on the internal name); an administrator deleting `user.NAME` deletes the user's
//! hierarchy. Otherwise Cyrus, like RFC 3501, keeps children when a parent is deleted (the
//! parent's name then lives on as \Noselect only while children exist). A mailbox another
//! server holds is deleted there (`proxy`).

use imap_proto::command::{Command, Mailbox, Tag};
use mailservice::Operation;

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

pub(crate) async fn run(session: &mut Session, tag: &Tag, mailbox: Mailbox) -> Reply {
    let authorized = match session.authorize(&mailbox, Operation::DeleteMailbox) {
        Ok(a) => a,
        Err(e) => return refuse(&e, Target::Source),
    };
    match session.remote(&authorized) {
        Ok(Some(remote)) => {
            if let Some(referral) = session.referral(&remote, &mailbox) {
                return referral;
            }
            return delete_there(session, tag, &remote.server, mailbox, authorized).await;
        }
        Ok(None) => {}
        Err(e) => return refuse(&e, Target::Source),
    }
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

/// DELETE at the backend that holds the mailbox. Deleting the proxied selected mailbox
/// leaves it at the backend as here (the backend deselects it on the same connection).
async fn delete_there(
    session: &mut Session,
    tag: &Tag,
    backend: &str,
    mailbox: Mailbox,
    authorized: mailservice::Authorized,
) -> Reply {
    let selected_here = session
        .state
        .proxied()
        .is_some_and(|p| p.backend == backend && p.mailbox.name() == authorized.name());
    let names = vec![authorized.name().clone()];
    let command = Command::Delete(mailbox);
    let reply = crate::proxy::mailbox::changing(session, tag, backend, command, names).await;
    if selected_here && session.state.proxied().is_some() {
        session.state.deselect();
        session.backends.set_selected(backend, false);
    }
    reply
}
