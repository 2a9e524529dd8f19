//! `darius quota`: quota roots by internal name, as the server's administrator, through the
//! running server's admin socket or on the files when it is stopped (like `darius acl`).
//!
//! - `darius quota [-d PREFIX] [ROOT…]` lists roots with their limits and usage, one line per
//!   resource, in the columns of Cyrus's `quota` report (`Quota  % Used  Used Resource Root`;
//!   STORAGE in KiB rounded down, as GETQUOTA reports it). A root without limits shows its
//!   usage with the limit columns empty.
//! - `darius quota -f [ROOT…]` recomputes usage from the mailbox headers and message records
//!   (`MailService::quota_repair`) and prints each correction; a second run finds nothing.
//!   Roots are never removed by a repair, nested ones included.
//! - `darius quota --remove ROOT` removes a root: its mailboxes count for the enclosing root.
//! - `darius quota --set ROOT [--storage KIB] [--messages N]` sets a root's limits as SETQUOTA
//!   does (no limit options: no limits, the root stays).
//!
//! `-d PREFIX` stands for Cyrus's `-d domain` until virtual domains exist: it restricts listing
//! and repair to roots at or below an internal name.

use std::path::Path;

use anyhow::{bail, Result};
use clap::Args;
use mailservice::{QuotaReport, ServiceError};
use mailstore::{QuotaLimits, QuotaRepairReport, QuotaUsage};
use serde::{Deserialize, Serialize};
use types::MailboxName;

use crate::admin::{done, service_failure, Request, Response};
use crate::mail::Backend;
use crate::mailboxes::internal;

/// Largest limit accepted: RFC 9208 limits are `number64` (at most 2^63 - 1).
const MAX_LIMIT: u64 = i64::MAX as u64;

/// Most roots one command may name (the admin socket's request size bounds them too).
const MAX_ROOTS: usize = 1000;

#[derive(Args)]
pub struct QuotaArgs {
    /// Only roots at or below this internal name (Cyrus's `-d domain`; a prefix here until
    /// virtual domains exist).
    #[arg(short = 'd', long = "prefix", value_name = "PREFIX")]
    prefix: Option<String>,
    /// Recompute the usage of every root (or of ROOT…) and print each correction.
    #[arg(short = 'f', long = "fix", conflicts_with_all = ["remove", "set"])]
    fix: bool,
    /// Remove the quota root ROOT (its mailboxes then count for the enclosing root).
    #[arg(long, value_name = "ROOT", conflicts_with_all = ["prefix", "set", "roots"])]
    remove: Option<String>,
    /// Set the limits of ROOT (a mailbox, or a name with mailboxes below it); without
    /// --storage and --messages its limits are removed and the root kept.
    #[arg(long, value_name = "ROOT", conflicts_with_all = ["prefix", "roots"])]
    set: Option<String>,
    /// With --set: the STORAGE limit in KiB.
    #[arg(long, value_name = "KIB", requires = "set", value_parser = limit,
          allow_hyphen_values = true)]
    storage: Option<u64>,
    /// With --set: the MESSAGE limit (number of messages).
    #[arg(long, value_name = "N", requires = "set", value_parser = limit,
          allow_hyphen_values = true)]
    messages: Option<u64>,
    /// Quota roots by internal name (`user.bovik`); all roots when none is given.
    #[arg(value_name = "ROOT")]
    roots: Vec<String>,
}

/// A limit: a whole number from 0 to 2^63 - 1.
fn limit(s: &str) -> std::result::Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if n <= MAX_LIMIT => Ok(n),
        _ => Err(format!(
            "{s:?} is not a limit: give a whole number from 0 to {MAX_LIMIT}"
        )),
    }
}

/// One root as listed: its limits and usage.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct QuotaRow {
    pub root: String,
    pub storage_limit_kib: Option<u64>,
    pub message_limit: Option<u64>,
    pub storage_bytes: u64,
    pub messages: u64,
}

impl From<QuotaReport> for QuotaRow {
    fn from(r: QuotaReport) -> QuotaRow {
        QuotaRow {
            root: r.root.to_string(),
            storage_limit_kib: r.limits.storage_kib,
            message_limit: r.limits.messages,
            storage_bytes: r.usage.storage_bytes,
            messages: r.usage.messages,
        }
    }
}

pub fn run(config_path: Option<&Path>, args: QuotaArgs) -> Result<()> {
    if args.roots.len() > MAX_ROOTS {
        bail!("at most {MAX_ROOTS} roots at once");
    }
    let request = if let Some(root) = args.remove {
        Request::QuotaRemove { root }
    } else if let Some(root) = args.set {
        Request::QuotaSet {
            root,
            storage_kib: args.storage,
            messages: args.messages,
        }
    } else if args.fix {
        Request::QuotaFix {
            prefix: args.prefix,
            roots: args.roots,
        }
    } else {
        Request::QuotaList {
            prefix: args.prefix,
            roots: args.roots,
        }
    };
    crate::users::submit(config_path, |_| Ok(request))
}

/// Carries out a quota request as the server's administrator.
pub(crate) fn execute(ctx: &Backend, request: Request) -> Response {
    let result = match request {
        Request::QuotaList { prefix, roots } => {
            selected(ctx, prefix.as_deref(), &roots).map(|reports| Response::Quotas {
                roots: reports.into_iter().map(QuotaRow::from).collect(),
            })
        }
        Request::QuotaFix { prefix, roots } => fix(ctx, prefix.as_deref(), &roots),
        Request::QuotaRemove { root } => remove(ctx, &root),
        Request::QuotaSet {
            root,
            storage_kib,
            messages,
        } => set(ctx, &root, storage_kib, messages),
        _ => Err(refused("not a quota request".to_string())),
    };
    result.unwrap_or_else(|response| response)
}

/// A request's answer, or the refusal or failure to report instead.
type Outcome<T> = std::result::Result<T, Response>;

fn refused(reason: String) -> Response {
    Response::Refused { reason }
}

fn failed(e: ServiceError) -> Response {
    service_failure(&e)
}

fn name(given: &str) -> Outcome<MailboxName> {
    internal(given).map_err(failed)
}

/// The roots a list or a repair is about: those named (each must be a root), else every one,
/// and only those at or below `prefix` when one is given.
fn selected(ctx: &Backend, prefix: Option<&str>, roots: &[String]) -> Outcome<Vec<QuotaReport>> {
    if roots.len() > MAX_ROOTS {
        return Err(refused(format!("at most {MAX_ROOTS} roots at once")));
    }
    let prefix = prefix.map(name).transpose()?;
    let all = ctx.service.quota_list(prefix.as_ref()).map_err(failed)?;
    if roots.is_empty() {
        return Ok(all);
    }
    let names: Vec<MailboxName> = roots.iter().map(|r| name(r)).collect::<Outcome<_>>()?;
    let mut out = Vec::new();
    for (wanted, given) in names.iter().zip(roots) {
        match all.iter().find(|r| &r.root == wanted) {
            Some(r) if !out.contains(r) => out.push(r.clone()),
            Some(_) => {}
            None => {
                let within = prefix
                    .as_ref()
                    .map(|p| format!(" at or below {p}"))
                    .unwrap_or_default();
                return Err(refused(format!("{given} is not a quota root{within}")));
            }
        }
    }
    Ok(out)
}

fn fix(ctx: &Backend, prefix: Option<&str>, roots: &[String]) -> Outcome<Response> {
    // Neither roots nor a prefix: every owner is repaired, also those without a root yet
    // (their subtree sums count as soon as one is set).
    let report = if roots.is_empty() && prefix.is_none() {
        ctx.service.quota_repair(None)
    } else {
        let chosen: Vec<MailboxName> = selected(ctx, prefix, roots)?
            .into_iter()
            .map(|r| r.root)
            .collect();
        ctx.service.quota_repair(Some(&chosen))
    }
    .map_err(failed)?;
    Ok(done(describe_repair(&report)))
}

fn remove(ctx: &Backend, root: &str) -> Outcome<Response> {
    if ctx.service.quota_remove(&name(root)?).map_err(failed)? {
        Ok(done(format!(
            "removed quota root {root}: its mailboxes count for the enclosing root, if any"
        )))
    } else {
        Err(refused(format!(
            "{root} is not a quota root: nothing removed"
        )))
    }
}

/// The lines `quota -f` prints: each root's corrected usage, each header rewritten, a summary.
pub(crate) fn describe_repair(report: &QuotaRepairReport) -> String {
    let mut lines = Vec::new();
    for c in &report.corrections {
        let (b, a) = (c.before, c.after);
        if b.storage_bytes != a.storage_bytes {
            lines.push(format!(
                "{}: STORAGE usage was {}, now {}",
                c.root,
                kib(b, a, b),
                kib(b, a, a)
            ));
        }
        if b.messages != a.messages {
            lines.push(format!(
                "{}: MESSAGE usage was {}, now {}",
                c.root, b.messages, a.messages
            ));
        }
    }
    for name in &report.headers_fixed {
        lines.push(format!(
            "{name}: mailbox header totals disagreed with its messages, rewritten"
        ));
    }
    if report.is_clean() {
        lines.push("quota usage is consistent: nothing to fix".to_string());
    } else {
        lines.push(format!(
            "fixed the usage of {} {}, {} mailbox {} and {} maintained usage {}",
            report.corrections.len(),
            plural(report.corrections.len(), "root", "roots"),
            report.headers_fixed.len(),
            plural(report.headers_fixed.len(), "header", "headers"),
            report.entries_fixed,
            plural(report.entries_fixed, "entry", "entries"),
        ));
    }
    lines.join("\n")
}

/// `u`'s storage in KiB; with the bytes too when the KiB of `before` and `after` are equal
/// (a change of less than a KiB would otherwise read as none).
fn kib(before: QuotaUsage, after: QuotaUsage, u: QuotaUsage) -> String {
    if before.storage_kib() == after.storage_kib() {
        format!("{} KiB ({} bytes)", u.storage_kib(), u.storage_bytes)
    } else {
        format!("{} KiB", u.storage_kib())
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn set(
    ctx: &Backend,
    root: &str,
    storage_kib: Option<u64>,
    messages: Option<u64>,
) -> Outcome<Response> {
    for n in [storage_kib, messages].into_iter().flatten() {
        if n > MAX_LIMIT {
            return Err(refused(format!(
                "{n} is not a limit: give a whole number from 0 to {MAX_LIMIT}"
            )));
        }
    }
    let limits = QuotaLimits {
        storage_kib,
        messages,
    };
    let report = match ctx.service.set_quota_internal(&name(root)?, limits) {
        Ok(report) => report,
        Err(ServiceError::NoSuchMailbox) => {
            return Err(refused(format!(
                "{root} is no mailbox and has none below it: it cannot be a quota root"
            )))
        }
        Err(e) => return Err(failed(e)),
    };
    let mut set = Vec::new();
    if let Some(kib) = report.limits.storage_kib {
        set.push(format!("STORAGE {kib} KiB"));
    }
    if let Some(n) = report.limits.messages {
        set.push(format!("MESSAGE {n}"));
    }
    Ok(done(if set.is_empty() {
        format!("set quota root {root} without limits")
    } else {
        format!("set quota root {root}: {}", set.join(", "))
    }))
}

/// The listing as printed: a header, then one line per resource of each root.
pub(crate) fn render(rows: &[QuotaRow]) -> String {
    let mut out = format!(
        "{:>8} {:>8} {:>8} {:<8} {}\n",
        "Quota", "% Used", "Used", "Resource", "Root"
    );
    for row in rows {
        let storage = (row.storage_limit_kib, row.storage_bytes / 1024, "STORAGE");
        let messages = (row.message_limit, row.messages, "MESSAGE");
        let unlimited = row.storage_limit_kib.is_none() && row.message_limit.is_none();
        for (limit, used, resource) in [storage, messages] {
            let (limit, percent) = match limit {
                Some(limit) => (limit.to_string(), percent(used, limit).to_string()),
                // A root without limits still shows what it uses.
                None if unlimited => (String::new(), String::new()),
                None => continue,
            };
            out.push_str(&format!(
                "{limit:>8} {percent:>8} {used:>8} {resource:<8} {}\n",
                row.root
            ));
        }
    }
    out
}

/// Percent of `limit` used, rounded down; a zero limit is full.
fn percent(used: u64, limit: u64) -> u64 {
    used.saturating_mul(100)
        .checked_div(limit)
        .unwrap_or(if used == 0 { 0 } else { 100 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_whole_numbers_within_number64() {
        assert_eq!(limit("0"), Ok(0));
        assert_eq!(limit("9223372036854775807"), Ok(MAX_LIMIT));
        for bad in ["-1", "1.5", "ten", "", "9223372036854775808", " 1"] {
            assert!(limit(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        /// Every limit in range reads back as itself, with or without leading zeros; anything
        /// else (a minus sign, fractions, words, out of range) is refused.
        #[test]
        fn a_limit_reads_back_exactly_and_nothing_else_passes(
            n in 0..=MAX_LIMIT,
            zeros in 0usize..4,
            over in (MAX_LIMIT + 1)..=u64::MAX,
            junk in "[^0-9]{1,3}",
        ) {
            let spelled = format!("{}{n}", "0".repeat(zeros));
            let (minus, after, before) = (format!("-{n}"), format!("{n}{junk}"), format!("{junk}{n}"));
            proptest::prop_assert_eq!(limit(&spelled), Ok(n));
            proptest::prop_assert!(limit(&over.to_string()).is_err());
            proptest::prop_assert!(limit(&minus).is_err());
            proptest::prop_assert!(limit(&after).is_err());
            // A lone leading `+` is a sign Rust's parser accepts; nothing else before a digit.
            proptest::prop_assert!(junk == "+" || limit(&before).is_err());
        }
    }

    #[test]
    fn the_listing_has_a_line_per_limited_resource_and_usage_for_unlimited_roots() {
        let rows = [
            QuotaRow {
                root: "user.bovik".into(),
                storage_limit_kib: Some(100),
                message_limit: None,
                storage_bytes: 25 * 1024 + 1023,
                messages: 3,
            },
            QuotaRow {
                root: "user.x".into(),
                storage_limit_kib: None,
                message_limit: None,
                storage_bytes: 2048,
                messages: 2,
            },
            QuotaRow {
                root: "user.z".into(),
                storage_limit_kib: Some(0),
                message_limit: Some(0),
                storage_bytes: 0,
                messages: 1,
            },
        ];
        assert_eq!(
            render(&rows),
            "   Quota   % Used     Used Resource Root\n\
             \x20    100       25       25 STORAGE  user.bovik\n\
             \x20                        2 STORAGE  user.x\n\
             \x20                        2 MESSAGE  user.x\n\
             \x20      0        0        0 STORAGE  user.z\n\
             \x20      0      100        1 MESSAGE  user.z\n"
        );
    }
}
