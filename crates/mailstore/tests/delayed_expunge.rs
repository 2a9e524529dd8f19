//! Delayed expunge (`expunge_mode: delayed`, the default): an expunged message leaves the
//! mailbox for every reader but is kept, listed by `expunged`, restored under a new UID by
//! `unexpunge`, and purged by `purge_expunged` once old enough. The clock is a test clock
//! moved by hand. One temp dir per test.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use common::*;
use mailstore::{
    Clock, DeletedFlag, Expunge, ExpungeMode, FlagChange, FsyncPolicy, RecordFields, SeenSource,
    Store, UidSelection, Unexpunge, VanishedSince,
};
use tempfile::TempDir;
use types::{Flag, MailboxName, ModSeq, Uid};

const DAY: i64 = 86_400;
const T0: i64 = 1_800_000_000;

fn store_at(dir: &Path, now: &Arc<AtomicI64>, mode: ExpungeMode) -> Store {
    let mut c = config_at(dir, FsyncPolicy::Never);
    let now = Arc::clone(now);
    c.clock = Clock::new(move || now.load(Ordering::SeqCst));
    c.expunge_mode = mode;
    Store::open(c).unwrap()
}

fn setup(mode: ExpungeMode) -> (TempDir, Arc<AtomicI64>, Store) {
    let dir = tempfile::tempdir().unwrap();
    let now = Arc::new(AtomicI64::new(T0));
    let s = store_at(dir.path(), &now, mode);
    (dir, now, s)
}

/// Files in the mailbox's directory, by name.
fn files_of(s: &Store, n: &MailboxName, any: Uid) -> Vec<String> {
    let dir: PathBuf = s.message_file(n, any).unwrap().parent().unwrap().into();
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with('.') || f.ends_with(".expunged"))
        .collect();
    out.sort();
    out
}

fn flag_deleted(s: &Store, n: &MailboxName, uids: &[u32]) {
    let uids: Vec<Uid> = uids.iter().map(|u| uid(*u)).collect();
    let change = FlagChange::Add(vec![Flag::Deleted, Flag::Keyword("$Work".into())]);
    s.store_flags(n, SeenSource::Index, &uids, change, None)
        .unwrap();
}

#[test]
fn an_expunged_message_leaves_every_view_but_is_kept_and_listed() {
    let (_d, _now, s) = setup(ExpungeMode::Delayed);
    let a = create(&s, "user.bob");
    for i in 1..=3 {
        append(&s, &a, i);
    }
    let before = s.status(&a, SeenSource::Index).unwrap();
    flag_deleted(&s, &a, &[2]);
    assert_eq!(s.expunge(&a, Expunge::AllDeleted).unwrap(), vec![uid(2)]);

    assert_eq!(uids_of(&s, &a), vec![1, 3]);
    let status = s.status(&a, SeenSource::Index).unwrap();
    assert_eq!(status.exists, 2);
    assert!(
        status.size < before.size,
        "quota usage leaves out expunged messages"
    );
    let vanished = s.vanished_since(&a, ModSeq::new(1).unwrap()).unwrap();
    assert_eq!(vanished, VanishedSince::Exact(vec![uid(2)]));
    assert_eq!(files_of(&s, &a, uid(1)), vec!["1.", "2.expunged", "3."]);

    let listed = s.expunged(&a).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].uid, uid(2));
    assert_eq!(listed[0].expunged_at, T0);
    assert_eq!(listed[0].subject.as_deref(), Some("message 2"));
    assert!(listed[0].flags.contains(&Flag::Deleted));
}

#[test]
fn unexpunge_restores_under_new_uids_with_flags_and_date() {
    let (_d, _now, s) = setup(ExpungeMode::Delayed);
    let a = create(&s, "user.bob");
    for i in 1..=3 {
        append(&s, &a, i);
    }
    let date = s
        .records(
            &a,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::BASIC,
        )
        .unwrap()[0]
        .internal_date;
    flag_deleted(&s, &a, &[1, 2]);
    s.expunge(&a, Expunge::AllDeleted).unwrap();

    let out = s
        .unexpunge(&a, Unexpunge::Uids(&[uid(1)]), DeletedFlag::Clear)
        .unwrap();
    assert_eq!(out.restored, vec![(uid(1), uid(4))]);
    assert!(out.missing.is_empty());
    assert_eq!(uids_of(&s, &a), vec![3, 4]);
    let rec = s
        .records(
            &a,
            SeenSource::Index,
            UidSelection::Uids(&[uid(4)]),
            RecordFields::BASIC,
        )
        .unwrap()
        .remove(0);
    assert_eq!(rec.internal_date, date);
    assert!(rec.flags.contains(&Flag::Keyword("$Work".into())));
    assert!(!rec.flags.contains(&Flag::Deleted), "-d clears \\Deleted");
    assert_eq!(s.read_message(&a, uid(4)).unwrap(), msg(1));
    // Only UID 2 is left to restore; its file, and UID 1's old one, are where they were.
    assert_eq!(s.expunged(&a).unwrap().len(), 1);
    assert_eq!(files_of(&s, &a, uid(3)), vec!["2.expunged", "3.", "4."]);

    let out = s.unexpunge(&a, Unexpunge::All, DeletedFlag::Keep).unwrap();
    assert_eq!(out.restored, vec![(uid(2), uid(5))]);
    let rec = s
        .records(
            &a,
            SeenSource::Index,
            UidSelection::Uids(&[uid(5)]),
            RecordFields::BASIC,
        )
        .unwrap()
        .remove(0);
    assert!(rec.flags.contains(&Flag::Deleted), "kept without -d");
    assert!(s.expunged(&a).unwrap().is_empty());
}

#[test]
fn purge_unlinks_files_older_than_the_cut_off_and_keeps_younger_ones() {
    let (_d, now, s) = setup(ExpungeMode::Delayed);
    let a = create(&s, "user.bob");
    for i in 1..=3 {
        append(&s, &a, i);
    }
    s.expunge(&a, Expunge::Uids(vec![uid(1)])).unwrap();
    now.store(T0 + 2 * DAY, Ordering::SeqCst);
    s.expunge(&a, Expunge::Uids(vec![uid(2)])).unwrap();

    let report = s.purge_expunged(T0 + DAY, &|| false).unwrap();
    assert_eq!(report.messages, 1);
    assert!(report.failed.is_empty());
    assert_eq!(files_of(&s, &a, uid(3)), vec!["2.expunged", "3."]);
    let left: Vec<Uid> = s.expunged(&a).unwrap().iter().map(|m| m.uid).collect();
    assert_eq!(left, vec![uid(2)]);
    // Again with the same cut-off: nothing more.
    assert_eq!(s.purge_expunged(T0 + DAY, &|| false).unwrap().messages, 0);
}

#[test]
fn immediate_mode_unlinks_at_once_and_keeps_nothing() {
    let (_d, _now, s) = setup(ExpungeMode::Immediate);
    let a = create(&s, "user.bob");
    append(&s, &a, 1);
    append(&s, &a, 2);
    s.expunge(&a, Expunge::Uids(vec![uid(1)])).unwrap();
    assert_eq!(files_of(&s, &a, uid(2)), vec!["2."]);
    assert!(s.expunged(&a).unwrap().is_empty());
}

#[test]
fn reconstruct_leaves_kept_messages_alone() {
    let (_d, _now, s) = setup(ExpungeMode::Delayed);
    let a = create(&s, "user.bob");
    append(&s, &a, 1);
    append(&s, &a, 2);
    s.expunge(&a, Expunge::Uids(vec![uid(1)])).unwrap();
    s.reconstruct(&a).unwrap();
    assert_eq!(uids_of(&s, &a), vec![2]);
    assert_eq!(s.expunged(&a).unwrap().len(), 1);
    let out = s.unexpunge(&a, Unexpunge::All, DeletedFlag::Keep).unwrap();
    assert_eq!(out.restored, vec![(uid(1), uid(3))]);
}

#[test]
fn reconstruct_moves_a_kept_file_a_crash_left_under_its_live_name() {
    let (_d, _now, s) = setup(ExpungeMode::Delayed);
    let a = create(&s, "user.bob");
    append(&s, &a, 1);
    append(&s, &a, 2);
    s.expunge(&a, Expunge::Uids(vec![uid(1)])).unwrap();
    // The state a crash between the expunge's commit and the file's rename leaves.
    let dir: PathBuf = s.message_file(&a, uid(2)).unwrap().parent().unwrap().into();
    std::fs::rename(dir.join("1.expunged"), dir.join("1.")).unwrap();

    let report = s.reconstruct(&a).unwrap();
    assert_eq!(report.kept_files_moved, vec![uid(1)]);
    assert!(report.stale_files_removed.is_empty());
    assert_eq!(files_of(&s, &a, uid(2)), vec!["1.expunged", "2."]);
    assert!(
        s.reconstruct(&a).unwrap().is_clean(),
        "a second run finds nothing"
    );
    let out = s.unexpunge(&a, Unexpunge::All, DeletedFlag::Keep).unwrap();
    assert_eq!(out.restored, vec![(uid(1), uid(3))]);
    assert_eq!(s.read_message(&a, uid(3)).unwrap(), msg(1));
}

#[test]
fn a_move_keeps_the_source_copy_for_unexpunge() {
    let (_d, _now, s) = setup(ExpungeMode::Delayed);
    let a = create(&s, "user.bob");
    let b = create(&s, "user.bob.Archive");
    append(&s, &a, 1);
    s.move_messages(&a, &[uid(1)], &b).unwrap();
    assert!(uids_of(&s, &a).is_empty());
    assert_eq!(uids_of(&s, &b), vec![1]);
    let kept: Vec<Uid> = s.expunged(&a).unwrap().iter().map(|m| m.uid).collect();
    assert_eq!(kept, vec![uid(1)]);
}

#[test]
fn kept_messages_follow_their_mailbox_to_another_partition() {
    let (_d, _now, s) = setup(ExpungeMode::Delayed);
    let a = create(&s, "user.bob");
    append(&s, &a, 1);
    append(&s, &a, 2);
    s.expunge(&a, Expunge::Uids(vec![uid(1)])).unwrap();
    s.set_partition(&a, "other").unwrap();
    assert_eq!(files_of(&s, &a, uid(2)), vec!["1.expunged", "2."]);
    let out = s.unexpunge(&a, Unexpunge::All, DeletedFlag::Keep).unwrap();
    assert_eq!(out.restored, vec![(uid(1), uid(3))]);
    assert_eq!(s.read_message(&a, uid(3)).unwrap(), msg(1));
}

#[test]
fn kept_messages_follow_a_rename_into_another_owner() {
    let (_d, _now, s) = setup(ExpungeMode::Delayed);
    let a = create(&s, "user.bob.Trash");
    append(&s, &a, 1);
    append(&s, &a, 2);
    s.expunge(&a, Expunge::Uids(vec![uid(1)])).unwrap();
    let b = name("DELETED.user.bob.Trash.5F3A9C10");
    s.rename_alone(&a, &b).unwrap();
    let kept: Vec<Uid> = s.expunged(&b).unwrap().iter().map(|m| m.uid).collect();
    assert_eq!(kept, vec![uid(1)]);
    let out = s.unexpunge(&b, Unexpunge::All, DeletedFlag::Keep).unwrap();
    assert_eq!(out.restored, vec![(uid(1), uid(3))]);
    assert_eq!(uids_of(&s, &b), vec![2, 3]);
}
