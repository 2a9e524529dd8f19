//! NAMESPACE (RFC 2342, RFC 9051 §6.3.10): in the standard namespace personal `INBOX.`, other
//! users `user.`, shared ""; in the alternate one personal "", other users `userprefix`, shared
//! `sharedprefix`.

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
    session.out.data(Data::Namespace {
        personal: one(personal),
        other: one(other),
        shared: one(shared),
    });
    Reply::ok("Namespace completed")
}
