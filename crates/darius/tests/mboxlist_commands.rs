//! `darius mboxlist dump|undump` and `darius who` as an administrator runs them on a real
//! server: the dump lists the mailboxes with their ACLs and special-use; after an ACL changed
//! and the mailboxes database was lost, undump (server stopped) brings back every mailbox with
//! the dump's ACL and special-use, as IMAP shows after a restart, and a second undump changes
//! nothing; a malformed line is refused with its number and applies nothing; `who` lists a
//! logged-in session with its user and selected mailbox until it logs out.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

mod cli;
mod common;
mod imap_support;

use std::time::{Duration, Instant};

use common::Server;
use imap_support::{last, Client};

/// `c`'s answer to `command`, which must be OK: the untagged lines, sorted.
fn untagged(c: &mut Client, command: &str) -> Vec<String> {
    let r = c.cmd("t", command);
    assert!(last(&r).starts_with("t OK"), "{command}: {r:?}");
    let mut lines: Vec<String> = r.iter().filter(|l| l.starts_with("* ")).cloned().collect();
    lines.sort();
    lines
}

/// What alice sees that the mailboxes database holds: LIST (with special-use) and the ACLs.
fn alice_view(port: u16) -> Vec<String> {
    let mut c = Client::login(port, "alice");
    let mut view = untagged(&mut c, "LIST \"\" \"*\" RETURN (SPECIAL-USE)");
    for mailbox in ["INBOX", "INBOX.Sent", "INBOX.Shared"] {
        view.extend(untagged(&mut c, &format!("GETACL {mailbox}")));
    }
    view
}

/// The dump line of `name`.
fn line_of<'a>(dump: &'a str, name: &str) -> &'a str {
    dump.lines()
        .find(|l| l.starts_with(&format!("\"{name}\": {{")))
        .unwrap_or_else(|| panic!("no line for {name} in\n{dump}"))
}

#[test]
fn undump_restores_acls_special_use_and_lost_entries_and_a_second_run_changes_nothing() {
    let mut server = Server::start();
    server.add_user("alice", "pw-alice");
    server.add_user("bob", "pw-bob");
    let mut c = Client::login(server.imap_port, "alice");
    for command in [
        "CREATE INBOX.Sent (USE (\\Sent))",
        "CREATE INBOX.Shared",
        "SETACL INBOX.Shared bob lrs",
    ] {
        untagged(&mut c, command);
    }
    let before = alice_view(server.imap_port);
    assert!(
        before
            .iter()
            .any(|l| l.contains("\\Sent") && l.contains("INBOX.Sent")),
        "{before:?}"
    );

    // Through the running server: framed like Cyrus's, one line per mailbox, in name order.
    let dump = server.darius_ok(&["mboxlist", "dump"]);
    let lines: Vec<&str> = dump.lines().collect();
    assert_eq!(lines.first(), Some(&"{"), "{dump}");
    assert_eq!(lines.last(), Some(&"}"), "{dump}");
    let names: Vec<&str> = lines[1..lines.len() - 1]
        .iter()
        .map(|l| l.split('"').nth(1).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "user.alice",
            "user.alice.Sent",
            "user.alice.Shared",
            "user.bob"
        ],
        "{dump}"
    );
    let shared = line_of(&dump, "user.alice.Shared");
    assert!(
        shared.contains("\"partition\": \"default\", \"uniqueid\": \""),
        "{shared}"
    );
    assert!(shared.contains("\"mbtype\": \"e\""), "{shared}");
    assert!(
        shared.contains("\"acl\": {\"alice\": \"lrswipkxtean\", \"bob\": \"lrs\"}"),
        "{shared}"
    );
    assert!(shared.contains("\"specialuse\": []"), "{shared}");
    let sent = line_of(&dump, "user.alice.Sent");
    assert!(sent.contains("\"specialuse\": [\"\\\\Sent\"]"), "{sent}");
    let bob_only = server.darius_ok(&["mboxlist", "dump", "user.bob"]);
    assert_eq!(
        bob_only,
        format!("{{\n{}\n}}\n", line_of(&dump, "user.bob")),
        "{bob_only}"
    );
    let file = server.dir.path().join("mailboxes.dump");
    std::fs::write(&file, &dump).unwrap();
    let file = file.to_str().unwrap();

    // An ACL changes after the dump; undump refuses while the server runs.
    untagged(&mut c, "SETACL INBOX.Shared bob lrswi");
    untagged(&mut c, "SETACL INBOX.Shared anyone r");
    let (done, stdout, stderr) = server.run_darius(&["mboxlist", "undump", file]);
    assert!(!done, "{stdout}");
    assert!(stderr.contains("stop it first"), "{stderr}");
    drop(c);
    assert!(server.stop().is_some());

    // A malformed line: refused with its number, nothing of it applied.
    let bad = server.dir.path().join("bad.dump");
    let bad_line = shared.replace("\"bob\": \"lrs\"", "\"bob\": \"lr!\"");
    std::fs::write(&bad, format!("{{\n{bad_line}\n}}\n")).unwrap();
    let (done, stdout, stderr) = server.run_darius(&["mboxlist", "undump", bad.to_str().unwrap()]);
    assert!(!done, "{stdout}");
    assert!(stderr.contains("line 2: ACL"), "{stderr}");
    let now = server.darius_ok(&["mboxlist", "dump", "user.alice.Shared"]);
    assert!(
        now.contains("\"bob\": \"lrswi\", \"anyone\": \"r\""),
        "{now}"
    );

    // The mailboxes database is lost: every mailbox comes back from its directory, with the
    // dump's ACL and special-use.
    std::fs::remove_file(server.config_dir().join("mailboxes.redb")).unwrap();
    let out = server.darius_ok(&["mboxlist", "undump", file]);
    for name in [
        "user.alice",
        "user.alice.Sent",
        "user.alice.Shared",
        "user.bob",
    ] {
        assert!(
            out.contains(&format!(
                "{name}: entered again into the mailboxes database"
            )),
            "{out}"
        );
    }
    assert!(
        out.contains("user.alice.Shared: ACL set to the dump's"),
        "{out}"
    );
    assert!(
        out.contains("user.alice.Sent: special-use set to the dump's (\\Sent)"),
        "{out}"
    );
    assert!(!out.contains("skipped:"), "{out}");
    let again = server.darius_ok(&["mboxlist", "undump", file]);
    assert_eq!(
        again, "mboxlist undump: 0 changes, 0 mailboxes skipped\n",
        "{again}"
    );
    // Standard input works the same.
    let mut piped = server
        .darius(&["mboxlist", "undump", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut piped.stdin.take().unwrap(), dump.as_bytes()).unwrap();
    let piped = piped.wait_with_output().unwrap();
    assert!(piped.status.success());
    assert_eq!(String::from_utf8_lossy(&piped.stdout), again);
    assert_eq!(server.darius_ok(&["mboxlist", "dump"]), dump);

    server.restart();
    assert_eq!(alice_view(server.imap_port), before);
}

#[test]
fn undump_skips_a_mailbox_whose_directory_is_not_there() {
    let mut server = Server::start();
    server.add_user("alice", "pw-alice");
    let dump = server.darius_ok(&["mboxlist", "dump"]);
    assert!(server.stop().is_some());
    let stray = line_of(&dump, "user.alice")
        .replace("user.alice", "user.ghost")
        .replace("\"uniqueid\": \"", "\"uniqueid\": \"ff");
    let file = server.dir.path().join("ghost.dump");
    std::fs::write(&file, format!("{stray}\n")).unwrap();
    let out = server.darius_ok(&["mboxlist", "undump", file.to_str().unwrap()]);
    assert!(out.contains("user.ghost: skipped: "), "{out}");
    assert!(out.contains("0 changes, 1 mailboxes skipped"), "{out}");
    assert!(!server
        .darius_ok(&["mboxlist", "dump"])
        .contains("user.ghost"));
}

/// `darius who`'s lines, polled until `wanted` holds of them (the session files are written
/// by a background thread).
fn who_until(server: &Server, what: &str, wanted: impl Fn(&[Vec<String>]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = server.darius_ok(&["who"]);
        let sessions: Vec<Vec<String>> = out
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect();
        for s in &sessions {
            assert_eq!(s.len(), 4, "{out}");
        }
        if wanted(&sessions) {
            return;
        }
        assert!(Instant::now() < deadline, "never: {what}; last:\n{out}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn who_lists_a_session_with_its_user_and_mailbox_until_logout() {
    let mut server = Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = Client::login(server.imap_port, "alice");
    let r = c.cmd("se", "SELECT INBOX");
    assert!(last(&r).starts_with("se OK"), "{r:?}");
    who_until(&server, "alice's session with user.alice selected", |s| {
        s.iter()
            .any(|f| f[1] == "127.0.0.1" && f[2] == "alice" && f[3] == "user.alice")
    });
    let mut anonymous = Client::connect(server.imap_port);
    who_until(&server, "a session not logged in", |s| {
        s.iter().any(|f| f[2] == "-" && f[3] == "-")
    });
    let r = c.cmd("lo", "LOGOUT");
    assert!(last(&r).starts_with("lo OK"), "{r:?}");
    who_until(&server, "alice's session gone", |s| {
        s.len() == 1 && s.iter().all(|f| f[2] != "alice")
    });
    let r = anonymous.cmd("lo", "LOGOUT");
    assert!(last(&r).starts_with("lo OK"), "{r:?}");
    who_until(&server, "no sessions", |s| s.is_empty());
    assert!(server.stop().is_some());
    let (done, stdout, stderr) = server.run_darius(&["who"]);
    assert!(done, "{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("no server is running"), "{stderr}");
}
