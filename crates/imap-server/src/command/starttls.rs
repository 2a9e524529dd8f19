//! STARTTLS (RFC 9051 §6.2.1): the tagged OK goes out in plaintext, then the handshake; anything
//! the client pipelined after the command is discarded (a new framer), so no plaintext can be
//! injected into the protected session.

use imap_proto::command::Tag;
use imap_proto::response::StatusKind;
use imap_proto::CommandFramer;

use crate::command::Reply;
use crate::connection::Session;

pub(crate) async fn run(session: &mut Session, tag: &Tag) -> Reply {
    let Some(tls) = session.server.config.tls.clone() else {
        return Reply::no(
            None,
            "STARTTLS is not available: no certificate is configured",
        );
    };
    if session.transport.is_tls() {
        return Reply::bad("TLS is already active");
    }
    session
        .out
        .tagged(tag, StatusKind::Ok, None, "Begin TLS negotiation now");
    if session.flush().await.is_err() {
        return Reply::already_sent().closing();
    }
    match session.transport.start_tls(tls).await {
        Ok(()) => {
            session.framer = CommandFramer::new(session.server.config.limits.before_login());
            Reply::already_sent()
        }
        Err(e) => {
            tracing::warn!(severity = "warning", "{}: STARTTLS: {e}", session.info.peer);
            Reply::already_sent().closing()
        }
    }
}
