//! `darius-bench compare`: turns the JSON reports of one side-by-side run into Markdown tables,
//! one per workload, with the ratios reference/peer (Darius/Dovecot, Darius/Cyrus) that the goals
//! are stated in. Used by `scripts/bench-compare` to write `docs/benchmarks.md`.

use std::fmt::Write as _;

use crate::report::Report;

/// Metrics where smaller is better: their ratio is still reference/peer, so < 1 means better.
const LOWER_IS_BETTER: &[&str] = &[
    "server_pss_kb_per_conn",
    "server_pss_kb_per_conn_second_half",
    "server_rss_kb_per_conn",
    "exists_p99_ms",
    "exists_from_start_p99_ms",
    "qresync_p50_ms",
    "qresync_p95_ms",
    "full_fetch_p50_ms",
    "full_fetch_p95_ms",
    "qresync_bytes",
    "full_fetch_bytes",
    "list_p50_ms",
    "list_p95_ms",
    "list_p99_ms",
    "list_status_p50_ms",
    "list_status_p95_ms",
    "list_status_p99_ms",
    "personal_setup_seconds",
    "shared_setup_seconds",
];

/// Rates among the metrics whose ratio is worth stating (`pop3`'s goal is in sessions/s, while
/// its throughput counts every command and delivery).
const HIGHER_IS_BETTER: &[&str] = &["sessions_per_s", "messages_per_s"];

fn workloads_in_order(reports: &[Report]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in reports {
        let key = workload_key(r);
        if !names.contains(&key) {
            names.push(key);
        }
    }
    names
}

/// A workload with its distinguishing parameter (`search` over 10,000 vs 100,000 messages;
/// `login`'s mechanism, cache setting and users; `append`'s quota case).
fn workload_key(r: &Report) -> String {
    if let Some(n) = r.params.get("quota_governed") {
        return format!(
            "{} (quota root over {n} more mailboxes per user)",
            r.workload
        );
    }
    if r.workload == "login" {
        let mut case = vec![r
            .params
            .get("mechanism")
            .map_or("?", String::as_str)
            .to_owned()];
        if let Some(cache) = r.params.get("cache") {
            case.push(format!("cache {cache}"));
        }
        if r.params.get("distinct_users").map(String::as_str) == Some("false") {
            case.push("one user".into());
        }
        return format!("login ({})", case.join(", "));
    }
    match (r.params.get("messages"), r.params.get("tls")) {
        (Some(n), _) => format!("{} ({} messages)", r.workload, n),
        (None, Some(t)) if t != "none" => format!("{} (TLS {t})", r.workload),
        _ => r.workload.clone(),
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() {
        format!("{:.2}×", a / b)
    } else {
        "–".into()
    }
}

fn server_row(r: &Report) -> String {
    let (cpu, pss, procs) =
        r.server
            .as_ref()
            .map_or(("–".into(), "–".into(), "–".into()), |s| {
                (
                    format!("{:.1}", s.cpu_seconds),
                    format!("{:.0}", s.peak_pss_kb as f64 / 1024.0),
                    s.peak_processes.to_string(),
                )
            });
    format!(
        "| {} | {:.1} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} |",
        r.label,
        r.total.ops_per_s,
        r.total.p50_ms,
        r.total.p95_ms,
        r.total.p99_ms,
        r.total.errors,
        cpu,
        pss,
        procs
    )
}

/// Markdown for all reports; `reference` is the label of the server the ratios are about.
pub fn markdown(reports: &[Report], reference: &str) -> String {
    let mut out = String::new();
    for key in workloads_in_order(reports) {
        let group: Vec<&Report> = reports.iter().filter(|r| workload_key(r) == key).collect();
        let _ = writeln!(out, "### {key}\n");
        let _ = writeln!(
            out,
            "| server | ops/s | p50 ms | p95 ms | p99 ms | errors | server CPU s | peak PSS MiB | processes |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &group {
            let _ = writeln!(out, "{}", server_row(r));
        }
        let _ = writeln!(out);
        per_op_table(&mut out, &group);
        metrics_table(&mut out, &group);
        ratios(&mut out, &group, reference);
        for r in group.iter().filter(|r| !r.errors.is_empty()) {
            let kinds: Vec<String> = r.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(
                out,
                "Errors ({}): {}; first: `{}`\n",
                r.label,
                kinds.join(", "),
                r.error_samples
                    .first()
                    .map_or("", String::as_str)
                    .replace('`', "'")
            );
        }
    }
    out
}

fn per_op_table(out: &mut String, group: &[&Report]) {
    let mut ops: Vec<&str> = Vec::new();
    for r in group {
        for o in &r.ops {
            if !ops.contains(&o.op.as_str()) {
                ops.push(&o.op);
            }
        }
    }
    if ops.len() < 2 {
        return;
    }
    let _ = writeln!(
        out,
        "| operation | {} |",
        group
            .iter()
            .map(|r| format!("{} ops/s (p99 ms)", r.label))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|---|{}", "---:|".repeat(group.len()));
    for op in ops {
        let cells: Vec<String> = group
            .iter()
            .map(|r| {
                r.ops.iter().find(|o| o.op == op).map_or("–".into(), |o| {
                    format!("{:.1} ({:.1})", o.ops_per_s, o.p99_ms)
                })
            })
            .collect();
        let _ = writeln!(out, "| {op} | {} |", cells.join(" | "));
    }
    let _ = writeln!(out);
}

fn metrics_table(out: &mut String, group: &[&Report]) {
    let mut keys: Vec<&str> = Vec::new();
    for r in group {
        for k in r.metrics.keys() {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
    }
    if keys.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "| metric | {} |",
        group
            .iter()
            .map(|r| r.label.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|---|{}", "---:|".repeat(group.len()));
    for k in keys {
        let cells: Vec<String> = group
            .iter()
            .map(|r| r.metrics.get(k).map_or("–".into(), |v| format!("{v:.2}")))
            .collect();
        let _ = writeln!(out, "| {k} | {} |", cells.join(" | "));
    }
    let _ = writeln!(out);
}

fn ratios(out: &mut String, group: &[&Report], reference: &str) {
    let Some(me) = group.iter().find(|r| r.label == reference) else {
        let _ = writeln!(
            out,
            "Ratios: {reference} was not measured in this run (not available).\n"
        );
        return;
    };
    // `idle` and `pop3-idle` count set-ups and deliveries, `resync` a fixed number of rounds,
    // not a throughput: only their metrics compare.
    let throughput = !matches!(me.workload.as_str(), "idle" | "pop3-idle" | "resync");
    for peer in group.iter().filter(|r| r.label != reference) {
        let mut parts = Vec::new();
        if throughput {
            let r = ratio(me.total.ops_per_s, peer.total.ops_per_s);
            parts.push(format!("throughput {r}"));
        }
        if let (Some(a), Some(b), true) = (&me.server, &peer.server, throughput) {
            let per_op = |r: &Report, cpu: f64| cpu / (r.total.count.max(1) as f64);
            parts.push(format!(
                "CPU per operation {}",
                ratio(per_op(me, a.cpu_seconds), per_op(peer, b.cpu_seconds))
            ));
            parts.push(format!(
                "peak PSS {}",
                ratio(a.peak_pss_kb as f64, b.peak_pss_kb as f64)
            ));
        }
        for (k, v) in &me.metrics {
            if let Some(p) = peer.metrics.get(k).filter(|_| {
                LOWER_IS_BETTER.contains(&k.as_str()) || HIGHER_IS_BETTER.contains(&k.as_str())
            }) {
                parts.push(format!("{k} {}", ratio(*v, *p)));
            }
        }
        let _ = writeln!(
            out,
            "Ratios {reference}/{}: {}.\n",
            peer.label,
            parts.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RunInfo;
    use crate::stats::Recorder;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn report(label: &str, n: u64) -> Report {
        let mut rec = Recorder::default();
        for _ in 0..n {
            rec.ok("append", Duration::from_millis(1));
        }
        let run = RunInfo {
            workload: "append".into(),
            label: label.into(),
            target: "x".into(),
            params: BTreeMap::new(),
        };
        Report::build(run, 1.0, rec, None, BTreeMap::new())
    }

    #[test]
    fn ratios_are_reference_over_peer() {
        let md = markdown(&[report("darius", 300), report("dovecot", 100)], "darius");
        assert!(md.contains("### append"));
        assert!(md.contains("| darius | 300.0 |"));
        assert!(md.contains("Ratios darius/dovecot: throughput 3.00×"));
    }

    #[test]
    fn the_quota_case_is_compared_with_itself_not_with_plain_appends() {
        let mut quota = report("darius", 100);
        quota.params.insert("quota_governed".into(), "5000".into());
        let mut peer = report("cyrus", 50);
        peer.params.insert("quota_governed".into(), "5000".into());
        let md = markdown(
            &[report("darius", 300), quota, report("cyrus", 150), peer],
            "darius",
        );
        assert!(md.contains("### append\n"), "{md}");
        assert!(
            md.contains("### append (quota root over 5000 more mailboxes per user)"),
            "{md}"
        );
        // Each table compares like with like: 300/150 and 100/50.
        assert_eq!(
            md.matches("Ratios darius/cyrus: throughput 2.00×").count(),
            2,
            "{md}"
        );
    }

    #[test]
    fn resync_compares_its_figures_not_a_throughput() {
        let resync = |label: &str, p50: f64| {
            let mut r = report(label, 30);
            r.workload = "resync".into();
            r.metrics.insert("qresync_p50_ms".into(), p50);
            r
        };
        let md = markdown(&[resync("darius", 5.0), resync("dovecot", 20.0)], "darius");
        assert!(
            md.contains("Ratios darius/dovecot: qresync_p50_ms 0.25×."),
            "{md}"
        );
        assert!(!md.contains("throughput"));
    }

    #[test]
    fn login_cases_are_compared_within_their_mechanism_and_cache_setting() {
        let login = |label: &str, n: u64, mechanism: &str, cache: &str| {
            let mut r = report(label, n);
            r.workload = "login".into();
            r.params.insert("mechanism".into(), mechanism.into());
            r.params.insert("cache".into(), cache.into());
            r.params.insert("distinct_users".into(), "true".into());
            r
        };
        let md = markdown(
            &[
                login("darius", 200, "PLAIN", "on"),
                login("dovecot", 100, "PLAIN", "on"),
                login("darius", 50, "PLAIN", "off"),
                login("dovecot", 100, "PLAIN", "off"),
            ],
            "darius",
        );
        let on = md.find("### login (PLAIN, cache on)").unwrap();
        let off = md.find("### login (PLAIN, cache off)").unwrap();
        assert!(
            md[on..off].contains("Ratios darius/dovecot: throughput 2.00×"),
            "{md}"
        );
        assert!(
            md[off..].contains("Ratios darius/dovecot: throughput 0.50×"),
            "{md}"
        );
    }

    #[test]
    fn pop3_states_its_session_rate_and_pop3_idle_no_throughput() {
        let pop3 = |label: &str, n: u64, sessions: f64| {
            let mut r = report(label, n);
            r.workload = "pop3".into();
            r.metrics.insert("sessions_per_s".into(), sessions);
            r
        };
        let idle = |label: &str, kb: f64| {
            let mut r = report(label, 10);
            r.workload = "pop3-idle".into();
            r.metrics.insert("server_pss_kb_per_conn".into(), kb);
            r
        };
        let md = markdown(
            &[
                pop3("darius", 300, 30.0),
                pop3("dovecot", 100, 12.0),
                idle("darius", 8.0),
                idle("dovecot", 32.0),
            ],
            "darius",
        );
        assert!(
            md.contains("Ratios darius/dovecot: throughput 3.00×, sessions_per_s 2.50×."),
            "{md}"
        );
        assert!(
            md.contains("Ratios darius/dovecot: server_pss_kb_per_conn 0.25×."),
            "{md}"
        );
    }

    #[test]
    fn missing_reference_is_said_not_crashed_on() {
        let md = markdown(&[report("dovecot", 100), report("cyrus", 50)], "darius");
        assert!(md.contains("darius was not measured in this run"));
    }
}
