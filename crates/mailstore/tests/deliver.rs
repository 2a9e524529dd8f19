//! Delivery of one message to many mailboxes (LMTP's single-instance store).

mod common;

use std::os::unix::fs::MetadataExt;

use common::*;
use mailstore::{AppendItem, CreateOptions, SeenSource, StoreError};

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
        )
        .unwrap();
    assert_eq!(out.len(), 5);
    assert_eq!(out[0].as_ref().unwrap().uids, vec![uid(1)]);
    assert!(matches!(out[1], Err(StoreError::NoSuchMailbox(_))));
    assert_eq!(
        out[2].as_ref().unwrap().uids,
        vec![uid(2)],
        "after bob's own"
    );
    assert_eq!(out[3].as_ref().unwrap().uids, vec![uid(1)]);
    assert_eq!(out[4].as_ref().unwrap().uids, vec![uid(1)]);
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
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::TooBig { limit: 10 }), "{err}");
    let err = s
        .deliver(
            &[a.clone()],
            AppendItem::bytes(b"A: b\r\n\r\nx\0y".to_vec()),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::BadMessage(_)), "{err}");
    assert_eq!(s.status(&a, SeenSource::Index).unwrap().exists, 0);
}

#[test]
fn no_spool_files_are_left_behind() {
    let (d, s) = store();
    let a = create(&s, "user.a");
    s.deliver(&[a.clone(), a.clone()], AppendItem::bytes(msg(2)))
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
