//! Nothing acknowledged is lost: LMTP deliveries from several connections (some to two
//! recipients, some large enough to be spooled to a file while they arrive), the server killed
//! with SIGKILL at a random moment, restarted on the same data; every message a 250 was read for
//! is in its recipient's INBOX, byte for byte, and no spool file is left behind.
//! `DARIUS_CRASH_ROUNDS` sets the number of kill/restart rounds (default 20, issue 14's count;
//! about 12 s in a debug build).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const USERS: [&str; 3] = ["u1", "u2", "u3"];

/// The body of delivery `id`: small, or past the server's in-memory limit (1 MiB).
fn message(id: &str, big: bool) -> Vec<u8> {
    let mut m = format!("Message-ID: <{id}@crash.test>\r\nSubject: {id}\r\n\r\n").into_bytes();
    let lines = if big { 20_000 } else { 20 };
    for i in 0..lines {
        m.extend_from_slice(
            format!("{id} line {i} .......................................\r\n").as_bytes(),
        );
    }
    m
}

fn read_reply(r: &mut BufReader<TcpStream>) -> Option<String> {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        all.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            return Some(all);
        }
    }
}

/// Delivers until the connection breaks; records (user, id) for every 250 read.
fn deliverer(
    port: u16,
    worker: usize,
    round: usize,
    acked: Arc<Mutex<Vec<(String, String)>>>,
    stop: Arc<AtomicBool>,
) {
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    let step = |w: &mut TcpStream, r: &mut BufReader<TcpStream>, line: &[u8], want: &str| -> bool {
        w.write_all(line).is_ok() && read_reply(r).is_some_and(|x| x.starts_with(want))
    };
    if read_reply(&mut r).is_none() || !step(&mut w, &mut r, b"LHLO crash.test\r\n", "250") {
        return;
    }
    let mut n: usize = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let id = format!("r{round}w{worker}n{n}");
        let rcpts: Vec<&str> = if n.is_multiple_of(3) {
            vec![USERS[worker % 3], USERS[(worker + 1) % 3]]
        } else {
            vec![USERS[(worker + n) % 3]]
        };
        if !step(&mut w, &mut r, b"MAIL FROM:<s@crash.test>\r\n", "250") {
            return;
        }
        for rcpt in &rcpts {
            if !step(
                &mut w,
                &mut r,
                format!("RCPT TO:<{rcpt}>\r\n").as_bytes(),
                "250",
            ) {
                return;
            }
        }
        if !step(&mut w, &mut r, b"DATA\r\n", "354") {
            return;
        }
        let mut data = message(&id, n.is_multiple_of(7));
        data.extend_from_slice(b".\r\n");
        if w.write_all(&data).is_err() {
            return;
        }
        for rcpt in &rcpts {
            match read_reply(&mut r) {
                Some(reply) if reply.starts_with("250") => {
                    acked.lock().unwrap().push((rcpt.to_string(), id.clone()));
                }
                Some(reply) => panic!("delivery {id} to {rcpt} refused: {reply}"),
                None => return,
            }
        }
    }
}

/// Every message in `user`'s INBOX, by Message-ID id, over IMAP.
fn inbox(port: u16, user: &str) -> HashMap<String, Vec<u8>> {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    write!(
        w,
        "a LOGIN {user} pw\r\nb SELECT INBOX\r\nc FETCH 1:* (BODY.PEEK[])\r\nd LOGOUT\r\n"
    )
    .unwrap();
    let mut out = HashMap::new();
    loop {
        let mut line = Vec::new();
        assert!(
            r.read_until(b'\n', &mut line).unwrap() > 0,
            "EOF before LOGOUT"
        );
        let text = String::from_utf8_lossy(&line).into_owned();
        if text.starts_with("a NO") || text.starts_with("b NO") || text.starts_with("c NO") {
            panic!("{user}: {text}");
        }
        if text.starts_with("d OK") {
            return out;
        }
        let Some(open) = text
            .trim_end()
            .strip_suffix('}')
            .and_then(|t| t.rsplit_once('{'))
        else {
            continue;
        };
        let len: usize = open.1.parse().unwrap();
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).unwrap();
        let head = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        let id = head
            .split("Message-ID: <")
            .nth(1)
            .and_then(|t| t.split('@').next())
            .unwrap()
            .to_string();
        assert!(
            out.insert(id.clone(), body).is_none(),
            "{user}: {id} stored twice"
        );
    }
}

#[test]
fn acknowledged_deliveries_survive_sigkill() {
    let rounds: usize = std::env::var("DARIUS_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut server = common::Server::start();
    for u in USERS {
        server.add_user(u, "pw");
    }
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for round in 0..rounds {
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..4)
            .map(|worker| {
                let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
                let port = server.lmtp_port;
                std::thread::spawn(move || deliverer(port, worker, round, acked, stop))
            })
            .collect();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(200 + seed % 600));
        server.kill_hard();
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().unwrap();
        }
        server.restart();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 20,
        "too few deliveries to mean anything: {}",
        acked.len()
    );
    eprintln!(
        "{} acknowledged deliveries over {rounds} SIGKILL rounds",
        acked.len()
    );
    for user in USERS {
        let stored = inbox(server.imap_port, user);
        for (_, id) in acked.iter().filter(|(u, _)| u == user) {
            let body = stored
                .get(id)
                .unwrap_or_else(|| panic!("{user}: acknowledged {id} is missing after SIGKILL"));
            let n: usize = id.rsplit('n').next().unwrap().parse().unwrap();
            let sent = message(id, n.is_multiple_of(7));
            assert!(body.ends_with(&sent), "{user}: {id} is not intact");
        }
    }
    let spool = server.config_dir().join("tmp");
    let left: Vec<_> = std::fs::read_dir(&spool)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "spool files left behind: {left:?}");
}
