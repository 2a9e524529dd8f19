//! `\Recent` over real sockets (issue 10, defect 2), with Cyrus's semantics: a message is
//! recent for exactly one session, the first read-write SELECT after its arrival (or the
//! read-write session that reports its arrival); EXAMINE and STATUS report the count without
//! claiming. RFC 3501 §2.3.2 (the flag), §6.3.1/§6.3.2 (RECENT in SELECT/EXAMINE), §6.3.10
//! (STATUS RECENT), §6.4.4 (SEARCH RECENT/NEW/OLD), §7.3.2 (`* n RECENT` when the mailbox
//! grows); RFC 9051 §2.3.2 removes all of it after ENABLE IMAP4rev2.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;

use imap_support::{last, Client};

fn server() -> common::Server {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    server
}

/// `* n RECENT` of a response, if any.
fn recent(lines: &[String]) -> Option<u32> {
    lines
        .iter()
        .find(|l| l.starts_with("* ") && l.trim_end().ends_with(" RECENT"))
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
}

/// The numbers of an untagged SEARCH response.
fn search(lines: &[String]) -> Vec<u32> {
    let line = lines.iter().find(|l| l.starts_with("* SEARCH")).unwrap();
    line["* SEARCH".len()..]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

/// Sequence numbers whose FETCH FLAGS hold `\Recent`.
fn flagged_recent(lines: &[String]) -> Vec<u32> {
    lines
        .iter()
        .filter(|l| l.contains(" FETCH (") && l.contains("\\Recent"))
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
        .collect()
}

fn ok(lines: Vec<String>, tag: &str) -> Vec<String> {
    assert!(last(&lines).starts_with(&format!("{tag} OK")), "{lines:?}");
    lines
}

/// One message delivered by LMTP to `rcpt`'s INBOX.
fn lmtp_deliver(port: u16, rcpt: &str) {
    let replies = lmtp_support::deliver(port, &[rcpt], b"Subject: delivered\r\n\r\nby LMTP\r\n");
    assert!(replies[0].starts_with("250 "), "{replies:?}");
}

fn append(c: &mut Client, mailbox: &str, n: usize) {
    for i in 0..n {
        let body = format!("Subject: r{i}\r\n\r\nbody {i}\r\n");
        let r = c.cmd(
            "ap",
            &format!("APPEND {mailbox} {{{}+}}\r\n{body}", body.len()),
        );
        ok(r, "ap");
    }
}

#[test]
fn the_first_read_write_select_claims_and_examine_and_status_only_look() {
    let server = server();
    let mut delivery = Client::login(server.imap_port, "alice");
    append(&mut delivery, "INBOX", 3);
    let mut a = Client::login(server.imap_port, "alice");
    let mut b = Client::login(server.imap_port, "alice");

    // EXAMINE reports and flags them, and leaves them for the next SELECT.
    let r = ok(a.cmd("a1", "EXAMINE INBOX"), "a1");
    assert_eq!(recent(&r), Some(3), "{r:?}");
    let r = ok(a.cmd("a2", "FETCH 1:* (FLAGS)"), "a2");
    assert_eq!(flagged_recent(&r), [1, 2, 3], "{r:?}");
    let r = ok(b.cmd("b1", "STATUS INBOX (RECENT MESSAGES)"), "b1");
    assert!(
        r[0].contains("RECENT 3"),
        "STATUS does not claim either: {r:?}"
    );

    // The first read-write SELECT claims them; SEARCH sees them.
    let r = ok(a.cmd("a3", "SELECT INBOX"), "a3");
    assert_eq!(recent(&r), Some(3), "{r:?}");
    ok(a.cmd("a4", "STORE 2 +FLAGS.SILENT (\\Seen)"), "a4");
    assert_eq!(search(&ok(a.cmd("a5", "SEARCH RECENT"), "a5")), [1, 2, 3]);
    assert_eq!(search(&ok(a.cmd("a6", "SEARCH NEW"), "a6")), [1, 3]);
    assert!(search(&ok(a.cmd("a7", "SEARCH OLD"), "a7")).is_empty());
    let r = ok(a.cmd("a8", "STORE 1 +FLAGS (\\Flagged)"), "a8");
    assert_eq!(
        flagged_recent(&r),
        [1],
        "STORE's FETCH carries \\Recent too: {r:?}"
    );
    let r = ok(a.cmd("a9", "STATUS INBOX (RECENT)"), "a9");
    assert!(r[0].contains("RECENT 3"), "the session's own count: {r:?}");
    // "This flag can not be altered by the client", nor offered as a permanent flag.
    let r = a.cmd("a10", "STORE 1 -FLAGS (\\Recent)");
    assert!(last(&r).starts_with("a10 BAD"), "{r:?}");
    let r = ok(a.cmd("a11", "SELECT INBOX"), "a11");
    assert!(
        !r.iter()
            .any(|l| l.contains("FLAGS") && l.contains("\\Recent")),
        "{r:?}"
    );
    // Selecting again opens the mailbox anew: what was claimed is claimed (as in Cyrus).
    assert_eq!(recent(&r), Some(0), "{r:?}");

    // Nobody else sees them recent any more.
    let r = ok(b.cmd("b2", "SELECT INBOX"), "b2");
    assert_eq!(recent(&r), Some(0), "{r:?}");
    let r = ok(b.cmd("b3", "FETCH 1:* (FLAGS)"), "b3");
    assert!(flagged_recent(&r).is_empty(), "{r:?}");
    assert!(search(&ok(b.cmd("b4", "SEARCH RECENT"), "b4")).is_empty());
    assert_eq!(search(&ok(b.cmd("b5", "SEARCH OLD"), "b5")), [1, 2, 3]);
    let r = ok(delivery.cmd("d1", "STATUS INBOX (RECENT)"), "d1");
    assert!(r[0].contains("RECENT 0"), "{r:?}");
    let r = ok(delivery.cmd("d2", "EXAMINE INBOX"), "d2");
    assert_eq!(recent(&r), Some(0), "{r:?}");
}

#[test]
fn a_new_arrival_is_recent_in_the_read_write_session_that_reports_it_first() {
    let server = server();
    let mut delivery = Client::login(server.imap_port, "alice");
    append(&mut delivery, "INBOX", 1);
    let mut a = Client::login(server.imap_port, "alice");
    let mut b = Client::login(server.imap_port, "alice");
    ok(a.cmd("a1", "SELECT INBOX"), "a1");
    let r = ok(b.cmd("b1", "SELECT INBOX"), "b1");
    assert_eq!(recent(&r), Some(0), "a claimed the first one");

    append(&mut delivery, "INBOX", 2);
    let r = ok(a.cmd("a2", "NOOP"), "a2");
    let exists = r.iter().position(|l| l.ends_with(" EXISTS\r\n")).unwrap();
    assert_eq!(
        r[exists + 1],
        "* 3 RECENT\r\n",
        "RECENT follows EXISTS: {r:?}"
    );
    let r = ok(a.cmd("a3", "FETCH 1:* (FLAGS)"), "a3");
    assert_eq!(flagged_recent(&r), [1, 2, 3], "{r:?}");
    let r = ok(b.cmd("b2", "NOOP"), "b2");
    assert!(r.iter().any(|l| l == "* 3 EXISTS\r\n"), "{r:?}");
    assert_eq!(recent(&r), Some(0), "{r:?}");

    // In IDLE the news of an LMTP delivery comes at once, RECENT with it.
    b.send(b"b3 IDLE\r\n");
    assert!(b.line().starts_with('+'));
    lmtp_deliver(server.lmtp_port, "alice");
    assert_eq!(b.line(), "* 4 EXISTS\r\n");
    assert_eq!(b.line(), "* 1 RECENT\r\n");
    b.send(b"DONE\r\n");
    ok(b.until("b3"), "b3");
    let r = ok(a.cmd("a4", "NOOP"), "a4");
    assert_eq!(recent(&r), Some(3), "b took the fourth: {r:?}");

    // A read-only session sees what nobody claimed, without claiming it.
    let mut c = Client::login(server.imap_port, "alice");
    ok(c.cmd("c1", "EXAMINE INBOX"), "c1");
    append(&mut delivery, "INBOX", 1);
    let r = ok(c.cmd("c2", "NOOP"), "c2");
    assert_eq!(recent(&r), Some(1), "{r:?}");
    let r = ok(a.cmd("a5", "NOOP"), "a5");
    assert_eq!(
        recent(&r),
        Some(4),
        "still there for a read-write session: {r:?}"
    );
}

#[test]
fn append_copy_and_move_make_the_new_messages_recent_in_the_target() {
    let server = server();
    let mut a = Client::login(server.imap_port, "alice");
    ok(a.cmd("a0", "CREATE INBOX.Other"), "a0");
    append(&mut a, "INBOX", 3);
    ok(a.cmd("a1", "SELECT INBOX"), "a1");
    let body = "Subject: own\r\n\r\nx\r\n";
    let r = a.cmd("a2", &format!("APPEND INBOX {{{}+}}\r\n{body}", body.len()));
    assert_eq!(
        recent(&ok(r, "a2")),
        Some(4),
        "APPEND into the selected mailbox"
    );
    ok(a.cmd("a3", "COPY 1:2 INBOX.Other"), "a3");
    ok(a.cmd("a4", "MOVE 3 INBOX.Other"), "a4");
    let mut b = Client::login(server.imap_port, "alice");
    let r = ok(b.cmd("b1", "SELECT INBOX.Other"), "b1");
    assert_eq!(recent(&r), Some(3), "{r:?}");
    let r = ok(b.cmd("b2", "FETCH 1:* (FLAGS)"), "b2");
    assert_eq!(flagged_recent(&r), [1, 2, 3], "{r:?}");
}

#[test]
fn after_enable_imap4rev2_nothing_recent_is_sent_or_claimed() {
    let server = server();
    let mut delivery = Client::login(server.imap_port, "alice");
    append(&mut delivery, "INBOX", 2);
    let mut a = Client::login(server.imap_port, "alice");
    ok(a.cmd("a0", "ENABLE IMAP4rev2"), "a0");
    let r = ok(a.cmd("a1", "SELECT INBOX"), "a1");
    assert_eq!(recent(&r), None, "{r:?}");
    let r = ok(a.cmd("a2", "FETCH 1:* (FLAGS)"), "a2");
    assert!(!r.iter().any(|l| l.contains("\\Recent")), "{r:?}");
    for (tag, key) in [("s1", "RECENT"), ("s2", "NEW"), ("s3", "OLD")] {
        let r = a.cmd(tag, &format!("SEARCH {key}"));
        assert!(last(&r).starts_with(&format!("{tag} BAD")), "{key}: {r:?}");
    }
    let r = a.cmd("s4", "STATUS INBOX (RECENT)");
    assert!(last(&r).starts_with("s4 BAD"), "{r:?}");
    let r = a.cmd("s5", "LIST \"\" INBOX RETURN (STATUS (RECENT))");
    assert!(last(&r).starts_with("s5 BAD"), "{r:?}");
    append(&mut delivery, "INBOX", 1);
    let r = ok(a.cmd("a3", "NOOP"), "a3");
    assert!(r.iter().any(|l| l == "* 3 EXISTS\r\n"), "{r:?}");
    assert_eq!(recent(&r), None, "{r:?}");

    // It claimed nothing: an IMAP4rev1 session still gets all three.
    let mut b = Client::login(server.imap_port, "alice");
    let r = ok(b.cmd("b1", "SELECT INBOX"), "b1");
    assert_eq!(recent(&r), Some(3), "{r:?}");
}

#[test]
fn an_administrator_has_a_recent_mark_of_their_own() {
    let mut server = server();
    server.add_user("admin", "pw-admin");
    // Administrators read other users' mail only with `r` (Cyrus's semantics).
    server.grant_offline("user.alice", "admin", "lrs");
    let mut alice = Client::login(server.imap_port, "alice");
    append(&mut alice, "INBOX", 2);
    ok(alice.cmd("a1", "SELECT INBOX"), "a1");
    let mut admin = Client::login(server.imap_port, "admin");
    let r = ok(admin.cmd("m1", "SELECT user.alice"), "m1");
    assert_eq!(
        recent(&r),
        Some(2),
        "the owner's claim is not the admin's: {r:?}"
    );
    let r = ok(admin.cmd("m2", "SELECT user.alice"), "m2");
    assert_eq!(recent(&r), Some(0), "{r:?}");
}

#[test]
fn imaplib_recent_reports_the_count() {
    let server = server();
    common::run_python(&server, "imaplib_recent.py", &[]);
}
