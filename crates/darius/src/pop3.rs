//! Wiring of the POP3 service: its settings from the configuration, and its listeners
//! (`listen_pop3` with STLS, `listen_pop3s` with implicit TLS).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use pop3_server::{Expire, Pop3Config, Pop3Server};

use crate::mail::Backend;

pub fn server(
    config: &config::Config,
    ctx: &Backend,
    tls: Option<Arc<rustls::ServerConfig>>,
    proc_files: Arc<net::procfile::ProcFiles>,
) -> Result<Arc<Pop3Server>> {
    if tls.is_none() && config.listen("listen_pop3s").is_some() {
        bail!("listen_pop3s: POP3S needs tls_server_cert and tls_server_key");
    }
    let servername = crate::imap::servername(config);
    let listening =
        config.listen("listen_pop3").is_some() || config.listen("listen_pop3s").is_some();
    // GSSAPI for POP3 needs `pop/servername` in the keytab; one that holds only the IMAP key
    // still lets the server start (IMAP refuses to start without its own when GSSAPI is listed).
    let kerberos = if !listening {
        None
    } else {
        match crate::kerberos::service("pop", &servername, &ctx.sasl.config().mech_list) {
            Ok(kerberos) => kerberos,
            Err(e) => {
                tracing::warn!("POP3: GSSAPI not offered: {e:#}");
                None
            }
        }
    };
    let pop3_config = Pop3Config {
        tls,
        tls_client_identity: match config.str("tls_client_identity") {
            "email" => net::x509::ClientIdentity::Email,
            _ => net::x509::ClientIdentity::CommonName,
        },
        allow_plaintext: config.bool("allowplaintext"),
        prelogin_timeout: Duration::from_secs(config.int("prelogin_timeout")),
        timeout: Duration::from_secs(config.int("poptimeout") * 60),
        min_poll: Duration::from_secs(config.int("popminpoll") * 60),
        expire: expire(config.str("popexpiretime"))?,
        use_imap_flags: config.bool("popuseimapflags"),
        max_login_failures: u32::try_from(config.int("auth_max_failures")).unwrap_or(u32::MAX),
        login_penalty: Arc::clone(&ctx.login_penalty),
        config_directory: config.configdirectory().to_path_buf(),
        kerberos,
        servername,
        proxy: crate::murder::proxy_login(config),
        proxy_tls: crate::murder::proxy_tls(config)?,
    };
    Ok(Pop3Server::new(
        ctx.service.clone(),
        Arc::clone(&ctx.passwords),
        Arc::clone(&ctx.sasl),
        pop3_config,
        proc_files,
    ))
}

/// `popexpiretime`: `-1` (never) or a number of days.
fn expire(value: &str) -> Result<Expire> {
    match value.trim() {
        "-1" => Ok(Expire::Never),
        days => match days.parse::<u32>() {
            Ok(days) => Ok(Expire::Days(days)),
            Err(_) => bail!("popexpiretime: {value:?} is neither -1 nor a number of days"),
        },
    }
}

/// Binds `listen_pop3` and `listen_pop3s` and starts accepting.
pub async fn listen(
    config: &config::Config,
    pop3: &Arc<Pop3Server>,
    shutdown: &net::Shutdown,
    per_host: &net::HostLimit,
) -> Result<()> {
    let server = Arc::clone(pop3);
    crate::serve::listen_plain_and_tls(
        config,
        ["listen_pop3", "listen_pop3s"],
        "POP3",
        "-ERR [SYS/TEMP] Too many connections from your address\r\n",
        shutdown,
        per_host,
        move |stream, info, signal, mode| {
            pop3_server::serve(Arc::clone(&server), stream, info, signal, mode)
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popexpiretime_values() {
        assert_eq!(expire("-1").unwrap(), Expire::Never);
        assert_eq!(expire("0").unwrap(), Expire::Days(0));
        assert_eq!(expire("30").unwrap(), Expire::Days(30));
        assert!(expire("-2").is_err());
        assert!(expire("never").is_err());
    }
}
