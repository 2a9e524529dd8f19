//! One ManageSieve connection: the greeting (the capability listing, RFC 5804 §1.7), then
//! commands, each framed whole (literals included) by `managesieve_proto::CommandFramer`
//! within the server's bounds, parsed, and answered in order. Before authentication
//! (module `auth`) only CAPABILITY, STARTTLS, AUTHENTICATE, NOOP and LOGOUT are taken; after
//! it, the script commands (module `scripts`). Replies are queued and flushed whenever no
//! complete command is left in the input.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use managesieve_proto::{
    parse_command, Capabilities, Command, CommandFramer, Frame, FrameError, RespCode, Response,
};
use net::procfile::ProcFile;
use net::telemetry::Telemetry;
use net::{ConnInfo, ShutdownSignal, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::ManageSieveServer;

/// Malformed or refused commands in a row after which the client is disconnected.
const MAX_BAD_IN_A_ROW: u32 = 20;
/// The room made for each read.
const READ_CHUNK: usize = 8 * 1024;
/// Buffers larger than this are let go while the session waits for its client.
const IDLE_BUFFER: usize = 16 * 1024;

static SESSION_COUNTER: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Close,
}

/// Why reading stopped.
pub(crate) enum Stop {
    /// EOF or an I/O error: nothing more can be said.
    Gone,
    /// The client was idle too long (or did not authenticate in time).
    Timeout,
    /// The server is shutting down.
    Shutdown,
}

/// Where the session stands (RFC 5804 §1.8 has no selected state: these two are all).
pub(crate) enum State {
    NotAuthenticated,
    /// Authenticated; the identity acts on its own scripts.
    Authenticated(mailservice::Identity),
}

pub(crate) struct Session {
    pub(crate) server: Arc<ManageSieveServer>,
    pub(crate) transport: Transport,
    pub(crate) info: ConnInfo,
    shutdown: ShutdownSignal,
    pub(crate) id: String,
    pub(crate) framer: CommandFramer,
    pub(crate) input: Vec<u8>,
    pub(crate) out: Vec<u8>,
    pub(crate) state: State,
    bad_in_a_row: u32,
    pub(crate) login_failures: u32,
    pub(crate) proc: ProcFile,
    pub(crate) telemetry: Option<Telemetry>,
    /// The connection must have authenticated by then.
    login_deadline: Instant,
    /// A write failed or timed out: nothing more is sent.
    write_failed: bool,
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
        let login_deadline = Instant::now() + server.config.prelogin_timeout;
        Session {
            framer: CommandFramer::new(server.limits()),
            server,
            transport,
            info,
            shutdown,
            id,
            input: Vec::new(),
            out: Vec::new(),
            state: State::NotAuthenticated,
            bad_in_a_row: 0,
            login_failures: 0,
            proc,
            telemetry: None,
            login_deadline,
            write_failed: false,
        }
    }

    pub async fn run(mut self) {
        tracing::debug!(
            "{}: ManageSieve connection to {} from {}",
            self.id,
            self.server.config.servername,
            self.info.peer
        );
        // The listing ends with a bare `OK`: Cyrus's client library (sieveshell, cyradm)
        // expects the line end right after it.
        self.capabilities();
        self.respond(Response::ok(""));
        'session: loop {
            loop {
                let flow = match self.framer.take_command(&mut self.input) {
                    Frame::Command(frame) => self.command(&frame).await,
                    Frame::Refused(why) => self.refused_frame(why),
                    Frame::Incomplete => break,
                };
                if flow == Flow::Close {
                    break 'session;
                }
            }
            if self.flush().await.is_err() {
                break;
            }
            if let Err(stop) = self.read_more().await {
                self.stopped(stop);
                break;
            }
        }
        if self.flush().await.is_ok() {
            // A TLS close_notify is a write too: bounded like the others.
            let timeout = self.server.config.timeout;
            let _ = tokio::time::timeout(timeout, self.transport.shutdown()).await;
        }
        if let Some(telemetry) = self.telemetry.as_mut() {
            let _ = telemetry.finish().await;
        }
    }

    pub(crate) fn respond(&mut self, response: Response) {
        self.out.extend_from_slice(&response.to_bytes());
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
        self.count_bad()
    }

    /// Writes the queued output, within the timeout; an error ends the session.
    pub(crate) async fn flush(&mut self) -> std::io::Result<()> {
        if self.write_failed {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        if self.out.is_empty() {
            return Ok(());
        }
        if let Some(telemetry) = self.telemetry.as_mut() {
            if telemetry.server(&self.out).await.is_err() {
                self.telemetry = None;
            }
        }
        let write = async {
            self.transport.write_all(&self.out).await?;
            self.transport.flush().await
        };
        let written = tokio::time::timeout(self.server.config.timeout, write).await;
        self.out.clear();
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.write_failed = true;
                Err(e)
            }
            Err(_) => {
                tracing::warn!(
                    severity = "warning",
                    "{}: ManageSieve write timeout, the client does not read; closing",
                    self.info.peer
                );
                self.write_failed = true;
                Err(std::io::ErrorKind::TimedOut.into())
            }
        }
    }

    /// How long the next read may wait: until the login deadline before authentication, the
    /// inactivity timer after.
    fn read_timeout(&self) -> Duration {
        match self.state {
            State::NotAuthenticated => self
                .login_deadline
                .saturating_duration_since(Instant::now()),
            State::Authenticated(_) => self.server.config.timeout,
        }
    }

    /// Reads whatever the client sends next onto the input buffer; an idle session keeps no
    /// large buffer.
    pub(crate) async fn read_more(&mut self) -> Result<(), Stop> {
        let timeout = self.read_timeout();
        if self.input.is_empty() && self.input.capacity() > IDLE_BUFFER {
            self.input = Vec::new();
        }
        if self.out.is_empty() && self.out.capacity() > IDLE_BUFFER {
            self.out = Vec::new();
        }
        let before = self.input.len();
        self.input.reserve(READ_CHUNK);
        let read = tokio::select! {
            biased;
            _ = self.shutdown.wait() => return Err(Stop::Shutdown),
            r = tokio::time::timeout(timeout, self.transport.read_buf(&mut self.input)) => r,
        };
        match read {
            Err(_) => Err(Stop::Timeout),
            Ok(Ok(0)) | Ok(Err(_)) => Err(Stop::Gone),
            Ok(Ok(_)) => {
                if let Some(telemetry) = self.telemetry.as_mut() {
                    if telemetry.client(&self.input[before..]).await.is_err() {
                        self.telemetry = None;
                    }
                }
                Ok(())
            }
        }
    }

    /// Says goodbye when reading stopped for a reason the client should hear (§1.2: `BYE`).
    pub(crate) fn stopped(&mut self, stop: Stop) {
        match stop {
            Stop::Gone => {}
            Stop::Timeout => {
                tracing::info!("{}: ManageSieve autologout", self.info.peer);
                self.respond(Response::bye("Autologout; idle for too long"));
            }
            Stop::Shutdown => self.respond(
                Response::bye("Server shutting down; try again shortly")
                    .with_code(RespCode::TryLater),
            ),
        }
    }

    fn count_bad(&mut self) -> Flow {
        self.bad_in_a_row += 1;
        if self.bad_in_a_row < MAX_BAD_IN_A_ROW {
            return Flow::Continue;
        }
        tracing::warn!(
            severity = "warning",
            "{}: too many bad ManageSieve commands, disconnecting",
            self.info.peer
        );
        self.respond(Response::bye("Too many errors, closing connection"));
        Flow::Close
    }

    async fn command(&mut self, frame: &[u8]) -> Flow {
        let command = match parse_command(frame) {
            Ok(c) => c,
            Err(e) => {
                self.respond(Response::no(e.text()));
                return self.count_bad();
            }
        };
        self.bad_in_a_row = 0;
        if self.shutdown.is_triggered() && !matches!(command, Command::Logout) {
            self.stopped(Stop::Shutdown);
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
                    self.count_bad()
                }
            },
        }
    }

    /// UNAUTHENTICATE (RFC 5804 §2.14): back to the non-authenticated state.
    fn unauthenticate(&mut self) -> Flow {
        match self.state {
            State::Authenticated(_) => {
                self.state = State::NotAuthenticated;
                self.login_deadline = Instant::now() + self.server.config.prelogin_timeout;
                self.proc.update(None, None);
                self.telemetry = None;
                self.respond(Response::ok(""));
                Flow::Continue
            }
            State::NotAuthenticated => {
                self.respond(Response::no("Not authenticated"));
                self.count_bad()
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
            starttls: config.tls.is_some() && !self.transport.is_tls() && !authenticated,
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
        self.out.extend_from_slice(&caps.to_bytes());
    }

    /// Plaintext passwords may be sent here (TLS, loopback, `allowplaintext`).
    pub(crate) fn plaintext_allowed(&self) -> bool {
        self.info
            .plaintext_login_allowed(self.transport.is_tls(), self.server.config.allow_plaintext)
    }
}
