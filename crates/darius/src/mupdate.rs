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
    let port = u16::try_from(config.int("mupdate_port"))
        .map_err(|_| anyhow::anyhow!("mupdate_port: not a port"))?;
    let bridge = MupdateConfig {
        host: host.to_string(),
        port,
        username: config.str("mupdate_username").to_string(),
        authname: authname.to_string(),
        password: Secret::new(config.str("mupdate_password").to_string()),
        retry_delay: Duration::from_secs(config.int("mupdate_retry_delay")),
        server,
        partition: config.str("defaultpartition").to_string(),
    };
    Ok(Some(Bridge::new(
        bridge,
        store.clone(),
        inner,
        hidden(config),
    )))
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
