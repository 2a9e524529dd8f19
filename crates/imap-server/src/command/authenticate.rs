//! AUTHENTICATE (RFC 9051 §6.2.2) with SASL-IR (RFC 4959). The mechanisms, what each
//! connection is offered and who the client may act as are `auth::sasl_login`'s; this module
//! is the IMAP framing: base64 challenges as continuation requests, `*` cancellation (`BAD`),
//! a response that is not base64 (`BAD`), additional data with success sent as one more
//! challenge (IMAP has no other place for SCRAM's `v=`, RFC 9051 §6.2.2), and the one generic
//! `NO [AUTHENTICATIONFAILED]` for every failure, whatever its reason, which goes to the log.

use auth::sasl_login::{LoginAs, StartRefusal};
use auth::server_domain::ServerDomain;
use imap_proto::command::InitialResponse;
use imap_proto::response::{Code, Continue};
use imap_proto::{FramerEvent, FramerMode, Response};
use sasl::{Mechanism, Step, Success};
use types::Secret;

use crate::command::Reply;
use crate::connection::Session;

pub(crate) async fn run(
    session: &mut Session,
    mechanism: &str,
    initial: Option<InitialResponse>,
) -> Reply {
    let channel = session
        .sasl_channel()
        .with_server_domain(session.login_domain().await);
    let sasl = std::sync::Arc::clone(&session.server.sasl);
    let mut exchange = match sasl.start(mechanism, &channel) {
        Ok(exchange) => exchange,
        Err(StartRefusal::Unsupported) => {
            return Reply::no(Some(Code::Cannot), "Unsupported authentication mechanism")
        }
        Err(StartRefusal::NeedsTls) => {
            return Reply::no(
                Some(Code::PrivacyRequired),
                "This mechanism needs TLS; use STARTTLS",
            )
        }
        Err(StartRefusal::Throttled) => {
            return session.login_refused("Too many failed logins from your address; try later")
        }
    };
    let mech = exchange.mechanism();
    let mut step = match initial {
        Some(response) => exchange.step(response).await,
        None => Ok(exchange.start()),
    };
    loop {
        match step {
            Err(_busy) => {
                return session.login_refused("Too many logins at once; try again shortly")
            }
            Ok(Step::Challenge(challenge)) => match exchange_line(session, challenge).await {
                Some(response) => step = exchange.step(response).await,
                None => return Reply::bad("Authentication cancelled"),
            },
            Ok(Step::Done(success)) => {
                if let Some(data) = success.additional_data.clone() {
                    // The client acknowledges the server's proof with an empty response.
                    match exchange_line(session, data).await {
                        Some(ack) if ack.expose().is_empty() => {}
                        Some(_) => {
                            return failed(
                                session,
                                mech,
                                Some(success.authcid.clone()),
                                "non-empty final response",
                            )
                            .await
                        }
                        None => return Reply::bad("Authentication cancelled"),
                    }
                }
                let at = exchange.server_domain().clone();
                return authorized(session, &at, mech, success).await;
            }
            Ok(Step::Failed(failure)) => {
                if failure.is_unavailable() {
                    tracing::error!(severity = "err", "{mech} authentication: {failure}");
                    return Reply::no(
                        Some(Code::Unavailable),
                        "Authentication is unavailable; try later",
                    );
                }
                return failed(session, mech, exchange.user(), &failure.to_string()).await;
            }
        }
    }
}

/// A failed exchange: logged with its reason at NOTICE, answered generically after the delay.
async fn failed(session: &mut Session, mech: Mechanism, user: Option<String>, why: &str) -> Reply {
    let peer = session.info.peer.to_string();
    let shown = user.as_deref().unwrap_or("");
    tracing::info!(
        severity = "notice",
        peer,
        mechanism = mech.name(),
        "badlogin: {peer} {mech} [{shown}] authentication failure: {why}"
    );
    session.login_failed(user.as_deref()).await
}

/// The exchange succeeded: decide whom the client acts as (identities typed without a domain
/// taking `at`'s), then log in.
async fn authorized(
    session: &mut Session,
    at: &ServerDomain,
    mech: Mechanism,
    success: Success,
) -> Reply {
    if let Some(trace) = &success.trace {
        tracing::info!(
            severity = "notice",
            "{}: ANONYMOUS login, trace {trace:?}",
            session.info.peer
        );
    }
    let service = session.server.service.clone();
    let peer = session.info.peer.to_string();
    let decided = session
        .server
        .sasl
        .login_at(at, mech, &success, &peer, |authcid, user| async move {
            service.administers_inbox_of(&authcid, &user).await
        })
        .await;
    let user = match decided {
        LoginAs::User(user) => user,
        LoginAs::Anonymous => return session.login_anonymous(mech.name()),
        LoginAs::Refused { authcid, asked } => {
            return refused_authorization(session, mech, &authcid, &asked).await
        }
    };
    session.logged_in(&user, mech.name())
}

async fn refused_authorization(
    session: &mut Session,
    mech: Mechanism,
    authcid: &str,
    asked: &str,
) -> Reply {
    let peer = session.info.peer.to_string();
    tracing::info!(
        severity = "notice",
        "badlogin: {peer} {mech} [{authcid}] may not act as {asked:?}"
    );
    session.server.sasl.failed(session.info.peer.ip());
    let mut reply = session.login_failed(Some(authcid)).await;
    // RFC 5530 §3: the credentials were right, the authorization identity is not allowed.
    reply.code = Some(Code::AuthorizationFailed);
    reply
}

/// Sends a challenge and reads one response line; `None` when the client cancels, the line is
/// not base64, or the connection ends.
async fn exchange_line(session: &mut Session, challenge: Vec<u8>) -> Option<Secret<Vec<u8>>> {
    session
        .out
        .push(Response::Continue(Continue::Base64(challenge)));
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
