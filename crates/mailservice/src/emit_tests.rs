//! Which events each operation reports, to a sink that records them: kinds, mailboxes, UIDs,
//! flags and who acted; nothing (and no extra read) when the sink wants nothing; RFC 5423
//! §4.2's MessageRead and MessageTrash in place of FlagsSet.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use mailstore::{AppendItem, Expunge, FlagChange, QuotaLimits};
use types::{Flag, MailboxName, Rights, RightsChange, Uid};

use super::*;
use crate::events::{Event, EventKind, EventSink, Origin};
use crate::{DeliveryAddress, DeliveryOptions, DeliveryRecipient, Envelope, Operation};

/// Remembers every event of the kinds it wants, and how often it was asked.
struct Recorder {
    wanted: Vec<EventKind>,
    events: Mutex<Vec<Event>>,
}

impl Recorder {
    fn wanting(wanted: &[EventKind]) -> Arc<Recorder> {
        Arc::new(Recorder {
            wanted: wanted.to_vec(),
            events: Mutex::new(Vec::new()),
        })
    }

    fn all() -> Arc<Recorder> {
        Recorder::wanting(&EventKind::ALL)
    }

    /// The events so far, as (kind, mailbox, uids), and forgets them.
    fn take(&self) -> Vec<(EventKind, String, Vec<u32>)> {
        self.take_events()
            .into_iter()
            .map(|e| {
                let mailbox = e.mailbox.map(|m| m.name.to_string()).unwrap_or_default();
                (e.kind, mailbox, e.uids.iter().map(|u| u.get()).collect())
            })
            .collect()
    }

    fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }
}

impl EventSink for Recorder {
    fn wants(&self, kind: EventKind) -> bool {
        self.wanted.contains(&kind)
    }

    fn event(&self, event: &Event) {
        assert!(
            self.wants(event.kind),
            "told of an unwanted {:?}",
            event.kind
        );
        self.events.lock().unwrap().push(event.clone());
    }
}

fn origin() -> Origin {
    Origin {
        service: "imap",
        client: Some(SocketAddr::from(([192, 0, 2, 7], 50123))),
        server: Some(SocketAddr::from(([192, 0, 2, 1], 143))),
        session_id: Some("imap-1-1".into()),
    }
}

fn uids(list: &[u32]) -> Vec<Uid> {
    list.iter().map(|&n| Uid::new(n).unwrap()).collect()
}

fn name(s: &str) -> MailboxName {
    MailboxName::try_from(s).unwrap()
}

/// A service with `alice` (and the administrator `admin`) reporting to `recorder`, and
/// alice's identity as her IMAP session has it.
fn world(dir: &std::path::Path, recorder: &Arc<Recorder>) -> (MailService, Identity) {
    let s = crate::service_for_tests(dir, &["admin"], false).with_events(recorder.clone());
    s.create_user("alice").unwrap();
    recorder.take_events();
    let alice = s.identity("alice").with_origin(origin());
    (s, alice)
}

fn message(size: usize) -> AppendItem {
    let mut m = b"From: a@example.org\r\nSubject: hi\r\nMessage-ID: <x@y>\r\n\r\n".to_vec();
    m.resize(size, b'x');
    AppendItem::bytes(m)
}

/// Delivers `raw` to alice's INBOX from `<>`, as LMTP does.
fn deliver(s: &MailService, raw: &[u8]) -> crate::DeliveryReport {
    let anonymous = s.anonymous_identity();
    let address = DeliveryAddress::User {
        user: "alice".into(),
        detail: None,
    };
    let recipient = DeliveryRecipient {
        address: "alice@example.org".into(),
        target: s.delivery_target(&anonymous, &address).unwrap(),
        ignore_quota: false,
    };
    let envelope = Envelope {
        from: None,
        identity: &anonymous,
    };
    s.deliver_message(
        &envelope,
        std::slice::from_ref(&recipient),
        AppendItem::bytes(raw.to_vec()),
        raw,
        None,
        DeliveryOptions {
            single_instance: true,
            suppress_duplicates: false,
        },
    )
    .unwrap()
}

const M: EventKind = EventKind::MessageAppend;
const X: EventKind = EventKind::MessageExpunge;

#[test]
fn append_copy_move_and_expunge_report_message_events() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::all();
    let (s, alice) = world(dir.path(), &recorder);
    let inbox = s.authorize(&alice, "INBOX", Operation::Insert).unwrap();
    s.append(&inbox, vec![message(100), message(200)]).unwrap();
    let events = recorder.take_events();
    assert_eq!(events.len(), 2, "one MessageAppend per message");
    for (event, (uid, size)) in events.iter().zip([(1, 100), (2, 200)]) {
        assert_eq!(event.kind, M);
        assert_eq!(event.uids, uids(&[uid]));
        assert_eq!(event.user.as_deref(), Some("alice"));
        assert_eq!(event.origin, Some(origin()));
        assert_eq!(event.message.as_ref().unwrap().size, size);
        let info = event.message.clone().unwrap();
        assert!(info.envelope.unwrap().contains("\"hi\""));
        assert_eq!(info.message_id.as_deref(), Some("<x@y>"));
        assert_eq!(info.subject.as_deref(), Some("hi"));
        assert_eq!(info.from.as_deref(), Some("a@example.org"));
        assert_eq!(event.uidnext, Uid::new(3));
        assert_eq!(event.messages, Some(2));
        let mailbox = event.mailbox.as_ref().unwrap();
        assert_eq!(mailbox.name, name("user.alice"));
        assert!(mailbox.uidvalidity.is_some());
    }

    let archive = s
        .authorize(&alice, "INBOX.Archive", Operation::Create)
        .unwrap();
    s.create(&alice, &archive, Vec::new(), None).unwrap();
    let created = recorder.take();
    assert_eq!(
        created,
        [(
            EventKind::MailboxCreate,
            "user.alice.Archive".into(),
            vec![]
        )]
    );

    let from = s.authorize(&alice, "INBOX", Operation::Read).unwrap();
    let to = s
        .authorize(&alice, "INBOX.Archive", Operation::Insert)
        .unwrap();
    s.copy(&from, &uids(&[1]), &to).unwrap();
    assert_eq!(recorder.take(), [(M, "user.alice.Archive".into(), vec![1])]);

    let from = s.authorize(&alice, "INBOX", Operation::Expunge).unwrap();
    s.move_messages(&from, &uids(&[2]), &to).unwrap();
    assert_eq!(
        recorder.take(),
        [
            (M, "user.alice.Archive".into(), vec![2]),
            (X, "user.alice".into(), vec![2]),
        ],
        "MOVE: appended to the target, expunged from the source"
    );

    let write = s.authorize(&alice, "INBOX", Operation::Write).unwrap();
    s.store_flags(
        &write,
        &uids(&[1]),
        FlagChange::Add(vec![Flag::Deleted]),
        None,
    )
    .unwrap();
    s.expunge(&from, Expunge::AllDeleted).unwrap();
    let events = recorder.take_events();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::MessageTrash, X]);
    assert_eq!(events[1].uids, uids(&[1]));
    assert_eq!(events[1].messages, Some(0), "counts after the expunge");

    // An expunge that removes nothing reports nothing.
    s.expunge(&from, Expunge::AllDeleted).unwrap();
    assert!(recorder.take().is_empty());
}

#[test]
fn store_reports_read_and_trash_instead_of_flags_set() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::all();
    let (s, alice) = world(dir.path(), &recorder);
    let inbox = s.authorize(&alice, "INBOX", Operation::Insert).unwrap();
    let mut seen = message(50);
    seen.flags = vec![Flag::Seen];
    s.append(&inbox, vec![message(50), seen]).unwrap();
    recorder.take();
    let write = s.authorize(&alice, "INBOX", Operation::Write).unwrap();
    let work = Flag::Keyword("$Work".into());

    // RFC 5423 §4.2 and Cyrus: `\Deleted` set is MessageTrash, `\Seen` set is MessageRead
    // (only for the message that did not have it), the rest is FlagsSet.
    let add = vec![Flag::Seen, Flag::Deleted, work.clone()];
    s.store_flags(&write, &uids(&[1, 2]), FlagChange::Add(add), None)
        .unwrap();
    let events = recorder.take_events();
    let seen: Vec<(EventKind, Vec<Uid>, Vec<String>)> = events
        .iter()
        .map(|e| (e.kind, e.uids.clone(), e.flags.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (EventKind::MessageTrash, uids(&[1, 2]), vec![]),
            (EventKind::MessageRead, uids(&[1]), vec![]),
            (
                EventKind::FlagsSet,
                uids(&[1, 2]),
                vec!["$Work".to_string()]
            ),
        ]
    );

    // Nothing changes: nothing is reported.
    let again = vec![Flag::Seen];
    s.store_flags(&write, &uids(&[1, 2]), FlagChange::Add(again), None)
        .unwrap();
    assert!(recorder.take().is_empty());

    // Clearing `\Seen` is a FlagsClear, reported before a FlagsSet of the same STORE.
    s.store_flags(
        &write,
        &uids(&[2]),
        FlagChange::Replace(vec![Flag::Flagged]),
        None,
    )
    .unwrap();
    let events = recorder.take_events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].kind, EventKind::FlagsClear);
    assert_eq!(events[0].uids, uids(&[2]));
    let mut cleared = events[0].flags.clone();
    cleared.sort();
    assert_eq!(cleared, ["$Work", "\\Deleted", "\\Seen"]);
    assert_eq!(events[1].kind, EventKind::FlagsSet);
    assert_eq!(events[1].flags, ["\\Flagged"]);
    assert!(events[1].modseq.is_some(), "one message: its MODSEQ");
}

#[test]
fn nothing_is_reported_when_the_sink_wants_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::wanting(&[]);
    let (s, alice) = world(dir.path(), &recorder);
    let inbox = s.authorize(&alice, "INBOX", Operation::Insert).unwrap();
    s.append(&inbox, vec![message(10)]).unwrap();
    let write = s.authorize(&alice, "INBOX", Operation::Write).unwrap();
    let add = FlagChange::Add(vec![Flag::Seen, Flag::Deleted]);
    s.store_flags(&write, &uids(&[1]), add, None).unwrap();
    assert!(s.flags_before(&write, &uids(&[1])).is_none(), "no read");
    let expunge = s.authorize(&alice, "INBOX", Operation::Expunge).unwrap();
    s.expunge(&expunge, Expunge::AllDeleted).unwrap();
    s.subscribe(&alice, &name("user.alice")).unwrap();
    s.report_login(&alice);
    assert!(recorder.take().is_empty());

    // A sink that wants one kind hears of that kind only.
    let recorder = Recorder::wanting(&[EventKind::MessageRead]);
    let s = s.with_events(recorder.clone());
    s.append(&inbox, vec![message(10)]).unwrap();
    let add = FlagChange::Add(vec![Flag::Seen, Flag::Flagged]);
    s.store_flags(&write, &uids(&[2]), add, None).unwrap();
    assert_eq!(
        recorder.take(),
        [(EventKind::MessageRead, "user.alice".into(), vec![2])]
    );
}

#[test]
fn mailbox_subscription_and_acl_changes_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::all();
    let (s, alice) = world(dir.path(), &recorder);
    let work = s
        .authorize(&alice, "INBOX.Work", Operation::Create)
        .unwrap();
    s.create(&alice, &work, Vec::new(), None).unwrap();
    s.subscribe(&alice, &name("user.alice.Work")).unwrap();
    let rights = RightsChange::Replace(Rights::try_from("lr").unwrap());
    s.set_acl(&alice, "INBOX.Work", "bob", rights).unwrap();
    s.delete_acl(&alice, "INBOX.Work", "bob").unwrap();
    let (from, to) = s
        .authorize_rename(&alice, "INBOX.Work", "INBOX.Old")
        .unwrap();
    s.rename(&alice, &from, &to, None).unwrap();
    s.unsubscribe(&alice, &name("user.alice.Work")).unwrap();
    let old = s
        .authorize(&alice, "INBOX.Old", Operation::DeleteMailbox)
        .unwrap();
    s.delete(&old).unwrap();
    let events = recorder.take_events();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::MailboxCreate,
            EventKind::MailboxSubscribe,
            EventKind::AclChange,
            EventKind::AclChange,
            EventKind::MailboxRename,
            EventKind::MailboxUnSubscribe,
            EventKind::MailboxDelete,
        ]
    );
    assert!(events
        .iter()
        .all(|e| e.user.as_deref() == Some("alice") && e.origin == Some(origin())));
    let acl: Vec<(String, String)> = events[2..4]
        .iter()
        .map(|e| {
            let a = e.acl.clone().unwrap();
            (a.subject, a.rights)
        })
        .collect();
    assert_eq!(
        acl,
        [("bob".into(), "lr".into()), ("bob".into(), String::new())]
    );
    let rename = &events[4];
    assert_eq!(
        rename.old_mailbox.as_ref().unwrap().name,
        name("user.alice.Work")
    );
    assert_eq!(
        rename.mailbox.as_ref().unwrap().name,
        name("user.alice.Old")
    );
    assert_eq!(
        rename.old_mailbox.as_ref().unwrap().uidvalidity,
        rename.mailbox.as_ref().unwrap().uidvalidity
    );
    let deleted = events[6].mailbox.as_ref().unwrap();
    assert_eq!(deleted.name, name("user.alice.Old"));
    assert!(deleted.uidvalidity.is_some(), "read before the delete");

    // An administrator deleting a user's INBOX: one MailboxDelete per mailbox gone.
    let admin = s.identity("admin");
    let keep = s
        .authorize(&alice, "INBOX.Keep", Operation::Create)
        .unwrap();
    s.create(&alice, &keep, Vec::new(), None).unwrap();
    recorder.take();
    let inbox = s
        .authorize(&admin, "user.alice", Operation::DeleteMailbox)
        .unwrap();
    s.delete(&inbox).unwrap();
    let mut gone: Vec<String> = recorder.take().into_iter().map(|(_, n, _)| n).collect();
    gone.sort();
    assert_eq!(gone, ["user.alice", "user.alice.Keep"]);

    // The operator's tools: no user acts.
    s.create_user("carol").unwrap();
    s.delete_user("carol").unwrap();
    let events = recorder.take_events();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::MailboxCreate, EventKind::MailboxDelete]);
    assert!(events.iter().all(|e| e.user.is_none()
        && e.mailbox
            .as_ref()
            .is_some_and(|m| m.name == name("user.carol"))));
}

#[test]
fn quota_change_exceed_and_within_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::all();
    let (s, alice) = world(dir.path(), &recorder);
    let inbox = s.authorize(&alice, "INBOX", Operation::Insert).unwrap();
    s.append(&inbox, vec![message(700), message(700)]).unwrap();
    let admin = s.identity("admin");
    let limits = QuotaLimits {
        storage_kib: Some(1),
        messages: None,
    };
    s.set_quota(&admin, "user.alice", limits).unwrap();
    recorder.take_events();

    // Over the limit now: an APPEND is refused, and that is a QuotaExceed.
    assert!(s.append(&inbox, vec![message(10)]).is_err());
    let events = recorder.take_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::QuotaExceed);
    let quota = events[0].quota.clone().unwrap();
    assert_eq!(quota.root, name("user.alice"));
    assert_eq!(quota.storage_limit_kib, Some(1));
    assert_eq!(quota.storage_used_kib, Some(2), "1400 octets, rounded up");
    assert_eq!(events[0].user.as_deref(), Some("alice"));

    // A delivery refused for quota is one too, and stores nothing.
    let report = deliver(&s, b"Subject: x\r\n\r\nx\r\n");
    assert!(report.mailboxes.iter().all(|(_, r)| r.is_err()));
    let kinds: Vec<EventKind> = recorder.take_events().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::QuotaExceed]);

    // An expunge that takes the root back under its limit: QuotaWithin.
    let write = s.authorize(&alice, "INBOX", Operation::Write).unwrap();
    let add = FlagChange::Add(vec![Flag::Deleted]);
    s.store_flags(&write, &uids(&[1]), add, None).unwrap();
    let expunge = s.authorize(&alice, "INBOX", Operation::Expunge).unwrap();
    s.expunge(&expunge, Expunge::AllDeleted).unwrap();
    let kinds: Vec<EventKind> = recorder.take_events().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::MessageTrash, X, EventKind::QuotaWithin]);

    // SETQUOTA is a QuotaChange.
    let limits = QuotaLimits {
        storage_kib: Some(100),
        messages: Some(10),
    };
    s.set_quota(&admin, "user.alice", limits).unwrap();
    let events = recorder.take_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::QuotaChange);
    assert_eq!(events[0].quota.as_ref().unwrap().messages_limit, Some(10));
}

#[test]
fn login_and_logout_carry_the_sessions_origin() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::all();
    let (s, alice) = world(dir.path(), &recorder);
    s.report_login(&alice);
    s.report_logout(&alice);
    let events = recorder.take_events();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Login, EventKind::Logout]);
    assert!(events
        .iter()
        .all(|e| e.user.as_deref() == Some("alice") && e.origin == Some(origin())));
}

#[test]
fn a_delivery_reports_the_owner_subject_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::all();
    let (s, _) = world(dir.path(), &recorder);
    let raw = b"From: Bob <bob@example.org>\r\nSubject: =?UTF-8?Q?caf=C3=A9?= time\r\n\r\nhi\r\n";
    deliver(&s, raw);
    let events = recorder.take_events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.kind, EventKind::MessageNew);
    assert_eq!(e.user.as_deref(), Some("alice"), "the mailbox's owner");
    assert_eq!(e.uids, uids(&[1]));
    assert_eq!(e.uidnext, Uid::new(2));
    assert_eq!(e.messages, Some(1));
    assert_eq!(e.unseen, Some(1));
    let m = e.message.clone().unwrap();
    assert_eq!(m.subject.as_deref(), Some("café time"));
    assert_eq!(m.from.as_deref(), Some("Bob <bob@example.org>"));
    assert_eq!(m.envelope_from, None);
    assert_eq!(m.size, raw.len() as u64);
}

#[test]
fn split_flag_changes_tells_each_message_apart() {
    let before = vec![
        (Uid::new(1).unwrap(), vec![Flag::Seen]),
        (Uid::new(2).unwrap(), vec![]),
    ];
    let after = vec![
        (Uid::new(1).unwrap(), vec![Flag::Seen, Flag::Deleted]),
        (Uid::new(2).unwrap(), vec![Flag::Seen]),
    ];
    let split = crate::emit::split_flag_changes(&before, &after);
    assert_eq!(split.trashed, uids(&[1]));
    assert_eq!(split.read, uids(&[2]));
    assert!(split.set.0.is_empty() && split.cleared.0.is_empty());
}
