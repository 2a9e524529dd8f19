//! `idle`: opens `--connections` connections (spread over the users), each logs in, SELECTs
//! INBOX and IDLEs (RFC 2177). Then:
//! - server memory per idle connection = (tree PSS after − before) / connections, also RSS and
//!   the second half's cost alone (PSS after all − PSS at half, per connection), which leaves out
//!   one-time growth (needs `--server-pid`);
//! - `--deliveries` messages are delivered over LMTP one after the other, each to one idling
//!   user; `deliver-to-exists` is the time from the LMTP 250 to the first `* n EXISTS` seen by an
//!   idling connection of that user (0 when the EXISTS came first, as it does from a server that
//!   publishes the change when it commits), and `send-to-exists` the time from the start of the
//!   LMTP transaction (MAIL FROM) to that EXISTS, which includes storing the message.
//!
//! Checked: every connection comes up; every idling connection of a user that got mail sees an
//! EXISTS (`missed-exists` otherwise).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Semaphore};

use super::lmtp::rcpt;
use super::{join_all, params, record_client_error, Outcome, Settings};
use crate::client::imap::{ClientError, ImapClient};
use crate::client::lmtp::{LmtpClient, Outcome as Delivery};
use crate::client::parse::Untagged;
use crate::procmon;
use crate::stats::Recorder;
use crate::{corpus, stats};

pub struct IdleArgs {
    pub connections: u32,
    pub deliveries: u32,
    pub settle: Duration,
    /// Connections being set up at the same time.
    pub parallel_setup: u32,
}

struct Notice {
    conn: u32,
    at: Instant,
}

struct Channels {
    ready: mpsc::UnboundedSender<bool>,
    notices: mpsc::UnboundedSender<Notice>,
    stop: watch::Receiver<bool>,
    setup: Arc<Semaphore>,
}

pub async fn run(s: &Settings, args: &IdleArgs) -> Outcome {
    let users = s.users.min(args.connections).max(1);
    let before = s.server_pid.map(procmon::memory);
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let (notice_tx, mut notice_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let setup = Arc::new(Semaphore::new(args.parallel_setup.max(1) as usize));
    let start = Instant::now();
    let tasks: Vec<_> = (0..args.connections)
        .map(|i| {
            let ch = Channels {
                ready: ready_tx.clone(),
                notices: notice_tx.clone(),
                stop: stop_rx.clone(),
                setup: setup.clone(),
            };
            let s = s.clone();
            tokio::spawn(async move { idle_connection(&s, i, users, ch).await })
        })
        .collect();
    let mut rec = Recorder::default();
    let (mut up, mut mid) = (0u32, None);
    for n in 0..args.connections {
        up += u32::from(ready_rx.recv().await.unwrap_or(false));
        if n + 1 == args.connections / 2 {
            mid = s.server_pid.map(|pid| (up, procmon::memory(pid)));
        }
        if n % 50 == 49 && !setup.is_closed() && over_limit(s) {
            setup.close(); // connections not yet set up give up
            let limit = s.max_server_pss_kb / 1024;
            let detail = format!("server PSS above {limit} MiB after {up} connections");
            rec.error("setup", "memory-limit", detail);
        }
    }
    let open_seconds = start.elapsed().as_secs_f64();
    tokio::time::sleep(args.settle).await;
    let after = s.server_pid.map(procmon::memory);
    let mut metrics = BTreeMap::new();
    metrics.insert("idle_connections".into(), f64::from(up));
    metrics.insert("open_seconds".into(), open_seconds);
    if let (Some(b), Some(a)) = (before, after) {
        let per = |x: u64, y: u64| (y as f64 - x as f64) / f64::from(up.max(1));
        metrics.insert("server_pss_kb_per_conn".into(), per(b.pss_kb, a.pss_kb));
        metrics.insert("server_rss_kb_per_conn".into(), per(b.rss_kb, a.rss_kb));
        metrics.insert("server_processes".into(), a.processes as f64);
        // The second half's cost alone: one-time growth (allocator arenas, caches, hash
        // working memory retained after the first logins) is left out.
        if let Some((n, m)) = mid.filter(|(n, _)| *n < up) {
            let marginal = (a.pss_kb as f64 - m.pss_kb as f64) / f64::from(up - n);
            metrics.insert("server_pss_kb_per_conn_second_half".into(), marginal);
        }
    }
    deliveries(s, args, users, &mut notice_rx, &mut rec, &mut metrics).await;
    let _ = stop_tx.send(true);
    rec.merge(join_all(tasks).await);
    Outcome {
        recorder: rec,
        elapsed: start.elapsed(),
        metrics,
        params: params([
            ("connections", args.connections.to_string()),
            ("users", users.to_string()),
            ("deliveries", args.deliveries.to_string()),
            ("tls", format!("{:?}", s.imap.tls).to_lowercase()),
        ]),
    }
}

fn over_limit(s: &Settings) -> bool {
    s.server_pid
        .is_some_and(|pid| procmon::memory(pid).pss_kb > s.max_server_pss_kb)
}

async fn idle_connection(s: &Settings, i: u32, users: u32, mut ch: Channels) -> Recorder {
    let mut rec = Recorder::default();
    let Ok(permit) = ch.setup.acquire().await else {
        let _ = ch.ready.send(false); // stopped by the memory limit
        return rec;
    };
    let t = Instant::now();
    let setup = async {
        let mut c = s.login(&s.user(i % users + 1)).await?;
        let sel = c.command("SELECT INBOX").await?;
        if !sel.is_ok() {
            return Err(ClientError::Malformed(format!(
                "SELECT INBOX: {}",
                sel.text
            )));
        }
        let (tag, _) = c.idle_start().await?;
        Ok::<(ImapClient, String), ClientError>((c, tag))
    }
    .await;
    drop(permit);
    let (mut c, tag) = match setup {
        Ok(x) => x,
        Err(e) => {
            record_client_error(&mut rec, "setup", &e);
            let _ = ch.ready.send(false);
            return rec;
        }
    };
    rec.ok("setup", t.elapsed());
    let _ = ch.ready.send(true);
    loop {
        tokio::select! {
            r = c.idle_next() => match r {
                Ok(Untagged::Exists(_)) => {
                    let _ = ch.notices.send(Notice { conn: i, at: Instant::now() });
                }
                Ok(_) => {}
                Err(e) => {
                    record_client_error(&mut rec, "idle", &e);
                    return rec;
                }
            },
            _ = ch.stop.changed() => break,
        }
    }
    if let Ok(done) = c.idle_done(&tag).await {
        let _ = c.logout().await;
        if !done.is_ok() {
            rec.error("idle", "no", done.text);
        }
    }
    rec
}

async fn deliveries(
    s: &Settings,
    args: &IdleArgs,
    users: u32,
    notices: &mut mpsc::UnboundedReceiver<Notice>,
    rec: &mut Recorder,
    metrics: &mut BTreeMap<String, f64>,
) {
    if args.deliveries == 0 {
        return;
    }
    let mut lmtp = match LmtpClient::connect(&s.lmtp, s.timeout).await {
        Ok(c) => c,
        Err(e) => return record_client_error(rec, "deliver", &e),
    };
    let per_user = |u: u32| (0..args.connections).filter(|i| i % users == u).count();
    let (mut expected, mut got, mut lat, mut lat_start) = (0usize, 0usize, Vec::new(), Vec::new());
    for d in 0..args.deliveries {
        let u = d % users;
        let tag = corpus::delivery_tag(s.run_id, u64::from(d));
        let msg = corpus::with_unique_id(s.pool.get(u64::from(d)), &tag);
        while notices.try_recv().is_ok() {
            got += 1; // late EXISTS of the previous delivery's other connections
        }
        let t = Instant::now();
        match lmtp
            .deliver("bench@mail.test", &[rcpt(s, u + 1)], &msg)
            .await
        {
            Ok(Delivery::Delivered) => rec.ok("deliver", t.elapsed()),
            Ok(Delivery::Refused(r)) => {
                rec.error("deliver", "refused", format!("{} {}", r.code, r.text));
                continue;
            }
            Err(e) => return record_client_error(rec, "deliver", &e),
        }
        let acked = Instant::now();
        expected += per_user(u);
        got += await_exists(
            notices,
            users,
            u,
            (t, acked),
            rec,
            (&mut lat, &mut lat_start),
        )
        .await;
    }
    let _ = lmtp.quit().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    while let Ok(_n) = notices.try_recv() {
        got += 1;
    }
    if got < expected {
        let missed = format!(
            "{} of {expected} idling connections saw no EXISTS",
            expected - got
        );
        rec.error("deliver-to-exists", "missed-exists", missed);
    }
    lat.sort_unstable();
    metrics.insert(
        "exists_p99_ms".into(),
        stats::percentile(&lat, 99.0) as f64 / 1000.0,
    );
    lat_start.sort_unstable();
    metrics.insert(
        "exists_from_start_p99_ms".into(),
        stats::percentile(&lat_start, 99.0) as f64 / 1000.0,
    );
}

/// Waits (at most 10 s) for the first EXISTS seen by a connection of user `u` after the
/// delivery started at `times.0` and acknowledged at `times.1`; records both delays and returns
/// how many notices it consumed.
async fn await_exists(
    notices: &mut mpsc::UnboundedReceiver<Notice>,
    users: u32,
    u: u32,
    times: (Instant, Instant),
    rec: &mut Recorder,
    lats: (&mut Vec<u64>, &mut Vec<u64>),
) -> usize {
    let (started, acked) = times;
    let (lat, lat_start) = lats;
    let mut got = 0;
    let deadline = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            n = notices.recv() => match n {
                Some(n) if n.conn % users == u => {
                    let d = n.at.saturating_duration_since(acked);
                    rec.ok("deliver-to-exists", d);
                    lat.push(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
                    let d = n.at.saturating_duration_since(started);
                    rec.ok("send-to-exists", d);
                    lat_start.push(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
                    return got + 1;
                }
                Some(_) => got += 1,
                None => return got,
            },
            _ = &mut deadline => {
                let detail = format!("no EXISTS for user {} in 10 s", u + 1);
                rec.error("deliver-to-exists", "missed-exists", detail);
                return got;
            }
        }
    }
}
