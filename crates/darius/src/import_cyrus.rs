//! `darius import cyrus --cyrus-config /etc/imapd.conf [--mailboxes-db FILE] [--dry-run]`: read a stopped Cyrus
//! 2.4/3.x store ([`migrate::cyrus::import`]) into this (stopped) Darius store.
//!
//! `--cyrus-config` names Cyrus's configuration; Darius's own is the global `-C`/`--config`.
//! Progress goes to standard error (a bar on a terminal, one line per mailbox otherwise), notes
//! on what was skipped or degraded as lines on standard output, and a summary at the end.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;
use migrate::cyrus::{Event, ImportMode, ImportOptions, Summary};

use crate::mail::Backend;
use crate::reconstruct::{load, running_server};

#[derive(Args)]
pub struct CyrusArgs {
    /// The Cyrus imapd.conf (configdirectory, partition-*, sievedir… are read from it).
    #[arg(long = "cyrus-config", value_name = "FILE")]
    cyrus_config: PathBuf,
    /// The mailboxes database to read instead of the one imapd.conf names (a copy, or a
    /// `ctl_mboxlist -d` dump: Cyrus 3.x's JSON or 2.4's lines).
    #[arg(long = "mailboxes-db", value_name = "FILE")]
    mailboxes_db: Option<PathBuf>,
    /// Read and check everything, write nothing; report what would be imported.
    #[arg(short = 'n', long = "dry-run")]
    dry_run: bool,
}

pub fn run(config_path: Option<&Path>, args: CyrusArgs) -> Result<()> {
    let config = load(config_path)?;
    if let Some(socket) = running_server(&config) {
        bail!(
            "a server is running (its admin socket {} answers): stop it first; an import \
             writes the store offline",
            socket.display()
        );
    }
    let backend = Backend::open(&config)?;
    let options = ImportOptions {
        mode: if args.dry_run {
            ImportMode::DryRun
        } else {
            ImportMode::Write
        },
        mailboxes_db: args.mailboxes_db,
    };
    let progress = Progress::new();
    let summary = migrate::cyrus::import(
        &args.cyrus_config,
        backend.service.store(),
        &options,
        &mut |event| progress.event(event),
    )?;
    progress.finish();
    print_summary(&summary, args.dry_run);
    if summary.problems > 0 {
        println!(
            "{} problems (see the lines above); run `darius quota -f` and `darius check` after \
             fixing what they name",
            summary.problems
        );
    }
    Ok(())
}

fn print_summary(s: &Summary, dry_run: bool) {
    let verb = if dry_run { "would import" } else { "imported" };
    let rate = if s.seconds > 0.0 {
        s.messages as f64 / s.seconds
    } else {
        0.0
    };
    println!(
        "import cyrus: {verb} {} mailboxes, {} messages ({} linked, {} copied, {} bytes), {} \
         seen sets, {} subscriptions, {} quota roots, {} Sieve scripts in {:.1} s ({:.0} msgs/s)",
        s.mailboxes,
        s.messages,
        s.linked,
        s.copied,
        s.bytes,
        s.seen_sets,
        s.subscriptions,
        s.quota_roots,
        s.sieve_scripts,
        s.seconds,
        rate
    );
}

/// A bar on a terminal, plain lines otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new() -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("import {bar:30} {pos}/{len} {wide_msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        Progress { bar }
    }

    fn event(&self, event: Event) {
        match (event, &self.bar) {
            (Event::Mailbox { index, total, name }, Some(bar)) => {
                bar.set_length(u64::try_from(total).unwrap_or(u64::MAX));
                bar.set_position(u64::try_from(index).unwrap_or(u64::MAX));
                bar.set_message(name);
            }
            (Event::Mailbox { index, total, name }, None) => {
                eprintln!("import: {}/{total} {name}", index + 1);
            }
            (Event::Note(line), Some(bar)) => bar.suspend(|| println!("{line}")),
            (Event::Note(line), None) => println!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
