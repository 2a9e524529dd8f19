//! The executor against the RFCs' examples and rules. Programs are built here without the
//! checker (which grows its extensions separately): the scripts below are valid.

use std::collections::HashMap;
use std::sync::Arc;

use super::{execute, uses_test};
use crate::check::Checked;
use crate::interp::{
    duplicate_key, Action, Envelope, Fcc, Host, IncludeLocation, MessageView, Notify, Outcome,
    Program, RunLimits, Store, Vacation,
};

fn program(text: &str) -> Program {
    let script = crate::parse(text.as_bytes()).expect("the test script parses");
    let mut requires: Vec<&'static str> = Vec::new();
    for r in &script.requires {
        for c in &r.capabilities {
            let known = crate::SUPPORTED
                .iter()
                .find(|k| **k == c.as_str())
                .expect("a capability the tests know");
            if !requires.contains(known) {
                requires.push(known);
            }
        }
    }
    Program {
        needs_body: uses_test(&script, "body"),
        script,
        checked: Checked {
            requires,
            ihave: Vec::new(),
        },
    }
}

/// A host with a fixed mailbox list, duplicate records, scripts and clock.
struct TestHost {
    mailboxes: Vec<&'static str>,
    special_uses: Vec<(&'static str, &'static str)>,
    ids: Vec<&'static str>,
    seen: Vec<String>,
    scripts: HashMap<String, Arc<Program>>,
    environment: Vec<(&'static str, &'static str)>,
    now: time::OffsetDateTime,
}

impl Default for TestHost {
    fn default() -> TestHost {
        TestHost {
            mailboxes: vec!["INBOX", "Sent", "Junk"],
            special_uses: vec![("Junk", "\\Junk"), ("Sent", "\\Sent")],
            ids: vec!["F1234"],
            seen: Vec::new(),
            scripts: HashMap::new(),
            environment: vec![("domain", "example.net")],
            // 2026-03-14 15:09:26 +01:00, a Saturday.
            now: time::macros::datetime!(2026-03-14 15:09:26 +01:00),
        }
    }
}

impl TestHost {
    fn with_script(mut self, name: &str, text: &str) -> TestHost {
        self.scripts
            .insert(name.to_owned(), Arc::new(program(text)));
        self
    }
}

impl Host for TestHost {
    fn mailbox_exists(&self, mailbox: &str) -> bool {
        self.mailboxes.contains(&mailbox)
    }
    fn special_use_exists(&self, mailbox: Option<&str>, uses: &[String]) -> bool {
        uses.iter().all(|u| {
            self.special_uses
                .iter()
                .any(|(m, s)| s == u && mailbox.is_none_or(|want| want == *m))
        })
    }
    fn mailbox_id_exists(&self, id: &str) -> bool {
        self.ids.contains(&id)
    }
    fn duplicate_seen(&self, key: &str, _period: u64) -> bool {
        self.seen.iter().any(|s| s == key)
    }
    fn include(
        &self,
        location: IncludeLocation,
        name: &str,
    ) -> Result<Option<Arc<Program>>, String> {
        let name = match location {
            IncludeLocation::Personal => name.to_owned(),
            IncludeLocation::Global => format!("global/{name}"),
        };
        Ok(self.scripts.get(&name).cloned())
    }
    fn environment(&self, name: &str) -> Option<String> {
        self.environment
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    }
    fn now(&self) -> time::OffsetDateTime {
        self.now
    }
}

const MESSAGE: &str =
    "Received: from mx.example.org by mail.example.net; Sat, 14 Mar 2026 10:00:00 +0000\r\n\
Date: Fri, 13 Mar 2026 22:30:00 -0500\r\n\
From: Alice <alice@example.org>\r\n\
Sender: owner-ietf-mta-filters@imc.org\r\n\
To: bob@example.net, carol@example.com\r\n\
Cc: dave@example.org\r\n\
Subject: Make lots of money fast\r\n\
Message-ID: <1234@example.org>\r\n\
List-ID: Sieve list <sieve.example.org>\r\n\
X-Spam-Score: 7\r\n\
\r\n\
Hello Bob,\r\nthis is the body.\r\n";

const ENVELOPE: Envelope<'static> = Envelope {
    from: "alice@example.org",
    to: "bob+lists@example.net",
    auth: None,
};

fn run_full(
    script: &str,
    message: &str,
    envelope: &Envelope<'_>,
    host: &TestHost,
    limits: &RunLimits,
) -> (Outcome, MessageView) {
    let p = program(script);
    let mut view = MessageView::new(message.as_bytes(), message.len() as u64);
    let outcome = execute(&p, &mut view, envelope, host, limits);
    (outcome, view)
}

fn run(script: &str) -> Outcome {
    run_full(
        script,
        MESSAGE,
        &ENVELOPE,
        &TestHost::default(),
        &RunLimits::default(),
    )
    .0
}

fn run_host(script: &str, host: &TestHost) -> Outcome {
    run_full(script, MESSAGE, &ENVELOPE, host, &RunLimits::default()).0
}

fn keep() -> Action {
    Action::Keep(Store::default())
}

fn keep_flags(flags: &[&str]) -> Action {
    Action::Keep(Store {
        flags: Some(flags.iter().map(|f| (*f).to_owned()).collect()),
        ..Store::default()
    })
}

fn fileinto(mailbox: &str) -> Action {
    Action::FileInto {
        mailbox: mailbox.to_owned(),
        store: Store::default(),
        create: false,
        special_use: None,
        mailbox_id: None,
    }
}

fn redirect(address: &str, copy: bool) -> Action {
    Action::Redirect {
        address: address.to_owned(),
        copy,
        header: None,
    }
}

/// The actions of a run that must succeed.
fn actions(script: &str) -> Vec<Action> {
    let o = run(script);
    assert_eq!(o.error, None, "script:\n{script}");
    o.actions
}

/// The reason of a run that must fail; the outcome is then the implicit keep alone.
fn failure(outcome: Outcome) -> String {
    assert_eq!(outcome.actions, vec![keep()]);
    assert!(outcome.duplicates.is_empty());
    outcome.error.expect("the run fails")
}

// RFC 5228 §9: the example script, under four messages.
const RFC5228_EXAMPLE: &str = r#"
require ["fileinto"];
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        fileinto "personal";
        }
"#;

fn example_for(message: &str) -> Vec<Action> {
    let (o, _) = run_full(
        RFC5228_EXAMPLE,
        message,
        &ENVELOPE,
        &TestHost::default(),
        &RunLimits::default(),
    );
    assert_eq!(o.error, None);
    o.actions
}

#[test]
fn rfc5228_example_files_the_list_into_filter() {
    assert_eq!(example_for(MESSAGE), vec![fileinto("filter")]);
}

#[test]
fn rfc5228_example_keeps_the_company_mail() {
    let m = "From: boss@example.com\r\nTo: me@example.com\r\nSubject: hi\r\n\r\nx\r\n";
    assert_eq!(example_for(m), vec![keep()]);
}

#[test]
fn rfc5228_example_files_mail_not_to_me_as_spam() {
    let m = "From: x@example.org\r\nTo: other@example.org\r\nSubject: hi\r\n\r\nx\r\n";
    assert_eq!(example_for(m), vec![fileinto("spam")]);
}

#[test]
fn rfc5228_example_files_other_mail_into_personal() {
    let m = "From: x@example.org\r\nTo: y@example.org\r\nCc: me@example.com\r\nSubject: lunch\r\n\r\nx\r\n";
    assert_eq!(example_for(m), vec![fileinto("personal")]);
}

#[test]
fn an_empty_script_keeps_implicitly() {
    assert_eq!(actions(""), vec![keep()]);
}

#[test]
fn discard_cancels_the_implicit_keep_and_keep_restores_it() {
    assert_eq!(actions("discard;"), Vec::<Action>::new());
    assert_eq!(actions("discard; keep;"), vec![keep()]);
    assert_eq!(actions("keep; discard;"), vec![keep()]);
}

#[test]
fn fileinto_cancels_the_implicit_keep_but_not_with_copy() {
    assert_eq!(
        actions("require \"fileinto\"; fileinto \"A\";"),
        vec![fileinto("A")]
    );
    let copied = actions("require [\"fileinto\", \"copy\"]; fileinto :copy \"A\";");
    let Some(Action::FileInto { store, .. }) = copied.first() else {
        panic!("a fileinto first: {copied:?}");
    };
    assert!(store.copy);
    assert_eq!(copied.get(1), Some(&keep()));
    assert_eq!(copied.len(), 2);
}

#[test]
fn the_same_mailbox_or_address_twice_is_done_once() {
    let a = actions(
        "require \"fileinto\"; fileinto \"A\"; fileinto \"B\"; fileinto \"A\";\
         redirect \"x@example.org\"; redirect \"X@example.org\";",
    );
    assert_eq!(
        a,
        vec![
            fileinto("A"),
            fileinto("B"),
            redirect("x@example.org", false)
        ]
    );
}

#[test]
fn stop_ends_the_script() {
    assert_eq!(
        actions("require \"fileinto\"; stop; fileinto \"A\";"),
        vec![keep()]
    );
}

#[test]
fn redirect_copy_keeps_implicitly_and_a_bad_address_fails() {
    assert_eq!(
        actions("require \"copy\"; redirect :copy \"a@example.org\";"),
        vec![redirect("a@example.org", true), keep()]
    );
    let reason = failure(run("redirect \"not an address\";"));
    assert!(reason.contains("no address"), "{reason}");
}

#[test]
fn size_exists_and_true_false() {
    assert_eq!(
        actions("if allof (size :under 10K, size :over 10, exists [\"From\", \"To\"], true, not false) { discard; }"),
        Vec::<Action>::new()
    );
    assert_eq!(
        actions("if exists [\"From\", \"X-None\"] { discard; }"),
        vec![keep()]
    );
    assert_eq!(actions("if size :over 1M { discard; }"), vec![keep()]);
}

#[test]
fn header_tests_every_name_and_key() {
    assert_eq!(
        actions(
            "if header :contains [\"X-None\", \"Subject\"] [\"nothing\", \"MONEY\"] { discard; }"
        ),
        Vec::<Action>::new()
    );
    assert_eq!(
        actions("if header :comparator \"i;octet\" :contains \"Subject\" \"MONEY\" { discard; }"),
        vec![keep()]
    );
}

#[test]
fn address_parts() {
    assert_eq!(
        actions("if address :localpart \"From\" \"alice\" { discard; }"),
        Vec::<Action>::new()
    );
    assert_eq!(
        actions("if address :domain :is \"To\" \"example.com\" { discard; }"),
        Vec::<Action>::new()
    );
    assert_eq!(
        actions("if address :is \"From\" \"Alice\" { discard; }"),
        vec![keep()]
    );
}

#[test]
fn envelope_parts_and_subaddress() {
    let s = "require [\"envelope\", \"subaddress\"];\
             if allof (envelope :user \"to\" \"bob\", envelope :detail \"to\" \"lists\",\
                       envelope :domain \"from\" \"example.org\") { discard; }";
    assert_eq!(actions(s), Vec::<Action>::new());
    // RFC 5228 §5.4: the null reverse-path is the empty string, whatever the part.
    let null = Envelope {
        from: "",
        to: "bob@example.net",
        auth: None,
    };
    let s = "require \"envelope\"; if envelope :localpart :is \"from\" \"\" { discard; }";
    let (o, _) = run_full(
        s,
        MESSAGE,
        &null,
        &TestHost::default(),
        &RunLimits::default(),
    );
    assert_eq!(o.actions, Vec::<Action>::new());
    // RFC 5233 §4: no separator, no detail.
    let s = "require [\"envelope\", \"subaddress\"]; if envelope :detail :matches \"to\" \"*\" { discard; }";
    let (o, _) = run_full(
        s,
        MESSAGE,
        &null,
        &TestHost::default(),
        &RunLimits::default(),
    );
    assert_eq!(o.actions, vec![keep()]);
}

#[test]
fn relational_count_and_value() {
    assert_eq!(
        actions(
            "require [\"relational\", \"comparator-i;ascii-numeric\"];\
             if address :count \"ge\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] \"3\" { discard; }"
        ),
        Vec::<Action>::new()
    );
    assert_eq!(
        actions(
            "require [\"relational\", \"comparator-i;ascii-numeric\"];\
             if header :value \"gt\" :comparator \"i;ascii-numeric\" \"X-Spam-Score\" \"9\" { discard; }"
        ),
        vec![keep()]
    );
}

#[test]
fn variables_rfc5229_examples() {
    // RFC 5229 §4.1: modifiers apply by precedence, whatever their order.
    let s = "require [\"variables\", \"fileinto\"];\
             set \"a\" \"juMBlEd lETteRS\";\
             set :upperfirst :lower \"b\" \"${a}\";\
             set :length \"c\" \"${a}\";\
             fileinto \"${b}.${c}\";";
    assert_eq!(actions(s), vec![fileinto("Jumbled letters.15")]);
    let s = "require [\"variables\", \"fileinto\"];\
             set \"honorific\" \"Mr\"; set \"last_name\" \"Doe\";\
             set :upper \"shout\" \"${HONORIFIC} ${last_name}\";\
             fileinto \"${shout}\";";
    let a = actions(s);
    assert_eq!(a, vec![fileinto("MR DOE")]);
    // Match variables of :matches (RFC 5229 §3.2).
    let s = "require [\"variables\", \"fileinto\"];\
             if header :matches \"List-ID\" \"*<*.*>\" { fileinto \"lists.${2}\"; stop; }";
    assert_eq!(actions(s), vec![fileinto("lists.sieve")]);
    // Without `require "variables"`, nothing is expanded.
    assert_eq!(
        actions("require \"fileinto\"; fileinto \"${x}\";"),
        vec![fileinto("${x}")]
    );
}

#[test]
fn a_failed_match_leaves_the_match_variables() {
    let s = "require [\"variables\", \"fileinto\"];\
             if header :matches \"Subject\" \"Make *\" { }\
             if header :matches \"Subject\" \"nothing*\" { }\
             fileinto \"${1}\";";
    assert_eq!(actions(s), vec![fileinto("lots of money fast")]);
}

#[test]
fn string_test_does_not_count_empty_strings() {
    let s = "require [\"variables\", \"relational\"];\
             set \"empty\" \"\"; set \"one\" \"1\";\
             if string :count \"eq\" [\"${empty}\", \"${one}\"] \"1\" { discard; }";
    assert_eq!(actions(s), Vec::<Action>::new());
}

#[test]
fn variables_are_bounded() {
    let limits = RunLimits {
        max_variables: 2,
        max_variable_len: 4,
        ..RunLimits::default()
    };
    let s = "require [\"variables\", \"fileinto\"]; set \"a\" \"123456\"; fileinto \"${a}\";";
    let (o, _) = run_full(s, MESSAGE, &ENVELOPE, &TestHost::default(), &limits);
    assert_eq!(o.actions, vec![fileinto("1234")]);
    let s = "require [\"variables\", \"fileinto\"]; if header :matches \"subject\" \"*\" { fileinto \"${0}\"; }";
    let (o, _) = run_full(s, MESSAGE, &ENVELOPE, &TestHost::default(), &limits);
    assert_eq!(o.actions, vec![fileinto("Make")]);
    let s = "require \"variables\"; set \"a\" \"1\"; set \"b\" \"2\"; set \"a\" \"3\"; set \"c\" \"4\";";
    let (o, _) = run_full(s, MESSAGE, &ENVELOPE, &TestHost::default(), &limits);
    assert!(failure(o).contains("variables"));
}

#[test]
fn imap4flags_rfc5232() {
    let s = "require [\"imap4flags\", \"fileinto\"];\
             setflag \"\\\\Seen \\\\Flagged\";\
             addflag [\"$Work\", \"\\\\seen\"];\
             removeflag \"\\\\Flagged\";\
             if hasflag :is \"$work\" { fileinto :flags \"\\\\Answered\" \"Work\"; }";
    let a = actions(s);
    assert_eq!(
        a,
        vec![Action::FileInto {
            mailbox: "Work".into(),
            store: Store {
                flags: Some(vec!["\\Answered".into()]),
                ..Store::default()
            },
            create: false,
            special_use: None,
            mailbox_id: None,
        }]
    );
    // The implicit keep takes the internal variable.
    assert_eq!(
        actions("require \"imap4flags\"; addflag \"\\\\Seen\"; addflag \"\\\\SEEN $x\";"),
        vec![keep_flags(&["\\Seen", "$x"])]
    );
    // A named variable instead of the internal one.
    let s = "require [\"imap4flags\", \"variables\"];\
             setflag \"f\" \"a b\"; addflag \"f\" \"c\"; removeflag \"f\" \"a\";\
             if allof (hasflag \"f\" \"c\", not hasflag \"f\" \"a\") { keep :flags \"${f}\"; }";
    assert_eq!(actions(s), vec![keep_flags(&["b", "c"])]);
}

#[test]
fn stores_carry_no_flags_without_imap4flags() {
    assert_eq!(actions("keep;"), vec![keep()]);
}

#[test]
fn reject_cancels_the_implicit_keep_and_conflicts_with_delivery() {
    let s = "require \"reject\"; reject \"no thanks\";";
    assert_eq!(
        actions(s),
        vec![Action::Reject {
            reason: "no thanks".into(),
            extended: false
        }]
    );
    let s = "require [\"reject\", \"fileinto\"]; fileinto \"A\"; reject \"no\";";
    assert!(failure(run(s)).contains("reject"));
    let s = "require [\"ereject\"]; ereject \"no\"; keep;";
    assert!(failure(run(s)).contains("reject"));
    let s = "require [\"reject\", \"vacation\"]; vacation \"away\"; reject \"no\";";
    assert!(failure(run(s)).contains("vacation"));
}

#[test]
fn vacation_rfc5230() {
    let s = "require \"vacation\";\
             vacation :days 23 :addresses [\"tjs@example.edu\", \"ts4z@landru.example.edu\"]\
             \"I'm away until October 19.\";";
    let a = actions(s);
    let [Action::Vacation(v), k] = a.as_slice() else {
        panic!("a vacation and the implicit keep: {a:?}");
    };
    assert_eq!(k, &keep());
    assert_eq!(v.period, 23 * 86_400);
    assert_eq!(v.addresses.len(), 2);
    assert_eq!(v.reason, "I'm away until October 19.");
    assert!(!v.handle.is_empty());
    // The default handle differs with the reason (RFC 5230 §4.2).
    let other = actions("require \"vacation\"; vacation :days 23 \"Back soon.\";");
    let Some(Action::Vacation(w)) = other.first() else {
        panic!("a vacation");
    };
    assert_ne!(v.handle, w.handle);
    assert_eq!(
        actions("require \"vacation-seconds\"; vacation :seconds 60 :handle \"h\" :subject \"s\" \"r\";"),
        vec![
            Action::Vacation(Vacation {
                period: 60,
                subject: Some("s".into()),
                from: None,
                addresses: Vec::new(),
                mime: false,
                handle: "h".into(),
                reason: "r".into(),
                fcc: None,
            }),
            keep()
        ]
    );
    assert!(
        failure(run("require \"vacation\"; vacation \"a\"; vacation \"b\";")).contains("twice")
    );
}

#[test]
fn vacation_fcc_rfc8580() {
    let s = "require [\"vacation\", \"fcc\", \"imap4flags\", \"mailbox\"];\
             vacation :fcc \"Sent\" :flags \"\\\\Seen\" :create \"away\";";
    let a = actions(s);
    let Some(Action::Vacation(v)) = a.first() else {
        panic!("a vacation: {a:?}");
    };
    assert_eq!(
        v.fcc,
        Some(Fcc {
            mailbox: "Sent".into(),
            flags: Some(vec!["\\Seen".into()]),
            create: true,
            special_use: None,
            mailbox_id: None,
        })
    );
}

#[test]
fn duplicate_rfc7352() {
    let s = "require \"duplicate\"; if duplicate { discard; }";
    let o = run(s);
    assert_eq!(o.actions, vec![keep()]);
    let key = duplicate_key("", "<1234@example.org>");
    assert_eq!(
        o.duplicates,
        vec![(key.clone(), super::eval::DEFAULT_DUPLICATE_PERIOD)]
    );
    let host = TestHost {
        seen: vec![key],
        ..TestHost::default()
    };
    let o = run_host(s, &host);
    assert_eq!(o.actions, Vec::<Action>::new());
    assert!(o.duplicates.is_empty());
    // :last refreshes the record of a message seen before.
    let o = run_host(
        "require \"duplicate\"; if duplicate :last :seconds 60 { discard; }",
        &host,
    );
    assert_eq!(o.actions, Vec::<Action>::new());
    assert_eq!(o.duplicates.len(), 1);
    // :handle and :header make other keys; the same key twice in one run is a duplicate.
    let o = run("require \"duplicate\";\
         if duplicate :handle \"a\" :header \"subject\" { discard; }\
         if duplicate :handle \"a\" :header \"subject\" { discard; }");
    assert_eq!(o.actions, Vec::<Action>::new());
    assert_eq!(
        o.duplicates,
        vec![(
            duplicate_key("a", "Make lots of money fast"),
            super::eval::DEFAULT_DUPLICATE_PERIOD
        )]
    );
}

#[test]
fn a_failed_run_records_no_duplicate() {
    let o = run("require \"duplicate\"; if not duplicate { redirect \"bad\"; }");
    assert!(failure(o).contains("address"));
}

#[test]
fn mailbox_rfc5490() {
    let s = "require [\"mailbox\", \"fileinto\"];\
             if mailboxexists [\"Junk\", \"INBOX\"] { fileinto :create \"Junk/new\"; }\
             if mailboxexists \"Nothing\" { discard; }";
    assert_eq!(
        actions(s),
        vec![Action::FileInto {
            mailbox: "Junk/new".into(),
            store: Store::default(),
            create: true,
            special_use: None,
            mailbox_id: None,
        }]
    );
}

#[test]
fn special_use_and_mailboxid() {
    let s = "require [\"special-use\", \"mailboxid\", \"fileinto\"];\
             if allof (specialuse_exists \"\\\\Junk\", specialuse_exists \"Junk\" \"\\\\Junk\",\
                       not specialuse_exists \"Sent\" \"\\\\Junk\", mailboxidexists \"F1234\",\
                       not mailboxidexists \"F9\")\
             { fileinto :specialuse \"\\\\Junk\" :mailboxid \"F1234\" \"Spam\"; }";
    assert_eq!(
        actions(s),
        vec![Action::FileInto {
            mailbox: "Spam".into(),
            store: Store::default(),
            create: false,
            special_use: Some("\\Junk".into()),
            mailbox_id: Some("F1234".into()),
        }]
    );
}

#[test]
fn body_rfc5173() {
    let s = "require \"body\"; if body :contains \"this is the body\" { discard; }";
    assert_eq!(actions(s), Vec::<Action>::new());
    assert!(program(s).needs_body());
    assert!(!program("if true { keep; }").needs_body());
}

#[test]
fn date_and_currentdate_rfc5260() {
    // The Date field in its own zone, in UTC, and in the host's zone (+01:00).
    let s = "require [\"date\", \"relational\"];\
             if allof (date :originalzone \"date\" \"date\" \"2026-03-13\",\
                       date :zone \"+0000\" \"date\" \"hour\" \"03\",\
                       date \"date\" \"date\" \"2026-03-14\",\
                       date :value \"ge\" \"received\" \"date\" \"2026-03-14\",\
                       currentdate :zone \"+0000\" \"time\" \"14:09:26\",\
                       currentdate \"weekday\" \"6\")\
             { discard; }";
    assert_eq!(actions(s), Vec::<Action>::new());
    assert_eq!(
        actions("require \"date\"; if date \"x-none\" \"year\" \"2026\" { discard; }"),
        vec![keep()]
    );
}

#[test]
fn index_selects_one_field() {
    let m = "Received: from a; Sat, 14 Mar 2026 10:00:00 +0000\r\n\
             Received: from b; Fri, 13 Mar 2026 10:00:00 +0000\r\n\
             To: x@example.org\r\nTo: y@example.org, z@example.org\r\n\r\nbody\r\n";
    let s = "require [\"date\", \"index\"];\
             if allof (date :index 1 :last \"received\" \"day\" \"13\",\
                       date :index 1 \"received\" \"day\" \"14\",\
                       address :index 2 \"to\" \"z@example.org\",\
                       not address :index 1 \"to\" \"z@example.org\",\
                       header :index 1 :last :contains \"received\" \"from b\")\
             { discard; }";
    let (o, _) = run_full(s, m, &ENVELOPE, &TestHost::default(), &RunLimits::default());
    assert_eq!(o.error, None);
    assert_eq!(o.actions, Vec::<Action>::new());
}

#[test]
fn enotify_rfc5435() {
    let s = "require [\"enotify\", \"variables\"];\
             if allof (valid_notify_method \"mailto:alert@example.org\",\
                       not valid_notify_method \"xmpp:a@example.org\",\
                       not valid_notify_method \"mailto:\",\
                       notify_method_capability \"mailto:a@example.org\" \"online\" \"maybe\")\
             { notify :importance \"1\" :message \"You got mail\" \"mailto:alert@example.org?subject=New\"; }";
    assert_eq!(
        actions(s),
        vec![
            Action::Notify(Notify {
                method: "mailto:alert@example.org?subject=New".into(),
                from: None,
                importance: 1,
                options: Vec::new(),
                message: Some("You got mail".into()),
                fcc: None,
            }),
            keep()
        ]
    );
    let reason = failure(run("require \"enotify\"; notify \"xmpp:a@example.org\";"));
    assert!(reason.contains("notification method"), "{reason}");
}

#[test]
fn editheader_rfc5293() {
    let s = "require [\"editheader\", \"fileinto\"];\
             addheader \"X-Sieve\" \"seen\";\
             fileinto \"A\";\
             deleteheader :contains \"subject\" \"money\";\
             deleteheader \"received\";";
    let (o, view) = run_full(
        s,
        MESSAGE,
        &ENVELOPE,
        &TestHost::default(),
        &RunLimits::default(),
    );
    assert_eq!(o.error, None);
    let [Action::FileInto { store, .. }] = o.actions.as_slice() else {
        panic!("one fileinto: {:?}", o.actions);
    };
    let at_fileinto = store.header.clone().expect("the header was edited");
    let text = String::from_utf8_lossy(&at_fileinto);
    assert!(text.contains("X-Sieve: seen"));
    assert!(
        text.contains("Subject:"),
        "the subject was deleted after the fileinto"
    );
    assert!(view.header_values("subject").is_empty());
    // RFC 5293: Received stays.
    assert_eq!(view.header_values("received").len(), 1);
    assert_eq!(*view.header_values("x-sieve"), vec!["seen".to_owned()]);
    let reason = failure(run("require \"editheader\"; addheader \"Bad Name\" \"x\";"));
    assert!(reason.contains("field name"));
}

#[test]
fn editheader_is_bounded() {
    let limits = RunLimits {
        max_added_headers: 2,
        ..RunLimits::default()
    };
    let s = "require \"editheader\"; addheader \"X-A\" \"1\"; addheader \"X-A\" \"2\"; addheader \"X-A\" \"3\";";
    let (o, _) = run_full(s, MESSAGE, &ENVELOPE, &TestHost::default(), &limits);
    assert!(failure(o).contains("header fields"));
}

#[test]
fn ihave_and_error_rfc5463() {
    let s = "require \"ihave\";\
             if ihave \"nonexistent-extension\" { nonexistent; }\
             elsif ihave \"fileinto\" { fileinto \"A\"; }";
    assert_eq!(actions(s), vec![fileinto("A")]);
    let reason = failure(run("require \"ihave\"; error \"broken\";"));
    assert!(reason.contains("broken"));
}

#[test]
fn environment_rfc5183() {
    let s = format!(
        "require \"environment\";\
         if allof (environment \"domain\" \"example.net\", environment \"name\" \"Darius\",\
                   environment \"version\" \"{}\", not environment :matches \"remote-ip\" \"*\")\
         {{ discard; }}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(actions(&s), Vec::<Action>::new());
}

#[test]
fn regex_match_variables() {
    let s = "require [\"regex\", \"variables\", \"fileinto\"];\
             if address :regex \"from\" \"^([a-z]+)@example\\\\.(org)$\" { fileinto \"${1}.${2}\"; }";
    assert_eq!(actions(s), vec![fileinto("alice.org")]);
}

#[test]
fn encoded_characters_are_decoded_when_required() {
    let s = "require [\"encoded-character\", \"fileinto\"]; fileinto \"${hex:41 42}\";";
    assert_eq!(actions(s), vec![fileinto("AB")]);
}

#[test]
fn include_rfc6609_globals_return_once_optional() {
    let host = TestHost::default()
        .with_script(
            "lists",
            "require [\"include\", \"variables\", \"fileinto\"];\
             global \"box\";\
             set \"local\" \"inner\";\
             if true { fileinto \"${box}\"; return; }\
             discard;",
        )
        .with_script("global/spam", "require \"fileinto\"; fileinto \"Junk\";");
    let s = "require [\"include\", \"variables\", \"fileinto\"];\
             global \"box\"; set \"box\" \"Lists\"; set \"local\" \"outer\";\
             include \"lists\";\
             include :once \"lists\";\
             include :global :once \"spam\";\
             include :global :once \"spam\";\
             include :optional \"missing\";\
             fileinto \"${local}.${global.box}\";";
    let o = run_host(s, &host);
    assert_eq!(o.error, None);
    assert_eq!(
        o.actions,
        vec![fileinto("Lists"), fileinto("Junk"), fileinto("outer.Lists")]
    );
    let reason = failure(run_host("require \"include\"; include \"missing\";", &host));
    assert!(reason.contains("does not exist"));
}

#[test]
fn include_loops_and_depth_fail() {
    let host = TestHost::default()
        .with_script("a", "require \"include\"; include \"b\";")
        .with_script("b", "require \"include\"; include \"a\";");
    let reason = failure(run_host("require \"include\"; include \"a\";", &host));
    assert!(reason.contains("includes itself"), "{reason}");
    let host = TestHost::default()
        .with_script("1", "require \"include\"; include \"2\";")
        .with_script("2", "require \"include\"; include \"3\";")
        .with_script("3", "keep;");
    let limits = RunLimits {
        max_include_depth: 2,
        ..RunLimits::default()
    };
    let (o, _) = run_full(
        "require \"include\"; include \"1\";",
        MESSAGE,
        &ENVELOPE,
        &host,
        &limits,
    );
    assert!(failure(o).contains("deeper"));
}

#[test]
fn stop_in_an_included_script_stops_everything() {
    let host = TestHost::default().with_script("s", "stop;");
    let o = run_host(
        "require [\"include\", \"fileinto\"]; include \"s\"; fileinto \"A\";",
        &host,
    );
    assert_eq!(o.actions, vec![keep()]);
}

#[test]
fn redirects_past_the_limit_fail() {
    let limits = RunLimits {
        max_redirects: 2,
        ..RunLimits::default()
    };
    let s = "redirect \"a@example.org\"; redirect \"b@example.org\"; redirect \"c@example.org\";";
    let (o, _) = run_full(s, MESSAGE, &ENVELOPE, &TestHost::default(), &limits);
    assert!(failure(o).contains("redirects"));
    let s = "redirect \"a@example.org\"; redirect \"b@example.org\";";
    let (o, _) = run_full(s, MESSAGE, &ENVELOPE, &TestHost::default(), &limits);
    assert_eq!(o.error, None);
}

#[test]
fn actions_and_steps_past_the_limit_fail() {
    let limits = RunLimits {
        max_actions: 2,
        ..RunLimits::default()
    };
    let s = "require \"fileinto\"; fileinto \"a\"; fileinto \"b\"; fileinto \"c\";";
    let (o, _) = run_full(s, MESSAGE, &ENVELOPE, &TestHost::default(), &limits);
    assert!(failure(o).contains("actions"));
    let limits = RunLimits {
        max_steps: 5,
        ..RunLimits::default()
    };
    let s = "if header :contains [\"a\", \"b\", \"c\"] [\"x\", \"y\"] { keep; } keep; keep; keep; keep; keep;";
    let (o, _) = run_full(s, MESSAGE, &ENVELOPE, &TestHost::default(), &limits);
    assert!(failure(o).contains("steps"));
}

#[test]
fn uses_test_looks_into_nested_tests_and_blocks() {
    let p = program("if true { if not anyof (false, body :raw \"x\") { keep; } }");
    assert!(uses_test(&p.script, "body"));
    assert!(!uses_test(&p.script, "size"));
}

#[test]
fn a_program_compiled_through_the_checker_runs() {
    let p = Program::compile(RFC5228_EXAMPLE.as_bytes(), &crate::Capabilities::all())
        .expect("the RFC 5228 example is valid");
    let mut view = MessageView::new(MESSAGE.as_bytes(), MESSAGE.len() as u64);
    let o = execute(
        &p,
        &mut view,
        &ENVELOPE,
        &TestHost::default(),
        &RunLimits::default(),
    );
    assert_eq!(o.actions, vec![fileinto("filter")]);
}

#[test]
fn enotify_rfc5435_example_with_match_variables() {
    let s = "require [\"enotify\", \"variables\"];\
             if header :contains \"from\" \"boss@example.org\" {\
                 notify :importance \"1\" :message \"This is probably very important\" \"mailto:alm@example.com\";\
                 stop;\
             }\
             if header :matches \"Subject\" \"*\" { set \"subject\" \"${1}\"; }\
             if header :matches \"From\" \"*\" { set \"from\" \"${1}\"; }\
             notify :importance \"3\" :message \"[SIEVE] ${from}: ${subject}\" \"mailto:alm@example.com\";";
    assert_eq!(
        actions(s),
        vec![
            Action::Notify(Notify {
                method: "mailto:alm@example.com".into(),
                from: None,
                importance: 3,
                options: Vec::new(),
                message: Some("[SIEVE] Alice <alice@example.org>: Make lots of money fast".into()),
                fcc: None,
            }),
            keep()
        ]
    );
}

#[test]
fn the_same_place_twice_merges_flags_and_copy() {
    assert_eq!(
        actions("require \"imap4flags\"; keep :flags \"a\"; keep :flags [\"b\", \"A\"];"),
        vec![keep_flags(&["a", "b"])]
    );
    let a = actions("require [\"fileinto\", \"copy\"]; fileinto :copy \"A\"; fileinto \"A\";");
    assert_eq!(a, vec![fileinto("A")]);
}

/// Pieces of scripts that touch every part of the executor, some of them failing at run time.
const FRAGMENTS: &[&str] = &[
    "keep;",
    "discard;",
    "stop;",
    "fileinto \"A\";",
    "fileinto :copy :flags \"${x}\" \"B\";",
    "redirect \"a@example.org\";",
    "redirect :copy \"${x}@example.org\";",
    "set \"x\" \"${x}${x}a\";",
    "set :length \"x\" \"${x}\";",
    "if header :matches \"subject\" \"*\" { set \"m\" \"${1}\"; }",
    "addflag \"${m}\";",
    "removeflag \"a\";",
    "reject \"no\";",
    "vacation :days 0 \"r\";",
    "addheader \"X-A\" \"${x}\";",
    "deleteheader :matches \"subject\" \"*${x}*\";",
    "if duplicate :uniqueid \"${x}\" { discard; }",
    "notify \"mailto:a@example.org\";",
    "if body :contains \"${m}\" { keep; }",
    "if date :zone \"+0100\" \"date\" \"year\" \"2026\" { keep; }",
    "include :optional \"none\";",
    "if ihave \"x-unknown\" { unknown; }",
    "if string :regex \"${x}\" \"(a+)+b\" { keep; }",
    "if header :regex \"subject\" \"${m}\" { keep; }",
    "if hasflag :count \"gt\" \"1\" { discard; } else { keep; }",
    "if address :detail :contains [\"to\", \"from\"] \"${x}\" { stop; }",
];

const FRAGMENT_REQUIRES: &str = "require [\"fileinto\", \"copy\", \"variables\", \"imap4flags\", \
    \"reject\", \"vacation\", \"editheader\", \"duplicate\", \"enotify\", \"body\", \"date\", \
    \"include\", \"ihave\", \"regex\", \"relational\", \"subaddress\"];\n";

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Whatever a valid script does to whatever message, the run ends, within its bounds:
    /// a failure is the implicit keep alone; a success stays within the action limits.
    #[test]
    fn any_run_ends_within_its_bounds(
        picks in proptest::collection::vec(0..FRAGMENTS.len(), 0..16),
        subject in "[ -~]{0,40}",
        body in "[ -~\r\n]{0,80}",
    ) {
        let mut script = FRAGMENT_REQUIRES.to_owned();
        for p in &picks {
            script.push_str(FRAGMENTS[*p]);
            script.push('\n');
        }
        let p = program(&script);
        let message = format!("Subject: {subject}\r\nTo: a+b@example.org\r\n\r\n{body}");
        let mut view = MessageView::new(message.as_bytes(), message.len() as u64);
        let limits = RunLimits {
            max_steps: 400,
            max_actions: 6,
            max_redirects: 2,
            max_variable_len: 64,
            max_variables: 4,
            max_added_headers: 3,
            ..RunLimits::default()
        };
        let o = execute(&p, &mut view, &ENVELOPE, &TestHost::default(), &limits);
        if o.error.is_some() {
            proptest::prop_assert_eq!(o.actions, vec![keep()]);
            proptest::prop_assert!(o.duplicates.is_empty());
        } else {
            proptest::prop_assert!(o.actions.len() <= limits.max_actions + 1);
            let redirects = o
                .actions
                .iter()
                .filter(|a| matches!(a, Action::Redirect { .. }))
                .count();
            proptest::prop_assert!(redirects <= limits.max_redirects);
        }
    }
}
