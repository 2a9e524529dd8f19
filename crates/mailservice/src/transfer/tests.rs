//! Transfers seen from the service: the freeze (writes refused, reads going on, writes under
//! way waited for), one transfer per hierarchy, delivery to a frozen mailbox deferred alone,
//! and the markers settled at start by what the directory says.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailstore::{AppendItem, MailboxEntry};
use types::{MailboxName, UidValidity};

use super::markers::{Incoming, Markers, Outgoing, Side};
use crate::cluster::{Backend, Cluster, DirectoryError};
use crate::{IncomingState, MailService, Operation, ServiceError};

fn name(s: &str) -> MailboxName {
    MailboxName::try_from(s).unwrap()
}

/// A directory that names, for each mailbox, the server set here (`Err`: it cannot be asked).
#[derive(Default)]
struct Answers {
    holders: Mutex<HashMap<String, Result<Option<String>, String>>>,
}

impl Answers {
    fn set(&self, mailbox: &str, holder: Result<Option<&str>, &str>) {
        self.holders.lock().unwrap().insert(
            mailbox.to_string(),
            holder.map(|h| h.map(String::from)).map_err(String::from),
        );
    }
}

impl Cluster for Answers {
    fn this_server(&self) -> &str {
        "b2"
    }
    fn is_backend(&self) -> bool {
        true
    }
    fn backend(&self, name: &str) -> Option<Backend> {
        Some(Backend {
            name: name.into(),
            imap: Some("127.0.0.1:1".into()),
            alive: true,
            ..Backend::default()
        })
    }
    fn backends(&self) -> Vec<Backend> {
        Vec::new()
    }
    fn reserve(&self, _: &MailboxName) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn activate(&self, _: &MailboxEntry) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn release(&self, _: &MailboxName) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn update(&self, _: &MailboxEntry) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn remove(&self, _: &MailboxName) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn holder(&self, name: &MailboxName) -> Result<Option<String>, DirectoryError> {
        match self.holders.lock().unwrap().get(name.as_str()) {
            Some(Ok(h)) => Ok(h.clone()),
            Some(Err(e)) => Err(DirectoryError::Unavailable(e.clone())),
            None => Ok(None),
        }
    }
}

fn service(dir: &std::path::Path) -> (MailService, Arc<Answers>) {
    let answers = Arc::new(Answers::default());
    let service = crate::service_for_tests(dir, &["admin"], false)
        .with_cluster(Arc::clone(&answers) as Arc<dyn Cluster>);
    (service, answers)
}

fn append(s: &MailService, mailbox: &str) -> Result<(), ServiceError> {
    let ann = s.identity("ann");
    let target = s.authorize(&ann, mailbox, Operation::Insert)?;
    s.append(
        &target,
        vec![AppendItem::bytes(b"Subject: x\r\n\r\nx\r\n".to_vec())],
    )
    .map(|_| ())
}

#[test]
fn a_frozen_hierarchy_refuses_writes_and_serves_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = service(dir.path());
    s.create_user("ann").unwrap();
    let ann = s.identity("ann");
    let sent = s.authorize(&ann, "INBOX.Sent", Operation::Create).unwrap();
    s.create(&ann, &sent, Vec::new(), None).unwrap();
    append(&s, "INBOX").unwrap();

    let (claim, _) = s
        .transfer_begin(&s.identity("admin"), &name("user.ann"), "b3")
        .unwrap();
    append(&s, "INBOX").unwrap();
    claim.freeze();
    assert!(matches!(append(&s, "INBOX"), Err(ServiceError::Moving)));
    assert!(matches!(
        append(&s, "INBOX.Sent"),
        Err(ServiceError::Moving)
    ));
    let child = s.authorize(&ann, "INBOX.New", Operation::Create).unwrap();
    assert!(matches!(
        s.create(&ann, &child, Vec::new(), None),
        Err(ServiceError::Moving)
    ));
    let inbox = s.authorize(&ann, "INBOX", Operation::Read).unwrap();
    assert_eq!(s.status(&inbox).unwrap().exists, 2, "reads go on");
    // A second transfer of the hierarchy, or of a part of it, waits for this one.
    let admin = s.identity("admin");
    assert!(s
        .transfer_begin(&admin, &name("user.ann.Sent"), "b3")
        .is_err());
    drop(claim);
    append(&s, "INBOX").unwrap();
    assert!(s
        .transfer_begin(&admin, &name("user.ann.Sent"), "b3")
        .is_ok());
}

#[test]
fn only_administrators_move_mailboxes_and_only_those_held_here() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = service(dir.path());
    s.create_user("ann").unwrap();
    let refused = s.transfer_begin(&s.identity("ann"), &name("user.ann"), "b3");
    assert!(matches!(refused, Err(ServiceError::PermissionDenied)));
    let admin = s.identity("admin");
    assert!(matches!(
        s.transfer_begin(&admin, &name("user.ann"), "b2"),
        Err(ServiceError::Refused(_))
    ));
    assert!(matches!(
        s.transfer_begin(&admin, &name("user.nobody"), "b3"),
        Err(ServiceError::NoSuchMailbox)
    ));
}

#[test]
fn a_freeze_waits_for_the_writes_under_way() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = service(dir.path());
    s.create_user("ann").unwrap();
    let inbox = name("user.ann");
    let guard = s.writing(&[&inbox], super::Reach::Mailbox).unwrap();
    let (claim, _) = s
        .transfer_begin(&s.identity("admin"), &inbox, "b3")
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            claim.freeze();
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "the freeze returned while a write was under way"
        );
        drop(guard);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
    });
    assert!(s.is_moving(&inbox));
}

#[test]
fn a_delivery_to_a_frozen_mailbox_is_deferred_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = service(dir.path());
    s.create_user("ann").unwrap();
    s.create_user("bob").unwrap();
    let anyone = s.anonymous_identity();
    let targets = ["ann", "bob"].map(|u| {
        s.delivery_target(
            &anyone,
            &crate::DeliveryAddress::User {
                user: u.into(),
                detail: None,
            },
        )
        .unwrap()
    });
    let (claim, _) = s
        .transfer_begin(&s.identity("admin"), &name("user.ann"), "b3")
        .unwrap();
    claim.freeze();
    let item = AppendItem::bytes(b"Subject: x\r\n\r\nx\r\n".to_vec());
    let results = s.store_delivery(&targets, item, None, false).unwrap();
    assert!(matches!(results[0], Err(ServiceError::Moving)));
    assert!(results[1].is_ok());
}

fn incoming(s: &MailService, mailbox: &str) -> MailboxEntry {
    s.incoming_prepare(
        &s.identity("admin"),
        &name(mailbox),
        IncomingState {
            uidvalidity: UidValidity::new(99).unwrap(),
            highestmodseq: 10,
            partition: None,
            acl: "ann\tlrswipkxtecda\t".into(),
            special_use: Vec::new(),
        },
    )
    .unwrap()
}

#[test]
fn incoming_copies_are_kept_or_removed_by_what_the_directory_says_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (s, answers) = service(dir.path());
    for mailbox in ["user.ann", "user.bob", "user.carl"] {
        incoming(&s, mailbox);
    }
    // Only an administrator prepares, and only a mailbox that is not held here.
    let refused = s.incoming_prepare(
        &s.identity("ann"),
        &name("user.dan"),
        IncomingState {
            uidvalidity: UidValidity::new(1).unwrap(),
            highestmodseq: 1,
            partition: None,
            acl: String::new(),
            special_use: Vec::new(),
        },
    );
    assert!(matches!(refused, Err(ServiceError::PermissionDenied)));
    // Writing through the transfer steps needs an incoming marker.
    s.create_user("erin").unwrap();
    assert!(s
        .incoming_expunge(&s.identity("admin"), &name("user.erin"), &[(1, 5)])
        .is_err());

    answers.set("user.ann", Ok(Some("b2")));
    answers.set("user.bob", Ok(Some("b1")));
    answers.set("user.carl", Err("etcd is down"));
    let mut recovery = s.recover_transfers().unwrap();
    assert!(s.store.holds_locally(&name("user.ann")).unwrap(), "adopted");
    assert!(
        !s.store.holds_locally(&name("user.bob")).unwrap(),
        "removed"
    );
    assert!(s.store.holds_locally(&name("user.carl")).unwrap(), "waits");
    assert!(!recovery.is_settled());
    let markers = Markers::new(&s.store.config().config_directory);
    assert_eq!(
        markers
            .all::<Incoming>(Side::In)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect::<Vec<_>>(),
        ["user.carl"]
    );
    answers.set("user.carl", Ok(None));
    recovery.retry(&s);
    assert!(recovery.is_settled());
    assert!(!s.store.holds_locally(&name("user.carl")).unwrap());
}

#[test]
fn mailboxes_given_away_are_removed_when_the_directory_names_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let (s, answers) = service(dir.path());
    s.create_user("ann").unwrap();
    let ann = s.identity("ann");
    let sent = s.authorize(&ann, "INBOX.Sent", Operation::Create).unwrap();
    s.create(&ann, &sent, Vec::new(), None).unwrap();
    s.create_user("bob").unwrap();
    let markers = Markers::new(&s.store.config().config_directory);
    for (prefix, names) in [
        ("user.ann", &["user.ann", "user.ann.Sent"][..]),
        ("user.bob", &["user.bob"][..]),
    ] {
        let marker = Outgoing {
            target: "b3".into(),
            names: names.iter().map(|n| n.to_string()).collect(),
        };
        markers.put(Side::Out, &name(prefix), &marker).unwrap();
    }
    // ann's INBOX switched before the crash, her Sent did not; bob's cannot be asked yet.
    answers.set("user.ann", Ok(Some("b3")));
    answers.set("user.ann.Sent", Ok(Some("b2")));
    answers.set("user.bob", Err("etcd is down"));
    let mut recovery = s.recover_transfers().unwrap();
    assert!(!s.store.holds_locally(&name("user.ann")).unwrap());
    assert!(s.store.holds_locally(&name("user.ann.Sent")).unwrap());
    assert!(s.store.holds_locally(&name("user.bob")).unwrap());
    assert!(!s.is_moving(&name("user.ann.Sent")), "settled: unfrozen");
    assert!(s.is_moving(&name("user.bob")), "unsettled: frozen");
    answers.set("user.bob", Ok(Some("b2")));
    recovery.retry(&s);
    assert!(recovery.is_settled());
    assert!(!s.is_moving(&name("user.bob")));
    assert!(s.store.holds_locally(&name("user.bob")).unwrap());
    assert!(markers.all::<Outgoing>(Side::Out).unwrap().is_empty());
}

#[test]
fn a_users_scripts_are_frozen_with_their_inbox_and_arrive_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = service(dir.path());
    s.create_user("ann").unwrap();
    let ann = s.identity("ann");
    s.put_sieve_script(&ann, "main", b"keep;\r\n").unwrap();
    let (claim, _) = s
        .transfer_begin(&s.identity("admin"), &name("user.ann"), "b3")
        .unwrap();
    claim.freeze();
    assert!(matches!(
        s.put_sieve_script(&ann, "other", b"keep;\r\n"),
        Err(crate::SieveError::Failed(ServiceError::Moving))
    ));
    assert_eq!(
        s.transfer_sieve_scripts(&name("user.ann")).unwrap(),
        [("main".to_string(), b"keep;\r\n".to_vec(), false)]
    );
    drop(claim);
    s.transfer_forget_user(&name("user.ann")).unwrap();
    assert!(s.list_sieve_scripts(&ann).unwrap().is_empty());

    // At a target, scripts come only with an incoming INBOX.
    let admin = s.identity("admin");
    assert!(s
        .incoming_sieve(&admin, &name("user.bob"), "main", b"keep;\r\n", true)
        .is_err());
    incoming(&s, "user.bob");
    s.incoming_sieve(&admin, &name("user.bob"), "main", b"keep;\r\n", true)
        .unwrap();
    let bob = s.identity("bob");
    let listed = s.list_sieve_scripts(&bob).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].active);
}

#[test]
fn a_users_subscriptions_are_frozen_with_their_inbox_and_arrive_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = service(dir.path());
    s.create_user("ann").unwrap();
    let ann = s.identity("ann");
    s.subscribe(&ann, &name("user.ann.Sent")).unwrap();
    s.subscribe(&ann, &name("shared.team")).unwrap();
    let (claim, _) = s
        .transfer_begin(&s.identity("admin"), &name("user.ann"), "b3")
        .unwrap();
    claim.freeze();
    assert!(matches!(
        s.subscribe(&ann, &name("user.ann.Drafts")),
        Err(ServiceError::Moving)
    ));
    assert!(matches!(
        s.unsubscribe(&ann, &name("shared.team")),
        Err(ServiceError::Moving)
    ));
    let mut sent = s.transfer_subscriptions(&name("user.ann")).unwrap();
    sent.sort();
    assert_eq!(sent, [name("shared.team"), name("user.ann.Sent")]);
    assert!(s
        .transfer_subscriptions(&name("user.ann.Sent"))
        .unwrap()
        .is_empty());
    drop(claim);
    s.transfer_forget_user(&name("user.ann")).unwrap();
    assert!(s.subscriptions(&ann).unwrap().is_empty());

    // At a target, subscriptions come only with an incoming INBOX.
    let admin = s.identity("admin");
    assert!(s
        .incoming_subscription(&admin, &name("user.bob"), &name("user.bob.x"))
        .is_err());
    incoming(&s, "user.bob");
    s.incoming_subscription(&admin, &name("user.bob"), &name("user.bob.x"))
        .unwrap();
    assert_eq!(
        s.subscriptions(&s.identity("bob")).unwrap(),
        [name("user.bob.x")]
    );
}

#[test]
fn a_marker_half_written_by_a_crash_is_cleared_and_whole_ones_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let markers = Markers::new(dir.path());
    let whole = Incoming {
        name: "user.ann".into(),
        uniqueid: None,
    };
    markers.put(Side::In, &name("user.ann"), &whole).unwrap();
    // A crash between the temporary file's creation and its rename.
    let tmp = dir
        .path()
        .join("xfer/in")
        .join(format!("{}.tmp", hex::encode("user.bob")));
    std::fs::write(&tmp, b"{\"na").unwrap();
    let found: Vec<(MailboxName, Incoming)> = markers.all(Side::In).unwrap();
    assert_eq!(found, vec![(name("user.ann"), whole)]);
    assert!(!tmp.exists(), "the temporary file is removed");
    assert_eq!(
        std::fs::read_dir(dir.path().join("xfer/in"))
            .unwrap()
            .count(),
        1
    );
}
