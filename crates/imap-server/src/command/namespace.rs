//! NAMESPACE (RFC 2342, RFC 9051 §6.3.10): in the standard namespace personal `INBOX.`, other
//! users `user.`, shared ""; in the alternate one personal "", other users `userprefix`, shared
//! `sharedprefix`. The anonymous identity, which owns no mailbox, has no personal namespace
//! (NIL).

use imap_proto::response::{Data, NamespaceDesc};

use crate::command::Reply;
use crate::connection::Session;

pub(crate) fn run(session: &mut Session) -> Reply {
    let Some(identity) = session.state.identity() else {
        return Reply::bad("Not authenticated");
    };
    let ns = session.service().namespace();
    let sep = Some(ns.separator());
    let (personal, other, shared) = ns.prefixes(identity);
    let one = |prefix: String| {
        Some(vec![NamespaceDesc {
            prefix,
            delimiter: sep,
        }])
    };
    let personal = match identity.inbox() {
        Some(_) => one(personal),
        None => None,
    };
    session.out.data(Data::Namespace {
        personal,
        other: one(other),
        shared: one(shared),
    });
    Reply::ok("Namespace completed")
}
