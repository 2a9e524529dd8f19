//! `Store::records` reads a dense selection with one range scan over the index tables and a
//! sparse one with a lookup per UID (module `index`). These tests prove both give the same
//! records — flags, keywords, private `\Seen`, cache and header blocks — on a mailbox with mixed
//! flags and headers, gaps left by expunges, and a neighbouring mailbox of the same owner.
#![allow(clippy::unwrap_used)]

mod common;

use common::{create, store, uid};
use mailstore::{
    AppendItem, Expunge, FlagChange, MessageRecord, RecordFields, SeenSource, Store, UidSelection,
};
use types::{Flag, MailboxName, Uid};

fn message(i: usize) -> Vec<u8> {
    let from = [
        "Smith <smith@example.org>",
        "=?UTF-8?Q?J=C3=B6rg?= <j@example.org>",
    ][i % 2];
    let extra = if i.is_multiple_of(3) {
        format!("X-Foo: y{i}\r\n\tfolded\r\n")
    } else {
        String::new()
    };
    format!(
        "From: {from}\r\nSubject: message {i}\r\n{extra}Message-ID: <{i}@x>\r\n\r\nbody {i}\r\n"
    )
    .into_bytes()
}

fn flags(i: usize) -> Vec<Flag> {
    let all = [
        Flag::Seen,
        Flag::Flagged,
        Flag::Answered,
        Flag::Keyword("$Junk".into()),
        Flag::Keyword("work".into()),
    ];
    all.into_iter()
        .enumerate()
        .filter(|(bit, _)| i & (1 << bit) != 0)
        .map(|(_, f)| f)
        .collect()
}

/// 120 messages with every combination of flags, then every fifth expunged.
fn mailbox(s: &Store, name: &str) -> MailboxName {
    let n = create(s, name);
    let items = (0..120)
        .map(|i| AppendItem {
            flags: flags(i),
            ..AppendItem::bytes(message(i))
        })
        .collect();
    s.append(&n, items).unwrap();
    let doomed: Vec<Uid> = (1..=120).filter(|u| u % 5 == 0).map(uid).collect();
    s.expunge(&n, Expunge::Uids(doomed)).unwrap();
    n
}

/// One record at a time: a single UID is read by a point lookup, as every `Uids` selection was
/// before the scan.
fn one_by_one(
    s: &Store,
    n: &MailboxName,
    seen: SeenSource<'_>,
    uids: &[u32],
    fields: RecordFields,
) -> Vec<MessageRecord> {
    uids.iter()
        .flat_map(|&u| {
            s.records(n, seen, UidSelection::Uids(&[uid(u)]), fields)
                .unwrap()
        })
        .collect()
}

const FIELDS: [RecordFields; 4] = [
    RecordFields::BASIC,
    RecordFields::WITH_CACHE,
    RecordFields {
        cache: false,
        header: true,
    },
    RecordFields::ALL,
];

#[test]
fn range_and_list_reads_equal_one_by_one_reads() {
    let (_dir, s) = store();
    let before = mailbox(&s, "user.a.before");
    let n = mailbox(&s, "user.a");
    let after = mailbox(&s, "user.a.z");
    s.store_flags(
        &n,
        SeenSource::PrivateTo("bob"),
        &[uid(1), uid(2), uid(3), uid(7)],
        FlagChange::Add(vec![Flag::Seen]),
        None,
    )
    .unwrap();
    let dense: Vec<Uid> = (10..=90).rev().map(uid).chain([uid(12)]).collect();
    for seen in [SeenSource::Index, SeenSource::PrivateTo("bob")] {
        for fields in FIELDS {
            let all = s.records(&n, seen, UidSelection::All, fields).unwrap();
            assert_eq!(all.len(), 96);
            assert_eq!(
                all,
                one_by_one(&s, &n, seen, &(1..=130).collect::<Vec<_>>(), fields)
            );
            let range = UidSelection::Range(uid(95), uid(33));
            let got = s.records(&n, seen, range, fields).unwrap();
            assert_eq!(
                got,
                one_by_one(&s, &n, seen, &(33..=95).collect::<Vec<_>>(), fields)
            );
            let got = s
                .records(&n, seen, UidSelection::Uids(&dense), fields)
                .unwrap();
            assert_eq!(
                got,
                one_by_one(&s, &n, seen, &(10..=90).collect::<Vec<_>>(), fields)
            );
            let sparse = [uid(120), uid(1), uid(64)];
            let got = s
                .records(&n, seen, UidSelection::Uids(&sparse), fields)
                .unwrap();
            assert_eq!(got, one_by_one(&s, &n, seen, &[1, 64], fields));
        }
    }
    for other in [before, after] {
        let all = s
            .records(
                &other,
                SeenSource::Index,
                UidSelection::All,
                RecordFields::ALL,
            )
            .unwrap();
        assert_eq!(all.len(), 96, "{other}: no rows of the neighbour");
    }
}

#[test]
fn scanned_records_carry_their_own_flags_and_header_blocks() {
    let (_dir, s) = store();
    let n = mailbox(&s, "user.a");
    let all = s
        .records(&n, SeenSource::Index, UidSelection::All, RecordFields::ALL)
        .unwrap();
    for r in &all {
        let i = r.uid.get() as usize - 1;
        let mut want = flags(i);
        want.sort_by_key(|f| format!("{f:?}"));
        let mut got = r.flags.clone();
        got.sort_by_key(|f| format!("{f:?}"));
        assert_eq!(got, want, "UID {}", r.uid);
        let header = r.header.as_deref().unwrap();
        let m = message(i);
        assert_eq!(header, &m[..m.len() - format!("body {i}\r\n").len()]);
        assert!(r.message_cache().is_ok());
    }
}
