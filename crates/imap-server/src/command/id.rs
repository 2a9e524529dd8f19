//! ID (RFC 2971): logs what the client says of itself and names the server. The parser holds
//! the fields to RFC 2971 §3.3's limits (30 pairs, names of 30 octets, values of 1024), and
//! only the first ID of each state (before and after login) is logged, so a client cannot
//! flood the log; control characters in it are escaped by the log sinks.

use imap_proto::command::IdParams;
use imap_proto::response::Data;

use crate::command::Reply;
use crate::connection::Session;

pub(crate) fn run(session: &mut Session, params: IdParams) -> Reply {
    if let (Some(fields), false) = (&params, session.id_logged) {
        session.id_logged = true;
        let text: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("NIL")))
            .collect();
        tracing::info!(
            "{} {}: client id {}",
            session.id,
            session.info.peer,
            text.join(" ")
        );
    }
    let ours = vec![
        ("name".to_string(), Some("Darius".to_string())),
        (
            "version".to_string(),
            Some(env!("CARGO_PKG_VERSION").to_string()),
        ),
        ("vendor".to_string(), Some("Darius".to_string())),
    ];
    session.out.data(Data::Id(Some(ours)));
    Reply::ok("ID completed")
}
