//! Kill tests of a whole Murder on loopback: a three-member etcd (127.0.0.11–13), two
//! `darius serve` backends and two frontends. Clients deliver over LMTP and APPEND over IMAP
//! through the frontends, as an MTA and a mail client would (a broken connection makes them
//! use the other frontend), while a frontend, a backend or the etcd leader is killed with
//! SIGKILL. Afterwards
//! every acknowledged message is in its mailbox exactly once, no message appears twice, the
//! users of the other backend never noticed, and the directory holds no reservation and no
//! name two servers claim.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;
mod imap_support;
mod murder_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::Server;
use imap_support::Client;
use murder_support::{
    directory, eventually, imap_once, lmtp_once, message, message_ids, murder_conf,
};

/// The Murder: etcd, backends b1 (ann's INBOX) and b2 (bob's), frontends f1 and f2.
struct Murder {
    runtime: tokio::runtime::Runtime,
    etcd: etcd::testing::EtcdCluster,
    b1: Server,
    b2: Server,
    f1: Server,
    f2: Server,
}

fn murder(prefix: &str) -> Option<Murder> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let etcd = runtime.block_on(etcd::testing::EtcdCluster::three())?;
    let endpoints = etcd.endpoints();
    let b1 = Server::start_with(&murder_conf("backend", "b1", &endpoints, prefix));
    let b2 = Server::start_with(&murder_conf("backend", "b2", &endpoints, prefix));
    let f1 = Server::start_with(&murder_conf("frontend", "f1", &endpoints, prefix));
    let f2 = Server::start_with(&murder_conf("frontend", "f2", &endpoints, prefix));
    for (server, users) in [
        (&b1, &["admin", "proxy", "ann"][..]),
        (&b2, &["admin", "proxy", "bob"][..]),
        (&f1, &["admin", "ann", "bob"][..]),
        (&f2, &["admin", "ann", "bob"][..]),
    ] {
        for user in users {
            server.add_user(user, &format!("pw-{user}"));
        }
    }
    for front in [&f1, &f2] {
        eventually("the frontends know both INBOXes", || {
            let mut c = Client::login(front.imap_port, "admin");
            let r = c.cmd("l", "LIST \"\" \"user.*\"");
            ["user.ann", "user.bob"]
                .iter()
                .all(|n| r.iter().any(|l| l.trim_end().ends_with(&format!(" {n}"))))
        });
    }
    Some(Murder {
        runtime,
        etcd,
        b1,
        b2,
        f1,
        f2,
    })
}

/// What one client thread did: the ids acknowledged; the ids not acknowledged (the
/// connection broke, or the answer was a temporary failure: a server that died after storing
/// the message and before answering leaves it there), which are never sent again; how many
/// were deferred (4xx, NO), and how many were acknowledged after `mark` was raised.
#[derive(Debug, Default)]
struct Outcome {
    acked: Vec<String>,
    unanswered: Vec<String>,
    deferred: usize,
    acked_after_mark: usize,
}

/// How a client sends one message to one server: `Some(true)` acknowledged, `Some(false)`
/// refused for now, `None` the connection broke.
type Send = fn(port: u16, user: &str, id: &str) -> Option<bool>;

fn by_lmtp(port: u16, user: &str, id: &str) -> Option<bool> {
    let reply = lmtp_once(port, user, &message(id, "by lmtp"))?;
    assert!(
        reply.starts_with('2') || reply.starts_with('4'),
        "LMTP for {user}: {reply}"
    );
    Some(reply.starts_with('2'))
}

fn by_append(port: u16, user: &str, id: &str) -> Option<bool> {
    let text = message(id, "by append");
    let answer = imap_once(
        port,
        user,
        &format!("APPEND INBOX {{{}+}}", text.len()),
        &text,
    )?;
    assert!(
        answer.starts_with("c OK") || answer.starts_with("c NO"),
        "APPEND for {user}: {answer}"
    );
    Some(answer.starts_with("c OK"))
}

/// A client sending messages to `user` through the frontends until `stop`, as an MTA or a
/// mail client with two servers configured: it stays with one frontend until a connection
/// to it breaks, then uses the next (`ports` is re-read each time: a restarted server's
/// ports change).
fn client(
    name: &'static str,
    user: &'static str,
    send: Send,
    ports: Arc<Mutex<Vec<u16>>>,
    stop: Arc<AtomicBool>,
    mark: Arc<AtomicBool>,
) -> JoinHandle<Outcome> {
    std::thread::spawn(move || {
        let mut outcome = Outcome::default();
        let (mut k, mut which) = (0, 0);
        while !stop.load(Ordering::SeqCst) {
            let port = {
                let ports = ports.lock().unwrap();
                ports[which % ports.len()]
            };
            let id = format!("{name}-{k}");
            k += 1;
            match send(port, user, &id) {
                Some(true) => {
                    outcome.acked.push(id);
                    if mark.load(Ordering::SeqCst) {
                        outcome.acked_after_mark += 1;
                    }
                }
                Some(false) => {
                    outcome.unanswered.push(id);
                    outcome.deferred += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                None => {
                    outcome.unanswered.push(id);
                    which += 1;
                }
            }
        }
        outcome
    })
}

/// Every acknowledged id is in `user`'s INBOX at `port` once; an id not acknowledged is
/// there at most once; nothing else is there.
fn check_inbox(port: u16, user: &str, outcomes: &[&Outcome]) {
    let ids = message_ids(port, user, "INBOX");
    for o in outcomes {
        eprintln!(
            "{user}: {} acknowledged ({} after the mark), {} not, {} deferred; {} in the INBOX",
            o.acked.len(),
            o.acked_after_mark,
            o.unanswered.len(),
            o.deferred,
            ids.len()
        );
    }
    for o in outcomes {
        for id in &o.acked {
            assert_eq!(ids.get(id), Some(&1), "{user}: acknowledged {id}");
        }
    }
    for (id, n) in &ids {
        assert_eq!(*n, 1, "{user}: {id} is there {n} times");
        let sent = outcomes
            .iter()
            .any(|o| o.acked.contains(id) || o.unanswered.contains(id));
        assert!(sent, "{user}: {id} was never sent");
    }
}

/// The four clients under way: LMTP and APPEND for ann and for bob, through both frontends.
struct Load {
    stop: Arc<AtomicBool>,
    mark: Arc<AtomicBool>,
    running: [JoinHandle<Outcome>; 4],
}

impl Load {
    /// Starts the clients, and lets them run for a while before the caller's disaster.
    fn start(m: &Murder) -> Load {
        let lmtp = Arc::new(Mutex::new(vec![m.f1.lmtp_port, m.f2.lmtp_port]));
        let imap = Arc::new(Mutex::new(vec![m.f1.imap_port, m.f2.imap_port]));
        let stop = Arc::new(AtomicBool::new(false));
        let mark = Arc::new(AtomicBool::new(false));
        let running = [
            ("lmtp-ann", "ann", by_lmtp as Send, &lmtp),
            ("append-ann", "ann", by_append as Send, &imap),
            ("lmtp-bob", "bob", by_lmtp as Send, &lmtp),
            ("append-bob", "bob", by_append as Send, &imap),
        ]
        .map(|(name, user, send, ports)| {
            client(name, user, send, ports.clone(), stop.clone(), mark.clone())
        });
        std::thread::sleep(Duration::from_millis(1500));
        Load {
            stop,
            mark,
            running,
        }
    }

    /// The disaster is over: what is acknowledged from now on counts as after it.
    fn mark(&self) {
        self.mark.store(true, Ordering::SeqCst);
    }

    /// Lets the clients run for `after`, stops them, and checks both INBOXes at their
    /// backends (see [`check_inbox`]): the outcomes of ann's two clients, then bob's.
    fn finish(self, m: &Murder, after: Duration) -> [Outcome; 4] {
        std::thread::sleep(after);
        self.stop.store(true, Ordering::SeqCst);
        let outcomes = self.running.map(|c| c.join().unwrap());
        check_inbox(m.b1.imap_port, "ann", &[&outcomes[0], &outcomes[1]]);
        check_inbox(m.b2.imap_port, "bob", &[&outcomes[2], &outcomes[3]]);
        outcomes
    }
}

#[test]
fn a_frontend_killed_under_load_loses_no_acknowledged_message() {
    let Some(mut m) = murder("/kill-front") else {
        return;
    };
    let load = Load::start(&m);
    m.f1.kill_hard();
    load.mark();
    let outcomes = load.finish(&m, Duration::from_secs(2));
    for o in &outcomes {
        // Every client went on through the other frontend; none was told to wait (the
        // backends never went away).
        assert!(o.acked_after_mark > 0, "{o:?}");
        assert_eq!(o.deferred, 0, "{o:?}");
    }
    // The same mail through the surviving frontend.
    let through_f2 = message_ids(m.f2.imap_port, "ann", "INBOX");
    assert_eq!(through_f2, message_ids(m.b1.imap_port, "ann", "INBOX"));
}

#[test]
fn a_backend_killed_under_load_loses_no_acknowledged_message_and_leaves_no_reservation() {
    let Some(mut m) = murder("/kill-back") else {
        return;
    };
    // ann also creates mailboxes (on b1, where her INBOX is) through a frontend, one after
    // the other, while b1 dies and comes back.
    let stop = Arc::new(AtomicBool::new(false));
    let creates = {
        let (port, stop) = (m.f2.imap_port, stop.clone());
        std::thread::spawn(move || {
            let mut made = Vec::new();
            let mut k = 0;
            while !stop.load(Ordering::SeqCst) {
                let answer = imap_once(port, "ann", &format!("CREATE INBOX.box{k}"), "");
                made.push((format!("user.ann.box{k}"), answer));
                k += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            made
        })
    };
    let load = Load::start(&m);
    m.b1.kill_hard();
    std::thread::sleep(Duration::from_secs(2));
    m.b1.restart();
    load.mark();
    // ann's mail flows again once the frontends see b1's new addresses.
    let [lmtp_ann, append_ann, lmtp_bob, append_bob] = load.finish(&m, Duration::from_secs(6));
    stop.store(true, Ordering::SeqCst);
    let made = creates.join().unwrap();
    // bob's backend never went away: none of his mail was deferred, and ann's was while b1
    // was down (a temporary failure, never a loss), then flowed again.
    for o in [&lmtp_bob, &append_bob] {
        assert_eq!(o.deferred, 0, "{o:?}");
        assert!(o.acked_after_mark > 0, "{o:?}");
    }
    for o in [&lmtp_ann, &append_ann] {
        assert!(o.deferred > 0, "ann's mail waited while b1 was down: {o:?}");
        assert!(o.acked_after_mark > 0, "ann's mail flows again: {o:?}");
    }
    // The directory: b1 settled what the kill interrupted. No reservation is left, every
    // CREATE that said OK is b1's active mailbox, and whatever else exists is b1's and active.
    eventually("no reservation is left", || {
        directory(&m.b2)
            .iter()
            .all(|(_, _, state)| state == "active")
    });
    let entries: BTreeMap<String, (String, String)> = directory(&m.b2)
        .into_iter()
        .map(|(name, at, state)| (name, (at, state)))
        .collect();
    for (name, answer) in &made {
        let entry = entries.get(name);
        if answer.as_deref().is_some_and(|a| a.starts_with("c OK")) {
            assert_eq!(
                entry,
                Some(&("b1!default".to_string(), "active".to_string())),
                "{name} was created"
            );
        } else if let Some(entry) = entry {
            assert_eq!(entry.0, "b1!default", "{name}: {answer:?}");
        }
    }
    assert!(
        made.iter()
            .any(|(_, a)| a.as_deref().is_some_and(|a| a.starts_with("c NO"))),
        "some CREATE met b1 down: {made:?}"
    );
    // Each backend's mailboxes and the directory agree (murder sync -n reports nothing): no
    // name is held by both.
    for b in [&m.b1, &m.b2] {
        let (ok, out, err) = b.run_darius(&["murder", "sync", "-n"]);
        assert!(ok, "murder sync -n: {out}{err}");
    }
}

#[test]
fn the_etcd_leader_killed_under_load_stops_no_mail() {
    let Some(mut m) = murder("/kill-etcd") else {
        return;
    };
    let load = Load::start(&m);
    let leader = m.runtime.block_on(m.etcd.leader()).expect("a leader");
    m.etcd.kill(leader);
    load.mark();
    // Mail needs no directory change: nothing waited, nothing broke, through the election.
    for o in &load.finish(&m, Duration::from_secs(3)) {
        assert!(o.acked_after_mark > 0, "{o:?}");
        assert_eq!(o.deferred, 0, "{o:?}");
        assert!(o.unanswered.is_empty(), "{o:?}");
    }
    // With two members of three, directory changes go on too.
    let r = Client::login(m.f1.imap_port, "ann").cmd("c", "CREATE INBOX.after");
    assert!(imap_support::last(&r).starts_with("c OK"), "{r:?}");
}
