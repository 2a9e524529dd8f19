//! Server layer: ManageSieve sessions (RFC 5804): users upload, check, list, activate, fetch,
//! rename and delete their Sieve scripts.
//!
//! Owns: the session state machine (not authenticated, authenticated), the capability listing,
//! SASL AUTHENTICATE with the mechanisms and policy IMAP uses (`auth::sasl_login`, GSSAPI as
//! `sieve/servername`), STARTTLS, and the mapping of the service's answers to RFC 5804 response
//! codes. Must not: parse bytes itself (that is `managesieve-proto`'s), decide limits or
//! validity of scripts, or touch the store except through `mailservice`.
//!
//! Cyrus's `timsieved` is the model: the greeting is the capability listing; STARTTLS is
//! followed by a new listing; an administrator manages another user's scripts by
//! authenticating with that user as the authorization identity.
//!
//! On a Murder frontend, a user whose INBOX (and so whose scripts) another server holds is
//! authenticated here and then served by that backend (module `proxy`, docs/murder.md).

mod auth;
mod proxy;
mod scripts;
mod session;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mailservice::MailService;
use net::{ConnInfo, ShutdownSignal, TlsMode, Transport};
use tokio::net::TcpStream;

pub use proxy::ProxyLogin;

/// The ManageSieve service's settings, from the configuration.
#[derive(Clone, Debug)]
pub struct ManageSieveConfig {
    /// Offered as STARTTLS on `listen_sieve`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Where SASL EXTERNAL takes the identity from a client certificate.
    pub tls_client_identity: net::x509::ClientIdentity,
    /// The server's host name, in the connection log.
    pub servername: String,
    /// `allowplaintext`: PLAIN and LOGIN without TLS on non-loopback connections.
    pub allow_plaintext: bool,
    /// `prelogin_timeout`: the time a connection has to authenticate.
    pub prelogin_timeout: Duration,
    /// `timeout`: the inactivity timer once authenticated (Cyrus's timsieved uses the IMAP
    /// one).
    pub timeout: Duration,
    /// `auth_max_failures`: failed logins after which the session is closed.
    pub max_login_failures: u32,
    /// The delay after a failed login, shared with the other protocols.
    pub login_penalty: Arc<::auth::LoginPenalty>,
    /// Where `log/USER/` telemetry directories are looked for.
    pub config_directory: PathBuf,
    /// The `sieve/servername` Kerberos credentials, for GSSAPI.
    pub kerberos: Option<sasl::KerberosService>,
    /// `sieve_maxredirects`, announced as MAXREDIRECTS.
    pub max_redirects: u32,
    /// In a Murder, how this server logs in at the backends it proxies sessions to (module
    /// `proxy`); `None` when it proxies to none, and then a user whose INBOX another server
    /// holds gets `NO (TRYLATER)`.
    pub proxy: Option<ProxyLogin>,
    /// TLS toward the backends (`proxy_tls`, `tls_server_ca_file`, `tls_client_cert`): when to
    /// send STARTTLS and what their certificates must chain to.
    pub proxy_tls: net::ClientTls,
}

/// The ManageSieve service shared by every connection.
pub struct ManageSieveServer {
    service: MailService,
    sasl: Arc<::auth::sasl_login::SaslLogins>,
    config: ManageSieveConfig,
    proc_files: Arc<net::procfile::ProcFiles>,
}

impl ManageSieveServer {
    pub fn new(
        service: MailService,
        sasl: Arc<::auth::sasl_login::SaslLogins>,
        config: ManageSieveConfig,
        proc_files: Arc<net::procfile::ProcFiles>,
    ) -> Arc<ManageSieveServer> {
        Arc::new(ManageSieveServer {
            service,
            sasl,
            config,
            proc_files,
        })
    }

    /// The framer's bounds: a literal holds at most a script of `sieve_maxscriptsize` and a
    /// little slack (a larger one is refused at its header, `NO (QUOTA/MAXSIZE)`, and skipped
    /// unread), a line outside literals at most 8 KiB.
    fn limits(&self) -> managesieve_proto::Limits {
        let max_literal = self
            .service
            .sieve_config()
            .max_script_size
            .saturating_add(LITERAL_SLACK);
        managesieve_proto::Limits {
            max_line: 8 * 1024,
            max_literal,
            max_command: usize::try_from(max_literal)
                .unwrap_or(usize::MAX)
                .saturating_add(16 * 1024),
        }
    }
}

/// What a literal may exceed `sieve_maxscriptsize` by, so that a script just over the limit
/// is read and answered `NO (QUOTA/MAXSIZE)` by the service like any other.
const LITERAL_SLACK: u64 = 1024;

/// Serves one TCP connection of `listen_sieve` to the end.
pub async fn serve(
    server: Arc<ManageSieveServer>,
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
