//! IMAP through a Murder frontend, over real sockets: a frontend that holds no mail passes
//! what concerns the backend's mailboxes to the backend, and the client sees what it would
//! see at the backend itself. Where it makes sense the frontend's answer is compared with
//! the backend's own answer to the same command (identical untagged data).

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod murder;

use murder::{Frontend, Murder, TlsSetup};

const MESSAGE: &[u8] = b"From: Ann <ann@example.org>\r\nTo: team@example.org\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nMessage-ID: <1@example.org>\r\n\r\nBody with 8-bit \xc3\xa9 and a lone dot:\r\n.\r\nend\r\n";

fn message(n: u32) -> Vec<u8> {
    format!("From: ann@example.org\r\nSubject: message {n}\r\n\r\nText {n}\r\n").into_bytes()
}

/// The backend's own answer to `command` as `user` in a fresh session, after `before`.
fn at_backend(murder: &Murder, user: &str, before: &[&str], command: &str) -> murder::Answer {
    let mut backend = murder.backend(user);
    for (i, c) in before.iter().enumerate() {
        backend.ok(&format!("p{i}"), c);
    }
    backend.run("q", command)
}

#[test]
fn list_and_examine_through_the_frontend_answer_as_the_backend() {
    let murder = Murder::start(Frontend::Only);
    let mut backend = murder.backend("ann");
    backend.append("a", "INBOX", "(\\Seen)", &message(1));
    let mut front = murder.frontend("ann");
    // One list of the mailboxes of every backend.
    let list = front.ok("b", "LIST \"\" \"*\"");
    for name in ["INBOX", "INBOX.Work", "shared.team", "shared.other"] {
        assert!(
            list.text().contains(&format!(" {name}\r\n")),
            "{}",
            list.text()
        );
    }
    let pattern = "LIST \"\" \"INBOX*\"";
    let list = front.ok("b2", pattern);
    assert_eq!(list.text(), at_backend(&murder, "ann", &[], pattern).text());

    let examine = front.ok("c", "EXAMINE INBOX");
    let direct = at_backend(&murder, "ann", &[], "EXAMINE INBOX");
    assert_eq!(examine.text(), direct.text());
    assert_eq!(examine.tagged, direct.tagged);
    assert!(
        examine.text().contains("* 1 EXISTS\r\n"),
        "{}",
        examine.text()
    );
    assert!(
        examine.text().contains("[UIDVALIDITY "),
        "{}",
        examine.text()
    );
}

#[test]
fn append_and_fetch_round_trip_the_exact_bytes() {
    let murder = Murder::start(Frontend::Only);
    let mut front = murder.frontend("ann");
    let appended = front.append("a", "INBOX", "(\\Seen $Label)", MESSAGE);
    assert!(
        appended.tagged.starts_with("OK [APPENDUID "),
        "{}",
        appended.tagged
    );
    front.ok("b", "SELECT INBOX");
    let fetch = front.ok("c", "FETCH 1 (BODY.PEEK[])");
    let mut expected = format!("* 1 FETCH (BODY[] {{{}}}\r\n", MESSAGE.len()).into_bytes();
    expected.extend_from_slice(MESSAGE);
    expected.extend_from_slice(b")\r\n");
    assert_eq!(fetch.untagged, vec![expected]);

    let items = "UID FETCH 1 (UID RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE BODY.PEEK[])";
    let direct = at_backend(&murder, "ann", &["EXAMINE INBOX"], items);
    assert_eq!(front.ok("d", items).untagged, direct.untagged);
}

#[test]
fn store_search_and_uid_expunge_act_at_the_backend() {
    let murder = Murder::start(Frontend::Only);
    let mut front = murder.frontend("ann");
    for n in 1..=3 {
        front.append(&format!("a{n}"), "INBOX", "()", &message(n));
    }
    front.ok("b", "SELECT INBOX");
    let store = front.ok("c", "STORE 2 +FLAGS (\\Flagged)");
    assert!(
        store.text().contains("* 2 FETCH (FLAGS ("),
        "{}",
        store.text()
    );
    assert!(store.text().contains("\\Flagged"), "{}", store.text());
    assert_eq!(front.ok("d", "SEARCH FLAGGED").text(), "* SEARCH 2\r\n");
    let direct = at_backend(&murder, "ann", &["EXAMINE INBOX"], "SEARCH FLAGGED");
    assert_eq!(direct.text(), "* SEARCH 2\r\n");

    front.ok("e", "UID STORE 1,3 +FLAGS.SILENT (\\Deleted)");
    let expunge = front.ok("f", "UID EXPUNGE 3");
    assert_eq!(expunge.text(), "* 3 EXPUNGE\r\n");
    let status = at_backend(&murder, "ann", &[], "STATUS INBOX (MESSAGES)");
    assert_eq!(status.text(), "* STATUS INBOX (MESSAGES 2)\r\n");
}

#[test]
fn idle_through_the_frontend_sees_a_message_appended_at_the_backend() {
    let murder = Murder::start(Frontend::Only);
    let mut front = murder.frontend("ann");
    front.ok("a", "SELECT INBOX");
    front.send(b"b IDLE\r\n");
    let go_ahead = front.response();
    assert!(go_ahead.starts_with(b"+"), "{go_ahead:?}");
    let mut backend = murder.backend("ann");
    backend.append("x", "INBOX", "()", &message(1));
    let mut seen = Vec::new();
    while !seen.ends_with(b"* 1 EXISTS\r\n") {
        seen.extend(front.response());
    }
    front.send(b"DONE\r\n");
    let done = front.answer("b");
    assert!(done.tagged.starts_with("OK"), "{}", done.tagged);
    let fetch = front.ok("c", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    assert!(
        fetch.text().contains("Subject: message 1"),
        "{}",
        fetch.text()
    );
}

#[test]
fn status_acl_and_quota_commands_are_answered_by_the_backend() {
    let murder = Murder::start(Frontend::Only);
    let mut backend = murder.backend("ann");
    backend.append("a", "INBOX.Work", "()", &message(1));
    let mut front = murder.frontend("ann");
    for command in [
        "STATUS INBOX.Work (MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)",
        "GETACL shared.team",
        "MYRIGHTS shared.team",
        "LISTRIGHTS shared.team bob",
        "GETQUOTAROOT INBOX",
    ] {
        let here = front.ok("b", command);
        assert_eq!(
            here.text(),
            at_backend(&murder, "ann", &[], command).text(),
            "{command}"
        );
    }

    // bob sees shared.team once ann gave him `l`: at the backend, and in the frontend's
    // directory copy (refreshed after the SETACL went through).
    front.ok("c", "SETACL shared.team bob lr");
    let acl = at_backend(&murder, "ann", &[], "GETACL shared.team");
    assert!(acl.text().contains("bob lr"), "{}", acl.text());
    let mut bob = murder.frontend("bob");
    let list = bob.ok("d", "LIST \"\" \"shared.*\"");
    assert!(list.text().contains("shared.team"), "{}", list.text());
    front.ok("e", "DELETEACL shared.team bob");
    let list = bob.ok("f", "LIST \"\" \"shared.*\"");
    assert!(!list.text().contains("shared.team"), "{}", list.text());
}

#[test]
fn list_status_of_remote_mailboxes_asks_their_backend() {
    let murder = Murder::start(Frontend::Only);
    let mut backend = murder.backend("ann");
    backend.append("a", "INBOX.Work", "()", &message(1));
    backend.append("b", "INBOX.Work", "()", &message(2));
    let mut front = murder.frontend("ann");
    let list = front.ok("c", "LIST \"\" \"INBOX*\" RETURN (STATUS (MESSAGES))");
    let text = list.text();
    assert!(
        text.contains("* STATUS INBOX.Work (MESSAGES 2)\r\n"),
        "{text}"
    );
    assert!(text.contains("* STATUS INBOX (MESSAGES 0)\r\n"), "{text}");
}

#[test]
fn copy_within_the_backend_gives_copyuid_and_another_select_follows() {
    let murder = Murder::start(Frontend::Only);
    let mut front = murder.frontend("ann");
    front.append("a", "INBOX", "()", &message(1));
    front.append("b", "INBOX", "()", &message(2));
    front.ok("c", "SELECT INBOX");
    let copy = front.ok("d", "COPY 1:2 INBOX.Work");
    assert!(copy.tagged.starts_with("OK [COPYUID "), "{}", copy.tagged);
    assert!(copy.tagged.contains(" 1:2 1:2]"), "{}", copy.tagged);

    let select = front.ok("e", "SELECT INBOX.Work");
    let text = select.text();
    assert_eq!(text.matches("[CLOSED]").count(), 1, "{text}");
    assert!(text.contains("* 2 EXISTS\r\n"), "{text}");
    let bodies = front.ok("f", "FETCH 1:2 (BODY.PEEK[TEXT])");
    assert!(bodies.text().contains("Text 1") && bodies.text().contains("Text 2"));

    // A third mailbox, shared, on the same backend; then back.
    let select = front.ok("g", "SELECT shared.team");
    assert!(
        select.text().contains("* 0 EXISTS\r\n"),
        "{}",
        select.text()
    );
    front.ok("h", "CLOSE");
    assert!(front.run("i", "FETCH 1 FLAGS").tagged.starts_with("BAD"));
    front.ok("j", "EXAMINE INBOX");
    assert!(front
        .ok("k", "FETCH 2 (UID)")
        .text()
        .contains("* 2 FETCH (UID 2)"));
}

#[test]
fn create_rename_and_delete_go_to_the_backend_and_show_in_list() {
    let murder = Murder::start(Frontend::Only);
    let mut front = murder.frontend("ann");
    front.ok("a", "CREATE INBOX.New");
    let list = front.ok("b", "LIST \"\" \"INBOX.*\"");
    assert!(list.text().contains(" INBOX.New\r\n"), "{}", list.text());
    let direct = at_backend(&murder, "ann", &[], "LIST \"\" \"INBOX.*\"");
    assert_eq!(list.text(), direct.text());

    front.ok("c", "RENAME INBOX.New INBOX.Newer");
    let list = front.ok("d", "LIST \"\" \"INBOX.*\"");
    assert!(list.text().contains(" INBOX.Newer\r\n"), "{}", list.text());
    assert!(!list.text().contains(" INBOX.New\r\n"), "{}", list.text());

    front.ok("e", "DELETE INBOX.Newer");
    let list = front.ok("f", "LIST \"\" \"INBOX.*\"");
    assert!(!list.text().contains("Newer"), "{}", list.text());
    assert_eq!(
        list.text(),
        at_backend(&murder, "ann", &[], "LIST \"\" \"INBOX.*\"").text()
    );
    // Creating what exists answers as the backend would.
    let again = front.run("g", "CREATE INBOX.Work");
    assert_eq!(
        again.tagged,
        at_backend(&murder, "ann", &[], "CREATE INBOX.Work").tagged
    );
}

#[test]
fn a_stopped_backend_answers_unavailable_and_the_session_goes_on() {
    let mut murder = Murder::start(Frontend::Only);
    let mut front = murder.frontend("ann");
    front.ok("a", "SELECT INBOX");
    murder.stop_backend();

    let noop = front.run("b", "NOOP");
    assert!(
        noop.tagged.starts_with("NO [UNAVAILABLE]"),
        "{}",
        noop.tagged
    );
    assert!(noop.text().contains("* OK [CLOSED]"), "{}", noop.text());
    // Left the selected state, not the session.
    assert!(front.run("c", "FETCH 1 FLAGS").tagged.starts_with("BAD"));
    front.ok("d", "LIST \"\" \"*\"");
    for (tag, command) in [
        ("e", "SELECT INBOX"),
        ("f", "STATUS INBOX (MESSAGES)"),
        ("g", "GETACL shared.team"),
        ("h", "CREATE INBOX.Other"),
    ] {
        let answer = front.run(tag, command);
        assert!(
            answer.tagged.starts_with("NO [UNAVAILABLE]"),
            "{command}: {}",
            answer.tagged
        );
    }
    let append = front.append("i", "INBOX", "()", &message(1));
    assert!(
        append.tagged.starts_with("NO [UNAVAILABLE]"),
        "{}",
        append.tagged
    );
    front.ok("j", "LOGOUT");
}

#[test]
fn a_user_without_rights_sees_the_same_refusals_as_at_the_backend() {
    let murder = Murder::start(Frontend::Only);
    let mut bob = murder.frontend("bob");
    for command in [
        "SELECT shared.team",
        "EXAMINE user.ann",
        "STATUS shared.team (MESSAGES)",
        "GETACL shared.team",
        "MYRIGHTS user.ann.Work",
        "DELETE shared.team",
        "SELECT nosuch",
    ] {
        let here = bob.run("a", command);
        let there = at_backend(&murder, "bob", &[], command);
        assert!(
            here.tagged.starts_with("NO [NONEXISTENT]"),
            "{command}: {}",
            here.tagged
        );
        assert_eq!(here.tagged, there.tagged, "{command}");
        assert_eq!(here.text(), there.text(), "{command}");
    }
    let append = bob.run("b", "APPEND shared.team {1+}\r\nx");
    let there = at_backend(&murder, "bob", &[], "APPEND shared.team {1+}\r\nx");
    assert_eq!(append.tagged, there.tagged);
}

/// A unified node holds mailboxes too (here ann's `INBOX.Local`, her other mailboxes being on
/// the backend): COPY and MOVE from a backend's mailbox to one held here carry the messages
/// over, flags and internal dates kept, with COPYUID.
#[test]
fn copy_and_move_to_a_mailbox_on_another_server_carry_the_messages() {
    let murder = Murder::start(Frontend::Unified);
    let mut backend = murder.backend("ann");
    backend.send(b"a APPEND INBOX (\\Flagged) \"01-Jan-2020 10:00:00 +0100\" {");
    backend.send(format!("{}+}}\r\n", MESSAGE.len()).as_bytes());
    backend.send(MESSAGE);
    backend.send(b"\r\n");
    assert!(backend.answer("a").tagged.starts_with("OK"));
    backend.append("b", "INBOX", "(\\Seen $Label)", &message(2));

    let mut front = murder.frontend("ann");
    front.ok("c", "SELECT INBOX");
    let copy = front.ok("d", "COPY 1:2 INBOX.Local");
    assert!(copy.tagged.starts_with("OK [COPYUID "), "{}", copy.tagged);
    assert!(copy.tagged.contains(" 1:2 1:2]"), "{}", copy.tagged);

    let items = "FETCH 1:2 (INTERNALDATE RFC822.SIZE BODY.PEEK[])";
    let there = at_backend(&murder, "ann", &["EXAMINE INBOX"], items);
    let select = front.ok("e", "SELECT INBOX.Local");
    assert!(select.text().contains("* OK [CLOSED]"), "{}", select.text());
    assert!(select.text().contains("* 2 EXISTS"), "{}", select.text());
    assert_eq!(front.ok("f", items).untagged, there.untagged);
    let flags = front.ok("g", "FETCH 1:2 (FLAGS)").text();
    assert!(flags.contains("* 1 FETCH (FLAGS (\\Flagged"), "{flags}");
    assert!(
        flags.contains("\\Seen") && flags.contains("$Label"),
        "{flags}"
    );

    front.ok("h", "SELECT INBOX");
    let moved = front.ok("i", "MOVE 1 INBOX.Local");
    let text = moved.text();
    let copyuid = text.find("* OK [COPYUID ").expect(&text);
    let expunge = text.find("* 1 EXPUNGE\r\n").expect(&text);
    assert!(copyuid < expunge, "{text}");
    let status = at_backend(&murder, "ann", &[], "STATUS INBOX (MESSAGES)");
    assert_eq!(status.text(), "* STATUS INBOX (MESSAGES 1)\r\n");
    let status = front.ok("j", "STATUS INBOX.Local (MESSAGES)");
    assert_eq!(status.text(), "* STATUS INBOX.Local (MESSAGES 3)\r\n");
}

#[test]
fn copy_and_move_to_another_backend_carry_the_messages() {
    let murder = Murder::start(Frontend::Only);
    let mut front = murder.frontend("ann");
    // (Not `\\Seen`: in a shared mailbox it is each user's own, and APPEND there does not
    // set it, whichever server appends.)
    front.append("a", "INBOX", "(\\Flagged)", MESSAGE);
    front.append("b", "INBOX", "($Label)", &message(2));
    front.ok("c", "SELECT INBOX");
    let copy = front.ok("d", "COPY 1:2 shared.other");
    assert!(copy.tagged.starts_with("OK [COPYUID "), "{}", copy.tagged);
    assert!(copy.tagged.contains(" 1:2 1:2]"), "{}", copy.tagged);

    let items = "FETCH 1:2 (INTERNALDATE RFC822.SIZE BODY.PEEK[])";
    let there = at_backend(&murder, "ann", &["EXAMINE INBOX"], items);
    let mut second = murder.second("ann");
    second.ok("e", "EXAMINE shared.other");
    assert_eq!(second.ok("f", items).untagged, there.untagged);
    let flags = second.ok("f2", "FETCH 1:2 (FLAGS)").text();
    assert!(flags.contains("* 1 FETCH (FLAGS (\\Flagged"), "{flags}");
    assert!(flags.contains("* 2 FETCH (FLAGS ($Label"), "{flags}");

    let moved = front.ok("g", "UID MOVE 2 shared.other");
    let text = moved.text();
    assert!(text.starts_with("* OK [COPYUID "), "{text}");
    assert!(text.ends_with("* 2 EXPUNGE\r\n"), "{text}");
    let status = second.ok("h", "STATUS shared.other (MESSAGES)");
    assert!(status
        .text()
        .starts_with("* STATUS shared.other (MESSAGES 3)\r\n"));
    let status = front.ok("i", "STATUS INBOX (MESSAGES)");
    assert_eq!(status.text(), "* STATUS INBOX (MESSAGES 1)\r\n");
    // A destination that does not exist answers as one here would.
    let missing = front.run("j", "COPY 1 shared.nosuch");
    assert!(
        missing.tagged.starts_with("NO [TRYCREATE]"),
        "{}",
        missing.tagged
    );
}

#[test]
fn selecting_on_another_backend_leaves_the_first() {
    let murder = Murder::start(Frontend::Only);
    let mut second = murder.second("ann");
    second.append("a", "shared.other", "()", &message(1));
    let mut front = murder.frontend("ann");
    front.append("b", "INBOX", "()", &message(2));
    front.append("c", "INBOX", "()", &message(3));
    front.ok("d", "SELECT INBOX");
    let other = front.ok("e", "SELECT shared.other");
    assert_eq!(
        other.text().matches("[CLOSED]").count(),
        1,
        "{}",
        other.text()
    );
    assert!(other.text().contains("* 1 EXISTS\r\n"), "{}", other.text());
    let fetch = front.ok("f", "FETCH 1 (BODY.PEEK[TEXT])");
    assert!(fetch.text().contains("Text 1"), "{}", fetch.text());
    let back = front.ok("g", "EXAMINE INBOX");
    assert!(back.text().contains("* 2 EXISTS\r\n"), "{}", back.text());
    let fetch = front.ok("h", "FETCH 2 (BODY.PEEK[TEXT])");
    assert!(fetch.text().contains("Text 3"), "{}", fetch.text());
}

#[test]
fn create_places_new_mailboxes_by_murder_rules() {
    let murder = Murder::start(Frontend::Only);
    let name = |n: &str| types::MailboxName::try_from(n).unwrap();
    let mut admin = murder.frontend("admin");
    // A new INBOX goes to the least loaded backend.
    admin.ok("a", "CREATE user.carl");
    assert!(murder
        .second_store
        .mailbox_entry(&name("user.carl"))
        .is_ok());
    // A personal mailbox follows its owner's INBOX.
    admin.ok("b", "CREATE user.carl.Sent");
    assert!(murder
        .second_store
        .mailbox_entry(&name("user.carl.Sent"))
        .is_ok());
    // Cyrus's Murder syntax names the backend.
    admin.ok("c", "CREATE shared.placed b1!default");
    assert!(murder
        .backend_store
        .mailbox_entry(&name("shared.placed"))
        .is_ok());
    let list = admin.ok("d", "LIST \"\" \"*\"");
    for listed in ["user.carl", "user.carl.Sent", "shared.placed"] {
        assert!(
            list.text().contains(&format!(" {listed}\r\n")),
            "{}",
            list.text()
        );
    }
    let unknown = admin.run("e", "CREATE shared.lost nosuch!default");
    assert!(
        unknown.tagged.starts_with("NO [UNAVAILABLE]"),
        "{}",
        unknown.tagged
    );
    // Only administrators choose where.
    let mut ann = murder.frontend("ann");
    let here = ann.run("f", "CREATE INBOX.Sub b2!default");
    assert!(here.tagged.starts_with("NO [NOPERM]"), "{}", here.tagged);
}

#[test]
fn condstore_and_qresync_reach_the_backend() {
    let murder = Murder::start(Frontend::Only);
    let mut backend = murder.backend("ann");
    for n in 1..=3 {
        backend.append(&format!("a{n}"), "INBOX", "()", &message(n));
    }
    backend.ok("b", "SELECT INBOX");
    backend.ok("c", "STORE 3 +FLAGS (\\Flagged)");
    backend.ok("d", "STORE 2 +FLAGS (\\Deleted)");
    backend.ok("e", "EXPUNGE");
    let status = backend.ok("f", "STATUS INBOX (UIDVALIDITY)").text();
    let validity: u32 = status
        .trim_end()
        .trim_end_matches(')')
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    let mut front = murder.frontend("ann");
    let enable = front.ok("g", "ENABLE QRESYNC");
    assert_eq!(enable.text(), "* ENABLED QRESYNC\r\n");
    let select = format!("EXAMINE INBOX (QRESYNC ({validity} 1 1:3))");
    let here = front.ok("h", &select);
    let there = at_backend(&murder, "ann", &["ENABLE QRESYNC"], &select);
    assert_eq!(here.text(), there.text());
    assert!(
        here.text().contains("* VANISHED (EARLIER) 2\r\n"),
        "{}",
        here.text()
    );
    let fetch = "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)";
    let there = at_backend(&murder, "ann", &["ENABLE QRESYNC", "EXAMINE INBOX"], fetch);
    let here = front.ok("i", fetch);
    assert_eq!(here.text(), there.text());
    assert!(here.text().contains("MODSEQ ("), "{}", here.text());
}

#[test]
fn a_refused_proxy_login_answers_unavailable() {
    let murder = Murder::start_with(Frontend::Only, "not-the-password");
    let mut front = murder.frontend("ann");
    let select = front.run("a", "SELECT INBOX");
    assert!(
        select.tagged.starts_with("NO [UNAVAILABLE]"),
        "{}",
        select.tagged
    );
    front.ok("b", "LIST \"\" \"*\"");
    front.ok("c", "LOGOUT");
}

#[test]
fn a_silent_backend_times_out_and_a_babbling_one_is_cut_off() {
    let murder = Murder::start(Frontend::Only);
    let mut front = murder.frontend("ann");
    let started = std::time::Instant::now();
    let silent = front.run("a", "SELECT shared.silent");
    assert!(
        silent.tagged.starts_with("NO [UNAVAILABLE]"),
        "{}",
        silent.tagged
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    // The login without SASL-IR works (STATUS is answered); the long line is cut off, and
    // the next command takes a new connection.
    let status = front.ok("b", "STATUS shared.garbage (MESSAGES)");
    assert_eq!(status.text(), "* STATUS shared.garbage (MESSAGES 7)\r\n");
    let garbage = front.run("c", "SELECT shared.garbage");
    assert!(
        garbage.tagged.starts_with("NO [UNAVAILABLE]"),
        "{}",
        garbage.tagged
    );
    assert!(
        garbage.text().len() < 1024,
        "relayed: {} bytes",
        garbage.text().len()
    );
    let status = front.ok("c2", "STATUS shared.garbage (MESSAGES)");
    assert_eq!(status.text(), "* STATUS shared.garbage (MESSAGES 7)\r\n");
    // The session goes on, and other backends answer.
    front.ok("d", "SELECT INBOX");
}

#[test]
fn a_backend_lost_during_idle_closes_the_mailbox_at_done() {
    let mut murder = Murder::start(Frontend::Only);
    let mut front = murder.frontend("ann");
    front.ok("a", "SELECT INBOX");
    front.send(b"b IDLE\r\n");
    assert!(front.response().starts_with(b"+"));
    murder.stop_backend();
    let closed = front.response();
    assert!(
        closed.starts_with(b"* OK [CLOSED]"),
        "{:?}",
        String::from_utf8_lossy(&closed)
    );
    front.send(b"DONE\r\n");
    let done = front.answer("b");
    assert!(
        done.tagged.starts_with("NO [UNAVAILABLE]"),
        "{}",
        done.tagged
    );
    assert!(front.run("c", "FETCH 1 FLAGS").tagged.starts_with("BAD"));
    front.ok("d", "NOOP");
}

/// Python's imaplib, a client nobody here wrote, through the frontend.
#[test]
fn imaplib_through_the_frontend() {
    if !have_python() {
        return;
    }
    let murder = Murder::start(Frontend::Only);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/interop/imaplib_proxy.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .env("FRONTEND_PORT", murder.frontend_port.to_string())
        .env("BACKEND_PORT", murder.backend_port.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `python3` runs; without it the test says so and passes, unless
/// `DARIUS_REQUIRE_INTEROP=1` (docs/TESTING.md).
fn have_python() -> bool {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("DARIUS_REQUIRE_INTEROP").as_deref() != Ok("1"),
            "python3 is required (DARIUS_REQUIRE_INTEROP=1)"
        );
        eprintln!("python3 not found: skipping");
    }
    found
}

/// The taps of a Murder started with TLS.
fn taps(murder: &Murder) -> &(net::testing::Tap, net::testing::Tap) {
    murder.taps.as_ref().unwrap()
}

#[test]
fn the_frontend_starts_tls_with_a_backend_that_offers_it_and_stays_plain_with_one_that_does_not() {
    let murder = Murder::start_tls(TlsSetup {
        trusts_b1: true,
        mode: net::ClientTlsMode::Auto,
    });
    murder
        .backend("ann")
        .append("a", "INBOX", "(\\Seen)", &message(1));
    let mut front = murder.frontend("ann");
    let select = front.ok("b", "SELECT INBOX");
    assert!(select.text().contains("* 1 EXISTS"), "{}", select.text());
    let fetch = front.ok("c", "FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]");
    assert!(fetch.text().contains("message 1"), "{}", fetch.text());
    let status = front.ok("d", "STATUS shared.other (MESSAGES)");
    assert!(status.text().contains("MESSAGES 0"), "{}", status.text());
    let (b1, b2) = taps(&murder);
    assert!(b1.saw("STARTTLS\r\n"), "b1 offers STARTTLS: it is asked");
    for secret in ["AUTHENTICATE", "SELECT", "FETCH", murder::PROXY_PASSWORD] {
        assert!(!b1.saw(secret), "{secret} went to b1 in the clear");
    }
    assert!(!b2.saw("STARTTLS"), "b2 offers no STARTTLS");
    assert!(b2.saw("AUTHENTICATE PLAIN"), "b2 is used in plain");
}

#[test]
fn a_backend_whose_certificate_does_not_verify_is_unavailable_and_never_used_in_plain() {
    let murder = Murder::start_tls(TlsSetup {
        trusts_b1: false,
        mode: net::ClientTlsMode::Auto,
    });
    let mut front = murder.frontend("ann");
    let select = front.run("b", "SELECT INBOX");
    assert!(
        select.tagged.starts_with("NO [UNAVAILABLE]"),
        "{}",
        select.tagged
    );
    // The session goes on, and the other backend still serves it.
    front.ok("c", "STATUS shared.other (MESSAGES)");
    let (b1, _) = taps(&murder);
    assert!(b1.saw("STARTTLS\r\n"));
    assert!(
        !b1.saw("AUTHENTICATE"),
        "no login after the failed handshake"
    );
}

#[test]
fn proxy_tls_on_refuses_a_backend_without_starttls() {
    let murder = Murder::start_tls(TlsSetup {
        trusts_b1: true,
        mode: net::ClientTlsMode::On,
    });
    let mut front = murder.frontend("ann");
    front.ok("b", "SELECT INBOX");
    front.ok("c", "CLOSE");
    let status = front.run("d", "STATUS shared.other (MESSAGES)");
    assert!(
        status.tagged.starts_with("NO [UNAVAILABLE]"),
        "{}",
        status.tagged
    );
    let (b1, b2) = taps(&murder);
    assert!(b1.saw("STARTTLS\r\n") && !b1.saw("AUTHENTICATE"));
    assert!(!b2.saw("AUTHENTICATE"), "b2 is not logged in to in plain");
}
