//! Matching notifications to deliveries, without I/O: for every message the `lmtp` workload
//! delivered (its Message-ID, when its last LMTP reply came, how many notifications it should
//! raise), the notifications that named it, and from both the figures of the report.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use crate::stats::percentile;

/// Arrival times kept per Message-ID; later arrivals are only counted (a server that repeats
/// a notification without end must not fill the memory).
pub const MAX_TIMES: usize = 16;

/// The notifications received for one Message-ID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arrivals {
    /// How many named it.
    pub count: u64,
    /// When the first [`MAX_TIMES`] of them arrived.
    pub times: Vec<Instant>,
}

impl Arrivals {
    /// Counts one more notification, arrived `at`.
    pub fn add(&mut self, at: Instant) {
        self.count += 1;
        if self.times.len() < MAX_TIMES {
            self.times.push(at);
        }
    }
}

/// One message the workload delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// As [`super::event::normalize`] writes it.
    pub message_id: String,
    /// When the reply to the data for the last recipient arrived.
    pub replied: Instant,
    /// Notifications it should raise: one per distinct recipient (one MessageNew per mailbox
    /// the message was stored in).
    pub notifications: u32,
}

/// Deliveries and notifications side by side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Joined {
    /// Notifications the deliveries should have raised.
    pub expected: u64,
    /// Of those, how many came (at most the expected number per message).
    pub received: u64,
    /// Expected and not received.
    pub missing: u64,
    /// Received beyond the expected number for a delivered message.
    pub duplicates: u64,
    /// Received for a Message-ID this run did not deliver (or not successfully).
    pub unexpected: u64,
    /// Received before the delivery's last LMTP reply (their latency counts as 0).
    pub early: u64,
    /// Delivery-to-notification latencies of the received ones, in microseconds, ascending.
    pub latencies_us: Vec<u64>,
}

/// Joins `delivered` with what the receiver recorded. A Message-ID delivered twice counts
/// both deliveries' notifications, timed from its earliest reply.
pub fn join(delivered: &[Delivered], arrivals: &HashMap<String, Arrivals>) -> Joined {
    let mut by_id: HashMap<&str, (u64, Instant)> = HashMap::with_capacity(delivered.len());
    for d in delivered {
        let e = by_id.entry(d.message_id.as_str()).or_insert((0, d.replied));
        e.0 += u64::from(d.notifications);
        e.1 = e.1.min(d.replied);
    }
    let mut out = Joined::default();
    for (id, &(expected, replied)) in &by_id {
        out.expected += expected;
        let Some(a) = arrivals.get(*id) else {
            out.missing += expected;
            continue;
        };
        let matched = a.count.min(expected);
        out.received += matched;
        out.missing += expected - matched;
        out.duplicates += a.count - matched;
        let mut times = a.times.clone();
        times.sort_unstable();
        for t in times
            .iter()
            .take(usize::try_from(matched).unwrap_or(usize::MAX))
        {
            let us = match t.checked_duration_since(replied) {
                Some(d) => u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
                None => {
                    out.early += 1;
                    0
                }
            };
            out.latencies_us.push(us);
        }
    }
    out.unexpected = arrivals
        .iter()
        .filter(|(id, _)| !by_id.contains_key(id.as_str()))
        .map(|(_, a)| a.count)
        .sum();
    out.latencies_us.sort_unstable();
    out
}

impl Joined {
    /// The figures under their report names (`webhook_*`; latencies in milliseconds).
    pub fn metrics(&self, m: &mut BTreeMap<String, f64>) {
        let lat = &self.latencies_us;
        let ms = |us: u64| us as f64 / 1000.0;
        for (name, v) in [
            ("webhook_expected", self.expected as f64),
            ("webhook_received", self.received as f64),
            ("webhook_missing", self.missing as f64),
            ("webhook_duplicates", self.duplicates as f64),
            ("webhook_unexpected", self.unexpected as f64),
            ("webhook_early", self.early as f64),
            ("webhook_latency_p50_ms", ms(percentile(lat, 50.0))),
            ("webhook_latency_p90_ms", ms(percentile(lat, 90.0))),
            ("webhook_latency_p99_ms", ms(percentile(lat, 99.0))),
            (
                "webhook_latency_max_ms",
                ms(lat.last().copied().unwrap_or(0)),
            ),
        ] {
            m.insert(name.to_owned(), v);
        }
    }
}
