//! Unit tests of the selected view: sequence numbers, pending updates, resync, and the cost
//! of large sets and expunges.

use super::*;
use imap_proto::sequence::{SeqNumber, SequenceItem};
use std::num::NonZeroU32;

fn uid(n: u32) -> Uid {
    Uid::new(n).unwrap()
}

fn view(uids: &[u32]) -> (SelectedView, broadcast::Sender<Change>) {
    let (tx, rx) = broadcast::channel(16);
    let dir = tempfile::tempdir().unwrap();
    let (identity, service) = mailservice_identity(dir.path());
    let name = types::MailboxName::try_from("user.alice").unwrap();
    let mailbox = service
        .authorize_internal(&identity, name, mailservice::Operation::Read)
        .unwrap();
    let v = SelectedView::new(mailbox, false, uids.iter().map(|&n| uid(n)).collect(), rx);
    (v, tx)
}

/// A service over a throwaway store, only to mint an `Authorized` for the view.
fn mailservice_identity(
    dir: &std::path::Path,
) -> (mailservice::Identity, mailservice::MailService) {
    let mut partitions = std::collections::BTreeMap::new();
    partitions.insert("default".to_string(), dir.join("spool"));
    let store = mailstore::Store::open(mailstore::StoreConfig::new(
        dir.join("conf"),
        partitions,
        "default",
    ))
    .unwrap();
    let service = mailservice::MailService::new(
        store,
        mailservice::ServiceConfig {
            admins: Vec::new().into(),
            unix_hierarchy_sep: false,
            domains: types::Domains::off(),
        },
    );
    // The mailbox must exist: access is decided by its ACL.
    service.create_user("alice").unwrap();
    (service.identity("alice"), service)
}

fn set(items: &[(u32, u32)]) -> SequenceSet {
    let n = |v: u32| {
        if v == 0 {
            SeqNumber::Largest
        } else {
            SeqNumber::Value(NonZeroU32::new(v).unwrap())
        }
    };
    SequenceSet::Items(
        items
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    SequenceItem::Single(n(a))
                } else {
                    SequenceItem::Range(n(a), n(b))
                }
            })
            .collect(),
    )
}

#[test]
fn sequence_numbers_map_to_uids_and_star_is_the_last() {
    let (v, _tx) = view(&[3, 7, 9, 20]);
    let got = v.resolve(&set(&[(2, 0)]), Addressing::Sequence).unwrap();
    assert_eq!(got, vec![(2, uid(7)), (3, uid(9)), (4, uid(20))]);
    assert!(
        v.resolve(&set(&[(5, 5)]), Addressing::Sequence).is_err(),
        "past EXISTS is an error"
    );
}

#[test]
fn uid_sets_skip_missing_uids_and_star_is_the_highest() {
    let (v, _tx) = view(&[3, 7, 9, 20]);
    let got = v
        .resolve(&set(&[(4, 9), (100, 0)]), Addressing::Uid)
        .unwrap();
    assert_eq!(
        got,
        vec![(2, uid(7)), (3, uid(9)), (4, uid(20))],
        "100:* includes the highest UID"
    );
}

#[test]
fn expunges_wait_while_forbidden_and_renumber_when_sent() {
    let (mut v, tx) = view(&[1, 2, 3, 4]);
    tx.send(Change::Expunged {
        uids: vec![uid(2), uid(4)],
        modseq: types::ModSeq::MIN,
    })
    .unwrap();
    tx.send(Change::Appended {
        uids: vec![uid(5)],
        modseq: types::ModSeq::MIN,
    })
    .unwrap();
    v.poll_changes();
    let held = v.take_updates(false);
    assert!(
        held.expunged.is_empty(),
        "no EXPUNGE during FETCH/STORE/SEARCH"
    );
    assert_eq!(held.exists, Some(5));
    let sent = v.take_updates(true);
    // Each number is valid when its response is read: UID 2 is seq 2, then UID 4 is seq 3.
    assert_eq!(sent.expunged, vec![2, 3]);
    assert_eq!(v.uids(), &[uid(1), uid(3), uid(5)]);
}

#[test]
fn own_flag_changes_are_not_echoed_but_others_are() {
    let (mut v, tx) = view(&[1, 2]);
    let m = types::ModSeq::new(5).unwrap();
    v.note_own_change(uid(1), m);
    tx.send(Change::FlagsChanged {
        changes: vec![(uid(1), m), (uid(2), m)],
    })
    .unwrap();
    v.poll_changes();
    assert_eq!(v.take_updates(true).flags, vec![(2, uid(2))]);
}

#[test]
fn a_message_appended_and_expunged_before_being_reported_is_never_seen() {
    let (mut v, tx) = view(&[1]);
    tx.send(Change::Appended {
        uids: vec![uid(2)],
        modseq: types::ModSeq::MIN,
    })
    .unwrap();
    tx.send(Change::Expunged {
        uids: vec![uid(2)],
        modseq: types::ModSeq::MIN,
    })
    .unwrap();
    v.poll_changes();
    let u = v.take_updates(true);
    assert!(u.expunged.is_empty() && u.exists.is_none());
    assert_eq!(v.exists(), 1);
}

/// mbsync 1.4 loading a mailbox took `* 574 FETCH (UID 653 FLAGS ...)` for a message new
/// in the same response as its highest UID and never pulled UIDs 647–652.
#[test]
fn flag_changes_of_messages_not_yet_announced_are_not_reported() {
    let (mut v, tx) = view(&[1]);
    tx.send(Change::Appended {
        uids: vec![uid(2), uid(3)],
        modseq: types::ModSeq::MIN,
    })
    .unwrap();
    tx.send(Change::FlagsChanged {
        changes: vec![(uid(3), types::ModSeq::new(7).unwrap())],
    })
    .unwrap();
    tx.send(Change::SeenChanged {
        user: String::new(),
        uids: vec![uid(2)],
    })
    .unwrap();
    v.poll_changes();
    let u = v.take_updates(true);
    assert_eq!(u.exists, Some(3));
    assert!(u.flags.is_empty(), "{:?}", u.flags);
    tx.send(Change::FlagsChanged {
        changes: vec![(uid(3), types::ModSeq::new(8).unwrap())],
    })
    .unwrap();
    v.poll_changes();
    assert_eq!(v.take_updates(true).flags, vec![(3, uid(3))], "known now");
}

#[test]
fn a_lagging_channel_asks_for_a_resync() {
    let (mut v, tx) = view(&[1, 2, 3]);
    for n in 0..40 {
        let _ = tx.send(Change::FlagsChanged {
            changes: vec![(uid(1), types::ModSeq::new(n + 1).unwrap())],
        });
    }
    v.poll_changes();
    assert!(v.needs_resync);
    v.resync(vec![uid(1), uid(3), uid(4)]);
    let u = v.take_updates(true);
    assert_eq!(u.expunged, vec![2]);
    assert_eq!(u.exists, Some(3));
}

/// Runs `work` on its own thread and waits at most a minute: a test that would run for
/// hours (a quadratic walk) fails instead of hanging. Not a timing assertion: the work
/// takes milliseconds once it is linear.
fn within_a_minute<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("did not finish within a minute")
}

/// 15,000 copies of `1:*` over a million messages were 15 billion set insertions.
#[test]
fn many_overlapping_ranges_cost_one_walk_over_the_messages() {
    let uids: Vec<u32> = (1..=1_000_000).collect();
    let (v, _tx) = view(&uids);
    let many = SequenceSet::Items(vec![
        SequenceItem::Range(
            SeqNumber::Value(NonZeroU32::new(1).unwrap()),
            SeqNumber::Largest
        );
        15_000
    ]);
    let (seqs, uids) = within_a_minute(move || {
        let seqs = v.resolve(&many, Addressing::Sequence).unwrap();
        let uids = v.resolve(&many, Addressing::Uid).unwrap();
        (seqs.len(), uids.len())
    });
    assert_eq!((seqs, uids), (1_000_000, 1_000_000));
}

/// Expunging most of a large mailbox shifted the UID list once per message: 1.5 million
/// shifts of megabytes each.
#[test]
fn many_expunges_are_removed_in_one_pass() {
    const N: u32 = 2_000_000;
    let uids: Vec<u32> = (1..=N).collect();
    let (mut v, tx) = view(&uids);
    let gone: Vec<Uid> = (1..=N).filter(|n| n % 4 != 0).map(uid).collect();
    let own: Vec<Uid> = (1..=N).filter(|n| n % 8 == 0).map(uid).collect();
    let (expunged, reported, left) = within_a_minute(move || {
        // The channel holds 16 changes; one change carries them all.
        tx.send(Change::Expunged {
            uids: gone,
            modseq: types::ModSeq::MIN,
        })
        .unwrap();
        v.poll_changes();
        let updates = v.take_updates(true);
        let reported = v.remove_own_expunges(own).seqs;
        (updates.expunged, reported, v.uids().len())
    });
    let n = N as usize;
    assert_eq!(expunged.len(), n / 4 * 3);
    let valid = |(k, &s): (usize, &u32)| s >= 1 && s as usize <= n - k;
    assert!(
        expunged.iter().enumerate().all(valid),
        "each number valid when sent"
    );
    assert_eq!(
        &expunged[..4],
        &[1, 1, 1, 2],
        "UIDs 1, 2, 3 go at 1, then UID 5 is 2"
    );
    assert_eq!(reported.len(), n / 8);
    assert_eq!(reported[0] as usize, n / 4, "highest first");
    assert_eq!(left, n / 8);
}

/// The numbers reported for other sessions' expunges are those of removing one message at
/// a time, in ascending order (the naive model).
#[test]
fn expunge_numbers_match_removing_one_at_a_time() {
    let before: Vec<u32> = (1..=60).map(|n| n * 3).collect();
    for step in [2usize, 3, 5, 7] {
        let (mut v, tx) = view(&before);
        let gone: Vec<u32> = before.iter().copied().step_by(step).collect();
        tx.send(Change::Expunged {
            uids: gone.iter().map(|&n| uid(n)).collect(),
            modseq: types::ModSeq::MIN,
        })
        .unwrap();
        v.poll_changes();
        let got = v.take_updates(true).expunged;
        let mut model = before.clone();
        let mut want = Vec::new();
        for g in &gone {
            let i = model.iter().position(|u| u == g).unwrap();
            model.remove(i);
            want.push(i as u32 + 1);
        }
        assert_eq!(got, want, "every {step}th");
        let left: Vec<u32> = v.uids().iter().map(|u| u.get()).collect();
        assert_eq!(left, model);
    }
}

/// A message announced on the channel before it lagged, then expunged while it lagged,
/// must not be counted in EXISTS after the resync.
#[test]
fn a_resync_forgets_pending_messages_the_index_no_longer_has() {
    let (mut v, tx) = view(&[1, 2]);
    tx.send(Change::Appended {
        uids: vec![uid(3)],
        modseq: types::ModSeq::MIN,
    })
    .unwrap();
    v.poll_changes();
    for n in 0..40 {
        let _ = tx.send(Change::FlagsChanged {
            changes: vec![(uid(1), types::ModSeq::new(n + 1).unwrap())],
        });
    }
    v.poll_changes();
    assert!(v.needs_resync);
    v.resync(vec![uid(1), uid(2), uid(4)]);
    let u = v.take_updates(true);
    assert_eq!(u.exists, Some(3), "UID 4 is new, UID 3 never was");
    assert_eq!(v.uids(), &[uid(1), uid(2), uid(4)]);
}
