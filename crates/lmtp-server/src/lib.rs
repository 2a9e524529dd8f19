//! Server layer: LMTP delivery sessions over TCP and UNIX sockets (RFC 2033).
//!
//! Owns: the LMTP transaction and per-recipient replies. Must not: parse bytes itself or store
//! mail except through `mailservice`.
//!
//! A session reads command lines through `lmtp-proto`'s framer, answers each in order (PIPELINING
//! comes for free: replies are queued and flushed whenever no complete command is left in the
//! input), checks each recipient against the mail service at RCPT time, takes the message
//! through the DATA decoder (or BDAT chunks, RFC 3030) into memory or, past [`SPILL_AT`], a
//! spool file, and delivers it to every recipient at once (one file per partition,
//! hard-linked). Each recipient's reply is sent only after the message is on stable storage.
//! With [`LmtpAuth`] (the `lmtp_auth` option) the client may authenticate (RFC 4954) over TLS
//! or the UNIX socket and then delivers as that user.
//!
//! On a Murder frontend (a service with a cluster) a recipient whose INBOX another server holds
//! is relayed to that backend's LMTP service (module `proxy`, docs/murder.md): the client hears
//! the backend's replies, in RCPT order with the local recipients'.

mod body;
mod delivery;
mod proxy;
mod recipient;
mod session;
mod trace;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mailservice::MailService;
use net::{ConnInfo, ShutdownSignal, Transport};
use tokio::net::{TcpStream, UnixStream};

pub use body::SPILL_AT;
pub use proxy::{ProxyLogin, ProxyPooling};
pub use recipient::{LocalDomains, RcptCase};

/// Recipients one transaction may have (RFC 5321 §4.5.3.1.8 asks for at least 100).
pub const MAX_RECIPIENTS: usize = 1000;

/// The LMTP service's settings, from the configuration.
#[derive(Clone, Debug)]
pub struct LmtpConfig {
    /// Offered as STARTTLS on TCP connections when set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Named in the greeting, the LHLO reply and the Received header.
    pub servername: String,
    /// `maxmessagesize`: announced as SIZE and enforced; `None` for no limit.
    pub max_message_size: Option<u64>,
    /// `lmtp_downcase_rcpt`: whether recipients' user names are folded to lower case.
    pub rcpt_case: RcptCase,
    /// `postuser`: the local part whose `+detail` names a shared mailbox; `None` when unset.
    pub postuser: Option<String>,
    /// `lmtp_strict_domains` and `lmtp_local_domains`: which recipient domains are accepted.
    pub local_domains: LocalDomains,
    /// `singleinstancestore`: one file per partition for all recipients of a delivery; when
    /// off, each recipient gets a copy of their own.
    pub single_instance_store: bool,
    /// `duplicatesuppression`: a message whose Message-ID a mailbox received in the last days
    /// is acknowledged but not stored there again.
    pub duplicate_suppression: bool,
    /// Where messages larger than [`SPILL_AT`] are spooled while they arrive.
    pub spool_dir: PathBuf,
    /// How long the server waits for the client's next bytes (RFC 5321 §4.5.3.2 suggests
    /// 5 minutes for commands and 10 for data; one value serves both).
    pub timeout: Duration,
    /// How long a write to the client may block (a client that sends but never reads would
    /// otherwise hold its session and buffers for ever).
    pub write_timeout: Duration,
    /// The longest command line.
    pub max_line: usize,
    /// Whether clients of the UNIX socket are trusted to speak for others (`MAIL … AUTH=`,
    /// `RCPT … IGNOREQUOTA`): true unless `lmtpsocket_mode` lets every local account connect.
    pub unix_socket_trusted: bool,
    /// In a Murder, how this server authenticates at the backends it relays recipients to
    /// (module `proxy`; used where a backend offers AUTH); `None` relays without AUTH.
    pub proxy: Option<ProxyLogin>,
    /// In a Murder, how many connections to each backend are kept between transactions, and
    /// for how long (`lmtp_proxy_idle_max`, `lmtp_proxy_idle_timeout`).
    pub proxy_pooling: ProxyPooling,
    /// TLS toward the backends (`proxy_tls`, `tls_server_ca_file`, `tls_client_cert`): when to
    /// send STARTTLS and what their certificates must chain to.
    pub proxy_tls: net::ClientTls,
}

/// LMTP AUTH (RFC 4954): the SASL logins every protocol shares, and how failures are paid for.
pub struct LmtpAuth {
    /// The mechanisms and who may act as whom (`auth::sasl_login`, the same object IMAP uses).
    pub sasl: Arc<auth::sasl_login::SaslLogins>,
    /// The delay after a failed exchange, shared with the other protocols' logins.
    pub penalty: Arc<auth::LoginPenalty>,
    /// `auth_max_failures`: failed exchanges after which the session is closed.
    pub max_failures: u32,
}

/// The LMTP service shared by every connection.
pub struct LmtpServer {
    pub(crate) service: MailService,
    pub(crate) config: LmtpConfig,
    /// `None`: AUTH is neither advertised nor accepted (502).
    pub(crate) auth: Option<LmtpAuth>,
    /// A frontend's connections to its backends, kept between transactions.
    pub(crate) backends: proxy::Pool,
}

impl LmtpServer {
    pub fn new(service: MailService, config: LmtpConfig) -> Arc<LmtpServer> {
        LmtpServer::build(service, config, None)
    }

    /// A server that offers AUTH on TLS connections and the UNIX socket.
    pub fn with_auth(service: MailService, config: LmtpConfig, auth: LmtpAuth) -> Arc<LmtpServer> {
        LmtpServer::build(service, config, Some(auth))
    }

    fn build(service: MailService, config: LmtpConfig, auth: Option<LmtpAuth>) -> Arc<LmtpServer> {
        let backends = proxy::Pool::new(config.proxy_pooling, service.cluster().cloned());
        Arc::new(LmtpServer {
            service,
            config,
            auth,
            backends,
        })
    }
}

/// Serves one TCP connection (`listen_lmtp`) to the end.
pub async fn serve_tcp(
    server: Arc<LmtpServer>,
    stream: TcpStream,
    info: ConnInfo,
    shutdown: ShutdownSignal,
) {
    let _ = stream.set_nodelay(true);
    let peer = session::Peer::Tcp(info.peer.ip());
    session::Session::new(server, Transport::Plain(stream), peer, shutdown)
        .run()
        .await;
}

/// Serves one UNIX-socket connection (`lmtpsocket`) to the end.
pub async fn serve_unix(server: Arc<LmtpServer>, stream: UnixStream, shutdown: ShutdownSignal) {
    session::Session::new(
        server,
        Transport::Unix(stream),
        session::Peer::Unix,
        shutdown,
    )
    .run()
    .await;
}
