//! `lmtp`: deliveries over `--clients` parallel LMTP connections (LHLO once per connection, then
//! MAIL / RCPT / DATA per message). Recipients rotate over the users (`--rcpts` per message).
//!
//! With `--sieve FILE` every user gets FILE as their active Sieve script over ManageSieve before
//! the timed phase, and loses it after (see [`super::sieve`]); setup and teardown are not timed.
//!
//! With `--webhook-listen ADDR` a webhook receiver ([`crate::webhook`]) listens on ADDR before
//! the clock starts; each message delivered is remembered with its Message-ID (unique per
//! delivery, see [`corpus::with_unique_id`]) and when its last reply came. After the timed
//! phase (whose figures the wait does not change) the run waits up to `--webhook-grace` for
//! the notifications still owed, then reports received / expected, missing, duplicates and
//! the delivery-to-notification latency (`webhook_*` metrics).
//!
//! Checked: every step answers 2xx/3xx and every accepted recipient gets a 2xx after the data.
//! Whether the server syncs to disk before its 250 is the server's setting, not the workload's;
//! `docs/benchmarks.md` says what each server did.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{params, record_client_error, Budget, Outcome, Settings};
use crate::client::lmtp::{LmtpClient, Outcome as Delivery};
use crate::corpus;
use crate::stats::Recorder;
use crate::webhook::{self, event, Delivered};

pub struct LmtpArgs {
    pub rcpts: u32,
    /// The Sieve script every user has active during the run.
    pub sieve: Option<super::sieve::SieveArgs>,
    /// The webhook receiver to run alongside.
    pub webhook: Option<WebhookArgs>,
}

/// `--webhook-listen` and `--webhook-grace`.
pub struct WebhookArgs {
    /// Where the receiver listens (`127.0.0.1:8080`).
    pub listen: String,
    /// How long to wait after the last delivery for notifications still owed.
    pub grace: Duration,
}

/// Whether a connection remembers what it delivered for the webhook join.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Tracking {
    /// Nothing is remembered (no receiver runs).
    Off,
    /// Every delivered message is remembered as a [`Delivered`].
    Deliveries,
}

pub async fn run(s: &Settings, args: &LmtpArgs) -> anyhow::Result<Outcome> {
    let mut metrics = std::collections::BTreeMap::new();
    if let Some(sieve) = &args.sieve {
        let took = super::sieve::install(s, sieve).await?;
        metrics.insert("sieve_setup_seconds".to_owned(), took.as_secs_f64());
    }
    let receiver = match &args.webhook {
        Some(w) => Some(
            webhook::Receiver::start(&w.listen)
                .await
                .map_err(|e| anyhow::anyhow!("webhook receiver on {}: {e}", w.listen))?,
        ),
        None => None,
    };
    let tracking = if receiver.is_some() {
        Tracking::Deliveries
    } else {
        Tracking::Off
    };
    let budget = Arc::new(Budget::new(s));
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks = (0..s.clients)
        .map(|_| {
            let (s, budget, counter) = (s.clone(), budget.clone(), counter.clone());
            let rcpts = args.rcpts;
            tokio::spawn(
                async move { client_tracking(&s, rcpts, &budget, &counter, tracking).await },
            )
        })
        .collect();
    let (recorder, delivered) = join_tracked(tasks).await;
    let elapsed = start.elapsed();
    let mut params = params([
        ("connections", s.clients.to_string()),
        ("users", s.users.to_string()),
        ("rcpts_per_message", args.rcpts.to_string()),
    ]);
    if let (Some(receiver), Some(w)) = (receiver, &args.webhook) {
        params.insert(
            "webhook_listen".to_owned(),
            receiver.local_addr().to_string(),
        );
        params.insert(
            "webhook_grace_s".to_owned(),
            w.grace.as_secs_f64().to_string(),
        );
        receiver.finish(&delivered, w.grace, &mut metrics).await;
    }
    if let Some(sieve) = &args.sieve {
        super::sieve::remove(s, sieve).await?;
        params.insert("sieve_script".to_owned(), sieve.source.clone());
        params.insert(
            "sieve_script_bytes".to_owned(),
            sieve.script.len().to_string(),
        );
    }
    Ok(Outcome {
        recorder,
        elapsed,
        metrics,
        params,
    })
}

/// The LMTP recipient address of user `n`.
pub fn rcpt(s: &Settings, n: u32) -> String {
    s.names.rcpt(n)
}

/// Waits for the connections and merges their recorders and deliveries; a panicked task
/// counts as an error.
async fn join_tracked(
    tasks: Vec<tokio::task::JoinHandle<(Recorder, Vec<Delivered>)>>,
) -> (Recorder, Vec<Delivered>) {
    let mut all = Recorder::default();
    let mut delivered = Vec::new();
    for t in tasks {
        match t.await {
            Ok((r, d)) => {
                all.merge(r);
                delivered.extend(d);
            }
            Err(e) => all.error("client", "panic", e.to_string()),
        }
    }
    (all, delivered)
}

/// One connection delivering until the budget runs out; `counter` counts deliveries begun over
/// all connections (it also picks the recipients and the message).
pub(super) async fn client(
    s: &Settings,
    rcpts: u32,
    budget: &Budget,
    counter: &AtomicU64,
) -> Recorder {
    client_tracking(s, rcpts, budget, counter, Tracking::Off)
        .await
        .0
}

/// [`client`], also answering, with [`Tracking::Deliveries`], every message delivered: its
/// Message-ID, when its last reply came, and how many recipients (distinct) it had.
async fn client_tracking(
    s: &Settings,
    rcpts: u32,
    budget: &Budget,
    counter: &AtomicU64,
    tracking: Tracking,
) -> (Recorder, Vec<Delivered>) {
    let mut rec = Recorder::default();
    let mut delivered = Vec::new();
    let mut c = match LmtpClient::connect(&s.lmtp, s.timeout).await {
        Ok(c) => c,
        Err(e) => {
            record_client_error(&mut rec, "connect", &e);
            return (rec, delivered);
        }
    };
    let users = u64::from(s.users.max(1));
    while budget.take(1) {
        let idx = counter.fetch_add(1, Ordering::Relaxed);
        let to: Vec<String> = (0..u64::from(rcpts.max(1)))
            .map(|k| rcpt(s, ((idx * u64::from(rcpts.max(1)) + k) % users) as u32 + 1))
            .collect();
        let msg = corpus::with_unique_id(s.pool.get(idx), &corpus::delivery_tag(s.run_id, idx));
        let t = Instant::now();
        match c.deliver("bench@mail.test", &to, &msg).await {
            Ok(Delivery::Delivered) => {
                let replied = Instant::now();
                rec.ok("deliver", replied - t);
                rec.bytes("deliver", msg.len());
                if tracking == Tracking::Deliveries {
                    track(&mut rec, &mut delivered, &msg, &to, replied);
                }
            }
            Ok(Delivery::Refused(r)) => {
                rec.error("deliver", "refused", format!("{} {}", r.code, r.text))
            }
            Err(e) => {
                record_client_error(&mut rec, "deliver", &e);
                return (rec, delivered);
            }
        }
    }
    let _ = c.quit().await;
    (rec, delivered)
}

/// Remembers a delivered message for the webhook join. A message without a Message-ID (the
/// corpus always writes one) is an error of the workload, not of the server.
fn track(
    rec: &mut Recorder,
    delivered: &mut Vec<Delivered>,
    msg: &[u8],
    to: &[String],
    replied: Instant,
) {
    let Some(id) = corpus::message_id_of(msg) else {
        rec.error(
            "deliver",
            "no-message-id",
            "generated message without a Message-ID",
        );
        return;
    };
    let mut distinct: Vec<&String> = to.iter().collect();
    distinct.sort_unstable();
    distinct.dedup();
    delivered.push(Delivered {
        message_id: event::normalize(id),
        replied,
        notifications: u32::try_from(distinct.len()).unwrap_or(u32::MAX),
    });
}
