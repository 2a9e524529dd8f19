//! `reconstruct` never surfaces a message under a UID clients consider known: files the index
//! does not list get UIDs at or above UIDNEXT, and files of expunged messages never come back.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mailstore::{Expunge, SeenSource};

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
