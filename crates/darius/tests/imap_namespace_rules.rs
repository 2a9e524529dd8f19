//! Namespace rules decided on internal names, never on the client's spelling (issue 9 item 8):
//! a user cannot delete their INBOX as `user.NAME` (LMTP would then refuse their mail), a
//! RENAME of `user.NAME` by its owner is a RENAME of INBOX, a partition named by a non-admin is
//! refused before anything changes, and an administrator deleting `user.NAME` deletes the
//! user's hierarchy, as Cyrus does.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;

use imap_support::{last, Client};

/// The reply to `RCPT TO:<rcpt>` in an LMTP transaction.
fn lmtp_rcpt(port: u16, rcpt: &str) -> String {
    lmtp_support::rcpt_replies(port, &[rcpt]).remove(0)
}

#[test]
fn a_user_cannot_delete_their_inbox_by_any_spelling() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = Client::login(server.imap_port, "alice");
    for (tag, name) in [
        ("a1", "user.alice"),
        ("a2", "INBOX"),
        ("a3", "inbox"),
        ("a4", "\"user.alice\""),
    ] {
        let r = c.cmd(tag, &format!("DELETE {name}"));
        assert!(
            last(&r).starts_with(&format!("{tag} NO [CANNOT]")),
            "{name}: {r:?}"
        );
    }
    assert!(last(&c.cmd("a5", "SELECT INBOX")).starts_with("a5 OK"));
    assert!(
        lmtp_rcpt(server.lmtp_port, "alice").starts_with("250"),
        "mail still arrives"
    );
}

#[test]
fn with_the_unix_separator_too() {
    let server = common::Server::start_with("unixhierarchysep: yes\n");
    server.add_user("alice", "pw-alice");
    let mut c = Client::login(server.imap_port, "alice");
    let r = c.cmd("a1", "DELETE user/alice");
    assert!(last(&r).starts_with("a1 NO [CANNOT]"), "{r:?}");
    assert!(lmtp_rcpt(server.lmtp_port, "alice").starts_with("250"));
}

#[test]
fn renaming_user_name_by_its_owner_renames_inbox() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = Client::login(server.imap_port, "alice");
    imap_support::fill_inbox(&mut c, 2, 2);
    let r = c.cmd("a1", "RENAME user.alice INBOX.old");
    assert!(last(&r).starts_with("a1 OK"), "{r:?}");
    let r = c.cmd("a2", "STATUS INBOX (MESSAGES)");
    assert!(r[0].contains("MESSAGES 0"), "INBOX stays, empty: {r:?}");
    let r = c.cmd("a3", "STATUS INBOX.old (MESSAGES)");
    assert!(r[0].contains("MESSAGES 2"), "its messages moved: {r:?}");
    let r = c.cmd("a4", "RENAME INBOX.old user.alice");
    assert!(last(&r).starts_with("a4 NO [ALREADYEXISTS]"), "{r:?}");
    let r = c.cmd("a5", "RENAME user.alice INBOX");
    assert!(last(&r).starts_with("a5 NO [ALREADYEXISTS]"), "{r:?}");
    assert!(lmtp_rcpt(server.lmtp_port, "alice").starts_with("250"));
}

#[test]
fn a_partition_named_by_a_user_is_refused_before_anything_changes() {
    let server = common::Server::start_with("partition-second: {base}/second\n");
    server.add_user("alice", "pw-alice");
    let mut c = Client::login(server.imap_port, "alice");
    assert!(last(&c.cmd("a1", "CREATE INBOX.a")).starts_with("a1 OK"));
    let r = c.cmd("a2", "RENAME INBOX.a INBOX.b second");
    assert!(last(&r).starts_with("a2 NO [NOPERM]"), "{r:?}");
    let r = c.cmd("a3", "LIST \"\" INBOX.*");
    assert!(
        r.iter().any(|l| l.contains("INBOX.a")),
        "INBOX.a is still there: {r:?}"
    );
    assert!(
        !r.iter().any(|l| l.contains("INBOX.b")),
        "nothing was renamed: {r:?}"
    );
    let r = c.cmd("a4", "RENAME INBOX INBOX.c second");
    assert!(last(&r).starts_with("a4 NO [NOPERM]"), "{r:?}");
    assert!(!c
        .cmd("a5", "LIST \"\" INBOX.c")
        .iter()
        .any(|l| l.contains("INBOX.c")));
}

#[test]
fn an_admin_deleting_a_users_inbox_deletes_the_users_hierarchy() {
    let server = common::Server::start();
    server.add_user("bob", "pw-bob");
    server.add_user("admin", "pw-admin");
    let mut bob = Client::login(server.imap_port, "bob");
    assert!(last(&bob.cmd("b1", "CREATE INBOX.sub.deeper")).starts_with("b1 OK"));
    drop(bob);
    let mut admin = Client::login(server.imap_port, "admin");
    let r = admin.cmd("a1", "DELETE user.bob");
    assert!(last(&r).starts_with("a1 OK"), "{r:?}");
    let r = admin.cmd("a2", "LIST \"\" user.bob*");
    assert_eq!(r.len(), 1, "nothing of bob's is left: {r:?}");
    assert!(
        lmtp_rcpt(server.lmtp_port, "bob").starts_with("550"),
        "bob is gone"
    );
}
