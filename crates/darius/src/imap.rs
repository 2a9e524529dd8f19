//! Wiring of the IMAP service: its settings from the configuration, and its listeners
//! (`listen_imap` with STARTTLS, `listen_imaps` with implicit TLS).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use imap_server::{ImapConfig, ImapServer};

use crate::mail::{self, Backend};

pub fn server(
    config: &config::Config,
    ctx: &Backend,
    tls: Option<net::ServerTls>,
    proc_files: Arc<net::procfile::ProcFiles>,
) -> Result<Arc<ImapServer>> {
    let dir = config.configdirectory();
    let spool_dir = dir.join(crate::serve::SPOOL_DIR);
    mailstore::create_dir_durably(&spool_dir, 0o777)
        .with_context(|| format!("creating {}", spool_dir.display()))?;
    let max_message_size = mail::max_message_size(config);
    let limits = imap_proto::Limits {
        max_append_literal: max_message_size,
        max_line: usize::try_from(config.int("maxline")).unwrap_or(usize::MAX),
        max_literal: config.int("maxliteral"),
        ..imap_proto::Limits::default()
    };
    // A whole command holds at least one line and one literal.
    let limits = imap_proto::Limits {
        max_command: limits.max_command.max(
            limits
                .max_line
                .saturating_add(usize::try_from(limits.max_literal).unwrap_or(usize::MAX)),
        ),
        ..limits
    };
    let servername = servername(config);
    let imap_config = ImapConfig {
        tls_cert: tls.as_ref().map(|tls| Arc::clone(&tls.cert)),
        tls: tls.map(|tls| tls.config),
        tls_client_identity: match config.str("tls_client_identity") {
            "email" => net::x509::ClientIdentity::Email,
            _ => net::x509::ClientIdentity::CommonName,
        },
        allow_plaintext: config.bool("allowplaintext"),
        allow_anonymous_login: config.bool("allowanonymouslogin"),
        max_message_size: Some(max_message_size),
        autologout: Duration::from_secs(config.int("timeout") * 60),
        prelogin_timeout: Duration::from_secs(config.int("prelogin_timeout")),
        max_logins_per_user: u32::try_from(config.int("maxlogins_per_user")).unwrap_or(u32::MAX),
        max_login_failures: u32::try_from(config.int("auth_max_failures")).unwrap_or(u32::MAX),
        login_penalty: Arc::clone(&ctx.login_penalty),
        limits,
        spool_dir,
        config_directory: dir.to_path_buf(),
        kerberos: crate::kerberos::service("imap", &servername, &ctx.sasl.config().mech_list)?,
        servername,
        proxy: crate::murder::proxy_login(config),
        proxy_tls: crate::murder::proxy_tls(config)?,
        proxy_timeouts: imap_server::ProxyTimeouts::default(),
        suppress_capabilities: config.list("suppress_capabilities").to_vec(),
    };
    Ok(ImapServer::new(
        ctx.service.clone(),
        Arc::clone(&ctx.passwords),
        Arc::clone(&ctx.sasl),
        imap_config,
        proc_files,
    ))
}

/// Binds `listen_imap` and `listen_imaps` and starts accepting.
pub async fn listen(
    config: &config::Config,
    imap: &Arc<ImapServer>,
    shutdown: &net::Shutdown,
    per_host: &net::HostLimit,
) -> Result<()> {
    let server = Arc::clone(imap);
    crate::serve::listen_plain_and_tls(
        config,
        ["listen_imap", "listen_imaps"],
        "IMAP",
        "* BYE Too many connections from your address\r\n",
        shutdown,
        per_host,
        move |stream, info, signal, mode| {
            imap_server::connection::serve(Arc::clone(&server), stream, info, signal, mode)
        },
    )
    .await
}

/// `servername`, or the machine's host name when it is empty.
pub fn servername(config: &config::Config) -> String {
    match config.str("servername") {
        "" => hostname(),
        name => name.to_string(),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string())
}
