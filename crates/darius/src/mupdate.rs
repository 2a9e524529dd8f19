//! A backend joining a Cyrus Murder (docs/murder.md, "MUPDATE"): the `mupdate_*` options read
//! into `murder::mupdate::Bridge`, which `darius serve` installs as the service's cluster (over
//! the etcd directory when there is one), and `darius murder mupdate-sync`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use murder::mupdate::{Bridge, MupdateConfig};
use murder::Role;
use types::{MailboxName, Secret};

use crate::admin::Response;

/// Delayed delete's prefix, whose mailboxes are never published.
pub(crate) fn hidden(config: &config::Config) -> Option<MailboxName> {
    match config.str("delete_mode") {
        "delayed" => MailboxName::try_from(config.str("deletedprefix")).ok(),
        _ => None,
    }
}

/// The bridge the options describe, not started; `None` without `mupdate_server`. Refused on
/// a frontend, which holds no mailboxes to push. `inner` is the etcd directory, when there is
/// one.
pub fn open(
    config: &config::Config,
    store: &mailstore::Store,
    inner: Option<Arc<dyn mailservice::Cluster>>,
) -> Result<Option<Arc<Bridge>>> {
    let host = config.str("mupdate_server");
    if host.is_empty() {
        return Ok(None);
    }
    if Role::from_option(config.str("murder_role")).is_some_and(|r| !r.holds_mail()) {
        bail!(
            "mupdate_server: a frontend holds no mailboxes to push to a mupdate master \
             (set it on the backends)"
        );
    }
    let authname = config.str("mupdate_authname");
    if authname.is_empty() {
        bail!(
            "mupdate_server: needs mupdate_authname (an admin of the mupdate master) and \
             mupdate_password"
        );
    }
    let server = crate::imap::servername(config);
    if server.is_empty() || server.contains(['!', ' ', '\t']) {
        bail!("mupdate_server: locations are servername!PARTITION: set servername (a host name the Cyrus frontends reach this server at)");
    }
    let default_port = u16::try_from(config.int("mupdate_port"))
        .map_err(|_| anyhow::anyhow!("mupdate_port: not a port"))?;
    let (host, port) = host_and_port(host, default_port)?;
    let bridge = MupdateConfig {
        host,
        port,
        username: config.str("mupdate_username").to_string(),
        authname: authname.to_string(),
        password: Secret::new(config.str("mupdate_password").to_string()),
        retry_delay: Duration::from_secs(config.int("mupdate_retry_delay")),
        server,
        partition: config.str("defaultpartition").to_string(),
        tls: crate::murder::client_tls(config)?,
    };
    Ok(Some(Bridge::new(
        bridge,
        store.clone(),
        inner,
        hidden(config),
    )))
}

/// `mupdate_server` as Cyrus 3 reads it: `host`, `host:port` or `[address]:port` (Cyrus's
/// own programs take the port from there, or from `/etc/services`, not from `mupdate_port`);
/// without a port, `default_port`. Cyrus's `/tls` and `/noauth` suffixes are refused: this
/// client speaks plain TCP.
fn host_and_port(value: &str, default_port: u16) -> Result<(String, u16)> {
    if value.contains('/') {
        bail!("mupdate_server: {value}: options after `/` (Cyrus's tls, noauth) are not supported");
    }
    let port = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| anyhow::anyhow!("mupdate_server: {value}: {p} is not a port"))
    };
    if let Some(rest) = value.strip_prefix('[') {
        let Some((address, after)) = rest.split_once(']') else {
            bail!("mupdate_server: {value}: `[` without `]`");
        };
        return match after.strip_prefix(':') {
            Some(p) => Ok((address.to_string(), port(p)?)),
            None if after.is_empty() => Ok((address.to_string(), default_port)),
            None => bail!("mupdate_server: {value}: text after `]`"),
        };
    }
    match value.split_once(':') {
        // One colon: host:port. More: an IPv6 address without a port.
        Some((host, p)) if !p.contains(':') => Ok((host.to_string(), port(p)?)),
        _ => Ok((value.to_string(), default_port)),
    }
}

/// The admin socket's `MupdateSync`: a push through the running server's bridge.
pub fn execute(ctx: &crate::mail::Backend, dry_run: bool) -> Response {
    let Some(bridge) = &ctx.mupdate else {
        return Response::Refused {
            reason: "mupdate_server is not set: this server pushes to no mupdate master".into(),
        };
    };
    match bridge.push_now(dry_run) {
        Ok(report) => Response::Findings {
            lines: crate::murder::report_lines(&report, "the mupdate master"),
        },
        Err(reason) => Response::Failed { reason },
    }
}

/// `darius murder mupdate-sync` with no server running: one push from the stopped store.
pub fn push_offline(config: &config::Config, dry_run: bool) -> Result<Vec<String>> {
    let backend = crate::mail::Backend::open(config)?;
    let Some(bridge) = open(config, backend.service.store(), None)? else {
        bail!("murder mupdate-sync: mupdate_server is not set");
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime
        .block_on(bridge.push_once(dry_run))
        .map_err(|e| anyhow::anyhow!("murder mupdate-sync: {e}"))?;
    Ok(crate::murder::report_lines(&report, "the mupdate master"))
}

#[cfg(test)]
mod tests {
    use super::host_and_port;

    #[test]
    fn mupdate_server_takes_cyrus_forms() {
        let ok = |v: &str| host_and_port(v, 3905).unwrap();
        assert_eq!(
            ok("mupdate.example.org"),
            ("mupdate.example.org".into(), 3905)
        );
        assert_eq!(ok("127.0.0.1:4000"), ("127.0.0.1".into(), 4000));
        assert_eq!(ok("[::1]:4000"), ("::1".into(), 4000));
        assert_eq!(ok("[::1]"), ("::1".into(), 3905));
        assert_eq!(ok("::1"), ("::1".into(), 3905));
        for bad in ["host:port", "host:70000", "host:3905/tls", "[::1", "[::1]x"] {
            assert!(host_and_port(bad, 3905).is_err(), "{bad}");
        }
    }
}
