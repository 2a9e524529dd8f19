//! `soak`: a long LMTP delivery run (1,000,000 deliveries by default) while the server's memory
//! is sampled every second, to show whether it levels off. A server whose memory keeps growing
//! with deliveries (an unbounded cache, a leak) has a positive slope after the warm-up; one that
//! holds its working set has a flat line.
//!
//! Figures: RSS and PSS at the end of the warm-up (the first `--warmup` fraction of the
//! deliveries) and at the end, the highest RSS after the warm-up, and the least-squares slope of
//! RSS over deliveries after the warm-up, in KiB per 100,000 deliveries. `--series FILE` writes
//! every sample as CSV (`seconds,deliveries,rss_kb,pss_kb`) for a plot.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{join_all, params, Budget, Outcome, Settings};
use crate::procmon;

pub struct SoakArgs {
    pub deliveries: u64,
    pub rcpts: u32,
    /// Fraction of the deliveries that counts as warm-up.
    pub warmup: f64,
    pub series: Option<PathBuf>,
}

/// One memory sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub seconds: f64,
    pub deliveries: u64,
    pub rss_kb: u64,
    pub pss_kb: u64,
}

const SAMPLE_EVERY: Duration = Duration::from_secs(1);

pub async fn run(s: &Settings, args: &SoakArgs) -> anyhow::Result<Outcome> {
    let Some(pid) = s.server_pid else {
        anyhow::bail!("soak measures the server's memory: give --server-pid");
    };
    // The run is as long as the deliveries take; --duration does not cut it short.
    let mut settings = s.clone();
    settings.ops = Some(args.deliveries);
    settings.duration = Duration::from_secs(365 * 86_400);
    let budget = Arc::new(Budget::new(&settings));
    let counter = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (counter, done) = (counter.clone(), done.clone());
        std::thread::spawn(move || sample(pid, &counter, &done))
    };
    let start = Instant::now();
    let tasks = (0..settings.clients)
        .map(|_| {
            let (s, budget, counter) = (settings.clone(), budget.clone(), counter.clone());
            let rcpts = args.rcpts;
            tokio::spawn(async move { super::lmtp::client(&s, rcpts, &budget, &counter).await })
        })
        .collect();
    let recorder = join_all(tasks).await;
    let elapsed = start.elapsed();
    done.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap_or_default();
    if let Some(path) = &args.series {
        std::fs::write(path, csv(&samples))?;
    }
    Ok(Outcome {
        recorder,
        elapsed,
        metrics: analyse(&samples, args.warmup),
        params: params([
            ("connections", s.clients.to_string()),
            ("users", s.users.to_string()),
            ("rcpts_per_message", args.rcpts.to_string()),
            ("deliveries", args.deliveries.to_string()),
            ("warmup", args.warmup.to_string()),
        ]),
    })
}

/// Samples until `done`, on a plain thread so a busy runtime cannot delay it.
fn sample(pid: u32, counter: &AtomicU64, done: &AtomicBool) -> Vec<Sample> {
    let start = Instant::now();
    let mut out = Vec::new();
    loop {
        let m = procmon::memory(pid);
        out.push(Sample {
            seconds: start.elapsed().as_secs_f64(),
            deliveries: counter.load(Ordering::Relaxed),
            rss_kb: m.rss_kb,
            pss_kb: m.pss_kb,
        });
        if done.load(Ordering::Relaxed) || m.processes == 0 {
            return out;
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
}

fn csv(samples: &[Sample]) -> String {
    let mut text = String::from("seconds,deliveries,rss_kb,pss_kb\n");
    for s in samples {
        text.push_str(&format!(
            "{:.1},{},{},{}\n",
            s.seconds, s.deliveries, s.rss_kb, s.pss_kb
        ));
    }
    text
}

/// The figures of a soak run (see the module comment); empty without samples after warm-up.
pub fn analyse(samples: &[Sample], warmup: f64) -> std::collections::BTreeMap<String, f64> {
    let mut m = std::collections::BTreeMap::new();
    let Some(last) = samples.last() else {
        return m;
    };
    let warm_at = (last.deliveries as f64 * warmup.clamp(0.0, 0.95)) as u64;
    let after: Vec<&Sample> = samples.iter().filter(|s| s.deliveries >= warm_at).collect();
    let Some(first) = after.first() else {
        return m;
    };
    m.insert("rss_kb_after_warmup".into(), first.rss_kb as f64);
    m.insert("pss_kb_after_warmup".into(), first.pss_kb as f64);
    m.insert("rss_kb_end".into(), last.rss_kb as f64);
    m.insert("pss_kb_end".into(), last.pss_kb as f64);
    let max = after.iter().map(|s| s.rss_kb).max().unwrap_or(0);
    m.insert("rss_kb_max_after_warmup".into(), max as f64);
    m.insert("samples".into(), samples.len() as f64);
    if let Some(slope) = slope(&after) {
        m.insert("rss_kb_per_100k_deliveries".into(), slope * 100_000.0);
    }
    m
}

/// Least-squares slope of RSS (KiB) over deliveries; `None` without two distinct x values.
fn slope(samples: &[&Sample]) -> Option<f64> {
    let n = samples.len() as f64;
    let mean_x = samples.iter().map(|s| s.deliveries as f64).sum::<f64>() / n;
    let mean_y = samples.iter().map(|s| s.rss_kb as f64).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for s in samples {
        let dx = s.deliveries as f64 - mean_x;
        sxy += dx * (s.rss_kb as f64 - mean_y);
        sxx += dx * dx;
    }
    (sxx > 0.0).then(|| sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(rss: impl Fn(u64) -> u64) -> Vec<Sample> {
        (0..=100)
            .map(|i| Sample {
                seconds: i as f64,
                deliveries: i * 10_000,
                rss_kb: rss(i * 10_000),
                pss_kb: rss(i * 10_000),
            })
            .collect()
    }

    #[test]
    fn a_server_that_levels_off_has_a_flat_slope_after_warm_up() {
        // Grows for the first 100,000 deliveries, then holds 80 MB.
        let m = analyse(&series(|d| 40_000 + d.min(100_000) * 2 / 5), 0.2);
        assert_eq!(m["rss_kb_after_warmup"], 80_000.0);
        assert_eq!(m["rss_kb_max_after_warmup"], 80_000.0);
        assert!(m["rss_kb_per_100k_deliveries"].abs() < 1e-6);
    }

    #[test]
    fn a_leak_of_three_kilobytes_per_delivery_shows_in_the_slope() {
        let m = analyse(&series(|d| 55_000 + d * 3), 0.2);
        let slope = m["rss_kb_per_100k_deliveries"];
        assert!((slope - 300_000.0).abs() < 1.0, "{slope}");
        assert_eq!(m["rss_kb_end"], 55_000.0 + 3_000_000.0);
    }

    #[test]
    fn no_samples_no_figures() {
        assert!(analyse(&[], 0.2).is_empty());
    }

    #[test]
    fn csv_has_a_header_and_a_row_per_sample() {
        let text = csv(&series(|_| 1)[..2]);
        assert_eq!(
            text,
            "seconds,deliveries,rss_kb,pss_kb\n0.0,0,1,1\n1.0,10000,1,1\n"
        );
    }
}
