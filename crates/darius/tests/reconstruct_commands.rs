//! `darius reconstruct` and `darius check` as an administrator runs them on a real server's
//! data: a message file removed and a stray `UID.` file added while the server is stopped are
//! reported by `check` and by `reconstruct -n` (which changes nothing), repaired by
//! `reconstruct -f` (a second run finds nothing), and the surviving messages keep their UIDs
//! and flags over IMAP; `reconstruct -m` rebuilds a deleted mailboxes database of a server
//! with 100 users, shared mailboxes with ACLs and two partitions so that every user's IMAP
//! view (LIST, ACLs, MYRIGHTS, UIDs, flags) is what it was.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

mod cli;
mod common;
mod imap_support;

use std::path::{Path, PathBuf};

use common::Server;
use imap_support::{last, Client};

/// The mailbox directories under a partition root (`ROOT/AB/CD/UNIQUEID`).
fn mailbox_dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for a in subdirs(root) {
        for b in subdirs(&a) {
            out.extend(subdirs(&b));
        }
    }
    out
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.file_name().unwrap() != "tmp")
        .collect()
}

/// The directory of the mailbox whose `cyrus.header` (JSON, see docs/on-disk-format.md) names
/// `name`.
fn dir_of(server: &Server, name: &str) -> PathBuf {
    mailbox_dirs(&server.dir.path().join("spool"))
        .into_iter()
        .find(|d| {
            let header = std::fs::read(d.join("cyrus.header")).unwrap_or_default();
            let header: serde_json::Value = serde_json::from_slice(&header).unwrap_or_default();
            header["name"] == name
        })
        .unwrap_or_else(|| panic!("no directory for {name}"))
}

/// Logs in as `user` and appends `count` messages to `mailbox`.
fn append(c: &mut Client, mailbox: &str, count: usize) {
    for i in 0..count {
        let body = format!("Subject: m{i}\r\nMessage-ID: <{i}.{mailbox}@test>\r\n\r\nbody {i}\r\n");
        let r = c.cmd(
            "ap",
            &format!("APPEND {mailbox} {{{}+}}\r\n{body}", body.len()),
        );
        assert!(last(&r).starts_with("ap OK"), "{r:?}");
    }
}

/// `UID FETCH 1:* FLAGS` of `mailbox`, examined: `(uid, flags)` lines sorted.
fn uid_flags(c: &mut Client, mailbox: &str) -> Vec<String> {
    let r = c.cmd("ex", &format!("EXAMINE {mailbox}"));
    assert!(last(&r).starts_with("ex OK"), "{r:?}");
    let r = c.cmd("uf", "UID FETCH 1:* (FLAGS)");
    assert!(last(&r).starts_with("uf OK"), "{r:?}");
    let mut lines: Vec<String> = r
        .iter()
        .filter(|l| l.starts_with("* "))
        .map(|l| normalised_fetch(l))
        .collect();
    lines.sort();
    lines
}

/// A FETCH line without its sequence number, UID first, flags sorted, without `\Recent`
/// (session state, which a restart and a rebuilt database may hand out anew).
fn normalised_fetch(line: &str) -> String {
    let uid = line
        .split("UID ")
        .nth(1)
        .and_then(|s| s.split([' ', ')']).next())
        .unwrap_or("?")
        .to_string();
    let flags = line
        .split("FLAGS (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap_or("");
    let mut flags: Vec<&str> = flags
        .split_whitespace()
        .filter(|f| *f != "\\Recent")
        .collect();
    flags.sort_unstable();
    format!("{uid:>6} {}", flags.join(" "))
}

/// A server with user `alice` whose INBOX holds five messages with flags, and an empty
/// `INBOX.Trash`; returns the server and alice's flags before any damage.
fn alice_with_flags() -> (Server, Vec<String>) {
    let server = Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = Client::login(server.imap_port, "alice");
    append(&mut c, "INBOX", 5);
    let r = c.cmd("cr", "CREATE INBOX.Trash");
    assert!(last(&r).starts_with("cr OK"), "{r:?}");
    let r = c.cmd("se", "SELECT INBOX");
    assert!(last(&r).starts_with("se OK"), "{r:?}");
    for (set, flags) in [
        ("1", "\\Flagged"),
        ("2", "\\Seen $Label1"),
        ("3", "\\Answered \\Seen"),
        ("4", "$Important"),
    ] {
        let r = c.cmd("st", &format!("UID STORE {set} +FLAGS ({flags})"));
        assert!(last(&r).starts_with("st OK"), "{r:?}");
    }
    let flags = uid_flags(&mut c, "INBOX");
    assert_eq!(flags.len(), 5, "{flags:?}");
    (server, flags)
}

#[test]
fn reconstruct_repairs_damage_keeping_uids_and_flags_and_a_second_run_finds_nothing() {
    let (mut server, before) = alice_with_flags();
    // Through the running server's admin socket: nothing to fix on a healthy store.
    let out = server.darius_ok(&["reconstruct", "-r", "-f"]);
    assert!(out.contains("nothing to fix"), "{out}");
    assert!(server.stop().is_some());

    let inbox = dir_of(&server, "user.alice");
    std::fs::remove_file(inbox.join("2.")).unwrap();
    std::fs::write(
        inbox.join("99."),
        "Subject: stray\r\nMessage-ID: <stray@test>\r\n\r\nfound on disk\r\n",
    )
    .unwrap();

    // -n: reported, nothing changed (a second dry run says the same).
    let dry = server.darius_ok(&["reconstruct", "-n", "user.alice"]);
    assert!(
        dry.contains(
            "user.alice: would remove the records of UIDs 2 (their message files are gone)"
        ),
        "{dry}"
    );
    assert!(
        dry.contains("user.alice: message files of UIDs 99 are not in the index"),
        "{dry}"
    );
    assert!(dry.contains("dry run: nothing changed"), "{dry}");
    assert_eq!(server.darius_ok(&["reconstruct", "-n", "user.alice"]), dry);
    let dry_f = server.darius_ok(&["reconstruct", "-n", "-f", "user.alice"]);
    assert!(
        dry_f.contains("user.alice: would adopt message files as UIDs 99"),
        "{dry_f}"
    );
    assert!(inbox.join("99.").exists());

    // Without -f the stray file stays out of the index; with -f it is adopted.
    let plain = server.darius_ok(&["reconstruct", "user.alice"]);
    assert!(
        plain.contains("user.alice: removed the records of UIDs 2"),
        "{plain}"
    );
    assert!(plain.contains("UIDs 99 are not in the index"), "{plain}");
    assert!(plain.contains("run `darius quota -f`"), "{plain}");
    let fixed = server.darius_ok(&["reconstruct", "-f", "--quota", "user.alice"]);
    assert!(
        fixed.contains("user.alice: adopted message files as UIDs 99"),
        "{fixed}"
    );
    assert!(!fixed.contains("records of UIDs 2"), "{fixed}");
    let again = server.darius_ok(&["reconstruct", "-r", "-f"]);
    assert!(
        again.contains("2 mailboxes looked at, nothing to fix"),
        "{again}"
    );

    server.restart();
    let mut c = Client::login(server.imap_port, "alice");
    let after = uid_flags(&mut c, "INBOX");
    let mut expected: Vec<String> = before
        .into_iter()
        .filter(|l| !l.trim_start().starts_with("2 "))
        .collect();
    expected.push(format!("{:>6} ", 99));
    expected.sort();
    assert_eq!(after, expected);
}

#[test]
fn reconstruct_recursive_takes_the_mailboxes_below_and_refuses_without_a_mailbox() {
    let (server, _) = alice_with_flags();
    let (ok_, _, stderr) = server.run_darius(&["reconstruct"]);
    assert!(!ok_);
    assert!(stderr.contains("pass -r"), "{stderr}");
    let out = server.darius_ok(&["reconstruct", "-r", "user.alice"]);
    assert!(
        out.contains("2 mailboxes looked at, nothing to fix"),
        "{out}"
    );
    let (ok_, _, stderr) = server.run_darius(&["reconstruct", "user.nobody"]);
    assert!(!ok_, "{stderr}");
    assert!(stderr.contains("user.nobody"), "{stderr}");
}

#[test]
fn check_is_clean_on_a_healthy_store_and_names_each_kind_of_damage() {
    let (mut server, _) = alice_with_flags();
    let (clean, stdout, stderr) = server.run_darius(&["check"]);
    assert!(clean, "{stdout}{stderr}");
    assert_eq!(stdout, "check: the store is consistent\n");
    assert!(server.stop().is_some());
    let (clean, stdout, _) = server.run_darius(&["check"]);
    assert!(clean, "offline: {stdout}");

    let inbox = dir_of(&server, "user.alice");
    let trash = dir_of(&server, "user.alice.Trash");
    std::fs::remove_file(inbox.join("3.")).unwrap();
    std::fs::write(inbox.join("42."), "Subject: stray\r\n\r\nstray\r\n").unwrap();
    std::fs::remove_dir_all(&trash).unwrap();
    let (clean, stdout, stderr) = server.run_darius(&["check"]);
    assert!(!clean, "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let has = |words: &[&str]| lines.iter().any(|l| words.iter().all(|w| l.contains(w)));
    assert!(
        has(&["index: user.alice:", "UIDs 3", "message files are gone"]),
        "{stdout}"
    );
    assert!(
        has(&["index: user.alice:", "UIDs 42", "not in the index"]),
        "{stdout}"
    );
    assert!(
        has(&["mailboxes database: user.alice.Trash has no directory"]),
        "{stdout}"
    );
    // check changed nothing: the same report again.
    let (_, again, _) = server.run_darius(&["check"]);
    assert_eq!(again, stdout);
    assert!(inbox.join("42.").exists());

    server.darius_ok(&["reconstruct", "-r", "-f", "--quota", "user.alice"]);
    let (clean, stdout, stderr) = server.run_darius(&["check"]);
    assert!(clean, "after reconstruct: {stdout}{stderr}");
}

#[test]
fn check_reports_a_mailbox_directory_the_mailboxes_database_lost() {
    let (mut server, _) = alice_with_flags();
    assert!(server.stop().is_some());
    std::fs::remove_file(server.config_dir().join("mailboxes.redb")).unwrap();
    let (clean, stdout, _) = server.run_darius(&["check"]);
    assert!(!clean, "{stdout}");
    assert!(
        stdout.contains("(mailbox user.alice.Trash on partition default) has no entry"),
        "{stdout}"
    );
    let out = server.darius_ok(&["reconstruct", "-m"]);
    assert!(out.contains("2 mailboxes restored"), "{out}");
    let (clean, stdout, _) = server.run_darius(&["check"]);
    assert!(clean, "{stdout}");
}

/// Users in the `-m` test.
const USERS: usize = 100;

/// Everything `user` sees over IMAP that the mailboxes database could change: LIST, then per
/// mailbox MYRIGHTS, GETACL (or its refusal), UIDVALIDITY and each message's UID and flags.
fn view(port: u16, user: &str) -> Vec<String> {
    let mut c = Client::login(port, user);
    let r = c.cmd("li", "LIST \"\" \"*\"");
    assert!(last(&r).starts_with("li OK"), "{r:?}");
    let mut lines: Vec<String> = r.iter().filter(|l| l.starts_with("* ")).cloned().collect();
    lines.sort();
    let names: Vec<String> = lines
        .iter()
        .filter(|l| !l.contains("\\Noselect") && !l.contains("\\NonExistent"))
        .map(|l| l.trim_end().rsplit(' ').next().unwrap().to_string())
        .collect();
    for name in names {
        for command in [format!("MYRIGHTS {name}"), format!("GETACL {name}")] {
            let r = c.cmd("ac", &command);
            let status = last(&r).split(' ').nth(1).unwrap_or("").to_string();
            let mut got: Vec<String> = r.iter().filter(|l| l.starts_with("* ")).cloned().collect();
            got.push(format!("{command} -> {status}"));
            lines.extend(got);
        }
        let r = c.cmd("ex", &format!("EXAMINE {name}"));
        if !last(&r).starts_with("ex OK") {
            // Listed without the right to read (an administrator's `l`): the refusal counts.
            lines.push(format!("EXAMINE {name} -> {}", last(&r).trim_end()));
            continue;
        }
        lines.extend(r.iter().filter(|l| l.contains("UIDVALIDITY")).cloned());
        let r = c.cmd("uf", "UID FETCH 1:* (FLAGS)");
        let mut fetched: Vec<String> = r
            .iter()
            .filter(|l| l.starts_with("* "))
            .map(|l| format!("{name} {}", normalised_fetch(l)))
            .collect();
        fetched.sort();
        lines.extend(fetched);
    }
    lines
}

#[test]
fn reconstruct_m_rebuilds_a_deleted_mailboxes_database_so_every_user_sees_the_same() {
    let mut server = Server::start_with("partition-second: {base}/spool2\n");
    server.add_user("admin", "pw-admin");
    for i in 0..USERS {
        server.add_user(&format!("u{i}"), &format!("pw-u{i}"));
    }
    for (name, partition) in [("shared.team", "default"), ("shared.proj", "second")] {
        server.darius_ok(&["mailbox", "create", name, "--partition", partition]);
    }
    server.darius_ok(&["acl", "set", "shared.team", "anyone", "lrs"]);
    for name in ["shared.team", "shared.proj"] {
        server.darius_ok(&["acl", "set", name, "admin", "lrswipkxtea"]);
    }
    server.darius_ok(&["acl", "set", "shared.proj", "u1", "lrswi"]);
    server.darius_ok(&["acl", "set", "shared.proj", "u2", "lr"]);
    for i in (0..USERS).step_by(10) {
        let name = format!("user.u{i}.Archive");
        server.darius_ok(&["mailbox", "create", &name, "--partition", "second"]);
    }
    let mut admin = Client::login(server.imap_port, "admin");
    append(&mut admin, "shared.team", 3);
    append(&mut admin, "shared.proj", 2);
    let r = admin.cmd("sf", "SELECT shared.team");
    assert!(last(&r).starts_with("sf OK"), "{r:?}");
    let r = admin.cmd("st", "UID STORE 2 +FLAGS (\\Flagged $Team)");
    assert!(last(&r).starts_with("st OK"), "{r:?}");
    for i in 0..USERS {
        let user = format!("u{i}");
        let mut c = Client::login(server.imap_port, &user);
        append(&mut c, "INBOX", 1 + i % 3);
        let r = c.cmd("se", "SELECT INBOX");
        assert!(last(&r).starts_with("se OK"), "{r:?}");
        let r = c.cmd("st", &format!("UID STORE 1 +FLAGS (\\Seen $K{})", i % 4));
        assert!(last(&r).starts_with("st OK"), "{r:?}");
        if i % 10 == 0 {
            append(&mut c, "INBOX.Archive", 2);
            let r = c.cmd(
                "sa",
                &format!("SETACL INBOX.Archive u{} lr", (i + 1) % USERS),
            );
            assert!(last(&r).starts_with("sa OK"), "{r:?}");
        }
        if i % 7 == 0 {
            let r = c.cmd("sa", &format!("SETACL INBOX u{} lrw", (i + 3) % USERS));
            assert!(last(&r).starts_with("sa OK"), "{r:?}");
        }
    }
    let users: Vec<String> = (0..USERS)
        .map(|i| format!("u{i}"))
        .chain(["admin".to_string()])
        .collect();
    let before: Vec<Vec<String>> = users.iter().map(|u| view(server.imap_port, u)).collect();
    // The views hold what the comparison is about: shared mailboxes, ACLs, UIDs with flags.
    assert!(
        before[1].iter().any(|l| l.contains("shared.proj")),
        "{:?}",
        before[1]
    );
    assert!(
        before[0]
            .iter()
            .any(|l| l.contains("INBOX      1 $K0 \\Seen")),
        "{:?}",
        before[0]
    );
    let admin_view = &before[USERS];
    assert!(admin_view
        .iter()
        .any(|l| l.contains("shared.team      2 $Team \\Flagged")));
    assert!(admin_view
        .iter()
        .any(|l| l.starts_with("* ACL shared.proj") && l.contains("u2 lr")));

    let (refused, _, stderr) = server.run_darius(&["reconstruct", "-m"]);
    assert!(!refused && stderr.contains("stop it first"), "{stderr}");
    assert!(server.stop().is_some());
    std::fs::remove_file(server.config_dir().join("mailboxes.redb")).unwrap();
    let out = server.darius_ok(&["reconstruct", "-m"]);
    // Every INBOX (the admin has one too), the ten archives and the two shared mailboxes.
    let expected = USERS + 1 + USERS / 10 + 2;
    assert!(
        out.contains(&format!("{expected} mailboxes restored")),
        "{out}"
    );
    let out = server.darius_ok(&["reconstruct", "-m"]);
    assert!(out.contains("0 mailboxes restored"), "{out}");

    server.restart();
    for (user, before) in users.iter().zip(&before) {
        assert_eq!(
            &view(server.imap_port, user),
            before,
            "{user}'s view changed"
        );
    }
}

/// alice's owner index overwritten while the server is stopped: `check` names both mailboxes
/// as unreadable (and says quota could not be checked) instead of failing as a whole;
/// `reconstruct -r` sets the file aside and makes both mailboxes again from their files (a
/// new UIDVALIDITY, every UID kept); the server then serves them.
#[test]
fn an_unreadable_owner_index_is_reported_by_check_and_rebuilt_by_reconstruct() {
    let (mut server, before) = alice_with_flags();
    let mut c = Client::login(server.imap_port, "alice");
    let r = c.cmd("st", "STATUS INBOX (UIDVALIDITY)");
    let old_uidvalidity = r[0].clone();
    drop(c);
    assert!(server.stop().is_some());
    let index_dir = server.config_dir().join("index");
    let files: Vec<PathBuf> = subdirs(&index_dir)
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    std::fs::write(&files[0], vec![7u8; 4096]).unwrap();

    let (clean, stdout, stderr) = server.run_darius(&["check"]);
    assert!(!clean, "{stdout}{stderr}");
    for name in ["user.alice:", "user.alice.Trash:"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains(name) && l.contains("cannot be read")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("quota: not checked"), "{stdout}");

    let out = server.darius_ok(&["reconstruct", "-r", "user.alice"]);
    assert!(out.contains("moved it aside"), "{out}");
    assert!(out.contains("new UIDVALIDITY"), "{out}");
    let (clean, stdout, stderr) = server.run_darius(&["check"]);
    assert!(clean, "after reconstruct: {stdout}{stderr}");

    server.restart();
    let mut c = Client::login(server.imap_port, "alice");
    let after = uid_flags(&mut c, "INBOX");
    let uids = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect()
    };
    assert_eq!(uids(&after), uids(&before), "every UID kept");
    let r = c.cmd("st", "STATUS INBOX (UIDVALIDITY)");
    assert_ne!(r[0], old_uidvalidity, "clients must resynchronise");
    let r = c.cmd("li", "LIST \"\" *");
    assert!(r.iter().any(|l| l.contains("INBOX.Trash")), "{r:?}");
}
