//! `darius backup` and `darius restore`: an online, consistent copy of the whole store, and
//! putting one back.
//!
//! A backup is itself a Darius data directory:
//! ```text
//! DEST/config/            mailboxes.redb, deliver.redb, passwd.redb, sasl-disguise.key, index/
//! DEST/config/sieve/      the Sieve directory
//! DEST/partitions/NAME/   each partition's mailbox directories (message files hard-linked
//!                         when DEST is on the partition's file system, else copied)
//! DEST/imapd.conf         the live configuration, its directories and sockets moved into DEST
//! DEST/backup.json        the manifest, written last: a backup without it is incomplete
//! ```
//! so `darius -C DEST/imapd.conf check` checks it and `… serve` serves it.
//!
//! - `darius backup DEST` refuses a non-empty DEST. When a server runs, the server makes the
//!   copy (through the admin socket; DEST must be writable by it), else this process does.
//!   Consistency: [`mailstore::Store::backup_to`]; the password database is copied under a
//!   write transaction of its own ([`auth::PasswordDb::copy_to`]; with `murder_users: etcd`,
//!   the users read from etcd at one revision).
//! - `darius restore BACKUP` puts a whole backup in place of the live store, with the server
//!   stopped (the data directory's lock is held meanwhile, so none can start). A target store
//!   holding mailboxes, indexes or Sieve scripts is refused unless `--force`, which removes
//!   them first. Databases are copied (redb writes them in place); message files and
//!   `cyrus.header` are hard-linked where possible (both are only ever replaced, never
//!   rewritten, so the backup stays intact).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use mailstore::{BackupReport, BackupTarget};
use serde::{Deserialize, Serialize};

use crate::admin::{Request, Response};
use crate::mail::Backend;

/// Format version of `backup.json`.
pub const MANIFEST_VERSION: u64 = 1;
/// The manifest's file name in a backup.
pub const MANIFEST_FILE: &str = "backup.json";
/// The configuration file written into a backup.
const CONFIG_FILE: &str = "imapd.conf";

#[derive(Args)]
pub struct BackupArgs {
    /// Directory to make the backup in: missing or empty. Through a running server it must be
    /// writable by the server's user.
    #[arg(value_name = "DEST")]
    dest: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A directory `darius backup` made (it holds `backup.json`).
    #[arg(value_name = "BACKUP")]
    backup: PathBuf,
    /// Replace a target store that already holds mailboxes, indexes or Sieve scripts.
    #[arg(long, conflicts_with_all = ["user", "mailbox"])]
    force: bool,
    /// Only this user: their mailboxes, subscriptions, quota root and Sieve scripts, into
    /// the live store (refused where a mailbox of theirs exists).
    #[arg(long, value_name = "NAME", conflicts_with = "mailbox")]
    user: Option<String>,
    /// Only this mailbox, by internal name (`user.bovik.Sent`), into the live store.
    #[arg(long, value_name = "NAME")]
    mailbox: Option<String>,
    /// With --mailbox: restore it under this name instead.
    #[arg(long, value_name = "NEWNAME", requires = "mailbox")]
    to: Option<String>,
    /// With --mailbox: the mailboxes below it too.
    #[arg(short = 'r', long = "recursive", requires = "mailbox")]
    recursive: bool,
}

/// What a backup copied, as the admin socket returns it and `backup.json` records it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSummary {
    pub mailboxes: u64,
    pub messages: u64,
    pub linked: u64,
    pub copied: u64,
    pub bytes: u64,
    /// How long the copy took.
    pub milliseconds: u64,
}

impl From<&BackupReport> for BackupSummary {
    fn from(r: &BackupReport) -> Self {
        BackupSummary {
            mailboxes: r.mailboxes,
            messages: r.messages,
            linked: r.linked,
            copied: r.copied,
            bytes: r.bytes,
            milliseconds: u64::try_from(r.elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// `backup.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format_version: u64,
    /// Unix seconds when the backup finished.
    created: i64,
    /// The configuration the backup was made from.
    source_config: String,
    #[serde(flatten)]
    summary: BackupSummary,
}

/// Where each part of a backup lives under `dest`.
fn target_in<'a>(dest: &Path, partitions: impl Iterator<Item = &'a String>) -> BackupTarget {
    let config_directory = dest.join("config");
    BackupTarget {
        sieve_directory: config_directory.join("sieve"),
        config_directory,
        partitions: partitions
            .map(|name| (name.clone(), dest.join("partitions").join(name)))
            .collect(),
    }
}

/// Whether `dir` is missing or holds nothing.
fn is_empty_dir(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e).with_context(|| format!("reading {}", dir.display())),
    }
}

pub fn run_backup(config_path: Option<&Path>, args: BackupArgs) -> Result<()> {
    let loaded = crate::embedded::load_config(config_path)?;
    let config = &loaded.config;
    if !crate::serve::is_initialised(config.configdirectory()) {
        bail!("{}", crate::users::no_store(&loaded));
    }
    crate::logging::init(config);
    let dest = std::path::absolute(&args.dest)
        .with_context(|| format!("resolving {}", args.dest.display()))?;
    if !is_empty_dir(&dest)? {
        bail!(
            "{} is not empty: a backup goes into a new or empty directory",
            dest.display()
        );
    }
    let summary = match crate::reconstruct::running_server(config) {
        Some(socket) => {
            let request = Request::Backup {
                dest: dest.display().to_string(),
            };
            match crate::admin::call(&socket, &request)? {
                Some(Response::BackedUp { summary }) => summary,
                Some(Response::Refused { reason } | Response::Failed { reason }) => {
                    bail!("{reason}")
                }
                Some(other) => bail!("unexpected answer to the backup: {other:?}"),
                None => bail!("the server stopped answering at {}", socket.display()),
            }
        }
        None => {
            let backend = Backend::open(config)?;
            let progress = Progress::new("backup");
            let summary = make_backup(&backend, &dest, &|done, total, owner| {
                progress.step(done, total, owner)
            });
            progress.finish();
            summary?
        }
    };
    let source = match config_path {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => match &loaded.embedded {
            Some(data_dir) => crate::embedded::config_text(data_dir),
            None => String::new(),
        },
    };
    let text = backup_config_text(&source, config, &dest);
    std::fs::write(dest.join(CONFIG_FILE), text)
        .with_context(|| format!("writing {}", dest.join(CONFIG_FILE).display()))?;
    let manifest = Manifest {
        format_version: MANIFEST_VERSION,
        created: crate::expunged::unix_now(),
        source_config: config.source().to_string(),
        summary: summary.clone(),
    };
    write_synced(
        &dest.join(MANIFEST_FILE),
        &serde_json::to_vec_pretty(&manifest)?,
    )?;
    println!(
        "backup of {} in {}: {} mailboxes, {} messages, {} files linked, {} copied, {} bytes, \
         {:.1} s",
        config.configdirectory().display(),
        dest.display(),
        summary.mailboxes,
        summary.messages,
        summary.linked,
        summary.copied,
        summary.bytes,
        summary.milliseconds as f64 / 1000.0
    );
    Ok(())
}

/// Writes a new file and fsyncs it and its directory.
fn write_synced(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Makes the copy (in the server for a socket request, or in the `darius` command).
fn make_backup(
    ctx: &Backend,
    dest: &Path,
    progress: mailstore::BackupProgress<'_>,
) -> Result<BackupSummary> {
    if !is_empty_dir(dest)? {
        return Err(Refusal(format!(
            "{} is not empty: a backup goes into a new or empty directory",
            dest.display()
        ))
        .into());
    }
    let store = ctx.service.store();
    let live = store.config();
    let inside = std::iter::once(&live.config_directory)
        .chain(live.partitions.values())
        .chain(std::iter::once(&live.sieve_directory))
        .find(|dir| dest.starts_with(dir));
    if let Some(dir) = inside {
        return Err(Refusal(format!(
            "{} lies inside the store's own {}: a backup goes elsewhere",
            dest.display(),
            dir.display()
        ))
        .into());
    }
    mailstore::create_dir_durably(dest, 0o700)
        .with_context(|| format!("creating {}", dest.display()))?;
    let target = target_in(dest, store.config().partitions.keys());
    let report = store.backup_to(&target, progress)?;
    ctx.passwords
        .copy_to(&target.config_directory.join(auth::PASSWORD_DB_FILE))?;
    // What marks a data directory as one `darius serve` made, which tools look for.
    let lock = target.config_directory.join(crate::serve::LOCK_FILE);
    std::fs::File::create(&lock).with_context(|| format!("creating {}", lock.display()))?;
    let key = ctx.config_directory.join(auth::DISGUISE_KEY_FILE);
    if key.is_file() {
        let to = target.config_directory.join(auth::DISGUISE_KEY_FILE);
        std::fs::copy(&key, &to).with_context(|| format!("copying {}", key.display()))?;
    }
    Ok(BackupSummary::from(&report))
}

/// Carries out a backup or restore request (in the server, or in the command when none runs).
pub(crate) fn execute(ctx: &Backend, request: Request) -> Response {
    match request {
        Request::Backup { dest } => backup_request(ctx, &PathBuf::from(dest)),
        Request::Restore {
            backup,
            user,
            mailbox,
            to,
            recursive,
        } => {
            let what = Selection {
                user,
                mailbox,
                to,
                recursive,
            };
            match restore_part(ctx, Path::new(&backup), &what) {
                Ok(lines) => Response::Findings { lines },
                Err(e) => failure(&format!("restore from {backup}"), &e),
            }
        }
        _ => Response::Refused {
            reason: "not a backup or restore request".to_string(),
        },
    }
}

/// A backup through the admin socket: progress goes to the log.
fn backup_request(ctx: &Backend, dest: &Path) -> Response {
    if !dest.is_absolute() {
        return Response::Refused {
            reason: format!("{}: a backup needs an absolute path", dest.display()),
        };
    }
    tracing::info!("backup into {} started", dest.display());
    let progress = |done: usize, total: usize, owner: &str| {
        tracing::debug!("backup: {done}/{total} {owner}");
    };
    match make_backup(ctx, dest, &progress) {
        Ok(summary) => {
            tracing::info!(
                "backup into {}: {} mailboxes, {} messages, {} bytes",
                dest.display(),
                summary.mailboxes,
                summary.messages,
                summary.bytes
            );
            Response::BackedUp { summary }
        }
        Err(e) => failure(&format!("backup into {}", dest.display()), &e),
    }
}

/// `Refused` for what the administrator asked wrongly, else `Failed` (and logged).
fn failure(what: &str, e: &anyhow::Error) -> Response {
    if is_refusal(e) {
        return Response::Refused {
            reason: format!("{e:#}"),
        };
    }
    tracing::error!(severity = "err", "{what} failed: {e:#}");
    Response::Failed {
        reason: format!("{e:#}"),
    }
}

/// The live configuration with `configdirectory`, the partitions and `sievedir` pointing into
/// the backup, and every UNIX socket moved under the backup's config directory (so that tools
/// run on the backup never reach the live server). Other options stay as they are (listeners
/// included: serving the backup while the live server runs needs other ports).
fn backup_config_text(source: &str, config: &config::Config, dest: &Path) -> String {
    let target = target_in(dest, config.partitions().keys());
    let mut out = String::new();
    for line in source.lines() {
        let key = line.split(':').next().unwrap_or("").trim();
        let moved = key == "configdirectory"
            || key == "sievedir"
            || key.starts_with("partition-")
            || is_socket_option(key);
        if moved && !line.trim_start().starts_with('#') {
            out.push_str(&format!("# (moved into the backup) {line}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "\n# Written by `darius backup`: this data directory is the backup's.\n\
         configdirectory: {}\nsievedir: {}\n",
        target.config_directory.display(),
        target.sieve_directory.display()
    ));
    for (name, root) in &target.partitions {
        out.push_str(&format!("partition-{name}: {}\n", root.display()));
    }
    for option in ["adminsocket", "lmtpsocket"] {
        if let Some(path) = config.path(option) {
            let file = path
                .file_name()
                .map_or_else(|| option.to_string(), |f| f.to_string_lossy().into_owned());
            let moved = target.config_directory.join("socket").join(file);
            out.push_str(&format!("{option}: {}\n", moved.display()));
        }
    }
    out
}

/// UNIX socket options of the server itself (not the syslog daemon's).
fn is_socket_option(key: &str) -> bool {
    matches!(key, "adminsocket" | "lmtpsocket")
}

pub fn run_restore(config_path: Option<&Path>, args: RestoreArgs) -> Result<()> {
    if args.user.is_some() || args.mailbox.is_some() {
        return run_restore_part(config_path, args);
    }
    let loaded = crate::embedded::load_config(config_path)?;
    let config = loaded.config;
    crate::logging::init(&config);
    let backup = read_backup(&args.backup)?;
    if let Some(socket) = crate::reconstruct::running_server(&config) {
        bail!(
            "a server is running (its admin socket {} answers): stop it first; a whole restore \
             replaces the databases the server holds open",
            socket.display()
        );
    }
    let live_dir = config.configdirectory();
    mailstore::create_dir_durably(live_dir, 0o700)
        .with_context(|| format!("creating {}", live_dir.display()))?;
    let _lock = crate::serve::lock_data_dir(live_dir)?;
    let live = live_target(&config);
    for name in backup.target.partitions.keys() {
        if !live.partitions.contains_key(name) {
            bail!(
                "the backup has partition `{name}`, which {} does not define",
                config.source()
            );
        }
    }
    let held = held_data(&live)?;
    if !held.is_empty() {
        if !args.force {
            bail!(
                "the store of {} is not empty ({}); pass --force to replace it",
                config.source(),
                held.join(", ")
            );
        }
        clear_store(&live)?;
    }
    let mut placer = Placer::default();
    restore_config_dir(
        &backup.target.config_directory,
        &live.config_directory,
        &mut placer,
    )?;
    copy_tree(
        &backup.target.sieve_directory,
        &live.sieve_directory,
        &mut placer,
        Link::Never,
    )?;
    for (name, from) in &backup.target.partitions {
        if let Some(to) = live.partitions.get(name) {
            copy_tree(from, to, &mut placer, Link::Messages)?;
        }
    }
    sync_all(&live)?;
    println!(
        "restored the backup {} ({} mailboxes, {} messages) into {}: {} files linked, {} copied",
        args.backup.display(),
        backup.manifest.summary.mailboxes,
        backup.manifest.summary.messages,
        live_dir.display(),
        placer.linked,
        placer.copied
    );
    Ok(())
}

/// A backup on disk: its manifest and where its parts are.
struct Backup {
    manifest: Manifest,
    target: BackupTarget,
}

fn read_backup(dir: &Path) -> Result<Backup> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read(&path).with_context(|| {
        format!(
            "reading {} (a backup without it is incomplete or is none)",
            path.display()
        )
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&text).with_context(|| format!("reading {}", path.display()))?;
    if manifest.format_version != MANIFEST_VERSION {
        bail!(
            "{}: backup format {}, this darius reads {MANIFEST_VERSION}",
            path.display(),
            manifest.format_version
        );
    }
    let conf = dir.join(CONFIG_FILE);
    let (config, _) =
        config::parse_file(&conf).with_context(|| format!("reading {}", conf.display()))?;
    Ok(Backup {
        manifest,
        target: live_target(&config),
    })
}

/// The directories of a configuration's store.
fn live_target(config: &config::Config) -> BackupTarget {
    let config_directory = config.configdirectory().to_path_buf();
    BackupTarget {
        sieve_directory: config
            .path("sievedir")
            .map_or_else(|| config_directory.join("sieve"), Path::to_path_buf),
        config_directory,
        partitions: config.partitions().clone(),
    }
}

/// What the store already holds that a restore would replace: mailbox directories, indexes,
/// Sieve scripts.
fn held_data(live: &BackupTarget) -> Result<Vec<String>> {
    let mut held = Vec::new();
    let index = live.config_directory.join("index");
    if !is_empty_dir(&index)? {
        held.push(format!("indexes in {}", index.display()));
    }
    for root in live.partitions.values() {
        if fan_out_dirs(root)?.next().is_some() {
            held.push(format!("mailboxes in {}", root.display()));
        }
    }
    if !is_empty_dir(&live.sieve_directory)? {
        held.push(format!(
            "Sieve scripts in {}",
            live.sieve_directory.display()
        ));
    }
    Ok(held)
}

/// The two-hex-digit fan-out directories of a partition root (mailboxes live below them).
fn fan_out_dirs(root: &Path) -> Result<impl Iterator<Item = PathBuf>> {
    let entries: Vec<PathBuf> = match std::fs::read_dir(root) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_dir()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_hexdigit()))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", root.display())),
    };
    Ok(entries.into_iter())
}

/// `--force`: removes the store's databases, indexes, mailbox directories and Sieve scripts
/// (nothing else of the config directory: sockets, logs, certificates stay).
fn clear_store(live: &BackupTarget) -> Result<()> {
    let remove_dir = |dir: &Path| match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", dir.display())),
    };
    for file in store_files() {
        let path = live.config_directory.join(file);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
    }
    remove_dir(&live.config_directory.join("index"))?;
    remove_dir(&live.sieve_directory)?;
    for root in live.partitions.values() {
        for dir in fan_out_dirs(root)? {
            remove_dir(&dir)?;
        }
    }
    Ok(())
}

/// The files of the config directory that a backup holds.
fn store_files() -> [&'static str; 4] {
    [
        mailstore::MAILBOXES_DB_FILE,
        mailstore::DELIVER_DB_FILE,
        auth::PASSWORD_DB_FILE,
        auth::DISGUISE_KEY_FILE,
    ]
}

/// Copies the backup's databases and indexes into the live config directory, replacing the
/// databases an empty store was created with.
fn restore_config_dir(from: &Path, to: &Path, placer: &mut Placer) -> Result<()> {
    for file in store_files() {
        let src = from.join(file);
        if src.is_file() {
            let dst = to.join(file);
            if dst.exists() {
                std::fs::remove_file(&dst)
                    .with_context(|| format!("removing {}", dst.display()))?;
            }
            placer.copy(&src, &dst)?;
        }
    }
    copy_tree(&from.join("index"), &to.join("index"), placer, Link::Never)
}

/// Which files of a tree may be hard links to the backup's.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Databases and Sieve scripts: copies.
    Never,
    /// Message files and `cyrus.header`: links where possible.
    Messages,
}

/// Counts what it linked and copied.
#[derive(Default)]
struct Placer {
    linked: u64,
    copied: u64,
}

impl Placer {
    fn copy(&mut self, from: &Path, to: &Path) -> Result<()> {
        std::fs::copy(from, to)
            .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        self.copied += 1;
        Ok(())
    }

    fn link_or_copy(&mut self, from: &Path, to: &Path) -> Result<()> {
        match std::fs::hard_link(from, to) {
            Ok(()) => {
                self.linked += 1;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                bail!("{} exists already", to.display())
            }
            Err(_) => self.copy(from, to),
        }
    }
}

/// Copies a tree (files, directories, symbolic links); `tmp` directories are left out.
fn copy_tree(from: &Path, to: &Path, placer: &mut Placer, link: Link) -> Result<()> {
    let entries = match std::fs::read_dir(from) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", from.display())),
    };
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in entries {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if entry.file_name() != "tmp" {
                copy_tree(&src, &dst, placer, link)?;
            }
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)
                .with_context(|| format!("creating {}", dst.display()))?;
        } else if link == Link::Messages {
            placer.link_or_copy(&src, &dst)?;
        } else {
            placer.copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// One syncfs(2) per file system the restore wrote to.
fn sync_all(live: &BackupTarget) -> Result<()> {
    let roots = std::iter::once(&live.config_directory)
        .chain(live.partitions.values())
        .chain(std::iter::once(&live.sieve_directory));
    for root in roots {
        if root.is_dir() {
            mailstore::sync_file_system(root)
                .with_context(|| format!("syncing {}", root.display()))?;
        }
    }
    Ok(())
}

/// Progress on standard error: an `indicatif` bar on a terminal, plain lines else.
struct Progress {
    what: &'static str,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(what: &'static str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} {wide_msg}")
            {
                bar.set_style(style);
            }
            bar.set_prefix(what);
            bar
        });
        Progress { what, bar }
    }

    fn step(&self, done: usize, total: usize, name: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(u64::try_from(total).unwrap_or(u64::MAX));
                bar.set_position(u64::try_from(done).unwrap_or(u64::MAX));
                bar.set_message(name.to_string());
            }
            None => eprintln!("{}: {done}/{total} {name}", self.what),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// What the administrator asked for that cannot be done (as opposed to a failure).
#[derive(Debug)]
struct Refusal(String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// Whether `e` is a refusal: ours, or one the store made (no such mailbox, exists already).
fn is_refusal(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.is::<Refusal>()
            || cause
                .downcast_ref::<mailstore::StoreError>()
                .is_some_and(mailstore::StoreError::is_refusal)
    })
}

/// Which part of a backup to restore into the live store.
struct Selection {
    user: Option<String>,
    mailbox: Option<String>,
    to: Option<String>,
    recursive: bool,
}

/// `restore --user` / `--mailbox`: through the running server, or on the files.
fn run_restore_part(config_path: Option<&Path>, args: RestoreArgs) -> Result<()> {
    let config = crate::reconstruct::load(config_path)?;
    let backup = std::path::absolute(&args.backup)
        .with_context(|| format!("resolving {}", args.backup.display()))?;
    let request = Request::Restore {
        backup: backup.display().to_string(),
        user: args.user,
        mailbox: args.mailbox,
        to: args.to,
        recursive: args.recursive,
    };
    let target = crate::reconstruct::Target::open(&config)?;
    match target.call(request)? {
        Response::Findings { lines } => {
            for line in lines {
                println!("{line}");
            }
            Ok(())
        }
        Response::Refused { reason } | Response::Failed { reason } => bail!("{reason}"),
        other => bail!("unexpected answer to the restore: {other:?}"),
    }
}

/// Opens the store of a backup (its own databases; nothing of the live store).
fn open_backup_store(dir: &Path) -> Result<mailstore::Store> {
    read_backup(dir)?;
    let conf = dir.join(CONFIG_FILE);
    let (config, _) =
        config::parse_file(&conf).with_context(|| format!("reading {}", conf.display()))?;
    let mut store_config = mailstore::StoreConfig::new(
        config.configdirectory(),
        config.partitions().clone(),
        config.str("defaultpartition"),
    );
    if let Some(sieve) = config.path("sievedir") {
        store_config.sieve_directory = sieve.to_path_buf();
    }
    mailstore::Store::open(store_config)
        .with_context(|| format!("opening the backup's store in {}", dir.display()))
}

/// Restores a user or a mailbox tree from the backup into the live store; one line per
/// thing restored.
fn restore_part(ctx: &Backend, dir: &Path, what: &Selection) -> Result<Vec<String>> {
    use types::MailboxName;
    let backup = open_backup_store(dir)?;
    let live = ctx.service.store();
    let parse = |name: &str| {
        MailboxName::try_from(name).map_err(|e| anyhow::Error::new(Refusal(format!("{name}: {e}"))))
    };
    let (from, to, recursive) = match (&what.user, &what.mailbox) {
        (Some(user), _) => {
            let inbox = ctx
                .service
                .domains()
                .canonical_userid(user)
                .ok_or_else(|| "not a user name".to_string())
                .and_then(|u| {
                    ctx.service
                        .namespace()
                        .user_inbox(&u)
                        .map_err(|e| e.to_string())
                })
                .map_err(|e| anyhow::Error::new(Refusal(format!("user {user}: {e}"))))?;
            (inbox.clone(), inbox, true)
        }
        (None, Some(mailbox)) => {
            let from = parse(mailbox)?;
            let to = match &what.to {
                Some(to) => parse(to)?,
                None => from.clone(),
            };
            (from, to, what.recursive)
        }
        (None, None) => {
            return Err(Refusal("say what to restore: --user NAME or --mailbox NAME".into()).into())
        }
    };
    let mut names = vec![backup.mailbox_entry(&from)?.name];
    if recursive {
        for entry in backup.list_mailboxes(Some(&from))? {
            if entry.name != from {
                names.push(entry.name);
            }
        }
    }
    let mut pairs = Vec::with_capacity(names.len());
    for name in names {
        let target = match name.as_str().strip_prefix(from.as_str()) {
            Some(rest) => parse(&format!("{}{rest}", to.as_str()))?,
            None => name.clone(),
        };
        // Checked for all before any is restored, so a refusal leaves nothing half done.
        if live.mailbox_entry(&target).is_ok() {
            return Err(Refusal(format!(
                "{target} exists in the live store: restore it under another name (--to)"
            ))
            .into());
        }
        pairs.push((name, target));
    }
    let mut lines = Vec::new();
    for (name, target) in &pairs {
        let restored = live.restore_mailbox_from(&backup, name, target)?;
        lines.push(format!(
            "restored {name} as {target}: {} messages ({} files linked, {} copied), {} kept \
             expunged",
            restored.messages, restored.outcome.linked, restored.outcome.copied, restored.kept
        ));
    }
    if let Some(user) = &what.user {
        lines.extend(restore_user_extras(&backup, live, user, &from)?);
    }
    Ok(lines)
}

/// A user's subscriptions, quota root limits and Sieve scripts.
fn restore_user_extras(
    backup: &mailstore::Store,
    live: &mailstore::Store,
    user: &str,
    inbox: &types::MailboxName,
) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    let subscriptions = backup.subscriptions(user)?;
    for name in &subscriptions {
        live.subscribe(user, name)?;
    }
    lines.push(format!(
        "restored {} subscriptions of {user}",
        subscriptions.len()
    ));
    if let Some(limits) = backup.quota_limits(inbox)? {
        live.set_quota_root(inbox, limits)?;
        lines.push(format!("restored the quota root {inbox}"));
    }
    for script in backup.list_sieve_scripts(user)? {
        if let Some((_, text)) = backup.read_sieve_script(Some(user), &script.name)? {
            live.put_sieve_script(user, &script.name, &text, usize::MAX)?;
            if script.active {
                live.set_active_sieve_script(user, Some(&script.name))?;
            }
            lines.push(format!(
                "restored the Sieve script {} of {user}",
                script.name
            ));
        }
    }
    Ok(lines)
}
