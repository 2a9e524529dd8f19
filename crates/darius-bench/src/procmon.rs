//! The server's resource use, read from `/proc`: CPU seconds (utime + stime of every process in
//! the tree, plus cutime + cstime for children already reaped) and memory (RSS and PSS summed over
//! the tree; PSS from `smaps_rollup` so shared pages of forked servers are not counted N times).
//!
//! The tree is the given PID and all its descendants, found by walking `/proc/*/stat` parent
//! links, so Dovecot's and Cyrus's per-connection processes are included.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Linux's USER_HZ, the unit of the times in `/proc/PID/stat`; 100 on every mainstream kernel
/// configuration (it is fixed by the ABI, not by CONFIG_HZ).
const CLOCK_TICKS: f64 = 100.0;

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct MemSample {
    pub rss_kb: u64,
    pub pss_kb: u64,
    pub processes: u64,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ServerUsage {
    pub pid: u32,
    pub cpu_seconds: f64,
    pub peak_rss_kb: u64,
    pub peak_pss_kb: u64,
    pub peak_processes: u64,
}

fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = s.get(s.rfind(')')? + 2..)?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// `root` and every descendant.
pub fn process_tree(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            if let Some(ppid) = stat_fields(pid).and_then(|f| f.get(1)?.parse().ok()) {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        if let Some(kids) = children.get(&out[i]) {
            out.extend(kids);
        }
        i += 1;
    }
    out
}

/// CPU seconds used so far by the tree (own + reaped children).
pub fn cpu_seconds(root: u32) -> f64 {
    let ticks: u64 = process_tree(root)
        .into_iter()
        .filter_map(stat_fields)
        .map(|f| {
            // 0-based after the name: 11 utime, 12 stime, 13 cutime, 14 cstime
            (11..=14)
                .filter_map(|i| f.get(i)?.parse::<u64>().ok())
                .sum::<u64>()
        })
        .sum();
    ticks as f64 / CLOCK_TICKS
}

fn kb_field(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Memory of the tree right now.
pub fn memory(root: u32) -> MemSample {
    let mut m = MemSample::default();
    for pid in process_tree(root) {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        m.rss_kb += kb_field(&status, "VmRSS:");
        if let Ok(rollup) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) {
            m.pss_kb += kb_field(&rollup, "Pss:");
        }
        m.processes += 1;
    }
    m
}

/// CPU seconds this process has used (all threads).
pub fn own_cpu_seconds() -> f64 {
    stat_fields(std::process::id()).map_or(0.0, |f| {
        let ticks: u64 = (11..=12)
            .filter_map(|i| f.get(i)?.parse::<u64>().ok())
            .sum();
        ticks as f64 / CLOCK_TICKS
    })
}

/// The machine's memory (MemTotal), in KiB; 0 when unknown.
pub fn mem_total_kb() -> u64 {
    std::fs::read_to_string("/proc/meminfo").map_or(0, |t| kb_field(&t, "MemTotal:"))
}

/// Trips `tripped` when the tree's PSS goes above `max_pss_kb` (PSS, not RSS: forking servers share most pages).
pub struct Guard {
    pub max_pss_kb: u64,
    pub tripped: Arc<AtomicBool>,
}

/// Samples the tree's memory on a plain thread (not a tokio worker) until stopped.
pub struct Monitor {
    pid: u32,
    cpu_start: f64,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<MemSample>,
}

impl Monitor {
    pub fn start(pid: u32, every: Duration, guard: Guard) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut peak = MemSample::default();
            loop {
                let m = memory(pid);
                peak.rss_kb = peak.rss_kb.max(m.rss_kb);
                peak.pss_kb = peak.pss_kb.max(m.pss_kb);
                peak.processes = peak.processes.max(m.processes);
                if m.pss_kb > guard.max_pss_kb {
                    guard.tripped.store(true, Ordering::Relaxed);
                }
                if flag.load(Ordering::Relaxed) {
                    return peak;
                }
                std::thread::sleep(every);
            }
        });
        Self {
            pid,
            cpu_start: cpu_seconds(pid),
            stop,
            handle,
        }
    }

    pub fn finish(self) -> ServerUsage {
        self.stop.store(true, Ordering::Relaxed);
        let peak = self.handle.join().unwrap_or_default();
        ServerUsage {
            pid: self.pid,
            cpu_seconds: (cpu_seconds(self.pid) - self.cpu_start).max(0.0),
            peak_rss_kb: peak.rss_kb,
            peak_pss_kb: peak.pss_kb,
            peak_processes: peak.processes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_measured() {
        let me = std::process::id();
        let m = memory(me);
        assert!(m.processes >= 1);
        assert!(m.rss_kb > 0);
        assert!(process_tree(me).contains(&me));
        assert!(cpu_seconds(me) >= 0.0);
    }

    #[test]
    fn kb_fields_are_read_by_key() {
        let text = "Name:\tx\nVmRSS:\t  1234 kB\nPss:   99 kB\n";
        assert_eq!(kb_field(text, "VmRSS:"), 1234);
        assert_eq!(kb_field(text, "Pss:"), 99);
        assert_eq!(kb_field(text, "Missing:"), 0);
    }
}
