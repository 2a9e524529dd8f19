//! Server layer: POP3 sessions (RFC 1939, with RFC 2449 CAPA and response codes, RFC 3206,
//! RFC 5034 SASL AUTH, RFC 2595 STLS, and POP3S per RFC 8314).
//!
//! Owns: the POP3 session state machine (AUTHORIZATION, TRANSACTION, UPDATE) and its hold on
//! the user's INBOX. Must not: parse bytes itself (that is `pop3-proto`'s) or touch the store
//! except through `mailservice`.
//!
//! Cyrus's semantics: only the user's INBOX is served; one POP3 session per user at a time
//! (`-ERR [IN-USE]`); while it lasts no other session may expunge from that INBOX
//! (`mailservice::MaildropClaim`), while flags, APPEND and delivery go on; the message list is
//! fixed at login (RFC 1939 §4); `DELE` marks, and only `QUIT` expunges the marked messages,
//! on stable storage before `+OK`. UIDL is `UIDVALIDITY.UID` (`pop3_proto::uidl`), so a message
//! keeps its unique id across restarts and `reconstruct`.
//!
//! On a Murder frontend, a user whose INBOX another server holds is authenticated here and then
//! served by that backend (module `proxy`, docs/murder.md).

mod auth;
mod maildrop;
mod proxy;
mod session;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailservice::MailService;
use net::{ConnInfo, ShutdownSignal, TlsMode, Transport};
use tokio::net::TcpStream;

pub use proxy::ProxyLogin;

/// `popexpiretime`: what CAPA's EXPIRE announces (RFC 2449 §6.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expire {
    /// The server never deletes mail on its own (`-1`, the default).
    Never,
    /// Messages may be deleted this many days after they were retrieved; `0` means the server
    /// deletes retrieved messages at the end of the session, which this one then does.
    Days(u32),
}

/// The POP3 service's settings, from the configuration.
#[derive(Clone, Debug)]
pub struct Pop3Config {
    /// Offered as STLS on `listen_pop3`, and used by `listen_pop3s`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Where SASL EXTERNAL takes the identity from a client certificate.
    pub tls_client_identity: net::x509::ClientIdentity,
    /// Named in the greeting and the APOP timestamp.
    pub servername: String,
    /// `allowplaintext`: USER/PASS (and PLAIN, LOGIN) without TLS on non-loopback connections.
    pub allow_plaintext: bool,
    /// `prelogin_timeout`: the time a connection has to log in.
    pub prelogin_timeout: Duration,
    /// `poptimeout`: the inactivity autologout timer once logged in (RFC 1939 §3: at least 10
    /// minutes).
    pub timeout: Duration,
    /// `popminpoll`: the least time between two logins of one user (`[LOGIN-DELAY]`, RFC 2449
    /// §8.1.2); zero for none.
    pub min_poll: Duration,
    /// `popexpiretime`.
    pub expire: Expire,
    /// `popuseimapflags`: messages with `\Deleted` are not offered, and messages retrieved
    /// with RETR get `\Seen` when the session ends.
    pub use_imap_flags: bool,
    /// `auth_max_failures`: failed logins after which the session is closed.
    pub max_login_failures: u32,
    /// The delay after a failed login, shared with the other protocols.
    pub login_penalty: Arc<::auth::LoginPenalty>,
    /// Where `log/USER/` telemetry directories are looked for.
    pub config_directory: PathBuf,
    /// The `pop/servername` Kerberos credentials, for GSSAPI.
    pub kerberos: Option<sasl::KerberosService>,
    /// In a Murder, how this server logs in at the backends it proxies sessions to (module
    /// `proxy`); `None` when it proxies to none, and then a user whose INBOX another server
    /// holds gets `-ERR [SYS/TEMP]`.
    pub proxy: Option<ProxyLogin>,
    /// TLS toward the backends (`proxy_tls`, `tls_server_ca_file`, `tls_client_cert`): when to
    /// send STARTTLS and what their certificates must chain to.
    pub proxy_tls: net::ClientTls,
}

/// The POP3 service shared by every connection.
pub struct Pop3Server {
    service: MailService,
    passwords: Arc<::auth::PasswordDb>,
    sasl: Arc<::auth::sasl_login::SaslLogins>,
    config: Pop3Config,
    proc_files: Arc<net::procfile::ProcFiles>,
    /// Each user's last login, for `popminpoll` (kept in memory: a restart forgets it).
    last_logins: Mutex<HashMap<String, Instant>>,
}

impl Pop3Server {
    pub fn new(
        service: MailService,
        passwords: Arc<::auth::PasswordDb>,
        sasl: Arc<::auth::sasl_login::SaslLogins>,
        config: Pop3Config,
        proc_files: Arc<net::procfile::ProcFiles>,
    ) -> Arc<Pop3Server> {
        Arc::new(Pop3Server {
            service,
            passwords,
            sasl,
            config,
            proc_files,
            last_logins: Mutex::new(HashMap::new()),
        })
    }

    /// Whether APOP is offered (a timestamp in the greeting): `allowapop`, with the password
    /// database as a password source, which then keeps the recoverable secret APOP needs.
    fn apop_offered(&self) -> bool {
        self.passwords.apop_enabled()
    }

    /// Records a login of `user` now; false when `popminpoll` says it comes too soon after
    /// the last one (which then stays the one counted from).
    fn poll_allowed(&self, user: &str) -> bool {
        let min = self.config.min_poll;
        if min.is_zero() {
            return true;
        }
        let now = Instant::now();
        let mut last = self.last_logins.lock().unwrap_or_else(|p| p.into_inner());
        if last
            .get(user)
            .is_some_and(|at| now.duration_since(*at) < min)
        {
            return false;
        }
        // Entries older than the interval decide nothing any more: the map holds at most the
        // users who logged in within the last `popminpoll`.
        last.retain(|_, at| now.duration_since(*at) < min);
        last.insert(user.to_string(), now);
        true
    }
}

/// Serves one TCP connection of `listen_pop3` or `listen_pop3s` to the end.
pub async fn serve(
    server: Arc<Pop3Server>,
    stream: TcpStream,
    info: ConnInfo,
    shutdown: ShutdownSignal,
    mode: TlsMode,
) {
    let tls = server.config.tls.clone();
    let Some(transport) = Transport::accept(stream, mode, tls, info.peer).await else {
        return;
    };
    session::Session::new(server, transport, info, shutdown)
        .run()
        .await;
}
