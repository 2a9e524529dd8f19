//! Real clients through a Murder frontend (a real etcd, two `darius serve` backends, one
//! frontend on loopback): `mbsync` (isync) syncing a Maildir both ways with an account whose
//! mailboxes are on a backend, and Cyrus's `sieveshell` managing a user's scripts, which land
//! on the user's backend and file the mail delivered through the frontend's LMTP. What the
//! clients did is checked straight at the backend. Skipped when a program is missing,
//! failing under DARIUS_REQUIRE_INTEROP=1.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;
mod imap_support;
mod murder_support;
mod sieve_support;

use std::path::Path;
use std::process::{Command, Stdio};

use common::Server;
use imap_support::{last, Client};
use murder_support::{eventually, lmtp_once, message, message_ids, murder_conf};

/// etcd, backends b1 (alice's INBOX) and b2, frontend f1.
struct Murder {
    _runtime: tokio::runtime::Runtime,
    _etcd: etcd::testing::EtcdCluster,
    b1: Server,
    _b2: Server,
    front: Server,
}

fn murder(prefix: &str) -> Option<Murder> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let etcd = runtime.block_on(etcd::testing::EtcdCluster::single())?;
    let endpoints = etcd.endpoints();
    let b1 = Server::start_with(&murder_conf("backend", "b1", &endpoints, prefix));
    let b2 = Server::start_with(&murder_conf("backend", "b2", &endpoints, prefix));
    let front = Server::start_with(&murder_conf("frontend", "f1", &endpoints, prefix));
    for user in ["admin", "proxy", "alice"] {
        b1.add_user(user, &format!("pw-{user}"));
    }
    for user in ["admin", "proxy"] {
        b2.add_user(user, &format!("pw-{user}"));
    }
    eventually("the frontend knows alice's INBOX", || {
        murder_support::directory(&front)
            .iter()
            .any(|(name, at, _)| name == "user.alice" && at == "b1!default")
    });
    for user in ["admin", "alice"] {
        front.add_user(user, &format!("pw-{user}"));
    }
    Some(Murder {
        _runtime: runtime,
        _etcd: etcd,
        b1,
        _b2: b2,
        front,
    })
}

/// An .mbsyncrc (isync 1.4 syntax) syncing alice's whole account at `port` with the Maildir
/// `dir/near`.
fn mbsyncrc(dir: &Path, port: u16) -> std::path::PathBuf {
    let rc = dir.join("mbsyncrc");
    let near = dir.join("near");
    std::fs::write(
        &rc,
        format!(
            "IMAPAccount darius\nHost 127.0.0.1\nPort {port}\nUser alice\nPass pw-alice\n\
             SSLType None\nAuthMechs LOGIN\n\n\
             IMAPStore far\nAccount darius\n\n\
             MaildirStore near\nPath {near}/\nInbox {near}/INBOX\nSubFolders Verbatim\n\n\
             Channel darius\nFar :far:\nNear :near:\nPatterns *\nCreate Both\nSync All\n\
             Expunge Both\nSyncState *\n",
            near = near.display()
        ),
    )
    .unwrap();
    rc
}

fn run_mbsync(rc: &Path) {
    let out = Command::new("mbsync")
        .arg("-c")
        .arg(rc)
        .arg("-a")
        .env("HOME", rc.parent().unwrap())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !text.to_ascii_lowercase().contains("error"),
        "mbsync: {}\n{text}",
        out.status
    );
}

/// The Message-IDs (the part before `@`) of the messages in a Maildir folder.
fn maildir_ids(folder: &Path) -> Vec<String> {
    let mut ids: Vec<String> = ["cur", "new"]
        .iter()
        .filter_map(|sub| std::fs::read_dir(folder.join(sub)).ok())
        .flatten()
        .map(|e| murder_support::message_id(&std::fs::read(e.unwrap().path()).unwrap()))
        .collect();
    ids.sort();
    ids
}

/// Writes a message into a Maildir folder's `new`.
fn put_in_maildir(folder: &Path, id: &str) {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(folder.join(sub)).unwrap();
    }
    let text = message(id, "written in the maildir").replace("\r\n", "\n");
    std::fs::write(folder.join("new").join(format!("{id}.1:2,")), text).unwrap();
}

#[test]
fn mbsync_through_a_frontend_syncs_an_account_held_by_a_backend_both_ways() {
    if !common::have("mbsync") {
        return;
    }
    let Some(m) = murder("/clients-mbsync") else {
        return;
    };
    // On the server: two messages in INBOX. In the Maildir: a new folder with three.
    for id in ["far-1", "far-2"] {
        let reply = lmtp_once(m.front.lmtp_port, "alice", &message(id, "delivered"));
        assert!(
            reply.as_deref().is_some_and(|r| r.starts_with("250")),
            "{reply:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let near = dir.path().join("near");
    for id in ["near-1", "near-2", "near-3"] {
        put_in_maildir(&near.join("Projects"), id);
    }
    std::fs::create_dir_all(near.join("INBOX")).unwrap();
    let rc = mbsyncrc(dir.path(), m.front.imap_port);
    run_mbsync(&rc);
    // The new folder was created through the frontend on alice's backend (her INBOX's),
    // with the three messages; the Maildir has the two of INBOX.
    eventually("INBOX.Projects is b1's", || {
        murder_support::directory(&m.b1)
            .iter()
            .any(|(name, at, state)| {
                name == "user.alice.Projects" && at == "b1!default" && state == "active"
            })
    });
    let at_b1: Vec<String> = message_ids(m.b1.imap_port, "alice", "INBOX.Projects")
        .into_keys()
        .collect();
    assert_eq!(at_b1, ["near-1", "near-2", "near-3"]);
    assert_eq!(maildir_ids(&near.join("INBOX")), ["far-1", "far-2"]);
    // Changes on both sides: a message appended at the backend, one deleted in the Maildir.
    let mut alice = Client::login(m.b1.imap_port, "alice");
    let text = message("far-3", "appended at the backend");
    let r = alice.cmd("a", &format!("APPEND INBOX {{{}+}}\r\n{text}", text.len()));
    assert!(last(&r).starts_with("a OK"), "{r:?}");
    let projects = near.join("Projects");
    let gone = ["cur", "new"]
        .iter()
        .filter_map(|sub| std::fs::read_dir(projects.join(sub)).ok())
        .flatten()
        .map(|e| e.unwrap().path())
        .find(|p| murder_support::message_id(&std::fs::read(p).unwrap()) == "near-2")
        .unwrap();
    std::fs::remove_file(gone).unwrap();
    run_mbsync(&rc);
    assert_eq!(
        maildir_ids(&near.join("INBOX")),
        ["far-1", "far-2", "far-3"]
    );
    let at_b1: Vec<String> = message_ids(m.b1.imap_port, "alice", "INBOX.Projects")
        .into_keys()
        .collect();
    assert_eq!(
        at_b1,
        ["near-1", "near-3"],
        "the deletion reached the backend"
    );
    // A third run has nothing to do and changes nothing.
    run_mbsync(&rc);
    assert_eq!(
        maildir_ids(&near.join("INBOX")),
        ["far-1", "far-2", "far-3"]
    );
}

const SCRIPT: &str = "require [\"fileinto\"];\r\nif header :contains \"subject\" \"[list]\" {\r\n  fileinto \"INBOX.lists\";\r\n}\r\n";

/// sieveshell as alice at `port`, running `commands`: its exit code and output.
fn sieveshell(port: u16, commands: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("commands");
    std::fs::write(&script, commands).unwrap();
    let out = common::output_with_input(
        Command::new("sieveshell")
            .arg("--authname=alice")
            .arg("--user=alice")
            .arg("--password=pw-alice")
            .arg(format!("--execfile={}", script.display()))
            .arg(format!("127.0.0.1:{port}")),
        "",
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn sieveshell_through_a_frontend_manages_scripts_on_the_user_s_backend() {
    if !common::have("sieveshell") {
        return;
    }
    let Some(m) = murder("/clients-sieve") else {
        return;
    };
    let mut alice = Client::login(m.front.imap_port, "alice");
    let r = alice.cmd("c", "CREATE INBOX.lists");
    assert!(last(&r).starts_with("c OK"), "{r:?}");
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("filter.sieve");
    std::fs::write(&local, SCRIPT).unwrap();
    let back = dir.path().join("back.sieve");
    let commands = format!(
        "put {} filter\nactivate filter\nlist\nget filter {}\n",
        local.display(),
        back.display()
    );
    let (code, out) = sieveshell(m.front.sieve_port, &commands);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("filter"), "{out}");
    assert_eq!(std::fs::read_to_string(&back).unwrap(), SCRIPT);
    // The script is the backend's: listed there, active.
    let mut at_b1 = sieve_support::Client::login(m.b1.sieve_port, "", "alice", "pw-alice");
    assert_eq!(at_b1.cmd("LISTSCRIPTS").data, ["\"filter\" ACTIVE"]);
    // Mail delivered through the frontend is filed by it at the backend.
    let text = "Message-ID: <list-1@murder.test>\r\nSubject: [list] news\r\n\r\nbody\r\n";
    let reply = lmtp_once(m.front.lmtp_port, "alice", text);
    assert!(
        reply.as_deref().is_some_and(|r| r.starts_with("250")),
        "{reply:?}"
    );
    let filed: Vec<String> = message_ids(m.b1.imap_port, "alice", "INBOX.lists")
        .into_keys()
        .collect();
    assert_eq!(filed, ["list-1"]);
    assert!(message_ids(m.b1.imap_port, "alice", "INBOX").is_empty());
    // Deactivated and deleted through the frontend: gone at the backend.
    let (code, out) = sieveshell(m.front.sieve_port, "deactivate\ndelete filter\n");
    assert_eq!(code, Some(0), "{out}");
    let mut at_b1 = sieve_support::Client::login(m.b1.sieve_port, "", "alice", "pw-alice");
    assert!(at_b1.cmd("LISTSCRIPTS").data.is_empty());
}
