//! One connection: the greeting, then bytes → framer → one command at a time → responses →
//! socket. The session is the socket's only writer, so responses keep their order by
//! construction. Blocking store work runs on tokio's blocking pool; no lock is held across an
//! `.await`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use imap_proto::command::{Mailbox, Tag};
use imap_proto::framer::{ContinuationSent, LiteralSync};
use imap_proto::response::{Code, StatusKind};
use imap_proto::{CommandFramer, FramerEvent, SpoolRef};
use mailservice::{MailService, ServiceError};
use net::{ConnInfo, ShutdownSignal, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::command::Reply;
use crate::convert::{refuse, Target};
use crate::output::Output;
use crate::procfile::ProcFile;
use crate::spool::Spool;
use crate::state::State;
use crate::telemetry::Telemetry;
use crate::{ImapServer, LoginClaim};

/// How the connection starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// IMAPS: TLS from the first byte (RFC 8314).
    Implicit,
    /// Plain, with STARTTLS offered when a certificate is configured.
    StartTls,
}

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
    /// EOF, an error, a timeout or shutdown (BYE already sent for the last two).
    Ended,
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
    let _ = stream.set_nodelay(true);
    let mut transport = Transport::Plain(stream);
    if mode == TlsMode::Implicit {
        let Some(tls) = server.config.tls.clone() else {
            return;
        };
        if let Err(e) = transport.start_tls(tls).await {
            tracing::warn!(severity = "warning", "{}: {e}", info.peer);
            return;
        }
    }
    let mut session = Session::new(server, transport, info, shutdown);
    session.run().await;
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
    bad_in_a_row: u32,
}

/// Extensions the client turned on with ENABLE (RFC 5161).
#[derive(Default)]
pub(crate) struct Enabled {
    pub imap4rev2: bool,
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
        let proc = ProcFile::create(
            &server.config.config_directory,
            &id,
            &info.peer.ip().to_string(),
        );
        let spool = Spool::new(&server.config.spool_dir, &id);
        let framer = CommandFramer::new(server.config.limits.clone());
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
            bad_in_a_row: 0,
        }
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
                if self.on_event(event).await == Flow::Close {
                    self.state = State::Logout;
                    break;
                }
            }
            if self.flush().await.is_err() || matches!(self.state, State::Logout) {
                break;
            }
            match self.read_input(&mut buf).await {
                Some(n) => self.push_input(&buf[..n]),
                None => break,
            }
        }
        let _ = self.flush().await;
        let _ = self.transport.shutdown().await;
    }

    /// Reads the next bytes; `None` ends the session (EOF, error, timeout, shutdown).
    pub async fn read_input(&mut self, buf: &mut [u8]) -> Option<usize> {
        match self.next_input(buf, false).await {
            Input::Data(n) => Some(n),
            Input::Changed | Input::Ended => None,
        }
    }

    /// Waits for the client's next bytes or, with `changes`, for a change to the selected
    /// mailbox by another session (IDLE). A timeout (prelogin or autologout) or shutdown says
    /// BYE and ends the session, as EOF does.
    pub async fn next_input(&mut self, buf: &mut [u8], changes: bool) -> Input {
        let timeout = match self.state {
            State::NotAuthenticated => self.server.config.prelogin_timeout,
            _ => self.server.config.autologout,
        };
        let mut shutdown = self.shutdown.clone();
        let view = if changes { self.state.view_mut() } else { None };
        let change = async move {
            match view {
                Some(view) => view.wait_change().await,
                None => std::future::pending::<()>().await,
            }
        };
        let bye = tokio::select! {
            read = tokio::time::timeout(timeout, self.transport.read(buf)) => match read {
                Ok(Ok(0)) | Ok(Err(_)) => return Input::Ended,
                Ok(Ok(n)) => return Input::Data(n),
                Err(_) => {
                    tracing::warn!(severity = "warning", "{}: autologout after {timeout:?} idle", self.info.peer);
                    "Autologout; idle for too long"
                }
            },
            () = change => return Input::Changed,
            _ = shutdown.wait() => "Server shutting down",
        };
        self.out.untagged(StatusKind::Bye, None, bye);
        let _ = self.flush().await;
        Input::Ended
    }

    /// Hands bytes read from the client to the framer (and to telemetry).
    pub fn push_input(&mut self, data: &[u8]) {
        if let Some(t) = &mut self.telemetry {
            if t.client(data).is_err() {
                self.telemetry = None;
            }
        }
        self.framer.push(data);
    }

    /// Starts telemetry for `user` if their log directory exists.
    pub fn start_telemetry(&mut self, user: &str) {
        self.telemetry = Telemetry::open(&self.server.config.config_directory, user, &self.id);
    }

    pub async fn flush(&mut self) -> std::io::Result<()> {
        if self.out.buf.is_empty() {
            return Ok(());
        }
        if let Some(t) = &mut self.telemetry {
            if t.server(&self.out.buf).is_err() {
                self.telemetry = None;
            }
        }
        let result = self.transport.write_all(&self.out.buf).await;
        self.out.buf.clear();
        if self.out.buf.capacity() > 4 * Output::FLUSH_AT {
            self.out.buf = Vec::new();
        }
        result?;
        self.transport.flush().await
    }

    async fn on_event(&mut self, event: FramerEvent) -> Flow {
        match event {
            FramerEvent::Command(command) => {
                self.bad_in_a_row = 0;
                let flow = self.dispatch(command).await;
                self.spool.clear();
                flow
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
                len,
                sync,
                ..
            } => self.message_literal(tag, mailbox, len, sync).await,
            FramerEvent::MessageData(chunk) => self.spool_io(SpoolStep::Data(chunk)).await,
            FramerEvent::MessageEnd => self.spool_io(SpoolStep::End).await,
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
        len: u64,
        sync: LiteralSync,
    ) -> Flow {
        let refusal = if self.state.identity().is_none() {
            Some(Reply::bad("APPEND is not valid in this state"))
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
                Ok(_) => None,
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
