//! Tombstone retention: expunges are dated, `prune_tombstones` forgets those older than a
//! cut-off, and VANISHED then says the history is incomplete. The clock is a test clock moved by
//! hand. One temp dir per test.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use common::*;
use mailstore::{
    Clock, Expunge, FlagChange, FsyncPolicy, PruneReport, SeenSource, Store, UidSelection,
    VanishedSince, PURGE_BATCH,
};
use tempfile::TempDir;
use types::{Flag, MailboxName, ModSeq, Uid};

const DAY: i64 = 86_400;
const T0: i64 = 1_800_000_000;

/// A store whose clock reads `now`.
fn store_at(dir: &Path, now: &Arc<AtomicI64>) -> Store {
    let mut c = config_at(dir, FsyncPolicy::Never);
    let now = Arc::clone(now);
    c.clock = Clock::new(move || now.load(Ordering::SeqCst));
    Store::open(c).unwrap()
}

fn setup() -> (TempDir, Arc<AtomicI64>, Store) {
    let dir = tempfile::tempdir().unwrap();
    let now = Arc::new(AtomicI64::new(T0));
    let s = store_at(dir.path(), &now);
    (dir, now, s)
}

fn highest(s: &Store, n: &MailboxName) -> ModSeq {
    s.status(n, SeenSource::Index).unwrap().highestmodseq
}

fn expunge(s: &Store, n: &MailboxName, uids: &[u32]) -> ModSeq {
    let list: Vec<Uid> = uids.iter().map(|&u| uid(u)).collect();
    assert_eq!(s.expunge(n, Expunge::Uids(list.clone())).unwrap(), list);
    highest(s, n)
}

fn exact(uids: &[u32]) -> VanishedSince {
    VanishedSince::Exact(uids.iter().map(|&u| uid(u)).collect())
}

fn pruned(report: &PruneReport) -> (usize, usize) {
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    (report.pruned_mailboxes, report.tombstones)
}

#[test]
fn retention_prunes_old_tombstones_and_keeps_young_ones() {
    let (_d, now, s) = setup();
    let a = create(&s, "user.alice");
    let b = create(&s, "user.bob");
    for i in 1..=4 {
        append(&s, &a, i);
    }
    append(&s, &b, 1);
    let start = highest(&s, &a);
    let m1 = expunge(&s, &a, &[1]);
    now.store(T0 + 10 * DAY, Ordering::SeqCst);
    let m2 = expunge(&s, &a, &[2, 3]);
    expunge(&s, &b, &[1]);
    now.store(T0 + 20 * DAY, Ordering::SeqCst);
    let top = highest(&s, &a);

    // A cut-off between the two expunges of `a` forgets the first only; `b`'s is younger.
    let report = s.prune_tombstones(T0 + 5 * DAY).unwrap();
    assert_eq!(report.mailboxes, 2);
    assert_eq!(pruned(&report), (1, 1));
    assert_eq!(s.vanished_since(&a, start).unwrap(), VanishedSince::Pruned);
    assert_eq!(s.vanished_since(&a, m1).unwrap(), exact(&[2, 3]));
    assert_eq!(s.vanished_since(&a, m2).unwrap(), exact(&[]));
    assert_eq!(highest(&s, &a), top, "HIGHESTMODSEQ never goes down");
    let b_start = ModSeq::new(1).unwrap();
    assert_eq!(s.vanished_since(&b, b_start).unwrap(), exact(&[1]));

    // A cut-off at exactly the date of an expunge keeps it: only older ones go.
    assert_eq!(pruned(&s.prune_tombstones(T0 + 10 * DAY).unwrap()), (0, 0));
    assert_eq!(s.vanished_since(&a, m1).unwrap(), exact(&[2, 3]));

    let report = s.prune_tombstones(T0 + 10 * DAY + 1).unwrap();
    assert_eq!(pruned(&report), (2, 3));
    assert_eq!(s.vanished_since(&a, m1).unwrap(), VanishedSince::Pruned);
    assert_eq!(s.vanished_since(&a, m2).unwrap(), exact(&[]));
    assert_eq!(
        s.vanished_since(&b, b_start).unwrap(),
        VanishedSince::Pruned
    );
    assert_eq!(highest(&s, &a), top);
}

#[test]
fn pruning_twice_with_the_same_cut_off_does_nothing_more() {
    let (_d, now, s) = setup();
    let a = create(&s, "user.alice");
    for i in 1..=3 {
        append(&s, &a, i);
    }
    let m1 = expunge(&s, &a, &[1]);
    now.store(T0 + 30 * DAY, Ordering::SeqCst);
    expunge(&s, &a, &[2]);
    let top = highest(&s, &a);
    assert_eq!(pruned(&s.prune_tombstones(T0 + DAY).unwrap()), (1, 1));
    for _ in 0..2 {
        assert_eq!(pruned(&s.prune_tombstones(T0 + DAY).unwrap()), (0, 0));
        assert_eq!(s.vanished_since(&a, m1).unwrap(), exact(&[2]));
        assert_eq!(highest(&s, &a), top);
    }
    // Later expunges are dated and pruned in their turn.
    assert_eq!(pruned(&s.prune_tombstones(T0 + 31 * DAY).unwrap()), (1, 1));
    assert_eq!(s.vanished_since(&a, top).unwrap(), exact(&[]));
    assert_eq!(s.vanished_since(&a, m1).unwrap(), VanishedSince::Pruned);
}

/// Every path that expunges dates its tombstones: MOVE's source side and reconstruct's
/// removal of messages whose files are gone, besides EXPUNGE itself.
#[test]
fn moves_and_reconstruct_removals_are_dated_too() {
    let (_d, now, s) = setup();
    let a = create(&s, "user.alice");
    let other = create(&s, "user.alice.Archive");
    let foreign = create(&s, "user.bob");
    for i in 1..=4 {
        append(&s, &a, i);
    }
    s.move_messages(&a, &[uid(1)], &other).unwrap();
    s.move_messages(&a, &[uid(2)], &foreign).unwrap();
    let file = message_file_of(&s, &a, uid(3));
    std::fs::remove_file(file).unwrap();
    let report = s.reconstruct(&a).unwrap();
    assert_eq!(report.lost, vec![uid(3)]);
    let start = ModSeq::new(1).unwrap();
    assert_eq!(s.vanished_since(&a, start).unwrap(), exact(&[1, 2, 3]));
    now.store(T0 + 10 * DAY, Ordering::SeqCst);
    assert_eq!(pruned(&s.prune_tombstones(T0).unwrap()), (0, 0));
    assert_eq!(pruned(&s.prune_tombstones(T0 + 1).unwrap()), (1, 3));
    assert_eq!(s.vanished_since(&a, start).unwrap(), VanishedSince::Pruned);
}

fn message_file_of(s: &Store, n: &MailboxName, u: Uid) -> PathBuf {
    s.message_file(n, u).unwrap()
}

/// A rename into another owner's index carries the expunge MODSEQs and dates along.
#[test]
fn a_rename_across_owners_keeps_the_expunge_history() {
    let (_d, now, s) = setup();
    let a = create(&s, "user.alice.Lists");
    for i in 1..=3 {
        append(&s, &a, i);
    }
    let m1 = expunge(&s, &a, &[1]);
    s.store_flags(
        &a,
        SeenSource::Index,
        &[uid(2)],
        FlagChange::Add(vec![Flag::Flagged]),
        None,
    )
    .unwrap();
    let to = name("user.bob.Lists");
    s.rename_mailbox(&a, &to).unwrap();
    assert_eq!(s.vanished_since(&to, m1).unwrap(), exact(&[]));
    let before = ModSeq::new(m1.get() - 1).unwrap();
    assert_eq!(s.vanished_since(&to, before).unwrap(), exact(&[1]));
    now.store(T0 + 100 * DAY, Ordering::SeqCst);
    assert_eq!(pruned(&s.prune_tombstones(T0 + 1).unwrap()), (1, 1));
    assert_eq!(
        s.vanished_since(&to, before).unwrap(),
        VanishedSince::Pruned
    );
}

/// More tombstones than one batch: every batch is committed and nothing is left over.
#[test]
fn a_mailbox_with_more_tombstones_than_a_batch_is_pruned_in_full() {
    let (_d, now, s) = setup();
    let a = create(&s, "user.alice");
    let count = u32::try_from(2 * PURGE_BATCH + 5).unwrap();
    s.bulk_load_records(&a, count, b"").unwrap();
    let odd: Vec<u32> = (1..=count).step_by(2).collect();
    let even: Vec<u32> = (2..=count).step_by(2).collect();
    let m_odd = expunge(&s, &a, &odd);
    now.store(T0 + 10 * DAY, Ordering::SeqCst);
    let m_even = expunge(&s, &a, &even);
    let report = s.prune_tombstones(T0 + DAY).unwrap();
    assert_eq!(pruned(&report), (1, odd.len()));
    assert_eq!(s.vanished_since(&a, m_odd).unwrap(), exact(&even));
    assert_eq!(
        pruned(&s.prune_tombstones(T0 + 11 * DAY).unwrap()),
        (1, even.len())
    );
    assert_eq!(s.vanished_since(&a, m_even).unwrap(), exact(&[]));
    assert_eq!(s.vanished_since(&a, m_odd).unwrap(), VanishedSince::Pruned);
}

/// The one owner index file under the config directory.
fn index_file(dir: &Path) -> PathBuf {
    let mut found = Vec::new();
    for hh in std::fs::read_dir(dir.join("config").join("index")).unwrap() {
        for f in std::fs::read_dir(hh.unwrap().path()).unwrap() {
            found.push(f.unwrap().path());
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

/// An index written before expunges were dated has no dates table: it opens, VANISHED reads
/// its tombstones, and the first prune dates them "now" so they go one retention period later.
#[test]
fn an_index_without_the_dates_table_opens_and_its_tombstones_age_from_the_first_prune() {
    let (dir, now, s) = setup();
    let a = create(&s, "user.alice");
    for i in 1..=2 {
        append(&s, &a, i);
    }
    let m1 = expunge(&s, &a, &[1]);
    drop(s);
    {
        let db = redb::Database::open(index_file(dir.path())).unwrap();
        let txn = db.begin_write().unwrap();
        let times: redb::TableDefinition<(&str, u64), i64> =
            redb::TableDefinition::new("expunge_times");
        assert!(txn.delete_table(times).unwrap(), "the table was there");
        txn.commit().unwrap();
    }
    now.store(T0 + 50 * DAY, Ordering::SeqCst);
    let s = store_at(dir.path(), &now);
    let start = ModSeq::new(1).unwrap();
    assert_eq!(s.vanished_since(&a, start).unwrap(), exact(&[1]));
    assert_eq!(
        s.records(
            &a,
            SeenSource::Index,
            UidSelection::All,
            mailstore::RecordFields::BASIC
        )
        .unwrap()
        .len(),
        1
    );
    assert_eq!(pruned(&s.prune_tombstones(T0 + 40 * DAY).unwrap()), (0, 0));
    assert_eq!(s.vanished_since(&a, start).unwrap(), exact(&[1]));
    now.store(T0 + 60 * DAY, Ordering::SeqCst);
    assert_eq!(pruned(&s.prune_tombstones(T0 + 49 * DAY).unwrap()), (0, 0));
    assert_eq!(pruned(&s.prune_tombstones(T0 + 51 * DAY).unwrap()), (1, 1));
    assert_eq!(s.vanished_since(&a, start).unwrap(), VanishedSince::Pruned);
    assert_eq!(s.vanished_since(&a, m1).unwrap(), exact(&[]));
}

/// A run asked to stop leaves the remaining mailboxes for the next run, which finishes them.
#[test]
fn a_stopped_run_leaves_the_rest_for_the_next() {
    let (_d, now, s) = setup();
    let boxes: Vec<MailboxName> = ["user.a", "user.b", "user.c"]
        .iter()
        .map(|n| create(&s, n))
        .collect();
    for b in &boxes {
        append(&s, b, 1);
        expunge(&s, b, &[1]);
    }
    now.store(T0 + DAY, Ordering::SeqCst);
    let asked = AtomicI64::new(0);
    let stop = || asked.fetch_add(1, Ordering::SeqCst) >= 1;
    let report = s.prune_tombstones_until(T0 + 1, &stop).unwrap();
    assert!(report.stopped);
    assert_eq!((report.mailboxes, pruned(&report)), (1, (1, 1)));
    let report = s.prune_tombstones(T0 + 1).unwrap();
    assert!(!report.stopped);
    assert_eq!((report.mailboxes, pruned(&report)), (3, (2, 2)));
}
