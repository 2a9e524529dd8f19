//! The performance goals of issues 5, 10, 11 and 15, checked against the reports of one side-by-side
//! run. Each goal is met, not met, or not measured (a server or workload missing from the run) —
//! never guessed.

use std::fmt::Write as _;

use crate::report::Report;

enum Verdict {
    Met(String),
    NotMet(String),
    NotMeasured(&'static str),
}

fn find<'a>(reports: &'a [Report], workload: &str, label: &str) -> Option<&'a Report> {
    reports.iter().find(|r| {
        r.workload == workload
            && r.label == label
            && r.params.get("tls").is_none_or(|t| t == "none")
    })
}

fn throughput_ratio(
    reports: &[Report],
    workload: &str,
    me: &str,
    peer: &str,
    want: f64,
) -> Verdict {
    let (Some(a), Some(b)) = (find(reports, workload, me), find(reports, workload, peer)) else {
        return Verdict::NotMeasured("a server did not run this workload");
    };
    if b.total.ops_per_s <= 0.0 {
        return Verdict::NotMeasured("the peer completed no operations");
    }
    let r = a.total.ops_per_s / b.total.ops_per_s;
    let detail = format!(
        "{:.2}× ({:.1} vs {:.1} ops/s)",
        r, a.total.ops_per_s, b.total.ops_per_s
    );
    if r >= want {
        Verdict::Met(detail)
    } else {
        Verdict::NotMet(detail)
    }
}

fn idle_metric(reports: &[Report], me: &str, tls: bool, key: &str, max: f64) -> Verdict {
    let r = reports.iter().find(|r| {
        r.workload == "idle"
            && r.label == me
            && (r.params.get("tls").is_some_and(|t| t != "none") == tls)
    });
    let Some(r) = r else {
        return Verdict::NotMeasured("idle was not run against it");
    };
    let Some(v) = r.metrics.get(key) else {
        return Verdict::NotMeasured("no figure (no --server-pid, or no deliveries)");
    };
    let detail = format!("{v:.1}");
    if *v <= max {
        Verdict::Met(detail)
    } else {
        Verdict::NotMet(detail)
    }
}

fn mixed_clean(reports: &[Report], me: &str) -> Verdict {
    match find(reports, "mixed", me) {
        None => Verdict::NotMeasured("mixed was not run against it"),
        Some(r) if r.errors.is_empty() => Verdict::Met(format!("{} operations", r.total.count)),
        Some(r) => Verdict::NotMet(format!("{} errors", r.total.errors)),
    }
}

fn idle_scale(reports: &[Report], me: &str) -> Verdict {
    let Some(r) = find(reports, "idle", me) else {
        return Verdict::NotMeasured("idle was not run against it");
    };
    let n = r.metrics.get("idle_connections").copied().unwrap_or(0.0);
    let detail = format!("{n:.0} connections, {} errors", r.total.errors);
    if n >= 10_000.0 && r.errors.is_empty() {
        Verdict::Met(detail)
    } else {
        Verdict::NotMet(detail)
    }
}

fn search_body(reports: &[Report], me: &str, peer: &str) -> Verdict {
    let pick = |label: &str| {
        reports.iter().find(|r| {
            r.workload == "search"
                && r.label == label
                && r.params.get("messages").is_some_and(|m| m == "100000")
        })
    };
    let (Some(a), Some(b)) = (pick(me), pick(peer)) else {
        return Verdict::NotMeasured("search over 100,000 messages not run against both");
    };
    let p50 = |r: &Report| {
        r.ops
            .iter()
            .find(|o| o.op == "search-body")
            .map(|o| o.p50_ms)
    };
    let (Some(x), Some(y)) = (p50(a), p50(b)) else {
        return Verdict::NotMeasured("no search-body operations");
    };
    let detail = format!("p50 {x:.1} ms vs {y:.1} ms");
    if x <= y {
        Verdict::Met(detail)
    } else {
        Verdict::NotMet(detail)
    }
}

/// Memory must level off under delivery: after the warm-up, RSS may not grow by more than
/// `max_kb` per 100,000 deliveries (a leak of 3 KB per delivery is 300,000).
fn soak_flat(reports: &[Report], me: &str, max_kb: f64) -> Verdict {
    let Some(r) = reports
        .iter()
        .find(|r| r.workload == "soak" && r.label == me)
    else {
        return Verdict::NotMeasured("soak was not run against it");
    };
    let Some(slope) = r.metrics.get("rss_kb_per_100k_deliveries") else {
        return Verdict::NotMeasured("no memory samples after the warm-up");
    };
    let warm = r.metrics.get("rss_kb_after_warmup").copied().unwrap_or(0.0);
    let end = r.metrics.get("rss_kb_end").copied().unwrap_or(0.0);
    let detail = format!(
        "{slope:+.0} KiB per 100,000 deliveries over {} (RSS {:.0} → {:.0} MiB)",
        r.total.count,
        warm / 1024.0,
        end / 1024.0
    );
    if *slope <= max_kb && r.errors.is_empty() {
        Verdict::Met(detail)
    } else {
        Verdict::NotMet(detail)
    }
}

/// The QRESYNC resync must be clean (no verification errors) to count at all.
fn clean_resync<'a>(reports: &'a [Report], label: &str) -> Result<&'a Report, Verdict> {
    let Some(r) = find(reports, "resync", label) else {
        return Err(Verdict::NotMeasured("resync was not run against both"));
    };
    if !r.errors.is_empty() {
        return Err(Verdict::NotMet(format!(
            "{label}: {} errors in the resync run",
            r.total.errors
        )));
    }
    Ok(r)
}

/// The peer's median QRESYNC resync over ours must reach `want`.
fn resync_vs_peer(reports: &[Report], me: &str, peer: &str, want: f64) -> Verdict {
    let (a, b) = match (clean_resync(reports, me), clean_resync(reports, peer)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(v), _) | (_, Err(v)) => return v,
    };
    let (Some(x), Some(y)) = (
        a.metrics.get("qresync_p50_ms"),
        b.metrics.get("qresync_p50_ms"),
    ) else {
        return Verdict::NotMeasured("no completed QRESYNC resync");
    };
    speedup(*x, *y, want, "a QRESYNC resync took no measurable time")
}

/// Our median full flag fetch over our median QRESYNC resync must reach `want`.
fn resync_vs_full_fetch(reports: &[Report], me: &str, want: f64) -> Verdict {
    let r = match clean_resync(reports, me) {
        Ok(r) => r,
        Err(Verdict::NotMeasured(_)) => {
            return Verdict::NotMeasured("resync was not run against it")
        }
        Err(v) => return v,
    };
    let (Some(a), Some(b)) = (
        r.metrics.get("qresync_p50_ms"),
        r.metrics.get("full_fetch_p50_ms"),
    ) else {
        return Verdict::NotMeasured("no completed resync");
    };
    speedup(*a, *b, want, "a QRESYNC resync took no measurable time")
}

/// The `list` run of `label`, its median `LIST "" "*"` in ms and a note on its shared mailboxes:
/// the run counts only without state errors and with a measured median.
fn clean_list(reports: &[Report], label: &str) -> Result<(f64, String), Verdict> {
    let Some(r) = find(reports, "list", label) else {
        return Err(Verdict::NotMeasured("list was not run against both"));
    };
    if !r.errors.is_empty() {
        return Err(Verdict::NotMet(format!(
            "{label}: {} errors in the list run",
            r.total.errors
        )));
    }
    let Some(p50) = r.metrics.get("list_p50_ms").copied() else {
        return Err(Verdict::NotMeasured("no completed LIST"));
    };
    let names = r.metrics.get("names_listed").copied().unwrap_or(0.0);
    let shared = r.metrics.get("shared_listed").copied().unwrap_or(0.0);
    let acls = if r.metrics.get("shared_acls_applied").copied() == Some(1.0) {
        ""
    } else {
        ", shared ACLs not applied"
    };
    Ok((p50, format!("{names:.0} names, {shared:.0} shared{acls}")))
}

/// Our median `LIST "" "*"` must be at most `max_ms`.
fn list_p50(reports: &[Report], me: &str, max_ms: f64) -> Verdict {
    match clean_list(reports, me) {
        Err(Verdict::NotMeasured(_)) => Verdict::NotMeasured("list was not run against it"),
        Err(v) => v,
        Ok((p50, note)) if p50 <= max_ms => Verdict::Met(format!("p50 {p50:.2} ms ({note})")),
        Ok((p50, note)) => Verdict::NotMet(format!("p50 {p50:.2} ms ({note})")),
    }
}

/// The peer's median `LIST "" "*"` over ours must reach `want`.
fn list_vs_peer(reports: &[Report], me: &str, peer: &str, want: f64) -> Verdict {
    let ((x, _), (y, _)) = match (clean_list(reports, me), clean_list(reports, peer)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(v), _) | (_, Err(v)) => return v,
    };
    speedup(x, y, want, "a LIST took no measurable time")
}

/// `slow / fast` (p50 milliseconds) against `want`; not measured when `fast` took no time.
fn speedup(fast: f64, slow: f64, want: f64, no_time: &'static str) -> Verdict {
    if fast <= 0.0 {
        return Verdict::NotMeasured(no_time);
    }
    let r = slow / fast;
    let detail = format!("{r:.2}× (p50 {fast:.2} ms vs {slow:.2} ms)");
    if r >= want {
        Verdict::Met(detail)
    } else {
        Verdict::NotMet(detail)
    }
}

/// `pop3`: our sessions per second over the peer's must reach `want`; a run with state errors
/// does not count.
fn pop3_sessions(reports: &[Report], me: &str, peer: &str, want: f64) -> Verdict {
    let (Some(a), Some(b)) = (find(reports, "pop3", me), find(reports, "pop3", peer)) else {
        return Verdict::NotMeasured("pop3 was not run against both");
    };
    if !a.errors.is_empty() {
        return Verdict::NotMet(format!("{me}: {} errors in the pop3 run", a.total.errors));
    }
    let rate = |r: &Report| r.metrics.get("sessions_per_s").copied().unwrap_or(0.0);
    let (x, y) = (rate(a), rate(b));
    if y <= 0.0 {
        return Verdict::NotMeasured("the peer completed no sessions");
    }
    let detail = format!("{:.2}× ({x:.1} vs {y:.1} sessions/s)", x / y);
    if x / y >= want {
        Verdict::Met(detail)
    } else {
        Verdict::NotMet(detail)
    }
}

/// `pop3-idle`: server PSS per idle POP3 connection within the IMAP figure — the IMAP `idle`
/// run of the same server and run when there is one, else the IMAP goal of `imap_goal_kb`.
fn pop3_idle_memory(reports: &[Report], me: &str, imap_goal_kb: f64) -> Verdict {
    let plain = |workload: &str| {
        reports.iter().find(|r| {
            r.workload == workload
                && r.label == me
                && r.params.get("tls").is_none_or(|t| t == "none")
        })
    };
    let Some(r) = plain("pop3-idle") else {
        return Verdict::NotMeasured("pop3-idle was not run against it");
    };
    let Some(v) = r.metrics.get("server_pss_kb_per_conn").copied() else {
        return Verdict::NotMeasured("no figure (no --server-pid)");
    };
    let imap = plain("idle").and_then(|r| r.metrics.get("server_pss_kb_per_conn").copied());
    let (limit, against) = match imap {
        Some(kb) => (kb, format!("IMAP idle {kb:.1}")),
        None => (imap_goal_kb, format!("IMAP goal {imap_goal_kb:.0}")),
    };
    let detail = format!("{v:.1} KB ({against})");
    if !r.errors.is_empty() {
        Verdict::NotMet(format!("{detail}; {} errors", r.total.errors))
    } else if v <= limit {
        Verdict::Met(detail)
    } else {
        Verdict::NotMet(detail)
    }
}

/// A Markdown table of the goals for `me` (the reference server).
pub fn markdown(reports: &[Report], me: &str) -> String {
    let rows: Vec<(&str, Verdict)> = vec![
        (
            "mixed throughput ≥ 2× Dovecot",
            throughput_ratio(reports, "mixed", me, "dovecot", 2.0),
        ),
        (
            "mixed throughput ≥ 3× Cyrus",
            throughput_ratio(reports, "mixed", me, "cyrus", 3.0),
        ),
        ("mixed: zero state errors", mixed_clean(reports, me)),
        (
            "lmtp ≥ 2× Dovecot",
            throughput_ratio(reports, "lmtp", me, "dovecot", 2.0),
        ),
        (
            "idle: ≤ 16 KB server PSS per plaintext connection",
            idle_metric(reports, me, false, "server_pss_kb_per_conn", 16.0),
        ),
        (
            "idle: ≤ 64 KB server PSS per TLS connection",
            idle_metric(reports, me, true, "server_pss_kb_per_conn", 64.0),
        ),
        (
            "idle: 10,000 connections without errors",
            idle_scale(reports, me),
        ),
        (
            "idle: delivery-to-EXISTS p99 < 50 ms (from MAIL FROM, storing included)",
            idle_metric(reports, me, false, "exists_from_start_p99_ms", 50.0),
        ),
        (
            "search BODY over 100,000 messages no slower than Dovecot",
            search_body(reports, me, "dovecot"),
        ),
        (
            "soak: RSS flat after warm-up (≤ 1 MiB per 100,000 deliveries)",
            soak_flat(reports, me, 1024.0),
        ),
        (
            "resync: QRESYNC ≥ 3× faster than Dovecot's",
            resync_vs_peer(reports, me, "dovecot", 3.0),
        ),
        (
            "resync: QRESYNC ≥ 10× faster than a full flag fetch",
            resync_vs_full_fetch(reports, me, 10.0),
        ),
        ("list: LIST p50 ≤ 5 ms", list_p50(reports, me, 5.0)),
        (
            "list: ≥ 3× faster than Cyrus",
            list_vs_peer(reports, me, "cyrus", 3.0),
        ),
        (
            "pop3: sessions/s ≥ 2× Dovecot",
            pop3_sessions(reports, me, "dovecot", 2.0),
        ),
        (
            "pop3-idle: server PSS per idle POP3 connection within the IMAP figure",
            pop3_idle_memory(reports, me, 16.0),
        ),
    ];
    let mut out = String::from("| goal | result | measured |\n|---|---|---|\n");
    for (goal, v) in rows {
        let (status, detail) = match v {
            Verdict::Met(d) => ("met", d),
            Verdict::NotMet(d) => ("**not met**", d),
            Verdict::NotMeasured(why) => ("not measured", why.to_owned()),
        };
        let _ = writeln!(out, "| {goal} | {status} | {detail} |");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RunInfo;
    use crate::stats::Recorder;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn report(workload: &str, label: &str, n: u64, metrics: &[(&str, f64)]) -> Report {
        let mut rec = Recorder::default();
        for _ in 0..n {
            rec.ok("op", Duration::from_millis(1));
        }
        let run = RunInfo {
            workload: workload.into(),
            label: label.into(),
            target: "x".into(),
            params: BTreeMap::new(),
        };
        let m = metrics.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
        Report::build(run, 1.0, rec, None, m)
    }

    #[test]
    fn ratios_and_thresholds_decide_the_verdicts() {
        let reports = [
            report("mixed", "darius", 500, &[]),
            report("mixed", "dovecot", 200, &[]),
            report("mixed", "cyrus", 200, &[]),
            report(
                "idle",
                "darius",
                1,
                &[
                    ("server_pss_kb_per_conn", 12.0),
                    ("exists_p99_ms", 0.0),
                    ("exists_from_start_p99_ms", 80.0),
                ],
            ),
        ];
        let md = markdown(&reports, "darius");
        assert!(md.contains("| mixed throughput ≥ 2× Dovecot | met | 2.50×"));
        assert!(md.contains("| mixed throughput ≥ 3× Cyrus | **not met** | 2.50×"));
        assert!(md.contains("| mixed: zero state errors | met |"));
        assert!(md.contains("plaintext connection | met | 12.0"));
        assert!(md.contains("storing included) | **not met** | 80.0"));
        assert!(md.contains("| lmtp ≥ 2× Dovecot | not measured |"));
    }

    #[test]
    fn soak_is_met_by_a_flat_line_and_not_by_growth() {
        let flat = [report(
            "soak",
            "darius",
            10,
            &[("rss_kb_per_100k_deliveries", 300.0)],
        )];
        assert!(markdown(&flat, "darius").contains("100,000 deliveries) | met | +300 KiB"));
        let leak = [report(
            "soak",
            "darius",
            10,
            &[("rss_kb_per_100k_deliveries", 300_000.0)],
        )];
        assert!(markdown(&leak, "darius").contains("deliveries) | **not met** | +300000 KiB"));
    }

    #[test]
    fn nothing_measured_for_an_absent_server() {
        let md = markdown(&[report("mixed", "dovecot", 10, &[])], "darius");
        assert!(!md.contains("| met |"));
        assert_eq!(md.matches("not measured").count(), 16);
    }

    #[test]
    fn resync_goals_compare_medians_and_need_clean_runs() {
        let resync = |label: &str, a: f64, b: f64| {
            report(
                "resync",
                label,
                20,
                &[("qresync_p50_ms", a), ("full_fetch_p50_ms", b)],
            )
        };
        let md = markdown(
            &[resync("darius", 2.0, 30.0), resync("dovecot", 5.0, 40.0)],
            "darius",
        );
        assert!(md.contains("Dovecot's | **not met** | 2.50× (p50 2.00 ms vs 5.00 ms)"));
        assert!(md.contains("flag fetch | met | 15.00× (p50 2.00 ms vs 30.00 ms)"));

        let md = markdown(
            &[resync("darius", 1.0, 8.0), resync("dovecot", 3.0, 40.0)],
            "darius",
        );
        assert!(md.contains("Dovecot's | met | 3.00×"));
        assert!(md.contains("flag fetch | **not met** | 8.00×"));

        let mut wrong = resync("darius", 0.5, 30.0);
        let mut rec = Recorder::default();
        rec.error("qresync", "missing", "1 expunged UIDs not in VANISHED");
        wrong.errors = rec.errors;
        wrong.total.errors = 1;
        let md = markdown(&[wrong, resync("dovecot", 5.0, 40.0)], "darius");
        assert!(md.contains("Dovecot's | **not met** | darius: 1 errors in the resync run"));
        assert!(md.contains("flag fetch | **not met** | darius: 1 errors"));

        let md = markdown(&[resync("darius", 1.0, 30.0)], "darius");
        assert!(md.contains("Dovecot's | not measured | resync was not run against both"));
        assert!(md.contains("flag fetch | met | 30.00×"));
    }

    #[test]
    fn pop3_goals_compare_session_rates_and_idle_memory_with_imap() {
        let pop3 = |label: &str, rate: f64| report("pop3", label, 100, &[("sessions_per_s", rate)]);
        let md = markdown(&[pop3("darius", 50.0), pop3("dovecot", 20.0)], "darius");
        assert!(md
            .contains("| pop3: sessions/s ≥ 2× Dovecot | met | 2.50× (50.0 vs 20.0 sessions/s) |"));
        let md = markdown(&[pop3("darius", 30.0), pop3("dovecot", 20.0)], "darius");
        assert!(md.contains("Dovecot | **not met** | 1.50×"));
        let mut wrong = pop3("darius", 90.0);
        let mut rec = Recorder::default();
        rec.error(
            "list",
            "missing",
            "STAT counts 1 messages, 2 were delivered",
        );
        wrong.errors = rec.errors;
        wrong.total.errors = 1;
        let md = markdown(&[wrong, pop3("dovecot", 20.0)], "darius");
        assert!(md.contains("Dovecot | **not met** | darius: 1 errors in the pop3 run"));

        let idle = |workload: &str, kb: f64| {
            report(workload, "darius", 1, &[("server_pss_kb_per_conn", kb)])
        };
        let md = markdown(&[idle("pop3-idle", 12.0)], "darius");
        assert!(
            md.contains("IMAP figure | met | 12.0 KB (IMAP goal 16) |"),
            "{md}"
        );
        let md = markdown(&[idle("pop3-idle", 20.0)], "darius");
        assert!(md.contains("IMAP figure | **not met** | 20.0 KB (IMAP goal 16) |"));
        let md = markdown(&[idle("pop3-idle", 12.0), idle("idle", 10.0)], "darius");
        assert!(md.contains("IMAP figure | **not met** | 12.0 KB (IMAP idle 10.0) |"));
        let md = markdown(&[idle("pop3-idle", 9.0), idle("idle", 10.0)], "darius");
        assert!(md.contains("IMAP figure | met | 9.0 KB (IMAP idle 10.0) |"));
    }

    #[test]
    fn list_goals_compare_medians_and_need_clean_runs() {
        let list = |label: &str, p50: f64, acls: f64| {
            report(
                "list",
                label,
                200,
                &[
                    ("list_p50_ms", p50),
                    ("names_listed", 251.0),
                    ("shared_listed", 200.0),
                    ("shared_acls_applied", acls),
                ],
            )
        };
        let md = markdown(
            &[list("darius", 2.0, 1.0), list("cyrus", 7.0, 1.0)],
            "darius",
        );
        assert!(
            md.contains("| list: LIST p50 ≤ 5 ms | met | p50 2.00 ms (251 names, 200 shared) |")
        );
        assert!(
            md.contains("| list: ≥ 3× faster than Cyrus | met | 3.50× (p50 2.00 ms vs 7.00 ms) |")
        );

        let md = markdown(
            &[list("darius", 6.0, 0.0), list("cyrus", 12.0, 1.0)],
            "darius",
        );
        assert!(md.contains(
            "5 ms | **not met** | p50 6.00 ms (251 names, 200 shared, shared ACLs not applied)"
        ));
        assert!(md.contains("Cyrus | **not met** | 2.00×"));

        let mut wrong = list("darius", 1.0, 1.0);
        let mut rec = Recorder::default();
        rec.error("list", "wrong-shared", "199 shared listed, ACLs allow 200");
        wrong.errors = rec.errors;
        wrong.total.errors = 1;
        let md = markdown(&[wrong, list("cyrus", 12.0, 1.0)], "darius");
        assert!(md.contains("5 ms | **not met** | darius: 1 errors in the list run"));
        assert!(md.contains("Cyrus | **not met** | darius: 1 errors in the list run"));

        let md = markdown(&[list("darius", 1.0, 1.0)], "darius");
        assert!(md.contains("5 ms | met |"));
        assert!(md.contains("Cyrus | not measured | list was not run against both"));
    }
}
