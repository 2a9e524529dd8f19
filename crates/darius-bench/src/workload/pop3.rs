//! `pop3` and `pop3-idle`: the POP3 server under a mail-fetching load, and what an idle POP3
//! session costs it.
//!
//! `pop3`: `--clients` clients (50 by default), each the only POP3 client of its own user
//! (client `i` is user `i + 1`: POP3 locks the maildrop, RFC 1939 §8), run sessions in a loop:
//!
//! | per session | command |
//! |---|---|
//! | 1 | connect (the greeting), USER, PASS |
//! | 1 | STAT, LIST |
//! | up to `--per-session` (10) | RETR n, DELE n, oldest first |
//! | 1 | QUIT (the marked messages are expunged before its `+OK`) |
//!
//! meanwhile `--feeders` LMTP connections deliver one corpus message (about 20 KB on average)
//! for each message a QUIT removed, to the same user: the maildrops are refilled at the rate
//! they are drained. Before the timed phase every maildrop is emptied (DELE all, QUIT) and
//! filled with `--stock` messages (twice `--per-session` by default), so a session finds a full
//! batch while the next one is being delivered. A client whose maildrop holds fewer than
//! `--per-session` acknowledged deliveries waits for the feeders (the share of time spent so is
//! `feeder_wait_share`: near 0 when the feeders keep up, so the figures are POP3's).
//!
//! Checked: STAT counts at least the deliveries acknowledged (LMTP 250) and not yet expunged
//! when the session started; LIST lists as many messages as STAT with the same total size; every
//! RETR body has the size LIST gave (RFC 1939 counts octets as sent, CRLF line ends) and is one
//! of this run's deliveries; every step answers `+OK` (a refused PASS is counted by its RFC 2449
//! code: `in-use`, `login-delay`, `sys-temp`, `auth`, or `err`).
//!
//! `pop3-idle`: `--connections` connections (one user each) log in, STAT, and stay; the
//! server's memory per connection is (PSS after − PSS before) / connections, as `idle` measures
//! IMAP, with each maildrop holding `--messages` messages (the session's listing is part of
//! what it costs). Then every connection QUITs without deleting anything.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pop3_proto::{Command, RespCode, Response};
use tokio::sync::{mpsc, watch, Mutex, Notify, Semaphore};

use super::lmtp::rcpt;
use super::{join_all, params, record_client_error, Budget, Outcome, Settings};
use crate::client::imap::ClientError;
use crate::client::lmtp::{LmtpClient, Outcome as Delivery};
use crate::client::pop3::{parse_scan_listing, parse_stat, Pop3Client};
use crate::corpus;
use crate::procmon;
use crate::stats::Recorder;

/// The largest RETR body read (the corpus's messages are below 100 KB).
pub const MAX_MESSAGE: usize = 16 << 20;
/// The largest LIST listing read (about 400,000 messages).
pub const MAX_LISTING: usize = 8 << 20;
/// Tries of a refused login (`[IN-USE]` while the previous session's lock goes, `[SYS/TEMP]`)
/// during setup.
const SETUP_TRIES: u32 = 20;

#[derive(Clone, Copy)]
pub struct Pop3Args {
    pub per_session: u32,
    pub stock: u32,
    pub feeders: u32,
}

pub struct Pop3IdleArgs {
    pub connections: u32,
    pub messages: u32,
    pub settle: Duration,
    pub parallel_setup: u32,
}

/// Each client needs a maildrop of its own: POP3 sessions of one user exclude each other.
pub fn check_users(users: u32, clients: u32) -> Result<(), String> {
    if users < clients {
        return Err(format!(
            "--users {users} is below {clients} POP3 clients: each client needs a user of its own \
             (a POP3 session locks its maildrop)"
        ));
    }
    Ok(())
}

/// What is wrong with a maildrop as STAT and LIST showed it, given that it must hold at least
/// `expected` messages: `(kind, detail)` pairs.
pub fn check_maildrop(
    expected: i64,
    stat: (u32, u64),
    listing: &[u64],
) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let (count, size) = stat;
    if i64::from(count) < expected {
        problems.push((
            "missing",
            format!("STAT counts {count} messages, {expected} were delivered and not removed"),
        ));
    }
    if listing.len() != count as usize {
        problems.push((
            "wrong-count",
            format!("LIST lists {} messages, STAT {count}", listing.len()),
        ));
    }
    let total: u64 = listing.iter().sum();
    if total != size {
        problems.push((
            "wrong-size",
            format!("LIST sizes add up to {total}, STAT says {size}"),
        ));
    }
    problems
}

/// What is wrong with a RETR body: not the size LIST gave, or not one of the deliveries of the
/// run whose Message-ID mark is `mark`.
pub fn check_message(body: &[u8], listed: u64, mark: &[u8]) -> Option<(&'static str, String)> {
    if body.len() as u64 != listed {
        return Some((
            "wrong-size",
            format!("RETR sent {} octets, LIST said {listed}", body.len()),
        ));
    }
    if !mark.is_empty() && !body.windows(mark.len()).any(|w| w == mark) {
        return Some(("wrong-content", "not a message this run delivered".into()));
    }
    None
}

/// The Message-ID start of every delivery of run `run_id` (see `corpus::with_unique_id`).
pub fn run_mark(run_id: u128) -> Vec<u8> {
    format!("Message-ID: <{run_id:x}-").into_bytes()
}

/// The error kind of a refused login, by its RFC 2449/3206 code.
pub fn refusal_kind(r: &Response) -> &'static str {
    match r.code {
        Some(RespCode::InUse) => "in-use",
        Some(RespCode::LoginDelay) => "login-delay",
        Some(RespCode::SysTemp) => "sys-temp",
        Some(RespCode::SysPerm) => "sys-perm",
        Some(RespCode::Auth) => "auth",
        None => "err",
    }
}

/// One user's maildrop as the run knows it.
#[derive(Default)]
struct Maildrop {
    /// Deliveries acknowledged and not yet removed by a QUIT (briefly below the truth, even
    /// negative, when a session removed a message whose 250 the feeder had not yet read).
    stock: AtomicI64,
    /// Told after each delivery to this user.
    ready: Notify,
}

struct Shared {
    drops: Vec<Maildrop>,
    /// One user index (0-based) per message to deliver.
    owed: mpsc::UnboundedSender<u32>,
    /// Deliveries begun, over setup and the run: picks the corpus message and its tag.
    counter: AtomicU64,
    mark: Vec<u8>,
}

/// The feeders' side of `Shared::owed`.
type Owed = Arc<Mutex<mpsc::UnboundedReceiver<u32>>>;

pub async fn run(s: &Settings, args: Pop3Args) -> anyhow::Result<Outcome> {
    check_users(s.users, s.clients).map_err(anyhow::Error::msg)?;
    let per_session = args.per_session.max(1);
    let (owed_tx, owed_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        drops: (0..s.clients).map(|_| Maildrop::default()).collect(),
        owed: owed_tx,
        counter: AtomicU64::new(0),
        mark: run_mark(s.run_id),
    });
    let owed: Owed = Arc::new(Mutex::new(owed_rx));
    let mut rec = setup(s, &shared, &owed, s.clients, args.stock, args.feeders).await;

    let budget = Arc::new(Budget::new(s));
    let (stop_tx, stop_rx) = watch::channel(false);
    let start = Instant::now();
    let feeders: Vec<_> = (0..args.feeders.max(1))
        .map(|_| {
            let (s, shared, owed, stop) =
                (s.clone(), shared.clone(), owed.clone(), stop_rx.clone());
            tokio::spawn(async move { feeder(&s, &shared, &owed, stop).await })
        })
        .collect();
    let clients: Vec<_> = (0..s.clients)
        .map(|i| {
            let (s, budget, shared) = (s.clone(), budget.clone(), shared.clone());
            tokio::spawn(async move { client(&s, i, per_session, &budget, &shared).await })
        })
        .collect();
    let mut waited = Duration::ZERO;
    for c in clients {
        match c.await {
            Ok((r, w)) => {
                rec.merge(r);
                waited += w;
            }
            Err(e) => rec.error("client", "panic", e.to_string()),
        }
    }
    let elapsed = start.elapsed();
    let _ = stop_tx.send(true);
    rec.merge(join_all(feeders).await);

    let secs = elapsed.as_secs_f64().max(1e-9);
    let count = |op: &str| rec.ops.get(op).map_or(0, |o| o.latencies_us.len()) as f64;
    let sessions = count("session");
    let retrieved = count("retr");
    let bytes = rec.ops.get("retr").map_or(0, |o| o.bytes) as f64;
    let mut metrics = BTreeMap::new();
    metrics.insert("sessions".into(), sessions);
    metrics.insert("sessions_per_s".into(), sessions / secs);
    metrics.insert("messages_per_s".into(), retrieved / secs);
    metrics.insert("deliveries_per_s".into(), count("deliver") / secs);
    metrics.insert("message_kb_avg".into(), bytes / retrieved.max(1.0) / 1024.0);
    metrics.insert(
        "feeder_wait_share".into(),
        waited.as_secs_f64() / (secs * f64::from(s.clients)),
    );
    Ok(Outcome {
        recorder: rec,
        elapsed,
        metrics,
        params: params([
            ("clients", s.clients.to_string()),
            ("users", s.clients.to_string()),
            ("per_session", per_session.to_string()),
            ("stock", args.stock.to_string()),
            ("feeders", args.feeders.to_string()),
            ("tls", format!("{:?}", s.pop3.tls).to_lowercase()),
        ]),
    })
}

/// Empties the maildrops of users 1..=`users` and delivers `stock` messages to each. Only
/// errors are kept: setup is not what is measured.
async fn setup(
    s: &Settings,
    shared: &Arc<Shared>,
    owed: &Owed,
    users: u32,
    stock: u32,
    feeders: u32,
) -> Recorder {
    let gate = Arc::new(Semaphore::new(16));
    let drains: Vec<_> = (0..users)
        .map(|u| {
            let (s, gate) = (s.clone(), gate.clone());
            tokio::spawn(async move {
                let _permit = gate.acquire().await;
                let mut rec = Recorder::default();
                if let Err(e) = drain(&s, &s.user(u + 1)).await {
                    rec.error("setup", "drain", e);
                }
                rec
            })
        })
        .collect();
    let mut rec = join_all(drains).await;
    for u in 0..users {
        for _ in 0..stock {
            let _ = shared.owed.send(u);
        }
    }
    // The feeders deliver the stock; they stop once every maildrop has it (or at an error).
    let want = i64::from(stock);
    let (stop_tx, stop_rx) = watch::channel(false);
    let tasks: Vec<_> = (0..feeders.max(1))
        .map(|_| {
            let (s, shared, owed, stop) =
                (s.clone(), shared.clone(), owed.clone(), stop_rx.clone());
            tokio::spawn(async move { feeder(&s, &shared, &owed, stop).await })
        })
        .collect();
    let deadline = Instant::now() + s.timeout;
    while Instant::now() < deadline
        && shared
            .drops
            .iter()
            .take(users as usize)
            .any(|d| d.stock.load(Ordering::Relaxed) < want)
        && !tasks.iter().all(tokio::task::JoinHandle::is_finished)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let short = shared
        .drops
        .iter()
        .take(users as usize)
        .filter(|d| d.stock.load(Ordering::Relaxed) < want)
        .count();
    if short > 0 {
        let detail = format!("{short} maildrops short of {stock} messages when setup ended");
        rec.error("setup", "deliver", detail);
    }
    let _ = stop_tx.send(true);
    let fed = join_all(tasks).await;
    for (kind, n) in fed.errors {
        rec.error("setup", "deliver", format!("{n} deliveries failed: {kind}"));
    }
    rec.error_samples.extend(fed.error_samples);
    // Whatever was not delivered is not owed to the run.
    let mut rx = owed.lock().await;
    while rx.try_recv().is_ok() {}
    rec
}

/// Logs in as `user` (trying again while the server says the maildrop is in use or the
/// failure is temporary), marks every message deleted and QUITs.
async fn drain(s: &Settings, user: &str) -> Result<u32, String> {
    let mut tries = 0;
    let mut c = loop {
        let mut c = Pop3Client::connect(&s.pop3, s.timeout)
            .await
            .map_err(|e| format!("{user}: connect: {e}"))?;
        let r = c
            .login(user, &s.password)
            .await
            .map_err(|e| format!("{user}: login: {e}"))?;
        if r.ok {
            break c;
        }
        let temporary = matches!(
            r.code,
            Some(RespCode::InUse | RespCode::SysTemp | RespCode::LoginDelay)
        );
        tries += 1;
        if !temporary || tries == SETUP_TRIES {
            return Err(format!("{user}: login refused: {}", r.text));
        }
        tokio::time::sleep(Duration::from_millis(100 * u64::from(tries))).await;
    };
    let stat = c
        .command(&Command::Stat)
        .await
        .map_err(|e| format!("{user}: STAT: {e}"))?;
    let (n, _) = parse_stat(&stat.text).ok_or(format!("{user}: STAT answered {:?}", stat.text))?;
    for msg in 1..=n {
        let r = c
            .command(&Command::Dele { msg })
            .await
            .map_err(|e| format!("{user}: DELE: {e}"))?;
        if !r.ok {
            return Err(format!("{user}: DELE {msg}: {}", r.text));
        }
    }
    let r = c
        .command(&Command::Quit)
        .await
        .map_err(|e| format!("{user}: QUIT: {e}"))?;
    if !r.ok {
        return Err(format!("{user}: QUIT: {}", r.text));
    }
    Ok(n)
}

/// One LMTP connection delivering a message for each entry of `owed` until `stop`.
async fn feeder(
    s: &Settings,
    shared: &Shared,
    owed: &Owed,
    mut stop: watch::Receiver<bool>,
) -> Recorder {
    let mut rec = Recorder::default();
    let mut lmtp = match LmtpClient::connect(&s.lmtp, s.timeout).await {
        Ok(c) => c,
        Err(e) => {
            record_client_error(&mut rec, "deliver", &e);
            return rec;
        }
    };
    loop {
        let next = {
            let mut rx = owed.lock().await;
            tokio::select! {
                u = rx.recv() => u,
                _ = stop.changed() => None,
            }
        };
        let Some(u) = next else { break };
        let idx = shared.counter.fetch_add(1, Ordering::Relaxed);
        let msg = corpus::with_unique_id(s.pool.get(idx), &corpus::delivery_tag(s.run_id, idx));
        let t = Instant::now();
        match lmtp
            .deliver("bench@mail.test", &[rcpt(s, u + 1)], &msg)
            .await
        {
            Ok(Delivery::Delivered) => {
                rec.ok("deliver", t.elapsed());
                rec.bytes("deliver", msg.len());
                let d = &shared.drops[u as usize];
                d.stock.fetch_add(1, Ordering::Relaxed);
                d.ready.notify_one();
            }
            Ok(Delivery::Refused(r)) => {
                rec.error("deliver", "refused", format!("{} {}", r.code, r.text));
                let _ = shared.owed.send(u); // still owed
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => {
                record_client_error(&mut rec, "deliver", &e);
                let _ = shared.owed.send(u);
                return rec;
            }
        }
        if *stop.borrow() {
            break;
        }
    }
    let _ = lmtp.quit().await;
    rec
}

/// Client `i`: sessions as user `i + 1` until the budget runs out; returns its recorder and the
/// time it spent waiting for the feeders.
async fn client(
    s: &Settings,
    i: u32,
    per_session: u32,
    budget: &Budget,
    shared: &Shared,
) -> (Recorder, Duration) {
    let mut rec = Recorder::default();
    let mut waited = Duration::ZERO;
    let d = &shared.drops[i as usize];
    'run: while budget.take(1) {
        let t = Instant::now();
        while d.stock.load(Ordering::Relaxed) < i64::from(per_session) {
            let _ = tokio::time::timeout(Duration::from_millis(100), d.ready.notified()).await;
            if !budget.take(0) {
                waited += t.elapsed();
                break 'run;
            }
        }
        waited += t.elapsed();
        if let Err(e) = session(s, i, per_session, shared, &mut rec).await {
            record_client_error(&mut rec, "session", &e);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    (rec, waited)
}

/// Records `r` as `op`'s answer: its latency when `+OK`, else an error of kind `kind`.
fn judge(rec: &mut Recorder, op: &'static str, started: Instant, r: &Response) -> bool {
    if r.ok {
        rec.ok(op, started.elapsed());
    } else {
        rec.error(op, refusal_kind(r), r.text.clone());
    }
    r.ok
}

async fn session(
    s: &Settings,
    i: u32,
    per_session: u32,
    shared: &Shared,
    rec: &mut Recorder,
) -> Result<(), ClientError> {
    let d = &shared.drops[i as usize];
    let expected = d.stock.load(Ordering::Relaxed);
    let begin = Instant::now();
    let mut c = Pop3Client::connect(&s.pop3, s.timeout).await?;
    rec.ok("connect", begin.elapsed());
    let t = Instant::now();
    if !judge(rec, "user", t, &c.user(&s.user(i + 1)).await?) {
        return Ok(());
    }
    let t = Instant::now();
    if !judge(rec, "pass", t, &c.pass(&s.password).await?) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        return Ok(());
    }
    let t = Instant::now();
    let r = c.command(&Command::Stat).await?;
    if !judge(rec, "stat", t, &r) {
        return Ok(());
    }
    let stat = parse_stat(&r.text)
        .ok_or_else(|| ClientError::Malformed(format!("STAT answered {:?}", r.text)))?;
    let t = Instant::now();
    let (r, body) = c.multi(&Command::List { msg: None }, MAX_LISTING).await?;
    if !judge(rec, "list", t, &r) {
        return Ok(());
    }
    let listing = parse_scan_listing(&body.unwrap_or_default())
        .ok_or_else(|| ClientError::Malformed("LIST: not a scan listing".into()))?;
    for (kind, detail) in check_maildrop(expected, stat, &listing) {
        rec.error("list", kind, detail);
    }
    let mut deleted = 0;
    for (msg, &size) in (1..=per_session).zip(&listing) {
        let t = Instant::now();
        let (r, body) = c.multi(&Command::Retr { msg }, MAX_MESSAGE).await?;
        if !judge(rec, "retr", t, &r) {
            continue;
        }
        let body = body.unwrap_or_default();
        rec.bytes("retr", body.len());
        if let Some((kind, detail)) = check_message(&body, size, &shared.mark) {
            rec.error("retr", kind, format!("message {msg}: {detail}"));
        }
        let t = Instant::now();
        if judge(rec, "dele", t, &c.command(&Command::Dele { msg }).await?) {
            deleted += 1;
        }
    }
    let t = Instant::now();
    if judge(rec, "quit", t, &c.command(&Command::Quit).await?) {
        d.stock.fetch_sub(i64::from(deleted), Ordering::Relaxed);
        for _ in 0..deleted {
            let _ = shared.owed.send(i);
        }
        rec.ok("session", begin.elapsed());
    }
    Ok(())
}

/// `pop3-idle`: see the module documentation.
pub async fn run_idle(s: &Settings, args: &Pop3IdleArgs) -> anyhow::Result<Outcome> {
    let n = args.connections.max(1);
    check_users(s.users, n).map_err(anyhow::Error::msg)?;
    let (owed_tx, owed_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        drops: (0..n).map(|_| Maildrop::default()).collect(),
        owed: owed_tx,
        counter: AtomicU64::new(0),
        mark: run_mark(s.run_id),
    });
    let owed: Owed = Arc::new(Mutex::new(owed_rx));
    let mut rec = setup(s, &shared, &owed, n, args.messages, 4).await;

    let before = s.server_pid.map(procmon::memory);
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(args.parallel_setup.max(1) as usize));
    let start = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (s, gate, ready, stop) =
                (s.clone(), gate.clone(), ready_tx.clone(), stop_rx.clone());
            let messages = args.messages;
            tokio::spawn(async move { idle_connection(&s, i, messages, &gate, ready, stop).await })
        })
        .collect();
    drop(ready_tx);
    let (mut up, mut mid) = (0u32, None);
    for k in 0..n {
        up += u32::from(ready_rx.recv().await.unwrap_or(false));
        if k + 1 == n / 2 {
            mid = s.server_pid.map(|pid| (up, procmon::memory(pid)));
        }
    }
    let open_seconds = start.elapsed().as_secs_f64();
    tokio::time::sleep(args.settle).await;
    let after = s.server_pid.map(procmon::memory);
    let _ = stop_tx.send(true);
    rec.merge(join_all(tasks).await);

    let mut metrics = BTreeMap::new();
    metrics.insert("idle_connections".into(), f64::from(up));
    metrics.insert("open_seconds".into(), open_seconds);
    if let (Some(b), Some(a)) = (before, after) {
        let per = |x: u64, y: u64| (y as f64 - x as f64) / f64::from(up.max(1));
        metrics.insert("server_pss_kb_per_conn".into(), per(b.pss_kb, a.pss_kb));
        metrics.insert("server_rss_kb_per_conn".into(), per(b.rss_kb, a.rss_kb));
        metrics.insert("server_processes".into(), a.processes as f64);
        if let Some((k, m)) = mid.filter(|(k, _)| *k < up) {
            let marginal = (a.pss_kb as f64 - m.pss_kb as f64) / f64::from(up - k);
            metrics.insert("server_pss_kb_per_conn_second_half".into(), marginal);
        }
    }
    Ok(Outcome {
        recorder: rec,
        elapsed: start.elapsed(),
        metrics,
        params: params([
            ("connections", n.to_string()),
            ("users", n.to_string()),
            ("messages", args.messages.to_string()),
            ("tls", format!("{:?}", s.pop3.tls).to_lowercase()),
        ]),
    })
}

/// One idle session of user `i + 1`: logs in, checks STAT, says it is up, waits for `stop`,
/// QUITs.
async fn idle_connection(
    s: &Settings,
    i: u32,
    messages: u32,
    gate: &Semaphore,
    ready: mpsc::UnboundedSender<bool>,
    mut stop: watch::Receiver<bool>,
) -> Recorder {
    let mut rec = Recorder::default();
    let t = Instant::now();
    let up = async {
        let _permit = gate.acquire().await;
        let mut c = Pop3Client::connect(&s.pop3, s.timeout).await?;
        let r = c.login(&s.user(i + 1), &s.password).await?;
        if !r.ok {
            return Err(ClientError::Malformed(format!(
                "login refused ({}): {}",
                refusal_kind(&r),
                r.text
            )));
        }
        let r = c.command(&Command::Stat).await?;
        match parse_stat(&r.text) {
            Some((n, _)) if r.ok && n == messages => Ok(c),
            _ => Err(ClientError::Malformed(format!(
                "STAT answered {:?}, expected {messages} messages",
                r.text
            ))),
        }
    }
    .await;
    let mut c = match up {
        Ok(c) => c,
        Err(e) => {
            record_client_error(&mut rec, "setup", &e);
            let _ = ready.send(false);
            return rec;
        }
    };
    rec.ok("setup", t.elapsed());
    let _ = ready.send(true);
    let _ = stop.changed().await;
    let t = Instant::now();
    match c.command(&Command::Quit).await {
        Ok(r) => {
            judge(&mut rec, "quit", t, &r);
        }
        Err(e) => record_client_error(&mut rec, "quit", &e),
    }
    rec
}

#[cfg(test)]
#[path = "pop3_tests.rs"]
mod tests;
