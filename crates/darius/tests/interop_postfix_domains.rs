//! A real MTA in front of virtual domains (issue 20): a private Postfix (tests/postfix_support)
//! hosts one.example, two.example and three.example as virtual mailbox domains and hands all
//! their mail to the server over LMTP (`virtual_transport = lmtp:inet:…`), leaving recipient
//! validation to the server (`virtual_mailbox_maps` empty, so Postfix accepts every address of
//! those domains at SMTP time). The server (`virtdomains: userid`) has users in the first two
//! domains only. Proves: each domain's alice gets exactly her own mail, read back over IMAP as
//! `alice@DOMAIN`; a recipient of three.example, a domain with no mailbox here, is refused with
//! `550 5.1.2` and an unknown user of a hosted domain with `550 5.1.1`, both bounced by Postfix
//! to the sender with those status codes. Skipped without Postfix (or root) unless
//! DARIUS_REQUIRE_INTEROP=1.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;
mod postfix_support;

use std::time::{Duration, Instant};

use postfix_support::{Postfix, Transport, DELIVERY_DEADLINE};

/// Virtual domains by the login name; one.example and two.example get users below.
const SERVER_CONF: &str = "virtdomains: userid\ndefaultdomain: example.org\n";

/// The envelope sender, a user of one.example: Postfix's bounces come back to this INBOX.
const SENDER: &str = "sender@one.example";

/// Postfix's virtual mailbox domains, all routed to the server's LMTP port: every recipient
/// of them is accepted at SMTP time, and the server decides over LMTP.
fn virtual_domains_cf(lmtp_port: u16) -> String {
    format!(
        "virtual_mailbox_domains = one.example two.example three.example\n\
         virtual_mailbox_maps =\n\
         virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}\n"
    )
}

fn message(subject: &str, to: &str) -> Vec<u8> {
    format!(
        "From: Sender <{SENDER}>\r\n\
         To: {to}\r\n\
         Subject: {subject}\r\n\
         Date: Mon, 07 Dec 2026 12:00:00 +0000\r\n\
         Message-ID: <{subject}@client.test>\r\n\
         \r\n\
         Body of {subject}.\r\n"
    )
    .into_bytes()
}

/// The Subject of every message in `user`'s INBOX, in UID order.
fn inbox_subjects(port: u16, user: &str) -> Vec<String> {
    let lines = imap_support::run_ok(
        port,
        user,
        &[
            "EXAMINE INBOX",
            "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
        ],
    );
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("Subject: "))
        .map(|s| s.trim_end().to_string())
        .collect()
}

/// The whole of the first message in `user`'s INBOX.
fn first_message(port: u16, user: &str) -> String {
    let lines = imap_support::run_ok(port, user, &["EXAMINE INBOX", "FETCH 1 BODY.PEEK[]"]);
    let at = lines
        .iter()
        .position(|l| l.starts_with("* 1 FETCH"))
        .unwrap();
    String::from_utf8_lossy(&imap_support::fetched(&lines[at..])).into_owned()
}

/// Polls until Postfix's queue is empty and every user in `counts` has at least that many
/// messages; `DELIVERY_DEADLINE` at most.
fn wait_for_delivery(postfix: &Postfix, server: &common::Server, counts: &[(&str, usize)]) {
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    loop {
        let queue = postfix.queue();
        let short: Vec<(&str, usize)> = counts
            .iter()
            .map(|(user, want)| {
                (
                    *user,
                    imap_support::inbox_count(server.imap_port, user),
                    *want,
                )
            })
            .filter(|(_, have, want)| have < want)
            .map(|(user, have, _)| (user, have))
            .collect();
        if queue.contains("Mail queue is empty") && short.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still waiting for {short:?} of {counts:?}\n{}\n--- server log\n{}",
            postfix.diagnostics(),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The mail log's delivery line for `rcpt` (`to=<RCPT>, … status=…`).
fn log_line(postfix: &Postfix, rcpt: &str) -> String {
    let log = postfix.log();
    log.lines()
        .find(|l| l.contains(&format!("to=<{rcpt}>")) && l.contains(" status="))
        .unwrap_or_else(|| panic!("no delivery line for {rcpt}:\n{}", postfix.diagnostics()))
        .to_string()
}

#[test]
fn postfix_delivers_to_both_domains_through_virtual_transport_lmtp() {
    if !postfix_support::available() {
        return;
    }
    let server = common::Server::start_with(SERVER_CONF);
    for user in ["alice@one.example", "alice@two.example", SENDER] {
        server.add_user(user, &format!("pw-{user}"));
    }
    // Declared after the server, so dropped (stopped) before it.
    let postfix = Postfix::start(
        &Transport::Inet(server.lmtp_port),
        &virtual_domains_cf(server.lmtp_port),
    );

    let one = "alice@one.example".to_string();
    let two = "alice@two.example".to_string();
    let not_hosted = "nobody@three.example".to_string();
    let unknown = "nobody@one.example".to_string();
    postfix.send(
        SENDER,
        std::slice::from_ref(&one),
        &message("to-one", &one),
        "",
        "",
    );
    postfix.send(
        SENDER,
        std::slice::from_ref(&two),
        &message("to-two", &two),
        "",
        "",
    );
    // One message for all four: the server takes it for the two alices and refuses the others
    // at RCPT.
    let all = [
        one.clone(),
        two.clone(),
        not_hosted.clone(),
        unknown.clone(),
    ];
    postfix.send(SENDER, &all, &message("to-all", &all.join(", ")), "", "");

    wait_for_delivery(&postfix, &server, &[(&one, 2), (&two, 2), (SENDER, 1)]);
    let port = server.imap_port;
    assert_eq!(inbox_subjects(port, &one), ["to-one", "to-all"]);
    assert_eq!(inbox_subjects(port, &two), ["to-two", "to-all"]);

    // Postfix's log: every recipient went to the server's LMTP port (virtual_transport);
    // each alice's mail was taken, the others bounced on the server's RCPT replies.
    let relay = "postfix/lmtp[";
    let to_server = format!("relay=127.0.0.1[127.0.0.1]:{},", server.lmtp_port);
    for rcpt in [&one, &two] {
        let line = log_line(&postfix, rcpt);
        assert!(
            line.contains(relay) && line.contains(&to_server) && line.contains("status=sent"),
            "{line}"
        );
    }
    for (rcpt, code) in [(&not_hosted, "550 5.1.2"), (&unknown, "550 5.1.1")] {
        let line = log_line(&postfix, rcpt);
        assert!(
            line.contains(relay)
                && line.contains(&to_server)
                && line.contains("status=bounced")
                && line.contains(&format!("said: {code} "))
                && line.contains("in reply to RCPT TO command"),
            "{line}"
        );
    }

    // One report for the message, to the sender, delivered into their INBOX over LMTP.
    assert_eq!(imap_support::inbox_count(port, SENDER), 1);
    let report = first_message(port, SENDER);
    for part in [
        "Return-Path: <>",
        "multipart/report; report-type=delivery-status",
        &format!("Final-Recipient: rfc822; {not_hosted}"),
        "Status: 5.1.2",
        &format!("Final-Recipient: rfc822; {unknown}"),
        "Status: 5.1.1",
        "Action: failed",
        "Subject: to-all",
    ] {
        assert!(report.contains(part), "{part:?} missing from\n{report}");
    }
    assert!(
        !report.contains(&format!("Final-Recipient: rfc822; {one}"))
            && !report.contains(&format!("Final-Recipient: rfc822; {two}")),
        "only the refused recipients are reported:\n{report}"
    );
}
