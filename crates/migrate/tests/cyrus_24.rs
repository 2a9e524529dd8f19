//! The import driver on a Cyrus 2.4-style store built here (no Cyrus needed): a flat mailboxes
//! database with `mbtype partition acl` entries, the named directory layout with
//! `hashimapspool`, 2.4's three-line `cyrus.header`, minor-version-12 indexes, a legacy seen
//! file, subscriptions, a quotalegacy root and a `.script` Sieve directory — plus one mailbox
//! whose index is garbage (its files come in as new messages) and one whose directory is gone
//! (skipped with a line, the rest imported).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use mailstore::{
    FsyncPolicy, QuotaLimits, RecordFields, SeenSource, Store, StoreConfig, UidSelection,
};
use migrate::cyrus::{import, Event, ImportMode, ImportOptions};
use types::{Flag, MailboxName};

const HEADER_MAGIC: &[u8] = migrate::cyrus::header::MAGIC;

fn name(s: &str) -> MailboxName {
    MailboxName::try_from(s).unwrap()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A minor-version-12 index: (uid, internaldate, system flags, user flag word 0, modseq).
fn index_v12(last_uid: u32, uidvalidity: u32, records: &[(u32, u32, u32, u32, u64)]) -> Vec<u8> {
    let mut b = vec![0u8; 128];
    b[8..12].copy_from_slice(&12u32.to_be_bytes());
    b[12..16].copy_from_slice(&128u32.to_be_bytes());
    b[16..20].copy_from_slice(&96u32.to_be_bytes());
    b[20..24].copy_from_slice(&(records.len() as u32).to_be_bytes());
    b[28..32].copy_from_slice(&last_uid.to_be_bytes());
    b[44..48].copy_from_slice(&uidvalidity.to_be_bytes());
    let top = records.iter().map(|r| r.4).max().unwrap_or(1);
    b[68..76].copy_from_slice(&top.to_be_bytes());
    for &(uid, date, sys, user, modseq) in records {
        let mut r = vec![0u8; 96];
        r[0..4].copy_from_slice(&uid.to_be_bytes());
        r[4..8].copy_from_slice(&date.to_be_bytes());
        r[32..36].copy_from_slice(&sys.to_be_bytes());
        r[36..40].copy_from_slice(&user.to_be_bytes());
        r[80..88].copy_from_slice(&modseq.to_be_bytes());
        b.extend_from_slice(&r);
    }
    b
}

fn header_24(uniqueid: &str, flags: &str, acl: &str) -> Vec<u8> {
    let mut h = HEADER_MAGIC.to_vec();
    h.extend_from_slice(format!("user.fred\t{uniqueid}\n{flags}\n{acl}\n").as_bytes());
    h
}

fn message(n: u32) -> Vec<u8> {
    format!("Subject: m{n}\r\nFrom: a@example.org\r\n\r\nbody {n}\r\n").into_bytes()
}

/// The Cyrus tree under `root`; answers its imapd.conf.
fn cyrus_24(root: &Path) -> std::path::PathBuf {
    let conf = root.join("imapd.conf");
    write(
        &conf,
        format!(
            "configdirectory: {r}/lib\npartition-default: {r}/spool\nsievedir: {r}/sieve\n\
             hashimapspool: true\n",
            r = root.display()
        )
        .as_bytes(),
    );
    write(
        &root.join("lib/mailboxes.db"),
        b"user.fred\t0 default fred\tlrswipkxtecda\t\n\
user.fred.Broken\t0 default fred\tlrswipkxtecda\t\n\
user.fred.Gone\t0 default fred\tlrswipkxtecda\t\n\
user.fred.Sent\t0 default fred\tlrswipkxtecda\tbob\tlrs\t\n\
user.fred.Old\t16 default fred\tlrswipkxtecda\t\n",
    );
    let spool = root.join("spool/f/user/fred");
    write(
        &spool.join("cyrus.header"),
        &header_24(
            "inbox0000fred",
            "$Forwarded Project",
            "fred\tlrswipkxtecda\t",
        ),
    );
    // UID 2 expunged in Cyrus; UIDs up to 9 given.
    let records = [
        (1, 1_000_000_001, 0x10, 0b10, 5),
        (3, 1_000_000_003, 0x03, 0b01, 7),
    ];
    write(&spool.join("cyrus.index"), &index_v12(9, 424242, &records));
    write(&spool.join("1."), &message(1));
    write(&spool.join("3."), &message(3));
    let sent = spool.join("Sent");
    write(
        &sent.join("cyrus.header"),
        &header_24("sent0000fred", "", "fred\tlrswipkxtecda\tbob\tlrs\t"),
    );
    write(
        &sent.join("cyrus.index"),
        &index_v12(
            2,
            515151,
            &[(1, 1_100_000_000, 0, 0, 3), (2, 1_100_000_001, 0, 0, 4)],
        ),
    );
    write(&sent.join("1."), &message(11));
    write(&sent.join("2."), &message(12));
    let broken = spool.join("Broken");
    write(
        &broken.join("cyrus.header"),
        &header_24("broken00fred", "", ""),
    );
    write(&broken.join("cyrus.index"), b"garbage");
    write(&broken.join("4."), &message(4));
    write(&broken.join("7."), &message(7));
    write(
        &root.join("lib/user/b/bob.seen"),
        b"sent0000fred\t1 1 2 1 2\n",
    );
    write(&root.join("lib/user/f/fred.sub"), b"user.fred.Sent\t\n");
    write(&root.join("lib/quota/f/user.fred"), b"1234\n2048\n");
    let sieve = root.join("sieve/f/fred");
    write(&sieve.join("main.script"), b"keep;\n");
    write(&sieve.join("spare.script"), b"discard;\n");
    write(&sieve.join("main.bc"), b"bytecode");
    std::os::unix::fs::symlink("main.bc", sieve.join("defaultbc")).unwrap();
    conf
}

fn store(dir: &Path) -> Store {
    let mut partitions = BTreeMap::new();
    partitions.insert("default".to_string(), dir.join("part"));
    let mut c = StoreConfig::new(dir.join("config"), partitions, "default");
    c.fsync = FsyncPolicy::Never;
    Store::open(c).unwrap()
}

#[test]
fn a_cyrus_2_4_store_is_imported_and_one_bad_mailbox_does_not_stop_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = cyrus_24(&dir.path().join("cyrus"));
    let s = store(dir.path());
    // An INBOX that never held a message (as `user add` makes) is taken over, ACL included.
    let options = mailstore::CreateOptions {
        acl: "fred\tlr\t".into(),
        ..mailstore::CreateOptions::default()
    };
    s.create_mailbox(&name("user.fred"), options).unwrap();
    let mut notes = Vec::new();
    let summary = import(&conf, &s, &ImportOptions::default(), &mut |e| {
        if let Event::Note(n) = e {
            notes.push(n);
        }
    })
    .unwrap();
    assert_eq!(summary.mailboxes, 3, "{notes:?}");
    assert_eq!(summary.messages, 6);
    assert_eq!(summary.problems, 1);
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("user.fred.Gone: skipped")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with("user.fred.Broken: ")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("user.fred.Old: type")),
        "{notes:?}"
    );

    let inbox = name("user.fred");
    let st = s.status(&inbox, SeenSource::Index).unwrap();
    assert_eq!((st.uidvalidity.get(), st.uidnext.get()), (424242, 10));
    assert_eq!(
        s.mailbox_entry(&inbox).unwrap().acl,
        "fred\tlrswipkxtecda\t"
    );
    let recs = s
        .records(
            &inbox,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::BASIC,
        )
        .unwrap();
    assert_eq!(recs.iter().map(|r| r.uid.get()).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(recs[0].flags, [Flag::Seen, Flag::Keyword("Project".into())]);
    assert_eq!(
        recs[1].flags,
        [
            Flag::Answered,
            Flag::Flagged,
            Flag::Keyword("$Forwarded".into())
        ]
    );
    assert_eq!(recs[1].internal_date.unix_seconds, 1_000_000_003);
    assert_eq!(recs[1].modseq.get(), 7);
    assert_eq!(
        s.read_message(&inbox, types::Uid::new(3).unwrap()).unwrap(),
        message(3)
    );

    let sent = name("user.fred.Sent");
    assert_eq!(
        s.mailbox_entry(&sent).unwrap().acl,
        "fred\tlrswipkxtecda\tbob\tlrs\t"
    );
    let bob = s.status(&sent, SeenSource::PrivateTo("bob")).unwrap();
    assert_eq!(bob.unseen, 1, "bob has seen UID 2 only");

    let broken = name("user.fred.Broken");
    let recs = s
        .records(
            &broken,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::BASIC,
        )
        .unwrap();
    assert_eq!(recs.iter().map(|r| r.uid.get()).collect::<Vec<_>>(), [4, 7]);
    assert!(recs.iter().all(|r| r.flags.is_empty()));

    assert_eq!(s.subscriptions("fred").unwrap(), [sent]);
    assert_eq!(
        s.quota_roots().unwrap(),
        [(
            inbox,
            QuotaLimits {
                storage_kib: Some(2048),
                messages: None
            }
        )]
    );
    assert_eq!(summary.sieve_scripts, 2);
    assert_eq!(s.active_sieve_script("fred").unwrap().unwrap().0, "main");

    // Everything is there now: a second import refuses before writing.
    let again = import(&conf, &s, &ImportOptions::default(), &mut |_| {});
    assert!(matches!(again, Err(migrate::cyrus::CyrusError::Refused(_))));
}

#[test]
fn a_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let conf = cyrus_24(&dir.path().join("cyrus"));
    let s = store(dir.path());
    let options = ImportOptions {
        mode: ImportMode::DryRun,
        ..ImportOptions::default()
    };
    let summary = import(&conf, &s, &options, &mut |_| {}).unwrap();
    assert_eq!((summary.mailboxes, summary.messages), (3, 6));
    assert!(s.list_mailboxes(None).unwrap().is_empty());
    assert!(s.quota_roots().unwrap().is_empty());
}

#[test]
fn virtual_domains_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cyrus");
    let conf = cyrus_24(&root);
    write(
        &root.join("lib/mailboxes.db"),
        b"example.com!user.fred\t0 default fred\tlrs\t\nuser.fred\t0 default fred\tlrs\t\n",
    );
    let s = store(dir.path());
    let e = import(&conf, &s, &ImportOptions::default(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("virtual domain"), "{e}");
    assert!(s.list_mailboxes(None).unwrap().is_empty());
}

#[test]
fn a_mailbox_of_several_batches_keeps_every_uid_and_reports_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cyrus");
    let conf = cyrus_24(&root);
    write(
        &root.join("lib/mailboxes.db"),
        b"user.fred\t0 default fred\tlrswipkxtecda\t\n",
    );
    let spool = root.join("spool/f/user/fred");
    // Odd UIDs 1..=8999: 4500 messages, three batches; UID 4001's file is gone.
    let records: Vec<_> = (0..4500u32)
        .map(|i| (2 * i + 1, 1_000_000_000 + i, 0, 0, u64::from(i) + 1))
        .collect();
    write(&spool.join("cyrus.index"), &index_v12(9000, 99, &records));
    for &(uid, ..) in &records {
        if uid != 4001 {
            std::fs::write(spool.join(format!("{uid}.")), message(uid)).unwrap();
        }
    }
    let s = store(dir.path());
    let mut notes = Vec::new();
    let summary = import(&conf, &s, &ImportOptions::default(), &mut |e| {
        if let Event::Note(n) = e {
            notes.push(n);
        }
    })
    .unwrap();
    assert_eq!(summary.messages, 4499);
    assert!(
        notes.iter().any(|n| n.contains("1 of 4500 message files")),
        "{notes:?}"
    );
    let inbox = name("user.fred");
    let st = s.status(&inbox, SeenSource::Index).unwrap();
    assert_eq!((st.exists, st.uidnext.get()), (4499, 9001));
    let recs = s
        .records(
            &inbox,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::BASIC,
        )
        .unwrap();
    assert!(recs
        .iter()
        .all(|r| r.uid.get() % 2 == 1 && r.uid.get() != 4001));
    assert_eq!(recs.last().unwrap().modseq.get(), 4500);
}

#[test]
fn a_ctl_mboxlist_dump_stands_in_for_the_mailboxes_database() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cyrus");
    let conf = cyrus_24(&root);
    // The configured database is gone; a 2.4 dump (one entry) is given instead.
    std::fs::remove_file(root.join("lib/mailboxes.db")).unwrap();
    let dump = dir.path().join("mailboxes.dump");
    write(&dump, b"user.fred.Sent\t0 default fred\tlrswipkxtecda\t\n");
    let s = store(dir.path());
    let options = ImportOptions {
        mailboxes_db: Some(dump),
        ..ImportOptions::default()
    };
    let summary = import(&conf, &s, &options, &mut |_| {}).unwrap();
    assert_eq!((summary.mailboxes, summary.messages), (1, 2));
    assert_eq!(s.list_mailboxes(None).unwrap().len(), 1);
}
