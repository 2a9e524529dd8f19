//! Model-based property test: random sequences of append / copy / move / store / expunge /
//! rename / delete / create against an in-memory model. After every step: UIDs are the ones
//! the model predicts (so they strictly increase), MODSEQ never falls, counts and quota usage
//! equal the model's; at the end, reopening the store gives the same state.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::collections::BTreeMap;

use mailstore::{
    AppendItem, CreateOptions, Expunge, FlagChange, FsyncPolicy, RecordFields, SeenSource, Store,
    StoreError, UidSelection,
};
use proptest::prelude::*;
use types::{Flag, MailboxName, Uid};

const POOL: &[&str] = &[
    "user.alice",
    "user.alice.A",
    "user.alice.A.Sub",
    "user.alice.B",
    "user.bob",
    "user.bob.C",
    "shared.x",
    "shared.y",
];
/// `user` spans owners; `user.alice.A` is nested in `user.alice`, which is nested in `user`.
const QUOTA_ROOTS: &[&str] = &["user", "user.alice", "user.alice.A", "shared"];
/// Users whose `\\Seen` is private (seen database).
const USERS: &[&str] = &["carol", "dave"];

#[derive(Clone, Debug)]
enum Op {
    Create(usize),
    Append(usize, usize, u8),
    Copy(usize, usize, u8),
    Move(usize, usize, u8),
    Store(usize, u8, bool, bool),
    /// Private `\\Seen` of user `USERS[.2]`: add or remove.
    Seen(usize, u8, usize, bool),
    Expunge(usize),
    Rename(usize, usize),
    Delete(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..POOL.len()).prop_map(Op::Create),
        4 => (0..8usize, 0..2000usize, 1..4u8).prop_map(|(m, s, n)| Op::Append(m, s, n)),
        2 => (0..8usize, 0..8usize, any::<u8>()).prop_map(|(a, b, p)| Op::Copy(a, b, p)),
        2 => (0..8usize, 0..8usize, any::<u8>()).prop_map(|(a, b, p)| Op::Move(a, b, p)),
        3 => (0..8usize, any::<u8>(), any::<bool>(), any::<bool>()).prop_map(|(m, p, a, d)| Op::Store(m, p, a, d)),
        2 => (0..8usize, any::<u8>(), 0..USERS.len(), any::<bool>()).prop_map(|(m, p, u, a)| Op::Seen(m, p, u, a)),
        2 => (0..8usize).prop_map(Op::Expunge),
        1 => (0..8usize, 0..POOL.len()).prop_map(|(m, t)| Op::Rename(m, t)),
        1 => (0..8usize).prop_map(Op::Delete),
    ]
}

#[derive(Clone, Debug, Default, PartialEq)]
struct ModelBox {
    uidnext: u32,
    /// uid → (size, deleted, seen in the index)
    msgs: BTreeMap<u32, (u64, bool, bool)>,
    last_modseq: u64,
    /// user → UIDs that user has seen privately
    private_seen: BTreeMap<&'static str, std::collections::BTreeSet<u32>>,
}

#[derive(Default)]
struct Model {
    boxes: BTreeMap<String, ModelBox>,
}

impl Model {
    fn pick(&self, i: usize) -> Option<String> {
        let n = self.boxes.len();
        (n > 0)
            .then(|| self.boxes.keys().nth(i % n).cloned())
            .flatten()
    }
}

fn name(s: &str) -> MailboxName {
    MailboxName::try_from(s).unwrap()
}

/// The model's messages picked by the bit pattern `p` (bit i of p, cycling).
fn picked(b: &ModelBox, p: u8) -> Vec<u32> {
    b.msgs
        .keys()
        .enumerate()
        .filter(|(i, _)| p & (1 << (i % 8)) != 0)
        .map(|(_, u)| *u)
        .collect()
}

fn uids(v: &[u32]) -> Vec<Uid> {
    v.iter().map(|u| Uid::new(*u).unwrap()).collect()
}

fn body(seed: usize, i: u8) -> Vec<u8> {
    let mut m = format!("Subject: {seed}/{i}\r\n\r\n").into_bytes();
    m.extend(std::iter::repeat_n(b'x', seed % 700));
    m.extend_from_slice(b"\r\n");
    m
}

fn transfer(s: &Store, m: &mut Model, a: &str, b: &str, p: u8, moving: bool) {
    let src = m.boxes[a].clone();
    let chosen = picked(&src, p);
    let out = if moving {
        s.move_messages(&name(a), &uids(&chosen), &name(b)).unwrap()
    } else {
        s.copy(&name(a), &uids(&chosen), &name(b)).unwrap()
    };
    let mut expect = Vec::new();
    let mut next = m.boxes[b].uidnext;
    for u in &chosen {
        expect.push((Uid::new(*u).unwrap(), Uid::new(next).unwrap()));
        let msg = src.msgs[u];
        m.boxes.get_mut(b).unwrap().msgs.insert(next, msg);
        next += 1;
    }
    m.boxes.get_mut(b).unwrap().uidnext = next;
    if moving {
        for u in &chosen {
            m.boxes.get_mut(a).unwrap().msgs.remove(u);
        }
    }
    assert_eq!(out.mapping, expect);
}

fn apply(s: &Store, m: &mut Model, op: &Op) {
    match op {
        Op::Create(i) => {
            let n = POOL[*i];
            let r = s.create_mailbox(&name(n), CreateOptions::default());
            if m.boxes.contains_key(n) {
                assert!(matches!(r, Err(StoreError::AlreadyExists(_))));
            } else {
                r.unwrap();
                m.boxes.insert(
                    n.to_string(),
                    ModelBox {
                        uidnext: 1,
                        ..Default::default()
                    },
                );
            }
        }
        Op::Append(i, seed, n) => {
            let Some(mb) = m.pick(*i) else { return };
            let items: Vec<_> = (0..*n).map(|k| AppendItem::bytes(body(*seed, k))).collect();
            let out = s.append(&name(&mb), items).unwrap();
            let b = m.boxes.get_mut(&mb).unwrap();
            for (k, u) in out.uids.iter().enumerate() {
                assert_eq!(u.get(), b.uidnext, "UIDs are assigned in order");
                let size = body(*seed, k as u8).len() as u64;
                b.msgs.insert(u.get(), (size, false, false));
                b.uidnext += 1;
            }
        }
        Op::Copy(a, b, p) | Op::Move(a, b, p) => {
            let (Some(a), Some(b)) = (m.pick(*a), m.pick(*b)) else {
                return;
            };
            transfer(s, m, &a, &b, *p, matches!(op, Op::Move(..)));
        }
        Op::Store(i, p, add, deleted) => {
            let Some(mb) = m.pick(*i) else { return };
            let chosen = picked(&m.boxes[&mb], *p);
            let flag = if *deleted { Flag::Deleted } else { Flag::Seen };
            let change = if *add {
                FlagChange::Add(vec![flag])
            } else {
                FlagChange::Remove(vec![flag])
            };
            s.store_flags(&name(&mb), SeenSource::Index, &uids(&chosen), change, None)
                .unwrap();
            for u in chosen {
                let msg = m.boxes.get_mut(&mb).unwrap().msgs.get_mut(&u).unwrap();
                if *deleted {
                    msg.1 = *add;
                } else {
                    msg.2 = *add;
                }
            }
        }
        Op::Seen(i, p, user, add) => {
            let Some(mb) = m.pick(*i) else { return };
            let chosen = picked(&m.boxes[&mb], *p);
            let change = if *add {
                FlagChange::Add(vec![Flag::Seen])
            } else {
                FlagChange::Remove(vec![Flag::Seen])
            };
            s.store_flags(
                &name(&mb),
                SeenSource::PrivateTo(USERS[*user]),
                &uids(&chosen),
                change,
                None,
            )
            .unwrap();
            let set = m
                .boxes
                .get_mut(&mb)
                .unwrap()
                .private_seen
                .entry(USERS[*user])
                .or_default();
            for u in chosen {
                if *add {
                    set.insert(u)
                } else {
                    set.remove(&u)
                };
            }
        }
        Op::Expunge(i) => {
            let Some(mb) = m.pick(*i) else { return };
            let gone = s.expunge(&name(&mb), Expunge::AllDeleted).unwrap();
            let b = m.boxes.get_mut(&mb).unwrap();
            let expect: Vec<u32> = b
                .msgs
                .iter()
                .filter(|(_, v)| v.1)
                .map(|(u, _)| *u)
                .collect();
            assert_eq!(gone, uids(&expect));
            b.msgs.retain(|_, v| !v.1);
        }
        Op::Rename(i, t) => rename(s, m, *i, POOL[*t]),
        Op::Delete(i) => {
            let Some(mb) = m.pick(*i) else { return };
            s.delete_mailbox(&name(&mb)).unwrap();
            m.boxes.remove(&mb);
        }
    }
}

fn rename(s: &Store, m: &mut Model, i: usize, to: &str) {
    let Some(from) = m.pick(i) else { return };
    let (fromn, ton) = (name(&from), name(to));
    let r = s.rename_mailbox(&fromn, &ton);
    let target_taken = m.boxes.keys().any(|k| name(k).is_within(&ton));
    if ton.is_within(&fromn) || target_taken {
        assert!(r.is_err(), "rename {from} → {to} should be refused");
        return;
    }
    r.unwrap();
    let moving: Vec<String> = m
        .boxes
        .keys()
        .filter(|k| name(k).is_within(&fromn))
        .cloned()
        .collect();
    for k in moving {
        let b = m.boxes.remove(&k).unwrap();
        m.boxes.insert(format!("{to}{}", &k[from.len()..]), b);
    }
}

fn check(s: &Store, m: &mut Model) {
    let listed: Vec<String> = s
        .list_mailboxes(None)
        .unwrap()
        .iter()
        .map(|e| e.name.to_string())
        .collect();
    assert_eq!(listed, m.boxes.keys().cloned().collect::<Vec<_>>());
    for (n, b) in m.boxes.iter_mut() {
        let st = s.status(&name(n), SeenSource::Index).unwrap();
        assert_eq!(st.exists as usize, b.msgs.len(), "{n} exists");
        assert_eq!(
            st.size,
            b.msgs.values().map(|v| v.0).sum::<u64>(),
            "{n} size"
        );
        assert_eq!(
            st.deleted as usize,
            b.msgs.values().filter(|v| v.1).count(),
            "{n} deleted"
        );
        assert_eq!(st.uidnext.get(), b.uidnext, "{n} uidnext");
        assert_eq!(
            st.unseen as usize,
            b.msgs.values().filter(|v| !v.2).count(),
            "{n} unseen"
        );
        for user in USERS {
            let seen = b.private_seen.get(user);
            let unseen = b
                .msgs
                .keys()
                .filter(|u| !seen.is_some_and(|s| s.contains(u)))
                .count();
            let st = s.status(&name(n), SeenSource::PrivateTo(user)).unwrap();
            assert_eq!(st.unseen as usize, unseen, "{n} unseen for {user}");
        }
        assert!(st.highestmodseq.get() >= b.last_modseq, "{n} MODSEQ fell");
        b.last_modseq = st.highestmodseq.get();
    }
    // Each mailbox counts for its nearest root only.
    let nearest = |mailbox: &MailboxName| {
        QUOTA_ROOTS
            .iter()
            .map(|r| name(r))
            .filter(|r| mailbox.is_within(r))
            .max_by_key(|r| r.as_str().len())
    };
    for root in QUOTA_ROOTS {
        let r = name(root);
        let u = s.quota_usage(&r).unwrap();
        assert_eq!(
            u,
            s.quota_usage_by_scan(&r).unwrap(),
            "quota {root} by scan"
        );
        let within = m
            .boxes
            .iter()
            .filter(|(k, _)| nearest(&name(k)).as_ref() == Some(&r));
        let (count, size) = within.fold((0, 0), |(c, z), (_, b)| {
            (
                c + b.msgs.len() as u64,
                z + b.msgs.values().map(|v| v.0).sum::<u64>(),
            )
        });
        assert_eq!((u.messages, u.storage_bytes), (count, size), "quota {root}");
    }
}

/// (uid, flags, modseq) of each message.
type Rows = Vec<(u32, Vec<Flag>, u64)>;

/// Per mailbox: name, rows, UIDNEXT, HIGHESTMODSEQ.
fn snapshot(s: &Store) -> Vec<(String, Rows, u32, u64)> {
    s.list_mailboxes(None)
        .unwrap()
        .into_iter()
        .map(|e| {
            let recs = s
                .records(
                    &e.name,
                    SeenSource::Index,
                    UidSelection::All,
                    RecordFields::BASIC,
                )
                .unwrap();
            let st = s.status(&e.name, SeenSource::Index).unwrap();
            let rows = recs
                .into_iter()
                .map(|r| (r.uid.get(), r.flags, r.modseq.get()))
                .collect();
            (
                e.name.to_string(),
                rows,
                st.uidnext.get(),
                st.highestmodseq.get(),
            )
        })
        .collect()
}

proptest! {
    // 24 cases keep `cargo test` quick; PROPTEST_CASES=300 (or more) for a deep run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        ..ProptestConfig::default()
    })]

    #[test]
    fn store_matches_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(common::config(&dir, FsyncPolicy::Never)).unwrap();
        for root in QUOTA_ROOTS {
            s.set_quota_root(&name(root), Default::default()).unwrap();
        }
        let mut m = Model::default();
        for op in &ops {
            apply(&s, &mut m, op);
            check(&s, &mut m);
        }
        let before = snapshot(&s);
        drop(s);
        let s = Store::open(common::config(&dir, FsyncPolicy::Never)).unwrap();
        prop_assert_eq!(snapshot(&s), before);
        check(&s, &mut m);
    }
}
