//! ID (RFC 2971): logs what the client says of itself and names the server.

use imap_proto::command::IdParams;
use imap_proto::response::Data;

use crate::command::Reply;
use crate::connection::Session;

pub(crate) fn run(session: &mut Session, params: IdParams) -> Reply {
    if let Some(fields) = &params {
        let text: Vec<String> = fields
            .iter()
            .take(30)
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
