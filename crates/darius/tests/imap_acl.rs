//! The ACL commands over a real socket (RFC 4314 §3): GETACL, SETACL with `+`/`-` and negative
//! entries, DELETEACL, LISTRIGHTS, MYRIGHTS; what a right gives another user (LIST, STATUS,
//! SELECT) and what its absence hides (the same answer as for a missing mailbox); and an ACL
//! change reaching a session that has the mailbox selected.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use imap_support::{last, Client};

fn ok(lines: Vec<String>, tag: &str) -> Vec<String> {
    assert!(last(&lines).starts_with(&format!("{tag} OK")), "{lines:?}");
    lines
}

fn server() -> common::Server {
    let server = common::Server::start();
    for user in ["alice", "bob"] {
        server.add_user(user, &format!("pw-{user}"));
    }
    server
}

/// The tagged line without its tag.
fn answer(lines: &[String]) -> String {
    let l = last(lines).trim_end();
    l[l.find(' ').unwrap() + 1..].to_string()
}

#[test]
fn acl_commands_share_a_mailbox_and_refuse_without_the_right() {
    let server = server();
    let mut alice = Client::login(server.imap_port, "alice");
    let caps = ok(alice.cmd("a0", "CAPABILITY"), "a0");
    assert!(
        caps[0].contains(" ACL") && caps[0].contains("RIGHTS=kxten"),
        "{caps:?}"
    );
    let mine = ok(alice.cmd("a1", "MYRIGHTS INBOX"), "a1");
    // RFC 4314 §2.1.1: the virtual `c` and `d` are shown beside their members.
    assert_eq!(mine[0].trim_end(), "* MYRIGHTS INBOX lrswipkxtecdan");
    ok(alice.cmd("a2", "CREATE INBOX.shared"), "a2");
    ok(alice.cmd("a3", "SETACL INBOX.shared bob lr"), "a3");
    let acl = ok(alice.cmd("a4", "GETACL INBOX.shared"), "a4");
    assert!(
        acl[0].starts_with("* ACL INBOX.shared ") && acl[0].contains(" bob lr"),
        "{acl:?}"
    );
    let r = alice.cmd("a5", "SETACL INBOX.shared bob lrq");
    assert!(last(&r).starts_with("a5 BAD"), "unknown right: {r:?}");

    let mut bob = Client::login(server.imap_port, "bob");
    let list = ok(bob.cmd("b1", "LIST \"\" \"user.alice*\""), "b1");
    assert!(
        list.iter().any(|l| l.contains("user.alice.shared")),
        "{list:?}"
    );
    // Alice's INBOX is only the parent of what bob sees (RFC 9051 §6.3.9: \Noselect).
    let parent = list.iter().find(|l| l.trim_end().ends_with(" user.alice"));
    assert!(parent.is_some_and(|l| l.contains("\\Noselect")), "{list:?}");
    ok(bob.cmd("b2", "STATUS user.alice.shared (MESSAGES)"), "b2");
    let mine = ok(bob.cmd("b3", "MYRIGHTS user.alice.shared"), "b3");
    assert_eq!(mine[0].trim_end(), "* MYRIGHTS user.alice.shared lr");
    let r = bob.cmd("b4", "SETACL user.alice.shared bob lrswi");
    assert!(last(&r).starts_with("b4 NO [NOPERM]"), "{r:?}");
    // Alice's INBOX, which bob may not see, answers exactly like a mailbox that does not exist.
    for command in ["GETACL", "MYRIGHTS", "SELECT", "STATUS"] {
        let suffix = if command == "STATUS" {
            " (MESSAGES)"
        } else {
            ""
        };
        let hidden = bob.cmd("h", &format!("{command} user.alice{suffix}"));
        let missing = bob.cmd("h", &format!("{command} user.nobody{suffix}"));
        assert_eq!(answer(&hidden), answer(&missing), "{command}");
        assert!(
            answer(&hidden).starts_with("NO [NONEXISTENT]"),
            "{hidden:?}"
        );
    }

    // A negative entry takes away what `anyone` gives.
    ok(alice.cmd("a6", "SETACL INBOX.shared anyone lr"), "a6");
    ok(alice.cmd("a7", "DELETEACL INBOX.shared bob"), "a7");
    ok(alice.cmd("a8", "SETACL INBOX.shared -bob l"), "a8");
    let list = ok(bob.cmd("b5", "LIST \"\" \"user.alice*\""), "b5");
    assert!(
        !list.iter().any(|l| l.contains("user.alice.shared")),
        "{list:?}"
    );
    ok(alice.cmd("a9", "DELETEACL INBOX.shared -bob"), "a9");
    let rights = ok(alice.cmd("a10", "LISTRIGHTS INBOX.shared bob"), "a10");
    assert_eq!(
        rights[0].trim_end(),
        "* LISTRIGHTS INBOX.shared bob \"\" l r s w i p k x t e c d a n"
    );
    let acl = ok(alice.cmd("a11", "GETACL INBOX.shared"), "a11");
    assert!(!acl[0].contains("bob"), "{acl:?}");
    // An RFC 2086 client's letters: `c` and `d` grant all their members, and the ACL shows
    // them back beside the members.
    ok(alice.cmd("a12", "SETACL INBOX.shared bob lrswicda"), "a12");
    let acl = ok(alice.cmd("a13", "GETACL INBOX.shared"), "a13");
    assert!(acl[0].contains(" bob lrswikxtecda"), "{acl:?}");
}

/// Issue rule "`rs` without `l`": the mailbox is reachable by its name (SELECT, STATUS,
/// MYRIGHTS) but no LIST pattern shows it, not even its exact name or its parent's `*`.
#[test]
fn read_without_lookup_is_reachable_by_name_but_never_listed() {
    let server = server();
    let mut alice = Client::login(server.imap_port, "alice");
    ok(alice.cmd("a1", "CREATE INBOX.unlisted"), "a1");
    ok(alice.cmd("a2", "SETACL INBOX.unlisted bob rs"), "a2");
    let mut bob = Client::login(server.imap_port, "bob");
    for pattern in ["*", "user.alice*", "user.alice.unlisted", "%.%.%"] {
        let list = ok(bob.cmd("b1", &format!("LIST \"\" \"{pattern}\"")), "b1");
        assert!(
            !list.iter().any(|l| l.contains("alice")),
            "{pattern}: {list:?}"
        );
    }
    let mine = ok(bob.cmd("b2", "MYRIGHTS user.alice.unlisted"), "b2");
    assert_eq!(mine[0].trim_end(), "* MYRIGHTS user.alice.unlisted rs");
    ok(bob.cmd("b3", "STATUS user.alice.unlisted (MESSAGES)"), "b3");
    let select = ok(bob.cmd("b4", "SELECT user.alice.unlisted"), "b4");
    assert!(
        last(&select).starts_with("b4 OK [READ-WRITE]"),
        "{select:?}"
    );
    // `s` is a right that changes state, so the SELECT above was read-write. A sibling on
    // which bob has no right at all still answers exactly like a missing mailbox.
    ok(alice.cmd("a3", "CREATE INBOX.private"), "a3");
    let hidden = bob.cmd("b5", "SELECT user.alice.private");
    let missing = bob.cmd("b5", "SELECT user.alice.nothing");
    assert_eq!(answer(&hidden), answer(&missing));
}

#[test]
fn a_session_that_loses_read_on_its_selected_mailbox_is_closed() {
    let server = server();
    let mut alice = Client::login(server.imap_port, "alice");
    ok(alice.cmd("a1", "CREATE INBOX.shared"), "a1");
    ok(alice.cmd("a2", "SETACL INBOX.shared bob lr"), "a2");
    let mut bob = Client::login(server.imap_port, "bob");
    ok(bob.cmd("b1", "SELECT user.alice.shared"), "b1");
    ok(alice.cmd("a3", "SETACL INBOX.shared bob l"), "a3");
    bob.send(b"b2 NOOP\r\n");
    let line = bob.line();
    assert!(line.starts_with("* BYE [NOPERM]"), "{line}");
}

/// RFC 4314 §4: `\Seen` needs `s`, `\Deleted` needs `t`, other flags `w`; a STORE asking for
/// more is filtered, not refused; without any of the three it is `NO [NOPERM]`.
#[test]
fn store_changes_only_the_flags_the_rights_allow() {
    let server = server();
    let mut alice = Client::login(server.imap_port, "alice");
    ok(alice.cmd("a1", "CREATE INBOX.shared"), "a1");
    let message = "Subject: hi\r\n\r\nbody\r\n";
    ok(
        alice.cmd(
            "a2",
            &format!("APPEND INBOX.shared {{{}+}}\r\n{message}", message.len()),
        ),
        "a2",
    );
    ok(alice.cmd("a3", "SETACL INBOX.shared bob lrs"), "a3");
    let mut bob = Client::login(server.imap_port, "bob");
    ok(bob.cmd("b1", "SELECT user.alice.shared"), "b1");
    let r = ok(
        bob.cmd("b2", "STORE 1 +FLAGS (\\Seen \\Flagged \\Deleted)"),
        "b2",
    );
    let fetch = r.iter().find(|l| l.contains("FETCH")).unwrap();
    assert!(
        fetch.contains("\\Seen") && !fetch.contains("\\Flagged") && !fetch.contains("\\Deleted"),
        "{r:?}"
    );
    let r = bob.cmd("b3", "STORE 1 FLAGS (\\Seen)");
    assert!(last(&r).starts_with("b3 NO [NOPERM]"), "{r:?}");
    ok(alice.cmd("a4", "SETACL INBOX.shared bob lr"), "a4");
    // The change reaches the selected session at its next command (NOOP), then STORE obeys it.
    ok(bob.cmd("b4", "NOOP"), "b4");
    let r = bob.cmd("b5", "STORE 1 +FLAGS (\\Seen)");
    assert!(last(&r).starts_with("b5 NO [NOPERM]"), "{r:?}");
    // Alice's own flags were never touched by bob's STORE.
    ok(alice.cmd("a5", "SELECT INBOX.shared"), "a5");
    let r = ok(alice.cmd("a6", "FETCH 1 (FLAGS)"), "a6");
    assert!(
        !r[0].contains("\\Flagged") && !r[0].contains("\\Deleted"),
        "{r:?}"
    );
}

/// RFC 4314 §4: without any right that changes state (`s w t e`) SELECT is `[READ-ONLY]`,
/// and without `s` no `\Seen` is kept for the user (the "anonymous IMAP" `lr` case).
#[test]
fn read_only_rights_give_a_read_only_select_and_no_seen_state() {
    let server = server();
    let mut alice = Client::login(server.imap_port, "alice");
    ok(alice.cmd("a1", "CREATE INBOX.archive"), "a1");
    let message = "Subject: hi\r\n\r\nbody\r\n";
    ok(
        alice.cmd(
            "a2",
            &format!("APPEND INBOX.archive {{{}+}}\r\n{message}", message.len()),
        ),
        "a2",
    );
    ok(alice.cmd("a3", "SETACL INBOX.archive bob lr"), "a3");
    let mut bob = Client::login(server.imap_port, "bob");
    let r = ok(bob.cmd("b1", "SELECT user.alice.archive"), "b1");
    assert!(last(&r).starts_with("b1 OK [READ-ONLY]"), "{r:?}");
    let body = ok(bob.cmd("b2", "FETCH 1 (BODY[])"), "b2").concat();
    assert!(!body.contains("\\Seen"), "{body}");
    let flags = ok(bob.cmd("b3", "FETCH 1 (FLAGS)"), "b3");
    assert!(!flags[0].contains("\\Seen"), "{flags:?}");
    // With `s` the same fetch marks the message seen, for bob alone.
    ok(alice.cmd("a4", "SETACL INBOX.archive bob lrs"), "a4");
    let r = ok(bob.cmd("b4", "SELECT user.alice.archive"), "b4");
    assert!(last(&r).starts_with("b4 OK [READ-WRITE]"), "{r:?}");
    let body = ok(bob.cmd("b5", "FETCH 1 (BODY[])"), "b5").concat();
    assert!(body.contains("\\Seen"), "{body}");
    ok(alice.cmd("a5", "SELECT INBOX.archive"), "a5");
    let flags = ok(alice.cmd("a6", "FETCH 1 (FLAGS)"), "a6");
    assert!(
        !flags[0].contains("\\Seen"),
        "bob's \\Seen is his own: {flags:?}"
    );
}

/// RFC 4314 §4: RENAME needs `x` on the source and `k` on the closest existing parent of the
/// new name. A new name the user may not see, or under a parent they may not see, answers
/// exactly as one under no parent at all (`[NOPERM]`, never `[ALREADYEXISTS]` or
/// `[NONEXISTENT]`); administrators need neither right.
#[test]
fn rename_needs_k_on_the_new_parent_and_reveals_no_hidden_name() {
    let server = server();
    server.add_user("admin", "pw-admin");
    let mut admin = Client::login(server.imap_port, "admin");
    for mailbox in ["shared.board", "shared.hidden", "shared.open"] {
        ok(admin.cmd("a1", &format!("CREATE {mailbox}")), "a1");
    }
    // shared.board keeps `defaultacl` (anyone lrs): bob sees it, without k or x.
    ok(admin.cmd("a2", "DELETEACL shared.hidden anyone"), "a2");
    ok(admin.cmd("a3", "SETACL shared.open bob lrk"), "a3");
    let mut bob = Client::login(server.imap_port, "bob");
    ok(bob.cmd("b0", "CREATE INBOX.work"), "b0");

    let r = bob.cmd("b1", "RENAME INBOX.work shared.board.work");
    assert!(answer(&r).starts_with("NO [NOPERM]"), "{r:?}");
    let r = bob.cmd("b2", "RENAME INBOX.work shared.board");
    assert!(answer(&r).starts_with("NO [ALREADYEXISTS]"), "{r:?}");
    let missing_parent = bob.cmd("b3", "RENAME INBOX.work shared.nothing.work");
    assert!(
        answer(&missing_parent).starts_with("NO [NOPERM]"),
        "{missing_parent:?}"
    );
    for target in ["shared.hidden.work", "shared.hidden", "shared.nothing"] {
        let r = bob.cmd("b4", &format!("RENAME INBOX.work {target}"));
        assert_eq!(answer(&r), answer(&missing_parent), "{target}");
    }
    // `x` on the source: bob may see shared.board but not rename it away.
    let r = bob.cmd("b5", "RENAME shared.board shared.open.board");
    assert!(answer(&r).starts_with("NO [NOPERM]"), "{r:?}");

    ok(bob.cmd("b6", "RENAME INBOX.work shared.open.work"), "b6");
    let list = ok(bob.cmd("b7", "LIST \"\" \"shared.open*\""), "b7");
    assert!(
        list.iter()
            .any(|l| l.trim_end().ends_with(" shared.open.work")),
        "{list:?}"
    );
    // Administrators manage the namespace without holding k or x.
    ok(
        admin.cmd("a4", "RENAME shared.board shared.hidden.board"),
        "a4",
    );
    ok(admin.cmd("a5", "RENAME shared.open.work shared.work"), "a5");
}

/// The kind of a `* LIST`, `* MYRIGHTS` or `* STATUS` line and the mailbox it names (for
/// LIST, the word after the delimiter; the test's names need no quoting).
fn named(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_end();
    if line.starts_with("* LIST ") {
        let (_, rest) = line.split_once("\".\" ")?;
        return Some(("LIST", rest.split(' ').next()?));
    }
    let mut words = line.strip_prefix("* ")?.split(' ');
    let kind = words.next()?;
    matches!(kind, "MYRIGHTS" | "STATUS").then_some(())?;
    Some((kind, words.next()?))
}

/// RFC 8440: `RETURN (MYRIGHTS)` answers, after each listed mailbox's LIST line, the rights
/// MYRIGHTS would give; none for a name that is only a parent (`\Noselect`), one listed as
/// `\NonExistent` (a subscription the user can no longer see) or a CHILDINFO ancestor. With
/// STATUS, both follow the LIST line.
#[test]
fn list_return_myrights_follows_each_listed_mailbox() {
    let server = server();
    let mut alice = Client::login(server.imap_port, "alice");
    for mailbox in ["INBOX.shared", "INBOX.gone", "INBOX.a", "INBOX.a.b"] {
        ok(alice.cmd("a1", &format!("CREATE {mailbox}")), "a1");
    }
    ok(alice.cmd("a2", "SETACL INBOX.shared bob lrs"), "a2");
    ok(alice.cmd("a3", "SETACL INBOX.gone bob lr"), "a3");
    let mut bob = Client::login(server.imap_port, "bob");
    let caps = ok(bob.cmd("b0", "CAPABILITY"), "b0");
    assert!(caps[0].contains(" LIST-MYRIGHTS"), "{caps:?}");
    ok(bob.cmd("b1", "SUBSCRIBE user.alice.gone"), "b1");
    ok(alice.cmd("a4", "DELETEACL INBOX.gone bob"), "a4");

    let list = ok(bob.cmd("b2", "LIST \"\" \"*\" RETURN (MYRIGHTS)"), "b2");
    let lines: Vec<(&str, &str)> = list.iter().filter_map(|l| named(l)).collect();
    assert_eq!(
        lines,
        [
            ("LIST", "INBOX"),
            ("MYRIGHTS", "INBOX"),
            ("LIST", "user"),
            ("LIST", "user.alice"),
            ("LIST", "user.alice.shared"),
            ("MYRIGHTS", "user.alice.shared"),
        ],
        "{list:?}"
    );
    for mailbox in ["INBOX", "user.alice.shared"] {
        let mine = ok(bob.cmd("b3", &format!("MYRIGHTS {mailbox}")), "b3");
        assert!(list.contains(&mine[0]), "{mine:?} in {list:?}");
    }
    assert!(list
        .iter()
        .any(|l| l.trim_end() == "* MYRIGHTS user.alice.shared lrs"));

    let list = ok(
        bob.cmd(
            "b4",
            "LIST \"\" \"user.alice*\" RETURN (STATUS (MESSAGES) MYRIGHTS)",
        ),
        "b4",
    );
    let lines: Vec<(&str, &str)> = list.iter().filter_map(|l| named(l)).collect();
    assert_eq!(
        lines,
        [
            ("LIST", "user.alice"),
            ("LIST", "user.alice.shared"),
            ("MYRIGHTS", "user.alice.shared"),
            ("STATUS", "user.alice.shared"),
        ],
        "{list:?}"
    );

    // A subscription bob can no longer see is \NonExistent, with no rights to reveal.
    let list = ok(
        bob.cmd("b5", "LIST (SUBSCRIBED) \"\" \"*\" RETURN (MYRIGHTS)"),
        "b5",
    );
    let lines: Vec<(&str, &str)> = list.iter().filter_map(|l| named(l)).collect();
    assert_eq!(lines, [("LIST", "user.alice.gone")], "{list:?}");
    assert!(list[0].contains("\\NonExistent"), "{list:?}");

    // A CHILDINFO ancestor did not match the selection itself: no MYRIGHTS.
    ok(alice.cmd("a5", "SUBSCRIBE INBOX.a.b"), "a5");
    let list = ok(
        alice.cmd(
            "a6",
            "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"INBOX.%\" RETURN (MYRIGHTS)",
        ),
        "a6",
    );
    let lines: Vec<(&str, &str)> = list.iter().filter_map(|l| named(l)).collect();
    assert_eq!(lines, [("LIST", "INBOX.a")], "{list:?}");
    assert!(list[0].contains("CHILDINFO"), "{list:?}");
}
