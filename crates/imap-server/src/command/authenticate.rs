//! AUTHENTICATE (RFC 9051 §6.2.2) with SASL-IR (RFC 4959). Mechanisms: PLAIN (RFC 4616) against
//! the password database; the Authentication issue adds the rest through the `sasl` crate.

use imap_proto::command::InitialResponse;
use imap_proto::response::{Code, Continue};
use imap_proto::{FramerEvent, FramerMode, Response};
use types::Secret;

use crate::command::Reply;
use crate::connection::Session;

pub(crate) async fn run(
    session: &mut Session,
    mechanism: &str,
    initial: Option<InitialResponse>,
) -> Reply {
    if !mechanism.eq_ignore_ascii_case("PLAIN") {
        return Reply::no(Some(Code::Cannot), "Unsupported authentication mechanism");
    }
    let response = match initial {
        Some(ir) => ir,
        None => match challenge(session).await {
            Some(response) => response,
            None => return Reply::bad("Authentication cancelled"),
        },
    };
    let Some((user, password)) = parse_plain(response.expose()) else {
        return Reply::bad("Malformed PLAIN response");
    };
    session.login(&user, password, "PLAIN").await
}

/// Sends an empty challenge and reads one response line; `None` when the client cancels, the
/// line is not base64, or the connection ends.
async fn challenge(session: &mut Session) -> Option<Secret<Vec<u8>>> {
    session
        .out
        .push(Response::Continue(Continue::Base64(Vec::new())));
    session.flush().await.ok()?;
    session.framer.set_mode(FramerMode::Authenticate);
    let mut buf = vec![0u8; 1024];
    let result = loop {
        match session.framer.next_event() {
            Some(FramerEvent::AuthResponse(data)) => break Some(data),
            Some(FramerEvent::AuthCancel) | Some(FramerEvent::Fatal(_)) => break None,
            Some(FramerEvent::Bad(_)) => break None,
            Some(_) => continue,
            None => match session.read_input(&mut buf).await {
                Some(n) => session.framer.push(&buf[..n]),
                None => break None,
            },
        }
    };
    session.framer.set_mode(FramerMode::Command);
    result
}

/// RFC 4616 §2: `[authzid] NUL authcid NUL passwd`. A different authzid is proxy authorization,
/// which comes with the Authentication issue; until then it is refused.
fn parse_plain(data: &[u8]) -> Option<(String, Secret<String>)> {
    let mut parts = data.split(|&b| b == 0);
    let authzid = std::str::from_utf8(parts.next()?).ok()?;
    let authcid = std::str::from_utf8(parts.next()?).ok()?;
    let passwd = std::str::from_utf8(parts.next()?).ok()?;
    if parts.next().is_some() || authcid.is_empty() || (!authzid.is_empty() && authzid != authcid) {
        return None;
    }
    Some((authcid.to_string(), Secret::new(passwd.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_responses_split_on_nul() {
        let (user, pw) = parse_plain(b"\0alice\0secret").unwrap();
        assert_eq!((user.as_str(), pw.expose().as_str()), ("alice", "secret"));
        assert!(parse_plain(b"alice\0alice\0secret").is_some());
        assert!(
            parse_plain(b"bob\0alice\0secret").is_none(),
            "proxy authorization is refused"
        );
        assert!(parse_plain(b"\0alice").is_none());
        assert!(parse_plain(b"\0\0secret").is_none());
    }
}
