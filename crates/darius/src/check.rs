//! `darius check`: a read-only consistency report of the whole store, one line per finding;
//! exit status 0 only when there is none, 1 otherwise.
//!
//! What it compares: each mailbox's message files with its index (a dry-run reconstruct that
//! reports unlisted files rather than adopting them), the mailboxes database with the
//! partitions (directories no entry maps, entries without their directory), quota usage with
//! a recount (a dry-run `quota -f`), and subscriptions with the mailboxes that exist.
//! Through the running server's admin socket, or on the files when it is stopped. Each finding
//! names the command that repairs it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use mailstore::{RepairMode, StoreError, StoreFinding, UnlistedFiles};

use crate::admin::{Request, Response};
use crate::mail::Backend;
use crate::reconstruct::{describe, load, Target};

/// Most findings one report carries: a store broken everywhere is reported in part.
const MAX_FINDINGS: usize = 10_000;

pub fn run(config_path: Option<&Path>) -> ExitCode {
    match report(config_path) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("darius: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The findings of the store `config` describes, through the running server or on the files.
pub(crate) fn store_findings(config: &config::Config) -> Result<Vec<String>> {
    let target = Target::open(config)?;
    match target.call(Request::Check)? {
        Response::Findings { lines } => Ok(lines),
        Response::Refused { reason } | Response::Failed { reason } => bail!("{reason}"),
        other => bail!("unexpected answer to check: {other:?}"),
    }
}

/// Prints the findings; true when there were none.
fn report(config_path: Option<&Path>) -> Result<bool> {
    let config = load(config_path)?;
    let lines = store_findings(&config)?;
    for line in &lines {
        println!("{line}");
    }
    if lines.is_empty() {
        println!("check: the store is consistent");
    }
    Ok(lines.is_empty())
}

/// Carries out a check request.
pub(crate) fn execute(ctx: &Backend) -> Response {
    let mut lines = Vec::new();
    match findings(ctx, &mut lines) {
        Ok(()) => Response::Findings { lines },
        Err(e) => {
            tracing::error!(severity = "err", "check failed: {e}");
            Response::Failed {
                reason: e.to_string(),
            }
        }
    }
}

/// Appends every finding to `lines`, up to [`MAX_FINDINGS`].
fn findings(ctx: &Backend, lines: &mut Vec<String>) -> Result<(), StoreError> {
    let store = ctx.service.store();
    for finding in store.check_mailboxes_db()? {
        push(lines, database_line(&finding));
    }
    let options = mailstore::ReconstructOptions {
        unlisted: UnlistedFiles::Report,
        mode: RepairMode::DryRun,
    };
    let mut unreadable = 0usize;
    // Another server's mailboxes (a Murder's directory copy) are checked there.
    for entry in store.list_mailboxes(None)? {
        if entry.remote_server().is_some() {
            continue;
        }
        if lines.len() >= MAX_FINDINGS {
            break;
        }
        let name = entry.name.as_str();
        match store.reconstruct_with(&entry.name, options) {
            Ok(report) => {
                for line in describe(name, &report, RepairMode::DryRun) {
                    push(
                        lines,
                        format!("index: {line}; run `darius reconstruct {name}`"),
                    );
                }
            }
            Err(e) => {
                unreadable += 1;
                let hint = match e.is_damaged_database() {
                    true => format!(
                        "; run `darius reconstruct -r {}`",
                        entry.name.hierarchy_root()
                    ),
                    false => String::new(),
                };
                push(lines, format!("index: {name}: cannot be read: {e}{hint}"));
            }
        }
    }
    if unreadable > 0 {
        // Quota usage is summed from the indexes: not checkable while one cannot be read.
        push(
            lines,
            format!("quota: not checked, {unreadable} mailboxes' indexes cannot be read"),
        );
        return dangling(store, lines);
    }
    let quota = store.repair_quota_with(None, RepairMode::DryRun)?;
    for name in &quota.headers_fixed {
        push(
            lines,
            format!("quota: {name}: mailbox header totals disagree with its messages; run `darius quota -f`"),
        );
    }
    if quota.entries_fixed > 0 {
        push(
            lines,
            format!(
                "quota: {} maintained usage sums disagree with the mailbox headers; run `darius quota -f`",
                quota.entries_fixed
            ),
        );
    }
    dangling(store, lines)
}

/// Subscriptions to mailboxes that do not exist, and the closing line.
fn dangling(store: &mailstore::Store, lines: &mut Vec<String>) -> Result<(), StoreError> {
    for (user, name) in store.dangling_subscriptions(MAX_FINDINGS)? {
        push(
            lines,
            format!("subscriptions: {user} is subscribed to {name}, which does not exist"),
        );
    }
    if lines.len() >= MAX_FINDINGS {
        lines.push(format!("check: stopped after {MAX_FINDINGS} findings"));
    }
    Ok(())
}

fn push(lines: &mut Vec<String>, line: String) {
    if lines.len() < MAX_FINDINGS {
        lines.push(line);
    }
}

fn database_line(finding: &StoreFinding) -> String {
    match finding {
        StoreFinding::Unmapped {
            partition,
            dir,
            name,
        } => format!(
            "mailboxes database: {} (mailbox {name} on partition {partition}) has no entry; \
             run `darius reconstruct -m` with the server stopped",
            dir.display()
        ),
        StoreFinding::UnreadableHeader { dir, reason } => format!(
            "mailboxes database: {} is not mapped and its cyrus.header cannot be read: {reason}",
            dir.display()
        ),
        StoreFinding::MissingDirectory {
            name,
            partition,
            dir,
        } => format!(
            "mailboxes database: {name} has no directory {} on partition {partition}",
            dir.display()
        ),
    }
}
