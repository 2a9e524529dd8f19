//! LSUB and LIST-EXTENDED over real sockets (issue 10, defects 5 and 6): RFC 3501 §6.3.9's
//! `%` rule for LSUB (an unsubscribed parent of a subscribed child comes back as `\Noselect`),
//! and RFC 5258 §3: unknown selection or return options and a lone RECURSIVEMATCH are `BAD`,
//! SUBSCRIBED implies the `\Subscribed` attribute, a subscribed mailbox that does not exist is
//! `\NonExistent`, CHILDINFO marks a parent that `%` matched in place of its subscribed
//! children, and several patterns list each mailbox once.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use imap_support::{last, Client};

fn session() -> (common::Server, Client) {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let c = Client::login(server.imap_port, "alice");
    (server, c)
}

fn run(c: &mut Client, tag: &str, command: &str) -> Vec<String> {
    let r = c.cmd(tag, command);
    assert!(
        last(&r).starts_with(&format!("{tag} OK")),
        "{command}: {r:?}"
    );
    r
}

/// The untagged lines of a response, CRLF removed.
fn untagged(r: &[String]) -> Vec<&str> {
    r.iter()
        .filter(|l| l.starts_with("* "))
        .map(|l| l.trim_end())
        .collect()
}

#[test]
fn lsub_with_percent_returns_an_unsubscribed_parent_as_noselect() {
    let (_server, mut c) = session();
    for name in ["INBOX.a", "INBOX.a.b", "INBOX.a.b.c", "INBOX.x"] {
        run(&mut c, "c", &format!("CREATE {name}"));
    }
    run(&mut c, "s1", "SUBSCRIBE INBOX.a.b.c");
    run(&mut c, "s2", "SUBSCRIBE INBOX.x");
    let r = run(&mut c, "l1", "LSUB \"\" INBOX.a.%");
    assert_eq!(
        untagged(&r),
        ["* LSUB (\\Noselect) \".\" INBOX.a.b"],
        "{r:?}"
    );
    let r = run(&mut c, "l2", "LSUB \"\" INBOX.%");
    assert_eq!(
        untagged(&r),
        [
            "* LSUB (\\Noselect) \".\" INBOX.a",
            "* LSUB () \".\" INBOX.x"
        ],
        "{r:?}"
    );
    // Where the pattern reaches the subscribed child, the child is listed, not its parents.
    let r = run(&mut c, "l3", "LSUB \"\" INBOX.*");
    assert_eq!(
        untagged(&r),
        ["* LSUB () \".\" INBOX.a.b.c", "* LSUB () \".\" INBOX.x"],
        "{r:?}"
    );
    let r = run(&mut c, "l4", "LSUB INBOX.a. b.%");
    assert_eq!(untagged(&r), ["* LSUB () \".\" INBOX.a.b.c"], "{r:?}");
    // A subscribed parent is listed as itself.
    run(&mut c, "s3", "SUBSCRIBE INBOX.a.b");
    let r = run(&mut c, "l5", "LSUB \"\" INBOX.a.%");
    assert_eq!(untagged(&r), ["* LSUB () \".\" INBOX.a.b"], "{r:?}");
}

#[test]
fn unknown_list_options_and_a_lone_recursivematch_are_bad() {
    let (_server, mut c) = session();
    for (tag, command) in [
        ("b1", "LIST (FOO) \"\" *"),
        ("b2", "LIST (SUBSCRIBED VENDOR.X) \"\" *"),
        ("b3", "LIST \"\" * RETURN (FOO)"),
        ("b4", "LIST \"\" * RETURN (CHILDREN BAR)"),
        ("b5", "LIST (RECURSIVEMATCH) \"\" *"),
        ("b6", "LIST (RECURSIVEMATCH REMOTE) \"\" *"),
    ] {
        let r = c.cmd(tag, command);
        assert!(
            last(&r).starts_with(&format!("{tag} BAD")),
            "{command}: {r:?}"
        );
        assert!(untagged(&r).is_empty(), "{command}: {r:?}");
    }
    for (tag, command) in [
        ("o1", "LIST () \"\" *"),
        ("o2", "LIST \"\" * RETURN ()"),
        ("o3", "LIST (REMOTE RECURSIVEMATCH SUBSCRIBED) \"\" *"),
        (
            "o4",
            "LIST (SPECIAL-USE) \"\" * RETURN (SUBSCRIBED CHILDREN SPECIAL-USE)",
        ),
    ] {
        run(&mut c, tag, command);
    }
}

/// RFC 5258 §5's example hierarchy, under INBOX.
fn fruit_and_vegetables(c: &mut Client) {
    for name in [
        "INBOX.Fruit",
        "INBOX.Fruit.Apple",
        "INBOX.Fruit.Banana",
        "INBOX.Fruit.Peach",
        "INBOX.Tofu",
        "INBOX.Vegetable",
        "INBOX.Vegetable.Broccoli",
        "INBOX.Vegetable.Corn",
    ] {
        run(c, "c", &format!("CREATE {name}"));
    }
    for name in [
        "INBOX.Fruit.Banana",
        "INBOX.Fruit.Peach",
        "INBOX.Vegetable",
        "INBOX.Vegetable.Broccoli",
    ] {
        run(c, "s", &format!("SUBSCRIBE {name}"));
    }
    run(c, "d", "DELETE INBOX.Fruit.Peach");
}

#[test]
fn list_subscribed_and_recursivematch_follow_rfc_5258() {
    let (_server, mut c) = session();
    fruit_and_vegetables(&mut c);
    let r = run(&mut c, "l1", "LIST (SUBSCRIBED) \"\" INBOX.*");
    let lines = untagged(&r);
    assert_eq!(lines.len(), 4, "{r:?}");
    assert!(lines.iter().all(|l| l.contains("\\Subscribed")), "{r:?}");
    let peach = lines
        .iter()
        .find(|l| l.ends_with("INBOX.Fruit.Peach"))
        .unwrap();
    assert!(peach.contains("\\NonExistent"), "{peach}");
    assert!(!lines.iter().any(|l| l.contains("CHILDINFO")), "{r:?}");

    // `%` stops at Fruit, whose subscribed children it does not reach: CHILDINFO there.
    // Vegetable is subscribed itself and listed as such; Tofu has nothing subscribed.
    let r = run(
        &mut c,
        "l2",
        "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" INBOX.%",
    );
    let lines = untagged(&r);
    assert_eq!(lines.len(), 2, "{r:?}");
    assert!(
        lines[0].ends_with("INBOX.Fruit (\"CHILDINFO\" (\"SUBSCRIBED\"))"),
        "{r:?}"
    );
    assert!(!lines[0].contains("\\Subscribed"), "{r:?}");
    assert!(lines[1].ends_with("INBOX.Vegetable"), "{r:?}");
    assert!(lines[1].contains("\\Subscribed"), "{r:?}");

    // `*` reaches every subscribed mailbox itself: no parent is listed for its children.
    let r = run(
        &mut c,
        "l3",
        "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" INBOX.*",
    );
    let lines = untagged(&r);
    assert_eq!(lines.len(), 4, "{r:?}");
    assert!(!lines.iter().any(|l| l.contains("CHILDINFO")), "{r:?}");

    // Several patterns that match the same mailbox list it once.
    let r = run(&mut c, "l4", "LIST \"\" (INBOX.Fruit INBOX.Fruit* INBOX.%)");
    let fruit = untagged(&r)
        .iter()
        .filter(|l| l.ends_with(" INBOX.Fruit"))
        .count();
    assert_eq!(fruit, 1, "{r:?}");
    // RETURN (CHILDREN): one of \HasChildren and \HasNoChildren on each, never both.
    let r = run(&mut c, "l6", "LIST \"\" INBOX.% RETURN (CHILDREN)");
    for line in untagged(&r) {
        let has = line.contains("\\HasChildren");
        assert!(has != line.contains("\\HasNoChildren"), "{line}");
        let parent = line.ends_with("INBOX.Fruit") || line.ends_with("INBOX.Vegetable");
        assert_eq!(has, parent, "{line}");
    }
    // RETURN (SUBSCRIBED) marks without selecting.
    let r = run(
        &mut c,
        "l5",
        "LIST \"\" INBOX.Vegetable% RETURN (SUBSCRIBED)",
    );
    let lines = untagged(&r);
    assert_eq!(lines.len(), 1, "{r:?}");
    assert!(lines[0].contains("\\Subscribed"), "{r:?}");
}

/// RFC 6154 §3: a server that takes `USE` in CREATE announces CREATE-SPECIAL-USE; the
/// attribute given is listed, and one it does not know is refused with `[USEATTR]`.
#[test]
fn create_with_use_is_announced_and_lists_the_attribute() {
    let (_server, mut c) = session();
    let caps = run(&mut c, "c1", "CAPABILITY");
    assert!(
        caps.iter().any(|l| l.contains(" CREATE-SPECIAL-USE")),
        "{caps:?}"
    );
    run(&mut c, "c2", "CREATE INBOX.Spam (USE (\\Junk))");
    let listed = run(&mut c, "c3", "LIST (SPECIAL-USE) \"\" *");
    assert!(
        untagged(&listed)
            .iter()
            .any(|l| l.contains("\\Junk") && l.ends_with("INBOX.Spam")),
        "{listed:?}"
    );
    let r = c.cmd("c4", "CREATE INBOX.Odd (USE (\\Frobnicate))");
    assert!(last(&r).starts_with("c4 NO [USEATTR]"), "{r:?}");
}
