//! The Murder in the binary (docs/murder.md): reading the `murder_*` options into the
//! directory (`murder::Directory`) the service asks, starting a backend's reconciliation,
//! lease and the directory's copy, and `darius murder dump|sync`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use murder::{Directory, Keys, Kv, Role, ServerRecord};

use crate::admin::{Request, Response};
use crate::reconstruct::{load, running_server};

/// How often a backend looks whether its directory entries need reconciling.
const RECONCILE_RETRY: Duration = Duration::from_secs(5);

/// `darius murder …`.
#[derive(Subcommand)]
pub enum MurderAction {
    /// List the directory in etcd: one mailbox per line, `name<TAB>server!partition<TAB>state`
    /// (with --acl, its ACL as a fourth field).
    Dump {
        /// Also print each mailbox's ACL.
        #[arg(long)]
        acl: bool,
    },
    /// Make the directory say what this backend holds (Cyrus's `ctl_mboxlist -m`), through the
    /// running server: publish what is missing, correct what differs, settle reservations left
    /// by a crash, remove this server's entries whose mailbox is gone; names another server
    /// holds are reported. Exit status 1 when anything differed.
    Sync {
        /// Only report the differences.
        #[arg(short = 'n', long)]
        dry_run: bool,
    },
    /// Push this server's mailboxes to the Cyrus mupdate master `mupdate_server` names
    /// (through the running server, else from the stopped store): activate every mailbox at
    /// servername!PARTITION with its ACL, delete this server's entries whose mailbox is gone;
    /// names another server holds are reported. Exit status 1 when anything differed.
    MupdateSync {
        /// Only report the differences.
        #[arg(short = 'n', long)]
        dry_run: bool,
    },
}

/// This server's part in the Murder, once configured.
pub struct Murder {
    pub directory: Arc<Directory>,
    pub role: Role,
    ttl: Duration,
}

/// The etcd client the options describe.
pub(crate) fn etcd_client(config: &config::Config) -> Result<etcd::Client> {
    let endpoints = config.list("murder_etcd_endpoints");
    if endpoints.is_empty() {
        bail!("murder_role: a Murder needs murder_etcd_endpoints");
    }
    let mut client = etcd::ClientConfig::new(endpoints.iter().cloned());
    if let Some(ca) = config.path("murder_etcd_ca_file") {
        client.tls = Some(etcd::TlsConfig {
            ca_file: ca.to_path_buf(),
            cert_file: config.path("murder_etcd_cert_file").map(Path::to_path_buf),
            key_file: config.path("murder_etcd_key_file").map(Path::to_path_buf),
        });
    }
    let user = config.str("murder_etcd_user");
    if !user.is_empty() {
        client.auth = Some(etcd::Credentials::new(
            user,
            config.str("murder_etcd_password"),
        ));
    }
    etcd::Client::new(client).context("murder_etcd_endpoints")
}

/// The credentials this server logs in to backends with (`proxy_authname`,
/// `proxy_password`, and Cyrus's per-backend `SERVER_authname` and `SERVER_password`), when
/// it is in a Murder and has them. Without them it proxies nothing:
/// a backend answers another's mailboxes from its copy of the directory.
pub fn proxy_login(config: &config::Config) -> Option<mailservice::ProxyLogin> {
    Role::from_option(config.str("murder_role"))?;
    let mut servers = config.names_with("_password");
    if config.str("proxy_password").is_empty() && servers.is_empty() {
        return None;
    }
    servers.extend(config.names_with("_authname"));
    let per_server = servers
        .into_iter()
        .map(|name| {
            let own = mailservice::ServerLogin {
                authname: config.per_name(name, "_authname").map(str::to_string),
                password: config
                    .per_name(name, "_password")
                    .map(|p| types::Secret::new(p.to_string())),
            };
            (name.to_string(), own)
        })
        .collect();
    Some(mailservice::ProxyLogin {
        authname: config.str("proxy_authname").to_string(),
        password: types::Secret::new(config.str("proxy_password").to_string()),
        per_server,
    })
}

/// TLS toward the backends (`proxy_tls`): off outside a Murder; otherwise the backends'
/// certificates must chain to `tls_server_ca_file` (the system's CAs when it is empty), and
/// `tls_client_cert`/`tls_client_key` are presented to a backend that asks for a certificate.
pub fn proxy_tls(config: &config::Config) -> Result<net::ClientTls> {
    if Role::from_option(config.str("murder_role")).is_none() {
        return Ok(net::ClientTls::off());
    }
    client_tls(config)
}

/// TLS toward other servers as `proxy_tls` says, whatever the role: the backends of a
/// frontend, a Cyrus mupdate master.
pub fn client_tls(config: &config::Config) -> Result<net::ClientTls> {
    let mode = match config.str("proxy_tls") {
        "on" => net::ClientTlsMode::On,
        "off" => net::ClientTlsMode::Off,
        _ => net::ClientTlsMode::Auto,
    };
    if mode == net::ClientTlsMode::Off {
        return Ok(net::ClientTls::off());
    }
    let files = net::ClientTlsFiles {
        ca_file: config.path("tls_server_ca_file").map(Path::to_path_buf),
        cert_file: config.path("tls_client_cert").map(Path::to_path_buf),
        key_file: config.path("tls_client_key").map(Path::to_path_buf),
    };
    let client = net::client_tls::load_client_config(&files)
        .context("proxy_tls: TLS toward the backends (tls_server_ca_file, tls_client_cert)")?;
    Ok(net::ClientTls::new(mode, client))
}

/// `murder_users: etcd`: where the users' records are in the Murder's etcd; `None` with
/// `murder_users: local`. The etcd requests run on the current runtime (the server's), or on
/// a small one of the database's own in a tool, which has none.
pub(crate) fn etcd_users(config: &config::Config) -> Result<Option<auth::EtcdUsers>> {
    if config.str("murder_users") != "etcd" {
        return Ok(None);
    }
    if Role::from_option(config.str("murder_role")).is_none() {
        bail!(
            "murder_users: etcd keeps the users in the Murder's etcd: it needs murder_role \
             and murder_etcd_endpoints"
        );
    }
    Ok(Some(auth::EtcdUsers {
        client: etcd_client(config)?,
        prefix: config.str("murder_etcd_prefix").to_string(),
        runtime: tokio::runtime::Handle::try_current().ok(),
    }))
}

/// This server's name in the directory.
fn server_name(config: &config::Config) -> Result<String> {
    let name = match config.str("murder_server_name") {
        "" => crate::imap::servername(config),
        name => name.to_string(),
    };
    if name.is_empty() || name.contains(['!', '/', ' ', '\t']) {
        bail!("murder_server_name: a Murder needs a server name without '!', '/' or blanks (or servername)");
    }
    Ok(name)
}

/// Where the other servers reach this one's `option` listener (bound already): the bound
/// port, at `murder_advertise_host` or the bound address.
fn advertised(config: &config::Config, option: &str) -> Result<Option<String>> {
    let Some(bound) = crate::serve::bound_address(option) else {
        return Ok(None);
    };
    let host = match config.str("murder_advertise_host") {
        "" if bound.ip().is_unspecified() => bail!(
            "{option}: listens on every address; set murder_advertise_host so other servers \
             of the Murder can reach it"
        ),
        "" => bound.ip().to_string(),
        host => host.to_string(),
    };
    Ok(Some(
        config::ListenAddr {
            host,
            port: bound.port(),
        }
        .to_string(),
    ))
}

/// The Murder the configuration describes, or `None` for a single server. Must be called
/// within the runtime the server runs on.
pub fn open(config: &config::Config, store: &mailstore::Store) -> Result<Option<Murder>> {
    let Some(role) = Role::from_option(config.str("murder_role")) else {
        return Ok(None);
    };
    if role != Role::Backend && proxy_login(config).is_none() {
        bail!(
            "murder_role: a {} proxies to backends: set proxy_password (and proxy_authname), \
             or each backend's SERVER_password",
            config.str("murder_role")
        );
    }
    let client = etcd_client(config)?;
    let this = server_name(config)?;
    let keys = Keys::new(config.str("murder_etcd_prefix"));
    let hidden = crate::mupdate::hidden(config);
    let directory = Directory::new(Kv::new(client), keys, &this, role, store.clone(), hidden);
    Ok(Some(Murder {
        directory,
        role,
        ttl: Duration::from_secs(config.int("murder_lease_ttl")),
    }))
}

impl Murder {
    /// Starts the directory's work on the current runtime: a backend first reconciles what it
    /// holds with the directory, then advertises itself; every server follows the directory
    /// into its copy.
    /// Call once the listeners are bound (their addresses are advertised);
    /// `imap_capabilities` is what the IMAP service shows a user after login, published for
    /// the frontends.
    pub fn start(&self, config: &config::Config, imap_capabilities: Vec<String>) -> Result<()> {
        let directory = Arc::clone(&self.directory);
        tokio::spawn(Arc::clone(&directory).follow());
        if self.role.holds_mail() {
            let record = ServerRecord {
                imap: advertised(config, "listen_imap")?,
                lmtp: advertised(config, "listen_lmtp")?,
                pop3: advertised(config, "listen_pop3")?,
                sieve: advertised(config, "listen_sieve")?,
                mailboxes: 0,
                started: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64),
                imap_capabilities: Some(imap_capabilities),
            };
            tokio::spawn(Arc::clone(&directory).advertise(record, self.ttl));
            // Reconciles at start and whenever publishing failed for good; with etcd
            // unreachable the mailboxes are served anyway and published once it answers.
            tokio::spawn(directory.settle(RECONCILE_RETRY));
        }
        Ok(())
    }
}

/// How often markers the directory could not settle at start are tried again.
const RECOVERY_RETRY: Duration = Duration::from_secs(5);

impl Murder {
    /// Settles, before anything is served, the markers of transfers (XFER) a crash
    /// interrupted (see `mailservice::MailService::recover_transfers`). What the directory
    /// cannot settle now (etcd unreachable) is tried again on `runtime` until it can; the
    /// hierarchies given away stay frozen meanwhile.
    pub fn recover_transfers(
        &self,
        service: &mailservice::MailService,
        runtime: &tokio::runtime::Runtime,
    ) -> Result<()> {
        let recovery = service
            .recover_transfers()
            .context("settling interrupted transfers (configdirectory/xfer)")?;
        if recovery.is_settled() {
            return Ok(());
        }
        tracing::warn!(
            "xfer: interrupted transfers wait for the directory; their mailboxes given away refuse writes until it answers"
        );
        let service = service.clone();
        runtime.spawn(async move {
            let mut recovery = recovery;
            while !recovery.is_settled() {
                tokio::time::sleep(RECOVERY_RETRY).await;
                let service = service.clone();
                recovery = match tokio::task::spawn_blocking(move || {
                    recovery.retry(&service);
                    recovery
                })
                .await
                {
                    Ok(recovery) => recovery,
                    Err(e) => {
                        tracing::error!("xfer: settling interrupted transfers: {e}");
                        return;
                    }
                };
            }
            tracing::info!("xfer: interrupted transfers settled");
        });
        Ok(())
    }
}

/// The lines `darius murder sync` and `mupdate-sync` print; `list` names what was compared
/// with ("the directory", "the mupdate master").
pub(crate) fn report_lines(r: &murder::SyncReport, list: &str) -> Vec<String> {
    let verb = |done: String, would: String| if r.dry_run { would } else { done };
    let mut lines = Vec::new();
    for (names, done, would) in [
        (
            &r.published,
            "published".to_string(),
            format!("missing from {list}"),
        ),
        (
            &r.activated,
            "activated (a reservation left by a crash)".to_string(),
            "reserved, not active".to_string(),
        ),
        (
            &r.corrected,
            "corrected".to_string(),
            format!("differs in {list}"),
        ),
        (
            &r.removed,
            "removed (no such mailbox here)".to_string(),
            format!("in {list}, not here"),
        ),
    ] {
        for name in names {
            lines.push(format!("{name}: {}", verb(done.clone(), would.clone())));
        }
    }
    for (name, server) in &r.conflicts {
        lines.push(format!(
            "{name}: held here, but {list} gives it to server {server}"
        ));
    }
    lines
}

/// The admin socket's `MurderSync`: runs on the server's runtime.
pub fn execute(ctx: &crate::mail::Backend, dry_run: bool) -> Response {
    let Some(directory) = &ctx.murder else {
        return Response::Refused {
            reason: "murder_role is not set: this server is in no Murder".into(),
        };
    };
    if !directory.role().holds_mail() {
        return Response::Refused {
            reason: "a frontend holds no mailboxes to reconcile".into(),
        };
    }
    let directory = Arc::clone(directory);
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return Response::Refused {
            reason: "murder sync runs in the server".into(),
        };
    };
    let outcome = std::thread::scope(|s| {
        s.spawn(|| handle.block_on(directory.reconcile(dry_run)))
            .join()
            .unwrap_or_else(|_| Err("reconciliation failed".into()))
    });
    match outcome {
        Ok(report) => Response::Findings {
            lines: report_lines(&report, "the directory"),
        },
        Err(reason) => Response::Failed { reason },
    }
}

pub fn run(config_path: Option<&Path>, action: MurderAction) -> Result<()> {
    let config = load(config_path)?;
    match action {
        MurderAction::Dump { acl } => dump(&config, acl),
        MurderAction::MupdateSync { dry_run } => {
            let lines = match running_server(&config) {
                Some(socket) => {
                    match crate::admin::call(&socket, &Request::MupdateSync { dry_run })? {
                        Some(Response::Findings { lines }) => lines,
                        Some(Response::Refused { reason } | Response::Failed { reason }) => {
                            bail!("murder mupdate-sync: {reason}")
                        }
                        other => bail!("murder mupdate-sync: unexpected answer {other:?}"),
                    }
                }
                None => crate::mupdate::push_offline(&config, dry_run)?,
            };
            for line in &lines {
                println!("{line}");
            }
            if lines.is_empty() {
                eprintln!("murder mupdate-sync: the mupdate master lists what this server holds");
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        MurderAction::Sync { dry_run } => {
            let Some(socket) = running_server(&config) else {
                bail!("murder sync: no server is running (it reconciles at every start)");
            };
            match crate::admin::call(&socket, &Request::MurderSync { dry_run })? {
                Some(Response::Findings { lines }) => {
                    for line in &lines {
                        println!("{line}");
                    }
                    if lines.is_empty() {
                        eprintln!("murder sync: the directory says what this backend holds");
                        Ok(())
                    } else {
                        std::process::exit(1)
                    }
                }
                Some(Response::Refused { reason } | Response::Failed { reason }) => {
                    bail!("murder sync: {reason}")
                }
                other => bail!("murder sync: unexpected answer {other:?}"),
            }
        }
    }
}

fn dump(config: &config::Config, acl: bool) -> Result<()> {
    if Role::from_option(config.str("murder_role")).is_none() {
        bail!("murder dump: murder_role is not set");
    }
    let client = etcd_client(config)?;
    let keys = Keys::new(config.str("murder_etcd_prefix"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = None;
    runtime
        .block_on(murder::dump(&client, &keys, |line| {
            use std::io::Write;
            let state = match line.record.state {
                murder::State::Active => "active",
                murder::State::Reserved => "reserved",
            };
            let mut text = format!(
                "{}\t{}!{}\t{state}",
                line.name, line.record.server, line.record.partition
            );
            if acl {
                text.push('\t');
                text.push_str(&line.record.acl.replace('\t', " "));
            }
            if let Err(e) = writeln!(out, "{text}") {
                failed.get_or_insert(e);
            }
        }))
        .context("reading the directory from etcd")?;
    if let Some(e) = failed {
        return Err(e).context("writing the dump");
    }
    Ok(())
}
