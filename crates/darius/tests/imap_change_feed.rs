//! A session whose change feed lagged (issue 9, "also fix"): a session stays selected and
//! silent while another makes more changes than the feed keeps (1,024 per mailbox today; the
//! store may bound it by bytes instead). Its next command resynchronises from the index and
//! reports EXPUNGE, EXISTS and FETCH FLAGS that bring it to exactly the mailbox's state.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use std::collections::BTreeMap;

use imap_support::{last, Client};

/// UID → flags, from the lines of a `FETCH 1:* (UID FLAGS)`, without the session flag.
fn state(lines: &[String]) -> BTreeMap<u32, String> {
    lines
        .iter()
        .filter(|l| l.contains(" FETCH ("))
        .map(|l| {
            let uid = l.split("UID ").nth(1).unwrap();
            let uid: u32 = uid.split([' ', ')']).next().unwrap().parse().unwrap();
            let flags = l
                .split("FLAGS (")
                .nth(1)
                .unwrap()
                .split(')')
                .next()
                .unwrap();
            // `\Recent` is per session (the first to select holds it), not mailbox state.
            let mut flags: Vec<&str> = flags
                .split_whitespace()
                .filter(|f| *f != "\\Recent")
                .collect();
            flags.sort_unstable();
            (uid, flags.join(" "))
        })
        .collect()
}

#[test]
fn a_session_that_missed_more_changes_than_the_feed_keeps_catches_up() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut a = Client::login(server.imap_port, "alice");
    imap_support::fill_inbox(&mut a, 300, 300);
    assert!(last(&a.cmd("a0", "SELECT INBOX")).starts_with("a0 OK"));

    let mut b = Client::login(server.imap_port, "alice");
    assert!(last(&b.cmd("b0", "SELECT INBOX")).starts_with("b0 OK"));
    // 2,400 changes, each its own feed entry: flag changes on every message...
    for round in 0..4 {
        let mut batch = String::new();
        for n in 1..=300 {
            let flag = ["\\Seen", "\\Flagged", "$Work", "\\Answered"][round];
            batch.push_str(&format!(
                "s{round}.{n} STORE {n} +FLAGS.SILENT ({flag})\r\n"
            ));
        }
        b.send(batch.as_bytes());
        b.until(&format!("s{round}.300"));
    }
    // ...single appends, and expunges of old and of just-appended messages.
    imap_support::fill_inbox(&mut b, 600, 1);
    let mut batch = String::new();
    for n in (1..=1_000).step_by(3) {
        batch.push_str(&format!("d{n} UID STORE {n} +FLAGS.SILENT (\\Deleted)\r\n"));
    }
    b.send(batch.as_bytes());
    b.until("d997");
    assert!(last(&b.cmd("b1", "EXPUNGE")).starts_with("b1 OK"));
    imap_support::fill_inbox(&mut b, 700, 1);
    let truth = b.cmd("b2", "FETCH 1:* (UID FLAGS)");
    let truth_state = state(&truth);

    let r = a.cmd("a1", "NOOP");
    assert!(last(&r).starts_with("a1 OK"), "{}", last(&r));
    let exists: Vec<u32> = r
        .iter()
        .filter(|l| l.ends_with(" EXISTS\r\n"))
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    let expunged = r.iter().filter(|l| l.ends_with(" EXPUNGE\r\n")).count();
    assert_eq!(truth_state.len(), 1_300, "300 - 100 + 600 - 200 + 700");
    assert_eq!(exists.last().copied(), Some(1_300), "EXISTS is exact");
    assert_eq!(
        expunged, 100,
        "the expunged old messages (UIDs 1, 4, … 298)"
    );
    let mine = a.cmd("a2", "FETCH 1:* (UID FLAGS)");
    assert_eq!(state(&mine), truth_state, "same messages, same flags");
    // The log pipe is read by a thread: give it time to catch up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !server.log().contains("resynchronising from the index") {
        assert!(
            std::time::Instant::now() < deadline,
            "the lag path never ran:\n{}",
            server.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!server.log().contains("panicked"));
}
