//! Server layer: IMAP sessions — one task per connection, state as an enum, one handler per
//! command, the selected view owning sequence numbers.
//!
//! Owns: mapping parsed commands to service calls and service errors to response codes.
//! Must not: parse bytes itself (that is `imap-proto`) or reach past `mailservice` into storage
//! rules.
//!
//! Layout: [`connection`] runs the loop (bytes → framer → command → handler → responses →
//! socket, one command at a time, one writer); `state` is the session state enum; `view` the
//! selected mailbox's sequence numbers and pending untagged updates; `command/` one file per
//! command; `fetch` and `search` the two commands big enough for their own modules; `proxy`
//! the frontend of a Murder, which passes what concerns another server's mailbox to that
//! server (docs/murder.md); `xfer` moving mailboxes between the backends of a Murder.

mod capability;
mod command;
mod condstore;
pub mod connection;
mod convert;
mod fetch;
mod flags;
mod output;
mod proxy;
mod search;
mod spool;
mod state;
mod view;
mod xfer;

pub use mailservice::ProxyLogin;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the IMAP server takes from the configuration.
#[derive(Clone, Debug)]
pub struct ImapConfig {
    /// `tls_server_cert`/`tls_server_key`, loaded; `None` disables STARTTLS and IMAPS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The server certificate (replaced on SIGHUP), for its `tls-server-end-point` channel
    /// binding data (RFC 5929).
    pub tls_cert: Option<Arc<net::ServerCert>>,
    /// `tls_client_identity`: which part of a client certificate names its holder (EXTERNAL).
    pub tls_client_identity: net::x509::ClientIdentity,
    /// `allowplaintext`.
    pub allow_plaintext: bool,
    /// `allowanonymouslogin`: `LOGIN anonymous` opens an anonymous session.
    pub allow_anonymous_login: bool,
    /// `maxmessagesize`; `None` for no limit.
    pub max_message_size: Option<u64>,
    /// `timeout`: idle autologout of authenticated sessions (RFC 9051 §5.4: at least 30 min);
    /// also the bound on one write to the socket after authentication.
    pub autologout: Duration,
    /// `prelogin_timeout`: the time a connection has, in total, to authenticate; also the
    /// bound on one write to the socket before authentication.
    pub prelogin_timeout: Duration,
    /// `maxlogins_per_user`; 0 for no limit.
    pub max_logins_per_user: u32,
    /// `auth_max_failures`: failed logins after which the connection is closed.
    pub max_login_failures: u32,
    /// The delay before a failed login is answered, growing per host and per user.
    pub login_penalty: Arc<auth::LoginPenalty>,
    /// Parser limits (line, literal, nesting).
    pub limits: imap_proto::Limits,
    /// Where APPEND literals are spooled.
    pub spool_dir: PathBuf,
    /// `configdirectory`: session files under `proc/`, telemetry under `log/USER/`.
    pub config_directory: PathBuf,
    /// `servername`, for the greeting.
    pub servername: String,
    /// The Kerberos credentials of `imap/servername` from the keytab, for GSSAPI; `None` does
    /// not offer it.
    pub kerberos: Option<sasl::KerberosService>,
    /// In a Murder, how this server logs in at the backends it proxies to (`proxy_authname`,
    /// `proxy_password`); `None` when it proxies to none (a single server, or a backend that
    /// is no frontend): another server's mailbox is then answered from the directory copy
    /// (LIST, the ACL commands) or with `NO [UNAVAILABLE]` (its messages).
    pub proxy: Option<ProxyLogin>,
    /// How long a backend may take when proxying.
    pub proxy_timeouts: ProxyTimeouts,
    /// Capabilities never shown (Cyrus's `suppress_capabilities`), compared without regard to
    /// case; what is not shown cannot be enabled either.
    pub suppress_capabilities: Vec<String>,
    /// TLS toward the backends (`proxy_tls`, `tls_server_ca_file`, `tls_client_cert`): when to
    /// send STARTTLS and what their certificates must chain to.
    pub proxy_tls: net::ClientTls,
}

/// Time limits on the connections to backends.
#[derive(Clone, Copy, Debug)]
pub struct ProxyTimeouts {
    /// To connect, read the greeting and authenticate.
    pub connect: Duration,
    /// Of silence from a backend while it owes an answer (IDLE excepted, which waits as long
    /// as the client does).
    pub response: Duration,
}

impl Default for ProxyTimeouts {
    fn default() -> ProxyTimeouts {
        ProxyTimeouts {
            connect: Duration::from_secs(15),
            response: Duration::from_secs(300),
        }
    }
}

/// Shared by every IMAP connection.
pub struct ImapServer {
    service: mailservice::MailService,
    passwords: Arc<auth::PasswordDb>,
    sasl: Arc<auth::sasl_login::SaslLogins>,
    config: ImapConfig,
    logins: Mutex<HashMap<String, u32>>,
    /// Writes the sessions' `proc/` files off the runtime threads.
    proc_files: Arc<net::procfile::ProcFiles>,
}

impl ImapServer {
    pub fn new(
        service: mailservice::MailService,
        passwords: Arc<auth::PasswordDb>,
        sasl: Arc<auth::sasl_login::SaslLogins>,
        config: ImapConfig,
        proc_files: Arc<net::procfile::ProcFiles>,
    ) -> Arc<ImapServer> {
        Arc::new(ImapServer {
            service,
            sasl,
            passwords,
            config,
            logins: Mutex::new(HashMap::new()),
            proc_files,
        })
    }

    /// On a Murder frontend: creates `mailbox` (an internal name, a new user's INBOX) on the
    /// live backend holding the fewest mailboxes, as an administrator of `admins` through
    /// the proxy login, as an administrator's CREATE through this frontend would place it.
    /// Answers the backend's name, `None` when the mailbox exists already (the directory
    /// holds the name), or why it was not created.
    pub async fn create_on_backend(
        &self,
        mailbox: &types::MailboxName,
    ) -> Result<Option<String>, String> {
        let service = &self.service;
        let cluster = service.cluster().ok_or("this server is in no Murder")?;
        let login = self
            .config
            .proxy
            .as_ref()
            .ok_or("proxy_password is not set: this server logs in to no backend")?;
        let admin = service
            .admins()
            .iter()
            .map(|a| service.identity(a))
            .find(|i| i.is_global_admin())
            .ok_or("`admins` names no administrator of every domain to create it as")?;
        let cluster = Arc::clone(cluster);
        let backend =
            tokio::task::spawn_blocking(move || proxy::mailbox::least_loaded(cluster.as_ref()))
                .await
                .map_err(|e| e.to_string())?
                .ok_or("no backend is available for a new mailbox")?;
        let address = backend
            .imap
            .as_deref()
            .ok_or("the backend serves no IMAP")?;
        let mut conn = proxy::BackendConn::open(
            &backend.name,
            address,
            login,
            admin.user(),
            &self.config.proxy_tls,
            self.config.limits.max_line,
            self.config.proxy_timeouts,
        )
        .await
        .map_err(|e| format!("server {}: {e}", backend.name))?;
        let name = service.namespace().to_client(&admin, mailbox);
        let mut command = b"CREATE ".to_vec();
        imap_proto::wire::write_quoted(&mut command, name.as_bytes());
        let done = conn
            .command(&String::from_utf8_lossy(&command))
            .await
            .map_err(|e| format!("server {}: {e}", backend.name))?;
        conn.logout().await;
        if done.is_ok() {
            Ok(Some(backend.name))
        } else if done.code == Some(imap_proto::response::Code::AlreadyExists) {
            Ok(None)
        } else {
            Err(format!("server {}: {}", backend.name, done.text()))
        }
    }

    /// What CAPABILITY shows a user after login here (no administrator's extras), for a
    /// backend to publish in a Murder's directory: frontends offer only what every backend
    /// offers.
    pub fn published_capabilities(&self) -> Vec<String> {
        capability::after_login(&self.config)
    }

    /// Counts a login for `user`; `None` when `maxlogins_per_user` is reached.
    fn claim_login(self: &Arc<Self>, user: &str) -> Option<LoginClaim> {
        let mut logins = self.logins.lock().unwrap_or_else(|p| p.into_inner());
        let count = logins.entry(user.to_string()).or_insert(0);
        let max = self.config.max_logins_per_user;
        if max > 0 && *count >= max {
            return None;
        }
        *count += 1;
        Some(LoginClaim {
            server: Arc::clone(self),
            user: user.to_string(),
        })
    }
}

/// One logged-in session of a user; dropping it releases the count.
struct LoginClaim {
    server: Arc<ImapServer>,
    user: String,
}

impl Drop for LoginClaim {
    fn drop(&mut self) {
        let mut logins = self.server.logins.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = logins.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                logins.remove(&self.user);
            }
        }
    }
}
