//! Quota roots and usage through the public API: the nearest-root rule on the Cyrus overview's
//! example, usage following renames and deletes, checked inserts that leave nothing partial,
//! the `user` root that spans owners, and concurrent appends that never overshoot a limit.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::*;
use mailstore::{AppendItem, QuotaLimits, QuotaPolicy, QuotaUsage, Store, StoreError};
use types::MailboxName;

/// APPEND's rule: the result must stay within every limit.
struct Strict;

impl QuotaPolicy for Strict {
    fn admit(&self, _: &MailboxName, l: QuotaLimits, u: QuotaUsage, add: QuotaUsage) -> bool {
        let storage_ok = l
            .storage_kib
            .is_none_or(|k| u.storage_bytes + add.storage_bytes <= k * 1024);
        let count_ok = l.messages.is_none_or(|m| u.messages + add.messages <= m);
        storage_ok && count_ok
    }
}

fn usage(s: &Store, root: &str) -> (u64, u64) {
    let u = s.quota_usage(&name(root)).unwrap();
    assert_eq!(u, s.quota_usage_by_scan(&name(root)).unwrap(), "{root}");
    (u.messages, u.storage_bytes)
}

fn messages(limit: u64) -> QuotaLimits {
    QuotaLimits {
        storage_kib: None,
        messages: Some(limit),
    }
}

#[test]
fn the_overview_example_and_usage_moving_with_rename_and_delete() {
    let (_d, s) = store();
    let boxes = [
        "user.bovik",
        "user.bovik.list.imap",
        "user.bovik.list.info-cyrus",
        "user.bovik.saved",
        "user.bovik.todo",
    ];
    for b in boxes {
        create(&s, b);
    }
    // `user.bovik.list` is a root without being a mailbox.
    for r in ["user.bovik", "user.bovik.list", "user.bovik.saved"] {
        s.set_quota_root(&name(r), QuotaLimits::default()).unwrap();
    }
    let governs = |mailbox: &str| s.quota_root_of(&name(mailbox)).unwrap().unwrap();
    assert_eq!(governs("user.bovik"), name("user.bovik"));
    assert_eq!(governs("user.bovik.todo"), name("user.bovik"));
    assert_eq!(governs("user.bovik.list.imap"), name("user.bovik.list"));
    assert_eq!(
        governs("user.bovik.list.info-cyrus"),
        name("user.bovik.list")
    );
    assert_eq!(governs("user.bovik.saved"), name("user.bovik.saved"));

    for (i, b) in boxes.iter().enumerate() {
        // i + 1 messages in the i-th mailbox.
        for j in 0..=i {
            append(&s, &name(b), j);
        }
    }
    let size = |i: usize| msg(i).len() as u64;
    let sizes = |n: usize| (0..n).map(size).sum::<u64>();
    assert_eq!(usage(&s, "user.bovik"), (1 + 5, sizes(1) + sizes(5)));
    assert_eq!(usage(&s, "user.bovik.list"), (2 + 3, sizes(2) + sizes(3)));
    assert_eq!(usage(&s, "user.bovik.saved"), (4, sizes(4)));
    // Roots are independent of partitions: one governs mailboxes on several.
    s.set_partition(&name("user.bovik.todo"), "other").unwrap();
    assert_eq!(usage(&s, "user.bovik"), (1 + 5, sizes(1) + sizes(5)));

    // Renaming todo into the list hierarchy moves its usage to that root.
    s.rename_mailbox(&name("user.bovik.todo"), &name("user.bovik.list.todo"))
        .unwrap();
    assert_eq!(usage(&s, "user.bovik"), (1, sizes(1)));
    assert_eq!(
        usage(&s, "user.bovik.list"),
        (2 + 3 + 5, sizes(2) + sizes(3) + sizes(5))
    );
    // Across owners (another user's hierarchy, no root there): the usage leaves bovik's roots.
    create(&s, "user.carol");
    s.rename_mailbox(&name("user.bovik.list.imap"), &name("user.carol.imap"))
        .unwrap();
    assert_eq!(usage(&s, "user.bovik.list"), (3 + 5, sizes(3) + sizes(5)));
    s.set_quota_root(&name("user.carol"), QuotaLimits::default())
        .unwrap();
    assert_eq!(usage(&s, "user.carol"), (2, sizes(2)));
    // Deleting a mailbox frees its usage.
    s.delete_mailbox(&name("user.bovik.saved")).unwrap();
    assert_eq!(usage(&s, "user.bovik.saved"), (0, 0));
    // Removing a nested root hands its mailboxes to the enclosing one.
    assert!(s.remove_quota_root(&name("user.bovik.list")).unwrap());
    assert_eq!(
        usage(&s, "user.bovik"),
        (1 + 3 + 5, sizes(1) + sizes(3) + sizes(5))
    );
    // Reopening reads the same maintained figures.
    assert!(s.repair_quota(None).unwrap().is_clean());
}

#[test]
fn a_refused_append_or_copy_leaves_nothing_behind() {
    let (_d, s) = store();
    let inbox = create(&s, "user.dan");
    let other = create(&s, "user.dan.other");
    s.set_quota_root(&inbox, messages(3)).unwrap();
    append(&s, &inbox, 0);
    append(&s, &inbox, 1);
    let three: Vec<AppendItem> = (2..5).map(|i| AppendItem::bytes(msg(i))).collect();
    let err = s.append_checked(&inbox, three, Some(&Strict)).unwrap_err();
    assert!(
        matches!(err, StoreError::OverQuota(ref r) if r == "user.dan"),
        "{err}"
    );
    assert_eq!(
        usage(&s, "user.dan"),
        (2, msg(0).len() as u64 + msg(1).len() as u64)
    );
    assert_eq!(
        s.status(&inbox, mailstore::SeenSource::Index)
            .unwrap()
            .uidnext
            .get(),
        3
    );
    // A COPY of both messages needs room for both: all or nothing.
    let uids = [uid(1), uid(2)];
    let err = s
        .copy_checked(&inbox, &uids, &other, Some(&Strict))
        .unwrap_err();
    assert!(matches!(err, StoreError::OverQuota(_)));
    assert_eq!(usage(&s, "user.dan").0, 2);
    // No message file was left in the target's directory for reconstruct to resurrect.
    assert!(s.reconstruct(&other).unwrap().is_clean());
    assert!(s.reconstruct(&inbox).unwrap().is_clean());
    // One more fits; a MOVE within the root charges nothing and is allowed at the limit.
    s.copy_checked(&inbox, &[uid(1)], &other, Some(&Strict))
        .unwrap();
    assert_eq!(usage(&s, "user.dan").0, 3);
    s.move_checked(&inbox, &[uid(2)], &other, Some(&Strict))
        .unwrap();
    assert_eq!(usage(&s, "user.dan").0, 3);
}

#[test]
fn a_move_to_another_root_is_checked_against_the_target() {
    let (_d, s) = store();
    let inbox = create(&s, "user.erin");
    let archive = create(&s, "user.erin.archive");
    s.set_quota_root(&archive, messages(1)).unwrap();
    append(&s, &inbox, 0);
    append(&s, &inbox, 1);
    s.move_checked(&inbox, &[uid(1)], &archive, Some(&Strict))
        .unwrap();
    let err = s
        .move_checked(&inbox, &[uid(2)], &archive, Some(&Strict))
        .unwrap_err();
    assert!(matches!(err, StoreError::OverQuota(ref r) if r == "user.erin.archive"));
    // The refused message is still in the source.
    assert_eq!(s.read_message(&inbox, uid(2)).unwrap(), msg(1));
    assert_eq!(usage(&s, "user.erin.archive").0, 1);
}

#[test]
fn the_user_root_spans_every_user() {
    let (_d, s) = store();
    for u in ["user.a", "user.b", "user.b.sub", "user.c"] {
        create(&s, u);
    }
    s.set_quota_root(&name("user"), messages(4)).unwrap();
    s.set_quota_root(&name("user.c"), QuotaLimits::default())
        .unwrap();
    append(&s, &name("user.a"), 0);
    append(&s, &name("user.b.sub"), 1);
    append(&s, &name("user.c"), 2);
    assert_eq!(usage(&s, "user").0, 2);
    assert_eq!(usage(&s, "user.c").0, 1);
    for (i, b) in ["user.a", "user.b"].iter().enumerate() {
        s.append_checked(&name(b), vec![AppendItem::bytes(msg(i))], Some(&Strict))
            .unwrap();
    }
    let err = s
        .append_checked(
            &name("user.b.sub"),
            vec![AppendItem::bytes(msg(9))],
            Some(&Strict),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::OverQuota(ref r) if r == "user"));
    assert_eq!(usage(&s, "user").0, 4);
}

#[test]
fn concurrent_appends_never_pass_the_limit_and_usage_equals_the_messages() {
    let (_d, s) = store();
    let boxes: Vec<MailboxName> = ["user.f", "user.f.a", "user.f.b", "user.g"]
        .iter()
        .map(|b| create(&s, b))
        .collect();
    // Two roots: one within an owner, one spanning owners.
    s.set_quota_root(&name("user.f"), messages(25)).unwrap();
    s.set_quota_root(&name("user"), messages(40)).unwrap();
    let stored = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let s = s.clone();
            let boxes = boxes.clone();
            let stored = stored.clone();
            std::thread::spawn(move || {
                for i in 0..20 {
                    let b = &boxes[(t + i) % boxes.len()];
                    let items = vec![AppendItem::bytes(msg(i)), AppendItem::bytes(msg(i + 1))];
                    match s.append_checked(b, items, Some(&Strict)) {
                        Ok(_) => {
                            stored.fetch_add(2, Ordering::SeqCst);
                        }
                        Err(StoreError::OverQuota(_)) => {}
                        Err(e) => panic!("{e}"),
                    }
                    assert!(s.quota_usage(&name("user.f")).unwrap().messages <= 25);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (f, _) = usage(&s, "user.f");
    let (all, _) = usage(&s, "user");
    assert!(f <= 25, "{f}");
    // `user` governs user.g only (user.f has its own root).
    assert!(all <= 40, "{all}");
    assert_eq!(f + all, stored.load(Ordering::SeqCst));
    // Pairs never split: usage stays even, and the full root took no more pairs.
    assert_eq!(f % 2, 0);
    assert!(s.repair_quota(None).unwrap().is_clean());
}
