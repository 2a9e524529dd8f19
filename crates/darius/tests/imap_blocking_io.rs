//! File I/O of IMAP sessions stays off the runtime's worker threads (issue 9, "also fix"): a
//! session file or telemetry file that blocks (a FIFO nobody reads stands for a stuck file
//! system) stalls at most its own session, never the other clients. With the I/O on the
//! workers, as many stuck sessions as there are workers stopped the whole server.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use std::path::{Path, PathBuf};

use imap_support::{last, Client};

/// More stuck sessions than the runtime has worker threads (one per core by default).
fn more_than_workers() -> usize {
    std::thread::available_parallelism().map_or(4, |n| n.get()) * 2 + 2
}

/// FIFOs named after the first `count` IMAP sessions of the server; `None` without mkfifo.
fn fifos(server: &common::Server, dir: &Path, count: usize) -> Option<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).unwrap();
    let paths: Vec<PathBuf> = (0..count)
        .map(|n| dir.join(format!("imap-{}-{n}", server.pid())))
        .collect();
    for path in &paths {
        let made = std::process::Command::new("mkfifo").arg(path).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("SKIPPED: mkfifo is not available");
            return None;
        }
    }
    Some(paths)
}

/// Lets whoever is blocked opening the FIFOs go on (so the server can stop quickly).
fn release(paths: Vec<PathBuf>) {
    for path in paths {
        std::thread::spawn(move || std::fs::read(path));
    }
}

#[test]
fn a_stuck_session_file_does_not_stall_other_connections() {
    let server = common::Server::start();
    server.add_user("bob", "pw-bob");
    let n = more_than_workers();
    let Some(paths) = fifos(&server, &server.config_dir().join("proc"), n) else {
        return;
    };
    let stuck: Vec<Client> = (0..n)
        .map(|_| Client::connect_silent(server.imap_port))
        .collect();
    let mut c = Client::login(server.imap_port, "bob");
    assert!(last(&c.cmd("b1", "SELECT INBOX")).starts_with("b1 OK"));
    drop(stuck);
    release(paths);
}

#[test]
fn a_stuck_telemetry_file_does_not_stall_other_connections() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    server.add_user("bob", "pw-bob");
    let n = more_than_workers();
    let Some(paths) = fifos(&server, &server.config_dir().join("log/alice"), n) else {
        return;
    };
    let mut stuck = Vec::new();
    for i in 0..n {
        let mut c = Client::connect(server.imap_port);
        c.send(format!("s{i} LOGIN alice pw-alice\r\n").as_bytes());
        stuck.push(c);
    }
    let mut c = Client::login(server.imap_port, "bob");
    assert!(last(&c.cmd("b1", "SELECT INBOX")).starts_with("b1 OK"));
    release(paths);
    for (i, mut s) in stuck.into_iter().enumerate() {
        let r = s.until(&format!("s{i}"));
        assert!(
            last(&r).contains("OK"),
            "the stuck logins complete once released: {r:?}"
        );
    }
}
