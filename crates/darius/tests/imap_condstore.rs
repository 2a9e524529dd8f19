//! CONDSTORE and QRESYNC over real sockets (RFC 7162), following the RFC's examples: HIGHESTMODSEQ
//! in SELECT and STATUS, the MODSEQ FETCH item and CHANGEDSINCE, STORE UNCHANGEDSINCE with
//! `[MODIFIED]`, SEARCH MODSEQ with its result, MODSEQ in every untagged FETCH once enabled,
//! ENABLE QRESYNC, VANISHED in place of EXPUNGE, UID FETCH (CHANGEDSINCE VANISHED), and
//! SELECT (QRESYNC …) ending with the same state as a full reload.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use std::collections::{BTreeMap, BTreeSet};

use imap_support::{fill_inbox, last, Client};

fn server() -> common::Server {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    server
}

fn ok(lines: Vec<String>, tag: &str) -> Vec<String> {
    assert!(last(&lines).starts_with(&format!("{tag} OK")), "{lines:?}");
    lines
}

fn bad(lines: &[String], tag: &str) {
    assert!(last(lines).starts_with(&format!("{tag} BAD")), "{lines:?}");
}

/// The number after `[NAME ` in the first line that has it.
fn code(lines: &[String], name: &str) -> Option<u64> {
    let marker = format!("[{name} ");
    lines.iter().find_map(|l| {
        let rest = &l[l.find(&marker)? + marker.len()..];
        rest[..rest.find(']')?].parse().ok()
    })
}

/// One untagged FETCH: sequence number, UID, flags and MODSEQ where present.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fetch {
    seq: u32,
    uid: Option<u32>,
    flags: Option<BTreeSet<String>>,
    modseq: Option<u64>,
}

fn fetches(lines: &[String]) -> Vec<Fetch> {
    lines
        .iter()
        .filter(|l| l.starts_with("* ") && l.contains(" FETCH ("))
        .map(|l| {
            let seq = l.split(' ').nth(1).unwrap().parse().unwrap();
            let after = |marker: &str| l.find(marker).map(|i| &l[i + marker.len()..]);
            let uid = after("UID ").map(|r| {
                r.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            });
            let flags = after("FLAGS (").map(|r| {
                r[..r.find(')').unwrap()]
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            });
            let modseq = after("MODSEQ (").map(|r| r[..r.find(')').unwrap()].parse().unwrap());
            Fetch {
                seq,
                uid,
                flags,
                modseq,
            }
        })
        .collect()
}

/// UIDs of every VANISHED response with (EARLIER) or without it, expanded.
fn vanished(lines: &[String], earlier: bool) -> Vec<u32> {
    let prefix = if earlier {
        "* VANISHED (EARLIER) "
    } else {
        "* VANISHED "
    };
    let mut out = Vec::new();
    for line in lines {
        let Some(set) = line.strip_prefix(prefix) else {
            continue;
        };
        if !earlier && set.starts_with('(') {
            continue;
        }
        for item in set.trim_end().split(',') {
            match item.split_once(':') {
                Some((a, b)) => out.extend(a.parse::<u32>().unwrap()..=b.parse::<u32>().unwrap()),
                None => out.push(item.parse().unwrap()),
            }
        }
    }
    out
}

/// UID → flags of the whole selected mailbox, by a plain full fetch.
fn full_state(c: &mut Client, tag: &str) -> BTreeMap<u32, BTreeSet<String>> {
    let r = ok(c.cmd(tag, "UID FETCH 1:* (FLAGS)"), tag);
    fetches(&r)
        .into_iter()
        .map(|f| (f.uid.unwrap(), without_recent(f.flags.unwrap())))
        .collect()
}

fn without_recent(mut flags: BTreeSet<String>) -> BTreeSet<String> {
    flags.remove("\\Recent");
    flags
}

fn logged_in_with(server: &common::Server, messages: usize) -> Client {
    let mut c = Client::login(server.imap_port, "alice");
    if messages > 0 {
        fill_inbox(&mut c, messages, 10);
    }
    c
}

#[test]
fn capabilities_and_highestmodseq_in_select_and_status() {
    let server = server();
    let mut c = logged_in_with(&server, 3);
    let caps = ok(c.cmd("a1", "CAPABILITY"), "a1");
    assert!(
        caps[0].contains(" CONDSTORE") && caps[0].contains(" QRESYNC"),
        "{caps:?}"
    );
    // RFC 7162 §3.1.2.1: HIGHESTMODSEQ with every SELECT, before CONDSTORE is enabled too.
    let sel = ok(c.cmd("a2", "SELECT INBOX"), "a2");
    let first = code(&sel, "HIGHESTMODSEQ").expect("HIGHESTMODSEQ in SELECT");
    assert!(!sel.iter().any(|l| l.contains("NOMODSEQ")));
    ok(c.cmd("a3", "STORE 1 +FLAGS (\\Flagged)"), "a3");
    let status = ok(c.cmd("a4", "STATUS INBOX (HIGHESTMODSEQ)"), "a4");
    let line = status.iter().find(|l| l.starts_with("* STATUS")).unwrap();
    let now: u64 = line[line.find("HIGHESTMODSEQ ").unwrap() + 14..]
        .trim_end()
        .trim_end_matches(')')
        .parse()
        .unwrap();
    assert!(now > first, "a STORE raises HIGHESTMODSEQ: {first} → {now}");
    let ex = ok(c.cmd("a5", "EXAMINE INBOX"), "a5");
    assert_eq!(code(&ex, "HIGHESTMODSEQ"), Some(now));
    assert!(ex.iter().any(|l| l.contains("[CLOSED]")), "{ex:?}");
}

#[test]
fn modseq_fetch_item_and_changedsince_report_only_what_changed() {
    let server = server();
    let mut c = logged_in_with(&server, 5);
    let sel = ok(c.cmd("b1", "SELECT INBOX (CONDSTORE)"), "b1");
    let base = code(&sel, "HIGHESTMODSEQ").unwrap();
    let all = ok(c.cmd("b2", "FETCH 1:* (MODSEQ)"), "b2");
    let all = fetches(&all);
    assert_eq!(all.len(), 5);
    assert!(all
        .iter()
        .all(|f| f.modseq.unwrap() <= base && f.modseq.unwrap() > 0));
    let stored = ok(c.cmd("b3", "STORE 2,4 +FLAGS.SILENT (\\Seen)"), "b3");
    // RFC 7162 §3.1.3: even .SILENT reports the new MODSEQ once CONDSTORE is on.
    let silent = fetches(&stored);
    assert_eq!(silent.iter().map(|f| f.seq).collect::<Vec<_>>(), vec![2, 4]);
    assert!(silent
        .iter()
        .all(|f| f.flags.is_none() && f.uid.is_some() && f.modseq.unwrap() > base));
    // RFC 7162 §3.1.4.1's example: FLAGS of what changed since, MODSEQ added by the server.
    let changed = ok(
        c.cmd("b4", &format!("FETCH 1:* (FLAGS) (CHANGEDSINCE {base})")),
        "b4",
    );
    let changed = fetches(&changed);
    assert_eq!(
        changed.iter().map(|f| f.seq).collect::<Vec<_>>(),
        vec![2, 4]
    );
    assert!(changed
        .iter()
        .all(|f| f.modseq.is_some() && f.flags.as_ref().unwrap().contains("\\Seen")));
    let top = changed.iter().map(|f| f.modseq.unwrap()).max().unwrap();
    let none = ok(
        c.cmd("b5", &format!("UID FETCH 1:* (FLAGS) (CHANGEDSINCE {top})")),
        "b5",
    );
    assert!(fetches(&none).is_empty(), "{none:?}");
}

#[test]
fn unchangedsince_refuses_messages_changed_by_another_session() {
    let server = server();
    let mut a = logged_in_with(&server, 4);
    let sel = ok(a.cmd("c1", "SELECT INBOX"), "c1");
    let base = code(&sel, "HIGHESTMODSEQ").unwrap();
    let mut b = Client::login(server.imap_port, "alice");
    ok(b.cmd("d1", "SELECT INBOX"), "d1");
    ok(b.cmd("d2", "UID STORE 3 +FLAGS (\\Answered)"), "d2");
    // RFC 7162 §3.1.3 example 7: message 3 changed since `base`, so it is left alone.
    let r = ok(
        a.cmd(
            "c2",
            &format!("UID STORE 1:4 (UNCHANGEDSINCE {base}) +FLAGS (\\Deleted)"),
        ),
        "c2",
    );
    assert!(last(&r).contains("[MODIFIED 3]"), "{r:?}");
    let state = full_state(&mut a, "c3");
    assert!(state[&3].contains("\\Answered") && !state[&3].contains("\\Deleted"));
    for uid in [1, 2, 4] {
        assert!(state[&uid].contains("\\Deleted"), "{state:?}");
    }
    // Every FETCH carries MODSEQ now (UNCHANGEDSINCE enabled CONDSTORE), the STORE's too.
    assert!(fetches(&r)
        .iter()
        .all(|f| f.modseq.is_some() && f.uid.is_some()));
    // UNCHANGEDSINCE 0 fails for every existing message (RFC 7162 §3.1.3).
    let zero = ok(
        a.cmd("c4", "STORE 1:2 (UNCHANGEDSINCE 0) +FLAGS (\\Flagged)"),
        "c4",
    );
    assert!(last(&zero).contains("[MODIFIED 1:2]"), "{zero:?}");
    assert!(!full_state(&mut a, "c5")[&1].contains("\\Flagged"));
}

#[test]
fn after_enabling_other_sessions_changes_arrive_with_uid_and_modseq() {
    let server = server();
    let mut a = logged_in_with(&server, 3);
    ok(a.cmd("e1", "SELECT INBOX"), "e1");
    let en = ok(a.cmd("e2", "ENABLE CONDSTORE"), "e2");
    assert!(
        en.iter().any(|l| l.starts_with("* ENABLED CONDSTORE")),
        "{en:?}"
    );
    // Enabled while a mailbox is selected: the HIGHESTMODSEQ to start from.
    let start = code(&en, "HIGHESTMODSEQ").expect("HIGHESTMODSEQ after ENABLE");
    let mut b = Client::login(server.imap_port, "alice");
    ok(b.cmd("f1", "SELECT INBOX"), "f1");
    ok(b.cmd("f2", "STORE 2 +FLAGS ($Important)"), "f2");
    let noop = ok(a.cmd("e3", "NOOP"), "e3");
    let seen = fetches(&noop);
    assert_eq!(seen.len(), 1, "{noop:?}");
    assert_eq!(seen[0].uid, Some(2));
    assert!(seen[0].modseq.unwrap() > start);
    assert!(seen[0].flags.as_ref().unwrap().contains("$Important"));
    // A body fetch that sets \Seen reports UID and MODSEQ with the new FLAGS (RFC 7162 §3.1).
    let body = ok(a.cmd("e4", "FETCH 1 (BODY[TEXT])"), "e4").concat();
    assert!(
        body.contains("FLAGS (\\Seen") && body.contains("UID 1 ") && body.contains("MODSEQ ("),
        "{body:?}"
    );
}

#[test]
fn search_modseq_reports_the_highest_modseq_found() {
    let server = server();
    let mut c = logged_in_with(&server, 6);
    let sel = ok(c.cmd("g1", "SELECT INBOX"), "g1");
    let base = code(&sel, "HIGHESTMODSEQ").unwrap();
    ok(c.cmd("g2", "STORE 2 +FLAGS (\\Flagged)"), "g2");
    ok(c.cmd("g3", "STORE 5 +FLAGS (\\Flagged)"), "g3");
    let r = ok(c.cmd("g5", &format!("SEARCH MODSEQ {}", base + 1)), "g5");
    let line = r.iter().find(|l| l.starts_with("* SEARCH")).unwrap();
    let status = ok(c.cmd("g6", "STATUS INBOX (HIGHESTMODSEQ)"), "g6");
    let highest: u64 = {
        let l = status.iter().find(|l| l.starts_with("* STATUS")).unwrap();
        l[l.find("HIGHESTMODSEQ ").unwrap() + 14..]
            .trim_end()
            .trim_end_matches(')')
            .parse()
            .unwrap()
    };
    assert_eq!(line.trim_end(), format!("* SEARCH 2 5 (MODSEQ {highest})"));
    // With the entry-name form, and as ESEARCH.
    let r = ok(
        c.cmd(
            "g7",
            &format!(
                "UID SEARCH RETURN (ALL) MODSEQ \"/flags/\\\\flagged\" all {}",
                base + 1
            ),
        ),
        "g7",
    );
    let line = r.iter().find(|l| l.starts_with("* ESEARCH")).unwrap();
    assert!(
        line.contains("ALL 2,5") && line.contains(&format!("MODSEQ {highest}")),
        "{line}"
    );
    // Nothing found: no MODSEQ.
    let r = ok(c.cmd("g8", &format!("SEARCH MODSEQ {}", highest + 1)), "g8");
    assert!(r.iter().any(|l| l.trim_end() == "* SEARCH"), "{r:?}");
}

#[test]
fn qresync_must_be_enabled_and_vanished_needs_uid_fetch_with_changedsince() {
    let server = server();
    let mut c = logged_in_with(&server, 2);
    bad(&c.cmd("h1", "SELECT INBOX (QRESYNC (1 1))"), "h1");
    ok(c.cmd("h2", "SELECT INBOX"), "h2");
    bad(
        &c.cmd("h3", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)"),
        "h3",
    );
    let en = ok(c.cmd("h4", "ENABLE QRESYNC"), "h4");
    assert!(
        en.iter().any(|l| l.trim_end() == "* ENABLED QRESYNC"),
        "{en:?}"
    );
    bad(
        &c.cmd("h5", "FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)"),
        "h5",
    );
    bad(&c.cmd("h6", "UID FETCH 1:* (FLAGS) (VANISHED)"), "h6");
    bad(&c.cmd("h7", "SELECT INBOX (UNKNOWN-PARAM)"), "h7");
}

#[test]
fn with_qresync_expunges_are_reported_as_vanished() {
    let server = server();
    let mut a = logged_in_with(&server, 6);
    ok(a.cmd("i1", "ENABLE QRESYNC"), "i1");
    let sel = ok(a.cmd("i2", "SELECT INBOX"), "i2");
    let before = code(&sel, "HIGHESTMODSEQ").unwrap();
    ok(a.cmd("i3", "STORE 2,3 +FLAGS.SILENT (\\Deleted)"), "i3");
    let r = ok(a.cmd("i4", "EXPUNGE"), "i4");
    assert_eq!(vanished(&r, false), vec![2, 3], "{r:?}");
    // With QRESYNC the tagged OK gives the HIGHESTMODSEQ the client's cache is now at.
    let after = code(&r, "HIGHESTMODSEQ").expect("HIGHESTMODSEQ in the tagged OK");
    assert!(after > before, "{before} → {after}");
    assert!(!r
        .iter()
        .any(|l| l.contains("EXPUNGE") && l.starts_with("* ")));
    let mut b = Client::login(server.imap_port, "alice");
    ok(b.cmd("j1", "SELECT INBOX"), "j1");
    ok(b.cmd("j2", "UID STORE 5 +FLAGS.SILENT (\\Deleted)"), "j2");
    ok(b.cmd("j3", "EXPUNGE"), "j3");
    let r = ok(a.cmd("i5", "NOOP"), "i5");
    assert_eq!(vanished(&r, false), vec![5], "{r:?}");
    // UID FETCH … (CHANGEDSINCE 1 VANISHED): everything expunged in the set (RFC 7162 §3.2.6).
    let r = ok(
        a.cmd("i6", "UID FETCH 1:6 (FLAGS) (CHANGEDSINCE 1 VANISHED)"),
        "i6",
    );
    assert_eq!(vanished(&r, true), vec![2, 3, 5], "{r:?}");
    let uids: Vec<u32> = fetches(&r).iter().map(|f| f.uid.unwrap()).collect();
    assert_eq!(uids, vec![1, 4, 6]);
    let r = ok(
        a.cmd("i7", "UID FETCH 4:6 (FLAGS) (CHANGEDSINCE 1 VANISHED)"),
        "i7",
    );
    assert_eq!(vanished(&r, true), vec![5], "only the set's UIDs: {r:?}");
}

/// The resynchronisation the extension exists for: a client caches the mailbox, goes away
/// while another session changes flags, expunges and appends, then comes back with
/// `SELECT … (QRESYNC …)` and applies what it is told. Its cache must equal a full reload.
#[test]
fn a_client_away_during_changes_resyncs_to_the_same_state_as_a_full_reload() {
    let server = server();
    let mut a = logged_in_with(&server, 40);
    ok(a.cmd("k1", "ENABLE QRESYNC"), "k1");
    let sel = ok(a.cmd("k2", "SELECT INBOX"), "k2");
    let validity = code(&sel, "UIDVALIDITY").unwrap();
    let modseq = code(&sel, "HIGHESTMODSEQ").unwrap();
    let mut cache = full_state(&mut a, "k3");
    ok(a.cmd("k4", "LOGOUT"), "k4");

    let mut b = Client::login(server.imap_port, "alice");
    ok(b.cmd("m1", "SELECT INBOX"), "m1");
    ok(
        b.cmd("m2", "UID STORE 3,7,11 +FLAGS ($Work \\Flagged)"),
        "m2",
    );
    ok(b.cmd("m3", "UID STORE 20:22 +FLAGS (\\Seen)"), "m3");
    ok(
        b.cmd("m4", "UID STORE 5,6,30 +FLAGS.SILENT (\\Deleted)"),
        "m4",
    );
    ok(b.cmd("m5", "EXPUNGE"), "m5");
    ok(b.cmd("m6", "UID STORE 22 -FLAGS (\\Seen)"), "m6");
    fill_inbox(&mut b, 2, 2);
    ok(b.cmd("m7", "LOGOUT"), "m7");

    let mut a = Client::login(server.imap_port, "alice");
    ok(a.cmd("n1", "ENABLE QRESYNC"), "n1");
    let r = ok(
        a.cmd(
            "n2",
            &format!("SELECT INBOX (QRESYNC ({validity} {modseq} 1:40))"),
        ),
        "n2",
    );
    let gone = vanished(&r, true);
    assert_eq!(gone, vec![5, 6, 30], "{r:?}");
    for uid in &gone {
        cache.remove(uid);
    }
    let changed = fetches(&r);
    let changed_uids: BTreeSet<u32> = changed.iter().map(|f| f.uid.unwrap()).collect();
    assert_eq!(
        changed_uids,
        [3, 7, 11, 20, 21, 22].into_iter().collect(),
        "the flag changes among the known UIDs: {r:?}"
    );
    for f in changed {
        assert!(f.modseq.unwrap() > modseq);
        cache.insert(f.uid.unwrap(), without_recent(f.flags.unwrap()));
    }
    // RFC 7162 §3.2.5.2 order: VANISHED (EARLIER) before the FETCHes, both before the tag.
    let v = r.iter().position(|l| l.starts_with("* VANISHED")).unwrap();
    let f = r.iter().position(|l| l.contains(" FETCH (")).unwrap();
    assert!(v < f);
    // The new messages, as a client fetches them after UIDNEXT grew.
    let new = ok(a.cmd("n3", "UID FETCH 41:* (FLAGS)"), "n3");
    for f in fetches(&new) {
        cache.insert(f.uid.unwrap(), without_recent(f.flags.unwrap()));
    }
    assert_eq!(
        cache,
        full_state(&mut a, "n4"),
        "resynchronised cache == full reload"
    );

    // Without known UIDs, the messages new since the client's MODSEQ come as FETCHes too.
    let r = ok(
        a.cmd(
            "n5",
            &format!("SELECT INBOX (QRESYNC ({validity} {modseq}))"),
        ),
        "n5",
    );
    assert_eq!(vanished(&r, true), vec![5, 6, 30], "{r:?}");
    let uids: BTreeSet<u32> = fetches(&r).iter().map(|f| f.uid.unwrap()).collect();
    assert_eq!(uids, [3, 7, 11, 20, 21, 22, 41, 42].into_iter().collect());

    // A stale UIDVALIDITY is a plain SELECT: no VANISHED, no FETCH.
    let r = ok(
        a.cmd(
            "n6",
            &format!("SELECT INBOX (QRESYNC ({} {modseq}))", validity + 1),
        ),
        "n6",
    );
    assert!(
        vanished(&r, true).is_empty() && fetches(&r).is_empty(),
        "{r:?}"
    );
}
