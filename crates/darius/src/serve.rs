//! `darius serve`: start-up in a fixed order, then run until SIGTERM/SIGINT.
//!
//! Order: read the configuration (which refuses services and options this build does not
//! implement, before anything is created or bound); create the config directory and partitions; take the data directory's
//! lock (a second server on the same data refuses to start); set up logging; name the Kerberos
//! keytab (module `kerberos`, before any thread); open the
//! databases; first-start work of the embedded default; bind listeners; start housekeeping
//! (tombstone retention, module `housekeeping`); serve. On a signal: stop accepting, let running
//! requests and a running housekeeping pass finish (bounded by `DRAIN_LIMIT`), exit 0.

use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::signal::unix::{signal, SignalKind};

use crate::{admin, embedded, imap, kerberos, lmtp, logging, mail, pop3, sieve};

/// How long running commands may take to finish after a shutdown signal.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// In the config directory; its presence also marks a store that `darius serve` created.
pub(crate) const LOCK_FILE: &str = "darius.lock";
/// Under the config directory: messages on their way in (IMAP APPEND literals, LMTP data).
pub const SPOOL_DIR: &str = "tmp";

pub fn run(config_path: Option<&Path>) -> Result<()> {
    let loaded = embedded::load_config(config_path)?;
    let config = &loaded.config;
    let dir = config.configdirectory();
    create_private_dir(dir)?;
    for (name, path) in config.partitions() {
        mailstore::create_dir_durably(path, 0o777)
            .with_context(|| format!("creating partition {name} at {}", path.display()))?;
    }
    let _lock = lock_data_dir(dir)?;
    logging::init(config);
    kerberos::configure(config)?;
    clear_spool(&dir.join(SPOOL_DIR));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    // Within the runtime: the Murder's etcd requests (the directory's, and the users' with
    // `murder_users: etcd`) run on it.
    let (mut backend, murder) = {
        let _in_runtime = runtime.enter();
        let backend = mail::Backend::open_as(config, mail::Opener::Server)?;
        let murder = crate::murder::open(config, backend.service.store())?;
        (backend, murder)
    };
    let directory = murder
        .as_ref()
        .map(|m| Arc::clone(&m.directory) as Arc<dyn mailservice::Cluster>);
    // A backend that also joins a Cyrus Murder: the bridge to its mupdate master wraps the
    // etcd directory, if any, as the service's cluster.
    let mupdate = crate::mupdate::open(config, backend.service.store(), directory.clone())?;
    let cluster = match &mupdate {
        Some(bridge) => Some(Arc::clone(bridge) as Arc<dyn mailservice::Cluster>),
        None => directory,
    };
    if let Some(cluster) = cluster {
        backend.service = backend.service.clone().with_cluster(cluster);
    }
    backend.murder = murder.as_ref().map(|m| Arc::clone(&m.directory));
    backend.mupdate = mupdate;
    let ctx = Arc::new(backend);
    if let Some(m) = murder.as_ref().filter(|m| m.role.holds_mail()) {
        m.recover_transfers(&ctx.service, &runtime)?;
    }
    if let Some(data_dir) = &loaded.embedded {
        let password = embedded::prepare(config, data_dir, |password| {
            let db = &ctx.passwords;
            match db.user_exists(embedded::ADMIN_USER)? {
                true => db.set_password(embedded::ADMIN_USER, password)?,
                false => db.add_user(embedded::ADMIN_USER, password)?,
            }
            Ok(())
        })?;
        if let Some(password) = password {
            println!(
                "Created the administrator `{}` with password {} (kept in {}; shown only this once).",
                embedded::ADMIN_USER,
                password.expose(),
                data_dir.join("admin-password").display()
            );
        }
    }
    warn_missing_admins(&loaded, &ctx.passwords);
    let tls = match (
        config.path("tls_server_cert"),
        config.path("tls_server_key"),
    ) {
        (Some(cert), Some(key)) => Some(net::load_server_config(
            cert,
            key,
            config.path("tls_client_ca_file"),
        )?),
        _ => None,
    };
    if tls.is_none() && config.path("tls_client_ca_file").is_some() {
        bail!("tls_client_ca_file: client certificates need tls_server_cert and tls_server_key");
    }
    if tls.is_none() && config.listen("listen_imaps").is_some() {
        bail!("listen_imaps: IMAPS needs tls_server_cert and tls_server_key");
    }
    // One writer of the sessions' `proc/` files for every protocol (it clears stale ones).
    let proc_files = Arc::new(net::procfile::ProcFiles::start(dir));
    let imap = imap::server(config, &ctx, tls.clone(), Arc::clone(&proc_files))?;
    if ctx.service.cluster().is_some_and(|c| !c.is_backend()) {
        let _ = ctx.frontend_imap.set(Arc::clone(&imap));
    }
    let pop3 = pop3::server(
        config,
        &ctx,
        tls.as_ref().map(|tls| Arc::clone(&tls.config)),
        Arc::clone(&proc_files),
    )?;
    let sieve = sieve::server(
        config,
        &ctx,
        tls.as_ref().map(|tls| Arc::clone(&tls.config)),
        proc_files,
    )?;
    let lmtp = lmtp::server(
        config,
        &ctx,
        tls.as_ref().map(|tls| Arc::clone(&tls.config)),
    )?;
    runtime.block_on(serve(
        config,
        config_path,
        ctx,
        murder,
        Servers {
            imap,
            pop3,
            sieve,
            lmtp,
            tls,
        },
    ))
}

/// The protocol servers `serve` listens for.
struct Servers {
    imap: Arc<imap_server::ImapServer>,
    pop3: Arc<pop3_server::Pop3Server>,
    sieve: Arc<managesieve_server::ManageSieveServer>,
    lmtp: Arc<lmtp_server::LmtpServer>,
    /// Their TLS, whose certificate SIGHUP reads again.
    tls: Option<net::ServerTls>,
}

async fn serve(
    config: &config::Config,
    config_path: Option<&Path>,
    ctx: Arc<mail::Backend>,
    murder: Option<crate::murder::Murder>,
    servers: Servers,
) -> Result<()> {
    let Servers {
        imap,
        pop3,
        sieve,
        lmtp,
        tls,
    } = servers;
    // Before anything is bound: a signal that arrives as soon as a socket answers (a script or
    // a test that waits for the admin socket, then stops the server) must find the handler in
    // place, or its default action kills the process instead of a clean shutdown.
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let shutdown = net::Shutdown::new();
    let per_host = host_limit(config)?;
    imap::listen(config, &imap, &shutdown, &per_host).await?;
    pop3::listen(config, &pop3, &shutdown, &per_host).await?;
    sieve::listen(config, &sieve, &shutdown, &per_host).await?;
    let lmtp_socket = lmtp::listen(config, &lmtp, &shutdown, &per_host).await?;
    crate::housekeeping::start(config, ctx.service.clone(), shutdown.signal());
    if let Some(m) = &murder {
        m.start(config, imap.published_capabilities())?;
    }
    if let Some(bridge) = &ctx.mupdate {
        bridge.start();
    }
    let mut admin_socket = None;
    if let Some(path) = config.path("adminsocket") {
        let listener = net::bind_unix(path, net::SocketAccess::owner_only())
            .with_context(|| format!("adminsocket: binding {}", path.display()))?;
        let owner = fs::metadata(path)
            .map(|m| m.uid())
            .with_context(|| format!("{}", path.display()))?;
        tokio::spawn(admin::serve(
            listener,
            owner,
            Arc::clone(&ctx),
            shutdown.signal(),
        ));
        tracing::info!("admin socket listening on {}", path.display());
        admin_socket = Some(path.to_path_buf());
    }
    let news_socket = crate::netnews::listen(config, &ctx, &shutdown)?;
    crate::memory::start_reclaimer();
    tracing::info!(
        "darius {} ready (configuration: {})",
        env!("CARGO_PKG_VERSION"),
        config.source()
    );
    let systemd = crate::systemd::Notifier::from_env().map(Arc::new);
    if let Some(systemd) = &systemd {
        systemd.ready();
        systemd.start_watchdog();
    }
    let name = loop {
        tokio::select! {
            _ = term.recv() => break "SIGTERM",
            _ = int.recv() => break "SIGINT",
            _ = hup.recv() => reload(
                config,
                config_path,
                tls.as_ref(),
                &ctx.service,
                systemd.as_deref(),
            ),
        }
    };
    tracing::info!("{name} received: no new connections, finishing running commands");
    if let Some(systemd) = &systemd {
        systemd.stopping();
    }
    shutdown.trigger();
    if let Some(m) = &murder {
        if m.role.holds_mail() {
            m.directory.withdraw().await;
        }
    }
    let left = shutdown.drain(DRAIN_LIMIT).await;
    if left > 0 {
        tracing::warn!("{left} connection(s) still busy after {DRAIN_LIMIT:?}; closing them");
    }
    for path in admin_socket
        .into_iter()
        .chain(lmtp_socket)
        .chain(news_socket)
    {
        let _ = fs::remove_file(path);
    }
    tracing::info!("stopped");
    Ok(())
}

/// SIGHUP: the TLS certificate and key are read again (new handshakes present them; sessions
/// keep theirs), `admins` takes the file's value (for logins from then on), so do the quota
/// warnings and `lmtp_strict_quota`, and every other option the file changed is named as
/// taking effect only at a restart.
fn reload(
    config: &config::Config,
    config_path: Option<&Path>,
    tls: Option<&net::ServerTls>,
    service: &mailservice::MailService,
    systemd: Option<&crate::systemd::Notifier>,
) {
    tracing::info!("SIGHUP received: reloading");
    if let Some(systemd) = systemd {
        systemd.reloading();
    }
    let reread = embedded::load_config(config_path);
    let now = match &reread {
        Ok(loaded) => &loaded.config,
        Err(e) => {
            tracing::error!(
                "SIGHUP: {} does not read ({e:#}); the certificate is read from the paths in use",
                config.source()
            );
            config
        }
    };
    match (tls, now.path("tls_server_cert"), now.path("tls_server_key")) {
        (Some(tls), Some(cert), Some(key)) => match tls.reload(cert, key) {
            Ok(()) => tracing::info!(
                "SIGHUP: TLS certificate {} and key {} read again",
                cert.display(),
                key.display()
            ),
            Err(e) => tracing::error!("SIGHUP: the certificate in use stays: {e}"),
        },
        (None, Some(_), Some(_)) => tracing::warn!(
            "SIGHUP: tls_server_cert and tls_server_key take effect at a restart (the server \
             started without TLS)"
        ),
        _ => {}
    }
    if reread.is_ok() {
        let admins = service.admins_list();
        let new = now.list("admins").to_vec();
        if *admins.get() != new {
            tracing::info!("SIGHUP: admins is now: {}", new.join(" "));
            admins.set(new);
        }
        let quota = crate::mail::quota_config(now);
        if service.quota_config() != quota {
            tracing::info!("SIGHUP: quota warnings and lmtp_strict_quota now: {quota:?}");
            service.set_quota_config(quota);
        }
    }
    const LIVE: [&str; 7] = [
        "tls_server_cert",
        "tls_server_key",
        "admins",
        "quotawarn",
        "quotawarnkb",
        "quotawarnmsg",
        "lmtp_strict_quota",
    ];
    let later: Vec<String> = config
        .differences(now)
        .into_iter()
        .filter(|name| !LIVE.contains(&name.as_str()))
        .collect();
    if !later.is_empty() {
        tracing::warn!(
            "SIGHUP: changed in {}, taking effect only at a restart: {}",
            config.source(),
            later.join(", ")
        );
    }
    if let Some(systemd) = systemd {
        systemd.ready();
    }
}

/// `admins` names accounts the password database lacks. Only the embedded default creates its
/// administrator; with `-C` nothing does, and the admin would otherwise find out only when the
/// login fails: say so at every start, with the command that creates them.
fn warn_missing_admins(loaded: &embedded::Loaded, passwords: &auth::PasswordDb) {
    let missing: Vec<String> = loaded
        .config
        .list("admins")
        .iter()
        .filter(|name| !matches!(passwords.user_exists(name), Ok(true)))
        .map(|name| format!("`{name}`"))
        .collect();
    if missing.is_empty() {
        return;
    }
    let command = match loaded.embedded {
        Some(_) => "darius user add NAME".to_string(),
        None => format!("darius -C {} user add NAME", loaded.config.source()),
    };
    tracing::warn!(
        "admins: no account for {}; create each with `{command}`",
        missing.join(", ")
    );
}

/// Removes what sessions of a previous run left in the spool directory (a crash, or a kill
/// during a transfer). Nothing there was acknowledged to a client: the store has its own
/// fsynced copy of everything it accepted. Safe because this process holds the data lock.
fn clear_spool(spool: &Path) {
    let Ok(entries) = fs::read_dir(spool) else {
        return;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(
            "removed {removed} leftover spool file(s) from {}",
            spool.display()
        );
    }
}

/// `maxconnections`, for one listener.
pub fn connection_limit(config: &config::Config) -> net::ConnectionLimit {
    net::ConnectionLimit::new(usize::try_from(config.int("maxconnections")).unwrap_or(usize::MAX))
}

/// `maxconnections_per_host`, shared by every TCP listener, with `client_limit_exceptions`
/// exempt.
pub fn host_limit(config: &config::Config) -> Result<net::HostLimit> {
    let exempt = client_limit_exceptions(config)?;
    let max = usize::try_from(config.int("maxconnections_per_host")).unwrap_or(usize::MAX);
    Ok(net::HostLimit::new(max, exempt))
}

/// `client_limit_exceptions`: hosts exempt from per-host limits.
pub fn client_limit_exceptions(config: &config::Config) -> Result<net::HostSet> {
    let list = config.list("client_limit_exceptions");
    net::HostSet::parse(list.iter().map(String::as_str))
        .map_err(|e| anyhow::anyhow!("client_limit_exceptions: {e}"))
}

/// The addresses the TCP listeners are bound to, by option (a port `0` in the configuration is
/// the kernel's choice): what a Murder backend advertises.
static BOUND: std::sync::Mutex<Vec<(&'static str, std::net::SocketAddr)>> =
    std::sync::Mutex::new(Vec::new());

fn note_bound(option: &'static str, addr: std::net::SocketAddr) {
    let mut bound = BOUND.lock().unwrap_or_else(|p| p.into_inner());
    bound.retain(|(o, _)| *o != option);
    bound.push((option, addr));
}

/// The address the listener of `option` is bound to, once bound.
pub fn bound_address(option: &str) -> Option<std::net::SocketAddr> {
    let bound = BOUND.lock().unwrap_or_else(|p| p.into_inner());
    bound.iter().find(|(o, _)| *o == option).map(|(_, a)| *a)
}

/// A TCP service: its listener option, its protocol's name for the log, and the line a
/// connection refused by `maxconnections_per_host` gets before it is closed.
pub struct TcpService {
    pub option: &'static str,
    pub protocol: &'static str,
    pub refusal: &'static str,
}

/// Binds the TCP listener of `service.option` (if configured), logs `"{option}: {protocol}
/// listening on ADDR"` (tests and scripts read the port from that line) and serves it with
/// `handler` under `maxconnections` and the shared `maxconnections_per_host`.
pub async fn listen_tcp<H, F>(
    config: &config::Config,
    service: TcpService,
    shutdown: &net::Shutdown,
    per_host: &net::HostLimit,
    handler: H,
) -> Result<()>
where
    H: Fn(tokio::net::TcpStream, net::ConnInfo, net::ShutdownSignal) -> F + Send + Sync + 'static,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let TcpService {
        option,
        protocol,
        refusal,
    } = service;
    let Some(addr) = config.listen(option) else {
        return Ok(());
    };
    let listener = net::bind_tcp(&addr.host, addr.port)
        .await
        .with_context(|| format!("{option}: binding {addr}"))?;
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| addr.to_string());
    tracing::info!("{option}: {protocol} listening on {local}");
    if let Ok(bound) = listener.local_addr() {
        note_bound(option, bound);
    }
    let limits = net::TcpLimits {
        total: connection_limit(config),
        per_host: per_host.clone(),
        refusal,
    };
    tokio::spawn(net::serve_tcp(listener, limits, shutdown.signal(), handler));
    Ok(())
}

/// Whether `darius serve` has created a store in `dir`. Only `serve` creates one: the admin
/// commands refuse to work on a directory without it, so a command run from the wrong place
/// or with the wrong `-C` cannot make a new empty store and act on it.
/// Binds a protocol's plain listener (STARTTLS/STLS offered) and its implicit-TLS one, named
/// by their options, and starts accepting on each that is set; `handler` serves a connection
/// in its listener's mode.
pub async fn listen_plain_and_tls<H, F>(
    config: &config::Config,
    [plain, implicit]: [&'static str; 2],
    protocol: &'static str,
    refusal: &'static str,
    shutdown: &net::Shutdown,
    per_host: &net::HostLimit,
    handler: H,
) -> Result<()>
where
    H: Fn(tokio::net::TcpStream, net::ConnInfo, net::ShutdownSignal, net::TlsMode) -> F
        + Clone
        + Send
        + Sync
        + 'static,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    for (option, mode) in [
        (plain, net::TlsMode::StartTls),
        (implicit, net::TlsMode::Implicit),
    ] {
        let handler = handler.clone();
        let service = TcpService {
            option,
            protocol,
            refusal,
        };
        listen_tcp(
            config,
            service,
            shutdown,
            per_host,
            move |stream, info, signal| handler(stream, info, signal, mode),
        )
        .await?;
    }
    Ok(())
}

pub fn is_initialised(dir: &Path) -> bool {
    dir.join(LOCK_FILE).is_file()
}

fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    // Synced into its parent: after a power loss the data directory must still be there.
    mailstore::create_dir_durably(dir, 0o700).with_context(|| format!("creating {}", dir.display()))
}

/// Takes the exclusive lock that marks the data directory as served. Held until the process
/// exits (the kernel drops it even after a crash, so there is no stale lock to clean).
pub(crate) fn lock_data_dir(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            bail!(
                "another `darius serve` (pid {}) is already running on {}; stop it first",
                holder.trim(),
                dir.display()
            );
        }
        Err(fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{}", std::process::id())?;
    Ok(file)
}
