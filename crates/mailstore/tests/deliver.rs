//! Delivery of one message to many mailboxes (LMTP's single-instance store).
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::MetadataExt;

use common::*;
use mailstore::{AppendItem, CreateOptions, Delivered, SeenSource, StoreError};

fn stored_uids(r: &Result<Delivered, StoreError>) -> Vec<types::Uid> {
    match r {
        Ok(Delivered::Stored(o)) => o.uids.clone(),
        other => panic!("{other:?}"),
    }
}

fn inode(s: &mailstore::Store, n: &types::MailboxName, u: u32) -> u64 {
    std::fs::metadata(s.message_file(n, uid(u)).unwrap())
        .unwrap()
        .ino()
}

#[test]
fn one_file_per_partition_shared_by_every_recipient_on_it() {
    let (_d, s) = store();
    let alice = create(&s, "user.alice");
    let bob = create(&s, "user.bob");
    append(&s, &bob, 1);
    let carol = name("user.carol");
    s.create_mailbox(
        &carol,
        CreateOptions {
            partition: Some("other".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let dave = create(&s, "user.dave");
    let missing = name("user.nobody");
    let out = s
        .deliver(
            &[
                alice.clone(),
                missing,
                bob.clone(),
                carol.clone(),
                dave.clone(),
            ],
            AppendItem::bytes(msg(9)),
            None,
        )
        .unwrap();
    assert_eq!(out.len(), 5);
    assert_eq!(stored_uids(&out[0]), vec![uid(1)]);
    assert!(matches!(out[1], Err(StoreError::NoSuchMailbox(_))));
    assert_eq!(stored_uids(&out[2]), vec![uid(2)], "after bob's own");
    assert_eq!(stored_uids(&out[3]), vec![uid(1)]);
    assert_eq!(stored_uids(&out[4]), vec![uid(1)]);
    // alice, bob and dave share one file; carol, on another partition, has her own copy.
    assert_eq!(inode(&s, &alice, 1), inode(&s, &bob, 2));
    assert_eq!(inode(&s, &alice, 1), inode(&s, &dave, 1));
    assert_ne!(inode(&s, &alice, 1), inode(&s, &carol, 1));
    for (n, u, unseen) in [(&alice, 1, 1), (&bob, 2, 2), (&carol, 1, 1), (&dave, 1, 1)] {
        assert_eq!(s.read_message(n, uid(u)).unwrap(), msg(9));
        assert_eq!(s.status(n, SeenSource::Index).unwrap().unseen, unseen);
    }
    let size = msg(9).len() as u64;
    assert_eq!(s.status(&alice, SeenSource::Index).unwrap().size, size);
    assert_eq!(
        s.status(&bob, SeenSource::Index).unwrap().size,
        size + msg(1).len() as u64
    );
}

#[test]
fn a_bad_message_fails_once_for_all_recipients() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&dir, mailstore::FsyncPolicy::Never);
    c.max_message_size = Some(10);
    let s = mailstore::Store::open(c).unwrap();
    let a = create(&s, "user.a");
    let b = create(&s, "user.b");
    let err = s
        .deliver(
            &[name("user.none"), a.clone(), b],
            AppendItem::bytes(msg(1)),
            None,
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::TooBig { limit: 10 }), "{err}");
    let err = s
        .deliver(
            std::slice::from_ref(&a),
            AppendItem::bytes(b"A: b\r\n\r\nx\0y".to_vec()),
            None,
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::BadMessage(_)), "{err}");
    assert_eq!(s.status(&a, SeenSource::Index).unwrap().exists, 0);
}

#[test]
fn no_spool_files_are_left_behind() {
    let (d, s) = store();
    let a = create(&s, "user.a");
    s.deliver(&[a.clone(), a.clone()], AppendItem::bytes(msg(2)), None)
        .unwrap();
    assert_eq!(s.status(&a, SeenSource::Index).unwrap().exists, 2);
    let tmp = d.path().join("part").join("default");
    let leftovers: Vec<_> = walk(&tmp)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_message_id_seen_in_a_mailbox_is_not_stored_there_again() {
    let (_d, s) = store();
    let a = create(&s, "user.a");
    let b = create(&s, "user.b");
    let id = "<dup@example.org>";
    let first = s
        .deliver(
            std::slice::from_ref(&a),
            AppendItem::bytes(msg(1)),
            Some(id),
        )
        .unwrap();
    assert!(matches!(first[0], Ok(Delivered::Stored(_))));
    let second = s
        .deliver(&[a.clone(), b.clone()], AppendItem::bytes(msg(1)), Some(id))
        .unwrap();
    assert!(matches!(second[0], Ok(Delivered::Duplicate)), "{second:?}");
    assert!(
        matches!(second[1], Ok(Delivered::Stored(_))),
        "b had not seen it"
    );
    let third = s
        .deliver(
            std::slice::from_ref(&b),
            AppendItem::bytes(msg(1)),
            Some(id),
        )
        .unwrap();
    assert!(matches!(third[0], Ok(Delivered::Duplicate)));
    // Without a Message-ID (or with suppression off) every delivery is stored.
    s.deliver(std::slice::from_ref(&a), AppendItem::bytes(msg(1)), None)
        .unwrap();
    assert_eq!(s.status(&a, SeenSource::Index).unwrap().exists, 2);
    assert_eq!(s.status(&b, SeenSource::Index).unwrap().exists, 1);
}

#[test]
fn sieve_tracking_through_the_store_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let now = 1_900_000_000;
    {
        let s = mailstore::Store::open(config(&dir, mailstore::FsyncPolicy::Always)).unwrap();
        assert!(!s.sieve_tracked("vacation-key", now).unwrap());
        s.sieve_track("vacation-key", now + 86_400).unwrap();
        assert!(s.sieve_tracked("vacation-key", now).unwrap());
        assert!(!s.sieve_tracked("vacation-key", now + 86_400).unwrap());
        let long = "k".repeat(mailstore::MAX_SIEVE_KEY + 1);
        assert!(matches!(
            s.sieve_track(&long, now),
            Err(StoreError::InvalidName(_))
        ));
    }
    let s = mailstore::Store::open(config(&dir, mailstore::FsyncPolicy::Always)).unwrap();
    assert!(s.sieve_tracked("vacation-key", now + 3600).unwrap());
}
