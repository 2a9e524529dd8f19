//! RENAME (RFC 9051 §6.3.6). Renaming INBOX moves all its messages to the new mailbox and leaves
//! INBOX empty; any other rename takes the mailbox's children along. What counts as INBOX, and
//! whether a partition may be named, is decided by the service on the internal names
//! (`MailService::rename`), so `RENAME user.alice x` by alice is a rename of her INBOX too.
//!
//! Access (RFC 4314 §4): `x` on the source, and `k` on the closest existing parent of the new
//! name, decided as for CREATE: a new name the user may not see answers `[NOPERM]`, as a
//! missing parent does, never `[ALREADYEXISTS]` or `[NONEXISTENT]`, so RENAME reveals no more
//! than CREATE. Administrators need neither right (mailbox management). Both are decided by
//! `MailService::authorize_rename`.
//!
//! A mailbox another server holds is renamed there (`proxy`): the new name stays on that
//! server, whatever server holds its new parent.

use imap_proto::command::{Command, Mailbox, Tag};

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

pub(crate) async fn run(
    session: &mut Session,
    tag: &Tag,
    from: Mailbox,
    to: Mailbox,
    partition: Option<String>,
) -> Reply {
    let Some(identity) = session.state.identity().cloned() else {
        return Reply::bad("Not authenticated");
    };
    let decided = session
        .service()
        .authorize_rename(&identity, from.as_str(), to.as_str());
    let (src, dst) = match decided {
        Ok(pair) => pair,
        Err(e) => return refuse(&e, Target::Source),
    };
    match session.remote(&src) {
        Ok(Some(remote)) => {
            let names = vec![src.name().clone(), dst.name().clone()];
            let command = Command::Rename {
                from,
                to,
                partition,
            };
            return crate::proxy::mailbox::changing(session, tag, &remote.server, command, names)
                .await;
        }
        Ok(None) => {}
        Err(e) => return refuse(&e, Target::Source),
    }
    let result = session
        .blocking(move |s| s.rename(&identity, &src, &dst, partition.as_deref()))
        .await;
    match result {
        Ok(()) => Reply::ok("Rename completed"),
        Err(e) => refuse(&e, Target::Source),
    }
}
