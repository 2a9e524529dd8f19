//! `darius backup` and `darius restore` over real sockets: a server filled over IMAP, LMTP and
//! ManageSieve (several users, folders, a mailbox shared with an ACL, flags and keywords,
//! another user's `\Seen`, a delayed-expunged message, a quota root, subscriptions, a Sieve
//! script) is backed up while a client keeps APPENDing; `darius check` on the backup is clean;
//! the backup restored into a fresh data directory answers every user exactly as the original
//! did (LIST, LSUB, STATUS, UID FETCH of FLAGS, INTERNALDATE, RFC822 and MODSEQ, GETACL,
//! GETQUOTAROOT, the Sieve scripts, the kept expunged messages).
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

mod common;
mod imap_support;
mod lmtp_support;
mod sieve_support;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use common::Server;
use imap_support::{last, Client};

const SCRIPT: &str = "require \"fileinto\";\r\nif header :contains \"subject\" \"report\" {\r\n  fileinto \"INBOX.Reports\";\r\n}\r\n";

fn ok(c: &mut Client, rest: &str) -> Vec<String> {
    let r = c.cmd("t", rest);
    assert!(last(&r).starts_with("t OK"), "{rest}: {r:?}");
    r
}

fn append(c: &mut Client, mailbox: &str, flags: &str, subject: &str) {
    let body = format!(
        "From: someone@example.org\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n\r\nbody of {subject}\r\n"
    );
    let r = c.cmd(
        "a",
        &format!(
            "APPEND {mailbox} ({flags}) \"05-Mar-2024 10:11:12 +0100\" {{{}+}}\r\n{body}",
            body.len()
        ),
    );
    assert!(last(&r).starts_with("a OK"), "{r:?}");
}

/// Fills the server: alice (folders, keywords, a shared folder bob reads and marks `\Seen`,
/// a delayed-expunged message, a quota root, a subscription, a Sieve script), bob (a
/// subscription to alice's folder), carol (appended to while the backup runs).
fn fill(server: &Server) {
    for user in ["admin", "alice", "bob", "carol"] {
        server.add_user(user, &format!("pw-{user}"));
    }
    let mut alice = Client::login(server.imap_port, "alice");
    for folder in ["INBOX.Projects", "INBOX.Reports", "INBOX.Archive.2024"] {
        ok(&mut alice, &format!("CREATE {folder}"));
    }
    append(&mut alice, "INBOX", "\\Flagged", "first");
    append(&mut alice, "INBOX", "$Work \\Answered", "second");
    append(&mut alice, "INBOX", "\\Deleted", "doomed");
    append(&mut alice, "INBOX.Projects", "$Plan", "plan");
    append(&mut alice, "INBOX.Projects", "", "notes");
    append(&mut alice, "INBOX.Archive.2024", "\\Seen", "old");
    ok(&mut alice, "SELECT INBOX");
    ok(&mut alice, "UID STORE 2 +FLAGS (\\Seen $Later)");
    ok(&mut alice, "EXPUNGE");
    ok(&mut alice, "SETACL INBOX.Projects bob lrs");
    ok(&mut alice, "SUBSCRIBE INBOX.Projects");
    ok(&mut alice, "LOGOUT");
    let mut bob = Client::login(server.imap_port, "bob");
    append(&mut bob, "INBOX", "", "for bob");
    ok(&mut bob, "SELECT user.alice.Projects");
    ok(&mut bob, "UID STORE 1 +FLAGS (\\Seen)");
    ok(&mut bob, "SUBSCRIBE user.alice.Projects");
    ok(&mut bob, "LOGOUT");
    let mut admin = Client::login(server.imap_port, "admin");
    ok(&mut admin, "SETQUOTA user.alice (STORAGE 5000 MESSAGE 100)");
    ok(&mut admin, "LOGOUT");
    let mut sieve = sieve_support::Client::login(server.sieve_port, "", "alice", "pw-alice");
    let reply = sieve.with_literal("PUTSCRIPT \"main\"", SCRIPT.as_bytes());
    assert!(reply.ok(), "{reply:?}");
    let reply = sieve.cmd("SETACTIVE \"main\"");
    assert!(reply.ok(), "{reply:?}");
    let message = b"From: boss@example.org\r\nSubject: weekly report\r\n\r\nnumbers\r\n";
    let replies = lmtp_support::deliver(server.lmtp_port, &["alice", "bob"], message);
    assert!(replies.iter().all(|r| r.starts_with("250")), "{replies:?}");
}

/// Everything `user` sees over IMAP, command by command.
fn imap_view(port: u16, user: &str) -> Vec<String> {
    let mut c = Client::login(port, user);
    let mut view = Vec::new();
    let list = ok(&mut c, "LIST \"\" \"*\"");
    view.extend(list.iter().cloned());
    view.extend(ok(&mut c, "LSUB \"\" \"*\""));
    let names: Vec<String> = list
        .iter()
        .filter(|l| l.starts_with("* LIST"))
        .map(|l| l.trim_end().rsplit(' ').next().unwrap().to_string())
        .collect();
    for name in names {
        view.extend(c.cmd(
            "s",
            &format!("STATUS {name} (MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)"),
        ));
        // Intermediate names (\Noselect) answer NO here, the same NO in both stores.
        let examined = c.cmd("e", &format!("EXAMINE {name}"));
        let selectable = last(&examined).starts_with("e OK");
        view.extend(examined);
        if selectable {
            view.extend(ok(
                &mut c,
                "UID FETCH 1:* (FLAGS INTERNALDATE RFC822 MODSEQ)",
            ));
        }
        view.extend(c.cmd("g", &format!("GETACL {name}")));
        view.extend(c.cmd("q", &format!("GETQUOTAROOT {name}")));
    }
    ok(&mut c, "LOGOUT");
    view
}

/// alice's Sieve scripts as ManageSieve lists and returns them.
fn sieve_view(port: u16) -> Vec<String> {
    let mut sieve = sieve_support::Client::login(port, "", "alice", "pw-alice");
    let mut view = Vec::new();
    for command in ["LISTSCRIPTS", "GETSCRIPT \"main\""] {
        let reply = sieve.cmd(command);
        assert!(reply.ok(), "{command}: {reply:?}");
        view.extend(reply.data);
    }
    view
}

/// The whole comparable state of the server.
fn full_view(server: &Server) -> Vec<String> {
    let mut view = Vec::new();
    for user in ["alice", "bob"] {
        view.push(format!("== {user}"));
        view.extend(imap_view(server.imap_port, user));
    }
    view.push("== sieve".to_string());
    view.extend(sieve_view(server.sieve_port));
    view.push("== kept".to_string());
    view.push(server.darius_ok(&["unexpunge", "-l", "user.alice"]));
    view.push(server.darius_ok(&["quota"]));
    view
}

/// carol's INBOX: (UID, RFC822 text) of every message.
fn carol_messages(port: u16) -> Vec<String> {
    let mut c = Client::login(port, "carol");
    ok(&mut c, "EXAMINE INBOX");
    let lines = ok(&mut c, "UID FETCH 1:* (FLAGS RFC822)");
    ok(&mut c, "LOGOUT");
    lines[..lines.len() - 1].to_vec()
}

/// A client that APPENDs to carol's INBOX until told to stop; returns how many it appended.
fn keep_appending(port: u16, stop: Arc<AtomicBool>, count: Arc<AtomicU32>) {
    let mut c = Client::login(port, "carol");
    while !stop.load(Ordering::SeqCst) {
        let n = count.load(Ordering::SeqCst);
        append(&mut c, "INBOX", "\\Flagged", &format!("during backup {n}"));
        count.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn backup_while_appending_is_consistent_and_restores_every_users_view() {
    let server = Server::start_with("expunge_mode: delayed\n");
    fill(&server);
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU32::new(0));
    let appender = {
        let (stop, count) = (Arc::clone(&stop), Arc::clone(&count));
        let port = server.imap_port;
        std::thread::spawn(move || keep_appending(port, stop, count))
    };
    while count.load(Ordering::SeqCst) < 5 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let dest = server.dir.path().join("backup");
    let out = server.darius_ok(&["backup", dest.to_str().unwrap()]);
    let during = count.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    appender.join().unwrap();
    assert!(out.contains("backup of"), "{out}");
    assert!(
        count.load(Ordering::SeqCst) > 5,
        "the appender kept going while the backup ran"
    );
    assert!(dest.join("backup.json").is_file());

    // A backup inside the store itself is refused.
    let inside = server.config_dir().join("backup-inside");
    let (ok_inside, _, err) = server.run_darius(&["backup", inside.to_str().unwrap()]);
    assert!(!ok_inside && err.contains("inside"), "{err}");
    assert!(!inside.join("backup.json").exists());

    // A second backup into the same directory is refused, changing nothing.
    let (ok_again, _, err) = server.run_darius(&["backup", dest.to_str().unwrap()]);
    assert!(!ok_again && err.contains("not empty"), "{err}");

    // The backup is a data directory of its own, and a consistent one.
    let backup_conf = dest.join("imapd.conf");
    let check = std::process::Command::new(common::DARIUS)
        .arg("-C")
        .arg(&backup_conf)
        .arg("check")
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "check on the backup: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    let original = full_view(&server);
    let text = original.join("");
    for expected in [
        "$Work",
        "body of for bob",
        "bob lrs",
        "STORAGE",
        "Subject: weekly report",
        "fileinto",
        "doomed",
    ] {
        assert!(
            text.contains(expected),
            "{expected} missing from {original:#?}"
        );
    }
    let original_carol = carol_messages(server.imap_port);

    // Restore into a fresh data directory: refused while that server runs and, once it is
    // stopped, refused over its own mailboxes without --force.
    let mut fresh = Server::start();
    fresh.add_user("zed", "pw-zed");
    let (ok_running, _, err) = fresh.run_darius(&["restore", dest.to_str().unwrap()]);
    assert!(!ok_running && err.contains("stop it first"), "{err}");
    fresh.stop();
    let (ok_unforced, _, err) = fresh.run_darius(&["restore", dest.to_str().unwrap()]);
    assert!(!ok_unforced && err.contains("--force"), "{err}");
    fresh.darius_ok(&["restore", "--force", dest.to_str().unwrap()]);
    fresh.restart();
    fresh.darius_ok(&["check"]);

    let restored = full_view(&fresh);
    assert_eq!(
        restored.len(),
        original.len(),
        "{restored:#?}\n{original:#?}"
    );
    for (r, o) in restored.iter().zip(&original) {
        assert_eq!(r, o);
    }
    // carol's INBOX holds a prefix of what the appender wrote: every message acknowledged
    // before the backup started, none half-copied.
    let restored_carol = carol_messages(fresh.imap_port);
    assert!(
        restored_carol.join("").contains("Subject: during backup 4"),
        "{restored_carol:?}"
    );
    assert!(
        restored_carol.len() <= original_carol.len(),
        "{restored_carol:?}"
    );
    let restored_text = restored_carol.join("");
    let original_text = original_carol.join("");
    assert!(
        original_text.starts_with(&restored_text),
        "the restored INBOX is not a prefix of the original"
    );
    assert!(during >= 5);
    // zed, who existed only in the fresh store, is gone with it.
    let mut c = Client::connect(fresh.imap_port);
    let r = c.cmd("l", "LOGIN zed pw-zed");
    assert!(last(&r).starts_with("l NO"), "{r:?}");
}

#[test]
fn offline_backup_of_a_stopped_server_serves_as_is() {
    let mut server = Server::start();
    fill(&server);
    let before = full_view(&server);
    server.stop();
    let dest = server.dir.path().join("offline-backup");
    let out = server.darius_ok(&["backup", dest.to_str().unwrap()]);
    assert!(out.contains("mailboxes"), "{out}");
    server.restart();
    server.darius_ok(&["mailbox", "delete", "user.alice.Projects"]);
    server.stop();
    server.darius_ok(&["restore", "--force", dest.to_str().unwrap()]);
    server.restart();
    assert_eq!(full_view(&server), before);

    // A tree of mailboxes under another name, with the server stopped.
    server.stop();
    let out = server.darius_ok(&[
        "restore",
        dest.to_str().unwrap(),
        "--mailbox",
        "user.alice.Archive.2024",
        "--to",
        "user.alice.Old",
        "-r",
    ]);
    assert!(out.contains("as user.alice.Old"), "{out}");
    let (missing, _, err) = server.run_darius(&[
        "restore",
        dest.to_str().unwrap(),
        "--mailbox",
        "user.alice.Nothing",
    ]);
    assert!(!missing && err.contains("user.alice.Nothing"), "{err}");
    server.restart();
    let old = imap_support::run_ok(
        server.imap_port,
        "alice",
        &["EXAMINE INBOX.Old", "UID FETCH 1:* (FLAGS RFC822)"],
    );
    let text = old.join("");
    assert!(
        text.contains("body of old") && text.contains("\\Seen"),
        "{old:?}"
    );
}

#[test]
fn restore_brings_back_a_deleted_mailbox_and_a_deleted_user() {
    let server = Server::start_with("expunge_mode: delayed\n");
    fill(&server);
    let dest = server.dir.path().join("backup");
    let backup = dest.to_str().unwrap();
    server.darius_ok(&["backup", backup]);
    let original = full_view(&server);

    // A mailbox the owner deleted comes back with its UIDs, flags, dates, MODSEQs, ACL and
    // bob's private \Seen, through the running server.
    let mut alice = Client::login(server.imap_port, "alice");
    ok(&mut alice, "DELETE INBOX.Projects");
    ok(&mut alice, "LOGOUT");
    assert_ne!(full_view(&server), original);
    let out = server.darius_ok(&["restore", backup, "--mailbox", "user.alice.Projects"]);
    assert!(out.contains("restored user.alice.Projects"), "{out}");
    assert_eq!(full_view(&server), original);

    // It exists now: restoring it again is refused, under another name it is a copy.
    let (again, _, err) =
        server.run_darius(&["restore", backup, "--mailbox", "user.alice.Projects"]);
    assert!(!again && err.contains("exists"), "{err}");
    server.darius_ok(&[
        "restore",
        backup,
        "--mailbox",
        "user.alice.Projects",
        "--to",
        "user.alice.Projects-copy",
    ]);
    let copy = imap_support::run_ok(
        server.imap_port,
        "alice",
        &[
            "EXAMINE INBOX.Projects-copy",
            "UID FETCH 1:* (FLAGS INTERNALDATE RFC822 MODSEQ)",
        ],
    );
    let text = copy.join("");
    assert!(
        text.contains("body of plan") && text.contains("$Plan"),
        "{copy:?}"
    );
    server.darius_ok(&["mailbox", "delete", "user.alice.Projects-copy"]);

    // A deleted user comes back: mailboxes, subscriptions, quota root, Sieve script.
    server.darius_ok(&["user", "del", "--yes", "alice"]);
    let out = server.darius_ok(&["restore", backup, "--user", "alice"]);
    assert!(out.contains("restored user.alice as user.alice"), "{out}");
    assert!(out.contains("Sieve script main"), "{out}");
    server.add_user("alice", "pw-alice");
    assert_eq!(full_view(&server), original);
}
