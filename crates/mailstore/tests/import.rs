//! Importing from another store: a mailbox keeps its UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ,
//! messages keep their UIDs, flags, internal dates and MODSEQs; files in our form are linked,
//! others copied and normalised; bad UID orders are refused; other users' seen state is set.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::MetadataExt;

use common::*;
use mailstore::{
    AppendSource, CreateOptions, ImportedMailbox, ImportedMessage, InternalDate, RecordFields,
    SeenSource, Store, UidSelection, UidSet,
};
use types::{Flag, MailboxName, UidValidity};

fn imported(s: &Store, n: &str, uidvalidity: u32, uidnext: u32, modseq: u64) -> MailboxName {
    let n = name(n);
    s.create_imported_mailbox(
        &n,
        ImportedMailbox {
            uidvalidity: UidValidity::new(uidvalidity).unwrap(),
            uidnext,
            highestmodseq: modseq,
            options: CreateOptions::default(),
        },
    )
    .unwrap();
    n
}

fn item(source: AppendSource, u: u32, flags: Vec<Flag>, modseq: Option<u64>) -> ImportedMessage {
    ImportedMessage {
        source,
        uid: uid(u),
        flags,
        internal_date: InternalDate {
            unix_seconds: 1_000_000_000 + i64::from(u),
            offset_minutes: 120,
        },
        modseq,
        save_date: Some(1_500_000_000),
    }
}

#[test]
fn an_imported_mailbox_keeps_its_uid_state_and_messages_keep_theirs() {
    let (dir, s) = store();
    let n = imported(&s, "user.fred", 1_234_567, 40, 900);
    let st = s.status(&n, SeenSource::Index).unwrap();
    assert_eq!(st.uidvalidity.get(), 1_234_567);
    assert_eq!(st.uidnext.get(), 40);
    assert_eq!(st.highestmodseq.get(), 900);

    // One file in our form on the partition's file system (linked), one with LF line ends
    // (copied and normalised), one from bytes.
    let src = dir.path().join("part/default/source");
    std::fs::create_dir_all(&src).unwrap();
    let crlf = src.join("a");
    std::fs::write(&crlf, msg(1)).unwrap();
    let lf = src.join("b");
    std::fs::write(&lf, b"Subject: lf\n\nbody\n").unwrap();
    let out = s
        .import_messages(
            &n,
            vec![
                item(
                    AppendSource::File(crlf.clone()),
                    42,
                    vec![Flag::Seen, Flag::Keyword("$Label1".into())],
                    Some(880),
                ),
                item(AppendSource::File(lf), 57, vec![Flag::Flagged], Some(1200)),
                item(AppendSource::Bytes(msg(3)), 60, vec![], None),
            ],
        )
        .unwrap();
    assert_eq!((out.linked, out.copied), (1, 2));

    let recs = s
        .records(
            &n,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::BASIC,
        )
        .unwrap();
    let uids: Vec<u32> = recs.iter().map(|r| r.uid.get()).collect();
    assert_eq!(uids, [42, 57, 60]);
    assert_eq!(recs[0].modseq.get(), 880);
    assert_eq!(recs[1].modseq.get(), 1200);
    assert!(recs[2].modseq.get() > 900, "this import's own MODSEQ");
    assert_eq!(recs[0].internal_date.unix_seconds, 1_000_000_042);
    assert_eq!(recs[0].internal_date.offset_minutes, 120);
    assert_eq!(recs[0].save_date, 1_500_000_000);
    assert!(recs[0].flags.contains(&Flag::Seen));
    assert!(recs[0].flags.contains(&Flag::Keyword("$Label1".into())));
    assert_eq!(recs[1].flags, [Flag::Flagged]);
    assert!(recs[2].flags.is_empty());

    let st = s.status(&n, SeenSource::Index).unwrap();
    assert_eq!(st.uidnext.get(), 61);
    assert_eq!(st.highestmodseq.get(), 1200);
    assert_eq!((st.exists, st.unseen), (3, 2));

    // Linked means the same inode; copied means normalised bytes.
    let stored = s.message_file(&n, uid(42)).unwrap();
    assert_eq!(
        std::fs::metadata(&stored).unwrap().ino(),
        std::fs::metadata(&crlf).unwrap().ino()
    );
    assert_eq!(
        s.read_message(&n, uid(57)).unwrap(),
        b"Subject: lf\r\n\r\nbody\r\n"
    );
    assert_eq!(recs[1].size, 21);

    // Nothing imported is \Recent to the owner.
    assert_eq!(s.recent_count(&n, SeenSource::Index).unwrap(), 0);

    // A reopened store (index read back from disk) says the same.
    drop(s);
    let s = Store::open(config(&dir, mailstore::FsyncPolicy::Never)).unwrap();
    assert_eq!(uids_of(&s, &n), [42, 57, 60]);
}

#[test]
fn uids_that_do_not_ascend_or_lie_below_uidnext_are_refused_and_nothing_is_stored() {
    let (_d, s) = store();
    let n = imported(&s, "user.fred", 7, 10, 1);
    let two = vec![
        item(AppendSource::Bytes(msg(1)), 12, vec![], None),
        item(AppendSource::Bytes(msg(2)), 12, vec![], None),
    ];
    assert!(s.import_messages(&n, two).is_err());
    let below = vec![item(AppendSource::Bytes(msg(1)), 9, vec![], None)];
    assert!(s.import_messages(&n, below).is_err());
    assert!(uids_of(&s, &n).is_empty());

    // A second batch continues above the first.
    s.import_messages(
        &n,
        vec![item(AppendSource::Bytes(msg(1)), 10, vec![], None)],
    )
    .unwrap();
    let again = vec![item(AppendSource::Bytes(msg(2)), 10, vec![], None)];
    assert!(s.import_messages(&n, again).is_err());
    s.import_messages(
        &n,
        vec![item(AppendSource::Bytes(msg(2)), 11, vec![], None)],
    )
    .unwrap();
    assert_eq!(uids_of(&s, &n), [10, 11]);
}

#[test]
fn uidnext_is_raised_to_the_old_stores_after_the_messages_and_never_lowered() {
    let (_d, s) = store();
    let n = imported(&s, "user.fred", 7, 2, 1);
    s.import_messages(&n, vec![item(AppendSource::Bytes(msg(1)), 2, vec![], None)])
        .unwrap();
    s.raise_uidnext(&n, 9).unwrap();
    assert_eq!(s.status(&n, SeenSource::Index).unwrap().uidnext.get(), 9);
    s.raise_uidnext(&n, 5).unwrap();
    assert_eq!(s.status(&n, SeenSource::Index).unwrap().uidnext.get(), 9);
    let below = vec![item(AppendSource::Bytes(msg(2)), 8, vec![], None)];
    assert!(s.import_messages(&n, below).is_err());
    assert_eq!(uids_of(&s, &n), [2]);
}

#[test]
fn later_mailboxes_never_get_an_imported_uidvalidity_back() {
    let (_d, s) = store();
    let far = u32::MAX - 10;
    imported(&s, "user.fred", far, 1, 1);
    let n = create(&s, "user.fred.new");
    assert!(s.status(&n, SeenSource::Index).unwrap().uidvalidity.get() > far);
}

#[test]
fn another_users_seen_state_is_set_whole() {
    let (_d, s) = store();
    let n = imported(&s, "shared.team", 9, 1, 1);
    let items = (1..=4)
        .map(|u| item(AppendSource::Bytes(msg(u as usize)), u, vec![], None))
        .collect();
    s.import_messages(&n, items).unwrap();
    let mut seen = UidSet::default();
    seen.insert(2);
    seen.insert(4);
    s.import_seen("bob", &n, &seen).unwrap();
    let recs = s
        .records(
            &n,
            SeenSource::PrivateTo("bob"),
            UidSelection::All,
            RecordFields::BASIC,
        )
        .unwrap();
    let seen_uids: Vec<u32> = recs
        .iter()
        .filter(|r| r.flags.contains(&Flag::Seen))
        .map(|r| r.uid.get())
        .collect();
    assert_eq!(seen_uids, [2, 4]);
    let st = s.status(&n, SeenSource::PrivateTo("bob")).unwrap();
    assert_eq!(st.unseen, 2);
    assert_eq!(s.recent_count(&n, SeenSource::PrivateTo("bob")).unwrap(), 0);
}

#[test]
fn an_existing_mailbox_that_never_held_mail_takes_the_imported_uid_state() {
    let (_d, s) = store();
    let n = create(&s, "user.fred");
    let mailbox = |uidvalidity| ImportedMailbox {
        uidvalidity: UidValidity::new(uidvalidity).unwrap(),
        uidnext: 5,
        highestmodseq: 77,
        options: CreateOptions::default(),
    };
    s.create_imported_mailbox(&n, mailbox(4242)).unwrap();
    let st = s.status(&n, SeenSource::Index).unwrap();
    assert_eq!((st.uidvalidity.get(), st.uidnext.get()), (4242, 5));
    assert_eq!(st.highestmodseq.get(), 77);
    s.import_messages(&n, vec![item(AppendSource::Bytes(msg(1)), 6, vec![], None)])
        .unwrap();
    // Now it holds mail: a second import is refused and changes nothing.
    let again = s.create_imported_mailbox(&n, mailbox(9999));
    assert!(matches!(
        again,
        Err(mailstore::StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        s.status(&n, SeenSource::Index).unwrap().uidvalidity.get(),
        4242
    );
    // So is a mailbox that held mail once, even if empty now.
    let t = create(&s, "user.fred.Trash");
    append(&s, &t, 1);
    s.expunge(&t, mailstore::Expunge::Uids(vec![uid(1)]))
        .unwrap();
    assert!(s.create_imported_mailbox(&t, mailbox(5)).is_err());
}

#[test]
fn a_batch_that_fails_part_way_leaves_no_message_file_behind() {
    let (dir, s) = store();
    let n = imported(&s, "user.fred", 3, 1, 1);
    let src = dir.path().join("part/default/source");
    std::fs::create_dir_all(&src).unwrap();
    let mut items = Vec::new();
    for u in 1..=40u32 {
        let f = src.join(format!("{u}"));
        std::fs::write(&f, msg(u as usize)).unwrap();
        items.push(item(AppendSource::File(f), u, vec![], None));
    }
    // A NUL byte: refused, after the others were read (and linked) on other threads.
    items.push(item(
        AppendSource::Bytes(b"A: b\r\n\r\n\0".to_vec()),
        41,
        vec![],
        None,
    ));
    assert!(s.import_messages(&n, items).is_err());
    assert!(uids_of(&s, &n).is_empty());
    let mailbox_dir = walk_dirs(&dir.path().join("part/default"))
        .into_iter()
        .find(|d| d.join("cyrus.header").exists())
        .unwrap();
    let left: Vec<_> = std::fs::read_dir(&mailbox_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Directories below `dir`, recursively.
fn walk_dirs(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_dirs(&p));
            out.push(p);
        }
    }
    out
}

#[test]
fn batches_commit_in_order_while_the_next_is_read_and_stop_at_the_first_error() {
    let (dir, s) = store();
    let n = imported(&s, "user.fred", 3, 1, 1);
    let src = dir.path().join("part/default/source");
    std::fs::create_dir_all(&src).unwrap();
    let batch = |from: u32, to: u32| -> Vec<ImportedMessage> {
        (from..=to)
            .map(|u| {
                let f = src.join(format!("{u}"));
                std::fs::write(&f, msg(u as usize)).unwrap();
                item(
                    AppendSource::File(f),
                    u,
                    vec![Flag::Flagged],
                    Some(u64::from(u) + 10),
                )
            })
            .collect()
    };
    let out = s
        .import_batches(
            &n,
            vec![batch(1, 30), batch(31, 60), batch(70, 75)].into_iter(),
        )
        .unwrap();
    assert_eq!((out.linked, out.copied), (66, 0));
    let want: Vec<u32> = (1..=60).chain(70..=75).collect();
    assert_eq!(uids_of(&s, &n), want);
    let st = s.status(&n, SeenSource::Index).unwrap();
    assert_eq!((st.uidnext.get(), st.highestmodseq.get()), (76, 85));

    // The second batch goes below what the first left: refused at its commit; the first
    // stays, the third is never stored, and no file of the refused or later ones is left.
    let m = imported(&s, "user.fred.two", 4, 1, 1);
    let bad = s.import_batches(
        &m,
        vec![batch(100, 120), batch(110, 115), batch(200, 210)].into_iter(),
    );
    assert!(bad.is_err());
    assert_eq!(uids_of(&s, &m), (100..=120).collect::<Vec<_>>());
    let st = s.status(&m, SeenSource::Index).unwrap();
    assert_eq!(st.uidnext.get(), 121);
    s.reconstruct(&m)
        .map(|r| assert!(r.is_clean(), "{r:?}"))
        .unwrap();
}
