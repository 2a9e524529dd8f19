//! A real MTA in front: a private Postfix (tests/postfix_support) takes mail over SMTP and hands
//! it to the server over LMTP, through the UNIX socket (`lmtp:unix:`, the socket given to group
//! `postfix` with `lmtpsocket_group`) or TCP (`lmtp:inet:`). What arrives is read back over IMAP.
//! Proves: three users get the message byte for byte apart from the trace headers Postfix and
//! the server put on top; one message to fifty users is one file (one inode) in fifty INBOXes;
//! an over-quota user's copy waits in Postfix's queue (452 4.2.2) and arrives after the quota is
//! raised and the queue flushed; with DSN unadvertised, `NOTIFY=SUCCESS` brings the sender
//! Postfix's own report, "delivered" with `lmtp_assume_final = yes` and "relayed" without.
//! Each test prints whether Postfix sent DATA or BDAT and whether the server offered CHUNKING.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;
mod postfix_support;

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::time::Instant;

use postfix_support::{Postfix, Transport, DELIVERY_DEADLINE, DOMAIN};

/// A server with a private Postfix in front of it.
struct World {
    // Field order is drop order: Postfix stops before the server it delivers to.
    postfix: Postfix,
    server: common::Server,
}

#[derive(Clone, Copy)]
enum Via {
    UnixSocket,
    Tcp,
}

impl World {
    /// `None` when Postfix is not available here (the test is skipped with a note).
    /// `main_cf`: lines added to Postfix's main.cf.
    fn start(via: Via, users: &[String], main_cf: &str) -> Option<World> {
        if !postfix_support::available() {
            return None;
        }
        // Mode 0660 and group `postfix`: the socket setup docs/delivery.md gives for Postfix.
        let server =
            common::Server::start_with("lmtpsocket_group: postfix\nlmtpsocket_mode: 0660\n");
        for u in users.iter().map(String::as_str).chain(["admin"]) {
            server.add_user(u, &format!("pw-{u}"));
        }
        let socket = server.lmtp_socket();
        postfix_support::open_path_to(&socket, server.dir.path());
        let transport = match via {
            Via::UnixSocket => Transport::Unix(&socket),
            Via::Tcp => Transport::Inet(server.lmtp_port),
        };
        let postfix = Postfix::start(&transport, main_cf);
        Some(World { postfix, server })
    }

    fn failure(&self, what: &str) -> String {
        format!(
            "{what}\n{}\n--- server log\n{}",
            self.postfix.diagnostics(),
            self.server.log()
        )
    }

    /// Polls `user`'s INBOX until it holds `count` messages; `DELIVERY_DEADLINE` at most.
    fn wait_for(&self, user: &str, count: usize) {
        let deadline = Instant::now() + DELIVERY_DEADLINE;
        loop {
            let have = imap_support::inbox_count(self.server.imap_port, user);
            if have >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}",
                self.failure(&format!("{user} has {have} of {count} messages"))
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Polls `postqueue -p` until it shows `text`.
    fn wait_in_queue(&self, text: &str) -> String {
        let deadline = Instant::now() + DELIVERY_DEADLINE;
        loop {
            let queue = self.postfix.queue();
            if queue.contains(text) {
                return queue;
            }
            assert!(
                Instant::now() < deadline,
                "{}",
                self.failure(&format!("postqueue -p never showed {text:?}"))
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Notes in the test output what carried the content to the server (and whether it
    /// offered CHUNKING), so a run with and without BDAT can be told apart.
    fn note_content_command(&self) {
        let mut c = lmtp_support::Client::connect(self.server.lmtp_port);
        c.send(b"LHLO note.test\r\n");
        let lhlo = c.expect("250");
        let chunking = lhlo
            .lines()
            .any(|l| l.get(4..).is_some_and(|k| k.starts_with("CHUNKING")));
        let _ = writeln!(
            std::io::stderr(),
            "{}: Postfix's LMTP client sent {} (server offers CHUNKING: {})",
            std::thread::current().name().unwrap_or("postfix test"),
            self.postfix.content_commands(),
            if chunking { "yes" } else { "no" }
        );
    }
}

fn address(user: &str) -> String {
    format!("{user}@{DOMAIN}")
}

fn users(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// A message with the headers Postfix would otherwise add (Date, Message-ID) already there,
/// and lines whose bytes a careless relay changes: trailing blanks, a tab, an empty line.
fn message(tag: &str, to: &str) -> Vec<u8> {
    format!(
        "From: Sender <sender@{DOMAIN}>\r\n\
         To: {to}\r\n\
         Subject: {tag}\r\n\
         Date: Sun, 06 Dec 2026 12:00:00 +0000\r\n\
         Message-ID: <{tag}@client.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         X-Folded: one\r\n\
         \ttwo\r\n\
         \r\n\
         Body of {tag}, trailing blanks   \r\n\
         a\ttab\r\n\
         \r\n\
         last line\r\n"
    )
    .into_bytes()
}

/// Every message in `user`'s INBOX, as FETCH BODY.PEEK[] returns it.
fn inbox(port: u16, user: &str) -> Vec<Vec<u8>> {
    let lines = imap_support::run_ok(port, user, &["EXAMINE INBOX", "FETCH 1:* BODY.PEEK[]"]);
    let all = lines.concat().into_bytes();
    let mut messages = Vec::new();
    let mut rest = &all[..];
    while let Some(at) = find(rest, b"BODY[] {") {
        let after = &rest[at + 8..];
        let close = find(after, b"}\r\n").unwrap();
        let n: usize = std::str::from_utf8(&after[..close])
            .unwrap()
            .parse()
            .unwrap();
        let start = close + 3;
        messages.push(after[start..start + n].to_vec());
        rest = &after[start + n..];
    }
    messages
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Header fields a relay or delivery agent puts on top of a message (RFC 5321 §4.4 trace
/// fields, and Postfix's local-delivery ones).
const TRACE: [&str; 4] = ["return-path", "received", "delivered-to", "x-original-to"];

/// Splits off the trace fields at the top of `stored`: (their names in order, the rest).
fn split_trace(stored: &[u8]) -> (Vec<String>, &[u8]) {
    let mut names = Vec::new();
    let mut at = 0;
    loop {
        let rest = &stored[at..];
        let line_end = find(rest, b"\r\n").map_or(rest.len(), |e| e + 2);
        let line = &rest[..line_end];
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if continuation && !names.is_empty() {
            at += line_end;
            continue;
        }
        let name = line
            .iter()
            .position(|b| *b == b':')
            .map(|colon| String::from_utf8_lossy(&line[..colon]).to_ascii_lowercase());
        match name {
            Some(name) if TRACE.contains(&name.as_str()) => {
                names.push(name);
                at += line_end;
            }
            _ => return (names, rest),
        }
    }
}

/// Three users get the message; each copy is what was sent, below the trace fields, and one of
/// those is Postfix's Received.
fn three_users_read_back_byte_for_byte(via: Via) {
    let rcpts = users("reader", 3);
    let Some(world) = World::start(via, &rcpts, "") else {
        return;
    };
    let sent = message("three-users", &address("reader0"));
    let to: Vec<String> = rcpts.iter().map(|u| address(u)).collect();
    world.postfix.send(&address("sender"), &to, &sent, "", "");
    for user in &rcpts {
        world.wait_for(user, 1);
        let stored = inbox(world.server.imap_port, user);
        assert_eq!(stored.len(), 1, "{user}");
        let (trace, original) = split_trace(&stored[0]);
        assert_eq!(
            String::from_utf8_lossy(original),
            String::from_utf8_lossy(&sent),
            "{user}'s copy, below its trace fields {trace:?}"
        );
        let text = String::from_utf8_lossy(&stored[0]);
        assert!(
            trace.contains(&"received".to_string()) && text.contains(&format!("by {DOMAIN}")),
            "no Received from Postfix: {text}"
        );
    }
    world.note_content_command();
}

#[test]
fn three_users_over_the_unix_socket_read_back_byte_for_byte() {
    three_users_read_back_byte_for_byte(Via::UnixSocket);
}

#[test]
fn three_users_over_tcp_read_back_byte_for_byte() {
    three_users_read_back_byte_for_byte(Via::Tcp);
}

/// Postfix hands one message for fifty local users to the server in one LMTP transaction; the
/// single-instance store links one file into the fifty INBOXes.
#[test]
fn fifty_recipients_share_one_inode() {
    let rcpts = users("many", 50);
    let Some(world) = World::start(Via::UnixSocket, &rcpts, "") else {
        return;
    };
    let sent = message("fifty-recipients", "undisclosed-recipients:;");
    let to: Vec<String> = rcpts.iter().map(|u| address(u)).collect();
    world.postfix.send(&address("sender"), &to, &sent, "", "");
    for user in &rcpts {
        world.wait_for(user, 1);
    }
    let files = lmtp_support::message_files(&world.server.dir.path().join("spool"));
    let copies: Vec<_> = files
        .iter()
        .filter(|f| {
            std::fs::read(f)
                .unwrap()
                .windows(16)
                .any(|w| w == b"fifty-recipients")
        })
        .collect();
    assert_eq!(copies.len(), 50, "{copies:?}");
    let inodes: std::collections::BTreeSet<u64> = copies
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().ino())
        .collect();
    assert_eq!(inodes.len(), 1, "one inode for every copy: {inodes:?}");
    assert!(std::fs::metadata(copies[0]).unwrap().nlink() >= 50);
    world.note_content_command();
}

/// Over quota, the server answers 452 4.2.2 at RCPT: Postfix keeps the message in its queue
/// (the other recipient has it at once); after SETQUOTA raises the limit and `postqueue -f`
/// runs, it arrives and the queue is empty.
#[test]
fn over_quota_mail_waits_in_the_queue_until_the_quota_is_raised() {
    let rcpts = vec!["quinn".to_string(), "rita".to_string()];
    let Some(world) = World::start(Via::UnixSocket, &rcpts, "") else {
        return;
    };
    let port = world.server.imap_port;
    imap_support::run_ok(port, "admin", &["SETQUOTA user.quinn (STORAGE 1)"]);
    // Below the limit one message of any size is accepted: this one puts quinn over it.
    let filler = format!("Subject: filler\r\n\r\n{}\r\n", "x".repeat(4000));
    let replies = lmtp_support::deliver(world.server.lmtp_port, &["quinn"], filler.as_bytes());
    assert!(replies[0].starts_with("250 "), "{replies:?}");

    let sent = message("over-quota", &address("quinn"));
    let to = vec![address("quinn"), address("rita")];
    let id = world.postfix.send(&address("sender"), &to, &sent, "", "");
    world.wait_for("rita", 1);
    let queue = world.wait_in_queue("452 4.2.2");
    assert!(
        queue.contains(&id) && queue.contains(&address("quinn")) && !queue.contains("rita@"),
        "{queue}"
    );
    assert_eq!(
        imap_support::inbox_count(port, "quinn"),
        1,
        "only the filler"
    );

    imap_support::run_ok(port, "admin", &["SETQUOTA user.quinn (STORAGE 100000)"]);
    world.postfix.flush();
    world.wait_for("quinn", 2);
    let stored = inbox(port, "quinn");
    assert_eq!(split_trace(&stored[1]).1, &sent[..]);
    world.wait_in_queue("Mail queue is empty");
    world.note_content_command();
}

/// The server does not offer DSN (RFC 3461), as Cyrus does not: Postfix, not the server,
/// answers NOTIFY=SUCCESS, with a delivery-status report to the sender (itself delivered by
/// Postfix over LMTP, from `<>`) once the server took the message. Its action is `action`.
fn notify_success_report(main_cf: &str, action: &str) {
    let rcpts = vec!["sam".to_string(), "tess".to_string()];
    let Some(world) = World::start(Via::UnixSocket, &rcpts, main_cf) else {
        return;
    };
    let mut c = lmtp_support::Client::connect(world.server.lmtp_port);
    c.send(b"LHLO check.test\r\n");
    let lhlo = c.expect("250");
    assert!(
        !lhlo
            .lines()
            .any(|l| l.get(4..).is_some_and(|k| k.starts_with("DSN"))),
        "{lhlo}"
    );

    let sent = message("dsn-success", &address("tess"));
    world.postfix.send(
        &address("sam"),
        &[address("tess")],
        &sent,
        " RET=HDRS ENVID=dsn-envid-1",
        " NOTIFY=SUCCESS",
    );
    world.wait_for("tess", 1);
    assert_eq!(
        split_trace(&inbox(world.server.imap_port, "tess")[0]).1,
        &sent[..]
    );
    world.wait_for("sam", 1);
    let report = String::from_utf8_lossy(&inbox(world.server.imap_port, "sam")[0]).into_owned();
    for part in [
        "Return-Path: <>",
        "From: Mail Delivery System <MAILER-DAEMON@",
        "multipart/report; report-type=delivery-status",
        "Original-Envelope-Id: dsn-envid-1",
        &format!("Final-Recipient: rfc822; tess@{DOMAIN}"),
        &format!("Action: {action}"),
        "Status: 2.1.5",
        "Subject: dsn-success",
    ] {
        assert!(report.contains(part), "{part:?} missing from\n{report}");
    }
    world.note_content_command();
}

/// With `lmtp_assume_final = yes` (docs/delivery.md's setting) the report says `delivered`.
#[test]
fn notify_success_brings_postfix_delivered_report() {
    notify_success_report("lmtp_assume_final = yes\n", "delivered");
}

/// Postfix's default takes an LMTP server without DSN for a relay: the report says `relayed`.
#[test]
fn without_lmtp_assume_final_the_report_says_relayed() {
    notify_success_report("", "relayed");
}
