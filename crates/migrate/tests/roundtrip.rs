//! Reading Dovecot's Maildir and UW/Dovecot mbox into a store, and the round trips: a store
//! exported to Maildir (or mbox) and imported into a fresh store gives the same UIDs,
//! UIDVALIDITY, UIDNEXT, flags, keywords, dates, bytes and subscriptions.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use mailstore::{RecordFields, SeenSource, Store, StoreConfig, UidSelection};
use migrate::feed::{Event, Summary};
use migrate::mbox::Quoting;
use tempfile::TempDir;
use types::{Flag, MailboxName};

fn store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut partitions = BTreeMap::new();
    partitions.insert("default".to_string(), dir.path().join("part"));
    let mut c = StoreConfig::new(dir.path().join("config"), partitions, "default");
    c.fsync = mailstore::FsyncPolicy::Never;
    let s = Store::open(c).unwrap();
    (dir, s)
}

fn name(s: &str) -> MailboxName {
    MailboxName::try_from(s).unwrap()
}

fn quiet(warnings: &mut Vec<String>) -> impl FnMut(Event<'_>) + '_ {
    move |e| {
        if let Event::Warning(w) = e {
            warnings.push(w);
        }
    }
}

/// Writes a message file with its mtime.
fn message(path: &Path, text: &str, mtime: u64) {
    fs::write(path, text).unwrap();
    let f = fs::File::options().write(true).open(path).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::from_secs(mtime))
        .unwrap();
}

/// A Maildir++ tree as Dovecot leaves it: INBOX with a UID gap, a keyword, a file in new/
/// Dovecot has not numbered yet; `.Sent`; `.Work.Caf&AOk-` (modified UTF-7); subscriptions.
fn dovecot_maildir(root: &Path) {
    for d in [
        "cur",
        "new",
        "tmp",
        ".Sent/cur",
        ".Sent/new",
        ".Work.Caf&AOk-/cur",
        ".Work.Caf&AOk-/new",
    ] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(
        root.join("dovecot-uidlist"),
        "3 V1234 N8 G0123456789abcdef0123456789abcdef\n\
         2 :1000.M1P1.vm,S=30,W=33\n\
         5 W40 :1001.M2P1.vm,S=37,W=40\n",
    )
    .unwrap();
    fs::write(root.join("dovecot-keywords"), "0 $Forwarded\n1 work\n").unwrap();
    message(
        &root.join("cur/1000.M1P1.vm,S=30,W=33:2,S"),
        "Subject: one\n\nfirst message\n",
        1_700_000_000,
    );
    message(
        &root.join("cur/1001.M2P1.vm,S=37,W=40:2,DFRab"),
        "Subject: two\n\n>From here\nsecond\n",
        1_700_000_100,
    );
    message(
        &root.join("new/1002.M3P1.vm"),
        "Subject: three\n\nnew\n",
        1_700_000_200,
    );
    fs::write(
        root.join(".Sent/dovecot-uidlist"),
        "3 V99 N4\n3 :2000.M1P1.vm\n",
    )
    .unwrap();
    message(
        &root.join(".Sent/cur/2000.M1P1.vm:2,ST"),
        "Subject: sent\n\nsent\n",
        1_600_000_000,
    );
    fs::write(root.join(".Work.Caf&AOk-/dovecot-uidlist"), "3 V77 N1\n").unwrap();
    fs::write(root.join("subscriptions"), "V\t2\n\nSent\nWork\tCaf&AOk-\n").unwrap();
}

/// Everything a client could see of a user's mailboxes, for comparisons.
fn snapshot(s: &Store, user: &str) -> Vec<String> {
    let mut out = Vec::new();
    let inbox = MailboxName::user_inbox(user).unwrap();
    for e in s.list_mailboxes(Some(&inbox)).unwrap() {
        let st = s.status(&e.name, SeenSource::Index).unwrap();
        out.push(format!(
            "{} uidvalidity={} uidnext={} exists={}",
            e.name,
            st.uidvalidity.get(),
            st.uidnext.get(),
            st.exists
        ));
        for r in s
            .records(
                &e.name,
                SeenSource::Index,
                UidSelection::All,
                RecordFields::BASIC,
            )
            .unwrap()
        {
            let mut flags: Vec<String> = r.flags.iter().map(ToString::to_string).collect();
            flags.sort();
            let bytes = s.read_message(&e.name, r.uid).unwrap();
            out.push(format!(
                "  {} {:?} {} {:?}",
                r.uid,
                flags,
                r.internal_date.unix_seconds,
                String::from_utf8_lossy(&bytes)
            ));
        }
    }
    for n in s.subscriptions(user).unwrap() {
        out.push(format!("subscribed {n}"));
    }
    out
}

#[test]
fn a_dovecot_maildir_keeps_uids_flags_keywords_dates_and_subscriptions() {
    let src = tempfile::tempdir().unwrap();
    dovecot_maildir(src.path());
    let (_d, s) = store();
    let mut warnings = Vec::new();
    let summary = migrate::maildir::import_user(
        &s,
        "fred",
        &fred_inbox(),
        src.path(),
        &mut quiet(&mut warnings),
    )
    .unwrap();
    assert_eq!(
        (summary.mailboxes, summary.messages),
        (3, 4),
        "{warnings:?}"
    );
    assert!(summary.skipped.is_empty());
    let snap = snapshot(&s, "fred");
    let expected = [
        "user.fred uidvalidity=1234 uidnext=9 exists=3",
        "  2 [\"\\\\Seen\"] 1700000000 \"Subject: one\\r\\n\\r\\nfirst message\\r\\n\"",
        "  5 [\"$Forwarded\", \"\\\\Answered\", \"\\\\Draft\", \"\\\\Flagged\", \"work\"] 1700000100 \"Subject: two\\r\\n\\r\\n>From here\\r\\nsecond\\r\\n\"",
        "  8 [] 1700000200 \"Subject: three\\r\\n\\r\\nnew\\r\\n\"",
        "user.fred.Sent uidvalidity=99 uidnext=4 exists=1",
        "  3 [\"\\\\Deleted\", \"\\\\Seen\"] 1600000000 \"Subject: sent\\r\\n\\r\\nsent\\r\\n\"",
        "user.fred.Work.Café uidvalidity=77 uidnext=1 exists=0",
        "subscribed user.fred.Sent",
        "subscribed user.fred.Work.Café",
    ];
    assert_eq!(snap, expected);
}

#[test]
fn importing_into_a_used_mailbox_is_refused_an_unused_one_is_filled_and_the_others_go_on() {
    let src = tempfile::tempdir().unwrap();
    dovecot_maildir(src.path());
    let (_d, s) = store();
    // The empty INBOX `user add` makes takes the import; a mailbox that held mail refuses it.
    s.create_mailbox(&name("user.fred"), Default::default())
        .unwrap();
    s.create_mailbox(&name("user.fred.Sent"), Default::default())
        .unwrap();
    let sent = name("user.fred.Sent");
    s.append(
        &sent,
        vec![mailstore::AppendItem::bytes(
            &b"Subject: x\r\n\r\nx\r\n"[..],
        )],
    )
    .unwrap();
    let mut warnings = Vec::new();
    let summary = migrate::maildir::import_user(
        &s,
        "fred",
        &fred_inbox(),
        src.path(),
        &mut quiet(&mut warnings),
    )
    .unwrap();
    assert_eq!(summary.mailboxes, 2);
    assert_eq!(summary.skipped.len(), 1);
    assert_eq!(summary.skipped[0].0, "user.fred.Sent");
    assert!(
        summary.skipped[0].1.contains("exists already"),
        "{:?}",
        summary.skipped
    );
    assert_eq!(s.status(&sent, SeenSource::Index).unwrap().exists, 1);
    let inbox = s.status(&name("user.fred"), SeenSource::Index).unwrap();
    assert_eq!((inbox.uidvalidity.get(), inbox.exists), (1234, 3));
}

#[test]
fn a_bad_uidlist_is_an_error_naming_file_and_line() {
    let src = tempfile::tempdir().unwrap();
    dovecot_maildir(src.path());
    fs::write(
        src.path().join("dovecot-uidlist"),
        "3 V1 N3\n1 :a\nnonsense\n",
    )
    .unwrap();
    let (_d, s) = store();
    let mut warnings = Vec::new();
    let summary = migrate::maildir::import_user(
        &s,
        "fred",
        &fred_inbox(),
        src.path(),
        &mut quiet(&mut warnings),
    )
    .unwrap();
    let why = &summary.skipped[0].1;
    assert!(why.contains("dovecot-uidlist:3:"), "{why}");
}

#[test]
fn maildir_export_then_import_gives_the_same_mailboxes() {
    let src = tempfile::tempdir().unwrap();
    dovecot_maildir(src.path());
    let (_a, a) = store();
    let mut w = Vec::new();
    migrate::maildir::import_user(&a, "fred", &fred_inbox(), src.path(), &mut quiet(&mut w))
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("Maildir");
    let exported: Summary =
        migrate::maildir::export_user(&a, "fred", &fred_inbox(), &dest, &mut quiet(&mut w))
            .unwrap();
    assert_eq!((exported.mailboxes, exported.messages), (3, 4));
    let (_b, b) = store();
    migrate::maildir::import_user(&b, "fred", &fred_inbox(), &dest, &mut quiet(&mut w)).unwrap();
    assert_eq!(snapshot(&a, "fred"), snapshot(&b, "fred"));
    assert!(w.is_empty(), "{w:?}");
    // An export never writes over what is there.
    assert!(
        migrate::maildir::export_user(&a, "fred", &fred_inbox(), &dest, &mut quiet(&mut w))
            .is_err()
    );
}

#[test]
fn a_uw_mbox_keeps_its_uids_flags_and_from_line_dates() {
    let (_d, s) = store();
    let mut w = Vec::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/uw.mbox");
    let summary = migrate::mbox::import_file(
        &s,
        name("user.fred"),
        &fixture,
        Quoting::Mboxrd,
        &mut quiet(&mut w),
    )
    .unwrap();
    assert_eq!(summary.messages, 3);
    let snap = snapshot(&s, "fred");
    let expected = [
        "user.fred uidvalidity=1700000000 uidnext=13 exists=3",
        "  3 [\"\\\\Answered\", \"\\\\Seen\", \"todo\"] 1796612022 \"From: alice@example.org\\r\\nSubject: first\\r\\n\\r\\nHello\\r\\nFrom the body\\r\\nbye\\r\\n\"",
        "  9 [\"\\\\Draft\", \"\\\\Flagged\"] 1796612022 \"From: bob@example.org\\r\\nSubject: second\\r\\n\\r\\nsecond body\\r\\n\"",
        "  10 [] 1796724000 \"From: carol@example.org\\r\\nSubject: third, no X-UID\\r\\n\\r\\nthird\\r\\n\"",
    ];
    assert_eq!(snap, expected);
    let r = s
        .records(
            &name("user.fred"),
            SeenSource::Index,
            UidSelection::All,
            RecordFields::BASIC,
        )
        .unwrap();
    assert_eq!(r[1].internal_date.offset_minutes, 60);
    assert!(r[0].flags.contains(&Flag::Keyword("todo".into())));
}

#[test]
fn mbox_export_then_import_gives_the_same_mailbox() {
    let src = tempfile::tempdir().unwrap();
    dovecot_maildir(src.path());
    let (_a, a) = store();
    let mut w = Vec::new();
    migrate::maildir::import_user(&a, "fred", &fred_inbox(), src.path(), &mut quiet(&mut w))
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("inbox.mbox");
    migrate::mbox::export_mailbox(&a, &name("user.fred"), &file, &mut quiet(&mut w)).unwrap();
    let (_b, b) = store();
    migrate::mbox::import_file(
        &b,
        name("user.fred"),
        &file,
        Quoting::Mboxrd,
        &mut quiet(&mut w),
    )
    .unwrap();
    let only_inbox = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .take_while(|l| !l.starts_with("user.fred."))
            .collect()
    };
    assert_eq!(
        only_inbox(snapshot(&a, "fred")),
        only_inbox(snapshot(&b, "fred"))
    );
    assert!(w.is_empty(), "{w:?}");
    assert!(
        migrate::mbox::export_mailbox(&a, &name("user.fred"), &file, &mut quiet(&mut w)).is_err()
    );
}

#[test]
fn an_mbox_directory_becomes_the_users_hierarchy() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/uw.mbox");
    fs::copy(&fixture, dir.path().join("inbox")).unwrap();
    fs::create_dir(dir.path().join("lists")).unwrap();
    fs::write(
        dir.path().join("lists/rust"),
        "From x Mon Dec  7 02:53:42 2026\nSubject: r\n\nrust\n",
    )
    .unwrap();
    fs::write(dir.path().join(".subscriptions"), "lists/rust\n").unwrap();
    let (_d, s) = store();
    let mut w = Vec::new();
    let summary = migrate::mbox::import_user(
        &s,
        "fred",
        &fred_inbox(),
        dir.path(),
        Quoting::Mboxrd,
        &mut quiet(&mut w),
    )
    .unwrap();
    assert_eq!((summary.mailboxes, summary.messages), (2, 4), "{w:?}");
    let names: Vec<String> = s
        .list_mailboxes(None)
        .unwrap()
        .into_iter()
        .map(|e| e.name.to_string())
        .collect();
    assert_eq!(names, ["user.fred", "user.fred.lists.rust"]);
    assert_eq!(
        s.subscriptions("fred").unwrap(),
        [name("user.fred.lists.rust")]
    );
}

#[test]
fn keywords_past_the_stores_limit_are_left_out_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("many.mbox");
    let mut text = String::new();
    for i in 0..(mailstore::MAX_KEYWORDS + 2) {
        text.push_str(&format!(
            "From x Mon Dec  7 02:53:42 2026\nX-Keywords: kw{i}\nSubject: {i}\n\nbody\n\n"
        ));
    }
    fs::write(&file, text).unwrap();
    let (_d, s) = store();
    let mut w = Vec::new();
    let summary = migrate::mbox::import_file(
        &s,
        name("user.fred"),
        &file,
        Quoting::Mboxrd,
        &mut quiet(&mut w),
    )
    .unwrap();
    assert_eq!(summary.messages, mailstore::MAX_KEYWORDS as u64 + 2);
    assert_eq!(summary.warnings, 2);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].contains("keyword kw128 dropped"), "{w:?}");
    assert_eq!(
        s.keywords(&name("user.fred")).unwrap().len(),
        mailstore::MAX_KEYWORDS
    );
}

/// fred's INBOX, where the import and export functions put and find his mailboxes.
fn fred_inbox() -> types::MailboxName {
    types::MailboxName::user_inbox("fred").unwrap()
}
