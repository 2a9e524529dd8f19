//! One connection: the greeting, then bytes → framer → one command at a time → responses →
//! socket. The session is the socket's only writer, so responses keep their order by
//! construction. Blocking store work runs on tokio's blocking pool; no lock is held across an
//! `.await`.
//!
//! Time and size limits: before authentication the framer runs with
//! [`imap_proto::Limits::before_login`] and the connection has `prelogin_timeout` in total (not
//! per read) to authenticate; after it, the configured limits and the `timeout` autologout
//! apply. Every write to the socket is bounded by the same timeout as reads in that state, so
//! a client that stops reading cannot hold its task forever.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use imap_proto::command::{Mailbox, Tag};
use imap_proto::framer::{ContinuationSent, LiteralSync, MessageCommand};
use imap_proto::response::{Code, StatusKind};
use imap_proto::{CommandFramer, FramerEvent, SpoolRef};
use mailservice::{MailService, ServiceError};
use net::{ConnInfo, ShutdownSignal, TlsMode, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::command::Reply;
use crate::convert::{refuse, Target};
use crate::output::Output;
use crate::spool::{Spool, MAX_APPEND_MESSAGES};
use crate::state::State;
use crate::{ImapServer, LoginClaim};
use net::procfile::ProcFile;
use net::telemetry::Telemetry;

/// Bad commands in a row after which the client is disconnected.
const MAX_BAD_IN_A_ROW: u32 = 20;
/// Bytes read from the socket at once.
const READ_CHUNK: usize = 4096;

static SESSION_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What [`Session::next_input`] waited for.
pub(crate) enum Input {
    /// This many bytes from the client are in the buffer.
    Data(usize),
    /// The selected mailbox changed.
    Changed,
    /// The watched backend sent bytes (now in its buffer), or failed.
    Backend(Result<(), crate::proxy::ProxyError>),
    /// EOF, an error, a timeout or shutdown (BYE already sent for the last two).
    Ended,
}

/// What [`Session::next_input`] watches besides the client.
pub(crate) enum Watch<'a> {
    Client,
    /// Changes to the selected mailbox by other sessions (IDLE).
    Changes,
    /// The backend of the proxied selected mailbox (IDLE at a backend).
    Backend(&'a mut crate::proxy::BackendIo),
}

/// Whether the session goes on after an event.
#[derive(PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Close,
}

/// Serves one connection to the end.
pub async fn serve(
    server: Arc<ImapServer>,
    stream: TcpStream,
    info: ConnInfo,
    shutdown: ShutdownSignal,
    mode: TlsMode,
) {
    let tls = server.config.tls.clone();
    let Some(transport) = Transport::accept(stream, mode, tls, info.peer).await else {
        return;
    };
    let mut session = Session::new(server, transport, info, shutdown);
    session.run().await;
    session.backends.logout_all().await;
    // The identity the session logged in as, also after LOGOUT.
    let identity = session.logged_in.clone();
    let service = session.server.service.clone();
    session.xfer_in.end(&service, identity).await;
    // RFC 5423 Logout, for a session that logged in, however it ended.
    if let Some(identity) = session.logged_in.take() {
        session.server.service.report_logout(&identity);
    }
}

pub(crate) struct Session {
    pub server: Arc<ImapServer>,
    pub transport: Transport,
    pub info: ConnInfo,
    pub state: State,
    pub framer: CommandFramer,
    pub out: Output,
    pub spool: Spool,
    pub proc: ProcFile,
    pub shutdown: ShutdownSignal,
    pub id: String,
    pub enabled: Enabled,
    pub login_failures: u32,
    pub claim: Option<LoginClaim>,
    pub telemetry: Option<Telemetry>,
    /// The user whose telemetry to open once the current command completes (a login).
    telemetry_user: Option<String>,
    /// Whether this state's first ID was logged (later ones are answered, not logged).
    pub id_logged: bool,
    /// Connections to the backends of a Murder, opened on first use (see `proxy`).
    pub backends: crate::proxy::Backends,
    /// Whether the client is sent RFC 2193 referrals instead of being proxied (after it used
    /// RLIST or RLSUB).
    pub referrals: crate::proxy::Referrals,
    /// What this session holds of a transfer it receives from another backend (`xfer`).
    pub xfer_in: crate::xfer::target::Incoming,
    /// What this session holds of Cyrus XFERs it receives (`xfer::cyrus`).
    pub cyrus_in: crate::xfer::cyrus::CyrusIncoming,
    bad_in_a_row: u32,
    /// The connection must have authenticated by then.
    prelogin_deadline: Instant,
    /// A write failed or timed out: nothing more is sent.
    write_failed: bool,
    /// The identity the session logged in as, for the Logout event at its end.
    pub logged_in: Option<mailservice::Identity>,
    /// The domain logins typed without one take here (`virtdomains: on`), looked up at the
    /// first login.
    pub server_domain: auth::server_domain::ConnectionDomain,
}

/// Why a read gave up waiting.
#[derive(Clone, Copy)]
enum Expiry {
    /// Not authenticated by the pre-login deadline.
    Login(Duration),
    /// Authenticated and idle for the autologout time.
    Idle(Duration),
}

/// What woke a waiting session.
enum Woke {
    Data(usize),
    Ended,
    Changed,
    Backend(Result<(), crate::proxy::ProxyError>),
    Expired,
    Shutdown,
}

/// Extensions the client turned on with ENABLE (RFC 5161).
#[derive(Default)]
pub(crate) struct Enabled {
    pub imap4rev2: bool,
    /// RFC 7162 §3.1: after a CONDSTORE enabling command, every untagged FETCH carries UID
    /// and MODSEQ.
    pub condstore: bool,
    /// RFC 7162 §3.2.3: VANISHED replaces EXPUNGE, and SELECT takes the QRESYNC parameter.
    pub qresync: bool,
}

impl Session {
    fn new(
        server: Arc<ImapServer>,
        transport: Transport,
        info: ConnInfo,
        shutdown: ShutdownSignal,
    ) -> Session {
        let n = SESSION_COUNTER.fetch_add(1, Ordering::Relaxed);
        let id = format!("imap-{}-{n}", std::process::id());
        let proc = server.proc_files.create(&id, &info.peer.ip().to_string());
        let spool = Spool::new(&server.config.spool_dir, &id);
        let framer = CommandFramer::new(server.config.limits.before_login());
        let prelogin_deadline = Instant::now() + server.config.prelogin_timeout;
        let server_domain = auth::server_domain::ConnectionDomain::new(info.local.ip());
        Session {
            server,
            transport,
            info,
            state: State::NotAuthenticated,
            framer,
            out: Output::new(),
            spool,
            proc,
            shutdown,
            id,
            enabled: Enabled::default(),
            login_failures: 0,
            claim: None,
            telemetry: None,
            telemetry_user: None,
            id_logged: false,
            backends: crate::proxy::Backends::default(),
            referrals: crate::proxy::Referrals::default(),
            xfer_in: crate::xfer::target::Incoming::default(),
            cyrus_in: crate::xfer::cyrus::CyrusIncoming::default(),
            bad_in_a_row: 0,
            prelogin_deadline,
            write_failed: false,
            logged_in: None,
            server_domain,
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
            service: "imap",
            client: Some(self.info.peer),
            server: Some(self.info.local),
            session_id: Some(self.id.clone()),
        }
    }

    /// Enters the authenticated state as `identity` (from this session's origin), and
    /// reports the Login event.
    pub(crate) fn enter_authenticated(&mut self, identity: mailservice::Identity) {
        let identity = identity.with_origin(self.origin());
        self.server.service.report_login(&identity);
        self.logged_in = Some(identity.clone());
        self.state = State::Authenticated(identity);
    }

    pub fn service(&self) -> &MailService {
        &self.server.service
    }

    /// Runs `work` on the blocking pool with the mail service.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&MailService) -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        self.server.service.blocking(work).await
    }

    async fn run(&mut self) {
        let text = format!("{} Darius IMAP server ready", self.server.config.servername);
        let caps = self.capabilities();
        self.out
            .untagged(StatusKind::Ok, Some(Code::Capability(caps)), &text);
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            while let Some(event) = self.framer.next_event() {
                // Boxed: the session's future, which a quiet connection holds, stays a few
                // hundred bytes instead of the size of the largest command's.
                if Box::pin(self.on_event(event)).await == Flow::Close {
                    self.state = State::Logout;
                    break;
                }
            }
            if self.flush().await.is_err() || matches!(self.state, State::Logout) {
                break;
            }
            match self.read_input(&mut buf).await {
                Some(n) => self.push_input(&buf[..n]).await,
                None => break,
            }
        }
        let _ = self.flush().await;
        if let Some(t) = &mut self.telemetry {
            let _ = t.finish().await;
        }
        if !self.write_failed {
            // A TLS close_notify is a write too.
            let _ = tokio::time::timeout(self.write_timeout(), self.transport.shutdown()).await;
        }
    }

    /// Reads the next bytes; `None` ends the session (EOF, error, timeout, shutdown).
    pub async fn read_input(&mut self, buf: &mut [u8]) -> Option<usize> {
        match self.next_input(buf, Watch::Client).await {
            Input::Data(n) => Some(n),
            Input::Changed | Input::Backend(_) | Input::Ended => None,
        }
    }

    /// Waits for the client's next bytes or for what `watch` names: a change to the selected
    /// mailbox by another session, or bytes from a backend (IDLE). The pre-login deadline or
    /// the autologout, or shutdown, says BYE and ends the session, as EOF does.
    pub async fn next_input(&mut self, buf: &mut [u8], watch: Watch<'_>) -> Input {
        let (deadline, expiry) = self.read_limit();
        if Instant::now() >= deadline {
            // Checked before reading: a client that never pauses must not outrun it.
            return self.expire(expiry).await;
        }
        // What a long command or answer grew is not kept while the client is quiet.
        self.framer.release_idle_memory();
        self.out.release_idle_memory();
        let mut shutdown = self.shutdown.clone();
        let view = match watch {
            Watch::Changes => self.state.view_mut(),
            Watch::Client | Watch::Backend(_) => None,
        };
        let backend = match watch {
            Watch::Backend(io) => Some(io),
            Watch::Client | Watch::Changes => None,
        };
        let change = async move {
            match (view, backend) {
                (Some(view), _) => {
                    view.wait_change().await;
                    Woke::Changed
                }
                (None, Some(io)) => Woke::Backend(io.fill().await),
                (None, None) => std::future::pending::<Woke>().await,
            }
        };
        let woke = tokio::select! {
            read = tokio::time::timeout_at(deadline, self.transport.read(buf)) => match read {
                Ok(Ok(0)) | Ok(Err(_)) => Woke::Ended,
                Ok(Ok(n)) => Woke::Data(n),
                Err(_) => Woke::Expired,
            },
            woke = change => woke,
            _ = shutdown.wait() => Woke::Shutdown,
        };
        match woke {
            Woke::Data(n) => Input::Data(n),
            Woke::Ended => Input::Ended,
            Woke::Changed => Input::Changed,
            Woke::Backend(result) => Input::Backend(result),
            Woke::Expired => self.expire(expiry).await,
            Woke::Shutdown => self.bye("Server shutting down").await,
        }
    }

    /// Until when the next read may wait, and why it would stop: the pre-login deadline counts
    /// from the connection's start (RFC 9051 §5.4 lets a server close an inactive session; a
    /// client that keeps talking without logging in is no better), the autologout from the
    /// last read.
    fn read_limit(&self) -> (Instant, Expiry) {
        let config = &self.server.config;
        match self.state {
            State::NotAuthenticated => (
                self.prelogin_deadline,
                Expiry::Login(config.prelogin_timeout),
            ),
            _ => (
                Instant::now() + config.autologout,
                Expiry::Idle(config.autologout),
            ),
        }
    }

    /// How long one write to the socket may take: the read timeout of the state.
    pub fn write_timeout(&self) -> Duration {
        match self.state {
            State::NotAuthenticated => self.server.config.prelogin_timeout,
            _ => self.server.config.autologout,
        }
    }

    async fn expire(&mut self, expiry: Expiry) -> Input {
        let peer = self.info.peer;
        let text = match expiry {
            Expiry::Login(limit) => {
                tracing::warn!(
                    severity = "warning",
                    "{peer}: not logged in within {limit:?}; disconnecting"
                );
                "Login timeout; not authenticated in time"
            }
            Expiry::Idle(limit) => {
                tracing::warn!(
                    severity = "warning",
                    "{peer}: autologout after {limit:?} idle"
                );
                "Autologout; idle for too long"
            }
        };
        self.bye(text).await
    }

    async fn bye(&mut self, text: &str) -> Input {
        self.out.untagged(StatusKind::Bye, None, text);
        let _ = self.flush().await;
        Input::Ended
    }

    /// Hands bytes read from the client to the framer (and to telemetry).
    pub async fn push_input(&mut self, data: &[u8]) {
        if let Some(t) = &mut self.telemetry {
            if t.client(data).await.is_err() {
                self.telemetry = None;
            }
        }
        self.framer.push(data);
    }

    /// Opens telemetry for `user`, if their log directory exists, once the command that logged
    /// them in completes (the file is opened off the runtime thread, by the dispatcher).
    pub fn start_telemetry(&mut self, user: &str) {
        self.telemetry_user = Some(user.to_string());
    }

    /// The session just authenticated: the configured limits replace the pre-login ones, and
    /// telemetry starts. The command's own answer is the first thing telemetry records.
    pub(crate) async fn after_login(&mut self) {
        self.framer.set_limits(self.server.config.limits.clone());
        let undump = crate::xfer::target::offered(self);
        self.framer.allow_undump(undump);
        self.id_logged = false;
        if let Some(user) = self.telemetry_user.take() {
            let dir = &self.server.config.config_directory;
            self.telemetry = Telemetry::open(dir, &user, &self.id).await;
        }
    }

    /// Writes what is queued. A write that takes longer than [`Session::write_timeout`] (the
    /// client stopped reading) fails the session; after a failed write nothing more is sent.
    pub async fn flush(&mut self) -> std::io::Result<()> {
        if self.write_failed {
            self.out.buf.clear();
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        if self.out.buf.is_empty() {
            return Ok(());
        }
        if let Some(t) = &mut self.telemetry {
            if t.server(&self.out.buf).await.is_err() {
                self.telemetry = None;
            }
        }
        let limit = self.write_timeout();
        let (transport, buf) = (&mut self.transport, &self.out.buf);
        let written = tokio::time::timeout(limit, async move {
            transport.write_all(buf).await?;
            transport.flush().await
        })
        .await;
        self.out.buf.clear();
        if self.out.buf.capacity() > 4 * Output::FLUSH_AT {
            self.out.buf = Vec::new();
        }
        let result = written.unwrap_or_else(|_| {
            tracing::warn!(
                severity = "warning",
                "{}: write timed out after {limit:?} (the client stopped reading); disconnecting",
                self.info.peer
            );
            Err(std::io::ErrorKind::TimedOut.into())
        });
        self.write_failed = result.is_err();
        result
    }

    async fn on_event(&mut self, event: FramerEvent) -> Flow {
        match event {
            FramerEvent::Command(command) => {
                self.bad_in_a_row = 0;
                let flow = self.dispatch(command).await;
                self.spool.clear();
                flow
            }
            FramerEvent::Bad(err) if err.is_impossible_mailbox_name() && err.tag.is_some() => {
                // A valid command naming a mailbox no name can reach: NO, as for any mailbox
                // that cannot exist (RFC 5530 CANNOT), and not counted as a bad command.
                self.spool.clear();
                if let Some(tag) = &err.tag {
                    self.out.no(tag, Some(Code::Cannot), &err.to_string());
                }
                Flow::Continue
            }
            FramerEvent::Bad(err) => {
                self.spool.clear();
                self.bad_in_a_row += 1;
                let tag = err.tag.clone();
                match (tag, err.is_too_big()) {
                    (Some(tag), true) => self.out.no(&tag, Some(Code::TooBig), &err.to_string()),
                    (Some(tag), false) => self.out.bad(&tag, &err.to_string()),
                    (None, _) => self.out.untagged(StatusKind::Bad, None, &err.to_string()),
                }
                if self.bad_in_a_row >= MAX_BAD_IN_A_ROW {
                    tracing::warn!(
                        severity = "warning",
                        "{}: too many bad commands, disconnecting",
                        self.info.peer
                    );
                    self.out
                        .untagged(StatusKind::Bye, None, "Too many invalid commands");
                    return Flow::Close;
                }
                Flow::Continue
            }
            FramerEvent::NeedContinuation => {
                self.out.continuation("Ready for literal data");
                if self.flush().await.is_err() {
                    return Flow::Close;
                }
                Flow::Continue
            }
            FramerEvent::MessageLiteral {
                tag,
                mailbox,
                command,
                len,
                sync,
                ..
            } => self.message_literal(tag, mailbox, command, len, sync).await,
            FramerEvent::MessageData(chunk) if self.undump_receiving() => {
                self.undump_data(&chunk).await;
                Flow::Continue
            }
            FramerEvent::MessageEnd if self.undump_receiving() => {
                self.undump_file_end().await;
                Flow::Continue
            }
            FramerEvent::MessageData(chunk) => self.spool_io(SpoolStep::Data(chunk)).await,
            FramerEvent::MessageEnd => self.spool_io(SpoolStep::End).await,
            FramerEvent::Undump(event) => {
                if self.undump_event(event).await {
                    Flow::Continue
                } else {
                    Flow::Close
                }
            }
            FramerEvent::SpoolAbandoned(_) => {
                self.spool.clear();
                Flow::Continue
            }
            FramerEvent::IdleDone | FramerEvent::AuthResponse(_) | FramerEvent::AuthCancel => {
                Flow::Continue
            }
            FramerEvent::Fatal(err) => {
                tracing::warn!(
                    severity = "warning",
                    "{}: {err}; disconnecting",
                    self.info.peer
                );
                self.out.untagged(StatusKind::Bye, None, &err.to_string());
                Flow::Close
            }
        }
    }

    /// An APPEND message is announced: refuse it now if it cannot be stored (RFC 9051 §6.3.12:
    /// the server may reject before the data is sent), else invite the data and spool it.
    async fn message_literal(
        &mut self,
        tag: Tag,
        mailbox: Mailbox,
        command: MessageCommand,
        len: u64,
        sync: LiteralSync,
    ) -> Flow {
        let refusal = if self.state.identity().is_none() {
            Some(Reply::bad("APPEND is not valid in this state"))
        } else if command == MessageCommand::XferMessage {
            // A transfer's message: the source checked it; only who may send it matters.
            (!crate::xfer::target::offered(self)).then(|| Reply::bad("XFERMSG is not offered here"))
        } else if self.spool.count() >= MAX_APPEND_MESSAGES {
            let text = format!("More than {MAX_APPEND_MESSAGES} messages in one APPEND");
            Some(Reply::no(Some(Code::Limit), &text))
        } else if self
            .server
            .config
            .max_message_size
            .is_some_and(|max| len > max)
        {
            Some(Reply::no(
                Some(Code::TooBig),
                "Message is larger than APPENDLIMIT",
            ))
        } else {
            match self.authorize(&mailbox, mailservice::Operation::Insert) {
                // The backend that holds the mailbox decides on its own disks; a client that
                // takes referrals is sent there before it sends the message (RFC 2193).
                Ok(target) => match self.remote(&target) {
                    Ok(Some(remote)) => self.referral(&remote, &mailbox),
                    _ => self.no_room_for(target, len).await,
                },
                Err(e) => Some(refuse(&e, Target::Destination)),
            }
        };
        if let Some(reply) = refusal {
            self.out.tagged(&tag, reply.kind, reply.code, &reply.text);
            // The framer is in the message state it just announced; a refusal cannot fail.
            let _ = self.framer.refuse_message_literal(ContinuationSent::No);
            self.spool.clear();
            return Flow::Continue;
        }
        if sync == LiteralSync::Sync {
            self.out.continuation("Ready for literal data");
            if self.flush().await.is_err() {
                return Flow::Close;
            }
        }
        self.spool_io(SpoolStep::Begin).await
    }

    /// Refuses a literal the disks cannot hold now: the spool copy and the partition copy must
    /// both fit (never answer `+` to data that cannot be stored). A failure to learn the free
    /// space is logged and lets the data come; writing it would then fail on its own.
    async fn no_room_for(&self, target: mailservice::Authorized, len: u64) -> Option<Reply> {
        let spool = self.server.config.spool_dir.clone();
        let room = self
            .server
            .service
            .blocking(move |s| s.room_for_message(&[target], &spool))
            .await;
        match room {
            Ok(room) if len > room => Some(Reply::no(
                Some(Code::TooBig),
                "Not enough free space on the server for a message this large",
            )),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!("{}: free space for an APPEND: {e}", self.info.peer);
                None
            }
        }
    }

    async fn spool_io(&mut self, step: SpoolStep) -> Flow {
        let result = match step {
            SpoolStep::Begin => self.spool.begin().await,
            SpoolStep::Data(chunk) => self.spool.write(&chunk).await,
            SpoolStep::End => match self.spool.finish().await {
                Ok(id) => {
                    // The framer asked for exactly this reference; a refusal would be our bug.
                    let _ = self.framer.message_literal_done(SpoolRef(id));
                    Ok(())
                }
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(()) => Flow::Continue,
            Err(e) => {
                tracing::error!(
                    severity = "err",
                    "spooling an APPEND literal in {}: {e}",
                    self.server.config.spool_dir.display()
                );
                self.out.untagged(
                    StatusKind::Bye,
                    Some(Code::Unavailable),
                    "Cannot spool the message",
                );
                Flow::Close
            }
        }
    }
}

enum SpoolStep {
    Begin,
    Data(Vec<u8>),
    End,
}
