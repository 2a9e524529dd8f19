//! A frontend offers only what every live backend offers: two `darius serve` backends on a
//! real etcd, one with `suppress_capabilities: CONDSTORE QRESYNC`, publish what their IMAP
//! service shows in their directory records; the frontend's CAPABILITY after login leaves
//! those out (and ENABLE does not take them) while that backend is alive, and offers them
//! again once it is gone from the directory.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;
mod imap_support;
mod murder_support;

use common::Server;
use imap_support::{last, Client};
use murder_support::{eventually, murder_conf};

/// The capabilities a fresh session of `user` at `port` is shown after login.
fn capabilities(port: u16, user: &str) -> Vec<String> {
    let mut c = Client::login(port, user);
    let r = c.cmd("c", "CAPABILITY");
    assert!(last(&r).starts_with("c OK"), "{r:?}");
    r.iter()
        .find_map(|l| l.strip_prefix("* CAPABILITY "))
        .map(|l| l.split_whitespace().map(str::to_ascii_uppercase).collect())
        .unwrap_or_default()
}

#[test]
fn a_backend_without_condstore_takes_it_off_the_frontend_while_it_lives() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = runtime.block_on(etcd::testing::EtcdCluster::single()) else {
        return;
    };
    let endpoints = etcd.endpoints();
    let b1 = Server::start_with(&murder_conf("backend", "b1", &endpoints, "/caps"));
    let mut b2 = Server::start_with(&format!(
        "{}suppress_capabilities: CONDSTORE QRESYNC\n",
        murder_conf("backend", "b2", &endpoints, "/caps")
    ));
    let front = Server::start_with(&murder_conf("frontend", "f1", &endpoints, "/caps"));
    // ann's INBOX is on b1, bob's on b2.
    b1.add_user("ann", "pw-ann");
    b2.add_user("bob", "pw-bob");
    front.add_user("ann", "pw-ann");
    // b2 itself neither shows nor enables them.
    let at_b2 = capabilities(b2.imap_port, "bob");
    assert!(!at_b2.contains(&"CONDSTORE".to_string()), "{at_b2:?}");
    let mut direct = Client::login(b2.imap_port, "bob");
    let r = direct.cmd("e", "ENABLE CONDSTORE");
    assert_eq!(r.first().map(|l| l.trim_end()), Some("* ENABLED"), "{r:?}");

    eventually("the frontend leaves CONDSTORE out", || {
        let caps = capabilities(front.imap_port, "ann");
        caps.contains(&"IDLE".to_string()) && !caps.contains(&"CONDSTORE".to_string())
    });
    let caps = capabilities(front.imap_port, "ann");
    assert!(!caps.contains(&"QRESYNC".to_string()), "{caps:?}");
    assert!(caps.contains(&"MAILBOX-REFERRALS".to_string()), "{caps:?}");
    let mut client = Client::login(front.imap_port, "ann");
    let r = client.cmd("e", "ENABLE CONDSTORE QRESYNC");
    assert_eq!(r.first().map(|l| l.trim_end()), Some("* ENABLED"), "{r:?}");

    // Gone from the directory (its lease lapses), it narrows nothing.
    b2.kill_hard();
    eventually("the frontend offers CONDSTORE again", || {
        capabilities(front.imap_port, "ann").contains(&"CONDSTORE".to_string())
    });
    drop(etcd);
}
