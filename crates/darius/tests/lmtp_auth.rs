//! LMTP AUTH (RFC 4954) over real sockets: advertised only with `lmtp_auth` and only on the
//! UNIX socket (and TLS, see `lmtp_smtplib.rs` and the lmtptest case below), never on plain
//! TCP; PLAIN over the socket; a wrong password `535 5.7.8`, a cancelled exchange `501`, AUTH
//! twice or inside a transaction `503`; and the authenticated identity deciding `+detail`
//! delivery: a folder where only the authenticated user holds `p` gets the mail with AUTH, the
//! INBOX without. Then Cyrus's `lmtptest` delivers with AUTH (PLAIN, and SCRAM-SHA-256 with
//! its several challenges) over STARTTLS, and without AUTH on plain TCP.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;

use base64::Engine as _;
use lmtp_support::Client;

const WITH_AUTH: &str = "lmtp_auth: 1\nauth_failure_delay: 0\n";

fn server(extra: &str) -> common::Server {
    let server = common::Server::start_with(extra);
    for user in ["bob", "carol"] {
        server.add_user(user, &format!("pw-{user}"));
    }
    server
}

fn plain(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

/// The MESSAGES count of `mailbox`, as bob sees it.
fn messages(server: &common::Server, mailbox: &str) -> u32 {
    let lines = imap_support::run_ok(
        server.imap_port,
        "bob",
        &[&format!("STATUS {mailbox} (MESSAGES)")],
    );
    let line = lines.iter().find(|l| l.starts_with("* STATUS")).unwrap();
    let n = line.rsplit("MESSAGES ").next().unwrap();
    n.trim_end().trim_end_matches(')').parse().unwrap()
}

#[test]
fn auth_is_advertised_only_with_the_option_and_never_on_plain_tcp() {
    let without = server("");
    let mut c = Client::connect_unix(&without.lmtp_socket());
    c.send(b"LHLO x\r\n");
    let lhlo = c.expect("250-");
    assert!(!lhlo.contains("AUTH"), "{lhlo}");
    c.send(format!("AUTH PLAIN {}\r\n", plain("bob", "pw-bob")).as_bytes());
    c.expect("502 5.5.1");

    let with = server(WITH_AUTH);
    let mut tcp = Client::connect(with.lmtp_port);
    tcp.send(b"LHLO x\r\n");
    let lhlo = tcp.expect("250-");
    assert!(!lhlo.contains("AUTH"), "plain TCP: {lhlo}");
    tcp.send(format!("AUTH PLAIN {}\r\n", plain("bob", "pw-bob")).as_bytes());
    tcp.expect("538 5.7.11");
    let mut unix = Client::connect_unix(&with.lmtp_socket());
    unix.send(b"LHLO x\r\n");
    let lhlo = unix.expect("250-");
    let auth_line = lhlo
        .lines()
        .find(|l| l.starts_with("250-AUTH ") || l.starts_with("250 AUTH "))
        .unwrap_or_else(|| panic!("no AUTH on the socket: {lhlo}"));
    assert!(auth_line.split(' ').any(|m| m == "PLAIN"), "{auth_line}");
    assert!(!auth_line.contains("ANONYMOUS"), "{auth_line}");
}

#[test]
fn plain_over_the_unix_socket_with_failures_cancel_and_sequence_errors() {
    let server = server(WITH_AUTH);
    let mut c = Client::connect_unix(&server.lmtp_socket());
    c.send(b"LHLO x\r\n");
    c.expect("250-");
    c.send(format!("AUTH PLAIN {}\r\n", plain("bob", "wrong")).as_bytes());
    c.expect("535 5.7.8");
    // Without an initial response: an empty challenge, then the response; `*` cancels.
    c.send(b"AUTH PLAIN\r\n");
    assert_eq!(c.reply(), "334");
    c.send(b"*\r\n");
    c.expect("501 5.7.0");
    c.send(b"AUTH NOSUCH-MECH\r\n");
    c.expect("504 5.5.4");
    c.send(b"MAIL FROM:<>\r\n");
    c.expect("250 2.1.0");
    c.send(format!("AUTH PLAIN {}\r\n", plain("bob", "pw-bob")).as_bytes());
    c.expect("503 5.5.1");
    c.send(b"RSET\r\nAUTH PLAIN\r\n");
    c.expect("250 ");
    assert_eq!(c.reply(), "334");
    c.send(format!("{}\r\n", plain("bob", "pw-bob")).as_bytes());
    c.expect("235 2.7.0");
    c.send(format!("AUTH PLAIN {}\r\n", plain("bob", "pw-bob")).as_bytes());
    c.expect("503 5.5.1");
    c.send(b"LHLO x\r\n");
    let lhlo = c.expect("250-");
    assert!(!lhlo.contains("AUTH "), "not offered again: {lhlo}");
    assert!(server.logged("bob"), "{}", server.log());
}

#[test]
fn too_many_failed_exchanges_close_the_session() {
    let server = server(WITH_AUTH);
    let mut c = Client::connect_unix(&server.lmtp_socket());
    c.send(b"LHLO x\r\n");
    c.expect("250-");
    for _ in 0..2 {
        c.send(format!("AUTH PLAIN {}\r\n", plain("bob", "wrong")).as_bytes());
        c.expect("535 5.7.8");
    }
    c.send(format!("AUTH PLAIN {}\r\n", plain("bob", "wrong")).as_bytes());
    c.expect("535 5.7.8");
    c.expect("421 4.7.0");
}

/// Delivers to bob+private over the socket, authenticated as `user` (or not).
fn deliver_to_private(server: &common::Server, user: Option<&str>) {
    let mut c = Client::connect_unix(&server.lmtp_socket());
    c.send(b"LHLO x\r\n");
    c.expect("250-");
    if let Some(user) = user {
        c.send(format!("AUTH PLAIN {}\r\n", plain(user, &format!("pw-{user}"))).as_bytes());
        c.expect("235 2.7.0");
    }
    // MAIL AUTH= names someone else: after AUTH it is only logged.
    c.send(b"MAIL FROM:<s@example.org> AUTH=carol\r\nRCPT TO:<bob+private>\r\nDATA\r\n");
    c.expect("250 2.1.0");
    c.expect("250 2.1.5");
    c.expect("354 ");
    c.send(b"Subject: private\r\n\r\nbody\r\n.\r\n");
    c.expect("250 2.1.5");
}

#[test]
fn the_authenticated_identity_decides_the_detail_folder() {
    let server = server(WITH_AUTH);
    // Only bob (the owner) holds p on his folder.
    imap_support::run_ok(server.imap_port, "bob", &["CREATE INBOX.private"]);
    deliver_to_private(&server, Some("bob"));
    assert_eq!(messages(&server, "INBOX.private"), 1);
    assert_eq!(messages(&server, "INBOX"), 0);
    // Authenticated as carol, who holds no right there: the INBOX. (On this socket without
    // AUTH, the trusted client's MAIL AUTH=carol would name the deliverer.)
    deliver_to_private(&server, Some("carol"));
    assert_eq!(messages(&server, "INBOX.private"), 1);
    assert_eq!(messages(&server, "INBOX"), 1);
    assert!(server.logged("MAIL AUTH=carol ignored: delivering as bob"));
}

/// Cyrus's lmtptest (`imtest` as LMTP): delivers a message and quits; returns the transcript.
fn lmtptest(args: &[&str], host: &str, port: u16) -> String {
    common::imtest::transcript(
        LMTPTEST,
        args,
        &[],
        host,
        port,
        b"MAIL FROM:<s@example.org>\r\nRCPT TO:<bob+private>\r\nDATA\r\n\
          Subject: lmtptest\r\n\r\nbody\r\n.\r\nQUIT\r\n",
    )
}

const LMTPTEST: &str = "/usr/lib/cyrus/bin/lmtptest";

#[test]
fn cyrus_lmtptest_delivers_with_and_without_auth() {
    if !common::imtest::installed(&[(LMTPTEST, "cyrus-clients")]) {
        return;
    }
    let server = server(WITH_AUTH);
    imap_support::run_ok(server.imap_port, "bob", &["CREATE INBOX.private"]);
    // Over STARTTLS, authenticated as bob: his folder.
    let with = lmtptest(
        &[
            "-t", "", "-m", "PLAIN", "-a", "bob", "-u", "bob", "-w", "pw-bob",
        ],
        "localhost",
        server.lmtp_port,
    );
    assert!(with.contains("Authenticated."), "{with}");
    assert!(with.contains("250 2.1.5 Ok"), "{with}");
    assert_eq!(messages(&server, "INBOX.private"), 1, "{with}");
    // On plain TCP no AUTH is offered and the one lmtptest tries anyway is refused; it
    // delivers unauthenticated, as anonymous, so the INBOX.
    let without = lmtptest(
        &["-m", "login", "-a", "bob", "-w", "x"],
        "127.0.0.1",
        server.lmtp_port,
    );
    assert!(without.contains("S: 538 5.7.11"), "{without}");
    assert!(!without.contains("Authenticated."), "{without}");
    assert!(without.contains("250 2.1.5 Ok"), "{without}");
    assert_eq!(messages(&server, "INBOX"), 1, "{without}");
    // SCRAM-SHA-256 over STARTTLS: several challenges, and the server's proof sent as a last
    // challenge that the client answers with an empty line.
    let scram = lmtptest(
        &[
            "-t",
            "",
            "-m",
            "SCRAM-SHA-256",
            "-a",
            "bob",
            "-u",
            "bob",
            "-w",
            "pw-bob",
        ],
        "localhost",
        server.lmtp_port,
    );
    assert!(scram.contains("Authenticated."), "{scram}");
    assert_eq!(messages(&server, "INBOX.private"), 2, "{scram}");
}

#[test]
fn an_administrator_who_authenticated_may_name_the_deliverer_and_ignore_quota_others_may_not() {
    let server = server(WITH_AUTH);
    server.add_user("admin", "pw-admin");
    imap_support::run_ok(server.imap_port, "bob", &["CREATE INBOX.private"]);
    for (user, trusted) in [("admin", true), ("carol", false)] {
        let mut c = Client::connect_unix(&server.lmtp_socket());
        c.send(b"LHLO x\r\n");
        assert!(
            c.expect("250-").contains("IGNOREQUOTA"),
            "the socket is trusted"
        );
        c.send(format!("AUTH PLAIN {}\r\n", plain(user, &format!("pw-{user}"))).as_bytes());
        c.expect("235 2.7.0");
        c.send(b"LHLO x\r\n");
        let lhlo = c.expect("250-");
        assert_eq!(lhlo.contains("IGNOREQUOTA"), trusted, "{user}: {lhlo}");
        c.send(b"MAIL FROM:<s@example.org> AUTH=bob\r\nRCPT TO:<bob+private> IGNOREQUOTA\r\n");
        c.expect("250 2.1.0");
        if trusted {
            c.expect("250 2.1.5");
            c.send(b"DATA\r\n");
            c.expect("354 ");
            c.send(b"Subject: as bob\r\n\r\nbody\r\n.\r\n");
            c.expect("250 2.1.5");
        } else {
            c.expect("555 5.7.1");
        }
    }
    // AUTH=bob from the administrator reached the folder only bob may post to.
    assert_eq!(messages(&server, "INBOX.private"), 1);
    assert_eq!(messages(&server, "INBOX"), 0);
}
