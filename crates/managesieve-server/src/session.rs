//! One ManageSieve connection: the greeting (the capability listing, RFC 5804 §1.7), then
//! commands, each framed whole (literals included) by `managesieve_proto::CommandFramer`
//! within the server's bounds, parsed, and answered in order. Before authentication
//! (module `auth`) only CAPABILITY, STARTTLS, AUTHENTICATE, NOOP and LOGOUT are taken; after
//! it, the script commands (module `scripts`). Replies are queued and flushed whenever no
//! complete command is left in the input.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use managesieve_proto::{
    parse_command, Capabilities, Command, CommandFramer, Frame, FrameError, RespCode, Response,
};
use net::procfile::ProcFile;
use net::session::{Bye, Connection, Phase, Protocol};
use net::{ConnInfo, ShutdownSignal, Transport};

use crate::ManageSieveServer;

/// ManageSieve to the shared connection plumbing: reads make room for 8 KiB (a script comes
/// as a literal); malformed or refused commands, 20 in a row, disconnect the client.
static MANAGESIEVE: Protocol = Protocol {
    name: "ManageSieve",
    read_chunk: 8 * 1024,
    idle_buffer: 16 * 1024,
    max_bad_in_a_row: 20,
    bye,
};

static SESSION_COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) use net::session::{Flow, Stop};

/// How ManageSieve says goodbye (§1.2: `BYE`), with `(TRYLATER)` when the server is going
/// away.
fn bye(why: Bye, out: &mut Vec<u8>) {
    let response = Response::bye(why.text());
    let response = match why {
        Bye::ShuttingDown => response.with_code(RespCode::TryLater),
        Bye::Autologout | Bye::TooManyErrors => response,
    };
    out.extend_from_slice(&response.to_bytes());
}

/// Where the session stands (RFC 5804 §1.8 has no selected state: these two are all).
pub(crate) enum State {
    NotAuthenticated,
    /// Authenticated; the identity acts on its own scripts.
    Authenticated(mailservice::Identity),
}

pub(crate) struct Session {
    pub(crate) server: Arc<ManageSieveServer>,
    /// The transport, buffers, timers and telemetry.
    pub(crate) conn: Connection,
    pub(crate) id: String,
    pub(crate) framer: CommandFramer,
    pub(crate) state: State,
    pub(crate) login_failures: u32,
    pub(crate) proc: ProcFile,
    /// The domain logins typed without one take here (`virtdomains: on`), looked up at the
    /// first login.
    pub(crate) server_domain: auth::server_domain::ConnectionDomain,
    /// The server's shutdown, for a session relayed to a backend (module `proxy`).
    pub(crate) shutdown: ShutdownSignal,
}

impl Session {
    pub fn new(
        server: Arc<ManageSieveServer>,
        transport: Transport,
        info: ConnInfo,
        shutdown: ShutdownSignal,
    ) -> Session {
        let n = SESSION_COUNTER.fetch_add(1, Ordering::Relaxed);
        let id = format!("sieve-{}-{n}", std::process::id());
        let proc = server.proc_files.create(&id, &info.peer.ip().to_string());
        let server_domain = auth::server_domain::ConnectionDomain::new(info.local.ip());
        let conn = Connection::new(
            &MANAGESIEVE,
            transport,
            info,
            shutdown.clone(),
            server.config.timeout,
            server.config.prelogin_timeout,
        );
        Session {
            framer: CommandFramer::new(server.limits()),
            server,
            conn,
            id,
            state: State::NotAuthenticated,
            login_failures: 0,
            proc,
            server_domain,
            shutdown,
        }
    }

    /// The domain a login typed without one takes on this connection (see
    /// `auth::server_domain`): looked up once, and only under `virtdomains: on`.
    pub(crate) async fn login_domain(&mut self) -> auth::server_domain::ServerDomain {
        let rules = self.server.sasl.login_identity();
        self.server_domain.get(rules).await
    }

    pub async fn run(mut self) {
        tracing::debug!(
            "{}: ManageSieve connection to {} from {}",
            self.id,
            self.server.config.servername,
            self.conn.info.peer
        );
        // The listing ends with a bare `OK`: Cyrus's client library (sieveshell, cyradm)
        // expects the line end right after it.
        self.capabilities();
        self.respond(Response::ok(""));
        'session: loop {
            loop {
                let flow = match self.framer.take_command(&mut self.conn.input) {
                    Frame::Command(frame) => self.command(&frame).await,
                    Frame::Refused(why) => self.refused_frame(why),
                    Frame::Incomplete => break,
                };
                if flow == Flow::Close {
                    break 'session;
                }
            }
            if self.conn.flush().await.is_err() {
                break;
            }
            if let Err(stop) = self.read_more().await {
                self.conn.stopped(stop);
                break;
            }
        }
        self.conn.close().await;
        // RFC 5423 Logout, for a session that logged in, however it ended.
        if let State::Authenticated(identity) = &self.state {
            self.server.service.report_logout(identity);
        }
    }

    /// Where this session comes from, for the events it causes (RFC 5423 `service`,
    /// `clientIP`, `serverDomain`...).
    pub(crate) fn origin(&self) -> mailservice::Origin {
        mailservice::Origin {
            service: "sieve",
            client: Some(self.conn.info.peer),
            server: Some(self.conn.info.local),
            session_id: Some(self.id.clone()),
        }
    }

    pub(crate) fn respond(&mut self, response: Response) {
        self.conn.out.extend_from_slice(&response.to_bytes());
    }

    /// A command the framer refused (too long a line or command, too large a literal): the
    /// framer skips the rest of it, and the client hears why.
    fn refused_frame(&mut self, why: FrameError) -> Flow {
        let response = match why {
            FrameError::LiteralTooLarge(_) => {
                let limit = self.server.service.sieve_config().max_script_size;
                Response::no(&format!(
                    "Too large; the limit for a script is {limit} bytes"
                ))
                .with_code(RespCode::QuotaMaxSize)
            }
            FrameError::LineTooLong | FrameError::CommandTooLong => Response::no(why.text()),
        };
        self.respond(response);
        self.conn.count_bad()
    }

    /// Reads whatever the client sends next: until the login deadline before
    /// authentication, within the inactivity timer after.
    pub(crate) async fn read_more(&mut self) -> Result<(), Stop> {
        let phase = match self.state {
            State::NotAuthenticated => Phase::BeforeLogin,
            State::Authenticated(_) => Phase::LoggedIn,
        };
        self.conn.read_more(phase).await
    }

    async fn command(&mut self, frame: &[u8]) -> Flow {
        let command = match parse_command(frame) {
            Ok(c) => c,
            Err(e) => {
                self.respond(Response::no(e.text()));
                return self.conn.count_bad();
            }
        };
        self.conn.good_command();
        if self.conn.shutting_down() && !matches!(command, Command::Logout) {
            self.conn.stopped(Stop::Shutdown);
            return Flow::Close;
        }
        match command {
            Command::Capability => {
                self.capabilities();
                self.respond(Response::ok(""));
                Flow::Continue
            }
            Command::Logout => {
                self.respond(Response::ok(""));
                Flow::Close
            }
            Command::Noop { tag } => {
                let response = Response::ok("");
                self.respond(match tag {
                    Some(tag) => response.with_code(RespCode::Tag(tag)),
                    None => response,
                });
                Flow::Continue
            }
            Command::StartTls => self.starttls().await,
            Command::Authenticate { mechanism, initial } => {
                self.authenticate(&mechanism, initial).await
            }
            Command::Unauthenticate => self.unauthenticate(),
            Command::HaveSpace { .. }
            | Command::PutScript { .. }
            | Command::ListScripts
            | Command::SetActive { .. }
            | Command::GetScript { .. }
            | Command::DeleteScript { .. }
            | Command::RenameScript { .. }
            | Command::CheckScript { .. } => match &self.state {
                State::Authenticated(identity) => {
                    let identity = identity.clone();
                    self.script_command(identity, command).await;
                    Flow::Continue
                }
                State::NotAuthenticated => {
                    self.respond(Response::no("Authenticate first"));
                    self.conn.count_bad()
                }
            },
        }
    }

    /// UNAUTHENTICATE (RFC 5804 §2.14): back to the non-authenticated state.
    fn unauthenticate(&mut self) -> Flow {
        match &self.state {
            State::Authenticated(identity) => {
                // RFC 5423 Logout: the authenticated session ends here.
                self.server.service.report_logout(identity);
                self.state = State::NotAuthenticated;
                self.conn.restart_login_clock();
                self.proc.update(None, None);
                self.conn.telemetry = None;
                self.respond(Response::ok(""));
                Flow::Continue
            }
            State::NotAuthenticated => {
                self.respond(Response::no("Not authenticated"));
                self.conn.count_bad()
            }
        }
    }

    /// The capability listing (§1.7) for the session as it stands now; the caller sends the
    /// `OK` that closes it.
    pub(crate) fn capabilities(&mut self) {
        let config = &self.server.config;
        let authenticated = matches!(self.state, State::Authenticated(_));
        let sieve_caps = &self.server.service.sieve_config().capabilities;
        let sieve = sieve::sieve_capability_string(sieve_caps)
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let caps = Capabilities {
            implementation: format!("Darius {}", env!("CARGO_PKG_VERSION")),
            sasl: match authenticated {
                true => Vec::new(),
                false => self
                    .sasl_mechanisms()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            },
            sieve,
            starttls: config.tls.is_some() && !self.conn.transport.is_tls() && !authenticated,
            notify: match sieve_caps.supports("enotify") {
                true => vec!["mailto".to_string()],
                false => Vec::new(),
            },
            max_redirects: Some(config.max_redirects),
            language: None,
            owner: match &self.state {
                State::Authenticated(identity) => Some(identity.user().to_string()),
                State::NotAuthenticated => None,
            },
        };
        self.conn.out.extend_from_slice(&caps.to_bytes());
    }

    /// Plaintext passwords may be sent here (TLS, loopback, `allowplaintext`).
    pub(crate) fn plaintext_allowed(&self) -> bool {
        self.conn.info.plaintext_login_allowed(
            self.conn.transport.is_tls(),
            self.server.config.allow_plaintext,
        )
    }
}
