//! The four namespaces (issue 11, Namespace 2): standard or alternate (`altnamespace`), with `.`
//! or `/` (`unixhierarchysep`), through NAMESPACE, CREATE, APPEND, STATUS, SELECT, COPY,
//! RENAME, LIST, SUBSCRIBE and LSUB as a user, and the internal names an administrator sees.
//! In the alternate namespace two users each have a top-level `work`, both stored under their
//! own `user.NAME`.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use imap_support::{last, Client};

fn ok(lines: Vec<String>, tag: &str) -> Vec<String> {
    assert!(last(&lines).starts_with(&format!("{tag} OK")), "{lines:?}");
    lines
}

/// The quoted or atom names of LIST/LSUB responses.
fn names(lines: &[String], kind: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.starts_with(&format!("* {kind} ")))
        .map(|l| {
            let l = l.trim_end();
            match l.strip_suffix('"') {
                Some(quoted) => quoted[quoted.rfind('"').unwrap() + 1..].to_string(),
                None => l[l.rfind(' ').unwrap() + 1..].to_string(),
            }
        })
        .collect()
}

fn q(name: &str) -> String {
    format!("\"{name}\"")
}

fn one_combination(alt: bool, unix: bool) {
    let conf = format!(
        "altnamespace: {}\nunixhierarchysep: {}\n",
        if alt { "yes" } else { "no" },
        if unix { "yes" } else { "no" }
    );
    let server = common::Server::start_with(&conf);
    for user in ["alice", "bob", "admin"] {
        server.add_user(user, &format!("pw-{user}"));
    }
    let sep = if unix { '/' } else { '.' };
    let personal = if alt {
        String::new()
    } else {
        format!("INBOX{sep}")
    };
    let p = |name: &str| format!("{personal}{}", name.replace('.', &sep.to_string()));
    let what = format!("altnamespace {alt}, unixhierarchysep {unix}");

    let mut alice = Client::login(server.imap_port, "alice");
    let ns = ok(alice.cmd("n", "NAMESPACE"), "n");
    let expected = if alt {
        format!(
            "* NAMESPACE ((\"\" \"{sep}\")) ((\"Other Users{sep}\" \"{sep}\")) \
             ((\"Shared Folders{sep}\" \"{sep}\"))"
        )
    } else {
        format!("* NAMESPACE ((\"INBOX{sep}\" \"{sep}\")) ((\"user{sep}\" \"{sep}\")) ((\"\" \"{sep}\"))")
    };
    assert_eq!(ns[0].trim_end(), expected, "{what}");

    ok(alice.cmd("c1", &format!("CREATE {}", q(&p("work")))), "c1");
    ok(
        alice.cmd("c2", &format!("CREATE {}", q(&p("work.2026")))),
        "c2",
    );
    let message = "Subject: hello\r\n\r\nbody\r\n";
    ok(
        alice.cmd(
            "a1",
            &format!(
                "APPEND {} {{{}+}}\r\n{message}",
                q(&p("work")),
                message.len()
            ),
        ),
        "a1",
    );
    let status = ok(
        alice.cmd("s1", &format!("STATUS {} (MESSAGES)", q(&p("work")))),
        "s1",
    );
    assert!(status[0].contains("(MESSAGES 1)"), "{what}: {status:?}");
    ok(alice.cmd("s2", &format!("SELECT {}", q(&p("work")))), "s2");
    ok(
        alice.cmd("s3", &format!("COPY 1 {}", q(&p("work.2026")))),
        "s3",
    );
    ok(
        alice.cmd(
            "r1",
            &format!("RENAME {} {}", q(&p("work.2026")), q(&p("archive"))),
        ),
        "r1",
    );
    let listed = names(&ok(alice.cmd("l1", "LIST \"\" \"*\""), "l1"), "LIST");
    let mut want = vec!["INBOX".to_string(), p("archive"), p("work")];
    want.sort();
    let mut got = listed.clone();
    got.sort();
    assert_eq!(got, want, "{what}: {listed:?}");
    ok(
        alice.cmd("u1", &format!("SUBSCRIBE {}", q(&p("archive")))),
        "u1",
    );
    let lsub = names(&ok(alice.cmd("u2", "LSUB \"\" \"*\""), "u2"), "LSUB");
    assert_eq!(lsub, vec![p("archive")], "{what}");
    let status = ok(
        alice.cmd("s4", &format!("STATUS {} (MESSAGES)", q(&p("archive")))),
        "s4",
    );
    assert!(status[0].contains("(MESSAGES 1)"), "{what}: {status:?}");

    let mut bob = Client::login(server.imap_port, "bob");
    ok(bob.cmd("b1", &format!("CREATE {}", q(&p("work")))), "b1");

    // An administrator sees internal names, whatever the namespace.
    let mut admin = Client::login(server.imap_port, "admin");
    let pattern = format!("user{sep}*");
    let listed = names(
        &ok(admin.cmd("d1", &format!("LIST \"\" {}", q(&pattern))), "d1"),
        "LIST",
    );
    for internal in [
        "user.alice.work",
        "user.alice.archive",
        "user.bob.work",
        "user.alice",
        "user.bob",
    ] {
        let shown = internal.replace('.', &sep.to_string());
        assert!(listed.contains(&shown), "{what}: {shown} in {listed:?}");
    }
}

#[test]
fn standard_namespace_with_dots() {
    one_combination(false, false);
}

#[test]
fn standard_namespace_with_slashes() {
    one_combination(false, true);
}

#[test]
fn alternate_namespace_with_dots() {
    one_combination(true, false);
}

#[test]
fn alternate_namespace_with_slashes() {
    one_combination(true, true);
}

/// The alternate namespace's prefixes are not mailboxes: naming one alone is a `NO` that says
/// so, and users' mailboxes cannot be reached through the shared prefix.
#[test]
fn the_alternate_prefixes_alone_are_not_mailboxes() {
    let server = common::Server::start_with("altnamespace: yes\n");
    server.add_user("alice", "pw-alice");
    let mut alice = Client::login(server.imap_port, "alice");
    for (tag, name) in [
        ("p1", "\"Other Users\""),
        ("p2", "\"Shared Folders\""),
        ("p3", "\"Shared Folders.user.alice\""),
    ] {
        let r = alice.cmd(tag, &format!("CREATE {name}"));
        assert!(last(&r).starts_with(&format!("{tag} NO")), "{name}: {r:?}");
    }
    // `user` is an ordinary personal name here.
    ok(alice.cmd("p4", "CREATE user"), "p4");
    let listed = names(&ok(alice.cmd("p5", "LIST \"\" \"%\""), "p5"), "LIST");
    assert!(listed.contains(&"user".to_string()), "{listed:?}");
}

/// Cyrus's name rules (Namespace 1): an empty level (a leading or doubled separator)
/// and shell metacharacters are refused with a `NO` that names the rule; INBOX is
/// case-insensitive, other names are not.
#[test]
fn new_names_follow_cyrus_rules() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut alice = Client::login(server.imap_port, "alice");
    for (tag, name, rule) in [
        ("m1", "\"INBOX.a;b\"", "not allowed in a new mailbox name"),
        ("m2", "\"INBOX.a|b\"", "not allowed in a new mailbox name"),
        ("m3", "\"INBOX.a/b\"", "not allowed in a new mailbox name"),
        ("m4", "\"INBOX..b\"", "empty hierarchy level"),
        ("m5", "\".b\"", "empty hierarchy level"),
    ] {
        let r = alice.cmd(tag, &format!("CREATE {name}"));
        let line = last(&r);
        assert!(
            line.starts_with(&format!("{tag} NO")) && line.contains(rule),
            "{name}: {r:?}"
        );
    }
    // A trailing separator declares a parent to be (RFC 3501 §6.3.3): the name is stored
    // without it.
    ok(alice.cmd("m5b", "CREATE \"INBOX.b.\""), "m5b");
    let listed = names(
        &ok(alice.cmd("m5c", "LIST \"\" \"INBOX.b*\""), "m5c"),
        "LIST",
    );
    assert_eq!(listed, vec!["INBOX.b".to_string()]);
    ok(alice.cmd("m6", "CREATE INBOX.Work"), "m6");
    ok(alice.cmd("m7", "CREATE INBOX.work"), "m7");
    ok(alice.cmd("m8", "SELECT inbox.Work"), "m8");
    let r = alice.cmd("m9", "RENAME INBOX.work \"INBOX.w<x\"");
    assert!(last(&r).starts_with("m9 NO"), "{r:?}");
}

/// Users (Namespace 3): an administrator creates a user by creating `user.NAME` and deletes one
/// by deleting it, which takes every mailbox of the user and their subscriptions with it; a
/// user made again under the same name starts clean.
#[test]
fn deleting_user_name_deletes_the_user_and_their_state() {
    let server = common::Server::start();
    for user in ["bob", "admin"] {
        server.add_user(user, &format!("pw-{user}"));
    }
    let mut bob = Client::login(server.imap_port, "bob");
    ok(bob.cmd("b1", "CREATE INBOX.lists"), "b1");
    ok(bob.cmd("b2", "SUBSCRIBE INBOX.lists"), "b2");
    ok(bob.cmd("b3", "SUBSCRIBE INBOX"), "b3");
    ok(bob.cmd("b4", "LOGOUT"), "b4");
    let mut admin = Client::login(server.imap_port, "admin");
    ok(admin.cmd("d1", "DELETE user.bob"), "d1");
    let listed = names(&ok(admin.cmd("d2", "LIST \"\" \"user.*\""), "d2"), "LIST");
    assert!(
        !listed.iter().any(|n| n.starts_with("user.bob")),
        "{listed:?}"
    );
    ok(admin.cmd("d3", "CREATE user.bob"), "d3");
    let mut bob = Client::login(server.imap_port, "bob");
    let lsub = names(&ok(bob.cmd("b5", "LSUB \"\" \"*\""), "b5"), "LSUB");
    assert!(
        lsub.is_empty(),
        "subscriptions went with the user: {lsub:?}"
    );
    let listed = names(&ok(bob.cmd("b6", "LIST \"\" \"*\""), "b6"), "LIST");
    assert_eq!(listed, vec!["INBOX".to_string()]);
}
