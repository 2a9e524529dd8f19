//! Keywords are announced before they are used (issue 10, defect 1): RFC 3501 §7.2.6 and
//! RFC 9051 §7.3.5 — a session learns the mailbox's keywords from the untagged FLAGS response,
//! and must get a new FLAGS (with PERMANENTFLAGS) before any FETCH carries a keyword it has not
//! been told about, whoever defined it (its own STORE, another session's STORE, an APPEND,
//! COPY or MOVE into the mailbox). A keyword table is bounded (Cyrus's 128): one more is
//! refused with `NO [LIMIT]`, and PERMANENTFLAGS then stops offering `\*`.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use std::collections::HashSet;

use common::Rng;
use imap_support::{last, Client};

/// Follows one session's response stream: the keywords announced so far, and every FETCH
/// that carried a keyword before its announcement.
#[derive(Default)]
struct Checker {
    known: HashSet<String>,
    violations: Vec<String>,
    fetches: usize,
    announcements: usize,
}

/// The atoms inside the first `(...)` after `marker` in `line`.
fn list_after<'a>(line: &'a str, marker: &str) -> Option<Vec<&'a str>> {
    let rest = &line[line.find(marker)? + marker.len()..];
    let inner = &rest[..rest.find(')')?];
    Some(inner.split_whitespace().collect())
}

impl Checker {
    fn feed(&mut self, lines: &[String]) {
        for line in lines {
            if line.starts_with("* FLAGS (") {
                self.announcements += 1;
                self.known = list_after(line, "* FLAGS (")
                    .unwrap()
                    .into_iter()
                    .map(str::to_ascii_lowercase)
                    .collect();
            } else if line.starts_with("* ") && line.contains(" FETCH (") {
                let Some(flags) = list_after(line, "FLAGS (") else {
                    continue;
                };
                self.fetches += 1;
                for flag in flags {
                    if !flag.starts_with('\\') && !self.known.contains(&flag.to_ascii_lowercase()) {
                        self.violations.push(line.trim_end().to_string());
                    }
                }
            }
        }
    }
}

fn message(n: usize) -> String {
    format!("Subject: m{n}\r\nFrom: a@example.org\r\n\r\nbody {n}\r\n")
}

/// One random operation of a client that has INBOX selected; its responses go to the checker.
fn inbox_step(c: &mut Client, rng: &mut Rng, tag: &str, check: &mut Checker) {
    let kw = format!("$Kw{}", rng.below(90));
    let n = 1 + rng.below(20);
    if rng.below(8) == 0 {
        // IDLE: other sessions' changes arrive as they happen, announcements included.
        c.send(format!("{tag} IDLE\r\n").as_bytes());
        assert!(c.line().starts_with('+'));
        std::thread::sleep(std::time::Duration::from_millis(30));
        c.send(b"DONE\r\n");
        let r = c.until(tag);
        assert!(last(&r).starts_with(&format!("{tag} OK")), "IDLE: {r:?}");
        check.feed(&r);
        return;
    }
    let command = match rng.below(7) {
        0 | 1 => format!("STORE {n} +FLAGS ({kw})"),
        2 => format!("STORE {n} -FLAGS ({kw})"),
        3 => "FETCH 1:* (UID FLAGS)".to_string(),
        4 => "NOOP".to_string(),
        5 => format!("UID STORE {n}:* +FLAGS.SILENT ({kw})"),
        _ => {
            let body = message(n);
            format!("APPEND INBOX ({kw}) {{{}+}}\r\n{body}", body.len())
        }
    };
    let r = c.cmd(tag, &command);
    assert!(
        last(&r).starts_with(&format!("{tag} OK")),
        "{command}: {r:?}"
    );
    check.feed(&r);
}

/// A client with `Other` selected: defines keywords there and copies or moves messages that
/// carry them into INBOX, whose sessions meet them first in EXISTS and FETCH.
fn other_step(c: &mut Client, rng: &mut Rng, tag: &str, check: &mut Checker) {
    let kw = format!("$Kw{}", rng.below(90));
    let command = match rng.below(4) {
        0 => format!("STORE 1:* +FLAGS ({kw})"),
        // UID sets skip what is gone, so these stay valid as messages move away.
        1 => {
            let uid = 1 + rng.below(40);
            format!("UID COPY {uid}:{} INBOX", uid + 2)
        }
        2 => format!("UID MOVE {} INBOX", 1 + rng.below(40)),
        _ => {
            let body = message(rng.below(1000));
            format!("APPEND INBOX.Other ({kw}) {{{}+}}\r\n{body}", body.len())
        }
    };
    let r = c.cmd(tag, &command);
    assert!(
        last(&r).starts_with(&format!("{tag} OK")),
        "{command}: {r:?}"
    );
    check.feed(&r);
}

#[test]
fn concurrent_sessions_never_see_a_keyword_before_its_flags_announcement() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut setup = Client::login(server.imap_port, "alice");
    imap_support::fill_inbox(&mut setup, 20, 20);
    assert!(last(&setup.cmd("c", "CREATE INBOX.Other")).starts_with("c OK"));
    for n in 0..10 {
        let body = message(n);
        let r = setup.cmd(
            "o",
            &format!("APPEND INBOX.Other {{{}+}}\r\n{body}", body.len()),
        );
        assert!(last(&r).starts_with("o OK"), "{r:?}");
    }
    let port = server.imap_port;
    let clients: Vec<_> = (0..12u64)
        .map(|id| {
            std::thread::spawn(move || {
                let mut c = Client::login(port, "alice");
                let mut check = Checker::default();
                let mut rng = Rng::new(id + 1);
                let other = id % 4 == 3;
                let select = if other {
                    "SELECT INBOX.Other"
                } else {
                    "SELECT INBOX"
                };
                let r = c.cmd("s", select);
                assert!(last(&r).starts_with("s OK"), "{r:?}");
                check.feed(&r);
                for i in 0..60 {
                    let tag = format!("t{i}");
                    if other {
                        other_step(&mut c, &mut rng, &tag, &mut check);
                    } else {
                        inbox_step(&mut c, &mut rng, &tag, &mut check);
                    }
                }
                let r = c.cmd("z", "FETCH 1:* (FLAGS)");
                check.feed(&r);
                check
            })
        })
        .collect();
    let mut violations = Vec::new();
    let (mut fetches, mut announcements) = (0, 0);
    for client in clients {
        let check = client.join().unwrap();
        violations.extend(check.violations);
        fetches += check.fetches;
        announcements += check.announcements;
    }
    assert!(
        fetches > 1000,
        "only {fetches} FETCH responses with FLAGS were seen"
    );
    assert!(
        violations.is_empty(),
        "{} FETCH responses carried an unannounced keyword, e.g. {:?}",
        violations.len(),
        &violations[..violations.len().min(5)]
    );
    assert!(
        announcements > 12,
        "no FLAGS announcement after SELECT ({announcements})"
    );
}

/// The storing session and another one both get FLAGS and PERMANENTFLAGS naming the new
/// keyword, then the FETCH that carries it.
#[test]
fn a_new_keyword_is_announced_to_the_storing_session_and_to_others_before_its_fetch() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut a = Client::login(server.imap_port, "alice");
    imap_support::fill_inbox(&mut a, 2, 2);
    let mut b = Client::login(server.imap_port, "alice");
    let r = a.cmd("a1", "SELECT INBOX");
    assert!(
        r.iter()
            .any(|l| l.contains("[PERMANENTFLAGS (") && l.contains("\\*)")),
        "{r:?}"
    );
    assert!(last(&b.cmd("b1", "SELECT INBOX")).starts_with("b1 OK"));

    let r = a.cmd("a2", "STORE 1 +FLAGS ($Label1)");
    let position = |r: &[String], what: &str| r.iter().position(|l| l.contains(what));
    let flags = position(&r, "* FLAGS (").expect("FLAGS announced to the storing session");
    let permanent = position(&r, "[PERMANENTFLAGS (").expect("PERMANENTFLAGS too");
    let fetch = position(&r, " FETCH (").unwrap();
    assert!(
        r[flags].contains("$Label1") && r[permanent].contains("$Label1"),
        "{r:?}"
    );
    assert!(flags < permanent && permanent < fetch, "{r:?}");

    let r = b.cmd("b2", "NOOP");
    let flags = position(&r, "* FLAGS (").expect("FLAGS announced to the other session");
    let fetch = position(&r, " FETCH (").expect("the change is reported");
    assert!(r[flags].contains("$Label1") && flags < fetch, "{r:?}");
    assert!(r[fetch].contains("$Label1"), "{r:?}");

    // Known now: no second announcement.
    let r = a.cmd("a3", "STORE 2 +FLAGS ($Label1)");
    assert!(position(&r, "* FLAGS (").is_none(), "{r:?}");
    // A keyword is at most 250 octets long.
    let r = a.cmd("a4", &format!("STORE 2 +FLAGS (k{})", "x".repeat(250)));
    assert!(last(&r).starts_with("a4 BAD"), "{r:?}");
    let r = a.cmd("a5", &format!("STORE 2 +FLAGS (k{})", "x".repeat(249)));
    assert!(last(&r).starts_with("a5 OK"), "{r:?}");
    // EXAMINE's announcement lists the keywords, with no permanent flags.
    let r = b.cmd("b3", "EXAMINE INBOX");
    let flags = &r[position(&r, "* FLAGS (").unwrap()];
    assert!(flags.contains("$Label1"), "{r:?}");
    assert!(r.iter().any(|l| l.contains("[PERMANENTFLAGS ()]")), "{r:?}");
}

/// Cyrus's bound of 128 keywords per mailbox: the 129th is refused with `NO [LIMIT]`, nothing
/// of that STORE happens, and PERMANENTFLAGS no longer offers `\*`.
#[test]
fn a_mailbox_holds_at_most_128_keywords() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut a = Client::login(server.imap_port, "alice");
    imap_support::fill_inbox(&mut a, 1, 1);
    assert!(last(&a.cmd("s", "SELECT INBOX")).starts_with("s OK"));
    for chunk in 0..8 {
        let names: Vec<String> = (0..16).map(|i| format!("k{}", chunk * 16 + i)).collect();
        let r = a.cmd("f", &format!("STORE 1 +FLAGS ({})", names.join(" ")));
        assert!(last(&r).starts_with("f OK"), "{r:?}");
    }
    let r = a.cmd("x", "STORE 1 +FLAGS (k0 one-too-many)");
    assert!(last(&r).starts_with("x NO [LIMIT]"), "{r:?}");
    let r = a.cmd("y", "FETCH 1 (FLAGS)");
    assert!(!r.iter().any(|l| l.contains("one-too-many")), "{r:?}");
    let r = a.cmd("z", "SELECT INBOX");
    let permanent = r.iter().find(|l| l.contains("[PERMANENTFLAGS (")).unwrap();
    assert!(
        permanent.contains("k127") && !permanent.contains("\\*"),
        "{permanent}"
    );
    let appended = "Subject: x\r\n\r\nx\r\n";
    let r = a.cmd(
        "w",
        &format!(
            "APPEND INBOX (brand-new) {{{}+}}\r\n{appended}",
            appended.len()
        ),
    );
    assert!(last(&r).starts_with("w NO [LIMIT]"), "{r:?}");
}
