//! `darius unexpunge`, `darius undelete` and `darius expire`: what delayed expunge
//! (`expunge_mode: delayed`) and delayed delete (`delete_mode: delayed`) kept, restored or
//! purged, as the server's administrator, through the running server's admin socket or on the
//! files when it is stopped (like `darius quota`).
//!
//! - `darius unexpunge -l MAILBOX` lists the kept messages: old UID, expunge time (UTC), size,
//!   flags and Subject (Cyrus's `unexpunge -l`).
//! - `darius unexpunge [-d] MAILBOX (-a | UID…)` restores all of them or those that had the
//!   UIDs given, under new UIDs so that clients notice them; `-d` clears `\Deleted`.
//! - `darius undelete -l` lists the hidden mailboxes: hidden name, deletion time, old name.
//! - `darius undelete NAME [--to NEW]` brings back the mailbox deleted as NAME and those below
//!   it deleted with it.
//! - `darius expire [--expunge-days N] [--delete-days M]` purges what was expunged more than N
//!   days ago (default `expunge_days`): files unlinked, records dropped; removes the mailboxes
//!   deleted more than M days ago (default `delete_days`); and forgets expired
//!   duplicate-delivery records (Cyrus's `cyr_expire -X`, `-D`, `-E`).

use std::path::Path;

use anyhow::{bail, Result};
use clap::Args;
use mailstore::{DeletedFlag, ExpireReport, ExpungedMessage, Unexpunge, UnexpungeOutcome};
use types::Uid;

use crate::admin::{done, service_failure, Request, Response};
use crate::mail::Backend;
use crate::mailboxes::internal;

/// Most UIDs one command may name (the admin socket's request size bounds them too).
const MAX_UIDS: usize = 5000;

const DAY_SECONDS: i64 = 24 * 60 * 60;

#[derive(Args)]
pub struct UnexpungeArgs {
    /// List the expunged messages kept in MAILBOX instead of restoring any.
    #[arg(short = 'l', long = "list", conflicts_with_all = ["all", "uids", "undelete"])]
    list: bool,
    /// Restore every kept message of MAILBOX.
    #[arg(short = 'a', long = "all", conflicts_with = "uids")]
    all: bool,
    /// Clear the `\Deleted` flag of the restored messages.
    #[arg(short = 'd', long = "undelete")]
    undelete: bool,
    /// The mailbox, by internal name (`user.bovik.Trash`).
    #[arg(value_name = "MAILBOX")]
    mailbox: String,
    /// The UIDs the messages had when they were expunged.
    #[arg(value_name = "UID")]
    uids: Vec<u32>,
}

#[derive(Args)]
pub struct ExpireArgs {
    /// Purge messages expunged more than N days ago (default: `expunge_days`; 0: all).
    #[arg(short = 'X', long = "expunge-days", value_name = "N")]
    expunge_days: Option<u32>,
    /// Remove mailboxes deleted more than N days ago (default: `delete_days`; 0: all).
    #[arg(short = 'D', long = "delete-days", value_name = "N")]
    delete_days: Option<u32>,
}

#[derive(Args)]
pub struct UndeleteArgs {
    /// List the deleted mailboxes kept instead of restoring one.
    #[arg(short = 'l', long = "list", conflicts_with_all = ["name", "to"])]
    list: bool,
    /// The name the mailbox had, by internal name (`user.bovik.Trash`).
    #[arg(value_name = "NAME", required_unless_present = "list")]
    name: Option<String>,
    /// Restore it (and those deleted with it) under this name instead.
    #[arg(long, value_name = "NEWNAME")]
    to: Option<String>,
}

pub fn run_undelete(config_path: Option<&Path>, args: UndeleteArgs) -> Result<()> {
    let request = match args.name {
        Some(name) if !args.list => Request::Undelete { name, to: args.to },
        _ => Request::UndeleteList,
    };
    crate::users::submit(config_path, |_| Ok(request))
}

pub fn run_unexpunge(config_path: Option<&Path>, args: UnexpungeArgs) -> Result<()> {
    if args.uids.len() > MAX_UIDS {
        bail!("at most {MAX_UIDS} UIDs at once");
    }
    let request = if args.list {
        Request::UnexpungeList {
            mailbox: args.mailbox,
        }
    } else {
        if !args.all && args.uids.is_empty() {
            bail!("say which messages to restore: -a for all, or their UIDs (-l lists them)");
        }
        Request::Unexpunge {
            mailbox: args.mailbox,
            uids: args.uids,
            clear_deleted: args.undelete,
        }
    };
    crate::users::submit(config_path, |_| Ok(request))
}

pub fn run_expire(config_path: Option<&Path>, args: ExpireArgs) -> Result<()> {
    let loaded = crate::embedded::load_config(config_path)?;
    let days = |given: Option<u32>, option: &str| match given {
        Some(days) => u64::from(days),
        None => loaded.config.int(option),
    };
    let request = Request::Expire {
        expunge_days: days(args.expunge_days, "expunge_days"),
        delete_days: days(args.delete_days, "delete_days"),
    };
    crate::users::submit(config_path, |_| Ok(request))
}

/// Carries out an unexpunge or expire request as the server's administrator.
pub(crate) fn execute(ctx: &Backend, request: Request) -> Response {
    match request {
        Request::UnexpungeList { mailbox } => list(ctx, &mailbox),
        Request::Unexpunge {
            mailbox,
            uids,
            clear_deleted,
        } => restore(ctx, &mailbox, &uids, clear_deleted),
        Request::Expire {
            expunge_days,
            delete_days,
        } => expire(ctx, expunge_days, delete_days),
        Request::UndeleteList => deleted_list(ctx),
        Request::Undelete { name, to } => undelete(ctx, &name, to.as_deref()),
        _ => Response::Refused {
            reason: "not an unexpunge or expire request".to_string(),
        },
    }
}

fn list(ctx: &Backend, mailbox: &str) -> Response {
    let kept = internal(mailbox).and_then(|name| ctx.service.expunged(&name));
    match kept {
        Ok(kept) => done(render(mailbox, &kept)),
        Err(e) => service_failure(&e),
    }
}

fn restore(ctx: &Backend, mailbox: &str, uids: &[u32], clear_deleted: bool) -> Response {
    if uids.len() > MAX_UIDS {
        return Response::Refused {
            reason: format!("at most {MAX_UIDS} UIDs at once"),
        };
    }
    let uids: Vec<Uid> = uids.iter().filter_map(|u| Uid::new(*u)).collect();
    let which = if uids.is_empty() {
        Unexpunge::All
    } else {
        Unexpunge::Uids(&uids)
    };
    let deleted = if clear_deleted {
        DeletedFlag::Clear
    } else {
        DeletedFlag::Keep
    };
    let outcome = internal(mailbox).and_then(|name| ctx.service.unexpunge(&name, which, deleted));
    match outcome {
        Ok(outcome) => done(describe_restore(mailbox, &outcome)),
        Err(e) => service_failure(&e),
    }
}

fn expire(ctx: &Backend, expunge_days: u64, delete_days: u64) -> Response {
    let report = match ctx.service.purge_expunged(cut_off(expunge_days), &|| false) {
        Ok(report) => report,
        Err(e) => return service_failure(&e),
    };
    let mut message = describe_expire(&report, expunge_days);
    match ctx.service.purge_deleted(cut_off(delete_days)) {
        Ok(n) => message.push_str(&format!(
            "\nremoved {n} deleted mailbox(es) older than {delete_days} day(s)"
        )),
        Err(e) => return service_failure(&e),
    }
    done(message)
}

/// The Unix time before which what happened `days` ago or earlier lies (0 days: everything).
pub(crate) fn cut_off(days: u64) -> i64 {
    let span = i64::try_from(days)
        .ok()
        .and_then(|d| d.checked_mul(DAY_SECONDS))
        .unwrap_or(i64::MAX);
    unix_now().saturating_sub(span).saturating_add(1)
}

fn deleted_list(ctx: &Backend) -> Response {
    match ctx.service.deleted_mailboxes() {
        Ok(list) if list.is_empty() => done("no deleted mailboxes are kept".to_string()),
        Ok(list) => {
            let lines: Vec<String> = list
                .iter()
                .map(|d| format!("{} {} {}", d.hidden, utc(d.deleted_at), d.original))
                .collect();
            done(lines.join("\n"))
        }
        Err(e) => service_failure(&e),
    }
}

fn undelete(ctx: &Backend, name: &str, to: Option<&str>) -> Response {
    let restored = internal(name).and_then(|name| {
        let to = to.map(internal).transpose()?;
        ctx.service.undelete(&name, to.as_ref())
    });
    match restored {
        Ok(moves) => {
            let lines: Vec<String> = moves
                .iter()
                .map(|(hidden, back)| format!("restored {hidden} as {back}"))
                .collect();
            done(lines.join("\n"))
        }
        Err(e) => service_failure(&e),
    }
}

/// Now, in Unix seconds.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The listing: a header line, then one line per kept message.
fn render(mailbox: &str, kept: &[ExpungedMessage]) -> String {
    if kept.is_empty() {
        return format!("{mailbox}: no expunged messages are kept");
    }
    let mut out = vec![format!(
        "{:>10} {:<20} {:>10}  {:<24} Subject",
        "UID", "Expunged (UTC)", "Size", "Flags"
    )];
    for m in kept {
        let flags: Vec<String> = m.flags.iter().map(ToString::to_string).collect();
        out.push(format!(
            "{:>10} {:<20} {:>10}  {:<24} {}",
            m.uid,
            utc(m.expunged_at),
            m.size,
            flags.join(" "),
            m.subject.as_deref().unwrap_or("")
        ));
    }
    out.join("\n")
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
fn utc(unix: i64) -> String {
    let (y, m, d) = types::civil::civil_from_days(unix.div_euclid(DAY_SECONDS));
    let s = unix.rem_euclid(DAY_SECONDS);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn describe_restore(mailbox: &str, outcome: &UnexpungeOutcome) -> String {
    let mut lines: Vec<String> = outcome
        .restored
        .iter()
        .map(|(old, new)| format!("{mailbox}: restored UID {old} as UID {new}"))
        .collect();
    for uid in &outcome.missing {
        lines.push(format!(
            "{mailbox}: UID {uid} could not be restored: its file is gone (record forgotten)"
        ));
    }
    if lines.is_empty() {
        lines.push(format!("{mailbox}: no such expunged messages are kept"));
    }
    lines.join("\n")
}

fn describe_expire(report: &ExpireReport, days: u64) -> String {
    let mut lines: Vec<String> = report
        .failed
        .iter()
        .map(|(name, e)| format!("{name}: not purged: {e}"))
        .collect();
    lines.push(format!(
        "purged {} expunged message(s) older than {days} day(s) in {} mailbox(es); expired \
         duplicate-delivery records",
        report.messages, report.mailboxes
    ));
    lines.join("\n")
}
