//! Mailbox namespace through the public API: partitions, create/delete/rename, subscriptions,
//! quota roots, reopening, format versions. One temp dir per test.

mod common;

use common::*;
use mailstore::{CreateOptions, FlagChange, RecordFields, SeenSource, StoreError, UidSelection};
use types::Flag;

#[test]
fn child_inherits_parent_partition_and_news_is_refused() {
    let (_d, s) = store();
    let opts = CreateOptions {
        partition: Some("other".into()),
        ..CreateOptions::default()
    };
    s.create_mailbox(&name("shared"), opts).unwrap();
    let child = create(&s, "shared.lists.rust");
    assert_eq!(s.mailbox_entry(&child).unwrap().partition, "other");
    assert_eq!(
        s.mailbox_entry(&create(&s, "user.bob")).unwrap().partition,
        "default"
    );
    let news = CreateOptions {
        partition: Some("news".into()),
        ..CreateOptions::default()
    };
    let err = s.create_mailbox(&name("user.carol"), news).unwrap_err();
    assert!(matches!(err, StoreError::ReservedPartition(_)));
    let err = s.set_partition(&child, "news").unwrap_err();
    assert!(matches!(err, StoreError::ReservedPartition(_)));
    let err = s.set_partition(&child, "nowhere").unwrap_err();
    assert!(matches!(err, StoreError::NoSuchPartition(_)));
}

#[test]
fn set_partition_moves_the_files_and_keeps_the_messages() {
    let (d, s) = store();
    let inbox = create(&s, "user.alice");
    for i in 0..3 {
        append(&s, &inbox, i);
    }
    let entry = s.set_partition(&inbox, "other").unwrap();
    assert_eq!(entry.partition, "other");
    for i in 0..3 {
        assert_eq!(s.read_message(&inbox, uid(i as u32 + 1)).unwrap(), msg(i));
    }
    let path = s.message_file(&inbox, uid(1)).unwrap();
    assert!(path.starts_with(d.path().join("part/other")));
    assert_eq!(append(&s, &inbox, 9), uid(4));
    assert!(s.reconstruct(&inbox).unwrap().is_clean());
}

#[test]
fn rename_moves_the_whole_hierarchy_and_keeps_messages() {
    let (_d, s) = store();
    let a = create(&s, "user.alice.A");
    let b = create(&s, "user.alice.A.B");
    create(&s, "user.alice.AB");
    append(&s, &a, 1);
    append(&s, &b, 2);
    let uv = s.status(&b, SeenSource::Index).unwrap().uidvalidity;
    s.rename_mailbox(&a, &name("user.alice.X")).unwrap();
    let names: Vec<String> = s
        .list_mailboxes(Some(&name("user.alice")))
        .unwrap()
        .iter()
        .map(|e| e.name.to_string())
        .collect();
    assert_eq!(
        names,
        vec!["user.alice.AB", "user.alice.X", "user.alice.X.B"]
    );
    let xb = name("user.alice.X.B");
    assert_eq!(s.read_message(&xb, uid(1)).unwrap(), msg(2));
    assert_eq!(s.status(&xb, SeenSource::Index).unwrap().uidvalidity, uv);
    assert!(matches!(
        s.status(&b, SeenSource::Index),
        Err(StoreError::NoSuchMailbox(_))
    ));
}

#[test]
fn rename_to_another_owner_moves_the_index_rows() {
    let (_d, s) = store();
    let alice = create(&s, "user.alice");
    let sent = create(&s, "user.alice.Sent");
    append(&s, &alice, 1);
    append(&s, &sent, 2);
    s.store_flags(
        &sent,
        SeenSource::Index,
        &[uid(1)],
        FlagChange::Add(vec![Flag::Seen]),
        None,
    )
    .unwrap();
    s.rename_mailbox(&alice, &name("user.bob")).unwrap();
    let bob_sent = name("user.bob.Sent");
    assert_eq!(s.read_message(&bob_sent, uid(1)).unwrap(), msg(2));
    let recs = s
        .records(
            &bob_sent,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::BASIC,
        )
        .unwrap();
    assert_eq!(recs[0].flags, vec![Flag::Seen]);
    assert_eq!(append(&s, &name("user.bob"), 3), uid(2));
}

#[test]
fn rename_refuses_existing_targets_and_own_children() {
    let (_d, s) = store();
    let a = create(&s, "user.alice.A");
    create(&s, "user.alice.B");
    assert!(matches!(
        s.rename_mailbox(&a, &name("user.alice.B")),
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        s.rename_mailbox(&a, &name("user.alice.A.C")),
        Err(StoreError::InvalidRename(_))
    ));
    assert!(matches!(
        s.rename_mailbox(&name("user.x"), &name("user.y")),
        Err(StoreError::NoSuchMailbox(_))
    ));
}

#[test]
fn delete_removes_the_mailbox_and_its_files() {
    let (_d, s) = store();
    let a = create(&s, "user.alice.A");
    append(&s, &a, 1);
    let dir = s
        .message_file(&a, uid(1))
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    s.delete_mailbox(&a).unwrap();
    assert!(!dir.exists());
    assert!(matches!(
        s.mailbox_entry(&a),
        Err(StoreError::NoSuchMailbox(_))
    ));
    let again = create(&s, "user.alice.A");
    assert_eq!(append(&s, &again, 2), uid(1));
}

#[test]
fn recreated_mailbox_gets_a_new_uidvalidity() {
    let (_d, s) = store();
    let a = create(&s, "user.alice.A");
    let first = s.status(&a, SeenSource::Index).unwrap().uidvalidity;
    s.delete_mailbox(&a).unwrap();
    create(&s, "user.alice.A");
    assert!(s.status(&a, SeenSource::Index).unwrap().uidvalidity > first);
}

#[test]
fn subscriptions_are_sorted_and_per_user() {
    let (_d, s) = store();
    s.subscribe("alice", &name("user.alice.Z")).unwrap();
    s.subscribe("alice", &name("user.alice.A")).unwrap();
    s.subscribe("alice", &name("user.alice.A")).unwrap();
    s.subscribe("alicia", &name("shared")).unwrap();
    assert_eq!(
        s.subscriptions("alice").unwrap(),
        vec![name("user.alice.A"), name("user.alice.Z")]
    );
    s.unsubscribe("alice", &name("user.alice.A")).unwrap();
    s.unsubscribe("alice", &name("never")).unwrap();
    assert_eq!(
        s.subscriptions("alice").unwrap(),
        vec![name("user.alice.Z")]
    );
    assert_eq!(s.subscriptions("alicia").unwrap(), vec![name("shared")]);
}

#[test]
fn quota_usage_counts_each_copy_and_respects_deeper_roots() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    let b = create(&s, "user.alice.B");
    let deep = create(&s, "user.alice.Deep");
    s.set_quota_root(&a, Default::default()).unwrap();
    s.set_quota_root(&deep, Default::default()).unwrap();
    append(&s, &a, 1);
    s.copy(&a, &[uid(1)], &b).unwrap();
    append(&s, &deep, 2);
    let size = msg(1).len() as u64;
    let u = s.quota_usage(&a).unwrap();
    assert_eq!((u.messages, u.storage_bytes), (2, 2 * size));
    assert_eq!(s.quota_usage(&deep).unwrap().messages, 1);
    assert_eq!(s.quota_root_of(&b).unwrap(), Some(a.clone()));
    s.remove_quota_root(&deep).unwrap();
    assert_eq!(s.quota_usage(&a).unwrap().messages, 3);
    assert_eq!(s.quota_roots().unwrap().len(), 1);
}

#[test]
fn reopening_keeps_state_and_modseq() {
    let d = tempfile::tempdir().unwrap();
    let a = name("user.alice");
    let before = {
        let s = mailstore::Store::open(config(&d, mailstore::FsyncPolicy::Always)).unwrap();
        s.create_mailbox(&a, CreateOptions::default()).unwrap();
        append(&s, &a, 1);
        s.status(&a, SeenSource::Index).unwrap()
    };
    let s = mailstore::Store::open(config(&d, mailstore::FsyncPolicy::Always)).unwrap();
    assert_eq!(s.status(&a, SeenSource::Index).unwrap(), before);
    assert_eq!(append(&s, &a, 2), uid(2));
    assert!(s.status(&a, SeenSource::Index).unwrap().highestmodseq > before.highestmodseq);
}

#[test]
fn unknown_index_format_version_is_refused() {
    let d = tempfile::tempdir().unwrap();
    drop(mailstore::Store::open(config(&d, mailstore::FsyncPolicy::Never)).unwrap());
    let path = d.path().join("config/mailboxes.redb");
    let db = redb::Database::create(&path).unwrap();
    let t = db.begin_write().unwrap();
    let meta: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
    t.open_table(meta)
        .unwrap()
        .insert("format_version", 99u64.to_le_bytes().as_slice())
        .unwrap();
    t.commit().unwrap();
    drop(db);
    let err = mailstore::Store::open(config(&d, mailstore::FsyncPolicy::Never)).unwrap_err();
    assert!(
        matches!(err, StoreError::UnsupportedFormat { found: 99, .. }),
        "{err}"
    );
}

#[test]
fn rebuild_restores_mailboxes_missing_from_the_mailboxes_db() {
    let d = tempfile::tempdir().unwrap();
    {
        let s = mailstore::Store::open(config(&d, mailstore::FsyncPolicy::Never)).unwrap();
        let a = create(&s, "user.alice");
        let b = create(&s, "user.alice.B");
        append(&s, &a, 1);
        append(&s, &b, 2);
    }
    // Lose the mailboxes DB and alice's index entirely.
    std::fs::remove_file(d.path().join("config/mailboxes.redb")).unwrap();
    std::fs::remove_dir_all(d.path().join("config/index")).unwrap();
    let s = mailstore::Store::open(config(&d, mailstore::FsyncPolicy::Never)).unwrap();
    assert!(s.list_mailboxes(None).unwrap().is_empty());
    let report = s.rebuild_mailboxes_db().unwrap();
    assert_eq!(report.restored.len(), 2, "{report:?}");
    assert!(report.skipped.is_empty(), "{report:?}");
    assert_eq!(
        s.read_message(&name("user.alice.B"), uid(1)).unwrap(),
        msg(2)
    );
    assert_eq!(append(&s, &name("user.alice"), 3), uid(2));
    assert!(s.rebuild_mailboxes_db().unwrap().restored.is_empty());
}

#[test]
fn a_tiny_index_cache_still_serves_many_owners_at_once() {
    let d = tempfile::tempdir().unwrap();
    let mut c = config(&d, mailstore::FsyncPolicy::Never);
    c.open_index_limit = 1;
    let s = mailstore::Store::open(c).unwrap();
    let users: Vec<_> = (0..6).map(|i| create(&s, &format!("user.u{i}"))).collect();
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let (s, users) = (s.clone(), users.clone());
            std::thread::spawn(move || {
                for i in 0..20 {
                    append(&s, &users[(t + i) % users.len()], i);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let total: u32 = users
        .iter()
        .map(|u| s.status(u, SeenSource::Index).unwrap().exists)
        .sum();
    assert_eq!(total, 120);
}

#[test]
fn acl_and_special_use_copies_follow_updates() {
    let (_d, s) = store();
    let a = create(&s, "user.alice.Sent");
    let before = s.mailbox_entry(&a).unwrap();
    let e = s.set_acl(&a, "alice\tlrswipkxtecda").unwrap();
    assert_eq!(e.acl, "alice\tlrswipkxtecda");
    assert!(e.modified_modseq > before.modified_modseq);
    let e = s.set_special_use(&a, vec!["\\Sent".into()]).unwrap();
    assert_eq!(s.mailbox_entry(&a).unwrap(), e);
    assert_eq!(e.acl, "alice\tlrswipkxtecda");
    let dir = s.list_mailboxes(Some(&a)).unwrap()[0].uniqueid.clone();
    assert_eq!(dir, e.uniqueid);
}

#[test]
fn status_lists_the_keyword_table() {
    let (_d, s) = store();
    let a = create(&s, "user.alice");
    append(&s, &a, 1);
    let kw = |k: &str| Flag::Keyword(k.into());
    s.store_flags(
        &a,
        SeenSource::Index,
        &[uid(1)],
        FlagChange::Add(vec![kw("$Junk"), kw("work")]),
        None,
    )
    .unwrap();
    s.store_flags(
        &a,
        SeenSource::Index,
        &[uid(1)],
        FlagChange::Add(vec![kw("$junk")]),
        None,
    )
    .unwrap();
    assert_eq!(
        s.status(&a, SeenSource::Index).unwrap().keywords,
        vec!["$Junk", "work"]
    );
    let recs = s
        .records(
            &a,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::BASIC,
        )
        .unwrap();
    assert_eq!(recs[0].flags, vec![kw("$Junk"), kw("work")]);
}

#[test]
fn a_second_store_on_the_same_files_is_refused_as_in_use() {
    let d = tempfile::tempdir().unwrap();
    let first = mailstore::Store::open(config(&d, mailstore::FsyncPolicy::Never)).unwrap();
    let err = mailstore::Store::open(config(&d, mailstore::FsyncPolicy::Never)).unwrap_err();
    assert!(matches!(err, StoreError::InUse(_)), "{err}");
    drop(first);
    assert!(mailstore::Store::open(config(&d, mailstore::FsyncPolicy::Never)).is_ok());
}

/// A user's mailboxes are `user.NAME` and what is below it, never another user whose name
/// starts the same (`user.bob2`, `user.bob-x`).
#[test]
fn listing_a_users_hierarchy_stops_at_its_own_names() {
    let (_d, s) = store();
    for n in [
        "user.bob",
        "user.bob.a",
        "user.bob-x",
        "user.bob2",
        "user.bob2.a",
        "user.bobby.b",
    ] {
        create(&s, n);
    }
    let names: Vec<String> = s
        .list_mailboxes(Some(&name("user.bob")))
        .unwrap()
        .into_iter()
        .map(|e| e.name.to_string())
        .collect();
    assert_eq!(names, ["user.bob", "user.bob.a"]);
}
