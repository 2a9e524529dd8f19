//! One LMTP connection: greeting, LHLO, then transactions of MAIL, RCPT ([`rcpt`]) and DATA
//! ([`data`]) or BDAT chunks ([`bdat`]), with one reply per accepted recipient after the message
//! (RFC 2033 §4.2); AUTH ([`authenticate`]) changes who delivers. In a Murder, recipients held
//! by other servers are relayed to them (`crate::proxy`) within the same transaction.

mod authenticate;
mod bdat;
mod data;
mod rcpt;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lmtp_proto::{
    codes, parse_command, Address, Body as BodyType, Command, LineFramer, LineResult, MailParams,
    Reply,
};
use mailservice::Identity;
use net::{ShutdownSignal, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::delivery::{no_room, too_big};
use crate::proxy::Relay;
use crate::recipient::Recipient;
use crate::LmtpServer;

/// Unrecognised or malformed commands in a row after which the client is disconnected.
const MAX_BAD_IN_A_ROW: u32 = 20;
const READ_CHUNK: usize = 16 * 1024;
/// How much of the message start is kept to find its Message-ID for the log.
const HEAD_FOR_LOG: usize = 16 * 1024;

/// Who is at the other end of a connection.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Peer {
    Tcp(IpAddr),
    /// The UNIX socket: a local process, counted as loopback by the login throttle.
    Unix,
}

static SESSION_COUNTER: AtomicU64 = AtomicU64::new(0);

#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// Why reading stopped.
enum Stop {
    /// EOF or an I/O error: nothing more can be said.
    Gone,
    /// The client was idle too long.
    Timeout,
    /// The server is shutting down.
    Shutdown,
}

struct Transaction {
    from: Option<Address>,
    /// Every accepted recipient, in RCPT order.
    accepted: Vec<Accepted>,
    /// The backends that take this message's relayed recipients (a Murder frontend).
    relay: Relay,
    /// Who delivers this message: the session's identity, or the submitter a trusted client
    /// named with `MAIL ... AUTH=` (RFC 4954 §5).
    identity: Identity,
    /// `BODY=` from MAIL (RFC 6152, RFC 3030 §3).
    body_type: Option<BodyType>,
    /// The message so far, once a BDAT chunk arrived (RFC 3030 §2).
    chunks: Option<bdat::Chunks>,
}

/// A recipient the transaction accepted.
enum Accepted {
    /// Delivered into this server's store.
    Local(Recipient),
    /// Relayed to the backend of this leg of the transaction's [`Relay`].
    Relayed { leg: usize, address: Address },
}

impl Accepted {
    fn address(&self) -> &Address {
        match self {
            Accepted::Local(r) => &r.address,
            Accepted::Relayed { address, .. } => address,
        }
    }

    fn local(&self) -> Option<&Recipient> {
        match self {
            Accepted::Local(r) => Some(r),
            Accepted::Relayed { .. } => None,
        }
    }
}

pub(crate) struct Session {
    server: Arc<LmtpServer>,
    transport: Transport,
    /// `[address]` or `[unix socket]`, for logs and the Received field.
    peer: String,
    /// The address the login throttle counts failures against.
    peer_ip: IpAddr,
    shutdown: ShutdownSignal,
    id: String,
    deliveries: u64,
    framer: LineFramer,
    input: Vec<u8>,
    out: Vec<u8>,
    lhlo: Option<String>,
    transaction: Option<Transaction>,
    bad_in_a_row: u32,
    /// Who delivers: the anonymous identity unless the session authenticated; its rights
    /// decide which `+detail` and shared mailboxes take mail (`p`).
    identity: Identity,
    /// The user an AUTH exchange logged in (RFC 4954), if any.
    authenticated: Option<String>,
    /// Failed AUTH exchanges in this session.
    auth_failures: u32,
    /// A client the server trusts to speak for others (the UNIX socket, whose file mode limits
    /// who connects to the MTA and the administrators, not with `lmtpsocket_mode: 0666`, until
    /// it authenticates; a session authenticated as an administrator or one of
    /// `proxyservers`): its
    /// `MAIL ... AUTH=` names the delivering identity and its `RCPT ... IGNOREQUOTA` is
    /// honoured, as Cyrus does.
    trusted: bool,
}

impl Session {
    pub fn new(
        server: Arc<LmtpServer>,
        transport: Transport,
        peer: Peer,
        shutdown: ShutdownSignal,
    ) -> Session {
        let (peer, peer_ip) = match peer {
            Peer::Tcp(ip) => (format!("[{ip}]"), ip),
            Peer::Unix => ("[unix socket]".to_owned(), IpAddr::V4(Ipv4Addr::LOCALHOST)),
        };
        let n = SESSION_COUNTER.fetch_add(1, Ordering::Relaxed);
        let framer = LineFramer::new(server.config.max_line);
        let identity = server.service.anonymous_identity();
        let trusted = server.config.unix_socket_trusted && matches!(transport, Transport::Unix(_));
        Session {
            identity,
            authenticated: None,
            auth_failures: 0,
            trusted,
            peer_ip,
            id: format!("lmtp-{}-{n}", std::process::id()),
            server,
            transport,
            peer,
            shutdown,
            deliveries: 0,
            framer,
            input: Vec::new(),
            out: Vec::new(),
            lhlo: None,
            transaction: None,
            bad_in_a_row: 0,
        }
    }

    pub async fn run(mut self) {
        tracing::debug!("{}: LMTP connection from {}", self.id, self.peer);
        let greeting = format!("{} LMTP Darius ready", self.server.config.servername);
        self.reply(Reply::new(220, "", greeting));
        'session: loop {
            loop {
                match self.framer.take_line(&mut self.input) {
                    LineResult::Line(line) => {
                        if self.command(&line).await == Flow::Close {
                            break 'session;
                        }
                    }
                    LineResult::TooLong => {
                        self.reply(Reply::new(500, codes::SYNTAX_ERROR, "Line too long"));
                        if self.count_bad() == Flow::Close {
                            break 'session;
                        }
                    }
                    LineResult::Incomplete => break,
                }
            }
            if self.flush().await.is_err() {
                return;
            }
            if let Err(stop) = self.read_more().await {
                self.stopped(stop);
                break;
            }
        }
        if self.flush().await.is_ok() {
            // A TLS close_notify is a write too: bounded like the others.
            let timeout = self.server.config.write_timeout;
            let _ = tokio::time::timeout(timeout, self.transport.shutdown()).await;
        }
    }

    fn reply(&mut self, reply: Reply) {
        reply.encode(&mut self.out);
    }

    /// Writes the queued replies, within the write timeout; an error ends the session.
    async fn flush(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let write = async {
            self.transport.write_all(&self.out).await?;
            self.transport.flush().await
        };
        match tokio::time::timeout(self.server.config.write_timeout, write).await {
            Ok(result) => result?,
            Err(_) => {
                tracing::warn!(
                    severity = "warning",
                    "{}: LMTP write timeout, the client does not read; closing",
                    self.peer
                );
                return Err(std::io::ErrorKind::TimedOut.into());
            }
        }
        self.out.clear();
        Ok(())
    }

    /// Reads whatever the client sends next onto the input buffer.
    async fn read_more(&mut self) -> Result<(), Stop> {
        let timeout = self.server.config.timeout;
        let mut chunk = [0u8; READ_CHUNK];
        let read = tokio::select! {
            biased;
            _ = self.shutdown.wait() => return Err(Stop::Shutdown),
            r = tokio::time::timeout(timeout, self.transport.read(&mut chunk)) => r,
        };
        match read {
            Err(_) => Err(Stop::Timeout),
            Ok(Ok(0)) | Ok(Err(_)) => Err(Stop::Gone),
            Ok(Ok(n)) => {
                self.input.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    }

    /// Says goodbye when reading stopped for a reason the client should hear.
    fn stopped(&mut self, stop: Stop) {
        let servername = self.server.config.servername.clone();
        match stop {
            Stop::Gone => {}
            Stop::Timeout => {
                tracing::warn!(severity = "warning", "{}: LMTP timeout", self.peer);
                self.reply(Reply::new(
                    421,
                    codes::NOT_ACCEPTING,
                    format!("{servername} Timeout, closing connection"),
                ));
            }
            Stop::Shutdown => self.reply(Reply::new(
                421,
                codes::NOT_ACCEPTING,
                format!("{servername} Server shutting down"),
            )),
        }
    }

    fn count_bad(&mut self) -> Flow {
        self.bad_in_a_row += 1;
        if self.bad_in_a_row < MAX_BAD_IN_A_ROW {
            return Flow::Continue;
        }
        tracing::warn!(
            severity = "warning",
            "{}: too many bad LMTP commands, disconnecting",
            self.peer
        );
        self.reply(Reply::new(
            421,
            "4.7.0",
            "Too many errors, closing connection",
        ));
        Flow::Close
    }

    async fn command(&mut self, line: &[u8]) -> Flow {
        let command = match parse_command(line) {
            Ok(c) => c,
            Err(e) => {
                self.reply(e.reply());
                return self.count_bad();
            }
        };
        self.bad_in_a_row = 0;
        if self.shutdown.is_triggered() && !matches!(command, Command::Quit) {
            self.stopped(Stop::Shutdown);
            return Flow::Close;
        }
        match command {
            Command::Lhlo { domain } => self.lhlo(domain),
            Command::Helo { .. } | Command::Ehlo { .. } => {
                self.reply(Reply::new(
                    500,
                    codes::INVALID_COMMAND,
                    "This is an LMTP server: use LHLO",
                ));
            }
            Command::Mail {
                reverse_path,
                params,
            } => self.mail(reverse_path, params).await,
            Command::Rcpt {
                forward_path,
                params,
            } => self.rcpt(forward_path, params).await,
            Command::Data => return self.data().await,
            Command::Bdat { size, last } => return self.bdat(size, last).await,
            Command::Auth { mechanism, initial } => return self.auth(&mechanism, initial).await,
            Command::Rset => {
                self.transaction = None;
                self.reply(Reply::new(250, codes::OK, "Ok"));
            }
            Command::Noop => self.reply(Reply::new(250, codes::OK, "Ok")),
            Command::Help => self.reply(Reply::new(
                214,
                "2.0.0",
                "Commands: LHLO MAIL RCPT DATA BDAT RSET NOOP QUIT STARTTLS AUTH VRFY HELP",
            )),
            Command::Vrfy { .. } => self.reply(Reply::new(
                252,
                "2.5.0",
                "Cannot VRFY user, but will accept message for delivery",
            )),
            Command::Quit => {
                let text = format!("{} Closing connection", self.server.config.servername);
                self.reply(Reply::new(221, codes::OK, text));
                return Flow::Close;
            }
            Command::StartTls => return self.starttls().await,
        }
        Flow::Continue
    }

    fn lhlo(&mut self, domain: String) {
        let c = &self.server.config;
        let mut lines = vec![c.servername.clone()];
        lines.push("8BITMIME".into());
        // RFC 3030: BDAT, and binary bodies (which need it).
        lines.push("CHUNKING".into());
        lines.push("BINARYMIME".into());
        lines.push("ENHANCEDSTATUSCODES".into());
        lines.push("PIPELINING".into());
        lines.push(match c.max_message_size {
            Some(n) => format!("SIZE {n}"),
            None => "SIZE".into(),
        });
        lines.push("SMTPUTF8".into());
        if c.tls.is_some() && matches!(self.transport, Transport::Plain(_)) {
            lines.push("STARTTLS".into());
        }
        if self.trusted {
            // Cyrus's extension: a trusted client may deliver past a full quota.
            lines.push("IGNOREQUOTA".into());
        }
        let mechanisms = self.auth_mechanisms();
        if !mechanisms.is_empty() {
            lines.push(format!("AUTH {}", mechanisms.join(" ")));
        }
        self.reply(Reply::multiline(250, None, lines));
        // RFC 5321 §4.1.4: LHLO in the middle of a transaction resets it.
        self.transaction = None;
        self.lhlo = Some(domain);
    }

    async fn mail(&mut self, from: Option<Address>, params: MailParams) {
        if self.lhlo.is_none() {
            return self.reply(Reply::new(503, codes::BAD_SEQUENCE, "Send LHLO first"));
        }
        if self.transaction.is_some() {
            return self.reply(Reply::new(503, codes::BAD_SEQUENCE, "Nested MAIL command"));
        }
        if let Some(reason) = unsupported_mail_params(&params) {
            return self.reply(Reply::new(555, codes::INVALID_ARGUMENTS, reason));
        }
        if let (Some(size), Some(limit)) = (params.size, self.server.config.max_message_size) {
            if size > limit {
                return self.reply(too_big(limit));
            }
        }
        if let Some(size) = params.size {
            // RFC 1870 §6.1: a size the system cannot hold now is a temporary 452.
            if self.room(Vec::new()).await.is_some_and(|room| size > room) {
                return self.reply(no_room());
            }
        }
        let identity = match params.auth.as_deref() {
            // RFC 4954 §5: only a trusted client's word is taken (the socket, an authenticated
            // administrator or proxy server).
            Some(submitter) if self.trusted && submitter != "<>" => {
                if auth::validate_username(submitter).is_err() {
                    return self.reply(Reply::new(
                        501,
                        codes::INVALID_ARGUMENTS,
                        "AUTH= names no valid user",
                    ));
                }
                tracing::info!("{}: delivering as {submitter} (MAIL AUTH=)", self.id);
                self.server.service.identity(submitter)
            }
            // Any other authenticated session: its own login decides who delivers; the
            // submitter it names is only logged. From anyone else the parameter is accepted
            // and treated as `<>` (unknown submitter).
            Some(submitter) if self.authenticated.is_some() => {
                tracing::info!(
                    "{}: MAIL AUTH={submitter} ignored: delivering as {}",
                    self.id,
                    self.authenticated.as_deref().unwrap_or_default()
                );
                self.identity.clone()
            }
            _ => self.identity.clone(),
        };
        let submitter = (!identity.is_anonymous()).then(|| identity.user().to_string());
        self.transaction = Some(Transaction {
            relay: Relay::new(
                self.server.backends.clone(),
                from.clone(),
                &params,
                submitter.as_deref(),
            ),
            from,
            accepted: Vec::new(),
            identity,
            body_type: params.body,
            chunks: None,
        });
        self.reply(Reply::new(250, codes::SENDER_OK, "Ok"));
    }

    async fn starttls(&mut self) -> Flow {
        let Some(tls) = self.server.config.tls.clone() else {
            self.reply(Reply::new(
                502,
                codes::INVALID_COMMAND,
                "STARTTLS not available",
            ));
            return Flow::Continue;
        };
        if !matches!(self.transport, Transport::Plain(_)) {
            self.reply(Reply::new(
                503,
                codes::BAD_SEQUENCE,
                "TLS not available here",
            ));
            return Flow::Continue;
        }
        self.reply(Reply::new(220, codes::OK, "Ready to start TLS"));
        if self.flush().await.is_err() {
            return Flow::Close;
        }
        // RFC 3207 §4.2: forget everything, including anything pipelined after STARTTLS.
        self.input.clear();
        self.framer = LineFramer::new(self.server.config.max_line);
        self.lhlo = None;
        self.transaction = None;
        match self.transport.start_tls(tls).await {
            Ok(()) => Flow::Continue,
            Err(e) => {
                tracing::warn!(severity = "warning", "{}: STARTTLS: {e}", self.peer);
                Flow::Close
            }
        }
    }

    /// The largest message that fits the disks now for `targets` (none: the default
    /// partition); `None` when it cannot be learned (logged; the data is then let in and a
    /// full disk fails the delivery on its own).
    async fn room(&self, targets: Vec<mailservice::Authorized>) -> Option<u64> {
        let spool = self.server.config.spool_dir.clone();
        let room = self
            .server
            .service
            .blocking(move |s| s.room_for_message(&targets, &spool))
            .await;
        match room {
            Ok(room) => Some(room),
            Err(e) => {
                tracing::warn!("{}: free space for a delivery: {e}", self.id);
                None
            }
        }
    }
}

/// The first MAIL parameter this server does not take, as a reply text.
fn unsupported_mail_params(p: &MailParams) -> Option<String> {
    if let Some((keyword, _)) = p.other.first() {
        return Some(format!("{keyword} parameter is not supported"));
    }
    for (set, name) in [(p.envid.is_some(), "ENVID"), (p.ret.is_some(), "RET")] {
        if set {
            return Some(format!("{name} parameter is not supported"));
        }
    }
    None
}
