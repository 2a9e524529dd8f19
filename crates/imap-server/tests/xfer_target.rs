//! The target's side of XFER over a real socket, on a unified node of the test Murder (a
//! server that holds mailboxes and is in a cluster): the transfer steps are offered to its
//! administrators only; a copy is prepared, filled (messages streamed as literals), brought up
//! to date, committed and adopted; a copy the source leaves uncommitted is removed when its
//! connection ends, and a second XFERPREPARE of a name replaces the copy there.
#![allow(clippy::unwrap_used)]

mod murder;

use std::time::{Duration, Instant};

use mailstore::{RecordFields, SeenSource, UidSelection};
use murder::{Client, Frontend, Murder};
use types::{Flag, MailboxName};

const XFER: &str = "X-DARIUS-XFER";

fn name(s: &str) -> MailboxName {
    MailboxName::try_from(s).unwrap()
}

fn markers(m: &Murder) -> usize {
    let dir = m.frontend_store.config().config_directory.join("xfer/in");
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// `XFERMSG` of a small message under `uid`, with a non-synchronising literal.
fn message(c: &mut Client, tag: &str, mailbox: &str, uid: u32, flags: &str) {
    let text = format!("Subject: m{uid}\r\n\r\nmessage {uid}\r\n");
    c.send(
        format!(
            "{tag} XFERMSG {mailbox} {uid} \"01-Jan-2024 10:00:00 +0100\" ({flags}) {{{}+}}\r\n{text}\r\n",
            text.len()
        )
        .as_bytes(),
    );
    let answer = c.answer(tag);
    assert!(answer.tagged.starts_with("OK"), "{}", answer.tagged);
}

#[test]
fn the_steps_are_offered_to_administrators_of_a_server_holding_mail_only() {
    let m = Murder::start(Frontend::Unified);
    let mut admin = m.frontend("admin");
    assert!(admin.ok("c", "CAPABILITY").text().contains(XFER));
    let mut ann = m.frontend("ann");
    assert!(!ann.ok("c", "CAPABILITY").text().contains(XFER));
    let refused = ann.run("p", "XFERPREPARE user.zed 7 1 5 NIL \"\" ()");
    assert!(refused.tagged.starts_with("BAD"), "{}", refused.tagged);
    // A message of a user is refused before its data is invited.
    ann.send(b"m XFERMSG user.zed 1 \"01-Jan-2024 00:00:00 +0000\" () {5}\r\n");
    let refused = ann.answer("m");
    assert!(refused.tagged.starts_with("BAD"), "{}", refused.tagged);
    assert!(refused.untagged.is_empty(), "no continuation");
    ann.ok("n", "NOOP");
    // A server in no Murder offers nothing to its administrators either.
    let mut single = m.backend("admin");
    assert!(!single.ok("c", "CAPABILITY").text().contains(XFER));
    let refused = single.run("p", "XFERPREPARE user.zed 7 1 5 NIL \"\" ()");
    assert!(refused.tagged.starts_with("BAD"), "{}", refused.tagged);
    assert!(!m.frontend_store.holds_locally(&name("user.zed")).unwrap());
}

#[test]
fn a_copy_is_prepared_filled_brought_up_to_date_committed_and_adopted() {
    let m = Murder::start(Frontend::Unified);
    let mut admin = m.frontend("admin");
    admin.ok(
        "p",
        "XFERPREPARE user.zed 777 10 500 NIL {11+}\r\nzed\tlrswipk ()",
    );
    assert_eq!(markers(&m), 1);
    for uid in [3, 5, 8] {
        message(&mut admin, &format!("m{uid}"), "user.zed", uid, "\\Flagged");
    }
    // UIDs only ascend.
    admin.send(b"m2 XFERMSG user.zed 2 \"01-Jan-2024 10:00:00 +0100\" () {3+}\r\nx\r\n\r\n");
    admin.answer("m2");
    let refused = admin.run("f", "XFERFLAGS user.zed 3 (\\Seen $A)");
    assert!(
        refused.tagged.starts_with("NO"),
        "the batch with UID 2: {}",
        refused.tagged
    );
    // Given up, and begun again: the copy is replaced.
    admin.ok(
        "p",
        "XFERPREPARE user.zed 777 10 500 NIL {11+}\r\nzed\tlrswipk ()",
    );
    for uid in [3, 5, 8] {
        message(&mut admin, &format!("m{uid}"), "user.zed", uid, "\\Flagged");
    }
    admin.ok("f", "XFERFLAGS user.zed 3 (\\Seen $A) 8 ()");
    admin.ok("e", "XFEREXPUNGE user.zed 5:6");
    let committed = admin.ok("c", "XFERCOMMIT user.zed 12");
    assert!(
        committed.tagged.contains("[XFER-ENTRY "),
        "{}",
        committed.tagged
    );

    let zed = name("user.zed");
    let store = &m.frontend_store;
    let status = store.status(&zed, SeenSource::Index).unwrap();
    assert_eq!(
        (
            status.uidvalidity.get(),
            status.uidnext.get(),
            status.exists
        ),
        (777, 12, 2)
    );
    assert!(status.highestmodseq.get() >= 500);
    let records = store
        .records(
            &zed,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::BASIC,
        )
        .unwrap();
    let uids: Vec<u32> = records.iter().map(|r| r.uid.get()).collect();
    assert_eq!(uids, [3, 8]);
    assert!(records[0].flags.contains(&Flag::Seen));
    assert!(records[0].flags.contains(&Flag::Keyword("$A".into())));
    assert!(records[1].flags.is_empty());
    assert_eq!(records[0].internal_date.offset_minutes, 60);
    assert_eq!(store.mailbox_entry(&zed).unwrap().acl, "zed\tlrswipk");
    assert_eq!(markers(&m), 1, "still incoming until XFERDONE");
    admin.ok("d", "XFERDONE user.zed");
    assert_eq!(markers(&m), 0);
    admin.ok("o", "LOGOUT");
    std::thread::sleep(Duration::from_millis(300));
    assert!(store.holds_locally(&zed).unwrap(), "a committed copy stays");
}

#[test]
fn a_copy_the_source_leaves_uncommitted_is_removed() {
    let m = Murder::start(Frontend::Unified);
    let mut admin = m.frontend("admin");
    admin.ok("p", "XFERPREPARE user.yan 5 1 1 NIL \"\" ()");
    message(&mut admin, "m1", "user.yan", 1, "");
    admin.ok("o", "LOGOUT");
    let yan = name("user.yan");
    let deadline = Instant::now() + Duration::from_secs(30);
    while m.frontend_store.holds_locally(&yan).unwrap() || markers(&m) > 0 {
        assert!(Instant::now() < deadline, "the copy stayed");
        std::thread::sleep(Duration::from_millis(50));
    }
    // An aborted copy goes at once.
    let mut admin = m.frontend("admin");
    admin.ok("p", "XFERPREPARE user.yan 5 1 1 NIL \"\" ()");
    admin.ok("a", "XFERABORT user.yan");
    assert!(!m.frontend_store.holds_locally(&yan).unwrap());
    assert_eq!(markers(&m), 0);
    // Nothing but a prepared copy can be written through the steps.
    let refused = admin.run("e", "XFEREXPUNGE user.ann 1:*");
    assert!(refused.tagged.starts_with("NO"), "{}", refused.tagged);
}
