use super::*;
use crate::client::parse::{parse_response, Response};

fn responses(lines: &[&str]) -> Vec<Untagged> {
    lines
        .iter()
        .map(|l| match parse_response(format!("{l}\r\n").as_bytes()) {
            Ok(Response::Untagged(u)) => u,
            other => panic!("{l}: {other:?}"),
        })
        .collect()
}

/// Ten messages, UIDs 1..=10: 3 and 4 toggled (3 now flagged, 4 not), 7 expunged, 11 appended.
fn change() -> Change {
    Change {
        uidvalidity: 77,
        modseq: 500,
        toggled: [(3, true), (4, false)].into_iter().collect(),
        expunged: [7].into_iter().collect(),
        appended: [11].into_iter().collect(),
        live: [1, 2, 3, 4, 5, 6, 8, 9, 10, 11].into_iter().collect(),
    }
}

const RIGHT: &[&str] = &[
    "* 10 EXISTS",
    "* OK [UIDVALIDITY 77] ok",
    "* OK [HIGHESTMODSEQ 520] ok",
    "* VANISHED (EARLIER) 7",
    "* 3 FETCH (UID 3 FLAGS (\\Seen \\Flagged) MODSEQ (510))",
    "* 4 FETCH (UID 4 FLAGS (\\Seen) MODSEQ (511))",
    "* 10 FETCH (UID 11 FLAGS () MODSEQ (515))",
];

#[test]
fn an_exact_qresync_answer_passes() {
    let check = check_qresync(&change(), &responses(RIGHT));
    assert_eq!(check, QresyncCheck::default());
}

#[test]
fn vanished_may_name_uids_expunged_before_but_not_live_ones() {
    let mut lines = RIGHT.to_vec();
    lines[3] = "* VANISHED (EARLIER) 7,12:20,100";
    let check = check_qresync(&change(), &responses(&lines));
    assert!(check.errors.is_empty(), "{:?}", check.errors);
    assert_eq!(check.vanished_extra, 10);

    lines[3] = "* VANISHED (EARLIER) 40:30,5000,7";
    lines.insert(4, "* VANISHED (EARLIER) 35:36,12");
    let check = check_qresync(&change(), &responses(&lines));
    assert!(check.errors.is_empty(), "{:?}", check.errors);
    assert_eq!(check.vanished_extra, 13);
    lines.remove(4);

    lines[3] = "* VANISHED (EARLIER) 5:7";
    let check = check_qresync(&change(), &responses(&lines));
    assert_eq!(check.errors.len(), 1, "{:?}", check.errors);
    assert_eq!(check.errors[0].0, "wrong-vanished");
}

#[test]
fn a_missing_vanished_or_fetch_is_an_error() {
    let mut lines = RIGHT.to_vec();
    lines.remove(3);
    let check = check_qresync(&change(), &responses(&lines));
    assert_eq!(
        check.errors,
        vec![("missing", "1 expunged UIDs not in VANISHED".into())]
    );

    let lines: Vec<&str> = RIGHT
        .iter()
        .copied()
        .filter(|l| !l.contains("UID 11"))
        .collect();
    let check = check_qresync(&change(), &responses(&lines));
    assert_eq!(
        check.errors,
        vec![("missing", "1 changed messages without a FETCH".into())]
    );
}

#[test]
fn wrong_flags_unchanged_messages_and_counts_are_errors() {
    let mut lines = RIGHT.to_vec();
    lines[4] = "* 3 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (510))";
    lines.push("* 1 FETCH (UID 1 FLAGS () MODSEQ (1))");
    lines[0] = "* 11 EXISTS";
    lines[3] = "* VANISHED 7";
    let kinds: Vec<&str> = check_qresync(&change(), &responses(&lines))
        .errors
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        kinds,
        [
            "wrong-vanished",
            "wrong-count",
            "wrong-flags",
            "wrong-count"
        ]
    );
}

fn full_answer(skip: Option<u32>, flagged3: bool) -> Vec<Untagged> {
    let mut lines = vec!["* 10 EXISTS".to_owned()];
    for (seq, uid) in change().live.iter().enumerate() {
        if Some(*uid) == skip {
            continue;
        }
        let flags = if *uid == 3 && flagged3 {
            "\\Flagged"
        } else {
            ""
        };
        lines.push(format!("* {} FETCH (UID {uid} FLAGS ({flags}))", seq + 1));
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    responses(&refs)
}

#[test]
fn the_full_fetch_must_list_every_message_with_its_flags() {
    assert!(check_full(&change(), &full_answer(None, true)).is_empty());
    let kinds = |e: Vec<(&'static str, String)>| e.into_iter().map(|e| e.0).collect::<Vec<_>>();
    assert_eq!(
        kinds(check_full(&change(), &full_answer(Some(8), true))),
        ["wrong-count"]
    );
    assert_eq!(
        kinds(check_full(&change(), &full_answer(None, false))),
        ["wrong-flags"]
    );
}

#[test]
fn one_percent_of_the_messages_change_a_tenth_of_them_expunged() {
    assert_eq!(
        Plan::new(10_000, None, None),
        Plan {
            toggles: 90,
            expunges: 10
        }
    );
    assert_eq!(
        Plan::new(50, None, None),
        Plan {
            toggles: 1,
            expunges: 0
        }
    );
    assert_eq!(
        Plan::new(100, Some(500), Some(7)),
        Plan {
            toggles: 93,
            expunges: 7
        }
    );
    assert_eq!(
        Plan::new(100, Some(5), Some(9)),
        Plan {
            toggles: 0,
            expunges: 5
        }
    );
}

#[test]
fn uid_sets_are_compact_and_sorted() {
    assert_eq!(uid_set(&[9, 3, 4, 5, 12, 11, 4]), "3:5,9,11:12");
    assert_eq!(uid_set(&[1]), "1");
    assert_eq!(
        merge(vec![(5, 9), (1, 2), (3, 3), (20, 30), (25, 26)]),
        vec![(1, 3), (5, 9), (20, 30)]
    );
}
