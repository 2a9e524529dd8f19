//! One POP3 connection: the greeting, then commands in the AUTHORIZATION state (module
//! `auth`: USER/PASS, APOP, AUTH, STLS) and, once the maildrop is locked, the TRANSACTION state
//! (module `maildrop`), ending with QUIT's UPDATE. Commands are answered in order as they
//! arrive; replies are queued and flushed whenever no complete command is left in the input,
//! so pipelined commands (RFC 2449 §6.6) cost one write.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use net::procfile::ProcFile;
use net::telemetry::Telemetry;
use net::{ConnInfo, ShutdownSignal, Transport};
use pop3_proto::{parse_command, Command, LineFramer, LineResult, RespCode, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::maildrop::Maildrop;
use crate::{Expire, Pop3Server};

/// Unrecognised or malformed commands in a row after which the client is disconnected.
const MAX_BAD_IN_A_ROW: u32 = 20;
/// The room made for each read: a command line is at most 255 octets, and a pipelined burst
/// is simply read in several pieces.
const READ_CHUNK: usize = 2 * 1024;
/// Buffers larger than this are let go while the session waits for its client.
const IDLE_BUFFER: usize = 4 * 1024;
/// Queued output past which a multi-line response is written out before more is produced,
/// so a large message or listing never sits whole in memory.
pub(crate) const FLUSH_AT: usize = 64 * 1024;

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
    /// The client was idle too long (or did not log in in time).
    Timeout,
    /// The server is shutting down.
    Shutdown,
}

pub(crate) enum State {
    /// Not logged in; `user` is the name a USER command gave, which only the very next
    /// command (PASS) may use (RFC 1939 §7).
    Authorization { user: Option<String> },
    /// Logged in with the maildrop locked.
    Transaction(Box<Maildrop>),
}

pub(crate) struct Session {
    pub(crate) server: Arc<Pop3Server>,
    pub(crate) transport: Transport,
    pub(crate) info: ConnInfo,
    shutdown: ShutdownSignal,
    pub(crate) id: String,
    pub(crate) framer: LineFramer,
    pub(crate) input: Vec<u8>,
    pub(crate) out: Vec<u8>,
    pub(crate) state: State,
    bad_in_a_row: u32,
    pub(crate) login_failures: u32,
    /// The greeting's `<...>` timestamp, when APOP is offered (RFC 1939 §7).
    pub(crate) apop_timestamp: Option<String>,
    pub(crate) proc: ProcFile,
    pub(crate) telemetry: Option<Telemetry>,
    /// The connection must have logged in by then.
    login_deadline: Instant,
    /// A write failed or timed out: nothing more is sent.
    write_failed: bool,
}

impl Session {
    pub fn new(
        server: Arc<Pop3Server>,
        transport: Transport,
        info: ConnInfo,
        shutdown: ShutdownSignal,
    ) -> Session {
        let n = SESSION_COUNTER.fetch_add(1, Ordering::Relaxed);
        let id = format!("pop3-{}-{n}", std::process::id());
        let proc = server.proc_files.create(&id, &info.peer.ip().to_string());
        let apop_timestamp = server.apop_offered().then(|| {
            format!(
                "<{}.{}.{}@{}>",
                std::process::id(),
                n,
                rand::random::<u32>(),
                server.config.servername
            )
        });
        let login_deadline = Instant::now() + server.config.prelogin_timeout;
        Session {
            framer: LineFramer::new(pop3_proto::MAX_COMMAND_LINE),
            server,
            transport,
            info,
            shutdown,
            id,
            input: Vec::new(),
            out: Vec::new(),
            state: State::Authorization { user: None },
            bad_in_a_row: 0,
            login_failures: 0,
            apop_timestamp,
            proc,
            telemetry: None,
            login_deadline,
            write_failed: false,
        }
    }

    pub async fn run(mut self) {
        tracing::debug!("{}: POP3 connection from {}", self.id, self.info.peer);
        let mut greeting = format!("{} Darius POP3 server ready", self.server.config.servername);
        if let Some(stamp) = &self.apop_timestamp {
            greeting.push(' ');
            greeting.push_str(stamp);
        }
        self.respond(Response::ok(greeting));
        'session: loop {
            loop {
                match self.framer.take_line(&mut self.input) {
                    LineResult::Line(line) => {
                        if self.command(&line).await == Flow::Close {
                            break 'session;
                        }
                    }
                    LineResult::TooLong => {
                        self.respond(Response::err("Line too long"));
                        if self.count_bad() == Flow::Close {
                            break 'session;
                        }
                    }
                    LineResult::Incomplete => break,
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
        // Dropping the session releases the maildrop without expunging anything (RFC 1939
        // §6: only QUIT enters the UPDATE state).
    }

    pub(crate) fn respond(&mut self, response: Response) {
        response.encode(&mut self.out);
    }

    /// Writes the queued output, within the write timeout; an error ends the session.
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
                    "{}: POP3 write timeout, the client does not read; closing",
                    self.info.peer
                );
                self.write_failed = true;
                Err(std::io::ErrorKind::TimedOut.into())
            }
        }
    }

    /// Flushes when a multi-line response has queued enough.
    pub(crate) async fn flush_if_full(&mut self) -> std::io::Result<()> {
        if self.out.len() >= FLUSH_AT {
            self.flush().await
        } else {
            Ok(())
        }
    }

    /// How long the next read may wait: until the login deadline before login, the
    /// autologout timer after.
    fn read_timeout(&self) -> Duration {
        match self.state {
            State::Authorization { .. } => self
                .login_deadline
                .saturating_duration_since(Instant::now()),
            State::Transaction(_) => self.server.config.timeout,
        }
    }

    /// Reads whatever the client sends next onto the input buffer. While the client is quiet
    /// the session keeps no buffer a long answer or a burst of input grew: an idle connection
    /// costs little more than its socket.
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

    /// Says goodbye when reading stopped for a reason the client should hear.
    pub(crate) fn stopped(&mut self, stop: Stop) {
        match stop {
            Stop::Gone => {}
            Stop::Timeout => {
                tracing::info!("{}: POP3 autologout", self.info.peer);
                self.respond(Response::err("Autologout; idle for too long"));
            }
            Stop::Shutdown => self.respond(
                Response::err("Server shutting down; try again shortly")
                    .with_code(RespCode::SysTemp),
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
            "{}: too many bad POP3 commands, disconnecting",
            self.info.peer
        );
        self.respond(Response::err("Too many errors, closing connection"));
        Flow::Close
    }

    async fn command(&mut self, line: &[u8]) -> Flow {
        let command = match parse_command(line) {
            Ok(c) => c,
            Err(e) => {
                if let State::Authorization { user } = &mut self.state {
                    *user = None;
                }
                self.respond(Response::err(e.text()));
                return self.count_bad();
            }
        };
        self.bad_in_a_row = 0;
        if self.shutdown.is_triggered() && !matches!(command, Command::Quit) {
            self.stopped(Stop::Shutdown);
            return Flow::Close;
        }
        // A name from USER is for the PASS right after it only.
        let pending_user = match &mut self.state {
            State::Authorization { user } => user.take(),
            State::Transaction(_) => None,
        };
        match command {
            Command::Capa => {
                self.capa();
                Flow::Continue
            }
            Command::Quit => self.quit().await,
            Command::Noop if matches!(self.state, State::Transaction(_)) => {
                self.respond(Response::ok(""));
                Flow::Continue
            }
            command => match self.state {
                State::Authorization { .. } => self.authorization(command, pending_user).await,
                State::Transaction(_) => self.transaction(command).await,
            },
        }
    }

    /// CAPA (RFC 2449 §5): what this session may use now.
    fn capa(&mut self) {
        let config = &self.server.config;
        let mut lines: Vec<String> = vec![
            "TOP".into(),
            "UIDL".into(),
            "RESP-CODES".into(),
            "AUTH-RESP-CODE".into(),
            "PIPELINING".into(),
        ];
        let logged_in = matches!(self.state, State::Transaction(_));
        if !logged_in {
            if self.plaintext_allowed() {
                lines.push("USER".into());
            }
            let mechanisms = self.sasl_mechanisms();
            if !mechanisms.is_empty() {
                lines.push(format!("SASL {}", mechanisms.join(" ")));
            }
            if config.tls.is_some() && !self.transport.is_tls() {
                lines.push("STLS".into());
            }
        }
        lines.push(match config.expire {
            Expire::Never => "EXPIRE NEVER".into(),
            Expire::Days(days) => format!("EXPIRE {days}"),
        });
        if !config.min_poll.is_zero() {
            lines.push(format!("LOGIN-DELAY {}", config.min_poll.as_secs()));
        }
        lines.push(format!(
            "IMPLEMENTATION Darius-{}",
            env!("CARGO_PKG_VERSION")
        ));
        self.multiline(Response::ok("Capability list follows"), &lines);
    }

    /// A multi-line response of short lines this server wrote (none starts with `.`).
    pub(crate) fn multiline(&mut self, first: Response, lines: &[String]) {
        self.respond(first);
        for line in lines {
            self.out.extend_from_slice(line.as_bytes());
            self.out.extend_from_slice(b"\r\n");
        }
        self.out.extend_from_slice(b".\r\n");
    }

    async fn quit(&mut self) -> Flow {
        let servername = self.server.config.servername.clone();
        if matches!(self.state, State::Transaction(_)) {
            let state = std::mem::replace(&mut self.state, State::Authorization { user: None });
            if let State::Transaction(maildrop) = state {
                let response = self.update(*maildrop).await;
                self.respond(response);
            }
        } else {
            self.respond(Response::ok(format!(
                "{servername} Darius POP3 server signing off"
            )));
        }
        Flow::Close
    }

    /// Plaintext passwords may be sent here (TLS, loopback, `allowplaintext`).
    pub(crate) fn plaintext_allowed(&self) -> bool {
        self.info
            .plaintext_login_allowed(self.transport.is_tls(), self.server.config.allow_plaintext)
    }
}
