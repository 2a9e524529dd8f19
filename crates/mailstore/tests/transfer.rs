//! A mailbox moving between Murder servers (XFER) at store level: the target's incoming copy
//! replaces the remote entry of its directory copy and keeps the UID state it comes with; the
//! source hands its mailbox over, its entry replaced by the remote one in the same commit.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mailstore::{
    AppendItem, AppendSource, Change, CreateOptions, DirectoryChange, ImportedMailbox,
    ImportedMessage, InternalDate, MailboxEntry, MailboxType, SeenSource, StoreError,
    VanishedSince,
};
use types::{ModSeq, UidValidity};

fn remote(n: &str, server: &str) -> MailboxEntry {
    MailboxEntry {
        name: name(n),
        uniqueid: format!("u-{n}"),
        partition: format!("{server}!default"),
        acl: "ann\tlrswipkxtecda\t".into(),
        mailbox_type: MailboxType::Remote,
        special_use: Vec::new(),
        created_modseq: 0,
        modified_modseq: 0,
    }
}

fn incoming(partition: Option<&str>) -> ImportedMailbox {
    ImportedMailbox {
        uidvalidity: UidValidity::new(777).unwrap(),
        uidnext: 1,
        highestmodseq: 500,
        options: CreateOptions {
            partition: partition.map(String::from),
            acl: "ann\tlrswipkxtecda\t".into(),
            ..CreateOptions::default()
        },
    }
}

#[test]
fn an_incoming_copy_replaces_the_remote_entry_and_keeps_its_uid_state() {
    let (_d, s) = store();
    s.apply_directory(
        &[
            DirectoryChange::Put(remote("user.ann", "b1")),
            DirectoryChange::Put(remote("user.ann.Sent", "b1")),
        ],
        Some(4),
    )
    .unwrap();
    let inbox = name("user.ann");
    let entry = s
        .create_incoming_mailbox(&inbox, incoming(Some("other")))
        .unwrap();
    assert_eq!(entry.partition, "other");
    assert!(s.holds_locally(&inbox).unwrap());
    // Below a local parent, the parent's partition; never a remote parent's SERVER!PARTITION.
    let sent = name("user.ann.Sent");
    assert_eq!(
        s.create_incoming_mailbox(&sent, incoming(None))
            .unwrap()
            .partition,
        "other"
    );
    let st = s.status(&inbox, SeenSource::Index).unwrap();
    assert_eq!(
        (st.uidvalidity.get(), st.highestmodseq.get(), st.exists),
        (777, 500, 0)
    );
    // What was expunged there before is not known here.
    assert_eq!(
        s.vanished_since(&inbox, ModSeq::new(100).unwrap()).unwrap(),
        VanishedSince::Pruned
    );
    assert_eq!(
        s.vanished_since(&inbox, ModSeq::new(500).unwrap()).unwrap(),
        VanishedSince::Exact(Vec::new())
    );
    s.import_messages(
        &inbox,
        vec![ImportedMessage {
            source: AppendSource::Bytes(msg(1)),
            uid: uid(7),
            flags: Vec::new(),
            internal_date: InternalDate {
                unix_seconds: 1_000_000_000,
                offset_minutes: 0,
            },
            modseq: None,
            save_date: None,
        }],
    )
    .unwrap();
    s.raise_uidnext(&inbox, 12).unwrap();
    let st = s.status(&inbox, SeenSource::Index).unwrap();
    assert_eq!((st.uidnext.get(), st.exists), (12, 1));
    assert_eq!(s.recent_count(&inbox, SeenSource::Index).unwrap(), 0);
    // A second copy of a name held here is refused.
    assert!(matches!(
        s.create_incoming_mailbox(&inbox, incoming(None)),
        Err(StoreError::AlreadyExists(_))
    ));
}

#[test]
fn a_handed_over_mailbox_becomes_the_remote_entry_in_one_step() {
    let (_d, s) = store();
    let n = name("user.bob");
    s.create_mailbox(&n, CreateOptions::default()).unwrap();
    s.append(&n, vec![AppendItem::bytes(msg(1))]).unwrap();
    let file = s.message_file(&n, uid(1)).unwrap();
    let mut changes = s.subscribe_changes(&n).unwrap();
    // Only a remote entry naming a server may take its place.
    let mut wrong = remote("user.bob", "b2");
    wrong.partition = "default".into();
    assert!(s.hand_over_mailbox(&n, wrong).is_err());
    assert!(s.holds_locally(&n).unwrap());

    s.hand_over_mailbox(&n, remote("user.bob", "b2")).unwrap();
    assert!(!s.holds_locally(&n).unwrap());
    assert_eq!(
        s.mailbox_entry(&n).unwrap().remote_server(),
        Some("b2"),
        "the name never went missing"
    );
    assert!(matches!(
        s.status(&n, SeenSource::Index),
        Err(StoreError::Remote { .. })
    ));
    assert!(!file.exists(), "the message files are gone");
    assert_eq!(changes.try_recv().unwrap(), Change::Deleted);
}

#[test]
fn a_copy_cut_short_before_its_commit_leaves_a_directory_found_by_its_uniqueid() {
    let (d, s) = store();
    let inbox = name("user.ann");
    let id = mailstore::Store::new_mailbox_uniqueid(&inbox);
    // What a crash between the directory and the commit leaves: the directory alone.
    let dir = d
        .path()
        .join("part/other")
        .join(&id[0..2])
        .join(&id[2..4])
        .join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cyrus.header"), b"user.ann").unwrap();
    assert!(s.remove_uncommitted_mailbox_dir(&inbox, &id).unwrap());
    assert!(!dir.exists());
    assert!(!s.remove_uncommitted_mailbox_dir(&inbox, &id).unwrap());
    // A mailbox held here is never touched, whatever uniqueid is named.
    let entry = s
        .create_incoming_mailbox_as(&inbox, incoming(None), &id)
        .unwrap();
    assert_eq!(entry.uniqueid, id);
    assert!(!s.remove_uncommitted_mailbox_dir(&inbox, &id).unwrap());
    assert!(s.holds_locally(&inbox).unwrap());
    let dir = d
        .path()
        .join("part/default")
        .join(&id[0..2])
        .join(&id[2..4])
        .join(&id);
    assert!(dir.join("cyrus.header").exists());
}
