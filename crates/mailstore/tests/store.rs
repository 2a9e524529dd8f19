//! Messages through the public API: append, fetch, flags, expunge, copy/move, seen, change
//! feed, concurrency, reconstruct. One temp dir per test.

mod common;

use common::*;
use mailstore::{
    AppendItem, AppendSource, Change, CreateOptions, Expunge, FlagChange, RecordFields, SeenSource,
    StoreError, UidSelection, VanishedSince,
};
use types::Flag;

#[test]
fn append_converts_bare_lf_to_crlf_in_the_stored_file() {
    let (_d, s) = store();
    let inbox = create(&s, "user.alice");
    let out = s
        .append(
            &inbox,
            vec![AppendItem::bytes(b"A: b\nC: d\r\n\nbody\n".to_vec())],
        )
        .unwrap();
    assert_eq!(out.uids, vec![uid(1)]);
    let bytes = s.read_message(&inbox, uid(1)).unwrap();
    assert_eq!(bytes, b"A: b\r\nC: d\r\n\r\nbody\r\n");
    let rec = &s
        .records(
            &inbox,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::ALL,
        )
        .unwrap()[0];
    assert_eq!(rec.size, bytes.len() as u64);
    assert_eq!(rec.header.as_deref(), Some(&b"A: b\r\nC: d\r\n\r\n"[..]));
}

#[test]
fn append_refuses_nul_as_bad_message() {
    let (_d, s) = store();
    let inbox = create(&s, "user.alice");
    for bad in [&b"A: b\0c\r\n\r\n"[..], b"A: b\r\n\r\nx\0y"] {
        let err = s
            .append(&inbox, vec![AppendItem::bytes(bad.to_vec())])
            .unwrap_err();
        assert!(matches!(err, StoreError::BadMessage(_)), "{err}");
        assert!(err.is_refusal());
    }
    assert_eq!(s.status(&inbox, SeenSource::Index).unwrap().exists, 0);
}

/// A CR not followed by LF is kept as sent (as Cyrus and Dovecot keep it), in the header and
/// in the body, and at the very end; the size and the cached header block count it.
#[test]
fn append_keeps_bare_cr_as_sent() {
    let (_d, s) = store();
    let inbox = create(&s, "user.alice");
    let bytes = b"A: b\rc\r\nD: e\r\r\n\r\nx\ry\r\n\rz\r".to_vec();
    s.append(&inbox, vec![AppendItem::bytes(bytes.clone())])
        .unwrap();
    let rec = &s
        .records(
            &inbox,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::ALL,
        )
        .unwrap()[0];
    assert_eq!(rec.size, bytes.len() as u64);
    assert_eq!(
        rec.header.as_deref(),
        Some(&b"A: b\rc\r\nD: e\r\r\n\r\n"[..])
    );
    assert_eq!(s.read_message(&inbox, rec.uid).unwrap(), bytes);
}

#[test]
fn append_refuses_messages_over_max_message_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&dir, mailstore::FsyncPolicy::Never);
    c.max_message_size = Some(10);
    let s = mailstore::Store::open(c).unwrap();
    let inbox = create(&s, "user.alice");
    let err = s
        .append(&inbox, vec![AppendItem::bytes(msg(1))])
        .unwrap_err();
    assert!(matches!(err, StoreError::TooBig { limit: 10 }));
}

#[test]
fn append_reads_spool_files_and_keeps_flags_and_internal_date() {
    let (d, s) = store();
    let inbox = create(&s, "user.alice");
    let spool = d.path().join("spool");
    std::fs::write(&spool, b"Subject: x\n\nhi\n").unwrap();
    let date = mailstore::InternalDate {
        unix_seconds: 1_000_000,
        offset_minutes: 120,
    };
    let item = AppendItem {
        source: AppendSource::File(spool.clone()),
        flags: vec![Flag::Flagged, Flag::Keyword("$Junk".into())],
        internal_date: Some(date),
    };
    s.append(&inbox, vec![item]).unwrap();
    assert!(spool.exists(), "the caller's spool file is left alone");
    let rec = &s
        .records(
            &inbox,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::BASIC,
        )
        .unwrap()[0];
    assert_eq!(rec.internal_date, date);
    assert_eq!(
        rec.flags,
        vec![Flag::Flagged, Flag::Keyword("$Junk".into())]
    );
}

#[test]
fn multiappend_assigns_consecutive_uids_in_one_modseq() {
    let (_d, s) = store();
    let inbox = create(&s, "user.alice");
    let items = (0..3).map(|i| AppendItem::bytes(msg(i))).collect();
    let out = s.append(&inbox, items).unwrap();
    assert_eq!(out.uids, vec![uid(1), uid(2), uid(3)]);
    let st = s.status(&inbox, SeenSource::Index).unwrap();
    assert_eq!(
        (st.exists, st.uidnext, st.uidvalidity),
        (3, uid(4), out.uidvalidity)
    );
}

#[test]
fn store_flags_honours_unchangedsince_and_bumps_modseq() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    append(&s, &a, 1);
    append(&s, &a, 2);
    let m1 = s.status(&a, SeenSource::Index).unwrap().highestmodseq;
    let out = s
        .store_flags(
            &a,
            SeenSource::Index,
            &[uid(1)],
            FlagChange::Add(vec![Flag::Deleted]),
            None,
        )
        .unwrap();
    assert_eq!(out.updated.len(), 1);
    let m2 = out.updated[0].2;
    assert!(m2 > m1);
    let out = s
        .store_flags(
            &a,
            SeenSource::Index,
            &[uid(1), uid(2)],
            FlagChange::Add(vec![Flag::Flagged]),
            Some(m1),
        )
        .unwrap();
    assert_eq!(out.modified, vec![uid(1)]);
    assert_eq!(
        out.updated.iter().map(|u| u.0).collect::<Vec<_>>(),
        vec![uid(2)]
    );
    let noop = s
        .store_flags(
            &a,
            SeenSource::Index,
            &[uid(2)],
            FlagChange::Add(vec![Flag::Flagged]),
            None,
        )
        .unwrap();
    assert!(noop.updated.is_empty(), "no change, no new MODSEQ");
    assert_eq!(s.status(&a, SeenSource::Index).unwrap().deleted, 1);
}

#[test]
fn expunge_leaves_tombstones_for_vanished() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    for i in 0..4 {
        append(&s, &a, i);
    }
    let before = s.status(&a, SeenSource::Index).unwrap().highestmodseq;
    s.store_flags(
        &a,
        SeenSource::Index,
        &[uid(2), uid(3)],
        FlagChange::Add(vec![Flag::Deleted]),
        None,
    )
    .unwrap();
    assert_eq!(
        s.expunge(&a, Expunge::DeletedAmong(vec![uid(3), uid(4)]))
            .unwrap(),
        vec![uid(3)]
    );
    assert_eq!(s.expunge(&a, Expunge::AllDeleted).unwrap(), vec![uid(2)]);
    assert_eq!(
        s.vanished_since(&a, before).unwrap(),
        VanishedSince::Exact(vec![uid(2), uid(3)])
    );
    assert!(matches!(
        s.read_message(&a, uid(2)),
        Err(StoreError::NoSuchMessage(2))
    ));
    let st = s.status(&a, SeenSource::Index).unwrap();
    assert_eq!((st.exists, st.deleted), (2, 0));
}

#[test]
fn copy_hard_links_within_a_partition_and_copies_across() {
    use std::os::unix::fs::MetadataExt;
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    let b = create(&s, "user.alice.B");
    let o = name("user.alice.O");
    s.create_mailbox(
        &o,
        CreateOptions {
            partition: Some("other".into()),
            ..Default::default()
        },
    )
    .unwrap();
    append(&s, &a, 1);
    let out = s.copy(&a, &[uid(1), uid(7)], &b).unwrap();
    assert_eq!(out.mapping, vec![(uid(1), uid(1))]);
    let ino = |n, u| {
        std::fs::metadata(s.message_file(n, u).unwrap())
            .unwrap()
            .ino()
    };
    assert_eq!(ino(&a, uid(1)), ino(&b, uid(1)));
    s.copy(&a, &[uid(1)], &o).unwrap();
    assert_ne!(ino(&a, uid(1)), ino(&o, uid(1)));
    assert_eq!(s.read_message(&o, uid(1)).unwrap(), msg(1));
}

#[test]
fn move_within_and_across_owners() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    let b = create(&s, "user.alice.B");
    let bob = create(&s, "user.bob");
    append(&s, &a, 1);
    append(&s, &a, 2);
    let out = s.move_messages(&a, &[uid(1)], &b).unwrap();
    assert_eq!(out.mapping, vec![(uid(1), uid(1))]);
    let out = s.move_messages(&a, &[uid(2)], &bob).unwrap();
    assert_eq!(out.mapping, vec![(uid(2), uid(1))]);
    assert_eq!(s.status(&a, SeenSource::Index).unwrap().exists, 0);
    assert_eq!(s.read_message(&bob, uid(1)).unwrap(), msg(2));
    assert_eq!(s.read_message(&b, uid(1)).unwrap(), msg(1));
    let all = s.move_all_messages(&b, &a).unwrap();
    assert_eq!(all.mapping, vec![(uid(1), uid(3))]);
}

#[test]
fn seen_is_private_per_user_when_asked() {
    let (_d, s) = store();
    let shared = create(&s, "shared.team");
    append(&s, &shared, 1);
    append(&s, &shared, 2);
    let carol = SeenSource::PrivateTo("carol");
    let dave = SeenSource::PrivateTo("dave");
    let out = s
        .store_flags(
            &shared,
            carol,
            &[uid(1)],
            FlagChange::Add(vec![Flag::Seen, Flag::Flagged]),
            None,
        )
        .unwrap();
    assert_eq!(out.updated[0].1, vec![Flag::Seen, Flag::Flagged]);
    assert_eq!(s.status(&shared, carol).unwrap().unseen, 1);
    assert_eq!(s.status(&shared, dave).unwrap().unseen, 2);
    assert_eq!(s.status(&shared, SeenSource::Index).unwrap().unseen, 2);
    let flags = |who| {
        s.records(
            &shared,
            who,
            UidSelection::Uids(&[uid(1)]),
            RecordFields::BASIC,
        )
        .unwrap()[0]
            .flags
            .clone()
    };
    assert_eq!(flags(carol), vec![Flag::Seen, Flag::Flagged]);
    assert_eq!(flags(dave), vec![Flag::Flagged]);
    s.store_flags(
        &shared,
        carol,
        &[uid(1)],
        FlagChange::Remove(vec![Flag::Seen]),
        None,
    )
    .unwrap();
    assert_eq!(s.status(&shared, carol).unwrap().unseen, 2);
}

/// RFC 7162 §3.1: a change of a private `\Seen` is a metadata change of the message, so it
/// gets a new MODSEQ that another client of the user can find with CHANGEDSINCE; the record's
/// flags (everybody else's view) stay as they were.
#[test]
fn a_private_seen_change_bumps_the_modseq() {
    let (_d, s) = store();
    let shared = create(&s, "shared.team");
    append(&s, &shared, 1);
    append(&s, &shared, 2);
    let carol = SeenSource::PrivateTo("carol");
    let before = s.status(&shared, carol).unwrap().highestmodseq;
    let mut rx = s.subscribe_changes(&shared).unwrap();
    let out = s
        .store_flags(
            &shared,
            carol,
            &[uid(1)],
            FlagChange::Add(vec![Flag::Seen]),
            None,
        )
        .unwrap();
    let after = s.status(&shared, carol).unwrap().highestmodseq;
    assert_eq!(after.get(), before.get() + 1);
    assert_eq!(out.updated, vec![(uid(1), vec![Flag::Seen], after)]);
    let changed: Vec<_> = s
        .records(&shared, carol, UidSelection::All, RecordFields::BASIC)
        .unwrap()
        .into_iter()
        .filter(|r| r.modseq > before)
        .map(|r| (r.uid, r.modseq, r.flags))
        .collect();
    assert_eq!(changed, vec![(uid(1), after, vec![Flag::Seen])]);
    let index_view = s
        .records(
            &shared,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::BASIC,
        )
        .unwrap();
    assert!(index_view[0].flags.is_empty(), "the record's flags stay");
    let got: Vec<Change> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(
        got,
        vec![
            Change::SeenChanged {
                user: "carol".into(),
                uids: vec![uid(1)]
            },
            Change::FlagsChanged {
                changes: vec![(uid(1), after)]
            },
        ]
    );
    // Setting what is already set changes nothing and bumps nothing.
    let again = s
        .store_flags(
            &shared,
            carol,
            &[uid(1)],
            FlagChange::Add(vec![Flag::Seen]),
            None,
        )
        .unwrap();
    assert!(again.updated.is_empty());
    assert_eq!(s.status(&shared, carol).unwrap().highestmodseq, after);
    assert!(rx.try_recv().is_err(), "nothing published");
    // UNCHANGEDSINCE now sees the seen change.
    let refused = s
        .store_flags(
            &shared,
            carol,
            &[uid(1)],
            FlagChange::Remove(vec![Flag::Seen]),
            Some(before),
        )
        .unwrap();
    assert_eq!(refused.modified, vec![uid(1)]);
}

#[test]
fn change_feed_reports_appends_flags_expunges_renames_in_order() {
    let (_d, s) = store();
    let a = create(&s, "user.alice.A");
    let mut rx = s.subscribe_changes(&a).unwrap();
    append(&s, &a, 1);
    s.store_flags(
        &a,
        SeenSource::Index,
        &[uid(1)],
        FlagChange::Add(vec![Flag::Deleted]),
        None,
    )
    .unwrap();
    s.expunge(&a, Expunge::AllDeleted).unwrap();
    s.rename_mailbox(&a, &name("user.alice.B")).unwrap();
    s.delete_mailbox(&name("user.alice.B")).unwrap();
    let got: Vec<Change> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(got.len(), 5, "{got:?}");
    assert!(matches!(&got[0], Change::Appended { uids, .. } if uids == &vec![uid(1)]));
    assert!(matches!(&got[1], Change::FlagsChanged { changes } if changes[0].0 == uid(1)));
    assert!(matches!(&got[2], Change::Expunged { uids, .. } if uids == &vec![uid(1)]));
    assert_eq!(
        got[3],
        Change::Renamed {
            to: name("user.alice.B")
        }
    );
    assert_eq!(got[4], Change::Deleted);
}

#[test]
fn concurrent_appends_and_stores_all_succeed_with_unique_uids() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            let a = a.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0..25 {
                    let u = append(&s, &a, t * 100 + i);
                    s.store_flags(
                        &a,
                        SeenSource::Index,
                        &[u],
                        FlagChange::Add(vec![Flag::Seen]),
                        None,
                    )
                    .unwrap();
                    let _ = s
                        .records(
                            &a,
                            SeenSource::Index,
                            UidSelection::All,
                            RecordFields::WITH_CACHE,
                        )
                        .unwrap();
                    mine.push(u);
                }
                mine
            })
        })
        .collect();
    let mut all: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 100);
    let st = s.status(&a, SeenSource::Index).unwrap();
    assert_eq!((st.exists, st.unseen, st.uidnext), (100, 0, uid(101)));
}

#[test]
fn reconstruct_repairs_missing_stray_and_stale_files() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    for i in 0..3 {
        append(&s, &a, i);
    }
    s.store_flags(
        &a,
        SeenSource::Index,
        &[uid(3)],
        FlagChange::Add(vec![Flag::Deleted]),
        None,
    )
    .unwrap();
    let p3 = s.message_file(&a, uid(3)).unwrap();
    let saved3 = std::fs::read(&p3).unwrap();
    s.expunge(&a, Expunge::AllDeleted).unwrap();
    let dir = p3.parent().unwrap().to_path_buf();
    std::fs::write(&p3, &saved3).unwrap(); // an interrupted unlink
    std::fs::remove_file(dir.join("1.")).unwrap(); // a lost file
    std::fs::write(dir.join("9."), msg(9)).unwrap(); // linked but never indexed
    let r = s.reconstruct(&a).unwrap();
    assert_eq!(r.lost, vec![uid(1)]);
    assert_eq!(r.added, vec![uid(9)]);
    assert_eq!(r.stale_files_removed, vec![uid(3)]);
    let st = s.status(&a, SeenSource::Index).unwrap();
    assert_eq!((st.exists, st.uidnext), (2, uid(10)));
    assert!(s.reconstruct(&a).unwrap().is_clean());
    assert_eq!(append(&s, &a, 10), uid(10));
}

#[test]
fn cached_part_offsets_serve_body_sections_without_reparsing() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    let raw = b"Subject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n\
--x\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--x\r\nContent-Type: text/html\r\n\r\n<p>second</p>\r\n--x--\r\n";
    append_bytes(&s, &a, raw);
    let rec = &s
        .records(
            &a,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::WITH_CACHE,
        )
        .unwrap()[0];
    let cache = rec.message_cache().unwrap();
    assert!(cache.envelope().starts_with(b"("));
    let part = cache.part(&[2]).unwrap();
    let body = s
        .read_range(&a, rec.uid, part.body_offset, part.body_len)
        .unwrap();
    assert_eq!(body, b"<p>second</p>");
}

#[test]
fn reversed_uid_ranges_read_like_ordered_ones() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    for i in 0..5 {
        append(&s, &a, i);
    }
    let get = |sel| {
        s.records(&a, SeenSource::Index, sel, RecordFields::BASIC)
            .unwrap()
            .len()
    };
    assert_eq!(get(UidSelection::Range(uid(4), uid(2))), 3);
    assert_eq!(get(UidSelection::Range(uid(2), uid(4))), 3);
    assert_eq!(
        get(UidSelection::Uids(&[uid(5), uid(1), uid(5), uid(9)])),
        2
    );
}

/// Purging the expunge at `cut` makes the history before it incomplete: a client that last
/// synchronised at `start` must be told so rather than be given only the later expunge, while
/// one at `cut` or later still gets an exact answer.
#[test]
fn purged_tombstones_make_older_vanished_requests_pruned() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    append(&s, &a, 1);
    append(&s, &a, 2);
    let start = s.status(&a, SeenSource::Index).unwrap().highestmodseq;
    s.expunge(&a, Expunge::Uids(vec![uid(1)])).unwrap();
    let cut = s.status(&a, SeenSource::Index).unwrap().highestmodseq;
    s.expunge(&a, Expunge::Uids(vec![uid(2)])).unwrap();
    assert_eq!(s.purge_tombstones(&a, cut).unwrap(), 1);
    assert_eq!(s.vanished_since(&a, start).unwrap(), VanishedSince::Pruned);
    assert_eq!(
        s.vanished_since(&a, cut).unwrap(),
        VanishedSince::Exact(vec![uid(2)])
    );
    assert_eq!(
        s.purge_tombstones(&a, cut).unwrap(),
        0,
        "nothing left to purge"
    );
}

#[test]
fn empty_messages_are_refused_and_empty_appends_do_nothing() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    let err = s
        .append(&a, vec![AppendItem::bytes(Vec::new())])
        .unwrap_err();
    assert!(matches!(err, StoreError::BadMessage(_)));
    assert!(s.append(&a, Vec::new()).unwrap().uids.is_empty());
    assert_eq!(append(&s, &a, 1), uid(1));
}

/// An ACL change reaches the sessions that have the mailbox selected, so they check their
/// rights again, and the mailboxes database holds it.
#[test]
fn an_acl_change_is_published_and_kept() {
    let (_d, s) = store();
    let a = create(&s, "shared.board");
    let mut rx = s.subscribe_changes(&a).unwrap();
    let entry = s.set_acl(&a, "anyone\tlrs\t").unwrap();
    assert_eq!(entry.acl, "anyone\tlrs\t");
    assert_eq!(rx.try_recv().unwrap(), Change::AclChanged);
    assert_eq!(s.mailbox_entry(&a).unwrap().acl, "anyone\tlrs\t");
}
