//! `Store::select_snapshot` against the plain record reads it replaces, after every step of a
//! random run of appends, flag changes (shared and private `\Seen`), expunges, moves, renames
//! and reconstructs: the summary kept between SELECTs must always describe the mailbox as the
//! index does, for the owner and for a user with private `\Seen`, with and without QRESYNC's
//! changed-since records.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mailstore::{
    Expunge, FlagChange, MessageRecord, RecordFields, SeenSource, SelectSnapshot, Store,
    UidSelection,
};
use types::{Flag, MailboxName, ModSeq, Uid};

/// What a snapshot must say, computed from `records` and `status`.
fn expected(
    s: &Store,
    n: &MailboxName,
    seen: SeenSource<'_>,
    since: Option<ModSeq>,
) -> SelectSnapshot {
    let records: Vec<MessageRecord> = s
        .records(n, seen, UidSelection::All, RecordFields::BASIC)
        .unwrap();
    let status = s.status(n, seen).unwrap();
    let first_unseen = records
        .iter()
        .position(|r| !r.flags.contains(&Flag::Seen))
        .map(|i| i as u32 + 1);
    let changed = records
        .iter()
        .filter(|r| since.is_some_and(|m| r.modseq > m))
        .cloned()
        .collect();
    SelectSnapshot {
        status,
        uids: records.iter().map(|r| r.uid).collect(),
        first_unseen,
        changed,
    }
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn some_uids(rng: &mut Rng, all: &[Uid]) -> Vec<Uid> {
    if all.is_empty() {
        return Vec::new();
    }
    (0..1 + rng.below(4))
        .map(|_| all[rng.below(all.len() as u64) as usize])
        .collect()
}

#[test]
fn snapshots_agree_with_the_index_after_every_step() {
    let (_d, s) = store();
    let inbox = create(&s, "user.alice");
    let other = create(&s, "user.alice.other");
    for i in 0..30 {
        append(&s, &inbox, i);
    }
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut since = None;
    for step in 0..400 {
        let uids: Vec<Uid> = uids_of(&s, &inbox)
            .into_iter()
            .map(|u| Uid::new(u).unwrap())
            .collect();
        let targets = some_uids(&mut rng, &uids);
        match rng.below(9) {
            0 | 1 => {
                append(&s, &inbox, 1000 + step);
            }
            2 => {
                s.store_flags(
                    &inbox,
                    SeenSource::Index,
                    &targets,
                    FlagChange::Add(vec![Flag::Seen, Flag::Keyword(format!("k{}", step % 5))]),
                    None,
                )
                .unwrap();
            }
            3 => {
                s.store_flags(
                    &inbox,
                    SeenSource::Index,
                    &targets,
                    FlagChange::Remove(vec![Flag::Seen]),
                    None,
                )
                .unwrap();
            }
            4 => {
                s.store_flags(
                    &inbox,
                    SeenSource::PrivateTo("bob"),
                    &targets,
                    FlagChange::Add(vec![Flag::Seen]),
                    None,
                )
                .unwrap();
            }
            5 => {
                s.expunge(&inbox, Expunge::Uids(targets)).unwrap();
            }
            6 if !targets.is_empty() => {
                s.move_messages(&inbox, &targets, &other).unwrap();
            }
            7 => {
                s.copy(
                    &other,
                    &uids_of(&s, &other)
                        .into_iter()
                        .take(2)
                        .map(|u| Uid::new(u).unwrap())
                        .collect::<Vec<_>>(),
                    &inbox,
                )
                .unwrap();
            }
            _ => {
                // A QRESYNC client's state from now on.
                since = Some(s.status(&inbox, SeenSource::Index).unwrap().highestmodseq);
            }
        }
        for seen in [SeenSource::Index, SeenSource::PrivateTo("bob")] {
            for asked in [None, since] {
                let got = s.select_snapshot(&inbox, seen, asked).unwrap();
                let want = expected(&s, &inbox, seen, asked);
                assert_eq!(got, want, "step {step}, {seen:?}, since {asked:?}");
            }
        }
    }
}

#[test]
fn a_snapshot_survives_rename_delete_and_reconstruct() {
    let (_d, s) = store();
    let a = create(&s, "user.alice.a");
    for i in 0..10 {
        append(&s, &a, i);
    }
    let before = s.select_snapshot(&a, SeenSource::Index, None).unwrap();
    assert_eq!(before.uids.len(), 10);
    let b = name("user.alice.b");
    s.rename_mailbox(&a, &b).unwrap();
    assert_eq!(
        s.select_snapshot(&b, SeenSource::Index, None).unwrap(),
        expected(&s, &b, SeenSource::Index, None)
    );
    s.reconstruct(&b).unwrap();
    assert_eq!(
        s.select_snapshot(&b, SeenSource::Index, None).unwrap(),
        expected(&s, &b, SeenSource::Index, None)
    );
    s.delete_mailbox(&b).unwrap();
    let again = create(&s, "user.alice.b");
    append(&s, &again, 1);
    assert_eq!(
        s.select_snapshot(&again, SeenSource::Index, None).unwrap(),
        expected(&s, &again, SeenSource::Index, None)
    );
}
