//! Sequence sets with many items (issue 9 item 4): `FETCH 1:*,1:*,…` with 15,000 ranges on a
//! mailbox of thousands of messages answers every message once, in order, while another client
//! keeps being served; the same sets work for UID FETCH, STORE, SEARCH and COPY; a set with
//! more items than the parser allows gets a clear BAD; another session's STORE on every message
//! is reported back as one FETCH per message.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use imap_support::{last, Client};

const MESSAGES: usize = 2_000;

fn fetch_numbers(lines: &[String]) -> Vec<u32> {
    lines
        .iter()
        .filter(|l| l.starts_with("* ") && l.contains(" FETCH "))
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn fifteen_thousand_ranges_answer_each_message_once_while_others_are_served() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    server.add_user("bob", "pw-bob");
    let mut a = Client::login(server.imap_port, "alice");
    imap_support::fill_inbox(&mut a, MESSAGES, 500);
    assert!(last(&a.cmd("a0", "SELECT INBOX")).starts_with("a0 OK"));
    let many = vec!["1:*"; 15_000].join(",");
    a.send(format!("a1 FETCH {many} (UID)\r\n").as_bytes());
    // While that command runs, another client logs in and works.
    let mut b = Client::login(server.imap_port, "bob");
    assert!(last(&b.cmd("b1", "SELECT INBOX")).starts_with("b1 OK"));
    assert!(last(&b.cmd("b2", "LOGOUT")).starts_with("b2 OK"));
    let r = a.until("a1");
    assert!(last(&r).starts_with("a1 OK"), "{}", last(&r));
    let want: Vec<u32> = (1..=MESSAGES as u32).collect();
    assert_eq!(fetch_numbers(&r), want, "each message once, ascending");

    let scattered: Vec<String> = (0..10_000)
        .map(|i| format!("{}", (i * 7) % 1_999 + 1))
        .collect();
    let r = a.cmd(
        "a2",
        &format!("UID FETCH {},1:* (FLAGS)", scattered.join(",")),
    );
    assert_eq!(fetch_numbers(&r), want, "UID FETCH too");
    let r = a.cmd("a3", &format!("STORE {many} +FLAGS.SILENT (\\Flagged)"));
    assert!(last(&r).starts_with("a3 OK"), "{}", last(&r));
    let r = a.cmd("a4", &format!("SEARCH {many} FLAGGED"));
    let hits = r.iter().find(|l| l.starts_with("* SEARCH")).unwrap();
    assert_eq!(
        hits.split_whitespace().count() - 2,
        MESSAGES,
        "SEARCH finds every message"
    );
    let r = a.cmd("a5", &format!("UID SEARCH RETURN (COUNT) UID {many}"));
    assert!(r[0].contains(&format!("COUNT {MESSAGES}")), "{}", r[0]);
    assert!(last(&a.cmd("a6", "CREATE INBOX.copy")).starts_with("a6 OK"));
    let r = a.cmd("a7", &format!("COPY {many} INBOX.copy"));
    assert!(last(&r).starts_with("a7 OK [COPYUID"), "{}", last(&r));
    let r = a.cmd("a8", "STATUS INBOX.copy (MESSAGES)");
    assert!(r[0].contains(&format!("MESSAGES {MESSAGES}")), "{}", r[0]);
    assert!(!server.log().contains("panicked"));
}

#[test]
fn a_set_past_the_item_bound_gets_bad() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut a = Client::login(server.imap_port, "alice");
    imap_support::fill_inbox(&mut a, 2, 2);
    assert!(last(&a.cmd("a0", "SELECT INBOX")).starts_with("a0 OK"));
    let too_many = vec!["1"; imap_proto::limits::MAX_SEQUENCE_ITEMS + 1].join(",");
    let r = a.cmd("a1", &format!("FETCH {too_many} FLAGS"));
    assert!(last(&r).starts_with("a1 BAD"), "{}", last(&r));
    assert!(last(&r).contains("sequence set"), "{}", last(&r));
    let r = a.cmd("a2", "FETCH 1:*,3 FLAGS");
    assert!(last(&r).starts_with("a2 BAD"), "past EXISTS: {}", last(&r));
    assert!(last(&a.cmd("a3", "FETCH 2,1,1:2 FLAGS")).starts_with("a3 OK"));
}

#[test]
fn another_sessions_store_on_every_message_is_reported_once_per_message() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut a = Client::login(server.imap_port, "alice");
    imap_support::fill_inbox(&mut a, MESSAGES, 500);
    assert!(last(&a.cmd("a0", "SELECT INBOX")).starts_with("a0 OK"));
    let mut b = Client::login(server.imap_port, "alice");
    assert!(last(&b.cmd("b0", "SELECT INBOX")).starts_with("b0 OK"));
    assert!(last(&b.cmd("b1", "STORE 1:* +FLAGS.SILENT (\\Answered)")).starts_with("b1 OK"));
    let r = a.cmd("a1", "NOOP");
    let want: Vec<u32> = (1..=MESSAGES as u32).collect();
    assert_eq!(fetch_numbers(&r), want);
    assert!(r
        .iter()
        .filter(|l| l.contains(" FETCH "))
        .all(|l| l.contains("\\Answered")));
    assert!(last(&b.cmd("b2", "STORE 1:1000 +FLAGS.SILENT (\\Deleted)")).starts_with("b2 OK"));
    assert!(last(&b.cmd("b3", "EXPUNGE")).starts_with("b3 OK"));
    let r = a.cmd("a2", "NOOP");
    let expunges: Vec<&String> = r.iter().filter(|l| l.ends_with("EXPUNGE\r\n")).collect();
    assert_eq!(expunges.len(), 1_000);
    assert!(
        expunges.iter().all(|l| l.as_str() == "* 1 EXPUNGE\r\n"),
        "{:?}",
        &expunges[..3]
    );
}
