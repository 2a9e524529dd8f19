//! Wiring of the ManageSieve service (`listen_sieve`, with STARTTLS): its settings from the
//! configuration, and its listener.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use managesieve_server::{ManageSieveConfig, ManageSieveServer};

use crate::mail::Backend;

pub fn server(
    config: &config::Config,
    ctx: &Backend,
    tls: Option<Arc<rustls::ServerConfig>>,
    proc_files: Arc<net::procfile::ProcFiles>,
) -> Result<Arc<ManageSieveServer>> {
    let servername = crate::imap::servername(config);
    // GSSAPI needs `sieve/servername` in the keytab; one that holds only the IMAP key still
    // lets the server start, without GSSAPI for ManageSieve.
    let kerberos = if config.listen("listen_sieve").is_none() {
        None
    } else {
        match crate::kerberos::service("sieve", &servername, &ctx.sasl.config().mech_list) {
            Ok(kerberos) => kerberos,
            Err(e) => {
                tracing::warn!("ManageSieve: GSSAPI not offered: {e:#}");
                None
            }
        }
    };
    let sieve_config = ManageSieveConfig {
        tls,
        tls_client_identity: match config.str("tls_client_identity") {
            "email" => net::x509::ClientIdentity::Email,
            _ => net::x509::ClientIdentity::CommonName,
        },
        allow_plaintext: config.bool("allowplaintext"),
        prelogin_timeout: Duration::from_secs(config.int("prelogin_timeout")),
        timeout: Duration::from_secs(config.int("timeout") * 60),
        max_login_failures: u32::try_from(config.int("auth_max_failures")).unwrap_or(u32::MAX),
        login_penalty: Arc::clone(&ctx.login_penalty),
        config_directory: config.configdirectory().to_path_buf(),
        kerberos,
        max_redirects: u32::try_from(config.int("sieve_maxredirects")).unwrap_or(u32::MAX),
        servername,
        proxy: crate::murder::proxy_login(config),
        proxy_tls: crate::murder::proxy_tls(config)?,
    };
    Ok(ManageSieveServer::new(
        ctx.service.clone(),
        Arc::clone(&ctx.sasl),
        sieve_config,
        proc_files,
    ))
}

/// The service's limits on scripts, from `sieve_maxscripts` and `sieve_maxscriptsize` (KiB).
pub fn script_limits(config: &config::Config) -> mailservice::SieveConfig {
    mailservice::SieveConfig {
        max_scripts: usize::try_from(config.int("sieve_maxscripts")).unwrap_or(usize::MAX),
        max_script_size: config.int("sieve_maxscriptsize").saturating_mul(1024),
        ..mailservice::SieveConfig::default()
    }
}

/// Binds `listen_sieve` and starts accepting.
pub async fn listen(
    config: &config::Config,
    sieve: &Arc<ManageSieveServer>,
    shutdown: &net::Shutdown,
    per_host: &net::HostLimit,
) -> Result<()> {
    let server = Arc::clone(sieve);
    let service = crate::serve::TcpService {
        option: "listen_sieve",
        protocol: "ManageSieve",
        refusal: "BYE (TRYLATER) \"Too many connections from your address\"\r\n",
    };
    crate::serve::listen_tcp(
        config,
        service,
        shutdown,
        per_host,
        move |stream, info, signal| {
            managesieve_server::serve(
                Arc::clone(&server),
                stream,
                info,
                signal,
                net::TlsMode::StartTls,
            )
        },
    )
    .await
}
