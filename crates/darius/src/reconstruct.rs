//! `darius reconstruct`: rebuild mailboxes' indexes from their message files, and with `-m`
//! the mailboxes database from the partitions (Cyrus's `reconstruct`, whose `-m` Cyrus never
//! finished).
//!
//! - `darius reconstruct [-r] [-f] [-n] [--quota] MAILBOX…` rebuilds each mailbox's index
//!   ([`mailstore::Store::reconstruct_with`]), keeping the flags, dates and modseqs of the
//!   records it can still read; `-r` takes the mailboxes below each one too (with no MAILBOX:
//!   every mailbox), `-f` adopts message files the index does not list (else they are only
//!   reported), `-n` reports what would change and changes nothing. Each change is one line
//!   (mailbox, what, UIDs); a second run prints none. Message counts and sizes may change, so
//!   it ends by reminding to run `darius quota -f`, or runs that repair with `--quota`.
//!   Through the running server's admin socket, one request per mailbox, or on the files when
//!   it is stopped.
//! - `darius reconstruct -m` re-enters the mailboxes found on every partition into the
//!   mailboxes database ([`mailstore::Store::rebuild_mailboxes_db`]: name, partition, uniqueid
//!   and ACL from each `cyrus.header`). Only while the server is stopped: the server holds the
//!   database open, and the database a running server serves from is not the one to rebuild.
//!
//! Progress goes to standard error: one line per mailbox, or a progress bar when standard
//! error is a terminal. Changes go to standard output.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use clap::Args;
use mailstore::{ReconstructOptions, ReconstructReport, RepairMode, UnlistedFiles};
use types::Uid;

use crate::admin::{self, service_failure, Request, Response};
use crate::mail::Backend;
use crate::mailboxes::internal;

#[derive(Args)]
pub struct ReconstructArgs {
    /// Also every mailbox below each MAILBOX; with no MAILBOX, every mailbox.
    #[arg(short = 'r', long = "recursive")]
    recursive: bool,
    /// Adopt message files the index does not list (without it they are only reported).
    #[arg(short = 'f', long = "adopt-files", conflicts_with = "mailboxes_db")]
    adopt: bool,
    /// Dry run: print what would change and change nothing.
    #[arg(short = 'n', long = "dry-run", conflicts_with_all = ["quota", "mailboxes_db"])]
    dry_run: bool,
    /// Repair quota usage afterwards (`darius quota -f`).
    #[arg(long)]
    quota: bool,
    /// Rebuild the mailboxes database from the partitions' mailbox directories (the server
    /// must be stopped).
    #[arg(short = 'm', long = "mailboxes-db", conflicts_with_all = ["recursive", "mailboxes"])]
    mailboxes_db: bool,
    /// Mailboxes by internal name (`user.bovik.Sent`).
    #[arg(value_name = "MAILBOX")]
    mailboxes: Vec<String>,
}

/// Where requests go: the running server's admin socket, or the store opened here.
pub(crate) enum Target {
    Socket(PathBuf),
    Direct(Box<Backend>),
}

impl Target {
    /// The running server when its admin socket answers, else the files.
    pub(crate) fn open(config: &config::Config) -> Result<Target> {
        if let Some(socket) = running_server(config) {
            return Ok(Target::Socket(socket));
        }
        Ok(Target::Direct(Box::new(Backend::open(config)?)))
    }

    pub(crate) fn call(&self, request: Request) -> Result<Response> {
        match self {
            Target::Socket(path) => admin::call(path, &request)?
                .ok_or_else(|| anyhow!("the server stopped answering at {}", path.display())),
            Target::Direct(backend) => Ok(admin::execute(backend, request, "command-line")),
        }
    }
}

/// The admin socket of a server that answers on it, if any.
pub(crate) fn running_server(config: &config::Config) -> Option<PathBuf> {
    let socket = config.path("adminsocket")?;
    std::os::unix::net::UnixStream::connect(socket)
        .is_ok()
        .then(|| socket.to_path_buf())
}

/// The configuration of an existing store, with logging set up.
pub(crate) fn load(config_path: Option<&Path>) -> Result<config::Config> {
    let loaded = crate::embedded::load_config(config_path)?;
    if !crate::serve::is_initialised(loaded.config.configdirectory()) {
        bail!("{}", crate::users::no_store(&loaded));
    }
    crate::logging::init(&loaded.config);
    Ok(loaded.config)
}

pub fn run(config_path: Option<&Path>, args: ReconstructArgs) -> Result<()> {
    let config = load(config_path)?;
    if args.mailboxes_db {
        rebuild_mailboxes_db(&config)?;
    } else {
        reconstruct_mailboxes(&config, &args)?;
    }
    if args.quota {
        let target = Target::open(&config)?;
        let fix = Request::QuotaFix {
            prefix: None,
            roots: Vec::new(),
        };
        match target.call(fix)? {
            Response::Done { message } => println!("{message}"),
            Response::Refused { reason } | Response::Failed { reason } => bail!("{reason}"),
            other => bail!("unexpected answer to the quota repair: {other:?}"),
        }
    }
    Ok(())
}

/// `reconstruct [-r] [-f] [-n] MAILBOX…`: one request per mailbox, each change printed.
fn reconstruct_mailboxes(config: &config::Config, args: &ReconstructArgs) -> Result<()> {
    if args.mailboxes.is_empty() && !args.recursive {
        bail!("name the mailboxes to reconstruct, or pass -r for every mailbox");
    }
    let target = Target::open(config)?;
    let names = chosen(&target, args)?;
    let progress = Progress::new(names.len());
    let (mut changes, mut failures) = (0usize, 0usize);
    for (i, name) in names.iter().enumerate() {
        progress.step(i, name);
        let request = Request::Reconstruct {
            name: name.clone(),
            adopt: args.adopt,
            dry_run: args.dry_run,
        };
        match target.call(request)? {
            Response::Findings { lines } => {
                changes += lines.len();
                progress.print(|| {
                    for line in lines {
                        println!("{line}");
                    }
                });
            }
            Response::Refused { reason } | Response::Failed { reason } => {
                progress.print(|| eprintln!("darius: {name}: {reason}"));
                failures += 1;
            }
            other => bail!("unexpected answer about {name}: {other:?}"),
        }
    }
    progress.finish();
    summarise(names.len(), changes, args);
    if failures > 0 {
        bail!(
            "{failures} of {} mailboxes could not be reconstructed",
            names.len()
        );
    }
    Ok(())
}

/// The last lines: how much was looked at, and the `quota -f` reminder after real changes.
fn summarise(mailboxes: usize, changes: usize, args: &ReconstructArgs) {
    let noun = if mailboxes == 1 {
        "mailbox"
    } else {
        "mailboxes"
    };
    if changes == 0 {
        println!("reconstruct: {mailboxes} {noun} looked at, nothing to fix");
    } else if args.dry_run {
        println!("reconstruct: {mailboxes} {noun} looked at (dry run: nothing changed)");
    } else {
        println!("reconstruct: {mailboxes} {noun} looked at");
        if !args.quota {
            println!("message counts and sizes may have changed: run `darius quota -f`");
        }
    }
}

/// The mailboxes named, or with `-r` those and every mailbox below them (every mailbox when
/// none is named), each once, in the order found.
fn chosen(target: &Target, args: &ReconstructArgs) -> Result<Vec<String>> {
    if !args.recursive {
        return Ok(args.mailboxes.clone());
    }
    let patterns: Vec<String> = if args.mailboxes.is_empty() {
        vec!["*".to_string()]
    } else {
        args.mailboxes
            .iter()
            .flat_map(|m| [m.clone(), format!("{m}.*")])
            .collect()
    };
    let mut names = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for pattern in patterns {
        match target.call(Request::MailboxList { pattern })? {
            Response::Mailboxes { names: found } => {
                names.extend(found.into_iter().filter(|n| seen.insert(n.clone())));
            }
            Response::Refused { reason } | Response::Failed { reason } => bail!("{reason}"),
            other => bail!("unexpected answer to a mailbox listing: {other:?}"),
        }
    }
    Ok(names)
}

/// `reconstruct -m`: on the files only.
fn rebuild_mailboxes_db(config: &config::Config) -> Result<()> {
    if let Some(socket) = running_server(config) {
        bail!(
            "a server is running (its admin socket {} answers): stop it first; \
             `reconstruct -m` rebuilds the mailboxes database, which the server holds open",
            socket.display()
        );
    }
    let backend = Backend::open(config)?;
    let report = backend.service.store().rebuild_mailboxes_db()?;
    for name in &report.restored {
        println!("{name}: restored into the mailboxes database");
    }
    for (dir, why) in &report.skipped {
        println!("{}: skipped: {why}", dir.display());
    }
    let n = report.restored.len();
    let noun = if n == 1 { "mailbox" } else { "mailboxes" };
    println!("reconstruct -m: {n} {noun} restored");
    if n > 0 {
        println!(
            "quota roots and subscriptions live in the mailboxes database only: set the roots \
             again (`darius quota --set`), then run `darius quota -f`"
        );
    }
    Ok(())
}

/// Carries out a reconstruct request as the server's administrator.
pub(crate) fn execute(ctx: &Backend, request: Request) -> Response {
    let Request::Reconstruct {
        name,
        adopt,
        dry_run,
    } = request
    else {
        return Response::Refused {
            reason: "not a reconstruct request".to_string(),
        };
    };
    let mailbox = match internal(&name) {
        Ok(m) => m,
        Err(e) => return service_failure(&e),
    };
    let options = ReconstructOptions {
        unlisted: if adopt {
            UnlistedFiles::Adopt
        } else {
            UnlistedFiles::Report
        },
        mode: if dry_run {
            RepairMode::DryRun
        } else {
            RepairMode::Fix
        },
    };
    match ctx.service.store().reconstruct_with(&mailbox, options) {
        Ok(report) => Response::Findings {
            lines: describe(&name, &report, options.mode),
        },
        Err(e) if e.is_refusal() => Response::Refused {
            reason: e.to_string(),
        },
        Err(e) => {
            tracing::error!(severity = "err", "reconstruct {name} failed: {e}");
            Response::Failed {
                reason: e.to_string(),
            }
        }
    }
}

/// One line per change a reconstruct made (or in a dry run would make), and one for message
/// files left unadopted.
pub(crate) fn describe(name: &str, r: &ReconstructReport, mode: RepairMode) -> Vec<String> {
    let verb = |done: &'static str, would: &'static str| match mode {
        RepairMode::Fix => done,
        RepairMode::DryRun => would,
    };
    let mut lines = Vec::new();
    if let Some(aside) = &r.index_set_aside {
        lines.push(format!(
            "{name}: its owner's index could not be read: moved it aside to {} and started \
             an empty one (reconstruct every mailbox of this owner: `darius reconstruct -r`)",
            aside.display()
        ));
    }
    if r.index_recreated {
        let v = verb("made", "would make");
        lines.push(format!(
            "{name}: its index was lost: {v} it again with a new UIDVALIDITY, every message \
             file adopted (flags and internal dates could not be kept)"
        ));
    }
    if !r.lost.is_empty() {
        let v = verb("removed the records of", "would remove the records of");
        lines.push(format!(
            "{name}: {v} UIDs {} (their message files are gone)",
            types::uid_set(&r.lost)
        ));
    }
    let adopted: Vec<Uid> = r
        .added
        .iter()
        .filter(|u| !r.renumbered.iter().any(|(_, new)| new == *u))
        .copied()
        .collect();
    if !adopted.is_empty() {
        let v = verb("adopted", "would adopt");
        lines.push(format!(
            "{name}: {v} message files as UIDs {}",
            types::uid_set(&adopted)
        ));
    }
    for (old, new) in &r.renumbered {
        let v = verb("adopted", "would adopt");
        lines.push(format!(
            "{name}: {v} message file {old}. as UID {new} (below UIDNEXT: never acknowledged)"
        ));
    }
    if !r.stale_files_removed.is_empty() {
        let v = verb("removed", "would remove");
        lines.push(format!(
            "{name}: {v} the leftover files of expunged UIDs {}",
            types::uid_set(&r.stale_files_removed)
        ));
    }
    if !r.kept_files_moved.is_empty() {
        let v = verb("moved", "would move");
        lines.push(format!(
            "{name}: {v} the files of expunged UIDs {} to their kept names (for unexpunge)",
            types::uid_set(&r.kept_files_moved)
        ));
    }
    if !r.recached.is_empty() {
        let v = verb("re-read", "would re-read");
        lines.push(format!(
            "{name}: {v} UIDs {} (file size disagreed with the index; flags and dates kept)",
            types::uid_set(&r.recached)
        ));
    }
    for id in &r.stale_copies_removed {
        let v = verb("removed", "would remove");
        lines.push(format!(
            "{name}: {v} a stale copy of mailbox {id} from the owner's index"
        ));
    }
    if r.header_fixed {
        let v = verb("rewrote", "would rewrite");
        lines.push(format!(
            "{name}: {v} the mailbox header (counters, UIDNEXT or cyrus.header disagreed)"
        ));
    }
    if !r.unadopted.is_empty() {
        lines.push(format!(
            "{name}: message files of UIDs {} are not in the index (`reconstruct -f` adopts them)",
            types::uid_set(&r.unadopted)
        ));
    }
    lines
}

/// Progress on standard error: an `indicatif` bar on a terminal, plain lines else.
struct Progress {
    total: usize,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(u64::MAX));
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "reconstruct {bar:30} {pos}/{len} {wide_msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress { total, bar }
    }

    fn step(&self, done: usize, name: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(u64::try_from(done).unwrap_or(u64::MAX));
                bar.set_message(name.to_string());
            }
            None => eprintln!("reconstruct: {}/{} {name}", done + 1, self.total),
        }
    }

    /// Runs `print` (which writes a line) with the bar out of the way.
    fn print(&self, print: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Removes the bar once every mailbox is done.
    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[u32]) -> Vec<Uid> {
        v.iter().filter_map(|&u| Uid::new(u)).collect()
    }

    #[test]
    fn uids_are_written_as_a_sequence_set() {
        assert_eq!(types::uid_set(&list(&[5, 1, 2, 3, 9, 10])), "1:3,5,9:10");
        assert_eq!(types::uid_set(&list(&[7])), "7");
        assert_eq!(types::uid_set(&[]), "");
    }
}
