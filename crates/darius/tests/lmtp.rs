//! LMTP over real sockets: Python's smtplib.LMTP (tests/interop/lmtp_smtplib.py) for what a
//! client library sends, and a raw socket here for what smtplib cannot show — pipelining, one
//! reply per recipient after DATA, the single-instance store, sequence errors and limits.
#![allow(clippy::unwrap_used)]

mod common;
mod lmtp_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use lmtp_support::{deliver, message_files, rcpt_replies, Client};

fn server() -> common::Server {
    let server = common::Server::start_with("maxmessagesize: 10M\n");
    for (user, pw) in [
        ("alice", "pw-alice"),
        ("bob", "pw-bob"),
        ("carol", "pw-carol"),
    ] {
        server.add_user(user, pw);
    }
    server
}

#[test]
fn smtplib_lmtp_over_tcp_unix_socket_and_starttls() {
    let server = server();
    let cert = server.cert_path().display().to_string();
    common::run_python(&server, "lmtp_smtplib.py", &[("CERT", &cert)]);
}

#[test]
fn pipelined_transaction_gets_one_reply_per_recipient_and_one_shared_file() {
    let server = server();
    let mut c = Client::connect(server.lmtp_port);
    // Everything up to DATA in one write (PIPELINING, RFC 2920).
    c.send(
        b"LHLO client.test\r\nMAIL FROM:<s@example.org> BODY=8BITMIME\r\n\
          RCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\n\
          RCPT TO:<BOB>\r\nRCPT TO:<carol+x@elsewhere>\r\nDATA\r\n",
    );
    let lhlo = c.expect("250-");
    assert!(lhlo.contains("250-PIPELINING") && lhlo.contains("ENHANCEDSTATUSCODES"));
    c.expect("250 2.1.0");
    c.expect("250 2.1.5");
    c.expect("550 5.1.1");
    c.expect("250 2.1.5");
    c.expect("250 2.1.5");
    c.expect("354 ");
    c.send(b"Subject: shared\r\n\r\n..dot\r\nbody\r\n.\r\n");
    for _ in 0..3 {
        c.expect("250 2.1.5");
    }
    c.send(b"QUIT\r\n");
    c.expect("221 2.0.0");

    let files = message_files(&server.dir.path().join("spool"));
    assert_eq!(files.len(), 3, "{files:?}");
    let inodes: std::collections::HashSet<u64> = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().ino())
        .collect();
    assert_eq!(inodes.len(), 1, "one file hard-linked into three mailboxes");
    let stored = std::fs::read(&files[0]).unwrap();
    assert!(stored.starts_with(b"Return-Path: <s@example.org>\r\nReceived: from client.test"));
    assert!(
        stored.ends_with(b"\r\nSubject: shared\r\n\r\n.dot\r\nbody\r\n"),
        "{}",
        String::from_utf8_lossy(&stored)
    );
    assert!(
        !String::from_utf8_lossy(&stored).contains("for <"),
        "no recipient is named when there are several"
    );
}

#[test]
fn sequence_errors_and_refusals() {
    let server = server();
    let mut c = Client::connect(server.lmtp_port);
    c.send(b"MAIL FROM:<a@b>\r\n");
    c.expect("503 5.5.1");
    c.send(b"HELO x\r\n");
    c.expect("500 5.5.1");
    c.send(b"LHLO x\r\n");
    c.expect("250-");
    c.send(b"RCPT TO:<alice>\r\n");
    c.expect("503 5.5.1");
    c.send(b"DATA\r\n");
    c.expect("503 5.5.1");
    c.send(b"MAIL FROM:<a@b>\r\n");
    c.expect("250 2.1.0");
    c.send(b"MAIL FROM:<a@b>\r\n");
    c.expect("503 5.5.1");
    c.send(b"RCPT TO:<nobody>\r\n");
    c.expect("550 5.1.1");
    c.send(b"DATA\r\n");
    c.expect("503 5.5.1");
    // The transaction stays open after a DATA without recipients.
    c.send(b"RCPT TO:<alice>\r\n");
    c.expect("250 2.1.5");
    c.send(b"RSET\r\n");
    c.expect("250 2.0.0");
    c.send(b"MAIL FROM:<a@b> SIZE=20000000\r\n");
    c.expect("552 5.3.4");
    c.send(b"MAIL FROM:<a@b> FROBNICATE=1\r\n");
    c.expect("555 5.5.4");
    c.send(b"MAIL FROM:<a@b>\r\n");
    c.expect("250 2.1.0");
    c.send(b"RCPT TO:<alice> NOTIFY=NEVER\r\n");
    c.expect("555 5.5.4");
    // No recipient accepted: refused, its octets read all the same (RFC 3030 §2).
    c.send(b"BDAT 10 LAST\r\n0123456789");
    c.expect("503 5.5.1");
    c.send(b"FOO\r\n");
    c.expect("500 5.5.2");
    let long = format!("NOOP {}\r\n", "x".repeat(10_000));
    c.send(long.as_bytes());
    c.expect("500 5.5.2");
    c.send(b"NOOP\r\n");
    c.expect("250 2.0.0");
    c.send(b"QUIT\r\n");
    c.expect("221 ");
}

#[test]
fn a_message_with_nul_is_refused_for_every_recipient_and_nothing_is_stored() {
    let server = server();
    let mut c = Client::connect(server.lmtp_port);
    c.send(b"LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<alice>\r\nRCPT TO:<bob>\r\nDATA\r\n");
    c.expect("250-");
    c.expect("250 2.1.0");
    c.expect("250 2.1.5");
    c.expect("250 2.1.5");
    c.expect("354 ");
    c.send(b"Subject: nul\r\n\r\na\0b\r\n.\r\n");
    c.expect("554 5.6.0");
    c.expect("554 5.6.0");
    // The session goes on.
    c.send(b"NOOP\r\n");
    c.expect("250 ");
    assert!(message_files(&server.dir.path().join("spool")).is_empty());
}

#[test]
fn garbage_and_a_vanishing_client_leave_the_server_serving() {
    let server = server();
    for seed in 0u64..20 {
        let mut s = TcpStream::connect(("127.0.0.1", server.lmtp_port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut junk = Vec::new();
        if seed % 2 == 0 {
            junk.extend_from_slice(b"LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<alice>\r\nDATA\r\n");
        }
        for _ in 0..4096 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            junk.push((x >> 24) as u8);
        }
        let _ = s.write_all(&junk);
        // Half the clients vanish mid-stream; the others read whatever comes back.
        if seed % 3 != 0 {
            let _ = s.shutdown(std::net::Shutdown::Write);
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
    }
    let mut c = Client::connect(server.lmtp_port);
    c.send(
        b"LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<alice>\r\nDATA\r\nSubject: after\r\n\r\nok\r\n.\r\n",
    );
    c.expect("250-");
    c.expect("250 2.1.0");
    c.expect("250 2.1.5");
    c.expect("354 ");
    c.expect("250 2.1.5");
}

fn stored_count(server: &common::Server) -> usize {
    message_files(&server.dir.path().join("spool")).len()
}

#[test]
fn duplicate_deliveries_are_acknowledged_but_stored_once_per_mailbox() {
    let server = server();
    let m = b"Message-ID: <same@example.org>\r\nSubject: dup\r\n\r\nx\r\n";
    assert!(deliver(server.lmtp_port, &["alice"], m)[0].starts_with("250 2.1.5"));
    assert_eq!(stored_count(&server), 1);
    let replies = deliver(server.lmtp_port, &["alice", "bob"], m);
    assert!(
        replies.iter().all(|r| r.starts_with("250 2.1.5")),
        "{replies:?}"
    );
    assert_eq!(stored_count(&server), 2, "bob gets it, alice not again");
    // The server's stderr reaches the test through a pipe and a reader thread: allow it time.
    let needle = "dupelim: eliminated duplicate message to user.alice id <same@example.org>";
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !server.log().contains(needle) {
        assert!(
            std::time::Instant::now() < deadline,
            "no dupelim line:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // No Message-ID: nothing to recognise a duplicate by.
    let bare = b"Subject: no id\r\n\r\nx\r\n";
    deliver(server.lmtp_port, &["alice"], bare);
    deliver(server.lmtp_port, &["alice"], bare);
    assert_eq!(stored_count(&server), 4);
}

#[test]
fn duplicatesuppression_off_stores_every_copy() {
    let server = common::Server::start_with("duplicatesuppression: 0\n");
    server.add_user("alice", "pw");
    let m = b"Message-ID: <same@example.org>\r\nSubject: dup\r\n\r\nx\r\n";
    deliver(server.lmtp_port, &["alice"], m);
    deliver(server.lmtp_port, &["alice"], m);
    assert_eq!(stored_count(&server), 2);
}

/// Logs in over IMAP and runs `commands` in turn; returns every line the server sent after
/// the greeting.
fn imap(port: u16, user: &str, password: &str, commands: &[&str]) -> String {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let login = format!("LOGIN {user} {password}");
    let mut all = String::new();
    for (n, command) in std::iter::once(login.as_str())
        .chain(commands.iter().copied())
        .enumerate()
    {
        writer
            .write_all(format!("t{n} {command}\r\n").as_bytes())
            .unwrap();
        loop {
            line.clear();
            assert!(reader.read_line(&mut line).unwrap() > 0, "EOF");
            all.push_str(&line);
            if line.starts_with(&format!("t{n} ")) {
                assert!(line.starts_with(&format!("t{n} OK")), "{command}: {line}");
                break;
            }
        }
    }
    all
}

#[test]
fn rcpt_is_a_user_name_never_a_path_to_a_users_folder() {
    let server = server();
    imap(server.imap_port, "bob", "pw-bob", &["CREATE INBOX.secret"]);
    let replies = rcpt_replies(
        server.lmtp_port,
        &[
            "bob.secret@example.org",
            "bob.nosuch@example.org",
            "nobody@example.org",
            "bob/secret",
            "Bob.Secret",
            "bob*",
        ],
    );
    // Refused, and in the same words whether the folder exists or not: no oracle.
    for r in &replies {
        assert_eq!(r, &replies[2], "{replies:?}");
    }
    assert!(replies[2].starts_with("550 5.1.1 "), "{replies:?}");
    // `+detail` is no path either: it goes to the INBOX.
    let m = b"Subject: detail\r\n\r\nx\r\n";
    assert!(deliver(server.lmtp_port, &["bob+secret"], m)[0].starts_with("250 2.1.5"));
    let status = imap(
        server.imap_port,
        "bob",
        "pw-bob",
        &["STATUS INBOX (MESSAGES)", "STATUS INBOX.secret (MESSAGES)"],
    );
    assert!(
        status.contains("* STATUS INBOX (MESSAGES 1)")
            && status.contains("* STATUS INBOX.secret (MESSAGES 0)"),
        "{status}"
    );
}

#[test]
fn one_copy_per_mailbox_per_transaction_whatever_duplicatesuppression_says() {
    for suppression in ["1", "0"] {
        let server = common::Server::start_with(&format!("duplicatesuppression: {suppression}\n"));
        server.add_user("alice", "pw");
        server.add_user("bob", "pw");
        let with_id = b"Message-ID: <once@example.org>\r\nSubject: once\r\n\r\nx\r\n";
        let replies = deliver(
            server.lmtp_port,
            &[
                "alice",
                "alice",
                "ALICE@localhost",
                "alice+lists@example.org",
            ],
            with_id,
        );
        assert_eq!(replies.len(), 4);
        assert!(
            replies.iter().all(|r| r.starts_with("250 2.1.5")),
            "every recipient gets its own 250: {replies:?}"
        );
        assert_eq!(
            stored_count(&server),
            1,
            "duplicatesuppression {suppression}"
        );
        // Without a Message-ID the rule is the same: it is about one transaction.
        let bare = b"Subject: no id\r\n\r\nx\r\n";
        let replies = deliver(server.lmtp_port, &["alice", "bob", "Alice"], bare);
        assert!(
            replies.iter().all(|r| r.starts_with("250 2.1.5")),
            "{replies:?}"
        );
        assert_eq!(
            stored_count(&server),
            3,
            "duplicatesuppression {suppression}"
        );
    }
}

#[test]
fn strict_domains_accept_only_servername_and_the_local_domains() {
    let server = common::Server::start_with(
        "servername: mail.example.org\nlmtp_strict_domains: 1\n\
         lmtp_local_domains: example.net Example.COM\n",
    );
    server.add_user("alice", "pw");
    let replies = rcpt_replies(
        server.lmtp_port,
        &[
            "alice@mail.example.org",
            "alice@EXAMPLE.net",
            "alice+x@example.com",
            "alice",
            "alice@evil.example",
            "alice@[127.0.0.1]",
            "alice@example.net.evil.example",
        ],
    );
    for r in &replies[..4] {
        assert!(r.starts_with("250 2.1.5"), "{replies:?}");
    }
    for r in &replies[4..] {
        assert!(r.starts_with("550 5.1.1"), "{replies:?}");
    }
    // The default, as Cyrus without virtual domains: the domain is the MTA's business.
    let server = common::Server::start_with("servername: mail.example.org\n");
    server.add_user("alice", "pw");
    let replies = rcpt_replies(server.lmtp_port, &["alice@evil.example"]);
    assert!(replies[0].starts_with("250 2.1.5"), "{replies:?}");
}

#[test]
fn mailnotifier_log_reports_each_stored_message_once_and_no_duplicate() {
    let server = common::Server::start_with("mailnotifier: log\n");
    server.add_user("alice", "pw-alice");
    server.add_user("bob", "pw-bob");
    let message = b"Message-ID: <notify-1@example.org>\r\nSubject: n\r\n\r\nbody\r\n";
    let replies = deliver(server.lmtp_port, &["alice", "bob", "ALICE"], message);
    assert!(
        replies.iter().all(|r| r.starts_with("250 2.1.5")),
        "{replies:?}"
    );
    // Cyrus notifyd's log format: CLASS, PRIORITY, USER, MAILBOX, (OPTIONS) "MESSAGE", the
    // message being the event's JSON.
    for user in ["alice", "bob"] {
        let prefix = format!("notify: MAIL, normal, {user}, user.{user},  \"{{");
        assert!(server.logged(&prefix), "{}", server.log());
        assert!(
            server
                .log()
                .lines()
                .any(|l| l.contains(&prefix) && l.contains("\"event\":\"MessageNew\"")),
            "no event for {user}:\n{}",
            server.log()
        );
    }
    // A second delivery of the same message is suppressed: acknowledged, stored nowhere,
    // reported nowhere.
    deliver(server.lmtp_port, &["alice"], message);
    assert!(server.logged("dupelim: eliminated duplicate message to user.alice"));
    let log = server.log();
    let events: Vec<&str> = log.lines().filter(|l| l.contains("MessageNew")).collect();
    assert_eq!(events.len(), 2, "one event per stored message:\n{log}");
    assert!(
        events.iter().all(|l| l.contains("notify: MAIL, normal, ")
            && l.contains("\"vnd.darius.sender\":\"s@example.org\"")),
        "{events:?}"
    );
}

/// Sends `lines` one at a time over the UNIX socket; every reply (whole), in order.
fn over_unix_socket(server: &common::Server, lines: &[&str]) -> Vec<String> {
    let stream = std::os::unix::net::UnixStream::connect(server.lmtp_socket()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut read_reply = || {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            assert!(reader.read_line(&mut line).unwrap() > 0, "EOF");
            all.push_str(&line);
            if line.as_bytes().get(3) == Some(&b' ') {
                return all;
            }
        }
    };
    let mut replies = vec![read_reply()];
    for line in lines {
        writer.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        replies.push(read_reply());
    }
    replies
}

#[test]
fn the_unix_socket_is_trusted_to_name_the_deliverer_and_ignore_quota_unless_everyone_may_connect() {
    for (mode, trusted) in [("0660", true), ("0666", false)] {
        let server = common::Server::start_with(&format!("lmtpsocket_mode: {mode}\n"));
        server.add_user("admin", "pw-admin");
        server.add_user("bob", "pw-bob");
        imap(server.imap_port, "bob", "pw-bob", &["CREATE INBOX.private"]);
        imap(
            server.imap_port,
            "admin",
            "pw-admin",
            &["SETQUOTA user.bob (MESSAGE 1)"],
        );
        // At the limit one more is taken (Cyrus's delivery rule); then bob is over.
        for _ in 0..2 {
            deliver(server.lmtp_port, &["bob"], b"Subject: fill\r\n\r\nx\r\n");
        }
        let r = over_unix_socket(
            &server,
            &[
                "LHLO x",
                "MAIL FROM:<s@example.org> AUTH=bob",
                "RCPT TO:<bob+private> IGNOREQUOTA",
                "RCPT TO:<bob+private>",
            ],
        );
        assert_eq!(r[1].contains("IGNOREQUOTA"), trusted, "{mode}: {r:?}");
        assert!(
            r[2].starts_with("250 2.1.0"),
            "AUTH= is accepted either way: {r:?}"
        );
        if trusted {
            assert!(r[3].starts_with("250 2.1.5"), "{r:?}");
        } else {
            assert!(r[3].starts_with("555 5.7.1"), "{r:?}");
        }
        assert!(
            r[4].starts_with("452 4.2.2"),
            "quota still applies without IGNOREQUOTA: {r:?}"
        );
        if trusted {
            let r = over_unix_socket(
                &server,
                &[
                    "LHLO x",
                    "MAIL FROM:<s@example.org> AUTH=bob",
                    "RCPT TO:<bob+private> IGNOREQUOTA",
                    "DATA",
                    "Subject: as bob\r\n\r\nbody\r\n.",
                ],
            );
            assert!(r[5].starts_with("250 2.1.5"), "{r:?}");
            // bob holds p on his own folder: AUTH=bob made the detail reach it.
            let out = imap(
                server.imap_port,
                "bob",
                "pw-bob",
                &["STATUS INBOX.private (MESSAGES)"],
            );
            assert!(out.contains("MESSAGES 1"), "{out}");
        }
    }
}

#[test]
fn singleinstancestore_off_gives_each_mailbox_its_own_file() {
    let server = common::Server::start_with("singleinstancestore: 0\n");
    for user in ["alice", "bob", "carol"] {
        server.add_user(user, &format!("pw-{user}"));
    }
    let replies = deliver(
        server.lmtp_port,
        &["alice", "bob", "carol"],
        b"Subject: copies\r\n\r\nbody\r\n",
    );
    assert!(
        replies.iter().all(|r| r.starts_with("250 2.1.5")),
        "{replies:?}"
    );
    let files = message_files(&server.dir.path().join("spool"));
    assert_eq!(files.len(), 3, "{files:?}");
    let inodes: std::collections::HashSet<u64> = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().ino())
        .collect();
    assert_eq!(inodes.len(), 3, "one file each, no hard links");
    for f in &files {
        assert!(std::fs::read(f)
            .unwrap()
            .ends_with(b"\r\nSubject: copies\r\n\r\nbody\r\n"));
    }
}
