//! SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8). As in Cyrus, a subscription to a mailbox
//! the user may not see is refused; UNSUBSCRIBE works for any name, so stale entries can go.
//! On a frontend, a user whose INBOX a backend holds subscribes there (`proxy::subscriptions`).

use imap_proto::command::{Command, Mailbox, Tag};
use mailservice::{Operation, ServiceError};

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Subscribe,
    Unsubscribe,
}

pub(crate) async fn run(session: &mut Session, tag: &Tag, mailbox: Mailbox, op: Op) -> Reply {
    let Some(identity) = session.state.identity().cloned() else {
        return Reply::bad("Not authenticated");
    };
    if let Some(backend) = session.inbox_backend() {
        let command = match op {
            Op::Subscribe => Command::Subscribe(mailbox),
            Op::Unsubscribe => Command::Unsubscribe(mailbox),
        };
        return session.forward_reply(tag, &backend, command).await;
    }
    let name = match session
        .service()
        .namespace()
        .to_internal(&identity, mailbox.as_str())
    {
        Ok(n) => n,
        Err(e) => return refuse(&e, Target::Source),
    };
    let result = session
        .blocking(move |s| match op {
            Op::Subscribe => {
                let a = s.authorize_internal(&identity, name.clone(), Operation::Lookup)?;
                s.entry(&a)?;
                s.subscribe(&identity, &name)
            }
            Op::Unsubscribe => {
                let subscribed = s.subscriptions(&identity)?;
                if !subscribed.contains(&name) {
                    return Err(ServiceError::NoSuchMailbox);
                }
                s.unsubscribe(&identity, &name)
            }
        })
        .await;
    match result {
        Ok(()) => Reply::ok("Completed"),
        Err(e) => refuse(&e, Target::Source),
    }
}
