//! Delivery targets as data: which mailbox each recipient reaches, under each separator and
//! ACL; and the user rules that come with dotted userids (INBOX names, subscriptions).

use mailstore::CreateOptions;

use super::*;
use crate::userid_of;

fn service(dir: &std::path::Path, unix_hierarchy_sep: bool) -> MailService {
    crate::service_for_tests(dir, &[], unix_hierarchy_sep)
}

fn name(s: &str) -> MailboxName {
    MailboxName::try_from(s).unwrap()
}

/// Creates `mailbox` (an internal name) with the ACL `acl` (`id rights` pairs).
fn mailbox(s: &MailService, mailbox: &str, acl: &str) {
    let mut stored = String::new();
    for pair in acl.split_whitespace().collect::<Vec<_>>().chunks(2) {
        stored.push_str(&format!("{}\t{}\t", pair[0], pair[1]));
    }
    let options = CreateOptions {
        acl: stored,
        ..CreateOptions::default()
    };
    s.store.create_mailbox(&name(mailbox), options).unwrap();
}

fn user(user: &str, detail: Option<&str>) -> DeliveryAddress {
    DeliveryAddress::User {
        user: user.into(),
        detail: detail.map(Into::into),
    }
}

fn shared(name: &str) -> DeliveryAddress {
    DeliveryAddress::Shared {
        name: name.into(),
        domain: None,
    }
}

/// What [`target`] gives for a recipient refused for want of `p` on a mailbox the sender sees.
const DENIED: &str = "(no post right)";

/// The internal name `address` reaches for the anonymous sender, `None` when refused as an
/// unknown recipient, or [`DENIED`].
fn target(s: &MailService, address: &DeliveryAddress) -> Option<String> {
    match s.delivery_target(&s.anonymous_identity(), address) {
        Ok(t) => Some(t.name().to_string()),
        Err(ServiceError::NoSuchMailbox) => None,
        Err(ServiceError::PermissionDenied) => Some(DENIED.into()),
        Err(e) => panic!("{address:?}: {e}"),
    }
}

/// One row: under this separator, mail for this address goes there (`None`: unknown).
struct Row {
    rule: &'static str,
    unix_sep: bool,
    address: DeliveryAddress,
    goes_to: Option<&'static str>,
}

fn rows() -> Vec<Row> {
    let row = |rule, unix_sep, address, goes_to| Row {
        rule,
        unix_sep,
        address,
        goes_to,
    };
    vec![
        row(
            "plain_user_to_inbox",
            false,
            user("bovik", None),
            Some("user.bovik"),
        ),
        row(
            "detail_with_p_for_anyone",
            false,
            user("bovik", Some("lists")),
            Some("user.bovik.lists"),
        ),
        row(
            "detail_with_p_for_anonymous",
            false,
            user("bovik", Some("anon")),
            Some("user.bovik.anon"),
        ),
        row(
            "detail_without_p_goes_to_inbox",
            false,
            user("bovik", Some("private")),
            Some("user.bovik"),
        ),
        row(
            "detail_p_taken_by_negative_entry",
            false,
            user("bovik", Some("negated")),
            Some("user.bovik"),
        ),
        row(
            "detail_invisible_goes_to_inbox",
            false,
            user("bovik", Some("hidden")),
            Some("user.bovik"),
        ),
        row(
            "detail_missing_goes_to_inbox",
            false,
            user("bovik", Some("nosuch")),
            Some("user.bovik"),
        ),
        row(
            "detail_is_not_case_folded",
            false,
            user("bovik", Some("Lists")),
            Some("user.bovik"),
        ),
        row(
            "detail_separator_names_a_submailbox",
            false,
            user("bovik", Some("work.projects")),
            Some("user.bovik.work.projects"),
        ),
        row(
            "detail_empty_level_goes_to_inbox",
            false,
            user("bovik", Some("work..projects")),
            Some("user.bovik"),
        ),
        row(
            "detail_empty_goes_to_inbox",
            false,
            user("bovik", Some("")),
            Some("user.bovik"),
        ),
        row(
            "detail_wildcard_goes_to_inbox",
            false,
            user("bovik", Some("*")),
            Some("user.bovik"),
        ),
        row(
            "unix_sep_detail_slash_is_the_separator",
            true,
            user("bovik", Some("work/projects")),
            Some("user.bovik.work.projects"),
        ),
        row(
            "unix_sep_detail_dot_is_part_of_a_level",
            true,
            user("bovik", Some("a.b")),
            Some("user.bovik.a^b"),
        ),
        row(
            "unix_sep_detail_dot_is_not_a_separator",
            true,
            user("bovik", Some("work.projects")),
            Some("user.bovik"),
        ),
        row("unknown_user", false, user("nobody", None), None),
        row(
            "unknown_user_with_detail",
            false,
            user("nobody", Some("lists")),
            None,
        ),
        row(
            "dotted_user_has_no_inbox_under_dot",
            false,
            user("bob.secret", None),
            None,
        ),
        row(
            "dotted_user_never_reaches_another_users_folder",
            false,
            user("bob.secret", Some("x")),
            None,
        ),
        row(
            "shared_with_p",
            false,
            shared("shared.board"),
            Some("shared.board"),
        ),
        row(
            "shared_seen_without_p_is_denied",
            false,
            shared("shared.quiet"),
            Some(DENIED),
        ),
        row(
            "shared_invisible_is_unknown",
            false,
            shared("shared.hidden"),
            None,
        ),
        row(
            "shared_missing_is_unknown",
            false,
            shared("shared.nosuch"),
            None,
        ),
        row(
            "shared_never_reaches_a_users_mailbox",
            false,
            shared("user.bovik.lists"),
            None,
        ),
        row("shared_empty_is_unknown", false, shared(""), None),
        row(
            "unix_sep_shared_path",
            true,
            shared("shared/board"),
            Some("shared.board"),
        ),
    ]
}

/// Both stores hold the same mailboxes, created through the store with explicit ACLs.
fn populate(s: &MailService) {
    s.create_user("bovik").unwrap();
    s.create_user("bob").unwrap();
    mailbox(s, "user.bob.secret", "bob lrswipkxtea anyone p");
    mailbox(s, "user.bovik.lists", "bovik lrswipkxtea anyone p");
    mailbox(s, "user.bovik.anon", "bovik lrswipkxtea anonymous p");
    mailbox(s, "user.bovik.private", "bovik lrswipkxtea anyone lr");
    mailbox(
        s,
        "user.bovik.negated",
        "bovik lrswipkxtea anyone lrp -anonymous p",
    );
    mailbox(s, "user.bovik.hidden", "bovik lrswipkxtea");
    mailbox(s, "user.bovik.work", "bovik lrswipkxtea");
    mailbox(s, "user.bovik.work.projects", "bovik lrswipkxtea anyone p");
    mailbox(s, "user.bovik.a^b", "bovik lrswipkxtea anyone p");
    mailbox(s, "shared", "anyone lrs");
    mailbox(s, "shared.board", "anyone lrsp");
    mailbox(s, "shared.quiet", "anyone lrs");
    mailbox(s, "shared.hidden", "bovik p");
}

#[test]
fn delivery_targets_follow_the_post_right() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let services = [
        service(dirs[0].path(), false),
        service(dirs[1].path(), true),
    ];
    for s in &services {
        populate(s);
    }
    for row in rows() {
        let s = &services[usize::from(row.unix_sep)];
        assert_eq!(
            target(s, &row.address).as_deref(),
            row.goes_to,
            "{}",
            row.rule
        );
    }
}

#[test]
fn a_user_name_with_the_separator_never_names_another_users_folder() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path(), false);
    s.create_user("bob").unwrap();
    mailbox(&s, "user.bob.secret", "bob lrswipkxtea anyone p");
    assert_eq!(target(&s, &user("bob", None)).as_deref(), Some("user.bob"));
    assert_eq!(target(&s, &user("bob.secret", None)), None);
    assert!(matches!(
        s.delete_user("bob.secret"),
        Err(ServiceError::BadName(_))
    ));
    assert!(matches!(
        s.create_user("carol.x"),
        Err(ServiceError::BadName(_))
    ));
    assert!(s.store.mailbox_entry(&name("user.bob.secret")).is_ok());

    // Under `/` the dotted user is a user of their own: `user.bob^secret`, beside bob's folder.
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path(), true);
    s.create_user("bob").unwrap();
    mailbox(&s, "user.bob.secret", "bob lrswipkxtea anyone p");
    assert_eq!(target(&s, &user("bob.secret", None)), None, "no INBOX yet");
    s.create_user("bob.secret").unwrap();
    assert_eq!(
        target(&s, &user("bob.secret", None)).as_deref(),
        Some("user.bob^secret")
    );
    assert_eq!(s.delete_user("bob.secret").unwrap(), 1);
    assert!(s.store.mailbox_entry(&name("user.bob.secret")).is_ok());
    assert!(s.store.mailbox_entry(&name("user.bob")).is_ok());
}

#[test]
fn a_userid_with_a_caret_or_slash_has_no_inbox_under_either_separator() {
    for unix_sep in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let s = service(dir.path(), unix_sep);
        for bad in ["john^doe", "john/doe", "", "a*"] {
            assert!(
                matches!(s.create_user(bad), Err(ServiceError::BadName(_))),
                "{bad:?} unix_sep {unix_sep}"
            );
            assert_eq!(s.identity(bad).inbox(), None, "{bad:?}");
        }
    }
}

#[test]
fn a_dotted_user_owns_their_inbox_under_the_unix_separator() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path(), true);
    s.create_user("john.doe").unwrap();
    let john = s.identity("john.doe");
    let inbox = name("user.john^doe");
    assert_eq!(john.inbox(), Some(inbox.clone()));
    assert_eq!(s.namespace().to_client(&john, &inbox), "INBOX");
    assert_eq!(s.namespace().to_internal(&john, "INBOX").unwrap(), inbox);
    let other = s.identity("bovik");
    assert_eq!(s.namespace().to_client(&other, &inbox), "user/john.doe");
    assert_eq!(
        s.namespace().to_internal(&other, "user/john.doe").unwrap(),
        inbox
    );
    // The owner's ACL entry is the userid, with its dot.
    assert_eq!(
        s.get_acl(&john, "INBOX").unwrap().to_stored(),
        "john.doe\tlrswipkxtean\t"
    );
    assert_eq!(
        userid_of(&name("user.john^doe.work")).as_deref(),
        Some("john.doe")
    );
    s.subscribe(&john, &inbox).unwrap();
    assert_eq!(s.subscriptions(&john).unwrap(), vec![inbox]);
}

#[test]
fn a_dotted_user_has_no_inbox_under_the_dot_separator() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path(), false);
    let john = s.identity("john.doe");
    assert_eq!(john.inbox(), None);
    assert!(matches!(
        s.namespace().to_internal(&john, "INBOX"),
        Err(ServiceError::NoSuchMailbox)
    ));
    assert!(matches!(
        s.namespace().to_internal(&john, "INBOX.x"),
        Err(ServiceError::NoSuchMailbox)
    ));
}

#[test]
fn only_users_with_an_inbox_may_subscribe() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path(), false);
    s.create_user("bovik").unwrap();
    mailbox(&s, "shared", "anyone lrs");
    let shared = name("shared");
    let refused = |identity: &Identity| match s.subscribe(identity, &shared) {
        Err(ServiceError::Refused(text)) => text,
        other => panic!("{identity:?}: {other:?}"),
    };
    for identity in [
        s.anonymous_identity(),
        s.identity("john.doe"),
        s.identity("noinbox"),
    ] {
        assert_eq!(refused(&identity), "Only users with an INBOX may subscribe");
        assert!(s.subscriptions(&identity).unwrap().is_empty());
    }
    let bovik = s.identity("bovik");
    s.subscribe(&bovik, &shared).unwrap();
    assert_eq!(s.subscriptions(&bovik).unwrap(), vec![shared]);
}

/// Remembers every event it is told of.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<crate::events::Event>>);

impl crate::events::EventSink for Recorder {
    fn wants(&self, kind: crate::events::EventKind) -> bool {
        kind == crate::events::EventKind::MessageNew
    }

    fn event(&self, event: &crate::events::Event) {
        self.0.lock().unwrap().push(event.clone());
    }
}

/// Sends every copy for `bovik` to both `user.bovik.lists` and the INBOX, and drops every copy
/// for `carol` (what Sieve's `fileinto` + `keep` and `discard` will do).
struct TwoAndNone;

impl DeliveryFilter for TwoAndNone {
    fn decide(
        &self,
        service: &MailService,
        envelope: &Envelope<'_>,
        recipient: &DeliveryRecipient,
        message: &FilterMessage<'_>,
    ) -> Result<Decision> {
        assert_eq!(envelope.from, Some("sender@example.org"));
        assert!(message.head.starts_with(b"Message-ID: <m1@x>"));
        if recipient.address.starts_with("carol") {
            return Ok(Decision::default());
        }
        let lists = service.delivery_target(envelope.identity, &user("bovik", Some("lists")))?;
        Ok(Decision {
            copies: vec![
                Placement::plain(lists),
                Placement::plain(recipient.target.clone()),
            ],
            ..Decision::default()
        })
    }
}

#[test]
fn a_delivery_decides_stores_once_per_mailbox_and_reports_each_stored_message() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = std::sync::Arc::new(Recorder::default());
    let s = service(dir.path(), false)
        .with_delivery_filter(std::sync::Arc::new(TwoAndNone))
        .with_events(recorder.clone());
    s.create_user("bovik").unwrap();
    s.create_user("carol").unwrap();
    mailbox(&s, "user.bovik.lists", "bovik lrswipkxtea anyone p");
    let anonymous = s.anonymous_identity();
    let rcpt = |address: &str, user_name: &str| DeliveryRecipient {
        address: address.into(),
        target: s
            .delivery_target(&anonymous, &user(user_name, None))
            .unwrap(),
        ignore_quota: false,
    };
    let recipients = [
        rcpt("bovik@x", "bovik"),
        rcpt("carol@x", "carol"),
        rcpt("BOVIK@x", "bovik"),
    ];
    let envelope = Envelope {
        from: Some("sender@example.org"),
        identity: &anonymous,
    };
    let message = b"Message-ID: <m1@x>\r\nSubject: s\r\n\r\nbody\r\n";
    let options = DeliveryOptions {
        single_instance: true,
        suppress_duplicates: true,
    };
    let report = s
        .deliver_message(
            &envelope,
            &recipients,
            AppendItem::bytes(message.to_vec()),
            message,
            Some("<m1@x>"),
            options,
        )
        .unwrap();
    let names: Vec<&str> = report.mailboxes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["user.bovik.lists", "user.bovik"],
        "each mailbox once"
    );
    assert!(report
        .mailboxes
        .iter()
        .all(|(_, r)| matches!(r, Ok(Delivered::Stored(_)))));
    let decided: Vec<Vec<usize>> = report.recipients.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(decided, [vec![0, 1], vec![], vec![0, 1]]);
    let events = recorder.0.lock().unwrap().clone();
    let seen: Vec<(&str, Option<&str>, u32)> = events
        .iter()
        .map(|e| {
            let mailbox = &e.mailbox.as_ref().unwrap().name;
            (mailbox.as_str(), mailbox.owner_user(), e.uids[0].get())
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("user.bovik.lists", Some("bovik"), 1),
            ("user.bovik", Some("bovik"), 1)
        ]
    );
    assert!(events.iter().all(|e| {
        let m = e.message.as_ref().unwrap();
        e.kind == crate::events::EventKind::MessageNew
            && e.uids.len() == 1
            && m.size == message.len() as u64
            && m.envelope_from.as_deref() == Some("sender@example.org")
            && m.message_id.as_deref() == Some("<m1@x>")
    }));

    // The same message again: suppressed as a duplicate everywhere, and no event.
    let report = s
        .deliver_message(
            &envelope,
            &recipients[..1],
            AppendItem::bytes(message.to_vec()),
            message,
            Some("<m1@x>"),
            options,
        )
        .unwrap();
    assert!(report
        .mailboxes
        .iter()
        .all(|(_, r)| matches!(r, Ok(Delivered::Duplicate))));
    assert_eq!(
        recorder.0.lock().unwrap().len(),
        2,
        "no event for a duplicate"
    );
}

/// Files bovik's copy flagged and with a header of its own, refuses carol's, and gives dave's
/// no copy and after-store work that fails (a redirect that could not be sent).
struct Decides(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl DeliveryFilter for Decides {
    fn decide(
        &self,
        _: &MailService,
        _: &Envelope<'_>,
        recipient: &DeliveryRecipient,
        _: &FilterMessage<'_>,
    ) -> Result<Decision> {
        let ran = self.0.clone();
        match recipient.address.as_str() {
            "bovik@x" => Ok(Decision {
                copies: vec![Placement {
                    target: recipient.target.clone(),
                    flags: Some(vec![Flag::parse("\\Flagged").unwrap()]),
                    header: Some(std::sync::Arc::from(&b"X-Edited: yes\r\n\r\n"[..])),
                }],
                refusal: None,
                after: Some(Box::new(move |_| {
                    ran.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Ok(())
                })),
            }),
            "carol@x" => Ok(Decision {
                copies: vec![Placement::plain(recipient.target.clone())],
                refusal: Some("No thanks".into()),
                after: Some(Box::new(|_| panic!("never run for a refused recipient"))),
            }),
            _ => Ok(Decision {
                copies: Vec::new(),
                refusal: None,
                after: Some(Box::new(|_| Err(ServiceError::Refused("sendmail failed")))),
            }),
        }
    }
}

#[test]
fn a_decision_sets_flags_and_header_refuses_and_fails_on_its_after_store_work() {
    let dir = tempfile::tempdir().unwrap();
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let s =
        service(dir.path(), false).with_delivery_filter(std::sync::Arc::new(Decides(ran.clone())));
    for u in ["bovik", "carol", "dave"] {
        s.create_user(u).unwrap();
    }
    let anonymous = s.anonymous_identity();
    let rcpt = |address: &str, user_name: &str| DeliveryRecipient {
        address: address.into(),
        target: s
            .delivery_target(&anonymous, &user(user_name, None))
            .unwrap(),
        ignore_quota: false,
    };
    let recipients = [
        rcpt("bovik@x", "bovik"),
        rcpt("carol@x", "carol"),
        rcpt("dave@x", "dave"),
    ];
    let envelope = Envelope {
        from: Some("sender@example.org"),
        identity: &anonymous,
    };
    let message = b"Message-ID: <m2@x>\r\nSubject: s\r\n\r\nbody\r\n";
    let options = DeliveryOptions {
        single_instance: true,
        suppress_duplicates: true,
    };
    let report = s
        .deliver_message(
            &envelope,
            &recipients,
            AppendItem::bytes(message.to_vec()),
            message,
            Some("<m2@x>"),
            options,
        )
        .unwrap();
    let names: Vec<&str> = report.mailboxes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["user.bovik"], "carol's refused copy is not stored");
    assert!(matches!(report.recipients[0], Ok(ref at) if at == &[0]));
    assert!(matches!(report.recipients[1], Err(ServiceError::Rejected(ref r)) if r == "No thanks"));
    assert!(matches!(
        report.recipients[2],
        Err(ServiceError::Refused("sendmail failed"))
    ));
    assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 1);
    let inbox = name("user.bovik");
    let stored = s
        .store
        .read_message(&inbox, types::Uid::new(1).unwrap())
        .unwrap();
    assert_eq!(stored, b"X-Edited: yes\r\n\r\nbody\r\n");
    let records = s
        .store
        .records(
            &inbox,
            mailstore::SeenSource::Index,
            mailstore::UidSelection::All,
            mailstore::RecordFields::BASIC,
        )
        .unwrap();
    assert_eq!(records.len(), 1);
    assert!(records[0]
        .flags
        .contains(&Flag::parse("\\Flagged").unwrap()));
}
