//! The ACL rules as data: one row per rule, named after it; then the access decision checked
//! against an independent model of the rules for random ACLs, identities and operations.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::*;

fn name(s: &str) -> MailboxName {
    MailboxName::try_from(s).unwrap()
}

/// The identities of the table: `fred` (a user), `alice` (in `staff`), `bob` (the owner of
/// `user.bob…`), `admin` (in `admins`) and the unauthenticated identity.
fn who(label: &str) -> Identity {
    match label {
        "anonymous" => Identity::anonymous(),
        "admin" => Identity::new("admin", true),
        "alice" => Identity::new("alice", false).with_groups(vec!["staff".into()]),
        user => Identity::new(user, false),
    }
}

struct Row {
    rule: &'static str,
    /// `defaultacl` form; `-` is "stored before ACLs existed" (the empty string).
    acl: &'static str,
    mailbox: &'static str,
    identity: &'static str,
    rights: &'static str,
}

const fn row(
    rule: &'static str,
    acl: &'static str,
    mailbox: &'static str,
    identity: &'static str,
    rights: &'static str,
) -> Row {
    Row {
        rule,
        acl,
        mailbox,
        identity,
        rights,
    }
}

const ROWS: &[Row] = &[
    row(
        "seed_example_fred",
        "anyone lrsp fred lwi -anonymous s",
        "shared.box",
        "fred",
        "lrswip",
    ),
    row(
        "seed_example_anonymous",
        "anyone lrsp fred lwi -anonymous s",
        "shared.box",
        "anonymous",
        "lrp",
    ),
    row(
        "user_entry_applies_to_its_user",
        "fred lr",
        "shared.box",
        "fred",
        "lr",
    ),
    row(
        "user_entry_not_to_another_user",
        "fred lr",
        "shared.box",
        "alice",
        "",
    ),
    row(
        "user_entry_not_to_anonymous",
        "anonymous lr fred w",
        "shared.box",
        "anonymous",
        "lr",
    ),
    row(
        "group_entry_applies_to_members",
        "group:staff lrw",
        "shared.box",
        "alice",
        "lrw",
    ),
    row(
        "group_entry_not_to_non_members",
        "group:staff lrw",
        "shared.box",
        "fred",
        "",
    ),
    row(
        "anyone_applies_to_users",
        "anyone lrs",
        "shared.box",
        "fred",
        "lrs",
    ),
    row(
        "anyone_applies_to_anonymous",
        "anyone lrs",
        "shared.box",
        "anonymous",
        "lrs",
    ),
    row(
        "anonymous_entry_not_to_users",
        "anonymous lr",
        "shared.box",
        "fred",
        "",
    ),
    row(
        "rights_are_the_union_of_entries",
        "anyone l group:staff r alice w",
        "shared.box",
        "alice",
        "lrw",
    ),
    row(
        "negative_user_entry_removes",
        "anyone lrs -fred r",
        "shared.box",
        "fred",
        "ls",
    ),
    row(
        "negative_group_entry_removes",
        "anyone lrs -group:staff s",
        "shared.box",
        "alice",
        "lr",
    ),
    row(
        "negative_anyone_removes_from_everyone",
        "fred lrsw -anyone w",
        "shared.box",
        "fred",
        "lrs",
    ),
    row(
        "negative_anonymous_not_for_users",
        "fred lrs -anonymous s",
        "shared.box",
        "fred",
        "lrs",
    ),
    row(
        "negative_beats_positive_of_same_user",
        "fred lrs -fred lrs",
        "shared.box",
        "fred",
        "",
    ),
    row(
        "negative_for_another_user_does_not_apply",
        "fred lrs -alice lrs",
        "shared.box",
        "fred",
        "lrs",
    ),
    row("legacy_c_is_k_and_x", "fred c", "shared.box", "fred", "kx"),
    row("legacy_d_is_t_and_e", "fred d", "shared.box", "fred", "te"),
    row(
        "legacy_letters_in_negative_entries",
        "fred lrkxte -fred c",
        "shared.box",
        "fred",
        "lrte",
    ),
    row(
        "implicit_admin_lookup_and_administer",
        "",
        "shared.box",
        "admin",
        "la",
    ),
    row(
        "implicit_admin_never_reads_without_r",
        "bob lrswipkxtean",
        "user.bob",
        "admin",
        "la",
    ),
    row(
        "implicit_admin_adds_to_granted",
        "anyone r",
        "user.bob.x",
        "admin",
        "lra",
    ),
    row(
        "implicit_owner_on_inbox_despite_negative",
        "-bob lrswipkxtean",
        "user.bob",
        "bob",
        "la",
    ),
    row(
        "implicit_owner_on_personal_mailboxes",
        "",
        "user.bob.x.y",
        "bob",
        "la",
    ),
    row("implicit_not_for_other_users", "", "user.bob.x", "fred", ""),
    row(
        "implicit_not_for_a_prefix_of_the_name",
        "",
        "user.bobby",
        "bob",
        "",
    ),
    row(
        "stored_before_acls_owner_has_all",
        "-",
        "user.bob.x",
        "bob",
        "lrswipkxtean",
    ),
    row(
        "stored_before_acls_others_have_none",
        "-",
        "user.bob.x",
        "fred",
        "",
    ),
    row(
        "stored_before_acls_shared_reads_as_defaultacl",
        "-",
        "shared.box",
        "fred",
        "lrs",
    ),
];

#[test]
fn acl_rules_table() {
    let authorizer = UserIds;
    let defaults = MailService::defaults_for_tests();
    for row in ROWS {
        let acl = match row.acl {
            "-" => defaults.read_acl(&name(row.mailbox), "").unwrap(),
            text => Acl::try_from(text).unwrap(),
        };
        let got = rights(&acl, &who(row.identity), &name(row.mailbox), &authorizer);
        assert_eq!(got.to_string(), row.rights, "rule {}", row.rule);
    }
}

/// Every right alone, to each kind of identifier it can be granted to.
#[test]
fn every_right_for_every_identifier_kind() {
    let cases = [
        ("fred", "fred"),
        ("group:staff", "alice"),
        ("anyone", "fred"),
        ("anonymous", "anonymous"),
    ];
    for letter in "lrswipkxtean".chars() {
        for (identifier, identity) in cases {
            let acl = Acl::try_from(format!("{identifier} {letter}").as_str()).unwrap();
            let got = rights(&acl, &who(identity), &name("shared.box"), &UserIds);
            assert_eq!(got.to_string(), letter.to_string(), "{identifier} {letter}");
            let negated =
                Acl::try_from(format!("{identifier} {letter} -{identifier} {letter}").as_str())
                    .unwrap();
            let got = rights(&negated, &who(identity), &name("shared.box"), &UserIds);
            assert!(got.is_empty(), "-{identifier} {letter}");
        }
    }
}

/// RFC 4314 §4: the rights each operation needs.
#[test]
fn operations_need_the_rights_of_rfc4314_section_4() {
    let r = |s: &str| Rights::try_from(s).unwrap();
    let table = [
        (Operation::Read, Need::All(r("r"))),
        (Operation::Lookup, Need::All(r("l"))),
        (Operation::Write, Need::Any(r("swt"))),
        (Operation::Insert, Need::All(r("i"))),
        (Operation::Expunge, Need::All(r("e"))),
        (Operation::Create, Need::OnParent(r("k"))),
        (Operation::RenameTo, Need::OnParent(r("k"))),
        (Operation::DeleteMailbox, Need::All(r("x"))),
        (Operation::Rename, Need::All(r("x"))),
        (Operation::Post, Need::All(r("p"))),
        (Operation::Administer, Need::All(r("a"))),
        (Operation::AnyRight, Need::Any(Rights::ALL)),
    ];
    for (operation, need) in table {
        assert_eq!(operation.needs(), need, "{operation:?}");
    }
    assert!(Need::Any(r("swt")).met_by(r("t")));
    assert!(!Need::Any(r("swt")).met_by(r("lr")));
}

impl MailService {
    /// A service on no store is not possible; this builds one on a temporary directory that
    /// lives as long as the test process (tests only).
    fn defaults_for_tests() -> MailService {
        let dir = tempfile::tempdir().unwrap().keep();
        service(&dir)
    }
}

fn service(dir: &std::path::Path) -> MailService {
    crate::service_for_tests(dir, &["admin"], false)
}

/// Groups for the service-level tests: `alice` is in `staff`.
#[derive(Debug)]
struct Staff;

impl Authorizer for Staff {
    fn canonicalise(&self, identifier: &str) -> Option<String> {
        Some(identifier.to_string())
    }

    fn groups(&self, user: &str) -> Vec<String> {
        if user == "alice" {
            vec!["staff".into()]
        } else {
            Vec::new()
        }
    }
}

fn staff_service(dir: &std::path::Path) -> MailService {
    service(dir).with_access(AccessConfig {
        authorizer: Arc::new(Staff),
        ..AccessConfig::default()
    })
}

#[test]
fn initial_acls_follow_inbox_parent_and_defaultacl() {
    let dir = tempfile::tempdir().unwrap();
    let s = staff_service(dir.path());
    let admin = s.identity("admin");
    s.create_user("bob").unwrap();
    let bob = s.identity("bob");
    assert_eq!(
        s.store.mailbox_entry(&name("user.bob")).unwrap().acl,
        "bob\tlrswipkxtean\t"
    );
    s.set_acl(&bob, "INBOX", "fred", RightsChange::Replace(Rights::READ))
        .unwrap();
    let child = s.authorize(&bob, "INBOX.work", Operation::Create).unwrap();
    s.create(&bob, &child, Vec::new(), None).unwrap();
    assert_eq!(
        s.store.mailbox_entry(&name("user.bob.work")).unwrap().acl,
        "bob\tlrswipkxtean\tfred\tr\t",
        "a child copies its parent's ACL"
    );
    let shared = s.authorize(&admin, "shared", Operation::Create).unwrap();
    s.create(&admin, &shared, Vec::new(), None).unwrap();
    assert_eq!(
        s.store.mailbox_entry(&name("shared")).unwrap().acl,
        "anyone\tlrs\t"
    );
}

#[test]
fn refusals_do_not_reveal_mailboxes_the_identity_cannot_see() {
    let dir = tempfile::tempdir().unwrap();
    let s = staff_service(dir.path());
    s.create_user("bob").unwrap();
    let fred = s.identity("fred");
    let missing = s
        .authorize(&fred, "user.bob.nothing", Operation::Read)
        .unwrap_err();
    let hidden = s.authorize(&fred, "user.bob", Operation::Read).unwrap_err();
    assert!(matches!(missing, ServiceError::NoSuchMailbox));
    assert!(matches!(hidden, ServiceError::NoSuchMailbox));
    // A RENAME source too: a missing one is not decided as a new name (`k` on its parent).
    for source in ["user.bob.nothing", "user.bob"] {
        let refused = s.authorize(&fred, source, Operation::Rename).unwrap_err();
        assert!(matches!(refused, ServiceError::NoSuchMailbox), "{source}");
    }
    assert!(matches!(
        s.get_acl(&fred, "user.bob"),
        Err(ServiceError::NoSuchMailbox)
    ));
    assert!(matches!(
        s.my_rights(&fred, "user.bob"),
        Err(ServiceError::NoSuchMailbox)
    ));
    assert!(matches!(
        s.authorize(&fred, "user.bob", Operation::Create),
        Err(ServiceError::PermissionDenied)
    ));
    let bob = s.identity("bob");
    s.set_acl(&bob, "INBOX", "fred", RightsChange::Replace(Rights::LOOKUP))
        .unwrap();
    assert!(matches!(
        s.authorize(&fred, "user.bob", Operation::Read),
        Err(ServiceError::PermissionDenied)
    ));
    assert_eq!(s.my_rights(&fred, "user.bob").unwrap().to_string(), "l");
    assert!(matches!(
        s.authorize(&fred, "user.bob", Operation::Create),
        Err(ServiceError::AlreadyExists)
    ));
}

#[test]
fn setacl_deleteacl_and_listrights() {
    let dir = tempfile::tempdir().unwrap();
    let s = staff_service(dir.path());
    s.create_user("bob").unwrap();
    let bob = s.identity("bob");
    s.set_acl(
        &bob,
        "INBOX",
        "group:staff",
        RightsChange::try_from("lrc").unwrap(),
    )
    .unwrap();
    s.set_acl(
        &bob,
        "INBOX",
        "group:staff",
        RightsChange::try_from("-x").unwrap(),
    )
    .unwrap();
    s.set_acl(
        &bob,
        "INBOX",
        "-alice",
        RightsChange::try_from("r").unwrap(),
    )
    .unwrap();
    let acl = s.get_acl(&bob, "INBOX").unwrap();
    assert_eq!(
        acl.to_stored(),
        "bob\tlrswipkxtean\tgroup:staff\tlrk\t-alice\tr\t"
    );
    let alice = s.identity("alice");
    assert_eq!(s.my_rights(&alice, "user.bob").unwrap().to_string(), "lk");
    assert!(matches!(
        s.get_acl(&alice, "user.bob"),
        Err(ServiceError::PermissionDenied)
    ));
    s.delete_acl(&bob, "INBOX", "-alice").unwrap();
    assert_eq!(s.my_rights(&alice, "user.bob").unwrap().to_string(), "lrk");
    let (required, optional) = s.list_rights(&bob, "INBOX", "bob").unwrap();
    assert_eq!(required.to_string(), "la");
    assert_eq!(optional.to_string(), "rswipkxten");
    let (required, _) = s.list_rights(&bob, "INBOX", "fred").unwrap();
    assert!(required.is_empty());
    // Both copies of the ACL changed: the mailboxes database and the header file.
    let entry = s.store.mailbox_entry(&name("user.bob")).unwrap();
    assert_eq!(entry.acl, "bob\tlrswipkxtean\tgroup:staff\tlrk\t");
    // The owner can repair an ACL emptied of their own entry.
    s.delete_acl(&bob, "INBOX", "bob").unwrap();
    s.delete_acl(&bob, "INBOX", "group:staff").unwrap();
    assert_eq!(s.my_rights(&bob, "INBOX").unwrap().to_string(), "la");
    assert_eq!(
        s.store.mailbox_entry(&name("user.bob")).unwrap().acl,
        types::acl::EMPTY_STORED,
        "an emptied ACL is not read as one stored before ACLs"
    );
    s.set_acl(&bob, "INBOX", "bob", RightsChange::Replace(Rights::ALL))
        .unwrap();
    assert_eq!(s.my_rights(&bob, "INBOX").unwrap(), Rights::ALL);
}

const IDENTIFIERS: [&str; 5] = ["fred", "alice", "group:staff", "anyone", "anonymous"];
const IDENTITIES: [&str; 5] = ["fred", "alice", "bob", "admin", "anonymous"];
const OPERATIONS: [Operation; 10] = [
    Operation::Read,
    Operation::Write,
    Operation::Insert,
    Operation::Expunge,
    Operation::DeleteMailbox,
    Operation::Rename,
    Operation::Lookup,
    Operation::Post,
    Operation::Administer,
    Operation::AnyRight,
];

/// The rules restated independently of [`rights`], for the property test.
fn model(entries: &[(usize, bool, u16)], identity: &str, mailbox: &str) -> Rights {
    let applies = |identifier: &str| match identifier {
        "anyone" => true,
        "anonymous" => identity == "anonymous",
        "group:staff" => identity == "alice",
        user => user == identity,
    };
    let (mut plus, mut minus) = (Rights::NONE, Rights::NONE);
    // SETACL semantics: a later entry for the same identifier replaces the earlier one.
    let last = |at: usize, id: usize, negative: bool| {
        !entries[at + 1..]
            .iter()
            .any(|&(i, n, _)| i == id && n == negative)
    };
    for (at, &(id, negative, bits)) in entries.iter().enumerate() {
        if !last(at, id, negative) {
            continue;
        }
        let r = Rights::ALL
            .iter()
            .enumerate()
            .fold(Rights::NONE, |acc, (i, right)| {
                if bits & (1 << i) != 0 {
                    acc.union(right)
                } else {
                    acc
                }
            });
        if applies(IDENTIFIERS[id]) {
            if negative {
                minus = minus.union(r);
            } else {
                plus = plus.union(r);
            }
        }
    }
    let owner = identity == "bob" && mailbox.starts_with("user.bob");
    let implicit = if identity == "admin" || owner {
        Rights::try_from("la").unwrap()
    } else {
        Rights::NONE
    };
    plus.minus(minus).union(implicit)
}

#[test]
fn authorize_allows_exactly_what_the_rights_grant() {
    let dir = tempfile::tempdir().unwrap();
    let s = staff_service(dir.path());
    s.create_user("bob").unwrap();
    let admin = s.identity("admin");
    for mailbox in ["shared", "user.bob.box"] {
        let m = s.authorize(&admin, mailbox, Operation::Create).unwrap();
        s.create(&admin, &m, Vec::new(), None).unwrap();
    }
    let entries = proptest::collection::vec((0..5usize, any::<bool>(), 0..4096u16), 0..6);
    let strategy = (entries, 0..5usize, 0..10usize, any::<bool>());
    let mut runner = TestRunner::new(Config::with_cases(256));
    runner
        .run(&strategy, |(entries, who_at, op_at, personal)| {
            let mailbox = if personal { "user.bob.box" } else { "shared" };
            let mut acl = Acl::default();
            for &(id, negative, bits) in &entries {
                let sign = if negative { "-" } else { "" };
                let letters: String = "lrswipkxtean"
                    .chars()
                    .enumerate()
                    .filter(|(i, _)| bits & (1 << i) != 0)
                    .map(|(_, c)| c)
                    .collect();
                let identifier =
                    Identifier::try_from(format!("{sign}{}", IDENTIFIERS[id]).as_str()).unwrap();
                acl.apply(
                    identifier,
                    RightsChange::Replace(Rights::try_from(letters.as_str()).unwrap()),
                );
            }
            s.store.set_acl(&name(mailbox), &acl.to_stored()).unwrap();
            let identity_label = IDENTITIES[who_at];
            let identity = if identity_label == "anonymous" {
                s.anonymous_identity()
            } else {
                s.identity(identity_label)
            };
            let expected = model(&entries, identity_label, mailbox);
            let operation = OPERATIONS[op_at];
            let management = identity.is_admin() && operation.is_management();
            let result = s.authorize_internal(&identity, name(mailbox), operation);
            prop_assert_eq!(
                result.is_ok(),
                operation.needs().met_by(expected) || management,
                "{:?} by {} on {} with {:?}: {:?}",
                operation,
                identity_label,
                mailbox,
                acl,
                result
            );
            match result {
                Ok(a) => prop_assert_eq!(a.rights(), expected),
                Err(ServiceError::NoSuchMailbox) => {
                    prop_assert!(!expected.contains(Rights::LOOKUP))
                }
                Err(ServiceError::PermissionDenied) => {
                    prop_assert!(expected.contains(Rights::LOOKUP))
                }
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
            let visible = s
                .list_visible(&identity)
                .unwrap()
                .iter()
                .any(|e| e.name.as_str() == mailbox);
            prop_assert_eq!(visible, expected.contains(Rights::LOOKUP));
            Ok(())
        })
        .unwrap();
}

/// A mailbox whose stored ACL cannot be read does not take LIST down: it lists with the
/// implicit rights alone, so its owner and the administrators see it, and others do not.
#[test]
fn an_unreadable_acl_lists_with_implicit_rights_only() {
    let dir = tempfile::tempdir().unwrap();
    let s = staff_service(dir.path());
    s.create_user("bob").unwrap();
    let bob = s.identity("bob");
    let work = s.authorize(&bob, "INBOX.work", Operation::Create).unwrap();
    s.create(&bob, &work, Vec::new(), None).unwrap();
    s.set_acl(
        &bob,
        "INBOX.work",
        "anyone",
        RightsChange::Replace(Rights::try_from("lr").unwrap()),
    )
    .unwrap();
    s.store
        .set_acl(&name("user.bob.work"), "anyone\tlQ\t")
        .unwrap();
    let names = |who: &Identity| -> Vec<String> {
        s.list_visible(who)
            .unwrap()
            .into_iter()
            .map(|e| e.name.to_string())
            .collect()
    };
    assert_eq!(names(&bob), ["user.bob", "user.bob.work"]);
    assert!(names(&s.identity("admin")).contains(&"user.bob.work".to_string()));
    assert!(names(&s.identity("fred")).is_empty());
}
