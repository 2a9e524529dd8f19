//! POP3 through a Murder frontend (docs/murder.md): a user whose INBOX another server holds is
//! authenticated here, then served by that backend's POP3 service, as Cyrus's `proxyd` does.
//!
//! The frontend connects to the backend the directory names, takes its greeting, asks CAPA and
//! sends STLS where `proxy_tls` wants it (RFC 2595 §4, RFC 2449), and logs in with `AUTH PLAIN` (RFC 5034, RFC 4616) as its own identity ([`ProxyLogin`], which
//! the backend must list in `proxyservers`) with the user as the authorization identity. The
//! backend's answer is the client's answer to its login: `+OK` with the backend's maildrop
//! figures, after which the rest of the session is relayed both ways (module `relay`) and QUIT
//! ends both; a refusal the client can act on (`[IN-USE]`, `[LOGIN-DELAY]`, `[SYS/…]`) is passed
//! on and the session stays unauthenticated. A backend that cannot be reached, or no
//! credentials to reach it with, is `-ERR [SYS/TEMP]` and the connection is closed.

use std::time::Duration;

use mailservice::Backend;
use net::{ClientStream, ClientTls};
use pop3_proto::{Command, LineFramer, LineResult, RespCode, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use types::Secret;

use crate::session::{Flow, Session};

/// How long connecting to a backend, its greeting and the login may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest status line read from a backend, line end excluded (RFC 2449 §4 allows 512
/// octets with it; this is lenient with servers that write more).
const MAX_STATUS_LINE: usize = 1024;
/// The most lines of a backend's CAPA answer (a dozen are usual).
const MAX_CAPA_LINES: usize = 100;

pub use mailservice::ProxyLogin;

/// Why the backend session could not be had.
enum Failed {
    /// The backend answered the login with this `-ERR`.
    Refused(Response),
    /// Not reachable, or not speaking POP3; the text is for the log.
    Unreachable(String),
}

/// A backend connection logged in as the user.
struct LoggedIn {
    stream: ClientStream,
    /// The backend's `+OK` to the login, line end included.
    answer: Vec<u8>,
}

impl Session {
    /// The credentials for `user` are proved and their INBOX is on `server` (`backend` as the
    /// directory describes it): serve the session from there.
    pub(crate) async fn proxy_to_backend(
        &mut self,
        user: &str,
        mechanism: &'static str,
        server: &str,
        backend: Option<Backend>,
    ) -> Flow {
        let Some(login) = self.server.config.proxy.as_ref().map(|l| l.at(server)) else {
            tracing::error!(
                severity = "err",
                "POP3 login of {user}: the INBOX is on {server}, and no proxy_authname is set"
            );
            return self.backend_unavailable();
        };
        let Some(address) = backend.filter(|b| b.alive).and_then(|b| b.pop3) else {
            tracing::warn!("POP3 login of {user}: backend {server} is down or has no POP3");
            return self.backend_unavailable();
        };
        let tls = self.server.config.proxy_tls.clone();
        let logged_in = tokio::time::timeout(CONNECT_TIMEOUT, log_in(&address, &login, &tls, user))
            .await
            .unwrap_or_else(|_| Err(Failed::Unreachable("timed out".into())));
        let LoggedIn { stream, answer } = match logged_in {
            Ok(logged_in) => logged_in,
            Err(Failed::Unreachable(why)) => {
                tracing::warn!("POP3 login of {user} at {server} ({address}): {why}");
                return self.backend_unavailable();
            }
            Err(Failed::Refused(response)) => return self.backend_refused(user, server, response),
        };
        let peer = self.conn.info.peer.to_string();
        auth::log_authentication(auth::AuthOutcome::Success, user, &peer, mechanism);
        tracing::info!("{}: POP3 session of {user} proxied to {server}", self.id);
        self.proc.update(Some(user), Some("INBOX"));
        self.conn.out.extend_from_slice(&answer);
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
            tracing::info!("{}: POP3 relay to {server} ended: {e}", self.id);
        }
        Flow::Close
    }

    /// `-ERR [SYS/TEMP]`, and the connection is closed: the client tries again later.
    fn backend_unavailable(&mut self) -> Flow {
        self.respond(
            Response::err("The mailbox server is not available now; try again later")
                .with_code(RespCode::SysTemp),
        );
        Flow::Close
    }

    /// The backend refused the login: the client hears a refusal it can act on; one that
    /// would blame its credentials (they were proved here) is a temporary failure instead.
    fn backend_refused(&mut self, user: &str, server: &str, response: Response) -> Flow {
        match response.code {
            Some(
                RespCode::InUse | RespCode::LoginDelay | RespCode::SysTemp | RespCode::SysPerm,
            ) => {
                self.respond(response);
            }
            Some(RespCode::Auth) | None => {
                tracing::error!(
                    severity = "err",
                    "POP3 login of {user}: backend {server} refused the proxy login: {}",
                    response.text
                );
                self.respond(
                    Response::err("Unable to open the maildrop now; try later")
                        .with_code(RespCode::SysTemp),
                );
            }
        }
        Flow::Continue
    }
}

/// Connects to `address`, takes the greeting, starts TLS as `tls` says and logs in as `user`
/// through `login`.
async fn log_in(
    address: &str,
    login: &ProxyLogin,
    tls: &ClientTls,
    user: &str,
) -> Result<LoggedIn, Failed> {
    let unreachable = |e: std::io::Error| Failed::Unreachable(e.to_string());
    let tcp = TcpStream::connect(address).await.map_err(unreachable)?;
    let _ = tcp.set_nodelay(true);
    let mut stream = ClientStream::Plain(tcp);
    let mut input = Vec::new();
    let (greeting, _) = status_line(&mut stream, &mut input).await?;
    if !greeting.ok {
        return Err(Failed::Unreachable(format!("greeting: {}", greeting.text)));
    }
    start_tls(&mut stream, &mut input, tls, address).await?;
    // RFC 4616 §2: authzid NUL authcid NUL passwd.
    let mut message = Vec::new();
    message.extend_from_slice(user.as_bytes());
    message.push(0);
    message.extend_from_slice(login.authname.as_bytes());
    message.push(0);
    message.extend_from_slice(login.password.expose().as_bytes());
    let auth = Command::Auth {
        mechanism: Some("PLAIN".into()),
        initial: Some(Secret::new(message)),
    };
    let mut line = auth.encode();
    line.extend_from_slice(b"\r\n");
    stream.write_all(&line).await.map_err(unreachable)?;
    let (answer, raw) = status_line(&mut stream, &mut input).await?;
    if !answer.ok {
        return Err(Failed::Refused(answer));
    }
    if !input.is_empty() {
        // Nothing may follow the answer until the client speaks.
        return Err(Failed::Unreachable("output after the login answer".into()));
    }
    Ok(LoggedIn {
        stream,
        answer: raw,
    })
}

/// STLS when the backend lists it in CAPA (RFC 2449 §6.8) and `tls` wants it, and the
/// handshake after its `+OK` (RFC 2595 §4).
async fn start_tls(
    stream: &mut ClientStream,
    input: &mut Vec<u8>,
    tls: &ClientTls,
    address: &str,
) -> Result<(), Failed> {
    let tls_failed = |e: net::ClientTlsError| Failed::Unreachable(format!("TLS: {e}"));
    if tls.mode() == net::ClientTlsMode::Off {
        return Ok(());
    }
    let offered = capabilities(stream, input)
        .await?
        .iter()
        .any(|c| c.eq_ignore_ascii_case("STLS"));
    if !tls.wanted(offered).map_err(tls_failed)? {
        return Ok(());
    }
    send(stream, &Command::Stls).await?;
    let (answer, _) = status_line(stream, input).await?;
    if !answer.ok {
        return Err(Failed::Unreachable(format!("STLS: {}", answer.text)));
    }
    stream
        .start_tls(tls, address, input)
        .await
        .map_err(tls_failed)
}

/// The capability names of the backend's CAPA answer (an `-ERR` lists none).
async fn capabilities(
    stream: &mut ClientStream,
    input: &mut Vec<u8>,
) -> Result<Vec<String>, Failed> {
    send(stream, &Command::Capa).await?;
    let (answer, _) = status_line(stream, input).await?;
    let mut names = Vec::new();
    if !answer.ok {
        return Ok(names);
    }
    let mut framer = LineFramer::new(MAX_STATUS_LINE);
    loop {
        let line = next_line(stream, input, &mut framer).await?;
        if line == b"." {
            return Ok(names);
        }
        if names.len() == MAX_CAPA_LINES {
            return Err(Failed::Unreachable("too long a CAPA answer".into()));
        }
        let line = String::from_utf8_lossy(&line);
        names.push(line.split(' ').next().unwrap_or_default().to_string());
    }
}

/// Sends one command.
async fn send(stream: &mut ClientStream, command: &Command) -> Result<(), Failed> {
    let mut line = command.encode();
    line.extend_from_slice(b"\r\n");
    stream
        .write_all(&line)
        .await
        .map_err(|e| Failed::Unreachable(e.to_string()))
}

/// Reads one status line: the response, and the line as sent (line end included, so that it
/// can be passed on unchanged).
async fn status_line(
    stream: &mut ClientStream,
    input: &mut Vec<u8>,
) -> Result<(Response, Vec<u8>), Failed> {
    let mut framer = LineFramer::new(MAX_STATUS_LINE);
    let line = next_line(stream, input, &mut framer).await?;
    let response = Response::parse(&line).ok_or_else(|| {
        let shown = String::from_utf8_lossy(&line).into_owned();
        Failed::Unreachable(format!("not a status line: {shown:?}"))
    })?;
    let mut raw = line;
    raw.extend_from_slice(b"\r\n");
    Ok((response, raw))
}

/// Reads one line, line end excluded.
async fn next_line(
    stream: &mut ClientStream,
    input: &mut Vec<u8>,
    framer: &mut LineFramer,
) -> Result<Vec<u8>, Failed> {
    let mut chunk = [0u8; 1024];
    loop {
        match framer.take_line(input) {
            LineResult::Line(line) => return Ok(line),
            LineResult::TooLong => return Err(Failed::Unreachable("line too long".into())),
            LineResult::Incomplete => {}
        }
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| Failed::Unreachable(e.to_string()))?;
        if n == 0 {
            return Err(Failed::Unreachable("connection closed".into()));
        }
        input.extend_from_slice(&chunk[..n]);
    }
}
