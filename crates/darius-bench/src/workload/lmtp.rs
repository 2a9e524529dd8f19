//! `lmtp`: deliveries over `--clients` parallel LMTP connections (LHLO once per connection, then
//! MAIL / RCPT / DATA per message). Recipients rotate over the users (`--rcpts` per message).
//!
//! With `--sieve FILE` every user gets FILE as their active Sieve script over ManageSieve before
//! the timed phase, and loses it after (see [`super::sieve`]); setup and teardown are not timed.
//!
//! Checked: every step answers 2xx/3xx and every accepted recipient gets a 2xx after the data.
//! Whether the server syncs to disk before its 250 is the server's setting, not the workload's;
//! `docs/benchmarks.md` says what each server did.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::{join_all, params, record_client_error, Budget, Outcome, Settings};
use crate::client::lmtp::{LmtpClient, Outcome as Delivery};
use crate::corpus;
use crate::stats::Recorder;

pub struct LmtpArgs {
    pub rcpts: u32,
    /// The Sieve script every user has active during the run.
    pub sieve: Option<super::sieve::SieveArgs>,
}

pub async fn run(s: &Settings, args: &LmtpArgs) -> anyhow::Result<Outcome> {
    let mut metrics = std::collections::BTreeMap::new();
    if let Some(sieve) = &args.sieve {
        let took = super::sieve::install(s, sieve).await?;
        metrics.insert("sieve_setup_seconds".to_owned(), took.as_secs_f64());
    }
    let budget = Arc::new(Budget::new(s));
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks = (0..s.clients)
        .map(|_| {
            let (s, budget, counter) = (s.clone(), budget.clone(), counter.clone());
            let rcpts = args.rcpts;
            tokio::spawn(async move { client(&s, rcpts, &budget, &counter).await })
        })
        .collect();
    let recorder = join_all(tasks).await;
    let elapsed = start.elapsed();
    let mut params = params([
        ("connections", s.clients.to_string()),
        ("users", s.users.to_string()),
        ("rcpts_per_message", args.rcpts.to_string()),
    ]);
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
    if s.lmtp_domain.is_empty() {
        s.user(n)
    } else {
        format!("{}@{}", s.user(n), s.lmtp_domain)
    }
}

/// One connection delivering until the budget runs out; `counter` counts deliveries begun over
/// all connections (it also picks the recipients and the message).
pub(super) async fn client(
    s: &Settings,
    rcpts: u32,
    budget: &Budget,
    counter: &AtomicU64,
) -> Recorder {
    let mut rec = Recorder::default();
    let mut c = match LmtpClient::connect(&s.lmtp, s.timeout).await {
        Ok(c) => c,
        Err(e) => {
            record_client_error(&mut rec, "connect", &e);
            return rec;
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
                rec.ok("deliver", t.elapsed());
                rec.bytes("deliver", msg.len());
            }
            Ok(Delivery::Refused(r)) => {
                rec.error("deliver", "refused", format!("{} {}", r.code, r.text))
            }
            Err(e) => {
                record_client_error(&mut rec, "deliver", &e);
                return rec;
            }
        }
    }
    let _ = c.quit().await;
    rec
}
