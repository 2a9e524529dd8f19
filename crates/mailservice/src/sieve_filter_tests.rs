//! The Sieve filter over a real store: a user's active script decides where copies go, with
//! which flags and header, what is refused, and what goes out through a recording `sendmail`.

use std::sync::Arc;

use super::*;
use crate::delivery::{DeliveryAddress, DeliveryOptions, DeliveryReport};
use mailstore::{AppendItem, Delivered, RecordFields, SeenSource, UidSelection};

struct World {
    _dir: tempfile::TempDir,
    service: MailService,
    outbox: std::path::PathBuf,
}

/// A service with users `bovik` and `carol`, Sieve on, and a `sendmail` that writes each
/// message it gets (arguments first) into a file of `outbox`.
fn world(lmtp_reject: bool) -> World {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    std::fs::create_dir(&outbox).unwrap();
    let stub = dir.path().join("sendmail");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\nf=$(mktemp {}/mail.XXXXXX)\necho \"$@\" > \"$f\"\ncat >> \"$f\"\n",
            outbox.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let settings = SieveSettings {
        sendmail: Sendmail::new(&stub),
        hostname: "mail.example.org".into(),
        lmtp_reject,
        ..SieveSettings::default()
    };
    let service = crate::service_for_tests(dir.path(), &[], false)
        .with_delivery_filter(Arc::new(SieveFilter::new(settings)));
    service.create_user("bovik").unwrap();
    service.create_user("carol").unwrap();
    World {
        _dir: dir,
        service,
        outbox,
    }
}

impl World {
    fn script(&self, user: &str, text: &str) {
        self.service
            .store
            .put_sieve_script(user, "main", text.as_bytes(), 5)
            .unwrap();
        self.service
            .store
            .set_active_sieve_script(user, Some("main"))
            .unwrap();
    }

    fn deliver(&self, from: &str, to: &[(&str, &str)], message: &str) -> DeliveryReport {
        let anonymous = self.service.anonymous_identity();
        let recipients: Vec<DeliveryRecipient> = to
            .iter()
            .map(|(address, user)| DeliveryRecipient {
                address: (*address).into(),
                target: self
                    .service
                    .delivery_target(
                        &anonymous,
                        &DeliveryAddress::User {
                            user: (*user).into(),
                            detail: None,
                        },
                    )
                    .unwrap(),
                ignore_quota: false,
            })
            .collect();
        let envelope = Envelope {
            from: Some(from),
            identity: &anonymous,
        };
        let message = message.replace('\n', "\r\n");
        self.service
            .deliver_message(
                &envelope,
                &recipients,
                AppendItem::bytes(message.clone().into_bytes()),
                message.as_bytes(),
                None,
                DeliveryOptions {
                    single_instance: true,
                    suppress_duplicates: false,
                },
            )
            .unwrap()
    }

    /// (mailbox, flags, message) of every stored message of `user`, by mailbox name.
    fn stored(&self, user: &str) -> Vec<(String, Vec<String>, String)> {
        let inbox = MailboxName::try_from(format!("user.{user}")).unwrap();
        let mut names = vec![inbox.clone()];
        names.extend(
            self.service
                .store
                .list_mailboxes(Some(&inbox))
                .unwrap()
                .into_iter()
                .map(|e| e.name)
                .filter(|n| n != &inbox),
        );
        let mut out = Vec::new();
        for name in names {
            let records = self
                .service
                .store
                .records(
                    &name,
                    SeenSource::Index,
                    UidSelection::All,
                    RecordFields::BASIC,
                )
                .unwrap();
            for r in records {
                let text = self.service.store.read_message(&name, r.uid).unwrap();
                let mut flags: Vec<String> = r.flags.iter().map(|f| f.to_string()).collect();
                flags.sort();
                out.push((
                    name.to_string(),
                    flags,
                    String::from_utf8_lossy(&text).into_owned(),
                ));
            }
        }
        out
    }

    /// Every message the `sendmail` stub got: its arguments line, then the message.
    fn sent(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

const MESSAGE: &str = "From: Alice <alice@example.org>\nTo: bovik@example.org\n\
Subject: [list] hello\nMessage-ID: <m1@example.org>\n\nhi there\n";

#[test]
fn no_active_script_keeps_the_message_in_the_inbox() {
    let w = world(true);
    let report = w.deliver(
        "alice@example.org",
        &[("bovik@example.org", "bovik")],
        MESSAGE,
    );
    assert!(report.recipients[0].is_ok());
    let stored = w.stored("bovik");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, "user.bovik");
}

#[test]
fn fileinto_with_flags_and_an_edited_header_and_a_create() {
    let w = world(true);
    w.script(
        "bovik",
        "require [\"fileinto\", \"imap4flags\", \"editheader\", \"mailbox\"];\n\
         if header :contains \"subject\" \"[list]\" {\n\
           addheader \"X-Filed\" \"by sieve\";\n\
           fileinto :create :flags \"\\\\Flagged $list\" \"INBOX.lists\";\n\
         }\n",
    );
    w.deliver(
        "alice@example.org",
        &[("bovik@example.org", "bovik")],
        MESSAGE,
    );
    let stored = w.stored("bovik");
    assert_eq!(stored.len(), 1, "{stored:?}");
    let (mailbox, flags, text) = &stored[0];
    assert_eq!(mailbox, "user.bovik.lists");
    assert_eq!(flags, &["$list", "\\Flagged"]);
    assert!(
        text.starts_with("X-Filed: by sieve\r\nFrom: Alice"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\nhi there\r\n"), "{text}");
}

#[test]
fn fileinto_a_missing_mailbox_keeps_the_copy_in_the_inbox() {
    let w = world(true);
    w.script("bovik", "require \"fileinto\";\nfileinto \"nowhere\";\n");
    w.deliver(
        "alice@example.org",
        &[("bovik@example.org", "bovik")],
        MESSAGE,
    );
    let stored = w.stored("bovik");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, "user.bovik");
}

#[test]
fn a_script_that_fails_at_run_time_keeps_the_message() {
    let w = world(true);
    w.script(
        "bovik",
        "require [\"ihave\"];\nif true { error \"broken on purpose\"; }\ndiscard;\n",
    );
    w.deliver(
        "alice@example.org",
        &[("bovik@example.org", "bovik")],
        MESSAGE,
    );
    assert_eq!(w.stored("bovik").len(), 1);
}

#[test]
fn each_recipient_runs_their_own_script() {
    let w = world(true);
    w.script("bovik", "discard;\n");
    let report = w.deliver(
        "alice@example.org",
        &[
            ("bovik@example.org", "bovik"),
            ("carol@example.org", "carol"),
        ],
        MESSAGE,
    );
    assert!(report.recipients.iter().all(Result::is_ok));
    assert!(w.stored("bovik").is_empty());
    assert_eq!(w.stored("carol").len(), 1);
}

#[test]
fn redirect_goes_out_through_sendmail_with_the_envelope_sender_kept() {
    let w = world(true);
    w.script("bovik", "redirect \"elsewhere@example.net\";\n");
    let report = w.deliver(
        "alice@example.org",
        &[("bovik@example.org", "bovik")],
        MESSAGE,
    );
    assert!(report.recipients[0].is_ok());
    assert!(
        w.stored("bovik").is_empty(),
        "redirect cancels the implicit keep"
    );
    let sent = w.sent();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].starts_with("-i -f alice@example.org -- elsewhere@example.net\n"),
        "{}",
        sent[0]
    );
    assert!(sent[0].contains("Subject: [list] hello"));
}

#[test]
fn a_redirect_that_cannot_be_sent_fails_the_recipient_temporarily() {
    let w = world(true);
    std::fs::write(
        w.outbox.parent().unwrap().join("sendmail"),
        "#!/bin/sh\nexit 75\n",
    )
    .unwrap();
    w.script("bovik", "redirect \"elsewhere@example.net\";\n");
    let report = w.deliver(
        "alice@example.org",
        &[("bovik@example.org", "bovik")],
        MESSAGE,
    );
    let err = report.recipients[0].as_ref().unwrap_err();
    assert!(
        !err.is_refusal(),
        "a temporary failure, not a refusal: {err}"
    );
}

#[test]
fn ereject_refuses_the_recipient_with_the_scripts_reason() {
    let w = world(true);
    w.script("bovik", "require \"ereject\";\nereject \"No thanks\";\n");
    let report = w.deliver(
        "alice@example.org",
        &[("bovik@example.org", "bovik")],
        MESSAGE,
    );
    assert!(
        matches!(&report.recipients[0], Err(ServiceError::Rejected(r)) if r == "No thanks"),
        "{:?}",
        report.recipients[0]
    );
    assert!(w.stored("bovik").is_empty());
    assert!(report.mailboxes.is_empty());
}

#[test]
fn reject_without_lmtp_reject_sends_a_bounce_from_the_null_sender() {
    let w = world(false);
    w.script("bovik", "require \"reject\";\nreject \"Not here\";\n");
    let report = w.deliver(
        "alice@example.org",
        &[("bovik@example.org", "bovik")],
        MESSAGE,
    );
    assert!(report.recipients[0].is_ok());
    assert!(w.stored("bovik").is_empty());
    let sent = w.sent();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].starts_with("-i -f <> -- alice@example.org\n"),
        "{}",
        sent[0]
    );
    assert!(sent[0].contains("Not here"));
}

#[test]
fn vacation_answers_once_per_period_and_never_a_list() {
    let w = world(true);
    w.script(
        "bovik",
        "require \"vacation\";\nvacation :days 7 :subject \"Away\" \"I am away.\";\n",
    );
    for _ in 0..2 {
        let report = w.deliver(
            "alice@example.org",
            &[("bovik@example.org", "bovik")],
            MESSAGE,
        );
        assert!(report.recipients[0].is_ok());
    }
    let listy = format!("List-Id: <l.example.org>\n{MESSAGE}");
    w.deliver("bob@example.org", &[("bovik@example.org", "bovik")], &listy);
    let sent = w.sent();
    assert_eq!(sent.len(), 1, "one reply per sender and period: {sent:?}");
    assert!(
        sent[0].starts_with("-i -f <> -- alice@example.org\n"),
        "{}",
        sent[0]
    );
    assert!(sent[0].contains("Subject: Away"));
    assert!(sent[0].contains("Auto-Submitted: auto-replied"));
    assert!(sent[0].contains("In-Reply-To: <m1@example.org>"));
    assert_eq!(w.stored("bovik").len(), 3, "vacation keeps every message");
}

#[test]
fn duplicate_is_recorded_only_after_the_delivery() {
    let w = world(true);
    w.script(
        "bovik",
        "require [\"duplicate\", \"fileinto\", \"mailbox\"];\n\
         if duplicate { fileinto :create \"INBOX.dups\"; }\n",
    );
    w.deliver(
        "alice@example.org",
        &[("bovik@example.org", "bovik")],
        MESSAGE,
    );
    w.deliver(
        "alice@example.org",
        &[("bovik@example.org", "bovik")],
        MESSAGE,
    );
    let boxes: Vec<String> = w.stored("bovik").into_iter().map(|s| s.0).collect();
    assert_eq!(boxes, ["user.bovik", "user.bovik.dups"]);
}

#[test]
fn a_compile_error_in_the_stored_script_keeps_the_message() {
    let w = world(true);
    w.script("bovik", "if true {\n");
    w.deliver(
        "alice@example.org",
        &[("bovik@example.org", "bovik")],
        MESSAGE,
    );
    assert_eq!(w.stored("bovik").len(), 1);
}

#[test]
fn the_stored_copy_of_a_keep_is_reported_once_per_mailbox() {
    let w = world(true);
    w.script("bovik", "keep;\nkeep;\n");
    let report = w.deliver(
        "alice@example.org",
        &[("bovik@example.org", "bovik")],
        MESSAGE,
    );
    assert_eq!(report.mailboxes.len(), 1);
    assert!(matches!(report.mailboxes[0].1, Ok(Delivered::Stored(_))));
}

#[test]
fn fcc_files_the_vacation_reply_it_sent() {
    let w = world(true);
    w.script(
        "bovik",
        "require [\"vacation\", \"fcc\", \"mailbox\", \"imap4flags\"];\n\
         vacation :fcc \"INBOX.Sent\" :create :flags \"\\\\Seen\" \"Away.\";\n",
    );
    w.deliver(
        "alice@example.org",
        &[("bovik@example.org", "bovik")],
        MESSAGE,
    );
    assert_eq!(w.sent().len(), 1);
    let stored = w.stored("bovik");
    let sent: Vec<_> = stored.iter().filter(|s| s.0 == "user.bovik.Sent").collect();
    assert_eq!(sent.len(), 1, "{stored:?}");
    assert_eq!(sent[0].1, ["\\Seen"]);
    assert!(
        sent[0].2.contains("Auto-Submitted: auto-replied"),
        "{}",
        sent[0].2
    );
}

#[test]
fn an_included_script_is_read_again_once_it_changes() {
    let w = world(true);
    let rules = |folder: &str| {
        format!("require [\"fileinto\", \"mailbox\"];\nfileinto :create \"INBOX.{folder}\";\n")
    };
    w.service
        .store
        .put_sieve_script("bovik", "rules", rules("first").as_bytes(), 5)
        .unwrap();
    w.script(
        "bovik",
        "require \"include\";\ninclude :personal \"rules\";\n",
    );
    let deliver = || {
        w.deliver(
            "alice@example.org",
            &[("bovik@example.org", "bovik")],
            MESSAGE,
        )
    };
    deliver();
    deliver();
    // Replaced under the same name: the cached program of the old text must not be used.
    w.service
        .store
        .put_sieve_script("bovik", "rules", rules("second").as_bytes(), 5)
        .unwrap();
    deliver();
    let mut places: Vec<String> = w.stored("bovik").into_iter().map(|s| s.0).collect();
    places.sort();
    assert_eq!(
        places,
        ["user.bovik.first", "user.bovik.first", "user.bovik.second"]
    );
}
