//! Connections that have not logged in (issue 9 item 7, the IMAP side): a total deadline from
//! the connection's start whatever the client sends, a timeout on writes to a client that
//! stops reading, and a small allowance for literals and commands until authentication, after
//! which the configured limits apply.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use std::io::Write;
use std::time::{Duration, Instant};

use imap_support::{last, Client};

/// `prelogin_timeout`'s smallest value (seconds).
const PRELOGIN: u64 = 10;

fn server() -> common::Server {
    let server = common::Server::start_with(&format!("prelogin_timeout: {PRELOGIN}\n"));
    server.add_user("alice", "pw-alice");
    server
}

#[test]
fn a_client_that_keeps_talking_is_closed_at_the_prelogin_deadline() {
    let server = server();
    let mut c = Client::connect(server.imap_port);
    // A NOOP every second resets a per-read timeout forever; the deadline counts from the
    // connection's start. Four times the deadline only detects a server that never closes.
    let give_up = Instant::now() + Duration::from_secs(4 * PRELOGIN);
    let mut n = 0;
    let bye = loop {
        assert!(
            Instant::now() < give_up,
            "still open after {}s of NOOPs",
            4 * PRELOGIN
        );
        n += 1;
        c.send(format!("n{n} NOOP\r\n").as_bytes());
        let line = c.line();
        if line.starts_with("* BYE") {
            break line;
        }
        assert!(line.starts_with(&format!("n{n} OK")), "{line}");
        std::thread::sleep(Duration::from_secs(1));
    };
    assert!(bye.to_ascii_lowercase().contains("login"), "{bye}");
    assert!(c.closed());
    assert!(n >= 5, "not closed long before the deadline ({n} NOOPs)");
    assert!(server.logged("not logged in"), "{}", server.log());
}

#[test]
fn an_authenticate_response_dribbled_a_byte_a_second_ends_at_the_prelogin_deadline() {
    let server = server();
    let mut c = Client::connect(server.imap_port);
    c.send(b"a AUTHENTICATE PLAIN\r\n");
    assert_eq!(c.line(), "+ \r\n");
    let give_up = Instant::now() + Duration::from_secs(4 * PRELOGIN);
    let started = Instant::now();
    // Base64 that never ends its line: the exchange holds no hashing thread meanwhile, and
    // the connection's deadline ends it.
    let mut closed = false;
    while Instant::now() < give_up {
        if c.stream.write_all(b"A").is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
        c.stream.set_nonblocking(true).unwrap();
        let mut probe = [0u8; 256];
        let read = std::io::Read::read(&mut c.stream, &mut probe);
        c.stream.set_nonblocking(false).unwrap();
        if read.is_ok() {
            closed = true;
            break;
        }
    }
    assert!(closed, "still open after {}s of dribbling", 4 * PRELOGIN);
    assert!(
        started.elapsed() >= Duration::from_secs(PRELOGIN - 1),
        "closed before the deadline"
    );
    assert!(server.logged("not logged in"), "{}", server.log());
}

#[test]
fn a_client_that_stops_reading_is_dropped_after_the_write_timeout() {
    let server = server();
    let c = Client::connect(server.imap_port);
    let mut writer = c.stream.try_clone().unwrap();
    writer
        .set_write_timeout(Some(Duration::from_secs(3 * PRELOGIN)))
        .unwrap();
    // Each CAPABILITY answer is ~20 times the command: the server fills its send buffer and
    // our receive buffer, then blocks writing, while we never read.
    let batch = b"c CAPABILITY\r\n".repeat(1_000);
    let mut sent = 0usize;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2 * PRELOGIN) {
        match writer.write(&batch) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    let commands = sent / b"c CAPABILITY\r\n".len();
    let mut c = c;
    let text = c.rest();
    let answered = text.matches("c OK").count();
    assert!(
        answered < commands,
        "the server gave up on the stuck client before answering everything ({answered} of {commands})"
    );
    // The server's log is read from its stderr by another thread: wait for the line, as a
    // loaded machine may deliver it after the connection has closed.
    assert!(server.logged("write timed out"), "logged: {}", server.log());
}

#[test]
fn literals_before_login_get_a_small_allowance_then_the_configured_limits() {
    let server = server();
    let mut c = Client::connect(server.imap_port);
    c.send(b"a1 LOGIN {10000}\r\n");
    let r = c.line();
    assert!(
        r.starts_with("a1 BAD"),
        "no continuation for 10,000 bytes before login: {r}"
    );
    c.send(b"a2 LOGIN {5}\r\n");
    assert!(c.line().starts_with('+'), "a small literal is fine");
    c.send(b"alice {8}\r\n");
    assert!(c.line().starts_with('+'));
    c.send(b"pw-alice\r\n");
    let r = c.until("a2");
    assert!(last(&r).starts_with("a2 OK"), "{r:?}");
    c.send(b"a3 STATUS {10000}\r\n");
    let r = c.line();
    assert!(
        r.starts_with('+'),
        "after login the configured literal limit applies: {r}"
    );
    c.send(&b"x".repeat(10_000));
    c.send(b" (MESSAGES)\r\n");
    let r = c.until("a3");
    assert!(last(&r).starts_with("a3 NO"), "no such mailbox: {r:?}");
    assert!(last(&c.cmd("a4", "NOOP")).starts_with("a4 OK"));
}

#[test]
fn a_large_non_synchronising_literal_before_login_ends_the_connection() {
    let server = server();
    let mut c = Client::connect(server.imap_port);
    // The server would have to read and drop 64 KiB: it refuses the command and closes.
    c.send(b"a1 LOGIN {65536+}\r\n");
    let r = c.rest();
    let bye = r.lines().find(|l| l.starts_with("* BYE")).unwrap_or("");
    assert!(
        bye.contains("literal"),
        "closed because of the literal: {r}"
    );
    let mut c = Client::connect(server.imap_port);
    c.send(b"a2 APPEND INBOX {100000000+}\r\n");
    let r = c.rest();
    let bye = r.lines().find(|l| l.starts_with("* BYE")).unwrap_or("");
    assert!(bye.contains("literal"), "no 100 MB read before login: {r}");
}

/// Chained `{N+}` literals before login used to be buffered up to the 1 MiB command limit on
/// every connection.
#[test]
fn chained_literals_before_login_do_not_grow_memory() {
    let server = server();
    let mut warm = Client::connect(server.imap_port);
    assert!(last(&warm.cmd("w1", "CAPABILITY")).starts_with("w1 OK"));
    if !server.reset_peak_memory() {
        eprintln!("SKIPPED: the kernel does not let us reset the peak RSS mark");
        return;
    }
    let before = server.memory_kib();
    let chunk = [b"{60000+}\r\n".as_slice(), &[b'x'; 60_000], b" "].concat();
    let mut clients = Vec::new();
    for i in 0..20 {
        let mut c = Client::connect(server.imap_port);
        let mut command = format!("m{i} LOGIN ").into_bytes();
        for _ in 0..15 {
            command.extend_from_slice(&chunk);
        }
        // The server may close the connection part way; that is the point.
        let _ = c.stream.write_all(&command);
        clients.push(c);
    }
    // Every client's bytes have arrived once a fresh session gets its answer.
    std::thread::sleep(Duration::from_secs(2));
    let mut probe = Client::connect(server.imap_port);
    assert!(last(&probe.cmd("p1", "NOOP")).starts_with("p1 OK"));
    let after = server.memory_kib();
    let grown = after.peak.saturating_sub(before.rss);
    eprintln!("peak RSS grew by {grown} KiB over 20 connections of chained literals");
    assert!(
        grown < 10 * 1024,
        "20 connections of chained literals raised peak RSS by {grown} KiB (bound 10 MiB)"
    );
    drop(clients);
}
