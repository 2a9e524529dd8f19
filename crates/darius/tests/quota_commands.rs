//! `darius quota` as an administrator runs it: the listing of roots with limits and usage
//! (the same through the admin socket and offline), `-f` repairing usage corrupted on disk
//! with the right before/after figures while keeping nested roots (the known Cyrus bug), a
//! second `-f` finding nothing, `--remove` handing mailboxes to the enclosing root, `--set`,
//! and bad input refused with a reason and a non-zero exit.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

mod cli;
mod common;
mod imap_support;

use std::path::{Path, PathBuf};

use common::Server;
use imap_support::{last, Client};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

/// The owner index's tables `darius quota -f` repairs (see `docs/on-disk-format.md`).
const USAGE: TableDefinition<&str, (u64, u64)> = TableDefinition::new("quota_usage");
const HEADERS: TableDefinition<&str, &[u8]> = TableDefinition::new("mailbox_headers");

/// Sizes of the messages the tests append: two into user.x's INBOX, one into user.x.sub.
const INBOX_SIZES: [usize; 2] = [1500, 2000];
const SUB_SIZE: usize = 1100;

/// A message of exactly `size` octets.
fn message(size: usize) -> String {
    let head = "Subject: quota\r\n\r\n";
    format!("{head}{}\r\n", "a".repeat(size - head.len() - 2))
}

fn append(c: &mut Client, mailbox: &str, size: usize) {
    let body = message(size);
    assert_eq!(body.len(), size);
    let r = c.cmd(
        "a",
        &format!("APPEND {mailbox} {{{}+}}\r\n{body}", body.len()),
    );
    assert!(last(&r).starts_with("a OK"), "{r:?}");
}

/// A server with user `x` (INBOX `user.x`) and `user.x.sub`, both quota roots (`user.x` with
/// limits, the nested one without), and messages appended over IMAP by `x`.
fn populated() -> Server {
    let server = Server::start();
    server.add_user("x", "pw-x");
    server.add_user("admin", "pw-admin");
    server.darius_ok(&["mailbox", "create", "user.x.sub"]);
    assert_eq!(
        server.darius_ok(&[
            "quota",
            "--set",
            "user.x",
            "--storage",
            "100",
            "--messages",
            "10"
        ]),
        "set quota root user.x: STORAGE 100 KiB, MESSAGE 10\n"
    );
    assert_eq!(
        server.darius_ok(&["quota", "--set", "user.x.sub"]),
        "set quota root user.x.sub without limits\n"
    );
    let mut x = Client::login(server.imap_port, "x");
    for size in INBOX_SIZES {
        append(&mut x, "INBOX", size);
    }
    append(&mut x, "INBOX.sub", SUB_SIZE);
    server
}

/// What `darius quota` prints for [`populated`]: user.x governs the INBOX's 3500 bytes (3 KiB,
/// 3 %) and 2 messages (20 %); the nested root has the other message and no limits.
const LISTING: &str = "   Quota   % Used     Used Resource Root\n\
                       \x20    100        3        3 STORAGE  user.x\n\
                       \x20     10       20        2 MESSAGE  user.x\n\
                       \x20                        1 STORAGE  user.x.sub\n\
                       \x20                        1 MESSAGE  user.x.sub\n";

fn getquota(server: &Server, root: &str) -> String {
    let mut admin = Client::login(server.imap_port, "admin");
    let r = admin.cmd("g", &format!("GETQUOTA {root}"));
    assert!(last(&r).starts_with("g OK"), "{r:?}");
    r.iter()
        .find(|l| l.starts_with("* QUOTA "))
        .unwrap()
        .trim_end()
        .to_string()
}

/// The owner index holding mailbox `name`'s subtree sums, found as an admin would: the
/// `*.redb` files under the configuration directory's `index/`.
fn owner_index(config_dir: &Path, name: &str) -> PathBuf {
    let mut found = Vec::new();
    let mut dirs = vec![config_dir.join("index")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "redb") {
                let db = redb::Database::open(&path).unwrap();
                let txn = db.begin_read().unwrap();
                if txn.open_table(USAGE).unwrap().get(name).unwrap().is_some() {
                    found.push(path);
                }
            }
        }
    }
    assert_eq!(found.len(), 1, "one index holds {name}: {found:?}");
    found.pop().unwrap()
}

/// Adds `(bytes, messages)` to the maintained usage of subtree `name`, as a bug might.
fn drift_usage(index: &Path, name: &str, bytes: u64, messages: u64) {
    let db = redb::Database::open(index).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut t = txn.open_table(USAGE).unwrap();
        let (b, m) = t.get(name).unwrap().unwrap().value();
        t.insert(name, (b + bytes, m + messages)).unwrap();
    }
    txn.commit().unwrap();
}

/// Adds `bytes` to the `size` total of mailbox `name`'s header.
fn drift_header(index: &Path, name: &str, bytes: u64) {
    let db = redb::Database::open(index).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut t = txn.open_table(HEADERS).unwrap();
        let mut found = None;
        for item in t.iter().unwrap() {
            let (k, v) = item.unwrap();
            let h: serde_json::Value = serde_json::from_slice(v.value()).unwrap();
            if h["name"] == name {
                found = Some((k.value().to_string(), h));
            }
        }
        let (key, mut h) = found.unwrap();
        h["size"] = (h["size"].as_u64().unwrap() + bytes).into();
        t.insert(key.as_str(), serde_json::to_vec(&h).unwrap().as_slice())
            .unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn the_listing_is_the_same_through_the_socket_and_offline() {
    let mut server = populated();
    let online = server.darius_ok(&["quota"]);
    assert_eq!(online, LISTING);
    // Named roots and a prefix narrow it.
    let only_sub = "   Quota   % Used     Used Resource Root\n\
                    \x20                        1 STORAGE  user.x.sub\n\
                    \x20                        1 MESSAGE  user.x.sub\n";
    assert_eq!(server.darius_ok(&["quota", "user.x.sub"]), only_sub);
    assert_eq!(server.darius_ok(&["quota", "-d", "user.x.sub"]), only_sub);
    assert_eq!(server.darius_ok(&["quota", "-d", "user"]), LISTING);
    assert_eq!(
        server.darius_ok(&["quota", "-d", "user.y"]),
        "   Quota   % Used     Used Resource Root\n"
    );
    let narrowed = [
        server.darius_ok(&["quota", "user.x"]),
        server.darius_ok(&["quota", "-d", "user.x", "user.x.sub"]),
    ];
    assert_eq!(
        getquota(&server, "user.x"),
        "* QUOTA user.x (STORAGE 3 100 MESSAGE 2 10)"
    );
    assert_eq!(server.stop(), Some(0));
    assert_eq!(
        server.darius_ok(&["quota"]),
        online,
        "offline says the same"
    );
    assert_eq!(server.darius_ok(&["quota", "user.x.sub"]), only_sub);
    assert_eq!(
        [
            server.darius_ok(&["quota", "user.x"]),
            server.darius_ok(&["quota", "-d", "user.x", "user.x.sub"]),
        ],
        narrowed
    );
}

#[test]
fn repair_fixes_corrupted_usage_keeps_the_nested_root_and_runs_clean_twice() {
    let mut server = populated();
    assert_eq!(server.stop(), Some(0));
    let index = owner_index(&server.config_dir(), "user.x");
    // The maintained sum of the whole user.x subtree drifts: user.x's own usage (its subtree
    // minus the nested root's) reads 100,000 bytes and 50 messages too many
    // (3,500 + 100,000 bytes: 101 KiB; 52 messages).
    drift_usage(&index, "user.x", 100_000, 50);
    let wrong = server.darius_ok(&["quota", "user.x"]);
    assert!(
        wrong.contains("     100      101      101 STORAGE  user.x\n"),
        "{wrong}"
    );
    assert!(
        wrong.contains("      10      520       52 MESSAGE  user.x\n"),
        "{wrong}"
    );
    assert_eq!(
        server.darius_ok(&["quota", "-f"]),
        "user.x: STORAGE usage was 101 KiB, now 3 KiB\n\
         user.x: MESSAGE usage was 52, now 2\n\
         fixed the usage of 1 root, 0 mailbox headers and 1 maintained usage entry\n"
    );
    // Both roots are still there, each with its own usage.
    assert_eq!(server.darius_ok(&["quota"]), LISTING);
    assert_eq!(
        server.darius_ok(&["quota", "-f"]),
        "quota usage is consistent: nothing to fix\n"
    );
    server.restart();
    assert_eq!(
        getquota(&server, "user.x"),
        "* QUOTA user.x (STORAGE 3 100 MESSAGE 2 10)"
    );
    assert_eq!(getquota(&server, "user.x.sub"), "* QUOTA user.x.sub ()");
    // Through the running server's socket: nothing left to fix, the listing unchanged.
    assert_eq!(
        server.darius_ok(&["quota", "-f"]),
        "quota usage is consistent: nothing to fix\n"
    );
    assert_eq!(server.darius_ok(&["quota"]), LISTING);
}

#[test]
fn repair_rewrites_a_corrupted_mailbox_header_and_the_nested_roots_usage() {
    let mut server = populated();
    assert_eq!(server.stop(), Some(0));
    let index = owner_index(&server.config_dir(), "user.x.sub");
    // user.x.sub's header claims 5,000 bytes more than its one message, and the subtree sums
    // followed it (as they do when a header is written): the nested root reads 5 KiB more,
    // user.x (which excludes the nested root) is unaffected.
    drift_header(&index, "user.x.sub", 5000);
    drift_usage(&index, "user.x.sub", 5000, 0);
    drift_usage(&index, "user.x", 5000, 0);
    let wrong = server.darius_ok(&["quota", "user.x.sub"]);
    assert!(wrong.contains("       5 STORAGE  user.x.sub\n"), "{wrong}");
    // Only the named root (and the owner holding it) is repaired.
    assert_eq!(
        server.darius_ok(&["quota", "--fix", "user.x.sub"]),
        "user.x.sub: STORAGE usage was 5 KiB, now 1 KiB\n\
         user.x.sub: mailbox header totals disagreed with its messages, rewritten\n\
         fixed the usage of 1 root, 1 mailbox header and 0 maintained usage entries\n"
    );
    assert_eq!(server.darius_ok(&["quota"]), LISTING);
    assert_eq!(
        server.darius_ok(&["quota", "-f"]),
        "quota usage is consistent: nothing to fix\n"
    );
    server.restart();
    let mut x = Client::login(server.imap_port, "x");
    let r = x.cmd("s", "STATUS INBOX.sub (MESSAGES SIZE)");
    assert!(
        r[0].contains("(MESSAGES 1 SIZE 1100)"),
        "the header's total is right again: {r:?}"
    );
}

#[test]
fn a_removed_root_hands_its_mailboxes_to_the_enclosing_root() {
    let mut server = populated();
    assert_eq!(
        server.darius_ok(&["quota", "--remove", "user.x.sub"]),
        "removed quota root user.x.sub: its mailboxes count for the enclosing root, if any\n"
    );
    let after = "   Quota   % Used     Used Resource Root\n\
                 \x20    100        4        4 STORAGE  user.x\n\
                 \x20     10       30        3 MESSAGE  user.x\n";
    assert_eq!(server.darius_ok(&["quota"]), after);
    assert_eq!(
        getquota(&server, "user.x"),
        "* QUOTA user.x (STORAGE 4 100 MESSAGE 3 10)"
    );
    let (done, _, stderr) = server.run_darius(&["quota", "--remove", "user.x.sub"]);
    assert!(!done);
    assert_eq!(
        stderr,
        "darius: user.x.sub is not a quota root: nothing removed\n"
    );
    // `--set` without limits keeps the root and drops its limits; the repair agrees.
    assert_eq!(
        server.darius_ok(&["quota", "--set", "user.x"]),
        "set quota root user.x without limits\n"
    );
    assert_eq!(server.stop(), Some(0));
    assert_eq!(
        server.darius_ok(&["quota"]),
        "   Quota   % Used     Used Resource Root\n\
         \x20                        4 STORAGE  user.x\n\
         \x20                        3 MESSAGE  user.x\n"
    );
    assert_eq!(
        server.darius_ok(&["quota", "-f"]),
        "quota usage is consistent: nothing to fix\n"
    );
}

#[test]
fn bad_input_is_refused_with_a_reason_through_the_socket_and_offline() {
    let mut server = populated();
    let cases: &[(&[&str], &str)] = &[
        (
            &["quota", "-f", "user.nobody"],
            "user.nobody is not a quota root",
        ),
        (
            &["quota", "-f", "-d", "user.x.sub", "user.x"],
            "user.x is not a quota root at or below user.x.sub",
        ),
        (&["quota", "user.nobody"], "user.nobody is not a quota root"),
        (&["quota", "a..b"], "empty hierarchy level"),
        (&["quota", "-f", "user."], "Invalid mailbox name"),
        (&["quota", "-d", ".x"], "Invalid mailbox name"),
        (&["quota", "--remove", "user..x"], "empty hierarchy level"),
        (
            &["quota", "--set", "user.nobody", "--messages", "1"],
            "user.nobody is no mailbox and has none below it",
        ),
        (
            &["quota", "--set", "user.x", "--storage", "-1"],
            "\"-1\" is not a limit: give a whole number from 0 to 9223372036854775807",
        ),
        (
            &["quota", "--set", "user.x", "--messages", "ten"],
            "\"ten\" is not a limit",
        ),
        (
            &[
                "quota",
                "--set",
                "user.x",
                "--storage",
                "9223372036854775808",
            ],
            "is not a limit",
        ),
        (&["quota", "--storage", "5"], "--set <ROOT>"),
        (
            &["quota", "-f", "--remove", "user.x"],
            "cannot be used with",
        ),
    ];
    let check = |server: &Server| -> Vec<String> {
        cases
            .iter()
            .map(|(args, says)| {
                let (done, stdout, stderr) = server.run_darius(args);
                assert!(!done, "{args:?} succeeded: {stdout}");
                assert!(stdout.is_empty(), "{args:?}: {stdout}");
                assert!(stderr.contains(says), "{args:?}: {stderr}");
                stderr
            })
            .collect()
    };
    let online = check(&server);
    assert_eq!(server.darius_ok(&["quota"]), LISTING, "nothing was changed");
    assert_eq!(server.stop(), Some(0));
    assert_eq!(check(&server), online, "offline says the same");
    assert_eq!(server.darius_ok(&["quota"]), LISTING, "nothing was changed");
}
