//! `directory`: the Murder's directory at scale (docs/murder.md, docs/benchmarks.md). Not a
//! client workload: it writes a synthetic directory straight into etcd and measures what a
//! server following it costs.
//!
//! - `--fill N`: writes N active mailbox records for the fake backend `--server` (never
//!   alive), `--per-user` per user (`user.uK.fJ`, each user with `lrswipkxtecda` on their
//!   own), in transactions of 128 puts, `--writers` at a time; reports the rate.
//! - `--list-user U`: logs in to the server (--host/--port) as U and times `LIST "" "*"`
//!   `--iterations` times: what a user of a large Murder waits for.
//! - `--lag-rate R --lag-seconds S --lag-user U`: writes R new records a second for S seconds
//!   under U's INBOX (`user.U.lagN`) while U's session polls LIST every 10 ms; reports how long
//!   each took from etcd's acknowledgement to the server's LIST (the watch's lag), and any
//!   never seen.
//!
//! Prints one JSON object per measurement on standard output.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use tokio::sync::Mutex;

use crate::client::imap::ImapClient;
use crate::client::net::Endpoint;
use crate::stats::percentile;

#[derive(Args)]
pub struct DirectoryArgs {
    /// etcd endpoints (`host:port`), space or comma separated.
    #[arg(long)]
    etcd: String,
    /// The Murder's key prefix (`murder_etcd_prefix`).
    #[arg(long, default_value = "/darius")]
    prefix: String,
    /// Write this many mailbox records first.
    #[arg(long, default_value_t = 0)]
    fill: u64,
    /// Mailboxes per user in the fill.
    #[arg(long, default_value_t = 10)]
    per_user: u64,
    /// The backend the filled records name.
    #[arg(long, default_value = "bfill")]
    server: String,
    /// Concurrent writers of the fill.
    #[arg(long, default_value_t = 8)]
    writers: u64,
    /// Time LIST as this user (password --password).
    #[arg(long)]
    list_user: Option<String>,
    #[arg(long, default_value_t = 50)]
    iterations: u32,
    /// New records a second for the lag measurement (0: none).
    #[arg(long, default_value_t = 0)]
    lag_rate: u32,
    #[arg(long, default_value_t = 30)]
    lag_seconds: u32,
    /// Whose INBOX the lag records go under (password --password).
    #[arg(long, default_value = "lag")]
    lag_user: String,
}

/// Puts per transaction (etcd's default `--max-txn-ops` is 128).
const TXN_PUTS: u64 = 128;

fn record(server: &str, owner: &str) -> Vec<u8> {
    serde_json::json!({
        "state": "active",
        "server": server,
        "partition": "default",
        "uniqueid": "",
        "acl": format!("{owner}\tlrswipkxtecda\t"),
    })
    .to_string()
    .into_bytes()
}

pub async fn run(
    args: &DirectoryArgs,
    imap: &Endpoint,
    password: &str,
    timeout: Duration,
) -> Result<()> {
    let endpoints: Vec<String> = args
        .etcd
        .split([' ', ','])
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect();
    let client = etcd::Client::new(etcd::ClientConfig::new(endpoints)).context("--etcd")?;
    let prefix = args.prefix.trim_end_matches('/').to_string();
    if args.fill > 0 {
        fill(&client, &prefix, args).await?;
    }
    if let Some(user) = &args.list_user {
        list(imap, user, password, args.iterations, timeout).await?;
    }
    if args.lag_rate > 0 {
        lag(&client, &prefix, imap, args, password, timeout).await?;
    }
    Ok(())
}

async fn fill(client: &etcd::Client, prefix: &str, args: &DirectoryArgs) -> Result<()> {
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut writers = Vec::new();
    for _ in 0..args.writers.max(1) {
        let (client, next, prefix, server) = (
            client.clone(),
            Arc::clone(&next),
            prefix.to_string(),
            args.server.clone(),
        );
        let (total, per_user) = (args.fill, args.per_user.max(1));
        writers.push(tokio::spawn(async move {
            loop {
                let first = next.fetch_add(TXN_PUTS, std::sync::atomic::Ordering::Relaxed);
                if first >= total {
                    return Ok::<(), etcd::Error>(());
                }
                let ops = (first..(first + TXN_PUTS).min(total))
                    .map(|i| {
                        let owner = format!("u{}", i / per_user + 1);
                        let key = format!("{prefix}/mbox/user.{owner}.f{}", i % per_user + 1);
                        etcd::Op::Put(etcd::PutRequest::new(
                            key.as_bytes(),
                            &record(&server, &owner),
                        ))
                    })
                    .collect();
                client
                    .txn(etcd::Txn {
                        compare: Vec::new(),
                        success: ops,
                        failure: Vec::new(),
                    })
                    .await?;
            }
        }));
    }
    for w in writers {
        w.await.context("a fill writer")??;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "measure": "directory-fill",
            "mailboxes": args.fill,
            "seconds": secs,
            "per_second": args.fill as f64 / secs.max(1e-9),
        })
    );
    Ok(())
}

/// The names a LIST answer gives, and how many.
fn listed(untagged: &[crate::client::parse::Untagged]) -> Vec<String> {
    untagged
        .iter()
        .filter_map(|u| match u {
            crate::client::parse::Untagged::List { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

async fn login(
    imap: &Endpoint,
    user: &str,
    password: &str,
    timeout: Duration,
) -> Result<ImapClient> {
    let mut c = ImapClient::connect(imap, timeout).await?;
    let done = c.login(user, password).await?;
    if !done.is_ok() {
        bail!("LOGIN {user}: {}", done.text);
    }
    Ok(c)
}

async fn list(
    imap: &Endpoint,
    user: &str,
    password: &str,
    iterations: u32,
    timeout: Duration,
) -> Result<()> {
    let mut c = login(imap, user, password, timeout).await?;
    let mut micros = Vec::new();
    let mut count = 0;
    for _ in 0..iterations.max(1) {
        let t = Instant::now();
        let done = c.command("LIST \"\" \"*\"").await?;
        micros.push(t.elapsed().as_micros() as u64);
        if !done.is_ok() {
            bail!("LIST: {}", done.text);
        }
        count = listed(&done.untagged).len();
    }
    micros.sort_unstable();
    println!(
        "{}",
        serde_json::json!({
            "measure": "directory-list",
            "user": user,
            "listed": count,
            "p50_us": percentile(&micros, 50.0),
            "p99_us": percentile(&micros, 99.0),
        })
    );
    Ok(())
}

async fn lag(
    client: &etcd::Client,
    prefix: &str,
    imap: &Endpoint,
    args: &DirectoryArgs,
    password: &str,
    timeout: Duration,
) -> Result<()> {
    let acked: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut poller = login(imap, &args.lag_user, password, timeout).await?;
    let poll = {
        let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let done = poller.command("LIST \"\" \"*\"").await?;
                let now = Instant::now();
                let mut seen = seen.lock().await;
                for name in listed(&done.untagged) {
                    seen.entry(name).or_insert(now);
                }
                drop(seen);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Ok::<(), anyhow::Error>(())
        })
    };
    let total = u64::from(args.lag_rate) * u64::from(args.lag_seconds);
    let gap = Duration::from_secs_f64(1.0 / f64::from(args.lag_rate));
    let started = Instant::now();
    let user = &args.lag_user;
    for i in 0..total {
        let due = started + gap * u32::try_from(i).unwrap_or(u32::MAX);
        tokio::time::sleep_until(due.into()).await;
        let name = format!("user.{user}.lag{i}");
        let key = format!("{prefix}/mbox/{name}");
        client
            .put(key.as_bytes(), &record(&args.server, user), None)
            .await?;
        acked.lock().await.insert(name, Instant::now());
    }
    // Give the last ones time to arrive.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let all = {
            let seen = seen.lock().await;
            acked
                .lock()
                .await
                .keys()
                .all(|n| seen.keys().any(|s| s.ends_with(n.as_str()) || s == n))
        };
        if all || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    poll.await.context("the LIST poller")??;
    let (acked, seen) = (acked.lock().await, seen.lock().await);
    // The user's own mailboxes are listed as INBOX.lagN.
    let by_suffix: HashMap<&str, Instant> = seen
        .iter()
        .filter_map(|(n, t)| n.rsplit('.').next().map(|s| (s, *t)))
        .collect();
    let mut lags = Vec::new();
    let mut missing = 0;
    for (name, at) in acked.iter() {
        let suffix = name.rsplit('.').next().unwrap_or(name);
        match by_suffix.get(suffix) {
            Some(t) => lags.push(t.saturating_duration_since(*at).as_micros() as u64),
            None => missing += 1,
        }
    }
    lags.sort_unstable();
    println!(
        "{}",
        serde_json::json!({
            "measure": "directory-watch-lag",
            "rate_per_second": args.lag_rate,
            "records": total,
            "missing": missing,
            "p50_us": percentile(&lags, 50.0),
            "p99_us": percentile(&lags, 99.0),
            "max_us": lags.last().copied().unwrap_or(0),
        })
    );
    Ok(())
}
