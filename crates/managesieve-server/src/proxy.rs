//! ManageSieve through a Murder frontend (docs/murder.md): a user's Sieve scripts live on the
//! backend that holds their INBOX, so once the user is authenticated here a session whose
//! INBOX another server holds is served by that backend's ManageSieve service.
//!
//! The frontend connects to the backend the directory names, reads its capability listing up
//! to the `OK`, sends STARTTLS where `proxy_tls` wants it and reads the listing that follows
//! the handshake (RFC 5804 §2.2), and authenticates with `AUTHENTICATE "PLAIN"` (RFC 5804 §2.1, RFC
//! 4616) as its own identity ([`ProxyLogin`], which the backend must list in `proxyservers`)
//! with the user as the authorization identity. The client then hears `OK` to its
//! AUTHENTICATE and the rest of the session is relayed both ways (module `relay`): the
//! commands that follow, CAPABILITY included, are answered by the backend. A backend that
//! cannot be reached or refuses the login is `NO (TRYLATER)`, and the session stays
//! unauthenticated.

use std::time::Duration;

use auth::AuthOutcome;
use mailservice::Backend;
use managesieve_proto::{
    read_server_line, Command, Item, ReplyLimits, RespCode, Response, ServerLine, Status,
};
use net::{ClientStream, ClientTls};
use sasl::Mechanism;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use types::Secret;

use crate::session::{Flow, Session};

/// How long connecting to a backend, its greeting and the login may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The most lines a backend's greeting may have (a capability listing is a dozen).
const MAX_GREETING_LINES: usize = 100;

pub use mailservice::ProxyLogin;

impl Session {
    /// `user` proved who they are (by `mech`) and their INBOX is on `server` (`backend` as the
    /// directory describes it): serve the session from there.
    pub(crate) async fn proxy_to_backend(
        &mut self,
        user: &str,
        mech: Mechanism,
        server: &str,
        backend: Option<Backend>,
    ) -> Flow {
        let Some(login) = self.server.config.proxy.as_ref().map(|l| l.at(server)) else {
            tracing::error!(
                severity = "err",
                "ManageSieve login of {user}: the INBOX is on {server}, and no proxy_authname is set"
            );
            return self.backend_unavailable();
        };
        let Some(address) = backend.filter(|b| b.alive).and_then(|b| b.sieve) else {
            tracing::warn!(
                "ManageSieve login of {user}: backend {server} is down or has no ManageSieve"
            );
            return self.backend_unavailable();
        };
        let tls = self.server.config.proxy_tls.clone();
        let logged_in = tokio::time::timeout(CONNECT_TIMEOUT, log_in(&address, &login, &tls, user))
            .await
            .unwrap_or_else(|_| Err("timed out".to_string()));
        let stream = match logged_in {
            Ok(stream) => stream,
            Err(why) => {
                tracing::warn!("ManageSieve login of {user} at {server} ({address}): {why}");
                return self.backend_unavailable();
            }
        };
        let peer = self.conn.info.peer.to_string();
        auth::log_authentication(AuthOutcome::Success, user, &peer, mech.name());
        tracing::info!(
            "{}: ManageSieve session of {user} proxied to {server}",
            self.id
        );
        self.proc.update(Some(user), None);
        self.respond(Response::ok(""));
        if self.conn.flush().await.is_err() {
            return Flow::Close;
        }
        let pipelined = std::mem::take(&mut self.conn.input);
        let ended = net::relay::relay(
            &mut self.conn.transport,
            stream,
            &pipelined,
            self.shutdown.clone(),
            self.server.config.timeout,
        )
        .await;
        if let Err(e) = ended {
            tracing::info!("{}: ManageSieve relay to {server} ended: {e}", self.id);
        }
        Flow::Close
    }

    /// `NO (TRYLATER)`: the client may try again later; the session stays unauthenticated.
    fn backend_unavailable(&mut self) -> Flow {
        self.respond(
            Response::no("The server holding your scripts is not available now; try later")
                .with_code(RespCode::TryLater),
        );
        Flow::Continue
    }
}

/// Connects to `address`, reads the greeting, starts TLS as `tls` says and authenticates as
/// `user` through `login`; why not, for the log.
async fn log_in(
    address: &str,
    login: &ProxyLogin,
    tls: &ClientTls,
    user: &str,
) -> Result<ClientStream, String> {
    let tcp = TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    let mut stream = ClientStream::Plain(tcp);
    let mut input = Vec::new();
    let (greeting, capabilities) = response(&mut stream, &mut input, Lines::Capabilities).await?;
    if greeting.status != Status::Ok {
        return Err(format!("greeting: {greeting:?}"));
    }
    let offered = capabilities
        .iter()
        .any(|c| c.eq_ignore_ascii_case(b"STARTTLS"));
    if tls.wanted(offered).map_err(|e| format!("TLS: {e}"))? {
        start_tls(&mut stream, &mut input, tls, address).await?;
    }
    // RFC 4616 §2: authzid NUL authcid NUL passwd.
    let mut message = Vec::new();
    message.extend_from_slice(user.as_bytes());
    message.push(0);
    message.extend_from_slice(login.authname.as_bytes());
    message.push(0);
    message.extend_from_slice(login.password.expose().as_bytes());
    let authenticate = Command::Authenticate {
        mechanism: "PLAIN".into(),
        initial: Some(Secret::new(message)),
    };
    let mut line = authenticate.encode();
    line.extend_from_slice(b"\r\n");
    stream.write_all(&line).await.map_err(|e| e.to_string())?;
    let (answer, _) = response(&mut stream, &mut input, Lines::None).await?;
    if answer.status != Status::Ok {
        return Err(format!("AUTHENTICATE answered {answer:?}"));
    }
    if !input.is_empty() {
        // Nothing may follow the answer until the client speaks.
        return Err("output after the AUTHENTICATE answer".into());
    }
    Ok(stream)
}

/// STARTTLS, the handshake after its `OK`, and the capability listing the backend sends
/// once TLS is up (RFC 5804 §2.2).
async fn start_tls(
    stream: &mut ClientStream,
    input: &mut Vec<u8>,
    tls: &ClientTls,
    address: &str,
) -> Result<(), String> {
    let mut line = Command::StartTls.encode();
    line.extend_from_slice(b"\r\n");
    stream.write_all(&line).await.map_err(|e| e.to_string())?;
    let (answer, _) = response(stream, input, Lines::None).await?;
    if answer.status != Status::Ok {
        return Err(format!("STARTTLS answered {answer:?}"));
    }
    stream
        .start_tls(tls, address, input)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let (listed, _) = response(stream, input, Lines::Capabilities).await?;
    if listed.status != Status::Ok {
        return Err(format!("the capabilities after STARTTLS: {listed:?}"));
    }
    Ok(())
}

/// What may come before a response.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lines {
    /// The greeting's capability listing (RFC 5804 §1.7).
    Capabilities,
    /// Nothing: a line that is not a response (a SASL challenge, say) is an error.
    None,
}

/// Reads server lines up to the next `OK`, `NO` or `BYE`, past the data lines `before` allows
/// (whose first items, the capability names, come back with it); anything unreadable is an
/// error.
async fn response(
    stream: &mut ClientStream,
    input: &mut Vec<u8>,
    before: Lines,
) -> Result<(Response, Vec<Vec<u8>>), String> {
    let limits = ReplyLimits::default();
    let mut chunk = [0u8; 4096];
    let mut names = Vec::new();
    loop {
        match read_server_line(input, &limits).map_err(|e| e.to_string())? {
            Some((ServerLine::Response(response), used)) => {
                input.drain(..used);
                return Ok((response, names));
            }
            Some((ServerLine::Data(_), _)) if before == Lines::None => {
                return Err("a data line where a response was due".into());
            }
            Some((ServerLine::Data(items), used)) => {
                input.drain(..used);
                if names.len() == MAX_GREETING_LINES {
                    return Err("too many lines before a response".into());
                }
                names.push(match items.into_iter().next() {
                    Some(Item::String(name) | Item::Atom(name)) => name,
                    None => Vec::new(),
                });
            }
            None => {
                let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("connection closed".into());
                }
                input.extend_from_slice(&chunk[..n]);
            }
        }
    }
}
