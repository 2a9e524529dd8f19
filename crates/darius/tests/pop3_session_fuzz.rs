//! Whole-session fuzzing of POP3 over real sockets: many sessions of valid, mutated, random and
//! hostile command lines (deterministic from a seed) against one server, logged in or not,
//! with an IMAP session expunging and LMTP delivering to the same INBOX meanwhile. The server
//! must never panic, hang or stop serving: at the end a fresh POP3 session still logs in,
//! lists, retrieves and quits, and the log holds no panic. DARIUS_FUZZ_SESSIONS runs longer.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;

use common::{drain, Rng};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const COMMANDS: &[&[u8]] = &[
    b"USER alice",
    b"PASS pw-alice",
    b"PASS wrong",
    b"APOP alice c4c9334bac560ecc979e58001b3e22fb",
    b"AUTH",
    b"AUTH PLAIN AGFsaWNlAHB3LWFsaWNl",
    b"AUTH PLAIN",
    b"AUTH LOGIN",
    b"AUTH SCRAM-SHA-256 biwsbj1hbGljZSxyPWZ1enpub25jZQ==",
    b"AUTH GSSAPI =",
    b"AUTH ANONYMOUS",
    b"*",
    b"=",
    b"CAPA",
    b"STLS",
    b"STAT",
    b"LIST",
    b"LIST 1",
    b"LIST 4294967295",
    b"UIDL",
    b"UIDL 2",
    b"RETR 1",
    b"RETR 3",
    b"TOP 1 0",
    b"TOP 2 4294967295",
    b"TOP 1 99999999999",
    b"DELE 1",
    b"DELE 2",
    b"RSET",
    b"NOOP",
    b"QUIT",
];

const NOISE: &[u8] = b" \t\0\x7f\xff.=*+-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabc\r";

fn mutate(rng: &mut Rng, command: &[u8]) -> Vec<u8> {
    let mut bytes = command.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 if at < bytes.len() => {
                bytes.remove(at);
            }
            1 => bytes.insert(at, NOISE[rng.below(NOISE.len())]),
            2 if at < bytes.len() => bytes[at] = NOISE[rng.below(NOISE.len())],
            _ => bytes.truncate(at),
        }
    }
    bytes
}

/// Shapes past the bounds: lines far over 255 octets, SASL lines over 16 KiB, numbers past
/// u32, and hundreds of pipelined commands at once.
fn hostile(rng: &mut Rng) -> Vec<u8> {
    match rng.below(5) {
        0 => format!("USER {}", "u".repeat(rng.below(100_000))).into_bytes(),
        1 => format!("AUTH PLAIN {}", "A".repeat(rng.below(70_000))).into_bytes(),
        2 => format!("RETR {}", "9".repeat(1 + rng.below(40))).into_bytes(),
        3 => "LIST\r\nUIDL\r\nRETR 1\r\n"
            .repeat(rng.below(400))
            .into_bytes(),
        _ => "\n".repeat(rng.below(5_000)).into_bytes(),
    }
}

fn one_line(rng: &mut Rng) -> Vec<u8> {
    let mut line = match rng.below(12) {
        0..=5 => COMMANDS[rng.below(COMMANDS.len())].to_vec(),
        6..=8 => {
            let command = COMMANDS[rng.below(COMMANDS.len())];
            mutate(rng, command)
        }
        9 => (0..rng.below(300))
            .map(|_| NOISE[rng.below(NOISE.len())])
            .collect(),
        _ => hostile(rng),
    };
    line.extend_from_slice(b"\r\n");
    line
}

fn message(n: usize) -> Vec<u8> {
    format!("Subject: fuzz {n}\r\nMessage-ID: <fuzz.{n}@pop3.test>\r\n\r\n.\r\n..body\r\n")
        .replace("\r\n.", "\r\n..")
        .into_bytes()
}

#[test]
fn random_pop3_sessions_never_break_the_server() {
    // No login penalty: the fuzz fails logins on purpose, and waits would only slow it.
    let server = common::Server::start_with("auth_failure_delay: 0\nauth_failures_per_host: 0\n");
    server.add_user("alice", "pw-alice");
    let sessions: usize = std::env::var("DARIUS_FUZZ_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let seed = common::seed();
    eprintln!("seed {seed} (DARIUS_SEED={seed} repeats this run)");
    let mut rng = Rng::new(seed);
    let mut delivered = 0;
    for session in 0..sessions {
        // The maildrop changes under the sessions: new mail, and IMAP expunges between them.
        if session % 4 == 0 {
            for _ in 0..3 {
                lmtp_support::deliver(server.lmtp_port, &["alice"], &message(delivered));
                delivered += 1;
            }
        }
        if session % 7 == 3 {
            let mut imap = imap_support::Client::login(server.imap_port, "alice");
            imap.cmd("s", "SELECT INBOX");
            imap.cmd("f", "STORE 1 +FLAGS (\\Deleted)");
            imap.cmd("x", "EXPUNGE");
            imap.cmd("l", "LOGOUT");
        }
        let mut stream = TcpStream::connect(("127.0.0.1", server.pop3_port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(30)))
            .unwrap();
        for _ in 0..(5 + rng.below(25)) {
            if stream.write_all(&one_line(&mut rng)).is_err() || !drain(&mut stream) {
                break;
            }
        }
    }
    // A fresh session serves properly (once the fuzz sessions' maildrop holds are let go).
    let deadline = std::time::Instant::now() + imap_support::HANG;
    loop {
        let mut check = TcpStream::connect(("127.0.0.1", server.pop3_port)).unwrap();
        check
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        check
            .write_all(b"USER alice\r\nPASS pw-alice\r\nSTAT\r\nLIST\r\nUIDL\r\nQUIT\r\n")
            .unwrap();
        let mut reply = String::new();
        let _ = check.read_to_string(&mut reply);
        if reply.contains("[IN-USE]") && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let oks = reply.lines().filter(|l| l.starts_with("+OK")).count();
        assert!(oks >= 7, "server no longer serves properly: {reply}");
        assert!(reply.trim_end().ends_with("messages left)"), "{reply}");
        break;
    }
    let log = server.log();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
}
