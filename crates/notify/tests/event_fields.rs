//! Every event kind rendered as the service builds it, checked against RFC 5423: (a) every key
//! is a parameter RFC 5423 registers (§6.2), a `vnd.` name, or `event` (the notification's
//! type); Cyrus's AclChange (not an RFC 5423 event) may add its `aclSubject`/`aclRights`;
//! (b) every parameter RFC 5423 §4–5 says the event carries is there, with its JSON type.
//! Checked with Cyrus's default `event_extra_params` and with every one Darius fills.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, UNIX_EPOCH};

use mailservice::{
    AclInfo, Event, EventKind, MailboxRef, MessageInfo, Namespace, Origin, QuotaInfo,
};
use notify::{render, RenderContext};
use serde_json::{Map, Value};
use types::{MailboxName, Uid, UidValidity};

/// RFC 5423 §6.2, the initial "Event Parameters" registry (IANA's message-store-events).
const RFC5423_PARAMETERS: [&str; 26] = [
    "admin",
    "bodyStructure",
    "clientIP",
    "clientPort",
    "diskQuota",
    "diskUsed",
    "envelope",
    "flagNames",
    "mailboxID",
    "maxMessages",
    "messageContent",
    "messageSize",
    "messages",
    "modseq",
    "oldMailboxID",
    "pid",
    "process",
    "serverDomain",
    "serverPort",
    "service",
    "tags",
    "timestamp",
    "uidnext",
    "uidset",
    "uri",
    "user",
];

/// The JSON type a parameter has.
#[derive(Clone, Copy, Debug)]
enum Ty {
    Str,
    Num,
}

use Ty::{Num, Str};

/// What RFC 5423 says each event carries, written from the RFC's text, not from the code:
/// `uri` is "included in all notifications" (§5) and `user` with every event caused by or
/// about a user; §5's parameter descriptions give the rest: `uidset` with MessageExpire,
/// MessageExpunge, MessageRead, MessageTrash, FlagsSet and FlagsClear; `flagNames` with
/// FlagsSet and FlagsClear; `mailboxID` with the events that affect mailboxes (§4.3's
/// create, delete, rename, subscribe, unsubscribe) and `oldMailboxID` with MailboxRename;
/// `diskQuota`/`diskUsed` (storage) and `maxMessages`/`messages` (message count) with
/// QuotaExceed and QuotaWithin, the limits with QuotaChange (§4.1); `serverDomain`,
/// `serverPort`, `clientIP`, `clientPort` with Login (§4.2's access accounting), and the
/// same with Logout here (RFC: "optionally"; Cyrus always). AclChange is Cyrus's own event:
/// its `aclSubject` and `aclRights`.
fn required(kind: EventKind) -> Vec<(&'static str, Ty)> {
    let mut need = vec![("uri", Str), ("user", Str)];
    let more: &[(&str, Ty)] = match kind {
        EventKind::MessageNew | EventKind::MessageAppend => &[],
        EventKind::MessageExpunge | EventKind::MessageRead | EventKind::MessageTrash => {
            &[("uidset", Str)]
        }
        EventKind::FlagsSet | EventKind::FlagsClear => &[("uidset", Str), ("flagNames", Str)],
        EventKind::MailboxCreate
        | EventKind::MailboxDelete
        | EventKind::MailboxSubscribe
        | EventKind::MailboxUnSubscribe => &[("mailboxID", Str)],
        EventKind::MailboxRename => &[("mailboxID", Str), ("oldMailboxID", Str)],
        EventKind::AclChange => &[("aclSubject", Str), ("aclRights", Str)],
        EventKind::QuotaExceed | EventKind::QuotaWithin => &[
            ("diskQuota", Num),
            ("diskUsed", Num),
            ("maxMessages", Num),
            ("messages", Num),
        ],
        EventKind::QuotaChange => &[("diskQuota", Num), ("maxMessages", Num)],
        EventKind::Login | EventKind::Logout => &[
            ("serverDomain", Str),
            ("serverPort", Num),
            ("clientIP", Str),
            ("clientPort", Num),
        ],
    };
    need.extend_from_slice(more);
    need
}

fn name(s: &str) -> MailboxName {
    MailboxName::try_from(s).unwrap()
}

fn uids(list: &[u32]) -> Vec<Uid> {
    list.iter().map(|&n| Uid::new(n).unwrap()).collect()
}

fn mailbox(s: &str) -> Option<MailboxRef> {
    Some(MailboxRef {
        name: name(s),
        uidvalidity: UidValidity::new(1_700_000_000),
    })
}

/// An event of `kind` as the service builds it (see mailservice's `emit` module).
fn realistic(kind: EventKind) -> Event {
    let mut e = Event::new(kind);
    e.time = UNIX_EPOCH + Duration::from_millis(1_796_623_200_123);
    e.user = Some("fred".into());
    e.origin = Some(Origin {
        service: "imap",
        client: Some(SocketAddr::from(([192, 0, 2, 7], 50123))),
        server: Some(SocketAddr::from(([192, 0, 2, 1], 143))),
        session_id: Some("imap-4242-7".into()),
    });
    let counts = |e: &mut Event| {
        e.uidnext = Uid::new(8);
        e.messages = Some(6);
        e.unseen = Some(2);
        e.modseq = Some(41);
    };
    match kind {
        EventKind::MessageNew | EventKind::MessageAppend => {
            e.mailbox = mailbox("user.fred.Sent");
            e.uids = uids(&[7]);
            counts(&mut e);
            e.flags = vec!["\\Seen".into()];
            e.message = Some(MessageInfo {
                size: 1234,
                envelope_from: Some("bob@example.org".into()),
                message_id: Some("<m1@example.org>".into()),
                subject: Some("café".into()),
                from: Some("Bob <bob@example.org>".into()),
                envelope: Some(
                    "(NIL \"café\" NIL NIL NIL NIL NIL NIL NIL \"<m1@example.org>\")".into(),
                ),
            });
            if kind == EventKind::MessageNew {
                e.origin = None;
            }
        }
        EventKind::MessageExpunge | EventKind::MessageRead | EventKind::MessageTrash => {
            e.mailbox = mailbox("user.fred");
            e.uids = uids(&[1, 2, 3, 5]);
            counts(&mut e);
        }
        EventKind::FlagsSet | EventKind::FlagsClear => {
            e.mailbox = mailbox("user.fred");
            e.uids = uids(&[4]);
            counts(&mut e);
            e.flags = vec!["\\Flagged".into(), "$Work".into()];
        }
        EventKind::MailboxCreate | EventKind::MailboxDelete => {
            e.mailbox = mailbox("user.fred.Work");
        }
        EventKind::MailboxRename => {
            e.old_mailbox = mailbox("user.fred.Work");
            e.mailbox = mailbox("user.fred.Old Work");
        }
        EventKind::MailboxSubscribe | EventKind::MailboxUnSubscribe => {
            e.mailbox = Some(MailboxRef {
                name: name("user.fred.Work"),
                uidvalidity: None,
            });
        }
        EventKind::AclChange => {
            e.mailbox = mailbox("user.fred.Work");
            e.acl = Some(AclInfo {
                subject: "bob".into(),
                rights: "lrs".into(),
            });
        }
        EventKind::QuotaExceed | EventKind::QuotaWithin | EventKind::QuotaChange => {
            e.quota = Some(QuotaInfo {
                root: name("user.fred"),
                storage_used_kib: Some(900),
                storage_limit_kib: Some(1000),
                messages_used: Some(120),
                messages_limit: Some(500),
            });
        }
        EventKind::Login | EventKind::Logout => {}
    }
    e
}

fn contexts() -> Vec<(&'static str, RenderContext)> {
    let base = RenderContext::new("mail.example.org".into(), Namespace::new(false));
    let every = "timestamp service clientAddress uidnext messages modseq flagNames messageSize \
                 diskUsed vnd.cmu.midset vnd.cmu.unseenMessages vnd.cmu.envelope \
                 vnd.cmu.sessionId";
    vec![
        ("default", base.clone()),
        ("every extra", base.with_extra_params(every).unwrap()),
    ]
}

fn is_rfc5423_or_vendor(key: &str, kind: EventKind) -> bool {
    key == "event"
        || key.starts_with("vnd.")
        || RFC5423_PARAMETERS.contains(&key)
        || (kind == EventKind::AclChange && (key == "aclSubject" || key == "aclRights"))
}

fn has_type(value: &Value, ty: Ty) -> bool {
    match ty {
        Str => value.is_string(),
        Num => value.is_u64(),
    }
}

#[test]
fn every_event_kind_renders_only_rfc5423_or_vendor_parameters() {
    for (label, ctx) in contexts() {
        for kind in EventKind::ALL {
            let json = render(&realistic(kind), &ctx);
            for key in json.keys() {
                assert!(
                    is_rfc5423_or_vendor(key, kind),
                    "{label}: {} has {key:?}, neither RFC 5423 nor vnd.",
                    kind.name()
                );
            }
            assert_eq!(json["event"], Value::from(kind.name()));
        }
    }
}

#[test]
fn every_event_kind_carries_what_rfc5423_requires() {
    for (label, ctx) in contexts() {
        for kind in EventKind::ALL {
            let json = render(&realistic(kind), &ctx);
            for (key, ty) in required(kind) {
                let value = json
                    .get(key)
                    .unwrap_or_else(|| panic!("{label}: {} lacks {key}: {json:?}", kind.name()));
                assert!(
                    has_type(value, ty),
                    "{label}: {} {key} is not {ty:?}: {value}",
                    kind.name()
                );
            }
        }
    }
}

fn get<'a>(json: &'a Map<String, Value>, key: &str) -> &'a Value {
    json.get(key).unwrap_or(&Value::Null)
}

/// RFC 5092 URLs as Cyrus forms them: the administrator's view of the name, UTF-8 and
/// %-escaped, `;UIDVALIDITY=`, and `/;UID=` for the one message of MessageNew/MessageAppend
/// (which carry no `uidset`).
#[test]
fn uris_are_imap_urls_of_the_mailbox_or_message() {
    let ctx = &contexts()[0].1;
    let new = render(&realistic(EventKind::MessageNew), ctx);
    assert_eq!(
        get(&new, "uri"),
        "imap://mail.example.org/user.fred.Sent;UIDVALIDITY=1700000000/;UID=7"
    );
    assert!(new.get("uidset").is_none());
    let expunge = render(&realistic(EventKind::MessageExpunge), ctx);
    assert_eq!(
        get(&expunge, "uri"),
        "imap://mail.example.org/user.fred;UIDVALIDITY=1700000000"
    );
    assert_eq!(get(&expunge, "uidset"), "1:3,5");
    let rename = render(&realistic(EventKind::MailboxRename), ctx);
    assert_eq!(
        get(&rename, "mailboxID"),
        "imap://mail.example.org/user.fred.Old%20Work;UIDVALIDITY=1700000000"
    );
    assert_eq!(
        get(&rename, "oldMailboxID"),
        "imap://mail.example.org/user.fred.Work;UIDVALIDITY=1700000000"
    );
    let login = render(&realistic(EventKind::Login), ctx);
    assert_eq!(get(&login, "uri"), "imap://mail.example.org");
    assert_eq!(get(&login, "clientIP"), "192.0.2.7");
    assert_eq!(get(&login, "serverPort"), 143);
    let quota = render(&realistic(EventKind::QuotaExceed), ctx);
    assert_eq!(get(&quota, "uri"), "imap://mail.example.org/user.fred");

    // Under unixhierarchysep the administrator's view uses `/`.
    let unix = RenderContext::new("mx".into(), Namespace::new(true));
    let new = render(&realistic(EventKind::MessageNew), &unix);
    assert_eq!(
        get(&new, "uri"),
        "imap://mx/user/fred/Sent;UIDVALIDITY=1700000000/;UID=7"
    );
    assert_eq!(get(&new, "vnd.darius.mailbox"), "INBOX/Sent");
}

/// Cyrus's defaults (`event_extra_params: timestamp`): `timestamp`, `pid`, and no counts;
/// MessageNew also carries Darius's `vnd.darius.*` and `messageSize`, so that a webhook
/// receiver has the whole new message in one object.
#[test]
fn defaults_and_extras_follow_event_extra_params() {
    let (default, every) = {
        let c = contexts();
        (c[0].1.clone(), c[1].1.clone())
    };
    let new = render(&realistic(EventKind::MessageNew), &default);
    assert_eq!(get(&new, "timestamp"), "2026-12-07T06:00:00.123Z");
    assert!(get(&new, "pid").is_u64());
    assert_eq!(get(&new, "user"), "fred");
    assert_eq!(get(&new, "messageSize"), 1234);
    assert_eq!(get(&new, "vnd.darius.mailbox"), "INBOX.Sent");
    assert_eq!(get(&new, "vnd.darius.uid"), 7);
    assert_eq!(get(&new, "vnd.darius.sender"), "bob@example.org");
    assert_eq!(get(&new, "vnd.darius.subject"), "café");
    for absent in ["uidnext", "messages", "modseq", "vnd.cmu.midset", "service"] {
        assert!(new.get(absent).is_none(), "{absent} without being asked");
    }
    let new = render(&realistic(EventKind::MessageNew), &every);
    assert_eq!(get(&new, "uidnext"), 8);
    assert_eq!(get(&new, "messages"), 6);
    assert_eq!(get(&new, "modseq"), 41);
    assert_eq!(get(&new, "vnd.cmu.unseenMessages"), 2);
    assert_eq!(get(&new, "service"), "lmtp");
    assert_eq!(get(&new, "flagNames"), "\\Seen");
    assert_eq!(
        get(&new, "vnd.cmu.midset"),
        &Value::from(vec!["<m1@example.org>"])
    );
    assert!(get(&new, "vnd.cmu.envelope").is_string());

    // `modseq` only for an event about one message (RFC 5423 §5).
    let expunge = render(&realistic(EventKind::MessageExpunge), &every);
    assert!(expunge.get("modseq").is_none());
    assert_eq!(get(&expunge, "clientIP"), "192.0.2.7", "clientAddress");
    assert_eq!(get(&expunge, "vnd.cmu.sessionId"), "imap-4242-7");

    // A delivery with the null reverse-path.
    let mut bounce = realistic(EventKind::MessageNew);
    if let Some(m) = bounce.message.as_mut() {
        m.envelope_from = None;
    }
    assert_eq!(get(&render(&bounce, &default), "vnd.darius.sender"), "");

    // `diskUsed` on QuotaChange only with `diskUsed` (Cyrus).
    let change = render(&realistic(EventKind::QuotaChange), &default);
    assert!(change.get("diskUsed").is_none());
    let change = render(&realistic(EventKind::QuotaChange), &every);
    assert_eq!(get(&change, "diskUsed"), 900);
}
