//! A flood of bad LOGINs from one address, over real sockets: the flood gets `NO [UNAVAILABLE]`
//! (a full hashing queue, then the per-host failure throttle) while a session that logged in
//! before keeps being served — its SELECT and NOOP need the blocking pool, which password
//! hashing no longer touches. The same user at another address still logs in.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Generous bounds to detect a hang, never timing assertions.
const HANG: Duration = Duration::from_secs(120);

struct Imap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
}

impl Imap {
    fn from_stream(stream: TcpStream) -> Option<Imap> {
        stream.set_read_timeout(Some(HANG)).unwrap();
        let mut imap = Imap {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            tag: 0,
        };
        let greeting = imap.line()?;
        assert!(greeting.starts_with("* OK"), "{greeting}");
        Some(imap)
    }

    fn connect(port: u16) -> Option<Imap> {
        Imap::from_stream(TcpStream::connect(("127.0.0.1", port)).unwrap())
    }

    fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line),
        }
    }

    /// Runs one command; the tagged reply, or `None` when the connection ended first.
    fn command(&mut self, command: &str) -> Option<String> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        self.writer
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .ok()?;
        loop {
            let line = self.line()?;
            if line.starts_with(&format!("{tag} ")) {
                return Some(line);
            }
        }
    }
}

/// What the bad LOGINs of one flooding thread were answered: up to three connections, each
/// trying until the server closes it.
fn flood(port: u16, thread: usize) -> Vec<String> {
    let mut replies = Vec::new();
    for conn in 0..3 {
        let Some(mut imap) = Imap::connect(port) else {
            continue;
        };
        for attempt in 0..5 {
            match imap.command(&format!("LOGIN alice wrong-{thread}-{conn}-{attempt}")) {
                Some(reply) => replies.push(reply),
                None => break,
            }
        }
    }
    replies
}

#[test]
fn a_login_flood_is_refused_while_a_logged_in_session_is_served() {
    let server =
        common::Server::start_with("client_limit_exceptions:\nauth_failures_per_host: 5\n");
    server.add_user("alice", "pw-alice");
    let mut session = Imap::connect(server.imap_port).unwrap();
    let login = session.command("LOGIN alice pw-alice").unwrap();
    assert!(login.contains("OK"), "{login}");

    let before = server.memory_kib();
    let peak_reset = server.reset_peak_memory();
    let port = server.imap_port;
    let flooders: Vec<_> = (0..32)
        .map(|t| std::thread::spawn(move || flood(port, t)))
        .collect();
    // Served throughout the flood (each reply read with a hang bound, not a time limit).
    for _ in 0..5 {
        let select = session
            .command("SELECT INBOX")
            .expect("SELECT during the flood");
        assert!(select.contains("OK"), "{select}");
        let noop = session.command("NOOP").expect("NOOP during the flood");
        assert!(noop.contains("OK"), "{noop}");
    }
    let replies: Vec<String> = flooders
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let unavailable = replies
        .iter()
        .filter(|r| r.contains("NO [UNAVAILABLE]"))
        .count();
    let failed = replies
        .iter()
        .filter(|r| r.contains("NO [AUTHENTICATIONFAILED]"))
        .count();
    let after = server.memory_kib();
    eprintln!(
        "{} bad LOGINs: {failed} checked, {unavailable} refused without a check; \
         RSS {} KiB before, peak {} KiB during (peak reset: {peak_reset})",
        replies.len(),
        before.rss,
        after.peak
    );
    // Hashing memory is one argon2id working area (19 MiB) per hashing thread, whatever the
    // flood; 32 MiB more covers the flood's connections.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let bound = cores * 20 * 1024 + 32 * 1024;
    if peak_reset {
        assert!(
            after.peak.saturating_sub(before.rss) <= bound,
            "peak {} KiB after {} KiB resident: more than {bound} KiB for a login flood",
            after.peak,
            before.rss
        );
    }
    assert_eq!(
        unavailable + failed,
        replies.len(),
        "every bad LOGIN is refused one way or the other: {:?}",
        replies.iter().find(|r| !r.contains("NO ["))
    );
    assert!(unavailable > 0, "nothing refused without a check");
    assert!(
        failed < replies.len() / 2,
        "most of the flood was answered without a password check ({failed} checked of {})",
        replies.len()
    );
    // The host is throttled now, even for the right password; the user elsewhere is not.
    let mut again = Imap::connect(server.imap_port).unwrap();
    let refused = again.command("LOGIN alice pw-alice").unwrap();
    assert!(refused.contains("NO [UNAVAILABLE]"), "{refused}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let elsewhere = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let addr = format!("127.0.0.1:{}", server.imap_port).parse().unwrap();
        socket.connect(addr).await.unwrap().into_std().unwrap()
    });
    elsewhere.set_nonblocking(false).unwrap();
    let mut elsewhere = Imap::from_stream(elsewhere).unwrap();
    let login = elsewhere.command("LOGIN alice pw-alice").unwrap();
    assert!(login.contains("OK"), "{login}");
    // The server's stderr reaches the test through a pipe and a reader thread: allow it time.
    let needle = "127.0.0.1: 5 failed authentications within 300s";
    let deadline = std::time::Instant::now() + HANG;
    while !server.log().contains(needle) {
        assert!(std::time::Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}
