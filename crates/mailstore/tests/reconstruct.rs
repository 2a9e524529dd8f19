//! `reconstruct` never surfaces a message under a UID clients consider known: files the index
//! does not list get UIDs at or above UIDNEXT, and files of expunged messages never come back.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mailstore::{
    Expunge, FsyncPolicy, ReconstructOptions, RepairMode, SeenSource, Store, StoreFinding,
    UnlistedFiles,
};

/// The state a crash between "file linked" and "index committed" leaves, followed by an
/// acknowledged append: file N unindexed, N+1 indexed, UIDNEXT N+2.
#[test]
fn a_leftover_below_uidnext_gets_a_fresh_uid_not_its_old_one() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    append(&s, &a, 1);
    append(&s, &a, 2);
    let dir = s.message_file(&a, uid(1)).unwrap();
    let dir = dir.parent().unwrap();
    std::fs::write(dir.join("3."), msg(3)).unwrap(); // linked, never committed
    assert_eq!(append(&s, &a, 4), uid(4), "the append skips the taken file");
    assert!(dir.join("3.").exists(), "and leaves it alone");
    let before = s.status(&a, SeenSource::Index).unwrap();
    assert_eq!(before.uidnext, uid(5));

    let r = s.reconstruct(&a).unwrap();
    assert_eq!(r.renumbered, vec![(uid(3), uid(5))]);
    assert_eq!(r.added, vec![uid(5)]);
    assert!(r.lost.is_empty());
    assert_eq!(uids_of(&s, &a), vec![1, 2, 4, 5]);
    assert!(!dir.join("3.").exists());
    assert_eq!(s.read_message(&a, uid(5)).unwrap(), msg(3));
    assert_eq!(s.read_message(&a, uid(4)).unwrap(), msg(4));
    let after = s.status(&a, SeenSource::Index).unwrap();
    assert_eq!((after.exists, after.uidnext), (4, uid(6)));
    assert!(after.highestmodseq > before.highestmodseq);
    assert!(s.reconstruct(&a).unwrap().is_clean());
    assert_eq!(append(&s, &a, 6), uid(6));
}

#[test]
fn a_leftover_at_or_above_uidnext_keeps_its_uid() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    append(&s, &a, 1);
    let dir = s.message_file(&a, uid(1)).unwrap();
    let dir = dir.parent().unwrap();
    std::fs::write(dir.join("2."), msg(2)).unwrap();
    let r = s.reconstruct(&a).unwrap();
    assert_eq!(r.added, vec![uid(2)]);
    assert!(r.renumbered.is_empty());
    assert_eq!(s.status(&a, SeenSource::Index).unwrap().uidnext, uid(3));
}

/// An expunge whose unlink never happened, then its tombstone purged: the file must be gone,
/// not revived by a later reconstruct.
#[test]
fn purging_tombstones_removes_files_an_interrupted_expunge_left() {
    let (d, s) = store();
    let a = create(&s, "user.alice");
    append(&s, &a, 1);
    append(&s, &a, 2);
    let file = s.message_file(&a, uid(1)).unwrap();
    let keep = d.path().join("kept-copy");
    std::fs::hard_link(&file, &keep).unwrap();
    s.expunge(&a, Expunge::Uids(vec![uid(1)])).unwrap();
    std::fs::hard_link(&keep, &file).unwrap(); // the unlink after the commit never ran
    let cut = s.status(&a, SeenSource::Index).unwrap().highestmodseq;
    assert_eq!(s.purge_tombstones(&a, cut).unwrap(), 1);
    assert!(!file.exists(), "purge removes the expunged message's file");
    let r = s.reconstruct(&a).unwrap();
    assert!(r.is_clean(), "nothing to revive: {r:?}");
    assert_eq!(uids_of(&s, &a), vec![2]);
}

/// A lost file, a stray below UIDNEXT and one above it: the dry run's report is the real run's
/// report, and after the dry run the index and the files are as they were.
#[test]
fn a_dry_run_reports_what_the_real_run_does_and_changes_nothing() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    append(&s, &a, 1);
    append(&s, &a, 2);
    let dir = s.message_file(&a, uid(1)).unwrap();
    let dir = dir.parent().unwrap().to_path_buf();
    std::fs::write(dir.join("3."), msg(3)).unwrap(); // linked, never committed
    assert_eq!(append(&s, &a, 4), uid(4));
    std::fs::write(dir.join("8."), msg(8)).unwrap(); // at or above UIDNEXT: kept
    std::fs::remove_file(dir.join("2.")).unwrap();
    let status = s.status(&a, SeenSource::Index).unwrap();
    let dry = ReconstructOptions {
        unlisted: UnlistedFiles::Adopt,
        mode: RepairMode::DryRun,
    };
    let report = s.reconstruct_with(&a, dry).unwrap();
    assert_eq!(report.lost, vec![uid(2)]);
    assert_eq!(report.renumbered, vec![(uid(3), uid(9))]);
    assert_eq!(report.added, vec![uid(8), uid(9)]);
    assert_eq!(
        s.reconstruct_with(&a, dry).unwrap(),
        report,
        "nothing changed"
    );
    assert_eq!(s.status(&a, SeenSource::Index).unwrap(), status);
    assert_eq!(uids_of(&s, &a), vec![1, 2, 4]);
    assert!(dir.join("3.").exists() && !dir.join("9.").exists());

    assert_eq!(s.reconstruct(&a).unwrap(), report);
    assert_eq!(uids_of(&s, &a), vec![1, 4, 8, 9]);
    assert_eq!(s.read_message(&a, uid(9)).unwrap(), msg(3));
    assert!(s.reconstruct_with(&a, dry).unwrap().is_clean());
}

/// Without adoption an unlisted file is reported every time and never indexed, renamed or
/// counted into UIDNEXT; adopting it later still works.
#[test]
fn unlisted_files_are_only_reported_unless_adopted() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    append(&s, &a, 1);
    let dir = s.message_file(&a, uid(1)).unwrap();
    let dir = dir.parent().unwrap().to_path_buf();
    std::fs::write(dir.join("5."), msg(5)).unwrap();
    let report_only = ReconstructOptions {
        unlisted: UnlistedFiles::Report,
        mode: RepairMode::Fix,
    };
    for _ in 0..2 {
        let r = s.reconstruct_with(&a, report_only).unwrap();
        assert_eq!(r.unadopted, vec![uid(5)]);
        assert!(r.is_clean(), "{r:?}");
    }
    assert_eq!(uids_of(&s, &a), vec![1]);
    assert_eq!(s.status(&a, SeenSource::Index).unwrap().uidnext, uid(2));
    let r = s.reconstruct(&a).unwrap();
    assert_eq!(r.added, vec![uid(5)]);
    assert!(r.unadopted.is_empty());
}

/// `check`'s view of the mailboxes database: a directory without an entry and an entry
/// without a directory; and a subscription to a mailbox that does not exist.
#[test]
fn check_finds_unmapped_directories_missing_ones_and_dangling_subscriptions() {
    let (d, s) = store();
    let a = create(&s, "user.alice");
    let b = create(&s, "user.alice.old");
    append(&s, &a, 1);
    assert!(s.check_mailboxes_db().unwrap().is_empty());
    assert!(s.dangling_subscriptions(10).unwrap().is_empty());
    let dir_a = s
        .message_file(&a, uid(1))
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    std::fs::remove_dir_all(&dir_a).unwrap();
    let found = s.check_mailboxes_db().unwrap();
    assert!(
        matches!(&found[..], [StoreFinding::MissingDirectory { name, .. }] if *name == a),
        "{found:?}"
    );
    s.subscribe("alice", &b).unwrap();
    s.subscribe("alice", &name("user.alice.gone")).unwrap();
    assert_eq!(
        s.dangling_subscriptions(10).unwrap(),
        vec![("alice".to_string(), name("user.alice.gone"))]
    );
    drop(s);
    std::fs::remove_file(d.path().join("config").join(mailstore::MAILBOXES_DB_FILE)).unwrap();
    let s = Store::open(config(&d, FsyncPolicy::Never)).unwrap();
    let found = s.check_mailboxes_db().unwrap();
    assert!(
        matches!(&found[..], [StoreFinding::Unmapped { name, .. }] if name == "user.alice.old"),
        "{found:?}"
    );
}

/// `restore_mailbox_dir` (for `mboxlist undump`) enters one lost mailbox again from its
/// directory, messages kept, and refuses what is not a mapped-free directory of this store.
#[test]
fn one_lost_mailbox_is_entered_again_from_its_directory() {
    let (d, s) = store();
    let a = create(&s, "user.alice");
    let b = create(&s, "user.alice.kept");
    append(&s, &b, 1);
    append(&s, &b, 2);
    let entry = s.mailbox_entry(&b).unwrap();
    drop(s);
    std::fs::remove_file(d.path().join("config").join(mailstore::MAILBOXES_DB_FILE)).unwrap();
    let s = Store::open(config(&d, FsyncPolicy::Never)).unwrap();
    for bad in ["../../etc", "", "00ff00ff00ff00ff"] {
        let r = s.restore_mailbox_dir(&entry.partition, bad).unwrap();
        assert!(r.restored.is_empty(), "{bad:?}: {r:?}");
        assert_eq!(r.skipped.len(), 1, "{bad:?}: {r:?}");
    }
    let r = s
        .restore_mailbox_dir(&entry.partition, &entry.uniqueid)
        .unwrap();
    assert_eq!(r.restored, vec![b.clone()], "{r:?}");
    let back = s.mailbox_entry(&b).unwrap();
    assert_eq!((&back.uniqueid, &back.acl), (&entry.uniqueid, &entry.acl));
    assert_eq!(uids_of(&s, &b), [1, 2]);
    assert!(s.mailbox_entry(&a).is_err(), "only the one asked for");
    let again = s
        .restore_mailbox_dir(&entry.partition, &entry.uniqueid)
        .unwrap();
    assert!(again.restored.is_empty(), "{again:?}");
    assert!(
        again.skipped[0].1.contains("already user.alice.kept"),
        "{again:?}"
    );
}

/// The owner's index file is lost (deleted, or replaced by an empty one): the mailboxes are
/// still in the mailboxes database and their files on disk, so reconstruct makes each header
/// again with a new UIDVALIDITY and adopts every file under its own UID, with or without
/// `-f`; a dry run changes nothing; a second run finds nothing to fix.
#[test]
fn a_lost_owner_index_is_made_again_from_the_message_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(config(&dir, FsyncPolicy::Never)).unwrap();
    let a = create(&s, "user.alice");
    let sent = create(&s, "user.alice.Sent");
    for i in 1..=30 {
        append(&s, &a, i);
    }
    append(&s, &sent, 99);
    s.expunge(&a, Expunge::Uids(vec![uid(7)])).unwrap();
    let old = s.status(&a, SeenSource::Index).unwrap();
    drop(s);
    let index = walk(&dir.path().join("config/index"));
    assert_eq!(index.len(), 1, "one owner: {index:?}");
    std::fs::remove_file(&index[0]).unwrap();

    let s = Store::open(config(&dir, FsyncPolicy::Never)).unwrap();
    let report_only = ReconstructOptions {
        unlisted: UnlistedFiles::Report,
        mode: RepairMode::Fix,
    };
    let dry = ReconstructOptions {
        unlisted: UnlistedFiles::Report,
        mode: RepairMode::DryRun,
    };
    let r = s.reconstruct_with(&a, dry).unwrap();
    assert!(r.index_recreated && r.added.len() == 29, "{r:?}");
    assert!(
        s.status(&a, SeenSource::Index).is_err(),
        "a dry run made nothing"
    );

    let r = s.reconstruct_with(&a, report_only).unwrap();
    assert!(r.index_recreated);
    let want: Vec<u32> = (1..=30).filter(|u| *u != 7).collect();
    assert_eq!(uids_of(&s, &a), want, "every file adopted under its UID");
    assert_eq!(s.read_message(&a, uid(30)).unwrap(), msg(30));
    let new = s.status(&a, SeenSource::Index).unwrap();
    assert!(new.uidvalidity > old.uidvalidity, "clients must resync");
    assert_eq!((new.exists, new.uidnext), (29, uid(31)));
    assert!(s.reconstruct(&a).unwrap().is_clean());

    let r = s.reconstruct(&sent).unwrap();
    assert!(r.index_recreated);
    assert_eq!(uids_of(&s, &sent), vec![1]);
    assert!(s.check_mailboxes_db().unwrap().is_empty());
}

/// Files below `dir`, recursively.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The owner's index file is overwritten with garbage: a dry run reports the error and changes
/// nothing; a real reconstruct moves the file aside (kept for inspection), starts an empty
/// index and makes each mailbox's header again from its files.
#[test]
fn an_unreadable_owner_index_is_set_aside_and_made_again() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(config(&dir, FsyncPolicy::Never)).unwrap();
    let a = create(&s, "user.alice");
    let drafts = create(&s, "user.alice.Drafts");
    for i in 1..=5 {
        append(&s, &a, i);
    }
    append(&s, &drafts, 9);
    drop(s);
    let index = walk(&dir.path().join("config/index"));
    std::fs::write(&index[0], vec![0x5a; 8192]).unwrap();

    let s = Store::open(config(&dir, FsyncPolicy::Never)).unwrap();
    let dry = ReconstructOptions {
        unlisted: UnlistedFiles::Report,
        mode: RepairMode::DryRun,
    };
    let e = s.reconstruct_with(&a, dry).unwrap_err();
    assert!(e.is_damaged_database(), "{e}");
    assert_eq!(
        walk(&dir.path().join("config/index")),
        index,
        "nothing moved"
    );

    let r = s.reconstruct(&a).unwrap();
    let aside = r.index_set_aside.clone().expect("set aside");
    assert!(aside.to_string_lossy().contains(".damaged-"));
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        vec![0x5a; 8192],
        "kept as it was"
    );
    assert!(r.index_recreated);
    assert_eq!(uids_of(&s, &a), vec![1, 2, 3, 4, 5]);
    let r = s.reconstruct(&drafts).unwrap();
    assert!(r.index_recreated && r.index_set_aside.is_none());
    assert_eq!(uids_of(&s, &drafts), vec![1]);
    assert!(s.reconstruct(&a).unwrap().is_clean());
}
