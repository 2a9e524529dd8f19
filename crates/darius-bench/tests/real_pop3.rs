//! The `pop3` and `pop3-idle` workloads against a real POP3 server with its LMTP — no fakes.
//! The target is `DARIUS_BENCH_POP3_TARGET` (`host:pop3port:lmtpport`, e.g. Darius's
//! `127.0.0.1:1110:2424`) or else Dovecot as started by `scripts/peers/` (127.0.0.1, POP3 10110,
//! LMTP 10024). Users `user1`, `user2` with password `pass` unless `DARIUS_BENCH_USER` (a `%d`
//! pattern) and `DARIUS_BENCH_PASSWORD` say otherwise; their maildrops are emptied.
//!
//! When no server answers, each test prints a skip notice and passes, unless
//! `DARIUS_REQUIRE_PEERS=1`, which makes it fail.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::net::{TcpStream, ToSocketAddrs};
use std::process::Command;
use std::time::Duration;

/// host, POP3 port, LMTP port — when both ports answer.
fn target() -> Option<(String, String, String)> {
    let spec = std::env::var("DARIUS_BENCH_POP3_TARGET")
        .unwrap_or_else(|_| "127.0.0.1:10110:10024".into());
    let mut parts = spec.rsplitn(3, ':');
    let (lmtp, pop3, host) = (parts.next()?, parts.next()?, parts.next()?);
    for port in [pop3, lmtp] {
        let sock = format!("{host}:{port}").to_socket_addrs().ok()?.next()?;
        TcpStream::connect_timeout(&sock, Duration::from_secs(2)).ok()?;
    }
    Some((host.to_owned(), pop3.to_owned(), lmtp.to_owned()))
}

/// Both tests use users 1 and 2 and empty their maildrops: one at a time.
static USERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `darius-bench ARGS` against the target and returns its JSON report, or None (skip).
fn run(args: &[&str]) -> Option<serde_json::Value> {
    let _users = USERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some((host, pop3, lmtp)) = target() else {
        if std::env::var("DARIUS_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("DARIUS_REQUIRE_PEERS=1 but no POP3 and LMTP server at DARIUS_BENCH_POP3_TARGET or 127.0.0.1:10110:10024");
        }
        // Not captured by the test harness, so the skip shows (docs/TESTING.md).
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: no POP3 server (set DARIUS_BENCH_POP3_TARGET or start scripts/peers)"
        );
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let user = std::env::var("DARIUS_BENCH_USER").unwrap_or_else(|_| "user%d".into());
    let pass = std::env::var("DARIUS_BENCH_PASSWORD").unwrap_or_else(|_| "pass".into());
    let out = Command::new(env!("CARGO_BIN_EXE_darius-bench"))
        .args(["--host", &host, "--pop3-port", &pop3, "--lmtp-port", &lmtp])
        .args(["--user", &user, "--password", &pass])
        .args(["--users", "2", "--pool", "50", "--seed", "7", "--json"])
        .arg(&json)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "darius-bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap())
}

fn count(report: &serde_json::Value, op: &str) -> u64 {
    report["ops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["op"] == op)
        .map_or(0, |o| o["count"].as_u64().unwrap())
}

fn assert_clean(report: &serde_json::Value) {
    assert_eq!(
        report["errors"],
        serde_json::json!({}),
        "errors: {:#}",
        report["error_samples"]
    );
}

#[test]
fn pop3_sessions_drain_what_lmtp_refills_without_state_errors() {
    let Some(r) = run(&[
        "--clients",
        "2",
        "--duration",
        "2",
        "pop3",
        "--per-session",
        "3",
        "--feeders",
        "2",
    ]) else {
        return;
    };
    assert_clean(&r);
    let sessions = count(&r, "session");
    assert!(sessions > 0, "no session completed: {r:#}");
    for op in ["connect", "user", "pass", "stat", "list", "quit"] {
        assert_eq!(count(&r, op), sessions, "{op} once per session: {r:#}");
    }
    // A full batch in every session: the clients wait for the feeders rather than take less.
    assert_eq!(count(&r, "retr"), 3 * sessions, "{r:#}");
    assert_eq!(count(&r, "dele"), 3 * sessions);
    assert!(count(&r, "deliver") > 0, "the feeders refilled nothing");
    let kb = r["metrics"]["message_kb_avg"].as_f64().unwrap();
    assert!((2.0..100.0).contains(&kb), "messages of {kb} KB");
}

#[test]
fn pop3_idle_holds_logged_in_sessions_and_quits_them() {
    let Some(r) = run(&[
        "pop3-idle",
        "--connections",
        "2",
        "--messages",
        "3",
        "--settle",
        "0.2",
    ]) else {
        return;
    };
    assert_clean(&r);
    assert_eq!(r["metrics"]["idle_connections"], 2.0);
    assert_eq!(count(&r, "setup"), 2);
    assert_eq!(count(&r, "quit"), 2);
}
