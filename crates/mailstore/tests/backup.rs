//! Backup and restore of mailboxes: a backup taken while another thread appends opens as a
//! store of its own with every mailbox, UID, flag and MODSEQ, and reconstruct finds nothing to
//! repair in it (with `fsync: never`, so everything before the backup was a non-durable
//! commit); a mailbox restored from it gets its UID state back; a backup never overwrites.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use mailstore::{
    BackupTarget, DeletedFlag, Expunge, FlagChange, FsyncPolicy, MessageRecord, ReconstructOptions,
    RecordFields, RepairMode, SeenSource, Store, StoreError, UidSelection, Unexpunge,
    UnlistedFiles,
};
use types::{Flag, MailboxName};

fn target(dir: &std::path::Path) -> BackupTarget {
    let mut partitions = std::collections::BTreeMap::new();
    for p in ["default", "other", "news"] {
        partitions.insert(p.to_string(), dir.join("part").join(p));
    }
    BackupTarget {
        config_directory: dir.join("config"),
        partitions,
        sieve_directory: dir.join("sieve"),
    }
}

fn records(s: &Store, n: &MailboxName) -> Vec<MessageRecord> {
    s.records(n, SeenSource::Index, UidSelection::All, RecordFields::BASIC)
        .unwrap()
}

#[test]
fn a_backup_taken_during_appends_is_a_store_that_needs_no_repair() {
    let (_dir, s) = store();
    let a = create(&s, "user.a");
    let sub = create(&s, "user.a.Sub");
    let b = create(&s, "user.b");
    for i in 0..5 {
        append(&s, &a, i);
        append(&s, &sub, i);
    }
    s.store_flags(
        &a,
        SeenSource::Index,
        &[uid(2)],
        FlagChange::Add(vec![Flag::Flagged, Flag::Keyword("$Work".into())]),
        None,
    )
    .unwrap();
    // Kept by delayed expunge (the default): its record and its `UID.expunged` file.
    s.expunge(&a, Expunge::Uids(vec![uid(5)])).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (s, b, stop) = (s.clone(), b.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) || i < 20 {
                append(&s, &b, i);
                i += 1;
            }
        })
    };
    let out = tempfile::tempdir().unwrap();
    let report = s.backup_to(&target(out.path()), &|_, _, _| {}).unwrap();
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert_eq!(report.mailboxes, 3);
    assert!(report.linked >= 10, "{report:?}");

    let mut config = config_at(out.path(), FsyncPolicy::Never);
    config.sieve_directory = out.path().join("sieve");
    let backup = Store::open(config).unwrap();
    for n in [&a, &sub] {
        assert_eq!(records(&backup, n), records(&s, n), "{n}");
        let (live, copy) = (
            s.status(n, SeenSource::Index).unwrap(),
            backup.status(n, SeenSource::Index).unwrap(),
        );
        assert_eq!(copy, live, "{n}");
    }
    let kept = |st: &Store, n: &MailboxName| -> Vec<(u32, i64, u64)> {
        st.expunged(n)
            .unwrap()
            .iter()
            .map(|m| (m.uid.get(), m.expunged_at, m.size))
            .collect()
    };
    assert_eq!(kept(&backup, &a).len(), 1);
    assert_eq!(kept(&backup, &a), kept(&s, &a));
    let copied = uids_of(&backup, &b);
    let live = uids_of(&s, &b);
    assert_eq!(copied[..], live[..copied.len()], "a prefix of the appends");
    assert!(backup.check_mailboxes_db().unwrap().is_empty());
    for n in [&a, &sub, &b] {
        let options = ReconstructOptions {
            unlisted: UnlistedFiles::Report,
            mode: RepairMode::DryRun,
        };
        let found = backup.reconstruct_with(n, options).unwrap();
        assert!(found.is_clean(), "{n}: {found:?}");
    }

    // Restored into the live store after a delete: the same UID state and messages.
    let before = (
        records(&s, &sub),
        s.status(&sub, SeenSource::Index).unwrap(),
    );
    s.delete_mailbox(&sub).unwrap();
    let restored = s.restore_mailbox_from(&backup, &sub, &sub).unwrap();
    assert_eq!(restored.messages, 5);
    assert_eq!(
        (
            records(&s, &sub),
            s.status(&sub, SeenSource::Index).unwrap()
        ),
        before
    );
    assert!(matches!(
        s.restore_mailbox_from(&backup, &sub, &sub),
        Err(StoreError::AlreadyExists(_))
    ));

    // Under another name, kept expunged messages included (unexpunge finds their files).
    let c = name("user.c");
    let restored = s.restore_mailbox_from(&backup, &a, &c).unwrap();
    assert_eq!((restored.messages, restored.kept), (4, 1));
    assert_eq!(kept(&s, &c), kept(&s, &a));
    assert_eq!(records(&s, &c), records(&s, &a));
    let back = s.unexpunge(&c, Unexpunge::All, DeletedFlag::Keep).unwrap();
    assert_eq!(back.restored.len(), 1, "{back:?}");
}

#[test]
fn a_backup_never_overwrites_what_its_destination_holds() {
    let (_dir, s) = store();
    let a = create(&s, "user.a");
    append(&s, &a, 1);
    let out = tempfile::tempdir().unwrap();
    let t = target(out.path());
    std::fs::create_dir_all(&t.config_directory).unwrap();
    let db = t.config_directory.join(mailstore::MAILBOXES_DB_FILE);
    std::fs::write(&db, b"keep me").unwrap();
    assert!(matches!(
        s.backup_to(&t, &|_, _, _| {}),
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(std::fs::read(&db).unwrap(), b"keep me");
}
