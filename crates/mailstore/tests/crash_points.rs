//! Crashes at chosen points of multi-step operations, injected deterministically: a child
//! process (this test binary re-executed with `CRASH_POINT_DIR` and `CRASH_POINT` set, running
//! only `crash_point_child`) opens the store with a hook that aborts the process when the named
//! [`CrashPoint`] is reached — no destructor and no cleanup run, as in a real crash. The parent
//! then reopens the data and checks what recovery makes of it.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use mailstore::{
    AppendItem, CrashPoint, FsyncPolicy, HookEvent, RecordFields, SeenSource, Store, StoreHooks,
    UidSelection,
};

const DIR_ENV: &str = "CRASH_POINT_DIR";
const POINT_ENV: &str = "CRASH_POINT";

const POINTS: [(&str, CrashPoint); 4] = [
    ("append-linked", CrashPoint::AppendLinked),
    ("rename-new-owner", CrashPoint::RenameNewOwnerCommitted),
    ("rename-mailboxes", CrashPoint::RenameMailboxesCommitted),
    ("rename-old-owner", CrashPoint::RenameOldOwnerCommitted),
];

fn point_name(point: CrashPoint) -> &'static str {
    POINTS.iter().find(|(_, p)| *p == point).unwrap().0
}

fn open(dir: &Path) -> Store {
    Store::open(common::config_at(dir, FsyncPolicy::Always)).unwrap()
}

/// The crash victim: runs the operation that passes `CRASH_POINT`, and dies there.
#[test]
fn crash_point_child() {
    let (Ok(dir), Ok(name)) = (std::env::var(DIR_ENV), std::env::var(POINT_ENV)) else {
        return;
    };
    let point = POINTS.iter().find(|(n, _)| *n == name).unwrap().1;
    let mut cfg = common::config_at(Path::new(&dir), FsyncPolicy::Always);
    cfg.hooks = StoreHooks::new(move |e| {
        if *e == HookEvent::Reached(point) {
            std::process::abort();
        }
    });
    let store = Store::open(cfg).unwrap();
    match point {
        CrashPoint::AppendLinked => {
            let inbox = common::name("user.crash");
            store
                .append(&inbox, vec![AppendItem::bytes(common::msg(100))])
                .unwrap();
        }
        _ => store
            .rename_mailbox(
                &common::name("user.alice.work"),
                &common::name("user.bob.work"),
            )
            .unwrap(),
    }
    // The point was never reached: say so with an exit status the parent checks.
    std::process::exit(3);
}

fn crash_at(dir: &Path, point: CrashPoint) {
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_point_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_ENV, dir)
        .env(POINT_ENV, point_name(point))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        status.signal(),
        Some(6),
        "the child should have aborted at {point:?}: {status:?}"
    );
}

#[test]
fn append_crash_after_link_then_an_acknowledged_append_then_reconstruct() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = common::name("user.crash");
    let mailbox_dir = {
        let s = open(dir.path());
        common::create(&s, "user.crash");
        common::append(&s, &inbox, 1);
        common::append(&s, &inbox, 2);
        s.message_file(&inbox, common::uid(1))
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf()
    };
    crash_at(dir.path(), CrashPoint::AppendLinked);
    let s = open(dir.path());
    assert!(
        mailbox_dir.join("3.").exists(),
        "the crash left the linked file"
    );
    assert_eq!(common::uids_of(&s, &inbox), vec![1, 2], "but no record");
    let acked = common::append(&s, &inbox, 4);
    assert_eq!(acked, common::uid(4), "the next append skips the leftover");
    let report = s.reconstruct(&inbox).unwrap();
    assert_eq!(report.renumbered, vec![(common::uid(3), common::uid(5))]);
    assert_eq!(common::uids_of(&s, &inbox), vec![1, 2, 4, 5]);
    assert_eq!(s.read_message(&inbox, acked).unwrap(), common::msg(4));
    assert_eq!(
        s.read_message(&inbox, common::uid(5)).unwrap(),
        common::msg(100)
    );
    let st = s.status(&inbox, SeenSource::Index).unwrap();
    assert_eq!((st.exists, st.uidnext), (4, common::uid(6)));
    assert!(s.reconstruct(&inbox).unwrap().is_clean());
}

/// `user.alice.work` with messages 1..=3 (2 flagged) and 4 expunged; `user.bob` exists.
fn rename_setup(dir: &Path) -> String {
    let s = open(dir);
    common::create(&s, "user.alice");
    common::create(&s, "user.bob");
    let work = common::create(&s, "user.alice.work");
    for i in 1..=4 {
        common::append(&s, &work, i);
    }
    let flag = mailstore::FlagChange::Add(vec![types::Flag::Flagged]);
    s.store_flags(&work, SeenSource::Index, &[common::uid(2)], flag, None)
        .unwrap();
    s.expunge(&work, mailstore::Expunge::Uids(vec![common::uid(4)]))
        .unwrap();
    s.mailbox_entry(&work).unwrap().uniqueid
}

/// The mailbox answers under `name` with everything it had, and only under that name.
fn assert_whole(s: &Store, name: &str, gone: &str) {
    let names: Vec<String> = s
        .list_mailboxes(None)
        .unwrap()
        .iter()
        .map(|e| e.name.to_string())
        .collect();
    assert!(names.iter().any(|n| n == name), "{name} missing: {names:?}");
    assert!(!names.iter().any(|n| n == gone), "{gone} still listed");
    let n = common::name(name);
    let recs = s
        .records(
            &n,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::BASIC,
        )
        .unwrap();
    let uids: Vec<u32> = recs.iter().map(|r| r.uid.get()).collect();
    assert_eq!(uids, vec![1, 2, 3]);
    assert!(recs[1].flags.contains(&types::Flag::Flagged));
    for i in 1..=3 {
        let bytes = s.read_message(&n, common::uid(i)).unwrap();
        assert_eq!(bytes, common::msg(i as usize));
    }
    let st = s.status(&n, SeenSource::Index).unwrap();
    assert_eq!((st.exists, st.uidnext), (3, common::uid(5)));
    let since = types::ModSeq::new(1).unwrap();
    assert_eq!(
        s.vanished_since(&n, since).unwrap(),
        mailstore::VanishedSince::Exact(vec![common::uid(4)])
    );
}

#[test]
fn rename_crash_after_the_new_owner_commit_leaves_the_old_name_whole() {
    let dir = tempfile::tempdir().unwrap();
    let id = rename_setup(dir.path());
    crash_at(dir.path(), CrashPoint::RenameNewOwnerCommitted);
    let s = open(dir.path());
    assert_whole(&s, "user.alice.work", "user.bob.work");
    let fixed = s.reconstruct(&common::name("user.alice.work")).unwrap();
    assert!(fixed.lost.is_empty() && fixed.added.is_empty(), "{fixed:?}");
    let bob = s.reconstruct(&common::name("user.bob")).unwrap();
    assert_eq!(
        bob.stale_copies_removed,
        vec![id],
        "bob's index held a copy"
    );
    assert!(s.rebuild_mailboxes_db().unwrap().restored.is_empty());
    let (from, to) = (
        common::name("user.alice.work"),
        common::name("user.bob.work"),
    );
    s.rename_mailbox(&from, &to).unwrap();
    assert_whole(&s, "user.bob.work", "user.alice.work");
}

#[test]
fn rename_crash_after_the_mailboxes_commit_leaves_the_new_name_whole() {
    let dir = tempfile::tempdir().unwrap();
    let id = rename_setup(dir.path());
    crash_at(dir.path(), CrashPoint::RenameMailboxesCommitted);
    let s = open(dir.path());
    assert_whole(&s, "user.bob.work", "user.alice.work");
    let rebuilt = s.rebuild_mailboxes_db().unwrap();
    assert!(
        rebuilt.restored.is_empty(),
        "the stale cyrus.header must not resurrect the old name: {rebuilt:?}"
    );
    let fixed = s.reconstruct(&common::name("user.bob.work")).unwrap();
    assert_eq!(
        fixed.stale_copies_removed,
        vec![id],
        "alice's index held a copy"
    );
    assert!(fixed.header_fixed, "cyrus.header named the old name");
    assert!(fixed.lost.is_empty() && fixed.added.is_empty(), "{fixed:?}");
    assert!(s
        .reconstruct(&common::name("user.bob.work"))
        .unwrap()
        .is_clean());
    assert!(s
        .reconstruct(&common::name("user.alice"))
        .unwrap()
        .is_clean());
    assert_whole(&s, "user.bob.work", "user.alice.work");
}

#[test]
fn rename_crash_after_the_old_owner_commit_leaves_the_new_name_whole() {
    let dir = tempfile::tempdir().unwrap();
    rename_setup(dir.path());
    crash_at(dir.path(), CrashPoint::RenameOldOwnerCommitted);
    let s = open(dir.path());
    assert_whole(&s, "user.bob.work", "user.alice.work");
    assert!(s.rebuild_mailboxes_db().unwrap().restored.is_empty());
    let fixed = s.reconstruct(&common::name("user.bob.work")).unwrap();
    assert!(fixed.stale_copies_removed.is_empty());
    assert!(fixed.header_fixed, "cyrus.header named the old name");
    assert!(s
        .reconstruct(&common::name("user.bob.work"))
        .unwrap()
        .is_clean());
    assert_whole(&s, "user.bob.work", "user.alice.work");
}
