use super::*;
use crate::client::parse::{parse_response, Response};

fn untagged(lines: &[&str]) -> Vec<Untagged> {
    lines
        .iter()
        .map(|l| match parse_response(format!("{l}\r\n").as_bytes()) {
            Ok(Response::Untagged(u)) => u,
            other => panic!("not untagged: {other:?}"),
        })
        .collect()
}

#[test]
fn the_grants_let_the_viewer_see_two_fifths() {
    assert_eq!(visible(500, 1000).len(), 200);
    assert_eq!(grant(5, 1000), Grant::Anyone);
    assert_eq!(grant(6, 1000), Grant::Viewer);
    assert_eq!(grant(8, 1000), Grant::Nobody);
    // The third fifth goes to other users, never to the viewer.
    for j in (2..=500).step_by(5) {
        let Grant::Other(u) = grant(j, 1000) else {
            panic!("{j}: {:?}", grant(j, 1000))
        };
        assert!((2..=1000).contains(&u), "{j} -> {u}");
    }
    // With a single user there is nobody else to grant to.
    assert_eq!(grant(2, 1), Grant::Nobody);
}

fn check(expected: Option<BTreeSet<u32>>) -> Check {
    Check {
        personal_prefix: "INBOX.".into(),
        shared_prefix: Some(String::new()),
        mailboxes: 2,
        shared: 10,
        expected,
        ..Check::default()
    }
}

const GOOD: &[&str] = &[
    "* LIST (\\HasChildren) \".\" INBOX",
    "* LIST (\\HasNoChildren) \".\" INBOX.bench-list-1",
    "* LIST (\\HasNoChildren) \".\" INBOX.bench-list-2",
    "* LIST (\\HasNoChildren) \".\" bench-shared-5",
    "* LIST (\\Noselect \\HasChildren) \".\" user",
];

#[test]
fn a_right_answer_passes_and_its_count_is_kept() {
    let mut c = check(Some([5].into()));
    assert_eq!(c.answer(&untagged(GOOD), false), vec![]);
    assert_eq!(c.names, Some(5));
    assert_eq!(c.shared_seen, Some([5].into()));
    assert_eq!(c.answer(&untagged(GOOD), false), vec![]);
}

#[test]
fn a_changing_count_a_missing_personal_box_and_wrong_shared_boxes_are_errors() {
    let mut c = check(Some([5, 10].into()));
    let errors = c.answer(&untagged(GOOD), false);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "wrong-shared");
    assert!(
        errors[0].1.contains("0 not allowed, 1 missing"),
        "{errors:?}"
    );

    let mut fewer = GOOD.to_vec();
    fewer.remove(2);
    let errors = c.answer(&untagged(&fewer), false);
    let kinds: Vec<&str> = errors.iter().map(|e| e.0).collect();
    assert_eq!(kinds, ["wrong-count", "missing", "wrong-shared"]);

    let mut c = check(Some([5].into()));
    let mut more = GOOD.to_vec();
    more.push("* LIST () \".\" bench-shared-7");
    let errors = c.answer(&untagged(&more), false);
    assert!(
        errors[0].1.contains("1 not allowed, 0 missing"),
        "{errors:?}"
    );
}

#[test]
fn without_acls_the_shared_count_is_only_recorded() {
    let mut c = check(None);
    assert_eq!(c.answer(&untagged(GOOD), false), vec![]);
    assert_eq!(c.shared_seen, Some([5].into()));
}

#[test]
fn list_status_needs_a_status_for_every_selectable_name() {
    let mut lines = GOOD.to_vec();
    let statuses = [
        "* STATUS INBOX (MESSAGES 3 UNSEEN 1)",
        "* STATUS INBOX.bench-list-1 (MESSAGES 0 UNSEEN 0)",
        "* STATUS INBOX.bench-list-2 (MESSAGES 0 UNSEEN 0)",
        "* STATUS bench-shared-5 (MESSAGES 0 UNSEEN 0)",
    ];
    lines.extend(statuses);
    let mut c = check(Some([5].into()));
    assert_eq!(c.answer(&untagged(&lines), true), vec![]);
    lines.pop();
    lines.push("* STATUS bench-shared-5 (MESSAGES 0)");
    let errors = c.answer(&untagged(&lines), true);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "missing");
}
