//! Wiring of the LMTP service: its settings from the configuration, LMTP AUTH (`lmtp_auth`,
//! with the SASL logins IMAP uses), and its listeners (`listen_lmtp` over TCP with STARTTLS
//! when a certificate is configured, `lmtpsocket` for the local MTA).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use lmtp_server::{LmtpAuth, LmtpConfig, LmtpServer, LocalDomains, ProxyPooling, RcptCase};

use crate::mail::{self, Backend};

/// RFC 5321 §4.5.3.2: a server waits at least 5 minutes for the next command.
const LMTP_TIMEOUT: Duration = Duration::from_secs(300);

pub fn server(
    config: &config::Config,
    ctx: &Backend,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<Arc<LmtpServer>> {
    // Checked before anything is bound: a wrong group stops start-up.
    socket_access(config)?;
    let spool_dir = config.configdirectory().join(crate::serve::SPOOL_DIR);
    mailstore::create_dir_durably(&spool_dir, 0o777)
        .with_context(|| format!("creating {}", spool_dir.display()))?;
    let servername = crate::imap::servername(config);
    let local_domains = if config.bool("lmtp_strict_domains") {
        let mut domains = vec![servername.clone()];
        domains.extend(config.list("lmtp_local_domains").iter().cloned());
        LocalDomains::Only(domains)
    } else {
        LocalDomains::Any
    };
    let lmtp_config = LmtpConfig {
        tls,
        servername,
        max_message_size: Some(mail::max_message_size(config)),
        rcpt_case: if config.bool("lmtp_downcase_rcpt") {
            RcptCase::Downcase
        } else {
            RcptCase::AsWritten
        },
        postuser: Some(config.str("postuser"))
            .filter(|p| !p.is_empty())
            .map(str::to_string),
        local_domains,
        single_instance_store: config.bool("singleinstancestore"),
        duplicate_suppression: config.bool("duplicatesuppression"),
        spool_dir,
        timeout: LMTP_TIMEOUT,
        // As Postfix's smtpd_timeout, one value for reading and writing.
        write_timeout: LMTP_TIMEOUT,
        max_line: lmtp_proto::MAX_COMMAND_LINE,
        // Everyone may connect to a 0666 socket: then nobody there speaks for others.
        unix_socket_trusted: config.str("lmtpsocket_mode") != "0666",
        proxy: crate::murder::proxy_login(config),
        proxy_pooling: ProxyPooling {
            idle_max: usize::try_from(config.int("lmtp_proxy_idle_max")).unwrap_or(usize::MAX),
            idle_timeout: Duration::from_secs(config.int("lmtp_proxy_idle_timeout")),
        },
        proxy_tls: crate::murder::proxy_tls(config)?,
    };
    if !config.bool("lmtp_auth") {
        return Ok(LmtpServer::new(ctx.service.clone(), lmtp_config));
    }
    // The same SASL logins, throttle and penalty as IMAP.
    let auth = LmtpAuth {
        sasl: Arc::clone(&ctx.sasl),
        penalty: Arc::clone(&ctx.login_penalty),
        max_failures: u32::try_from(config.int("auth_max_failures")).unwrap_or(u32::MAX),
    };
    Ok(LmtpServer::with_auth(
        ctx.service.clone(),
        lmtp_config,
        auth,
    ))
}

/// Binds `listen_lmtp` and `lmtpsocket` and starts accepting.
pub async fn listen(
    config: &config::Config,
    lmtp: &Arc<LmtpServer>,
    shutdown: &net::Shutdown,
    per_host: &net::HostLimit,
) -> Result<Option<std::path::PathBuf>> {
    let server = Arc::clone(lmtp);
    let service = crate::serve::TcpService {
        option: "listen_lmtp",
        protocol: "LMTP",
        refusal: "421 4.7.0 Too many connections from your address\r\n",
    };
    crate::serve::listen_tcp(
        config,
        service,
        shutdown,
        per_host,
        move |stream, info, signal| {
            lmtp_server::serve_tcp(Arc::clone(&server), stream, info, signal)
        },
    )
    .await?;
    let Some(path) = config.path("lmtpsocket") else {
        return Ok(None);
    };
    let listener = net::bind_unix(path, socket_access(config)?)
        .with_context(|| format!("lmtpsocket: binding {}", path.display()))?;
    tracing::info!("lmtpsocket: LMTP listening on {}", path.display());
    let server = Arc::clone(lmtp);
    tokio::spawn(net::serve_unix(
        listener,
        crate::serve::connection_limit(config),
        shutdown.signal(),
        move |stream, signal| lmtp_server::serve_unix(Arc::clone(&server), stream, signal),
    ));
    Ok(Some(path.to_path_buf()))
}

/// Who may connect to `lmtpsocket`: `lmtpsocket_mode`, and `lmtpsocket_group` (empty: the
/// server's own group). Delivering over the socket needs no password, so the mode is the
/// access control: 0660 with the MTA's group (Postfix's `lmtp` client runs as user and group
/// `postfix`) lets the MTA in and no other local account.
fn socket_access(config: &config::Config) -> Result<net::SocketAccess> {
    let mode = config.str("lmtpsocket_mode");
    let mode = u32::from_str_radix(mode, 8)
        .with_context(|| format!("lmtpsocket_mode: {mode:?} is not an octal mode"))?;
    let group = match config.str("lmtpsocket_group") {
        "" => None,
        name => Some(net::group_id(name).with_context(|| format!("lmtpsocket_group: {name}"))?),
    };
    Ok(net::SocketAccess { mode, group })
}
