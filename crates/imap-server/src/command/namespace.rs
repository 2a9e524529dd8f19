//! NAMESPACE (RFC 2342, RFC 9051 §6.3.10): personal `INBOX.`, other users `user.`, shared "".

use imap_proto::response::{Data, NamespaceDesc};

use crate::command::Reply;
use crate::connection::Session;

pub(crate) fn run(session: &mut Session) -> Reply {
    let ns = session.service().namespace();
    let sep = Some(ns.separator());
    let (personal, other, shared) = ns.prefixes();
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
