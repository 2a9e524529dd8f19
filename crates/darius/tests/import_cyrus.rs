//! `darius import cyrus` against a real Debian Cyrus 3.x: a private Cyrus master on a temp dir
//! (tests/interop/cyrus_import.py) is filled over IMAP, LMTP and ManageSieve (`sieveshell`) —
//! three users, nested folders, a shared folder with ACLs, flags and keywords, \Seen set by a
//! non-owner, an expunged message, quota roots, subscriptions, an active Sieve script, a
//! special-use folder, a folder with a dot in its name — and every user's view is recorded
//! (LIST, LSUB, STATUS, UID FETCH FLAGS/INTERNALDATE/RFC822, GETACL, GETQUOTAROOT, the Sieve
//! scripts). Cyrus is stopped, its store imported into a stopped Darius whose users exist
//! already, Darius started, and the same view taken must be equal. Both Cyrus 3.x layouts:
//! uuid directories and `mailbox_legacy_dirs`. Normalisations are
//! listed in the script's docstring. Skipped without Cyrus or sieveshell unless
//! DARIUS_REQUIRE_INTEROP=1; Cyrus's master must start as root (it drops to the user cyrus).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/cyrus_import.py")
}

fn python(args: &[&str], env: &[(&str, String)]) {
    let out = Command::new("python3")
        .arg(script())
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cyrus_import.py {args:?} failed\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Each user's part of a recorded view, as pretty JSON (so a difference shows as a diff).
fn per_user(view: &serde_json::Value) -> Vec<(String, String)> {
    view.as_object()
        .unwrap()
        .iter()
        .map(|(user, v)| (user.clone(), serde_json::to_string_pretty(v).unwrap()))
        .collect()
}

#[test]
fn darius_serves_an_imported_cyrus_store_as_cyrus_did() {
    import_and_compare(Layout::Uuid);
}

#[test]
fn legacy_named_directories_import_the_same() {
    import_and_compare(Layout::LegacyDirs);
}

/// Where Cyrus 3.x puts mailboxes and per-user files.
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    /// `uuid/a/b/UNIQUEID` (the 3.5+ default).
    Uuid,
    /// `mailbox_legacy_dirs: yes`: `h/user/hal/Sent`, `user/h/hal.seen`, `sieve/h/hal`.
    LegacyDirs,
}

fn import_and_compare(layout: Layout) {
    if !common::interop::have_program("/usr/lib/cyrus/bin/master", "cyrus-imapd")
        || !common::have("sieveshell")
        || !common::have("saslpasswd2")
        || !common::have("python3")
    {
        return;
    }
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    if !root {
        assert!(
            std::env::var("DARIUS_REQUIRE_INTEROP").as_deref() != Ok("1"),
            "the Cyrus import test must run as root (Cyrus's master drops to the user cyrus)"
        );
        eprintln!("SKIPPED: the Cyrus import test must run as root");
        return;
    }
    let cyrus = tempfile::tempdir().unwrap();
    let legacy = if layout == Layout::LegacyDirs {
        "1"
    } else {
        "0"
    };
    python(
        &["cyrus", cyrus.path().to_str().unwrap()],
        &[("LEGACY_DIRS", legacy.to_string())],
    );
    let legacy_inbox = cyrus.path().join("spool/a/user/alice/cyrus.index");
    assert_eq!(legacy_inbox.exists(), layout == Layout::LegacyDirs);
    let cyrus_view: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cyrus.path().join("cyrus-view.json")).unwrap())
            .unwrap();

    // The recorded view holds what the fill made (so equal views cannot both be empty).
    let alice = &cyrus_view["alice"]["mailboxes"];
    assert_eq!(alice["INBOX"]["messages"].as_array().unwrap().len(), 5);
    assert_eq!(
        cyrus_view["bob"]["mailboxes"]["shared/board"]["messages"][0]["flags"],
        serde_json::json!(["\\Seen"])
    );
    assert_eq!(
        cyrus_view["carol"]["sieve"][0],
        serde_json::json!(["filing", true, "require [\"fileinto\"];\nif header :contains \"subject\" \"file me\" {\n  fileinto \"INBOX.Filed\";\n}\n"])
    );
    // Both temp dirs are on one file system, so the message files can be linked.
    let mut server = common::Server::start_with(
        "unixhierarchysep: yes\nallowplaintext: yes\nsieve_maxscripts: 10\n",
    );
    // The users exist first, as an administrator would have them: their INBOXes, which never
    // held a message, are taken over by the import.
    for user in ["alice", "bob", "carol"] {
        server.add_user(user, &format!("pw-{user}"));
    }
    let conf = cyrus.path().join("imapd.conf");
    let conf = conf.to_str().unwrap();
    // Offline only: refused while the server answers on its admin socket.
    let (ok, stdout, stderr) = server.run_darius(&["import", "cyrus", "--cyrus-config", conf]);
    assert!(
        !ok && stderr.contains("a server is running"),
        "{stdout}{stderr}"
    );
    server.stop();

    let dry = server.darius_ok(&["import", "cyrus", "--cyrus-config", conf, "--dry-run"]);
    assert!(
        dry.contains("would import 12 mailboxes, 16 messages"),
        "{dry}"
    );
    // Cyrus's JSON `ctl_mboxlist -d` dump names the same mailboxes.
    let dump = cyrus.path().join("mailboxes.json");
    let dump = dump.to_str().unwrap();
    let dry = server.darius_ok(&[
        "import",
        "cyrus",
        "--cyrus-config",
        conf,
        "--mailboxes-db",
        dump,
        "--dry-run",
    ]);
    assert!(
        dry.contains("would import 12 mailboxes, 16 messages"),
        "{dry}"
    );
    let out = server.darius_ok(&["import", "cyrus", "--cyrus-config", conf]);
    assert!(out.contains("imported 12 mailboxes, 16 messages"), "{out}");
    // Same file system: every message file is linked, none copied.
    assert!(out.contains("(16 linked, 0 copied"), "{out}");
    assert!(
        out.contains("1 seen sets, 4 subscriptions, 2 quota roots, 2 Sieve scripts"),
        "{out}"
    );
    // A second import is refused before anything is written.
    let (ok, stdout, stderr) = server.run_darius(&["import", "cyrus", "--cyrus-config", conf]);
    assert!(
        !ok && stderr.contains("exist in this store already"),
        "{stdout}{stderr}"
    );

    server.restart();
    let out = cyrus.path().join("darius-view.json");
    python(
        &["view", &server.imap_port.to_string(), out.to_str().unwrap()],
        &[("SIEVE_PORT", server.sieve_port.to_string())],
    );
    let darius_view: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    for ((user, cyrus_part), (_, darius_part)) in per_user(&cyrus_view)
        .into_iter()
        .zip(per_user(&darius_view))
    {
        let first = cyrus_part
            .lines()
            .zip(darius_part.lines())
            .position(|(c, d)| c != d);
        assert_eq!(
            cyrus_part,
            darius_part,
            "user {user}: Darius's view (right) differs from Cyrus's (left), first at line \
             {first:?}: {:?} / {:?}",
            first.and_then(|n| cyrus_part.lines().nth(n)),
            first.and_then(|n| darius_part.lines().nth(n)),
        );
    }
    assert_eq!(cyrus_view, darius_view);
}
