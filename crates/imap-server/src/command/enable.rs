//! ENABLE (RFC 5161): IMAP4rev2 (RFC 9051 §6.3.1) switches mailbox names to UTF-8; CONDSTORE
//! and QRESYNC (RFC 7162 §3.1, §3.2.3; QRESYNC implies CONDSTORE) add MODSEQ to untagged
//! FETCH responses and VANISHED in place of EXPUNGE. Anything else is ignored, as the RFC asks.
//! UTF8=ACCEPT (RFC 6855) waits for UTF8 APPEND support. An extension CAPABILITY does not show
//! (`suppress_capabilities`; on a frontend, one a backend lacks) is not enabled either.

use imap_proto::response::Data;
use imap_proto::MailboxEncoding;

use crate::command::Reply;
use crate::connection::Session;

pub(crate) async fn run(session: &mut Session, names: Vec<String>) -> Reply {
    let mut enabled = Vec::new();
    for name in names {
        let upper = name.to_ascii_uppercase();
        // RFC 5161 §3.1: the server ignores what it does not support.
        if !session.offers(&upper) {
            continue;
        }
        let newly = match upper.as_str() {
            "IMAP4REV2" => !std::mem::replace(&mut session.enabled.imap4rev2, true),
            "CONDSTORE" => {
                let before = session.enabled.condstore;
                session.enable_condstore().await;
                !before
            }
            "QRESYNC" => {
                session.enable_condstore().await;
                !std::mem::replace(&mut session.enabled.qresync, true)
            }
            _ => false,
        };
        if newly {
            enabled.push(upper);
        }
    }
    if session.enabled.imap4rev2 {
        session.out.encoding = MailboxEncoding::Utf8;
        session.framer.set_mailbox_encoding(MailboxEncoding::Utf8);
    }
    session.out.data(Data::Enabled(enabled));
    // The backend of a proxied selected mailbox follows now, so what it reports on
    // enabling (HIGHESTMODSEQ) comes with this command, as it would here.
    if let Some(backend) = session.state.proxied().map(|p| p.backend.clone()) {
        match session.backend(&backend).await {
            Ok(conn) => session.backends.put(conn),
            Err(e) => return session.unavailable(&backend, &e),
        }
    }
    Reply::ok("Enabled")
}
