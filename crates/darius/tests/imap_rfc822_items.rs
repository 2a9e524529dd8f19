//! The RFC822.* FETCH items are their BODY equivalents under another name (issue 10, defect 3
//! and its siblings; RFC 3501 §6.4.5): RFC822 is BODY[], RFC822.TEXT is BODY[TEXT] (both set
//! `\Seen` and report FLAGS), RFC822.HEADER is BODY.PEEK[HEADER] (sets nothing). Each pair is
//! fetched from two identical messages, and the responses must be the same but for the name,
//! for plain, multipart, header-only and empty-body messages, read-write and read-only.
//! Then every other path that sends FLAGS carries the session's `\Recent`.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use imap_support::{last, Client};

const MESSAGES: [&str; 4] = [
    "From: a@example.org\r\nSubject: plain\r\n\r\nhello body\r\nsecond line\r\n",
    "From: a@example.org\r\nSubject: multi\r\nMIME-Version: 1.0\r\n\
     Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b\r\n\
     Content-Type: text/plain\r\n\r\npart one\r\n--b--\r\n",
    "From: a@example.org\r\nSubject: header only, no blank line\r\n",
    "From: a@example.org\r\nSubject: empty body\r\n\r\n",
];

/// The response to `command` with the message number and `name` replaced, so that the
/// answers for two messages and two item names can be compared.
fn normalised(c: &mut Client, tag: &str, command: &str, name: &str) -> String {
    let r = c.cmd(tag, command);
    assert!(
        last(&r).starts_with(&format!("{tag} OK")),
        "{command}: {r:?}"
    );
    let body: String = r[..r.len() - 1].concat();
    let rest = body.split_once(" FETCH (").unwrap().1;
    format!("* N FETCH ({}", rest.replacen(name, "ITEM", 1))
}

fn append_pairs(c: &mut Client) {
    for message in MESSAGES {
        for _ in 0..6 {
            let r = c.cmd(
                "ap",
                &format!("APPEND INBOX {{{}+}}\r\n{message}", message.len()),
            );
            assert!(last(&r).starts_with("ap OK"), "{r:?}");
        }
    }
}

/// (RFC822 item, BODY item) pairs, each answered alike.
const PAIRS: [(&str, &str); 3] = [
    ("RFC822.TEXT", "BODY[TEXT]"),
    ("RFC822", "BODY[]"),
    ("RFC822.HEADER", "BODY.PEEK[HEADER]"),
];

fn compare_pairs(c: &mut Client) {
    for (m, message) in MESSAGES.iter().enumerate() {
        for (p, (rfc822, body)) in PAIRS.iter().enumerate() {
            let first = (m * 6 + p * 2 + 1) as u32;
            let theirs = normalised(c, "r", &format!("FETCH {first} ({rfc822})"), rfc822);
            let label = body.replace(".PEEK", "");
            let ours = normalised(c, "b", &format!("FETCH {} ({body})", first + 1), &label);
            assert_eq!(theirs, ours, "{rfc822} vs {body} of {message:?}");
        }
    }
}

#[test]
fn rfc822_items_answer_exactly_as_their_body_sections() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = Client::login(server.imap_port, "alice");
    append_pairs(&mut c);
    let mut examine = Client::login(server.imap_port, "alice");
    let r = examine.cmd("e", "EXAMINE INBOX");
    assert!(last(&r).starts_with("e OK"), "{r:?}");
    compare_pairs(&mut examine);
    let r = examine.cmd("f", "FETCH 1:* (FLAGS)");
    assert!(
        !r.iter().any(|l| l.contains("\\Seen")),
        "EXAMINE sets nothing: {r:?}"
    );

    let r = c.cmd("s", "SELECT INBOX");
    assert!(last(&r).starts_with("s OK"), "{r:?}");
    compare_pairs(&mut c);
    let text = normalised(&mut c, "t", "FETCH 13 (RFC822.TEXT)", "RFC822.TEXT");
    assert!(text.starts_with("* N FETCH (ITEM \"\" "), "no body: {text}");
    // The bytes themselves, once: the body without the header.
    let plain = normalised(&mut c, "u", "FETCH 1 (RFC822.TEXT)", "RFC822.TEXT");
    assert_eq!(
        plain,
        "* N FETCH (ITEM {25}\r\nhello body\r\nsecond line\r\n FLAGS (\\Seen \\Recent))\r\n"
    );
    let r = c.cmd("f", "FETCH 1:6 (FLAGS)");
    let seen: Vec<bool> = r[..6].iter().map(|l| l.contains("\\Seen")).collect();
    assert_eq!(seen, [true, true, true, true, false, false], "{r:?}");
}

/// Flags reach a client by STORE answers, FETCH, and unsolicited FETCH after other sessions'
/// changes (of the mailbox's flags, or of a private `\Seen`); each carries `\Recent` where
/// this session holds it.
#[test]
fn every_flags_report_carries_the_sessions_recent_flag() {
    let mut server = common::Server::start();
    server.add_user("alice", "pw-alice");
    server.add_user("admin", "pw-admin");
    // Administrators read other users' mail only with `r` (Cyrus's semantics).
    server.grant_offline("user.alice", "admin", "lrs");
    let mut other = Client::login(server.imap_port, "alice");
    let message = MESSAGES[0];
    let r = other.cmd(
        "ap",
        &format!("APPEND INBOX {{{}+}}\r\n{message}", message.len()),
    );
    assert!(last(&r).starts_with("ap OK"), "{r:?}");
    let mut admin = Client::login(server.imap_port, "admin");
    let r = admin.cmd("s", "SELECT user.alice");
    assert!(r.iter().any(|l| l == "* 1 RECENT\r\n"), "{r:?}");
    let mut admin2 = Client::login(server.imap_port, "admin");
    assert!(last(&admin2.cmd("s", "SELECT user.alice")).starts_with("s OK"));

    // Another session changes the mailbox's flags: the unsolicited FETCH has \Recent.
    assert!(last(&other.cmd("o1", "SELECT INBOX")).starts_with("o1 OK"));
    assert!(last(&other.cmd("o2", "STORE 1 +FLAGS ($Work)")).starts_with("o2 OK"));
    let r = admin.cmd("n1", "NOOP");
    let fetch = r.iter().find(|l| l.contains(" FETCH (")).unwrap();
    assert!(
        fetch.contains("$Work") && fetch.contains("\\Recent"),
        "{r:?}"
    );
    // A private \Seen change by another session of the same user: the same.
    assert!(last(&admin2.cmd("a1", "STORE 1 +FLAGS.SILENT (\\Seen)")).starts_with("a1 OK"));
    let r = admin.cmd("n2", "NOOP");
    let fetch = r.iter().find(|l| l.contains(" FETCH (")).unwrap();
    assert!(
        fetch.contains("\\Seen") && fetch.contains("\\Recent"),
        "{r:?}"
    );
    // Its own STORE answer and FETCH.
    let r = admin.cmd("n3", "STORE 1 -FLAGS ($Work)");
    assert!(r[0].contains("\\Recent"), "{r:?}");
    let r = admin.cmd("n4", "FETCH 1 (FLAGS)");
    assert!(r[0].contains("\\Recent"), "{r:?}");
    // The owner's first read-write session claimed it for the owner, and holds it; the
    // sessions that did not claim it never see it.
    let r = other.cmd("o3", "FETCH 1 (FLAGS)");
    assert!(r[0].contains("\\Recent"), "{r:?}");
    let mut late = Client::login(server.imap_port, "alice");
    assert!(last(&late.cmd("l1", "SELECT INBOX")).starts_with("l1 OK"));
    let r = late.cmd("l2", "FETCH 1 (FLAGS)");
    assert!(!r.iter().any(|l| l.contains("\\Recent")), "{r:?}");
    let r = admin2.cmd("a2", "FETCH 1 (FLAGS)");
    assert!(!r.iter().any(|l| l.contains("\\Recent")), "{r:?}");
}
