//! Client text that reaches the server's log or disk (issue 9, "also fix"): ID is bounded as
//! RFC 2971 says and logged once per state, CR/LF from literals never forge a log line (in the
//! ID line or the badlogin line), and a MULTIAPPEND is bounded in messages, its spool files
//! removed when it is refused.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use std::time::{Duration, Instant};

use imap_support::{last, Client};

/// Waits until the server's log satisfies `check` (the log pipe is read by a thread).
fn log_until(server: &common::Server, what: &str, check: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = server.log();
        if check(&log) {
            return log;
        }
        assert!(Instant::now() < deadline, "{what}:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn cr_and_lf_from_literals_never_start_a_log_line() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = Client::connect(server.imap_port);
    let value = "x\r\nbadlogin: forged by the client";
    c.send(format!("a1 ID (\"name\" {{{}+}}\r\n{value})\r\n", value.len()).as_bytes());
    assert!(last(&c.until("a1")).starts_with("a1 OK"));
    let user = "bob\r\nforged-user-line";
    c.send(format!("a2 LOGIN {{{}+}}\r\n{user} wrong\r\n", user.len()).as_bytes());
    assert!(last(&c.until("a2")).starts_with("a2 NO"));
    let log = log_until(&server, "the badlogin line", |log| {
        log.contains("badlogin:")
    });
    for line in log.lines() {
        assert!(!line.starts_with("badlogin: forged"), "forged line: {line}");
        assert!(!line.starts_with("forged-user-line"), "forged line: {line}");
    }
    assert!(
        log.contains("name=x\\r\\nbadlogin: forged"),
        "escaped in place:\n{log}"
    );
    assert!(
        log.contains("bob\\r\\nforged-user-line"),
        "escaped in place:\n{log}"
    );
}

#[test]
fn id_is_bounded_by_rfc_2971_and_logged_once_per_state() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = Client::connect(server.imap_port);
    let pairs: Vec<String> = (0..31).map(|i| format!("\"k{i}\" \"v\"")).collect();
    let r = c.cmd("a1", &format!("ID ({})", pairs.join(" ")));
    assert!(last(&r).starts_with("a1 BAD"), "{r:?}");
    let r = c.cmd("a2", &format!("ID (\"name\" \"{}\")", "v".repeat(1025)));
    assert!(last(&r).starts_with("a2 BAD"), "{r:?}");
    let r = c.cmd("a3", &format!("ID (\"{}\" NIL)", "n".repeat(31)));
    assert!(last(&r).starts_with("a3 BAD"), "{r:?}");
    for i in 0..50 {
        let r = c.cmd(&format!("i{i}"), &format!("ID (\"name\" \"flood{i}\")"));
        assert!(r[0].starts_with("* ID ("), "answered every time: {r:?}");
    }
    assert!(last(&c.cmd("l1", "LOGIN alice pw-alice")).starts_with("l1 OK"));
    assert!(last(&c.cmd("i50", "ID (\"name\" \"after\")")).starts_with("i50 OK"));
    assert!(last(&c.cmd("i51", "ID (\"name\" \"again\")")).starts_with("i51 OK"));
    let log = log_until(&server, "the ID after login", |log| {
        log.contains("name=after")
    });
    assert_eq!(log.matches("client id").count(), 2, "{log}");
    assert!(
        log.contains("name=flood0") && !log.contains("name=flood1"),
        "{log}"
    );
}

#[test]
fn a_multiappend_past_the_message_bound_is_refused_and_spools_nothing() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = Client::login(server.imap_port, "alice");
    let message = "Subject: m\r\n\r\nx\r\n";
    let one = format!(" {{{}+}}\r\n{message}", message.len());
    let r = c.cmd("a1", &format!("APPEND INBOX{}", one.repeat(1_001)));
    assert!(last(&r).starts_with("a1 NO [LIMIT]"), "{r:?}");
    let r = c.cmd("a2", "STATUS INBOX (MESSAGES)");
    assert!(r[0].contains("MESSAGES 0"), "nothing stored: {r:?}");
    let spool = server.config_dir().join("tmp");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(&spool).unwrap().count() > 0 {
        assert!(Instant::now() < deadline, "spool files left behind");
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = c.cmd("a3", &format!("APPEND INBOX{}", one.repeat(1_000)));
    assert!(
        last(&r).starts_with("a3 OK [APPENDUID"),
        "the bound itself is fine: {:?}",
        last(&r)
    );
}
