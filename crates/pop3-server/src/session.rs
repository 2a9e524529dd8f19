//! One POP3 connection: the greeting, then commands in the AUTHORIZATION state (module
//! `auth`: USER/PASS, APOP, AUTH, STLS) and, once the maildrop is locked, the TRANSACTION state
//! (module `maildrop`), ending with QUIT's UPDATE. Commands are answered in order as they
//! arrive; replies are queued and flushed whenever no complete command is left in the input,
//! so pipelined commands (RFC 2449 §6.6) cost one write.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use net::procfile::ProcFile;
use net::session::{Bye, Connection, Phase, Protocol};
use net::{ConnInfo, ShutdownSignal, Transport};
use pop3_proto::{parse_command, Command, LineFramer, LineResult, RespCode, Response};

use crate::maildrop::Maildrop;
use crate::{Expire, Pop3Server};

/// POP3 to the shared connection plumbing. Reads make room for 2 KiB: a command line is at
/// most 255 octets, and a pipelined burst is simply read in several pieces. Unrecognised or
/// malformed commands, 20 in a row, disconnect the client.
static POP3: Protocol = Protocol {
    name: "POP3",
    read_chunk: 2 * 1024,
    idle_buffer: 4 * 1024,
    max_bad_in_a_row: 20,
    bye,
};
/// Queued output past which a multi-line response is written out before more is produced,
/// so a large message or listing never sits whole in memory.
pub(crate) const FLUSH_AT: usize = 64 * 1024;

static SESSION_COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) use net::session::{Flow, Stop};

/// How POP3 says goodbye: `-ERR`, with `[SYS/TEMP]` when the server is going away.
fn bye(why: Bye, out: &mut Vec<u8>) {
    let response = Response::err(why.text());
    let response = match why {
        Bye::ShuttingDown => response.with_code(RespCode::SysTemp),
        Bye::Autologout | Bye::TooManyErrors => response,
    };
    response.encode(out);
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
    /// The transport, buffers, timers and telemetry.
    pub(crate) conn: Connection,
    pub(crate) id: String,
    pub(crate) framer: LineFramer,
    pub(crate) state: State,
    pub(crate) login_failures: u32,
    /// The greeting's `<...>` timestamp, when APOP is offered (RFC 1939 §7).
    pub(crate) apop_timestamp: Option<String>,
    pub(crate) proc: ProcFile,
    /// The identity the session logged in as, for the Logout event at its end.
    pub(crate) logged_in: Option<mailservice::Identity>,
    /// The domain logins typed without one take here (`virtdomains: on`), looked up at the
    /// first login.
    pub(crate) server_domain: auth::server_domain::ConnectionDomain,
    /// The server's shutdown, for a session relayed to a backend (module `proxy`).
    pub(crate) shutdown: ShutdownSignal,
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
        let server_domain = auth::server_domain::ConnectionDomain::new(info.local.ip());
        let conn = Connection::new(
            &POP3,
            transport,
            info,
            shutdown.clone(),
            server.config.timeout,
            server.config.prelogin_timeout,
        );
        Session {
            framer: LineFramer::new(pop3_proto::MAX_COMMAND_LINE),
            server,
            conn,
            id,
            state: State::Authorization { user: None },
            login_failures: 0,
            apop_timestamp,
            proc,
            logged_in: None,
            server_domain,
            shutdown,
        }
    }

    /// The domain a login typed without one takes on this connection (see
    /// `auth::server_domain`): looked up once, and only under `virtdomains: on`.
    pub(crate) async fn login_domain(&mut self) -> auth::server_domain::ServerDomain {
        let rules = self.server.passwords.login_identity();
        self.server_domain.get(rules).await
    }

    /// Where this session comes from, for the events it causes (RFC 5423 `service`,
    /// `clientIP`, `serverDomain`...).
    pub(crate) fn origin(&self) -> mailservice::Origin {
        mailservice::Origin {
            service: "pop3",
            client: Some(self.conn.info.peer),
            server: Some(self.conn.info.local),
            session_id: Some(self.id.clone()),
        }
    }

    pub async fn run(mut self) {
        tracing::debug!("{}: POP3 connection from {}", self.id, self.conn.info.peer);
        let mut greeting = format!("{} Darius POP3 server ready", self.server.config.servername);
        if let Some(stamp) = &self.apop_timestamp {
            greeting.push(' ');
            greeting.push_str(stamp);
        }
        self.respond(Response::ok(greeting));
        'session: loop {
            loop {
                match self.framer.take_line(&mut self.conn.input) {
                    LineResult::Line(line) => {
                        if self.command(&line).await == Flow::Close {
                            break 'session;
                        }
                    }
                    LineResult::TooLong => {
                        self.respond(Response::err("Line too long"));
                        if self.conn.count_bad() == Flow::Close {
                            break 'session;
                        }
                    }
                    LineResult::Incomplete => break,
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
        if let Some(identity) = self.logged_in.take() {
            self.server.service.report_logout(&identity);
        }
        // Dropping the session releases the maildrop without expunging anything (RFC 1939
        // §6: only QUIT enters the UPDATE state).
    }

    pub(crate) fn respond(&mut self, response: Response) {
        response.encode(&mut self.conn.out);
    }

    /// Flushes when a multi-line response has queued enough.
    pub(crate) async fn flush_if_full(&mut self) -> std::io::Result<()> {
        if self.conn.out.len() >= FLUSH_AT {
            self.conn.flush().await
        } else {
            Ok(())
        }
    }

    /// Reads whatever the client sends next: until the login deadline before login, within
    /// the autologout timer after.
    pub(crate) async fn read_more(&mut self) -> Result<(), Stop> {
        let phase = match self.state {
            State::Authorization { .. } => Phase::BeforeLogin,
            State::Transaction(_) => Phase::LoggedIn,
        };
        self.conn.read_more(phase).await
    }

    async fn command(&mut self, line: &[u8]) -> Flow {
        let command = match parse_command(line) {
            Ok(c) => c,
            Err(e) => {
                if let State::Authorization { user } = &mut self.state {
                    *user = None;
                }
                self.respond(Response::err(e.text()));
                return self.conn.count_bad();
            }
        };
        self.conn.good_command();
        if self.conn.shutting_down() && !matches!(command, Command::Quit) {
            self.conn.stopped(Stop::Shutdown);
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
            if config.tls.is_some() && !self.conn.transport.is_tls() {
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
            self.conn.out.extend_from_slice(line.as_bytes());
            self.conn.out.extend_from_slice(b"\r\n");
        }
        self.conn.out.extend_from_slice(b".\r\n");
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
        self.conn.info.plaintext_login_allowed(
            self.conn.transport.is_tls(),
            self.server.config.allow_plaintext,
        )
    }
}
