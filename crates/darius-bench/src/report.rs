//! The result of one run: throughput and latency percentiles per operation kind, errors, the
//! server's CPU and peak memory, and workload-specific metrics — as a text table and as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::procmon::ServerUsage;
use crate::stats::{percentile, Recorder};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpReport {
    pub op: String,
    pub count: u64,
    pub errors: u64,
    pub ops_per_s: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerReport {
    pub pid: u32,
    pub cpu_seconds: f64,
    pub peak_rss_kb: u64,
    pub peak_pss_kb: u64,
    pub peak_processes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub workload: String,
    /// Who was measured (`darius`, `dovecot`, `cyrus`, or the address).
    pub label: String,
    pub target: String,
    pub params: BTreeMap<String, String>,
    pub elapsed_s: f64,
    /// Operations of every kind together.
    pub total: OpReport,
    pub ops: Vec<OpReport>,
    pub errors: BTreeMap<String, u64>,
    pub error_samples: Vec<String>,
    pub server: Option<ServerReport>,
    /// Workload-specific figures (`idle`: memory per connection, delivery-to-EXISTS latency…).
    pub metrics: BTreeMap<String, f64>,
}

/// What was run against whom.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub workload: String,
    pub label: String,
    pub target: String,
    pub params: BTreeMap<String, String>,
}

fn op_report(op: &str, lat: &mut [u64], errors: u64, bytes: u64, elapsed_s: f64) -> OpReport {
    lat.sort_unstable();
    let ms = |us: u64| us as f64 / 1000.0;
    OpReport {
        op: op.to_owned(),
        count: lat.len() as u64,
        errors,
        ops_per_s: if elapsed_s > 0.0 {
            lat.len() as f64 / elapsed_s
        } else {
            0.0
        },
        p50_ms: ms(percentile(lat, 50.0)),
        p95_ms: ms(percentile(lat, 95.0)),
        p99_ms: ms(percentile(lat, 99.0)),
        max_ms: ms(lat.last().copied().unwrap_or(0)),
        bytes,
    }
}

impl Report {
    pub fn build(
        run: RunInfo,
        elapsed_s: f64,
        rec: Recorder,
        server: Option<ServerUsage>,
        metrics: BTreeMap<String, f64>,
    ) -> Self {
        let mut all = Vec::new();
        let mut ops = Vec::new();
        let (mut errs, mut bytes) = (0, 0);
        for (op, mut s) in rec.ops {
            all.extend_from_slice(&s.latencies_us);
            errs += s.errors;
            bytes += s.bytes;
            ops.push(op_report(
                op,
                &mut s.latencies_us,
                s.errors,
                s.bytes,
                elapsed_s,
            ));
        }
        Self {
            workload: run.workload,
            label: run.label,
            target: run.target,
            params: run.params,
            elapsed_s,
            total: op_report("total", &mut all, errs, bytes, elapsed_s),
            ops,
            errors: rec.errors,
            error_samples: rec.error_samples,
            server: server.map(|s| ServerReport {
                pid: s.pid,
                cpu_seconds: s.cpu_seconds,
                peak_rss_kb: s.peak_rss_kb,
                peak_pss_kb: s.peak_pss_kb,
                peak_processes: s.peak_processes,
            }),
            metrics,
        }
    }

    /// A plain-text table for humans.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "workload {} against {} ({}), {:.1} s",
            self.workload, self.label, self.target, self.elapsed_s
        );
        let _ = writeln!(
            out,
            "{:<16} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7}",
            "op", "count", "ops/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"
        );
        for r in self.ops.iter().chain(std::iter::once(&self.total)) {
            let _ = writeln!(
                out,
                "{:<16} {:>9} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>7}",
                r.op, r.count, r.ops_per_s, r.p50_ms, r.p95_ms, r.p99_ms, r.max_ms, r.errors
            );
        }
        if !self.errors.is_empty() {
            let kinds: Vec<String> = self
                .errors
                .iter()
                .map(|(k, n)| format!("{k}={n}"))
                .collect();
            let _ = writeln!(out, "errors: {}", kinds.join(" "));
            for s in &self.error_samples {
                let _ = writeln!(out, "  {s}");
            }
        }
        if let Some(s) = &self.server {
            let _ = writeln!(
                out,
                "server pid {}: cpu {:.2} s, peak PSS {} KiB, peak RSS {} KiB, up to {} processes",
                s.pid, s.cpu_seconds, s.peak_pss_kb, s.peak_rss_kb, s.peak_processes
            );
        }
        for (k, v) in &self.metrics {
            let _ = writeln!(out, "{k}: {v:.3}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample() -> Report {
        let mut rec = Recorder::default();
        for ms in 1..=100 {
            rec.ok("fetch", Duration::from_millis(ms));
        }
        rec.ok("append", Duration::from_millis(10));
        rec.bytes("append", 5000);
        rec.error("append", "no", "over quota");
        let mut metrics = BTreeMap::new();
        metrics.insert("idle_kb_per_conn".to_owned(), 12.5);
        let run = RunInfo {
            workload: "mixed".into(),
            label: "dovecot".into(),
            target: "127.0.0.1:10143".into(),
            params: BTreeMap::new(),
        };
        Report::build(run, 2.0, rec, None, metrics)
    }

    #[test]
    fn per_op_and_total_figures() {
        let r = sample();
        let fetch = r.ops.iter().find(|o| o.op == "fetch").unwrap();
        assert_eq!(fetch.count, 100);
        assert_eq!(fetch.ops_per_s, 50.0);
        assert_eq!(fetch.p50_ms, 50.0);
        assert_eq!(fetch.p95_ms, 95.0);
        assert_eq!(fetch.p99_ms, 99.0);
        assert_eq!(fetch.max_ms, 100.0);
        assert_eq!(r.total.count, 101);
        assert_eq!(r.total.errors, 1);
        assert_eq!(r.total.bytes, 5000);
        assert_eq!(r.errors["no"], 1);
    }

    #[test]
    fn json_round_trip_keeps_everything() {
        let r = sample();
        let json = serde_json::to_string_pretty(&r).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["total"]["count"], 101);
        assert_eq!(v["metrics"]["idle_kb_per_conn"], 12.5);
        assert_eq!(v["ops"][0]["op"], "append");
    }

    #[test]
    fn table_lists_ops_errors_and_metrics() {
        let t = sample().table();
        assert!(t.contains("fetch"));
        assert!(t.contains("total"));
        assert!(t.contains("errors: no=1"));
        assert!(t.contains("append: no: over quota"));
        assert!(t.contains("idle_kb_per_conn: 12.500"));
    }
}
