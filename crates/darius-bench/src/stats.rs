//! Per-client measurement: latency samples per operation kind and errors per kind. Each client
//! task owns a [`Recorder`] (no locking on the hot path); the run merges them at the end.

use std::collections::BTreeMap;
use std::time::Duration;

/// At most this many error descriptions are kept per recorder, to show in the report, and at
/// most `PER_KIND` of each kind so a rare kind is not hidden by a frequent one.
const MAX_SAMPLES: usize = 20;
const PER_KIND: u64 = 3;

#[derive(Debug, Default, Clone)]
pub struct OpSamples {
    /// Latencies of successful operations, in microseconds.
    pub latencies_us: Vec<u64>,
    pub errors: u64,
    /// Payload bytes moved by this operation kind (APPEND / body FETCH / DATA).
    pub bytes: u64,
}

#[derive(Debug, Default, Clone)]
pub struct Recorder {
    pub ops: BTreeMap<&'static str, OpSamples>,
    /// Error counts by kind (`bad`, `no`, `malformed`, `wrong-uid`, `missing`, …).
    pub errors: BTreeMap<String, u64>,
    pub error_samples: Vec<String>,
}

impl Recorder {
    pub fn ok(&mut self, op: &'static str, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.ops.entry(op).or_default().latencies_us.push(us);
    }

    pub fn bytes(&mut self, op: &'static str, n: usize) {
        self.ops.entry(op).or_default().bytes += n as u64;
    }

    /// Counts an error against `op` of kind `kind`, keeping the first few descriptions.
    pub fn error(&mut self, op: &'static str, kind: &str, detail: impl Into<String>) {
        self.ops.entry(op).or_default().errors += 1;
        let n = self.errors.entry(kind.to_owned()).or_default();
        *n += 1;
        if *n <= PER_KIND && self.error_samples.len() < MAX_SAMPLES {
            self.error_samples
                .push(format!("{op}: {kind}: {}", detail.into()));
        }
    }

    pub fn merge(&mut self, other: Recorder) {
        for (op, s) in other.ops {
            let mine = self.ops.entry(op).or_default();
            mine.latencies_us.extend(s.latencies_us);
            mine.errors += s.errors;
            mine.bytes += s.bytes;
        }
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
        let room = MAX_SAMPLES.saturating_sub(self.error_samples.len());
        self.error_samples
            .extend(other.error_samples.into_iter().take(room));
    }
}

/// Nearest-rank percentile (`p` in 0..=100) of an ascending-sorted slice; 0 when empty.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 95.0), 95);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&v, 0.0), 1);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn merge_adds_counts_and_keeps_samples_bounded() {
        let mut a = Recorder::default();
        a.ok("fetch", Duration::from_millis(2));
        let mut b = Recorder::default();
        b.ok("fetch", Duration::from_millis(3));
        for i in 0..30 {
            b.error("store", "bad", format!("#{i}"));
        }
        for k in 0..30 {
            b.error("store", &format!("kind{k}"), "x");
        }
        a.merge(b);
        assert_eq!(a.ops["fetch"].latencies_us, vec![2000, 3000]);
        assert_eq!(a.ops["store"].errors, 60);
        assert_eq!(a.errors["bad"], 30);
        assert_eq!(a.error_samples.len(), MAX_SAMPLES);
    }
}
