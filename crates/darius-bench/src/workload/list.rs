//! `list`: how fast a user with a large account in a large installation gets their mailbox list,
//! `LIST "" "*"` and `LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))` (RFC 5819).
//!
//! Populated once and reused (like the other workloads' mailboxes): each of `--users` users gets
//! `bench-list-1` … `bench-list-M` (`--mailboxes`) in their personal namespace, created by the
//! user; the administrator (`--admin`) creates `bench-shared-1` … `bench-shared-S` (`--shared`)
//! in the shared namespace NAMESPACE reports and sets their ACLs (RFC 4314) on every run, by
//! [`grant`]: a fifth `anyone lr`, a fifth `lr` for the measuring user (user 1), a fifth `lr`
//! for one other user, two fifths nobody but the administrator — so the measuring user sees
//! two fifths of them (200 of 500). A server that refuses SETACL (NO or BAD) is measured all
//! the same, with its shared mailboxes as they are: the report says so (`acls` parameter,
//! `shared_acls_applied` 0) instead of failing.
//!
//! Timed: the measuring user, logged in before the clock starts, sends both commands in turn
//! `--iterations` times on one connection. Checked: every personal `bench-list-K` is listed; the
//! number of names is the same on every repetition (`wrong-count`); where the ACLs were applied,
//! the shared `bench-shared-J` listed are exactly those the ACLs let the user see
//! (`wrong-shared`); LIST-STATUS answers a STATUS with MESSAGES and UNSEEN for every selectable
//! name listed (`missing`).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{params, record_client_error, Outcome, Settings};
use crate::client::imap::{quote, ClientError, ImapClient};
use crate::client::parse::Untagged;
use crate::stats::{percentile, Recorder};

pub struct ListArgs {
    /// Personal mailboxes per user.
    pub mailboxes: u32,
    /// Shared mailboxes.
    pub shared: u32,
    pub iterations: u32,
    pub admin: String,
    pub admin_password: String,
}

pub const PERSONAL: &str = "bench-list-";
pub const SHARED: &str = "bench-shared-";

/// Who may see shared mailbox `j` (1-based) besides the administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// `anyone lr`.
    Anyone,
    /// `lr` for the measuring user (user 1).
    Viewer,
    /// `lr` for this other user.
    Other(u32),
    /// Nobody.
    Nobody,
}

pub fn grant(j: u32, users: u32) -> Grant {
    match j % 5 {
        0 => Grant::Anyone,
        1 => Grant::Viewer,
        2 if users >= 2 => Grant::Other(2 + (j / 5) % (users - 1)),
        _ => Grant::Nobody,
    }
}

/// The shared mailboxes (numbers) the measuring user may list.
pub fn visible(shared: u32, users: u32) -> BTreeSet<u32> {
    (1..=shared)
        .filter(|j| matches!(grant(*j, users), Grant::Anyone | Grant::Viewer))
        .collect()
}

/// The commands that give shared mailbox `mailbox` (client-side name) its ACL.
pub fn acl_commands(mailbox: &str, g: Grant, s: &Settings) -> Vec<String> {
    let m = quote(mailbox);
    let drop_anyone = format!("DELETEACL {m} anyone");
    match g {
        Grant::Anyone => vec![format!("SETACL {m} anyone lr")],
        Grant::Viewer => vec![drop_anyone, format!("SETACL {m} {} lr", quote(&s.user(1)))],
        Grant::Other(u) => vec![drop_anyone, format!("SETACL {m} {} lr", quote(&s.user(u)))],
        Grant::Nobody => vec![drop_anyone],
    }
}

/// What setting up found and did.
#[derive(Debug, Default)]
struct Setup {
    personal_created: u64,
    personal_seconds: f64,
    shared_created: u64,
    shared_seconds: f64,
    /// None when the ACLs were applied; otherwise why not.
    acls_refused: Option<String>,
}

pub async fn run(s: &Settings, args: &ListArgs) -> anyhow::Result<Outcome> {
    let mut setup = Setup::default();
    let t = Instant::now();
    setup.personal_created = personal(s, args.mailboxes)
        .await
        .map_err(anyhow::Error::msg)?;
    setup.personal_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    shared(s, args, &mut setup).await?;
    setup.shared_seconds = t.elapsed().as_secs_f64();
    eprintln!(
        "list: {} personal mailboxes created in {:.1} s, {} shared in {:.1} s{}",
        setup.personal_created,
        setup.personal_seconds,
        setup.shared_created,
        setup.shared_seconds,
        setup
            .acls_refused
            .as_ref()
            .map_or(String::new(), |why| format!("; ACLs not applied: {why}"))
    );

    let mut rec = Recorder::default();
    let viewer = s.user(1);
    let mut c = s.login(&viewer).await?;
    let (personal_prefix, viewer_shared) = namespaces(&mut c).await?;
    let list_status = c.has_cap("LIST-STATUS");
    let expected = setup
        .acls_refused
        .is_none()
        .then(|| visible(args.shared, s.users));
    let mut check = Check {
        personal_prefix,
        shared_prefix: viewer_shared.clone(),
        mailboxes: args.mailboxes,
        shared: args.shared,
        expected,
        ..Check::default()
    };
    let start = Instant::now();
    for _ in 0..args.iterations {
        if s.abort.load(Ordering::Relaxed) {
            break;
        }
        if let Err(e) = timed_list(&mut c, &mut rec, &mut check, "list", "LIST \"\" \"*\"").await {
            record_client_error(&mut rec, "list", &e);
            break;
        }
        if !list_status {
            continue;
        }
        let cmd = "LIST \"\" \"*\" RETURN (STATUS (MESSAGES UNSEEN))";
        if let Err(e) = timed_list(&mut c, &mut rec, &mut check, "list-status", cmd).await {
            record_client_error(&mut rec, "list-status", &e);
            break;
        }
    }
    let elapsed = start.elapsed();
    let _ = c.logout().await;

    let mut metrics = std::collections::BTreeMap::new();
    for (op, key) in [("list", "list"), ("list-status", "list_status")] {
        let Some(samples) = rec.ops.get(op) else {
            continue;
        };
        let mut v = samples.latencies_us.clone();
        if v.is_empty() {
            continue;
        }
        v.sort_unstable();
        for p in [50.0, 95.0, 99.0] {
            let ms = percentile(&v, p) as f64 / 1000.0;
            metrics.insert(format!("{key}_p{p:.0}_ms"), ms);
        }
    }
    if let Some(n) = check.names {
        metrics.insert("names_listed".into(), n as f64);
    }
    if let Some(n) = &check.shared_seen {
        metrics.insert("shared_listed".into(), n.len() as f64);
    }
    if let Some(want) = &check.expected {
        metrics.insert("shared_visible_by_acl".into(), want.len() as f64);
    }
    let applied = if setup.acls_refused.is_none() {
        1.0
    } else {
        0.0
    };
    metrics.insert("shared_acls_applied".into(), applied);
    metrics.insert("personal_created".into(), setup.personal_created as f64);
    metrics.insert("personal_setup_seconds".into(), setup.personal_seconds);
    metrics.insert("shared_created".into(), setup.shared_created as f64);
    metrics.insert("shared_setup_seconds".into(), setup.shared_seconds);
    let acls = match &setup.acls_refused {
        None => "applied".to_owned(),
        Some(why) => format!("not applied: {why}"),
    };
    Ok(Outcome {
        recorder: rec,
        elapsed,
        metrics,
        params: params([
            ("list_users", s.users.to_string()),
            ("mailboxes_per_user", args.mailboxes.to_string()),
            ("shared", args.shared.to_string()),
            ("iterations", args.iterations.to_string()),
            ("list_status", list_status.to_string()),
            (
                "shared_prefix",
                viewer_shared.unwrap_or_else(|| "(none)".into()),
            ),
            ("acls", acls),
        ]),
    })
}

/// Creates the personal mailboxes every user lacks, over `--clients` connections; returns how
/// many were created.
async fn personal(s: &Settings, mailboxes: u32) -> Result<u64, String> {
    let next = Arc::new(AtomicU32::new(1));
    let created = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = (0..s.clients.min(s.users))
        .map(|_| {
            let (s, next, created) = (s.clone(), next.clone(), created.clone());
            tokio::spawn(async move {
                loop {
                    let u = next.fetch_add(1, Ordering::Relaxed);
                    if u > s.users {
                        return Ok::<(), String>(());
                    }
                    let n = personal_one(&s, u, mailboxes)
                        .await
                        .map_err(|e| format!("{}: {e}", s.user(u)))?;
                    let before = created.fetch_add(n, Ordering::Relaxed);
                    if (before + n) / 10_000 > before / 10_000 {
                        eprintln!("  {} personal mailboxes created", before + n);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(u64::from(created.load(Ordering::Relaxed)))
}

/// The personal and the shared namespace prefixes of this login (RFC 2342), which differ between
/// users and administrators on some servers (Cyrus: `Shared Folders/` for users, `` for admins).
/// Without NAMESPACE: personal `` and no shared namespace.
async fn namespaces(c: &mut ImapClient) -> Result<(String, Option<String>), ClientError> {
    if !c.has_cap("NAMESPACE") {
        return Ok((String::new(), None));
    }
    let done = c.command("NAMESPACE").await?;
    Ok(done
        .untagged
        .iter()
        .find_map(|u| match u {
            Untagged::Namespace { personal, shared } => {
                Some((personal.clone().unwrap_or_default(), shared.clone()))
            }
            _ => None,
        })
        .unwrap_or_default())
}

/// Mailbox names from LIST responses.
fn listed(untagged: &[Untagged]) -> BTreeSet<String> {
    untagged
        .iter()
        .filter_map(|u| match u {
            Untagged::List { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

async fn personal_one(s: &Settings, u: u32, mailboxes: u32) -> Result<u32, String> {
    let err = |e: ClientError| e.to_string();
    let mut c = s.login(&s.user(u)).await.map_err(err)?;
    let (prefix, _) = namespaces(&mut c).await.map_err(err)?;
    let have = c
        .command(&format!(
            "LIST \"\" {}",
            quote(&format!("{prefix}{PERSONAL}*"))
        ))
        .await
        .map_err(err)?;
    let have = listed(&have.untagged);
    let mut created = 0;
    for k in 1..=mailboxes {
        let name = format!("{prefix}{PERSONAL}{k}");
        if have.contains(&name) {
            continue;
        }
        let done = c
            .command(&format!("CREATE {}", quote(&name)))
            .await
            .map_err(err)?;
        if !done.is_ok() {
            return Err(format!("CREATE {name}: {:?} {}", done.status, done.text));
        }
        created += 1;
    }
    let _ = c.logout().await;
    Ok(created)
}

/// Creates the shared mailboxes the administrator lacks and (re)applies their ACLs.
async fn shared(s: &Settings, args: &ListArgs, setup: &mut Setup) -> anyhow::Result<()> {
    if args.shared == 0 {
        setup.acls_refused = Some("no shared mailboxes asked for".into());
        return Ok(());
    }
    let mut c = ImapClient::connect(&s.imap, s.timeout).await?;
    let done = c.login(&args.admin, &args.admin_password).await?;
    anyhow::ensure!(
        done.is_ok(),
        "LOGIN {} (--admin) refused: {}",
        args.admin,
        done.text
    );
    let (_, prefix) = namespaces(&mut c).await?;
    let Some(prefix) = prefix else {
        anyhow::bail!("the server reports no shared namespace: no shared mailboxes to list");
    };
    let pattern = quote(&format!("{prefix}{SHARED}*"));
    let have = listed(&c.command(&format!("LIST \"\" {pattern}")).await?.untagged);
    for j in 1..=args.shared {
        let name = format!("{prefix}{SHARED}{j}");
        if have.contains(&name) {
            continue;
        }
        let done = c.command(&format!("CREATE {}", quote(&name))).await?;
        anyhow::ensure!(
            done.is_ok(),
            "CREATE {name}: {:?} {}",
            done.status,
            done.text
        );
        setup.shared_created += 1;
    }
    'boxes: for j in 1..=args.shared {
        let name = format!("{prefix}{SHARED}{j}");
        for cmd in acl_commands(&name, grant(j, s.users), s) {
            let done = c.command(&cmd).await?;
            if !done.is_ok() {
                setup.acls_refused = Some(format!("{cmd}: {:?} {}", done.status, done.text));
                break 'boxes;
            }
        }
    }
    let _ = c.logout().await;
    Ok(())
}

/// What the timed LISTs are checked against, and what they returned so far.
#[derive(Debug, Default)]
pub struct Check {
    pub personal_prefix: String,
    pub shared_prefix: Option<String>,
    pub mailboxes: u32,
    /// Shared mailboxes of this run, `bench-shared-1` … `bench-shared-N`: ones beyond (left by a
    /// run with a larger `--shared`) are not looked at.
    pub shared: u32,
    /// The shared mailboxes the ACLs let the user list (None: ACLs not applied).
    pub expected: Option<BTreeSet<u32>>,
    /// Names in the first answer: every later one must have as many.
    pub names: Option<usize>,
    /// The shared `bench-shared-J` of the first answer.
    pub shared_seen: Option<BTreeSet<u32>>,
}

impl Check {
    /// Checks one answer's untagged responses; `status` when LIST-STATUS was asked for.
    pub fn answer(&mut self, untagged: &[Untagged], status: bool) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        let mut names = BTreeSet::new();
        let mut selectable = BTreeSet::new();
        for u in untagged {
            if let Untagged::List {
                attributes, name, ..
            } = u
            {
                names.insert(name.as_str());
                let noselect = attributes.iter().any(|a| {
                    a.eq_ignore_ascii_case("\\Noselect") || a.eq_ignore_ascii_case("\\NonExistent")
                });
                if !noselect {
                    selectable.insert(name.as_str());
                }
            }
        }
        match self.names {
            None => self.names = Some(names.len()),
            Some(n) if n != names.len() => errors.push((
                "wrong-count",
                format!("{} names listed, {n} the first time", names.len()),
            )),
            Some(_) => {}
        }
        let missing = (1..=self.mailboxes)
            .filter(|k| !names.contains(format!("{}{PERSONAL}{k}", self.personal_prefix).as_str()))
            .count();
        if missing > 0 {
            errors.push((
                "missing",
                format!("{missing} personal {PERSONAL}* mailboxes not listed"),
            ));
        }
        let shared: BTreeSet<u32> = match &self.shared_prefix {
            None => BTreeSet::new(),
            Some(p) => {
                let head = format!("{p}{SHARED}");
                names
                    .iter()
                    .filter_map(|n| n.strip_prefix(head.as_str())?.parse().ok())
                    .filter(|j| (1..=self.shared).contains(j))
                    .collect()
            }
        };
        if let Some(want) = &self.expected {
            if *want != shared {
                let extra = shared.difference(want).count();
                let lacking = want.difference(&shared).count();
                errors.push((
                    "wrong-shared",
                    format!(
                        "{} shared listed, ACLs allow {}: {extra} not allowed, {lacking} missing",
                        shared.len(),
                        want.len()
                    ),
                ));
            }
        }
        if self.shared_seen.is_none() {
            self.shared_seen = Some(shared);
        }
        if status {
            let mut with_status = BTreeSet::new();
            for u in untagged {
                if let Untagged::StatusData { name, items } = u {
                    let has = |k: &str| items.iter().any(|(key, _)| key == k);
                    if has("MESSAGES") && has("UNSEEN") {
                        with_status.insert(name.as_str());
                    }
                }
            }
            let lacking = selectable.difference(&with_status).count();
            if lacking > 0 {
                errors.push((
                    "missing",
                    format!("{lacking} selectable names without STATUS (MESSAGES UNSEEN)"),
                ));
            }
        }
        errors
    }
}

async fn timed_list(
    c: &mut ImapClient,
    rec: &mut Recorder,
    check: &mut Check,
    op: &'static str,
    command: &str,
) -> Result<(), ClientError> {
    let before = c.received();
    let t = Instant::now();
    let done = c.command(command).await?;
    let took: Duration = t.elapsed();
    if !done.is_ok() {
        let kind = match done.status {
            crate::client::parse::Status::No => "no",
            _ => "bad",
        };
        rec.error(op, kind, format!("{command}: {}", done.text));
        return Ok(());
    }
    rec.ok(op, took);
    rec.bytes(
        op,
        usize::try_from(c.received() - before).unwrap_or(usize::MAX),
    );
    for (kind, detail) in check.answer(&done.untagged, op == "list-status") {
        rec.error(op, kind, detail);
    }
    Ok(())
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;
