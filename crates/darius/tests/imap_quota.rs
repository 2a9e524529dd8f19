//! Quotas over IMAP (RFC 9208 with Cyrus's rules), against a real `darius serve`: the Cyrus
//! overview's example of nested roots, GETQUOTA/GETQUOTAROOT/SETQUOTA and who may use them,
//! APPEND/COPY/MOVE refused with `[OVERQUOTA]` leaving nothing behind, usage following RENAME
//! and DELETE, the `quotawarn` ALERT only for identities who may remove messages, and
//! concurrent sessions that never take a root past its limit.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use imap_support::{last, Client};

fn ok(r: &[String]) {
    assert!(last(r).split_whitespace().nth(1) == Some("OK"), "{r:?}");
}

fn no_with(r: &[String], code: &str) {
    let l = last(r);
    assert!(
        l.split_whitespace().nth(1) == Some("NO") && l.contains(code),
        "want NO {code}: {r:?}"
    );
}

/// The one untagged line starting with `prefix`.
fn line<'a>(r: &'a [String], prefix: &str) -> &'a str {
    let found: Vec<&String> = r.iter().filter(|l| l.starts_with(prefix)).collect();
    assert_eq!(found.len(), 1, "{prefix} in {r:?}");
    found[0].trim_end()
}

fn message(i: usize, body_bytes: usize) -> String {
    format!(
        "From: a@example.org\r\nSubject: m{i}\r\n\r\n{}\r\n",
        "x".repeat(body_bytes)
    )
}

/// APPEND (MULTIAPPEND with several) with LITERAL+.
fn append(c: &mut Client, tag: &str, mailbox: &str, messages: &[String]) -> Vec<String> {
    let mut command = format!("APPEND {mailbox}");
    for m in messages {
        command.push_str(&format!(" {{{}+}}\r\n{m}", m.len()));
    }
    c.cmd(tag, &command)
}

fn status_messages(c: &mut Client, mailbox: &str) -> u64 {
    let r = c.cmd("st", &format!("STATUS {mailbox} (MESSAGES)"));
    ok(&r);
    let l = line(&r, "* STATUS");
    let n = l.rsplit("MESSAGES ").next().unwrap().trim_end_matches(')');
    n.parse().unwrap()
}

#[test]
fn quota_roots_commands_and_enforcement_follow_cyrus_and_rfc_9208() {
    let server = common::Server::start();
    for u in ["admin", "bovik", "carol"] {
        server.add_user(u, &format!("pw-{u}"));
    }
    let port = server.imap_port;
    let mut admin = Client::login(port, "admin");
    let caps = admin.cmd("c", "CAPABILITY");
    for cap in [
        "QUOTA",
        "QUOTA=RES-STORAGE",
        "QUOTA=RES-MESSAGE",
        "QUOTASET",
    ] {
        assert!(
            line(&caps, "* CAPABILITY").contains(&format!(" {cap}")),
            "{cap}"
        );
    }
    for b in [
        "user.bovik.list.imap",
        "user.bovik.list.info-cyrus",
        "user.bovik.saved",
        "user.bovik.todo",
    ] {
        ok(&admin.cmd("cr", &format!("CREATE {b}")));
    }
    // The overview's roots; `user.bovik.list` is no mailbox.
    let r = admin.cmd("s1", "SETQUOTA user.bovik (STORAGE 100 MESSAGE 5)");
    ok(&r);
    assert_eq!(
        line(&r, "* QUOTA"),
        "* QUOTA user.bovik (STORAGE 0 100 MESSAGE 0 5)"
    );
    ok(&admin.cmd("s2", "SETQUOTA user.bovik.list (MESSAGE 3)"));
    ok(&admin.cmd("s3", "SETQUOTA user.bovik.saved ()"));
    // Syntax and existence.
    let r = admin.cmd("s4", "SETQUOTA user.bovik (X-FOO 1)");
    assert!(last(&r).starts_with("s4 BAD"), "{r:?}");
    let r = admin.cmd("s5", "SETQUOTA user.bovik (MESSAGE 1 MESSAGE 2)");
    assert!(last(&r).starts_with("s5 BAD"), "{r:?}");
    no_with(
        &admin.cmd("s6", "SETQUOTA user.nobody (MESSAGE 1)"),
        "[NONEXISTENT]",
    );
    no_with(&admin.cmd("g0", "GETQUOTA user.carol"), "[NONEXISTENT]");

    let mut bovik = Client::login(port, "bovik");
    no_with(
        &bovik.cmd("s7", "SETQUOTA INBOX (MESSAGE 1000)"),
        "[NOPERM]",
    );
    // Each mailbox is governed by its nearest root only, shown in bovik's namespace.
    for (mailbox, root) in [
        ("INBOX", "INBOX"),
        ("INBOX.todo", "INBOX"),
        ("INBOX.list.imap", "INBOX.list"),
        ("INBOX.list.info-cyrus", "INBOX.list"),
        ("INBOX.saved", "INBOX.saved"),
    ] {
        let r = bovik.cmd("gr", &format!("GETQUOTAROOT {mailbox}"));
        ok(&r);
        assert_eq!(
            line(&r, "* QUOTAROOT"),
            format!("* QUOTAROOT {mailbox} {root}")
        );
        assert!(
            line(&r, "* QUOTA ").starts_with(&format!("* QUOTA {root} (")),
            "{r:?}"
        );
    }
    let r = bovik.cmd("g1", "GETQUOTA INBOX.saved");
    assert_eq!(line(&r, "* QUOTA"), "* QUOTA INBOX.saved ()");
    // Someone else's root is no business of carol's.
    let mut carol = Client::login(port, "carol");
    no_with(&carol.cmd("g2", "GETQUOTA user.bovik"), "NO");
    no_with(&carol.cmd("g3", "GETQUOTAROOT user.bovik"), "[NONEXISTENT]");

    // Four messages fit; a MULTIAPPEND of two more does not, and leaves nothing.
    let small: Vec<String> = (0..4).map(|i| message(i, 100)).collect();
    ok(&append(&mut bovik, "a1", "INBOX", &small));
    let two = vec![message(10, 100), message(11, 100)];
    no_with(&append(&mut bovik, "a2", "INBOX.todo", &two), "[OVERQUOTA]");
    assert_eq!(status_messages(&mut bovik, "INBOX.todo"), 0);
    // COPY is all or nothing too.
    ok(&bovik.cmd("sel", "SELECT INBOX"));
    no_with(&bovik.cmd("c1", "COPY 1:2 INBOX.todo"), "[OVERQUOTA]");
    assert_eq!(status_messages(&mut bovik, "INBOX.todo"), 0);
    ok(&bovik.cmd("c2", "COPY 1 INBOX.todo"));
    let r = bovik.cmd("g4", "GETQUOTA INBOX");
    let used_kib = (5 * message(0, 100).len()) / 1024;
    assert_eq!(
        line(&r, "* QUOTA"),
        format!("* QUOTA INBOX (STORAGE {used_kib} 100 MESSAGE 5 5)")
    );
    no_with(
        &append(&mut bovik, "a3", "INBOX", &[message(12, 10)]),
        "[OVERQUOTA]",
    );
    // A MOVE within the root changes no usage: allowed at the limit. Into a root with room
    // (list: 3 messages), it is checked against that root.
    ok(&bovik.cmd("m1", "MOVE 2 INBOX.todo"));
    ok(&bovik.cmd("m2", "MOVE 3 INBOX.list.imap"));
    let r = bovik.cmd("g5", "GETQUOTA INBOX.list");
    assert_eq!(line(&r, "* QUOTA"), "* QUOTA INBOX.list (MESSAGE 1 3)");
    // Storage: 100 KiB cannot take a 200 KiB message, whatever the message count.
    ok(&admin.cmd("s8", "SETQUOTA user.bovik (STORAGE 100)"));
    no_with(
        &append(&mut bovik, "a4", "INBOX", &[message(13, 200 * 1024)]),
        "[OVERQUOTA]",
    );
    ok(&append(&mut bovik, "a5", "INBOX", &[message(14, 10)]));

    // STATUS DELETED and DELETED-STORAGE (RFC 9208 §4.2): what EXPUNGE would free, in KiB.
    let big = message(15, 3 * 1024);
    ok(&append(
        &mut bovik,
        "a6",
        "INBOX.saved",
        &[big.clone(), message(16, 10)],
    ));
    ok(&bovik.cmd("sel2", "SELECT INBOX.saved"));
    ok(&bovik.cmd("d1", "STORE 1 +FLAGS (\\Deleted)"));
    let r = bovik.cmd(
        "st2",
        "STATUS INBOX.saved (DELETED DELETED-STORAGE MESSAGES)",
    );
    assert_eq!(
        line(&r, "* STATUS"),
        format!(
            "* STATUS INBOX.saved (DELETED 1 DELETED-STORAGE {} MESSAGES 2)",
            big.len() / 1024
        )
    );

    // RENAME and DELETE move usage between roots.
    ok(&admin.cmd("rn", "RENAME user.bovik.todo user.bovik.list.todo"));
    let r = admin.cmd("g6", "GETQUOTA user.bovik.list");
    assert_eq!(line(&r, "* QUOTA"), "* QUOTA user.bovik.list (MESSAGE 3 3)");
    ok(&admin.cmd("dl", "DELETE user.bovik.list.todo"));
    let r = admin.cmd("g7", "GETQUOTA user.bovik.list");
    assert_eq!(line(&r, "* QUOTA"), "* QUOTA user.bovik.list (MESSAGE 1 3)");
    // A user's RENAME into another root must fit there (roots keep their names); an
    // administrator's is not refused.
    ok(&bovik.cmd("sel3", "SELECT INBOX"));
    ok(&append(
        &mut bovik,
        "a7",
        "INBOX.list.imap",
        &[message(17, 10)],
    ));
    no_with(
        &bovik.cmd("rn2", "RENAME INBOX.saved INBOX.list.saved"),
        "[OVERQUOTA]",
    );
    assert_eq!(status_messages(&mut bovik, "INBOX.saved"), 2);
    ok(&bovik.cmd("rn3", "RENAME INBOX.saved INBOX.kept"));
    ok(&admin.cmd("rn4", "RENAME user.bovik.kept user.bovik.list.kept"));
    let r = admin.cmd("g8", "GETQUOTA user.bovik.list");
    assert_eq!(line(&r, "* QUOTA"), "* QUOTA user.bovik.list (MESSAGE 4 3)");
}

#[test]
fn select_warns_near_the_limit_only_those_who_may_remove_messages() {
    let server = common::Server::start_with("quotawarn: 50\n");
    for u in ["admin", "dora", "reader", "cleaner"] {
        server.add_user(u, &format!("pw-{u}"));
    }
    let port = server.imap_port;
    let mut admin = Client::login(port, "admin");
    ok(&admin.cmd("s", "SETQUOTA user.dora (MESSAGE 4)"));
    ok(&admin.cmd("a1", "SETACL user.dora reader lr"));
    ok(&admin.cmd("a2", "SETACL user.dora cleaner lrte"));
    let alert = |user: &str| -> Option<String> {
        let mut c = Client::login(port, user);
        let mailbox = if user == "dora" { "INBOX" } else { "user.dora" };
        let r = c.cmd("sel", &format!("SELECT {mailbox}"));
        ok(&r);
        r.iter().find(|l| l.contains("[ALERT]")).cloned()
    };
    let mut dora = Client::login(port, "dora");
    ok(&append(&mut dora, "a", "INBOX", &[message(0, 10)]));
    assert_eq!(alert("dora"), None, "25% is below quotawarn");
    ok(&append(&mut dora, "b", "INBOX", &[message(1, 10)]));
    let text = alert("dora").expect("50% warns the owner");
    assert!(text.contains("INBOX") && text.contains("2 of 4"), "{text}");
    let theirs = alert("cleaner").expect("t and e: warned");
    assert!(theirs.contains("user.dora"), "{theirs}");
    assert_eq!(alert("reader"), None, "lr only: no warning");
}

#[test]
fn concurrent_sessions_never_take_a_root_past_its_limit() {
    let server = common::Server::start();
    for u in ["admin", "fay"] {
        server.add_user(u, &format!("pw-{u}"));
    }
    let port = server.imap_port;
    let mut admin = Client::login(port, "admin");
    let boxes = ["INBOX", "INBOX.a", "INBOX.b"];
    for b in &boxes[1..] {
        ok(&admin.cmd("cr", &format!("CREATE user.fay.{}", &b[6..])));
    }
    ok(&admin.cmd("s", "SETQUOTA user.fay (MESSAGE 30)"));
    let sessions: Vec<_> = (0..5)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = Client::login(port, "fay");
                let mut stored = 0u64;
                for i in 0..10 {
                    let pair = vec![message(t * 100 + i, 50), message(t * 100 + i + 50, 50)];
                    let r = append(&mut c, &format!("t{i}"), boxes[(t + i) % 3], &pair);
                    let l = last(&r);
                    if l.contains(" OK ") {
                        stored += 2;
                    } else {
                        assert!(l.contains("[OVERQUOTA]"), "{r:?}");
                    }
                }
                stored
            })
        })
        .collect();
    let stored: u64 = sessions.into_iter().map(|s| s.join().unwrap()).sum();
    let mut fay = Client::login(port, "fay");
    let counted: u64 = boxes.iter().map(|b| status_messages(&mut fay, b)).sum();
    assert_eq!(counted, stored);
    assert!(stored <= 30, "{stored}");
    // The root filled up: five sessions wanting a hundred messages got all the room there was.
    assert_eq!(stored, 30);
    let r = fay.cmd("g", "GETQUOTA INBOX");
    assert!(line(&r, "* QUOTA").ends_with("(MESSAGE 30 30)"), "{r:?}");
}
