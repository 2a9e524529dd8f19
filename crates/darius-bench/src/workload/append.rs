//! `append`: every client APPENDs corpus messages (2–60 KB, MIME mix, realistic flags) to its
//! user's mailbox as fast as the server takes them, one command at a time per connection.
//!
//! A login the server refuses as temporarily unavailable (`NO [UNAVAILABLE]`, e.g. Darius's
//! full password-hashing queue while 50 clients log in at once) is tried again after a pause,
//! so every client appends.
//!
//! Checked: every APPEND answers OK; with UIDPLUS, the APPENDUID's UID rises strictly and its
//! UIDVALIDITY stays the same within a connection.
//!
//! With `--quota` (the quota case, issue 13's cost), before the clock starts every appending user
//! gets `--governed` mailboxes `bench-quota-1` … `bench-quota-N` in their personal namespace
//! (created by the user, pipelined, only those missing: like the other workloads' mailboxes they
//! are kept between runs), and the administrator sets a quota root on the user's hierarchy
//! (`--quota-root`, `user.%u` by default; `%u` is the user) with limits no run reaches
//! (`SETQUOTA root (STORAGE 1000000000 MESSAGE 1000000000)`, RFC 9208 §4.3). The root then
//! governs INBOX, the appended-to mailbox and the N others, and every APPEND is checked against
//! it. The timed loop is the same as without `--quota`. After it, the administrator's GETQUOTA
//! must show MESSAGE grown by exactly the number of APPENDs answered OK for that user and STORAGE
//! (units of 1024 octets) by their octets, give or take the rounding of the two readings
//! (`getquota`/`wrong-usage` errors otherwise).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::{join_all, params, personal_mailbox, record_client_error, Budget, Outcome, Settings};
use crate::client::imap::{quote, ClientError, ImapClient};
use crate::client::parse::Untagged;
use crate::corpus;
use crate::stats::Recorder;

pub struct AppendArgs {
    pub mailbox: String,
    /// The quota case: None appends without any quota root.
    pub quota: Option<QuotaArgs>,
}

/// The quota case's setup.
pub struct QuotaArgs {
    /// Mailboxes created under each appending user's root besides the appended-to one.
    pub governed: u32,
    /// The root's name as the administrator names it; `%u` becomes the user.
    pub root: String,
    pub admin: String,
    pub admin_password: String,
}

impl QuotaArgs {
    pub fn root_of(&self, user: &str) -> String {
        self.root.replace("%u", user)
    }
}

/// The governed mailboxes' names, after the personal namespace prefix: `bench-quota-1` ….
pub const GOVERNED: &str = "bench-quota-";
/// The most governed mailboxes per user `--governed` accepts.
pub const MAX_GOVERNED: u32 = 100_000;
/// The limits set on the quota root (STORAGE in KiB, MESSAGE): about a terabyte and a billion
/// messages, which no run reaches and every server accepts.
pub const BIG_LIMIT: u64 = 1_000_000_000;
/// CREATE commands sent before their completions are read.
const CREATE_WINDOW: usize = 128;

/// A root's usage as GETQUOTA reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub storage_kib: u64,
    pub messages: u64,
}

/// What was appended for one user during the timed phase.
#[derive(Default)]
struct Tally {
    messages: AtomicU64,
    bytes: AtomicU64,
}

/// What the quota setup did and found.
struct QuotaSetup {
    /// Each appending user's (number) root usage before the timed phase.
    before: BTreeMap<u32, Usage>,
    created: u64,
    seconds: f64,
}

pub async fn run(s: &Settings, args: &AppendArgs) -> anyhow::Result<Outcome> {
    let users: BTreeSet<u32> = (0..s.clients).map(|i| s.user_number_of_client(i)).collect();
    let setup = match &args.quota {
        Some(q) => Some(quota_setup(s, q, &users).await?),
        None => None,
    };
    let tallies: Arc<Vec<Tally>> =
        Arc::new((0..=s.users.max(1)).map(|_| Tally::default()).collect());
    let budget = Arc::new(Budget::new(s));
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks = (0..s.clients)
        .map(|i| {
            let (s, budget, counter, tallies) =
                (s.clone(), budget.clone(), counter.clone(), tallies.clone());
            let mailbox = args.mailbox.clone();
            tokio::spawn(async move {
                let tally = &tallies[s.user_number_of_client(i) as usize];
                client(&s, i, &mailbox, &budget, &counter, tally).await
            })
        })
        .collect();
    let mut recorder = join_all(tasks).await;
    let elapsed = start.elapsed();
    let mut metrics = BTreeMap::new();
    let mut quota = "none".to_owned();
    let mut params = params([
        ("clients", s.clients.to_string()),
        ("users", s.users.to_string()),
        ("mailbox", args.mailbox.clone()),
    ]);
    if let (Some(q), Some(setup)) = (&args.quota, &setup) {
        params.insert("quota_governed".into(), q.governed.to_string());
        quota_verify(s, q, setup, &tallies, &mut recorder).await;
        metrics.insert("governed_created".into(), setup.created as f64);
        metrics.insert("quota_setup_seconds".into(), setup.seconds);
        quota = format!(
            "root {} over INBOX, the mailbox and {} {GOVERNED}* per user",
            q.root, q.governed
        );
    }
    params.insert("quota".into(), quota);
    Ok(Outcome {
        recorder,
        elapsed,
        metrics,
        params,
    })
}

/// Creates the governed mailboxes every appending user lacks (up to four users at once), then
/// sets each user's quota root and reads its usage.
async fn quota_setup(
    s: &Settings,
    q: &QuotaArgs,
    users: &BTreeSet<u32>,
) -> anyhow::Result<QuotaSetup> {
    let t = Instant::now();
    let list: Arc<Vec<u32>> = Arc::new(users.iter().copied().collect());
    let next = Arc::new(AtomicU32::new(0));
    let created = Arc::new(AtomicU64::new(0));
    let governed = q.governed;
    let tasks: Vec<_> = (0..list.len().min(4))
        .map(|_| {
            let (s, list, next, created) = (s.clone(), list.clone(), next.clone(), created.clone());
            tokio::spawn(async move {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(&u) = list.get(k) else {
                        return Ok::<(), String>(());
                    };
                    let n = governed_one(&s, u, governed)
                        .await
                        .map_err(|e| format!("{}: {e}", s.user(u)))?;
                    created.fetch_add(n, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await?.map_err(anyhow::Error::msg)?;
    }
    let mut admin = admin_login(s, q).await?;
    let mut before = BTreeMap::new();
    for &u in users {
        let root = q.root_of(&s.user(u));
        let cmd = format!(
            "SETQUOTA {} (STORAGE {BIG_LIMIT} MESSAGE {BIG_LIMIT})",
            quote(&root)
        );
        let done = admin.command(&cmd).await?;
        anyhow::ensure!(done.is_ok(), "{cmd}: {:?} {}", done.status, done.text);
        let usage = get_quota(&mut admin, &root)
            .await
            .map_err(anyhow::Error::msg)?;
        before.insert(u, usage);
    }
    let _ = admin.logout().await;
    let setup = QuotaSetup {
        before,
        created: created.load(Ordering::Relaxed),
        seconds: t.elapsed().as_secs_f64(),
    };
    eprintln!(
        "append --quota: {} governed mailboxes created, {} roots set, in {:.1} s",
        setup.created,
        setup.before.len(),
        setup.seconds
    );
    Ok(setup)
}

/// Creates user `u`'s missing governed mailboxes, pipelined; returns how many were created.
async fn governed_one(s: &Settings, u: u32, governed: u32) -> Result<u64, String> {
    let err = |e: ClientError| e.to_string();
    let mut c = s.login(&s.user(u)).await.map_err(err)?;
    let prefix = personal_mailbox(&mut c, GOVERNED).await.map_err(err)?;
    let have = c
        .command(&format!("LIST \"\" {}", quote(&format!("{prefix}*"))))
        .await
        .map_err(err)?;
    let have: BTreeSet<String> = have
        .untagged
        .into_iter()
        .filter_map(|u| match u {
            Untagged::List { name, .. } => Some(name),
            _ => None,
        })
        .collect();
    let missing: Vec<String> = (1..=governed)
        .map(|k| format!("{prefix}{k}"))
        .filter(|name| !have.contains(name))
        .collect();
    let commands: Vec<String> = missing
        .iter()
        .map(|name| format!("CREATE {}", quote(name)))
        .collect();
    let done = c.pipeline(&commands, CREATE_WINDOW).await.map_err(err)?;
    for (name, done) in missing.iter().zip(&done) {
        let exists = done
            .code
            .as_ref()
            .is_some_and(|c| c.name == "ALREADYEXISTS");
        if !done.is_ok() && !exists {
            return Err(format!("CREATE {name}: {:?} {}", done.status, done.text));
        }
    }
    let _ = c.logout().await;
    Ok(missing.len() as u64)
}

async fn admin_login(s: &Settings, q: &QuotaArgs) -> anyhow::Result<ImapClient> {
    let mut c = s.connect().await?;
    let done = c.login(&q.admin, &q.admin_password).await?;
    anyhow::ensure!(
        done.is_ok(),
        "LOGIN {} (--admin) refused: {}",
        q.admin,
        done.text
    );
    Ok(c)
}

/// GETQUOTA `root`: its STORAGE and MESSAGE usage.
async fn get_quota(c: &mut ImapClient, root: &str) -> Result<Usage, String> {
    let done = c
        .command(&format!("GETQUOTA {}", quote(root)))
        .await
        .map_err(|e| e.to_string())?;
    if !done.is_ok() {
        return Err(format!("GETQUOTA {root}: {:?} {}", done.status, done.text));
    }
    usage_of(&done.untagged, root)
        .ok_or_else(|| format!("GETQUOTA {root}: no QUOTA response with STORAGE and MESSAGE"))
}

/// The STORAGE and MESSAGE usage of `root` among the untagged responses.
pub fn usage_of(untagged: &[Untagged], root: &str) -> Option<Usage> {
    untagged.iter().find_map(|u| match u {
        Untagged::Quota { root: r, resources } if r == root => {
            let of = |name: &str| resources.iter().find(|r| r.name == name).map(|r| r.usage);
            Some(Usage {
                storage_kib: of("STORAGE")?,
                messages: of("MESSAGE")?,
            })
        }
        _ => None,
    })
}

/// Why the usage after the run does not match what was appended (`messages` messages of
/// `bytes` octets in all), or None. STORAGE counts whole KiB, so the growth of the two readings
/// lies between `bytes` rounded down and rounded up to KiB, whichever way the server rounds.
pub fn usage_mismatch(before: Usage, after: Usage, messages: u64, bytes: u64) -> Option<String> {
    if after.messages.checked_sub(before.messages) != Some(messages) {
        return Some(format!(
            "MESSAGE usage went from {} to {}, {messages} messages appended",
            before.messages, after.messages
        ));
    }
    let grown = after.storage_kib.checked_sub(before.storage_kib);
    if !grown.is_some_and(|g| (bytes / 1024..=bytes.div_ceil(1024)).contains(&g)) {
        return Some(format!(
            "STORAGE usage went from {} to {} KiB, {bytes} octets appended",
            before.storage_kib, after.storage_kib
        ));
    }
    None
}

/// After the timed phase: every root's usage grew by what its user appended.
async fn quota_verify(
    s: &Settings,
    q: &QuotaArgs,
    setup: &QuotaSetup,
    tallies: &[Tally],
    rec: &mut Recorder,
) {
    let mut admin = match admin_login(s, q).await {
        Ok(c) => c,
        Err(e) => {
            rec.error("getquota", "login", e.to_string());
            return;
        }
    };
    for (&u, &before) in &setup.before {
        let root = q.root_of(&s.user(u));
        let after = match get_quota(&mut admin, &root).await {
            Ok(a) => a,
            Err(e) => {
                rec.error("getquota", "no", e);
                continue;
            }
        };
        let tally = &tallies[u as usize];
        let (messages, bytes) = (
            tally.messages.load(Ordering::Relaxed),
            tally.bytes.load(Ordering::Relaxed),
        );
        if let Some(why) = usage_mismatch(before, after, messages, bytes) {
            rec.error("getquota", "wrong-usage", format!("{root}: {why}"));
        }
    }
    let _ = admin.logout().await;
}

/// Creates `mailbox` unless it is INBOX; "already exists" is fine.
pub async fn ensure_mailbox(c: &mut ImapClient, mailbox: &str) -> Result<(), String> {
    if mailbox.eq_ignore_ascii_case("INBOX") {
        return Ok(());
    }
    let done = c
        .command(&format!("CREATE {}", quote(mailbox)))
        .await
        .map_err(|e| e.to_string())?;
    if done.is_ok()
        || done
            .code
            .as_ref()
            .is_some_and(|c| c.name == "ALREADYEXISTS")
    {
        return Ok(());
    }
    // Servers without RFC 5530 codes say it in words; SELECT settles whether it exists.
    let sel = c
        .command(&format!("EXAMINE {}", quote(mailbox)))
        .await
        .map_err(|e| e.to_string())?;
    if sel.is_ok() {
        Ok(())
    } else {
        Err(format!("cannot create {mailbox}: {}", done.text))
    }
}

async fn client(
    s: &Settings,
    i: u32,
    mailbox: &str,
    budget: &Budget,
    counter: &AtomicU64,
    tally: &Tally,
) -> Recorder {
    let mut rec = Recorder::default();
    let user = s.user_of_client(i);
    let mut c = match s.login_retrying(&user).await {
        Ok(c) => c,
        Err(e) => {
            record_client_error(&mut rec, "login", &e);
            return rec;
        }
    };
    let mailbox = match personal_mailbox(&mut c, mailbox).await {
        Ok(m) => m,
        Err(e) => {
            record_client_error(&mut rec, "namespace", &e);
            return rec;
        }
    };
    let mailbox = mailbox.as_str();
    if let Err(e) = ensure_mailbox(&mut c, mailbox).await {
        rec.error("create", "no", e);
        return rec;
    }
    let mut last: Option<(String, u32)> = None;
    while budget.take(1) {
        let idx = counter.fetch_add(1, Ordering::Relaxed);
        let msg = s.pool.get(idx);
        let flags = corpus::flags_for(s.seed, idx).join(" ");
        let t = Instant::now();
        let done = match c.append(mailbox, &flags, msg).await {
            Ok(d) => d,
            Err(e) => {
                record_client_error(&mut rec, "append", &e);
                return rec;
            }
        };
        let code = done.code.clone();
        if super::judge(&mut rec, "append", t, done).is_none() {
            continue;
        }
        rec.bytes("append", msg.len());
        tally.messages.fetch_add(1, Ordering::Relaxed);
        tally.bytes.fetch_add(msg.len() as u64, Ordering::Relaxed);
        check_appenduid(&mut rec, code.as_ref(), &mut last);
    }
    let _ = c.logout().await;
    rec
}

/// RFC 4315 §3: APPENDUID carries the mailbox's UIDVALIDITY and the new UID.
fn check_appenduid(
    rec: &mut Recorder,
    code: Option<&crate::client::parse::Code>,
    last: &mut Option<(String, u32)>,
) {
    let Some(code) = code.filter(|c| c.name == "APPENDUID") else {
        return;
    };
    let (Some(v), Some(uid)) = (
        code.args.first(),
        code.args.get(1).and_then(|u| u.parse::<u32>().ok()),
    ) else {
        rec.error("append", "malformed", format!("APPENDUID {:?}", code.args));
        return;
    };
    if let Some((lv, luid)) = last {
        if lv != v {
            rec.error(
                "append",
                "wrong-uid",
                format!("UIDVALIDITY {lv} became {v}"),
            );
        } else if uid <= *luid {
            rec.error("append", "wrong-uid", format!("UID {uid} after {luid}"));
        }
    }
    *last = Some((v.clone(), uid));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::parse::QuotaResource;

    fn usage(storage_kib: u64, messages: u64) -> Usage {
        Usage {
            storage_kib,
            messages,
        }
    }

    #[test]
    fn usage_grown_by_what_was_appended_matches() {
        // 3 messages of 3,000 octets: 9,000 octets, 8.79 KiB, read as 8 or 9 KiB more.
        assert_eq!(usage_mismatch(usage(10, 5), usage(18, 8), 3, 9_000), None);
        assert_eq!(usage_mismatch(usage(10, 5), usage(19, 8), 3, 9_000), None);
        assert_eq!(usage_mismatch(usage(0, 0), usage(2, 1), 1, 2048), None);
        assert_eq!(usage_mismatch(usage(4, 2), usage(4, 2), 0, 0), None);
    }

    #[test]
    fn usage_not_grown_by_what_was_appended_is_reported() {
        let m = usage_mismatch(usage(10, 5), usage(19, 7), 3, 9_000).unwrap();
        assert!(m.contains("MESSAGE usage went from 5 to 7"), "{m}");
        let m = usage_mismatch(usage(10, 5), usage(20, 8), 3, 9_000).unwrap();
        assert!(m.contains("STORAGE usage went from 10 to 20"), "{m}");
        assert!(usage_mismatch(usage(10, 5), usage(17, 8), 3, 9_000).is_some());
        // Usage that went down is wrong, not an overflow.
        assert!(usage_mismatch(usage(10, 5), usage(9, 8), 3, 0).is_some());
        assert!(usage_mismatch(usage(10, 5), usage(10, 4), 0, 0).is_some());
    }

    #[test]
    fn usage_is_read_from_the_roots_quota_response() {
        let quota = |root: &str, resources: &[(&str, u64)]| Untagged::Quota {
            root: root.into(),
            resources: resources
                .iter()
                .map(|(name, usage)| QuotaResource {
                    name: (*name).into(),
                    usage: *usage,
                    limit: BIG_LIMIT,
                })
                .collect(),
        };
        let untagged = vec![
            quota("user.other", &[("STORAGE", 1), ("MESSAGE", 1)]),
            quota("user.bench1", &[("MESSAGE", 7), ("STORAGE", 300)]),
        ];
        assert_eq!(usage_of(&untagged, "user.bench1"), Some(usage(300, 7)));
        assert_eq!(usage_of(&untagged, "user.nobody"), None);
        let storage_only = vec![quota("user.bench1", &[("STORAGE", 3)])];
        assert_eq!(usage_of(&storage_only, "user.bench1"), None);
    }

    #[test]
    fn root_names_the_user() {
        let q = QuotaArgs {
            governed: 1,
            root: "user/%u".into(),
            admin: "cyrus".into(),
            admin_password: "pass".into(),
        };
        assert_eq!(q.root_of("user7"), "user/user7");
    }
}
