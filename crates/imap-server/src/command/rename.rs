//! RENAME (RFC 9051 §6.3.6). Renaming INBOX moves all its messages to the new mailbox and leaves
//! INBOX empty; any other rename takes the mailbox's children along. What counts as INBOX, and
//! whether a partition may be named, is decided by the service on the internal names
//! (`MailService::rename`), so `RENAME user.alice x` by alice is a rename of her INBOX too.

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
    let Some(identity) = session.state.identity().cloned() else {
        return Reply::bad("Not authenticated");
    };
    let (src, dst) = match (
        session.authorize(&from, Operation::Rename),
        session.authorize(&to, Operation::Rename),
    ) {
        (Ok(src), Ok(dst)) => (src, dst),
        (Err(e), _) | (_, Err(e)) => return refuse(&e, Target::Source),
    };
    let result = session
        .blocking(move |s| s.rename(&identity, &src, &dst, partition.as_deref()))
        .await;
    match result {
        Ok(()) => Reply::ok("Rename completed"),
        Err(e) => refuse(&e, Target::Source),
    }
}
