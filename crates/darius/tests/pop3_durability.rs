//! What POP3 promises across the server's life:
//! - UIDL is stable: the same unique-id for every message across a restart and across an
//!   offline `reconstruct` of the INBOX (Cyrus's UIDVALIDITY.UID form, so a client that
//!   leaves mail on the server never fetches a message twice);
//! - QUIT's expunge is all or nothing: the server is killed with SIGKILL while a QUIT with
//!   many DELE-marked messages is being handled (the moment drawn from a printed seed over the
//!   time a QUIT takes), restarted on the same data, and then either every marked message or
//!   none is gone, no unmarked one is gone, and every marked one is gone when `+OK` was read
//!   before the kill. `DARIUS_CRASH_ROUNDS` sets the rounds (default 10), `DARIUS_SEED` the
//!   seed.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;
mod pop3_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::Server;
use pop3_support::{deliver, messages, uidls, Client};

/// UIDVALIDITY.UID for each message IMAP sees in `user`'s INBOX, in order.
fn imap_uidls(server: &Server, user: &str, password: &str) -> Vec<String> {
    let (validity, messages) = pop3_support::imap_inbox(server.imap_port, user, password);
    messages
        .iter()
        .map(|(uid, _)| format!("{validity}.{uid}"))
        .collect()
}

#[test]
fn uidl_survives_restart_and_reconstruct() {
    let mut server = Server::start();
    server.add_user("bob", "pw-bob");
    deliver(&server, "bob", &messages("stable", "bob", 10));
    // Gaps in the UIDs: two messages expunged by QUIT, then more delivered.
    let mut c = Client::login(server.pop3_port, "bob", "pw-bob");
    for n in [2, 5] {
        let r = c.command(&format!("DELE {n}")).unwrap();
        assert!(r.starts_with("+OK"), "{r}");
    }
    c.quit();
    deliver(&server, "bob", &messages("later", "bob", 3));
    let before = uidls(server.pop3_port, "bob", "pw-bob");
    assert_eq!(before.len(), 11, "{before:?}");
    assert_eq!(
        before,
        imap_uidls(&server, "bob", "pw-bob"),
        "UIDL is UIDVALIDITY.UID"
    );

    server.stop();
    server.restart();
    assert_eq!(
        uidls(server.pop3_port, "bob", "pw-bob"),
        before,
        "after a restart"
    );

    let report = pop3_support::reconstruct_offline(&mut server, "user.bob");
    assert_eq!(
        uidls(server.pop3_port, "bob", "pw-bob"),
        before,
        "after reconstruct ({report})"
    );
    // And a message delivered afterwards gets a new unique-id, never a reused one.
    deliver(&server, "bob", &messages("after", "bob", 1));
    let after = uidls(server.pop3_port, "bob", "pw-bob");
    assert_eq!(after[..before.len()], before[..]);
    assert!(!before.contains(&after[before.len()]), "{after:?}");
}

const USER: &str = "crash";
const PASSWORD: &str = "pw-crash";
/// Messages in the maildrop at the start of each round, and how many a round marks.
const MAILDROP: usize = 60;
const MARKED: usize = 30;

/// One POP3 session: log in, mark `marked` (message numbers) with pipelined DELEs, send QUIT,
/// and return the moment QUIT was sent with the session (to read QUIT's answer from).
fn mark_and_quit(port: u16, marked: &[usize]) -> (Client, Instant) {
    let mut c = Client::login(port, USER, PASSWORD);
    let dele: String = marked.iter().map(|n| format!("DELE {n}\r\n")).collect();
    assert!(c.send(dele.as_bytes()));
    for n in marked {
        let r = c.line().unwrap();
        assert!(r.starts_with("+OK"), "DELE {n}: {r}");
    }
    assert!(c.send(b"QUIT\r\n"));
    (c, Instant::now())
}

/// How long a QUIT that expunges `MARKED` messages takes here: the median of a few runs
/// (each round then kills somewhere in 0..1.5 times that, see below).
fn quit_duration(server: &Server, rng: &mut common::Rng) -> Duration {
    let mut times = Vec::new();
    for round in 0..3 {
        deliver(
            server,
            USER,
            &messages(&format!("calibrate{round}"), USER, MARKED),
        );
        let (mut c, sent) = mark_and_quit(server.pop3_port, &pick(rng, MAILDROP + MARKED));
        let r = c.line().unwrap();
        assert!(r.starts_with("+OK"), "QUIT: {r}");
        times.push(sent.elapsed());
    }
    times.sort();
    times[1]
}

/// `MARKED` distinct message numbers out of 1..=`count`, sorted.
fn pick(rng: &mut common::Rng, count: usize) -> Vec<usize> {
    let mut set = BTreeSet::new();
    while set.len() < MARKED {
        set.insert(1 + rng.below(count));
    }
    set.into_iter().collect()
}

#[test]
fn sigkill_during_quit_expunges_all_or_none_of_the_marked() {
    let rounds: usize = std::env::var("DARIUS_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let seed = common::seed();
    eprintln!("DARIUS_SEED={seed}");
    let mut rng = common::Rng::new(seed);
    let mut server = Server::start();
    server.add_user(USER, PASSWORD);
    deliver(&server, USER, &messages("initial", USER, MAILDROP));
    let quit = quit_duration(&server, &mut rng);
    let (mut none, mut all, mut acknowledged) = (0, 0, 0);
    for round in 0..rounds {
        // POP3 lists what IMAP has minus what carries \Deleted (popuseimapflags), so the two
        // views are checked each on its own.
        let pop3_before = uidls(server.pop3_port, USER, PASSWORD);
        let imap_before = imap_uidls(&server, USER, PASSWORD);
        let numbers = pick(&mut rng, pop3_before.len());
        let marked: BTreeSet<&String> = numbers.iter().map(|n| &pop3_before[n - 1]).collect();
        // Log-uniform between 1.5 times a QUIT and 1/4096 of that: many kills land in the
        // first milliseconds, where the expunge's commit is, and some after the answer.
        let wait = quit.mul_f64(1.5 * (-(rng.below(1000) as f64) / 1000.0 * 12.0).exp2());
        let (mut c, sent) = mark_and_quit(server.pop3_port, &numbers);
        std::thread::sleep(wait.saturating_sub(sent.elapsed()));
        server.kill_hard();
        // Whatever QUIT answered before the kill: `+OK` promises the expunge is durable.
        let answered = c.line().is_some_and(|r| r.starts_with("+OK"));
        server.restart();
        let pop3_after = uidls(server.pop3_port, USER, PASSWORD);
        let imap_after = imap_uidls(&server, USER, PASSWORD);
        let context = format!(
            "round {round} (seed {seed}, killed {wait:?} after QUIT, QUIT answered +OK: \
             {answered})\nmarked {marked:?}"
        );
        let pop3_gone = gone(
            &pop3_before,
            &pop3_after,
            &marked,
            &format!("POP3, {context}"),
        );
        let imap_gone = gone(
            &imap_before,
            &imap_after,
            &marked,
            &format!("IMAP, {context}"),
        );
        assert!(
            !answered || imap_gone == marked.len(),
            "QUIT said +OK but the marked messages are not expunged: {context}"
        );
        match (pop3_gone, answered) {
            (0, _) => none += 1,
            (_, true) => acknowledged += 1,
            (_, false) => all += 1,
        }
        // Refill what was expunged, so every round starts from the same size.
        let refill = MAILDROP.saturating_sub(pop3_after.len());
        deliver(
            &server,
            USER,
            &messages(&format!("refill{round}"), USER, refill),
        );
    }
    eprintln!(
        "{rounds} rounds (QUIT takes about {quit:?}): none gone {none}, all gone without +OK \
         {all}, all gone with +OK {acknowledged}"
    );
    let pop3_before = uidls(server.pop3_port, USER, PASSWORD);
    let imap_before = imap_uidls(&server, USER, PASSWORD);
    let report = pop3_support::reconstruct_offline(&mut server, &format!("user.{USER}"));
    assert_eq!(
        uidls(server.pop3_port, USER, PASSWORD),
        pop3_before,
        "POP3 after reconstruct ({report})"
    );
    assert_eq!(
        imap_uidls(&server, USER, PASSWORD),
        imap_before,
        "IMAP after reconstruct ({report})"
    );
}

/// How many of `before` are missing from `after`, checking that only marked messages went
/// and that either all of them or none did.
fn gone(before: &[String], after: &[String], marked: &BTreeSet<&String>, context: &str) -> usize {
    let after: BTreeSet<&String> = after.iter().collect();
    let gone: BTreeSet<&String> = before.iter().filter(|u| !after.contains(u)).collect();
    assert!(
        gone.iter().all(|u| marked.contains(u)),
        "an unmarked message is gone ({gone:?}): {context}"
    );
    let marked_gone = marked.iter().filter(|u| gone.contains(*u)).count();
    assert!(
        marked_gone == 0 || marked_gone == marked.len(),
        "{marked_gone} of {} marked messages are gone ({gone:?}): {context}",
        marked.len()
    );
    marked_gone
}
