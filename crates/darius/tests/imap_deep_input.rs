//! Input whose shape drives recursion or per-character work (issue 9 item 1): wildcard runs in
//! LIST and LSUB patterns, unparenthesised `OR OR …` and `NOT NOT …` chains, deep parentheses,
//! long section paths and deep extension values. Each gets a clear answer over the socket and
//! the server keeps serving everyone.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use imap_support::{last, Client};

fn server() -> common::Server {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    server
}

/// A fresh session still logs in and lists: the process survived.
fn still_serving(server: &common::Server) {
    let mut c = Client::login(server.imap_port, "alice");
    let r = c.cmd("z1", "LIST \"\" *");
    assert!(last(&r).starts_with("z1 OK"), "{r:?}");
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

#[test]
fn list_with_thirty_thousand_stars_gets_bad_and_the_server_stays_up() {
    let server = server();
    let mut c = Client::login(server.imap_port, "alice");
    let r = c.cmd("a1", &format!("LIST \"\" {}", "*".repeat(30_000)));
    assert!(last(&r).starts_with("a1 BAD"), "{r:?}");
    assert!(
        last(&r).contains("pattern"),
        "the reason names the pattern: {r:?}"
    );
    let r = c.cmd("a2", &format!("LSUB \"\" {}", "%*".repeat(15_000)));
    assert!(last(&r).starts_with("a2 BAD"), "{r:?}");
    let r = c.cmd("a3", &format!("LIST \"{}\" %", "*".repeat(30_000)));
    assert!(
        last(&r).starts_with("a3 BAD"),
        "a long reference too: {r:?}"
    );
    assert!(last(&c.cmd("a4", "NOOP")).starts_with("a4 OK"));
    still_serving(&server);
}

#[test]
fn runs_of_wildcards_below_the_limit_still_match_as_one() {
    let server = server();
    let mut c = Client::login(server.imap_port, "alice");
    assert!(last(&c.cmd("a1", "CREATE INBOX.a.b")).starts_with("a1 OK"));
    let r = c.cmd("a2", &format!("LIST \"\" INBOX{}b", "*%".repeat(300)));
    assert!(last(&r).starts_with("a2 OK"), "{r:?}");
    assert_eq!(r.len(), 2, "exactly INBOX.a.b: {r:?}");
    assert!(r[0].contains("INBOX.a.b"), "{r:?}");
    let r = c.cmd("a3", &format!("LIST \"\" INBOX{}b", "%".repeat(600)));
    assert_eq!(r.len(), 1, "% does not cross the separator: {r:?}");
    let r = c.cmd("a4", "LIST (SUBSCRIBED) \"\" (a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7)");
    assert!(last(&r).starts_with("a4 BAD"), "too many patterns: {r:?}");
}

#[test]
fn unparenthesised_or_and_not_chains_get_bad_and_the_server_stays_up() {
    let server = server();
    let mut c = Client::login(server.imap_port, "alice");
    assert!(last(&c.cmd("a0", "SELECT INBOX")).starts_with("a0 OK"));
    let ors = format!(
        "SEARCH {}{}",
        "OR ".repeat(20_000),
        "ALL ".repeat(20_001).trim_end()
    );
    let r = c.cmd("a1", &ors);
    assert!(last(&r).starts_with("a1 BAD"), "{:?}", last(&r));
    let nots = format!("SEARCH {}ALL", "NOT ".repeat(30_000));
    let r = c.cmd("a2", &nots);
    assert!(last(&r).starts_with("a2 BAD"), "{:?}", last(&r));
    let mixed = format!("UID SEARCH {}ALL", "NOT (OR ALL ".repeat(5_000));
    let r = c.cmd("a3", &mixed);
    assert!(last(&r).starts_with("a3 BAD"), "{:?}", last(&r));
    // Within the limit, a chain evaluates correctly: NOT NOT ALL is ALL.
    imap_support::fill_inbox(&mut c, 3, 3);
    let r = c.cmd("a4", &format!("SEARCH {}ALL", "NOT ".repeat(40)));
    assert!(r.iter().any(|l| l.trim_end() == "* SEARCH 1 2 3"), "{r:?}");
    still_serving(&server);
}

#[test]
fn long_section_paths_and_deep_extension_values_get_bad() {
    let server = server();
    let mut c = Client::login(server.imap_port, "alice");
    imap_support::fill_inbox(&mut c, 1, 1);
    assert!(last(&c.cmd("a0", "SELECT INBOX")).starts_with("a0 OK"));
    let path = vec!["1"; 20_000].join(".");
    let r = c.cmd("a1", &format!("FETCH 1 BODY.PEEK[{path}]"));
    assert!(last(&r).starts_with("a1 BAD"), "{:?}", last(&r));
    let deep = format!(
        "SELECT INBOX (X {}1{})",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let r = c.cmd("a2", &deep);
    assert!(last(&r).starts_with("a2 BAD"), "{:?}", last(&r));
    let r = c.cmd(
        "a3",
        &format!(
            "STATUS INBOX {}MESSAGES{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        ),
    );
    assert!(last(&r).starts_with("a3 BAD"), "{:?}", last(&r));
    assert!(last(&c.cmd("a4", "FETCH 1 BODY.PEEK[1]")).starts_with("a4 OK"));
    still_serving(&server);
}
