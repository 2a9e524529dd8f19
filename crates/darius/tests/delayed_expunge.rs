//! Delayed expunge as a user and an administrator see it, over real sockets: an IMAP client
//! expunges, no longer sees the messages (EXPUNGE responses, STATUS counts); `darius
//! unexpunge -l` lists them, `darius unexpunge` restores them under new UIDs with their flags
//! (through the admin socket, and offline once the server is stopped); `darius expire
//! --expunge-days 0` purges what is left, files included.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

mod cli;
mod common;
mod imap_support;

use std::path::{Path, PathBuf};

use common::Server;
use imap_support::{last, Client};

fn append(c: &mut Client, mailbox: &str, subject: &str) {
    let body = format!("From: a@example.org\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n");
    let r = c.cmd(
        "a",
        &format!(
            "APPEND {mailbox} (\\Flagged $Work) {{{}+}}\r\n{body}",
            body.len()
        ),
    );
    assert!(last(&r).starts_with("a OK"), "{r:?}");
}

fn cmd_ok(c: &mut Client, rest: &str) -> Vec<String> {
    let r = c.cmd("t", rest);
    assert!(last(&r).starts_with("t OK"), "{rest}: {r:?}");
    r
}

/// Every file under `dir` whose name ends with `suffix`.
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(files_ending(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            out.push(path);
        }
    }
    out
}

/// The partition directories of the test server (under its data directory).
fn data_dir(server: &Server) -> PathBuf {
    server.config_dir().parent().unwrap().to_path_buf()
}

#[test]
fn expunged_messages_are_hidden_listed_restored_with_new_uids_and_purged() {
    let mut server = Server::start();
    server.add_user("bob", "pw-bob");
    let mut c = Client::login(server.imap_port, "bob");
    for s in ["one", "two", "three"] {
        append(&mut c, "INBOX", s);
    }
    cmd_ok(&mut c, "SELECT INBOX");
    cmd_ok(&mut c, "UID STORE 1:2 +FLAGS (\\Deleted)");
    let r = cmd_ok(&mut c, "EXPUNGE");
    assert_eq!(
        r.iter().filter(|l| l.ends_with("EXPUNGE\r\n")).count(),
        2,
        "{r:?}"
    );
    let r = cmd_ok(&mut c, "UID FETCH 1:* (FLAGS)");
    assert_eq!(r.len(), 2, "only UID 3 is left: {r:?}");
    assert!(r[0].contains("UID 3"), "{r:?}");
    cmd_ok(&mut c, "CLOSE");
    let r = cmd_ok(&mut c, "STATUS INBOX (MESSAGES UIDNEXT)");
    assert!(r[0].contains("MESSAGES 1 UIDNEXT 4"), "{r:?}");
    let kept = files_ending(&data_dir(&server), ".expunged");
    assert_eq!(kept.len(), 2, "{kept:?}");
    // Kept messages are no inconsistency for `darius check`.
    server.darius_ok(&["check"]);

    let listing = server.darius_ok(&["unexpunge", "-l", "user.bob"]);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 3, "{listing}");
    assert!(
        lines[1].trim_start().starts_with("1 ") && lines[1].ends_with("one"),
        "{listing}"
    );
    assert!(
        lines[2].contains("\\Deleted") && lines[2].ends_with("two"),
        "{listing}"
    );

    // Through the admin socket: UID 1 back as UID 4, `\Deleted` cleared, other flags kept.
    assert_eq!(
        server.darius_ok(&["unexpunge", "-d", "user.bob", "1"]),
        "user.bob: restored UID 1 as UID 4\n"
    );
    cmd_ok(&mut c, "SELECT INBOX");
    let r = cmd_ok(
        &mut c,
        "UID FETCH 4 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
    );
    assert!(
        r[0].contains("\\Flagged") && r[0].contains("$Work"),
        "{r:?}"
    );
    assert!(!r[0].contains("\\Deleted"), "{r:?}");
    assert!(r.iter().any(|l| l.contains("Subject: one")), "{r:?}");
    c.cmd("z", "LOGOUT");

    // Offline, the server stopped: UID 2 comes back as UID 5, its `\Deleted` kept.
    assert_eq!(server.stop(), Some(0));
    assert_eq!(
        server.darius_ok(&["unexpunge", "-a", "user.bob"]),
        "user.bob: restored UID 2 as UID 5\n"
    );
    server.restart();
    let mut c = Client::login(server.imap_port, "bob");
    let r = cmd_ok(&mut c, "STATUS INBOX (MESSAGES)");
    assert!(r[0].contains("MESSAGES 3"), "{r:?}");
    cmd_ok(&mut c, "SELECT INBOX");
    let r = cmd_ok(&mut c, "UID FETCH 5 (FLAGS)");
    assert!(
        r[0].contains("\\Deleted") && r[0].contains("$Work"),
        "{r:?}"
    );
    assert!(files_ending(&data_dir(&server), ".expunged").is_empty());

    // Expunge again, then purge everything kept: the files go and nothing is left to list.
    cmd_ok(&mut c, "EXPUNGE");
    assert_eq!(files_ending(&data_dir(&server), ".expunged").len(), 1);
    let purged = server.darius_ok(&["expire", "--expunge-days", "0"]);
    assert!(purged.contains("purged 1 expunged message(s)"), "{purged}");
    assert!(files_ending(&data_dir(&server), ".expunged").is_empty());
    assert_eq!(
        server.darius_ok(&["unexpunge", "-l", "user.bob"]),
        "user.bob: no expunged messages are kept\n"
    );
    let again = server.darius_ok(&["expire", "--expunge-days", "0"]);
    assert!(again.contains("purged 0 expunged message(s)"), "{again}");
}

#[test]
fn unexpunge_without_a_choice_or_of_an_unknown_mailbox_is_refused() {
    let server = Server::start();
    server.add_user("bob", "pw-bob");
    let out = server.darius(&["unexpunge", "user.bob"]).output().unwrap();
    assert!(!out.status.success());
    let out = server
        .darius(&["unexpunge", "-l", "user.nobody"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// The mailbox names a LIST "" * shows `c`.
fn listed(c: &mut Client) -> Vec<String> {
    cmd_ok(c, "LIST \"\" *")
        .iter()
        .filter(|l| l.starts_with("* LIST"))
        .map(|l| {
            l.trim_end()
                .rsplit(' ')
                .next()
                .unwrap()
                .trim_matches('"')
                .to_string()
        })
        .collect()
}

#[test]
fn a_deleted_mailbox_is_hidden_then_undeleted_with_its_messages_then_removed_by_expire() {
    let mut server = Server::start();
    server.add_user("bob", "pw-bob");
    server.add_user("admin", "pw-admin");
    let mut c = Client::login(server.imap_port, "bob");
    cmd_ok(&mut c, "CREATE INBOX.Trash");
    append(&mut c, "INBOX.Trash", "kept");
    append(&mut c, "INBOX.Trash", "also kept");
    cmd_ok(&mut c, "DELETE INBOX.Trash");
    assert!(
        !listed(&mut c).contains(&"INBOX.Trash".to_string()),
        "hidden from LIST"
    );
    let r = c.cmd("s", "SELECT INBOX.Trash");
    assert!(last(&r).starts_with("s NO"), "{r:?}");
    // Not even an administrator's LIST shows it, nor may a client name it.
    let mut admin = Client::login(server.imap_port, "admin");
    let names = listed(&mut admin);
    assert!(names.iter().all(|n| !n.starts_with("DELETED")), "{names:?}");
    let r = admin.cmd("s", "SELECT DELETED.user.bob.Trash.0");
    assert!(last(&r).starts_with("s NO"), "{r:?}");

    let listing = server.darius_ok(&["undelete", "-l"]);
    assert!(listing.starts_with("DELETED.user.bob.Trash."), "{listing}");
    assert!(listing.trim_end().ends_with(" user.bob.Trash"), "{listing}");
    let restored = server.darius_ok(&["undelete", "user.bob.Trash"]);
    assert!(
        restored.starts_with("restored DELETED.user.bob.Trash."),
        "{restored}"
    );
    assert!(
        restored.trim_end().ends_with(" as user.bob.Trash"),
        "{restored}"
    );
    assert!(listed(&mut c).contains(&"INBOX.Trash".to_string()));
    let r = cmd_ok(&mut c, "STATUS INBOX.Trash (MESSAGES UIDNEXT)");
    assert!(
        r[0].contains("MESSAGES 2 UIDNEXT 3"),
        "the same messages and UIDs: {r:?}"
    );

    // Deleted again, then removed for good: nothing is left to undelete, files included.
    cmd_ok(&mut c, "DELETE INBOX.Trash");
    assert_eq!(server.stop(), Some(0));
    assert_eq!(message_files(&server).len(), 2, "kept while hidden");
    server.darius_ok(&["check"]);
    let out = server.darius_ok(&["expire", "--delete-days", "0"]);
    assert!(out.contains("removed 1 deleted mailbox(es)"), "{out}");
    assert_eq!(
        server.darius_ok(&["undelete", "-l"]),
        "no deleted mailboxes are kept\n"
    );
    let out = server
        .darius(&["undelete", "user.bob.Trash"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        message_files(&server).is_empty(),
        "{:?}",
        message_files(&server)
    );
}

/// Every message file (`UID.`) of the server.
fn message_files(server: &Server) -> Vec<PathBuf> {
    files_ending(&data_dir(server), ".")
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.len() > 1 && name[..name.len() - 1].bytes().all(|b| b.is_ascii_digit())
        })
        .collect()
}
