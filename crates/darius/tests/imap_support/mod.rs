//! A raw IMAP client over a real socket for the hardening tests: send bytes, read lines, run a
//! tagged command and collect its answer. Every read has a generous timeout, so a server that
//! hangs fails the test instead of stalling it.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Long enough for a debug build on a loaded machine; only a hang takes longer.
pub const HANG: Duration = Duration::from_secs(120);

pub struct Client {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    /// Connects and reads the greeting.
    pub fn connect(port: u16) -> Client {
        let mut c = Client::connect_silent(port);
        let greeting = c.line();
        assert!(greeting.starts_with("* OK"), "{greeting}");
        c
    }

    /// Connects without reading the greeting.
    pub fn connect_silent(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(HANG)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Client { stream, reader }
    }

    /// Logs in as `user` with password `pw-USER`.
    pub fn login(port: u16, user: &str) -> Client {
        let mut c = Client::connect(port);
        let r = c.cmd("l0", &format!("LOGIN {user} pw-{user}"));
        assert!(last(&r).starts_with("l0 OK"), "{r:?}");
        c
    }

    /// The next line, CRLF included; empty at EOF (or after a reset).
    pub fn line(&mut self) -> String {
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(_) => String::from_utf8_lossy(&line).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => String::new(),
            Err(e) => panic!("reading from the server: {e} (after {line:?})"),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends a tagged command and returns every line up to and including the tagged one.
    pub fn cmd(&mut self, tag: &str, rest: &str) -> Vec<String> {
        self.send(format!("{tag} {rest}\r\n").as_bytes());
        self.until(tag)
    }

    /// Lines up to and including the one tagged `tag`.
    pub fn until(&mut self, tag: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            assert!(!line.is_empty(), "connection closed; got {lines:?}");
            let done = line.starts_with(&format!("{tag} "));
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// Lines up to and including the one tagged `tag`, or up to the end when the server closes
    /// the connection first (a `* BYE` instead of an answer).
    pub fn until_or_closed(&mut self, tag: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            if line.is_empty() {
                return lines;
            }
            let done = line.starts_with(&format!("{tag} "));
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// Reads to the end; true when the server closed the connection (EOF or reset).
    pub fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }

    /// Everything until the server closes the connection, as text.
    pub fn rest(&mut self) -> String {
        let mut rest = Vec::new();
        if let Err(e) = self.reader.read_to_end(&mut rest) {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
        }
        String::from_utf8_lossy(&rest).into_owned()
    }
}

/// The string of a one-item FETCH response: its literal, or its quoted string.
pub fn fetched(lines: &[String]) -> Vec<u8> {
    let first = &lines[0];
    if !first.ends_with("}\r\n") {
        let open = first.find('"').unwrap();
        let close = first.rfind('"').unwrap();
        return first.as_bytes()[open + 1..close].to_vec();
    }
    let at = first.rfind('{').unwrap();
    let n: usize = first[at + 1..first.len() - 3].parse().unwrap();
    lines[1..].concat().as_bytes()[..n].to_vec()
}

pub fn last(lines: &[String]) -> &str {
    lines.last().map(String::as_str).unwrap_or("")
}

/// Logs in as `user` (password `pw-USER`) and runs `commands` in turn, each of which must
/// answer OK; every line they got.
pub fn run_ok(port: u16, user: &str, commands: &[&str]) -> Vec<String> {
    let mut c = Client::login(port, user);
    let mut all = Vec::new();
    for (n, command) in commands.iter().enumerate() {
        let tag = format!("c{n}");
        let lines = c.cmd(&tag, command);
        assert!(
            last(&lines).starts_with(&format!("{tag} OK")),
            "{command}: {lines:?}"
        );
        all.extend(lines);
    }
    all
}

/// Appends `count` small messages to the INBOX of the logged-in client, `per` per MULTIAPPEND.
pub fn fill_inbox(c: &mut Client, count: usize, per: usize) {
    let mut done = 0;
    let mut n = 0;
    while done < count {
        let batch = per.min(count - done);
        let mut command = format!("fill{n} APPEND INBOX");
        for i in 0..batch {
            let body = format!("Subject: m{}\r\n\r\nbody {}\r\n", done + i, done + i);
            command.push_str(&format!(" {{{}+}}\r\n{body}", body.len()));
        }
        let r = c.cmd(&format!("fill{n}"), &command[format!("fill{n} ").len()..]);
        assert!(last(&r).contains("OK"), "{r:?}");
        done += batch;
        n += 1;
    }
}

/// The number of messages in `user`'s INBOX (STATUS), logged in as `user` (password `pw-USER`).
pub fn inbox_count(port: u16, user: &str) -> usize {
    let lines = run_ok(port, user, &["STATUS INBOX (MESSAGES)"]);
    lines
        .iter()
        .find_map(|l| {
            l.split_once("(MESSAGES ")?
                .1
                .split_once(')')?
                .0
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no STATUS in {lines:?}"))
}
