//! The Murder's directory in a real etcd (Debian's `etcd-server`, private members on
//! loopback) with real `darius serve` backends: what a backend holds is published by
//! compare-and-swap, no name is ever held twice, every server's copy follows the directory,
//! a crash's reservation is settled at the next start, `darius murder dump` and `sync` say
//! what the directory holds, and a backend's lease ends when it dies.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;
mod imap_support;

use std::time::{Duration, Instant};

use common::Server;
use imap_support::{last, Client};

/// How long a change may take to reach another server's copy (a watch event, applied).
const SETTLE: Duration = Duration::from_secs(30);

/// A backend called `name` in the Murder under `prefix` of the etcd at `endpoints`.
fn backend(name: &str, endpoints: &[String], prefix: &str) -> Server {
    let server = Server::start_with(&format!(
        "murder_role: backend\nmurder_server_name: {name}\n\
         murder_etcd_endpoints: {}\nmurder_etcd_prefix: {prefix}\nmurder_lease_ttl: 3\n",
        endpoints.join(" ")
    ));
    server.add_user("admin", "pw-admin");
    server
}

/// `darius murder dump` of `server`'s Murder, as lines.
fn dump(server: &Server) -> Vec<String> {
    server
        .darius_ok(&["murder", "dump", "--acl"])
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits until `check` holds, or fails with what `describe` says then.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + SETTLE;
    while !check() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The line of `name` in a dump, if any.
fn entry<'a>(lines: &'a [String], name: &str) -> Option<&'a str> {
    lines
        .iter()
        .map(String::as_str)
        .find(|l| l.split('\t').next() == Some(name))
}

/// LIST of every mailbox, as `admin`, by name.
fn listed(port: u16) -> Vec<String> {
    let mut c = Client::login(port, "admin");
    let lines = c.cmd("a", "LIST \"\" \"*\"");
    assert!(last(&lines).starts_with("a OK"), "{lines:?}");
    lines
        .iter()
        .filter(|l| l.starts_with("* LIST"))
        .filter_map(|l| {
            l.trim_end()
                .rsplit(' ')
                .next()
                .map(|n| n.trim_matches('"').to_string())
        })
        .collect()
}

fn run_admin(port: u16, commands: &[&str]) -> Vec<String> {
    let mut c = Client::login(port, "admin");
    commands
        .iter()
        .enumerate()
        .map(|(i, cmd)| last(&c.cmd(&format!("c{i}"), cmd)).trim_end().to_string())
        .collect()
}

#[test]
fn backends_publish_their_mailboxes_and_copy_each_others() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = runtime.block_on(etcd::testing::EtcdCluster::single()) else {
        return;
    };
    let endpoints = etcd.endpoints();
    let b1 = backend("b1", &endpoints, "/t1");
    let b2 = backend("b2", &endpoints, "/t1");
    b1.add_user("ann", "pw-ann");
    b2.add_user("bob", "pw-bob");
    eventually("both INBOXes in the directory", || {
        let d = dump(&b1);
        entry(&d, "user.ann").is_some_and(|l| l.starts_with("user.ann\tb1!default\tactive"))
            && entry(&d, "user.bob").is_some_and(|l| l.starts_with("user.bob\tb2!default\tactive"))
    });
    // Each server's LIST shows the other's mailboxes (from its copy of the directory).
    eventually("b2 lists user.ann", || {
        listed(b2.imap_port).contains(&"user.ann".to_string())
    });
    eventually("b1 lists user.bob", || {
        listed(b1.imap_port).contains(&"user.bob".to_string())
    });
    // A name another server holds cannot be created here.
    let answers = run_admin(b2.imap_port, &["CREATE user.ann"]);
    assert!(answers[0].contains("NO"), "{answers:?}");
    // A shared mailbox and its ACL reach the directory and the other copy.
    let answers = run_admin(
        b1.imap_port,
        &["CREATE shared.team", "SETACL shared.team bob lrs"],
    );
    assert!(answers.iter().all(|a| a.contains("OK")), "{answers:?}");
    eventually("shared.team's ACL in the directory", || {
        entry(&dump(&b2), "shared.team").is_some_and(|l| l.contains("bob lrs"))
    });
    let mut bob = Client::login(b2.imap_port, "bob");
    eventually("bob sees shared.team on b2", || {
        let lines = bob.cmd("m", "MYRIGHTS shared.team");
        lines
            .iter()
            .any(|l| l.starts_with("* MYRIGHTS shared.team lrs"))
    });
    // RENAME moves the entries; DELETE removes them everywhere.
    let answers = run_admin(
        b1.imap_port,
        &["CREATE user.ann.Work", "RENAME user.ann.Work user.ann.Job"],
    );
    assert!(answers.iter().all(|a| a.contains("OK")), "{answers:?}");
    eventually("the renamed mailbox in the directory", || {
        let d = dump(&b2);
        entry(&d, "user.ann.Job").is_some() && entry(&d, "user.ann.Work").is_none()
    });
    let answers = run_admin(b1.imap_port, &["DELETE shared.team"]);
    assert!(answers[0].contains("OK"), "{answers:?}");
    eventually("shared.team gone from b2's copy", || {
        entry(&dump(&b2), "shared.team").is_none()
            && !listed(b2.imap_port).contains(&"shared.team".to_string())
    });
}

#[test]
fn two_backends_racing_for_one_name_never_both_hold_it() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = runtime.block_on(etcd::testing::EtcdCluster::single()) else {
        return;
    };
    let endpoints = etcd.endpoints();
    let b1 = backend("b1", &endpoints, "/t2");
    let b2 = backend("b2", &endpoints, "/t2");
    for round in 0..10 {
        let name = format!("shared.race{round}");
        let (p1, p2) = (b1.imap_port, b2.imap_port);
        let create = move |port: u16, name: String| {
            std::thread::spawn(move || run_admin(port, &[&format!("CREATE {name}")]).remove(0))
        };
        let one = create(p1, name.clone());
        let two = create(p2, name.clone());
        let (one, two) = (one.join().unwrap(), two.join().unwrap());
        let won: Vec<bool> = [&one, &two].iter().map(|a| a.contains(" OK")).collect();
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "exactly one CREATE wins: {one} / {two}"
        );
        let winner = if won[0] { "b1" } else { "b2" };
        let d = dump(&b1);
        let line = entry(&d, &name).unwrap();
        assert!(
            line.contains(&format!("\t{winner}!default\tactive")),
            "{line}"
        );
    }
}

#[test]
fn a_crash_reservation_is_settled_and_sync_reports_differences() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = runtime.block_on(etcd::testing::EtcdCluster::single()) else {
        return;
    };
    let endpoints = etcd.endpoints();
    let mut b1 = backend("b1", &endpoints, "/t3");
    b1.add_user("ann", "pw-ann");
    eventually("user.ann in the directory", || {
        entry(&dump(&b1), "user.ann").is_some_and(|l| l.contains("active"))
    });
    // In sync: nothing to report.
    let (ok, out, err) = b1.run_darius(&["murder", "sync", "-n"]);
    assert!(ok && out.is_empty(), "{out}{err}");
    // What a crash between reserve and create leaves, and an entry that drifted.
    let client = etcd::Client::new(etcd::ClientConfig::new(endpoints.clone())).unwrap();
    runtime.block_on(async {
        // A reservation is written with its server's index key, in one transaction.
        client
            .put(b"/t3/held/b1/user.ghost", b"", None)
            .await
            .unwrap();
        client
            .put(
                b"/t3/mbox/user.ghost",
                br#"{"state":"reserved","server":"b1"}"#,
                None,
            )
            .await
            .unwrap();
        let (value, _) = {
            let kv = client.get(b"/t3/mbox/user.ann").await.unwrap().unwrap();
            (kv.value, kv.mod_revision)
        };
        let text = String::from_utf8(value)
            .unwrap()
            .replace("\"acl\":\"", "\"acl\":\"x\\tl\\t");
        client
            .put(b"/t3/mbox/user.ann", text.as_bytes(), None)
            .await
            .unwrap();
    });
    let (ok, out, _) = b1.run_darius(&["murder", "sync", "-n"]);
    assert!(!ok, "differences make the exit status 1");
    assert!(out.contains("user.ann: differs in the directory"), "{out}");
    assert!(
        out.contains("user.ghost: in the directory, not here"),
        "{out}"
    );
    // The next start settles both.
    b1.kill_hard();
    b1.restart();
    eventually("the reservation removed and the entry corrected", || {
        let d = dump(&b1);
        entry(&d, "user.ghost").is_none()
            && entry(&d, "user.ann").is_some_and(|l| !l.contains("x l"))
    });
    let (ok, out, err) = b1.run_darius(&["murder", "sync", "-n"]);
    assert!(ok && out.is_empty(), "{out}{err}");
}

#[test]
fn a_dead_backend_leaves_and_etcd_down_refuses_only_namespace_changes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(mut etcd) = runtime.block_on(etcd::testing::EtcdCluster::single()) else {
        return;
    };
    let endpoints = etcd.endpoints();
    let mut b1 = backend("b1", &endpoints, "/t4");
    let b2 = backend("b2", &endpoints, "/t4");
    b1.add_user("ann", "pw-ann");
    let client = etcd::Client::new(etcd::ClientConfig::new(endpoints.clone())).unwrap();
    let advertised = |name: &str| {
        let key = format!("/t4/server/{name}");
        runtime
            .block_on(client.get(key.as_bytes()))
            .unwrap()
            .is_some()
    };
    eventually("both backends advertised", || {
        advertised("b1") && advertised("b2")
    });
    // kill -9: no withdrawal; the lease (3 s) ends it.
    b1.kill_hard();
    eventually("b1's record gone with its lease", || !advertised("b1"));
    assert!(advertised("b2"));
    b1.restart();
    eventually("b1 advertised again", || advertised("b1"));
    // etcd down: the namespace cannot change, mail still flows.
    etcd.kill(0);
    let answers = run_admin(b1.imap_port, &["CREATE user.ann.Later"]);
    assert!(answers[0].contains("NO [UNAVAILABLE]"), "{answers:?}");
    let mut ann = Client::login(b1.imap_port, "ann");
    let msg = "Subject: hi\r\n\r\nbody\r\n";
    ann.send(format!("b APPEND INBOX {{{}}}\r\n", msg.len()).as_bytes());
    assert!(ann.line().starts_with('+'));
    ann.send(format!("{msg}\r\n").as_bytes());
    let r = ann.until("b");
    assert!(last(&r).starts_with("b OK"), "{r:?}");
    runtime.block_on(etcd.restart(0));
    eventually("CREATE works again once etcd is back", || {
        run_admin(b1.imap_port, &["CREATE user.ann.Later"])[0].contains("OK")
    });
    eventually("the new mailbox in the directory", || {
        entry(&dump(&b2), "user.ann.Later").is_some()
    });
}

#[test]
fn one_etcd_member_of_three_dying_under_load_loses_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(mut etcd) = runtime.block_on(etcd::testing::EtcdCluster::three()) else {
        return;
    };
    let endpoints = etcd.endpoints();
    let b1 = backend("b1", &endpoints, "/t5");
    let b2 = backend("b2", &endpoints, "/t5");
    // Both backends create mailboxes while the leader is killed halfway.
    let creator = |port: u16, prefix: &'static str| {
        std::thread::spawn(move || {
            let mut c = Client::login(port, "admin");
            (0..40)
                .map(|i| {
                    let name = format!("shared.{prefix}{i}");
                    let ok = last(&c.cmd("c", &format!("CREATE {name}"))).starts_with("c OK");
                    std::thread::sleep(Duration::from_millis(25));
                    (name, ok)
                })
                .collect::<Vec<_>>()
        })
    };
    let one = creator(b1.imap_port, "one");
    let two = creator(b2.imap_port, "two");
    std::thread::sleep(Duration::from_millis(400));
    let leader = runtime.block_on(etcd.leader()).expect("a leader");
    etcd.kill(leader);
    let (one, two) = (one.join().unwrap(), two.join().unwrap());
    // With two members of three the cluster has a quorum: after the election every create
    // succeeds, and the few around the kill may have been refused, never half done.
    let created = |list: &[(String, bool)]| list.iter().filter(|(_, ok)| *ok).count();
    assert!(
        created(&one) >= 30 && created(&two) >= 30,
        "{one:?} {two:?}"
    );
    let d = dump(&b1);
    assert!(
        !d.iter().any(|l| l.contains("\treserved")),
        "a reservation was left: {d:?}"
    );
    for (list, server) in [(&one, "b1"), (&two, "b2")] {
        for (name, ok) in list.iter() {
            let line = entry(&d, name);
            if *ok {
                let line = line.unwrap_or_else(|| panic!("{name} was created but is not in {d:?}"));
                assert!(
                    line.contains(&format!("\t{server}!default\tactive")),
                    "{line}"
                );
            } else {
                assert!(
                    line.is_none(),
                    "{name} was refused but is in the directory: {line:?}"
                );
            }
        }
    }
    // Each backend's copy converges on the other's mailboxes.
    eventually("b2's copy holds every mailbox b1 created", || {
        let names = listed(b2.imap_port);
        one.iter()
            .filter(|(_, ok)| *ok)
            .all(|(n, _)| names.contains(n))
    });
}

#[test]
fn a_copy_behind_a_compacted_history_is_read_whole_and_loses_what_went() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = runtime.block_on(etcd::testing::EtcdCluster::single()) else {
        return;
    };
    let endpoints = etcd.endpoints();
    let b1 = backend("b1", &endpoints, "/t6");
    let mut b2 = backend("b2", &endpoints, "/t6");
    let answers = run_admin(b1.imap_port, &["CREATE shared.gone", "CREATE shared.stays"]);
    assert!(answers.iter().all(|a| a.contains("OK")), "{answers:?}");
    eventually("b2's copy has both", || {
        let names = listed(b2.imap_port);
        names.contains(&"shared.gone".to_string()) && names.contains(&"shared.stays".to_string())
    });
    // b2 is away while shared.gone is deleted and etcd forgets the history.
    b2.kill_hard();
    let answers = run_admin(b1.imap_port, &["DELETE shared.gone", "CREATE shared.new"]);
    assert!(answers.iter().all(|a| a.contains("OK")), "{answers:?}");
    let client = etcd::Client::new(etcd::ClientConfig::new(endpoints.clone())).unwrap();
    runtime.block_on(async {
        let now = client
            .range(etcd::RangeRequest::key(b"/t6/"))
            .await
            .unwrap()
            .header
            .revision;
        client.compact(now).await.unwrap();
    });
    b2.restart();
    eventually("b2 found its revision compacted away", || {
        b2.logged("compacted its history")
    });
    eventually("b2's copy matches the directory", || {
        let names = listed(b2.imap_port);
        !names.contains(&"shared.gone".to_string())
            && names.contains(&"shared.stays".to_string())
            && names.contains(&"shared.new".to_string())
    });
}
