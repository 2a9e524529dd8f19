//! What the POP3 client and durability tests share (the server is `common::Server`, which
//! listens for POP3 with STLS and POP3S): test messages that exercise dot-stuffing
//! ([`messages`]) delivered over LMTP ([`deliver`]); a comparison of what a client fetched with
//! what was delivered ([`assert_fetched`], [`split_mbox`]); a raw POP3 client ([`Client`]) for
//! the tests that need the wire (UIDL lists, DELE, QUIT at a chosen moment); the INBOX as IMAP
//! sees it ([`imap_inbox`]); and an offline `reconstruct` ([`reconstruct_offline`]).
//! Needs `mod common; mod imap_support; mod lmtp_support;` beside it.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::Server;
use crate::lmtp_support;

/// Long enough for a debug build on a loaded machine; only a hang takes longer.
pub const HANG: Duration = Duration::from_secs(120);

/// Stops `server`, runs `reconstruct` on `mailbox` (an internal name such as `user.bob`)
/// through the store, as an administrator does offline, and starts it again (ports change).
/// Fails if reconstruct lost a record; returns the report's `Debug` text.
pub fn reconstruct_offline(server: &mut Server, mailbox: &str) -> String {
    assert!(server.stop().is_some(), "the server was running");
    let partitions = [("default".to_string(), server.dir.path().join("spool"))].into();
    let config = mailstore::StoreConfig::new(server.config_dir(), partitions, "default");
    let store = mailstore::Store::open(config).unwrap();
    let name = types::MailboxName::try_from(mailbox).unwrap();
    let report = store.reconstruct(&name).unwrap();
    assert!(
        report.lost.is_empty(),
        "reconstruct lost records: {report:?}"
    );
    drop(store);
    server.restart();
    format!("{report:?}")
}

/// `count` messages for `user`, each with a Message-ID `<TAG.N@pop3.test>`: lines that start
/// with `.` (one that is only `.`, `..`, `.text`), an empty line in the body, some past 16 KB,
/// every third one ending with a line that is only `.`. CRLF throughout; no line starts with
/// `From ` (so an mbox needs no quoting).
pub fn messages(tag: &str, user: &str, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let mut m = format!(
                "From: Sender <sender@example.org>\r\nTo: {user}@example.org\r\n\
                 Subject: {tag} message {i}\r\nMessage-ID: <{tag}.{i}@pop3.test>\r\n\
                 Date: Sun, 06 Dec 2026 12:00:00 +0000\r\n\r\n\
                 First line of {tag} {i}.\r\n.\r\n..\r\n.leading dot\r\n...three dots\r\n\r\n\
                 after an empty line\r\n"
            );
            let lines = if i % 4 == 1 { 300 } else { 5 };
            for n in 0..lines {
                m.push_str(&format!(
                    "{tag} {i} line {n}: the quick brown fox jumps over the lazy dog\r\n"
                ));
            }
            if i % 3 == 0 {
                m.push_str("last line\r\n.\r\n");
            } else {
                m.push_str("last line\r\n");
            }
            m.into_bytes()
        })
        .collect()
}

/// One message of about 1.6 MB (past the server's 1 MiB in-memory limit for incoming mail,
/// so it is spooled and streamed), with a line that is only `.` every hundred lines.
pub fn large_message(tag: &str, user: &str) -> Vec<u8> {
    let mut m = format!(
        "From: Sender <sender@example.org>\r\nTo: {user}@example.org\r\n\
         Subject: {tag} large\r\nMessage-ID: <{tag}.large@pop3.test>\r\n\
         Date: Sun, 06 Dec 2026 12:00:00 +0000\r\n\r\n"
    );
    for n in 0..25_000 {
        if n % 100 == 0 {
            m.push_str(".\r\n");
        }
        m.push_str(&format!(
            "{tag} large line {n:05}: .... the quick brown fox ....\r\n"
        ));
    }
    m.into_bytes()
}

/// `message` dot-stuffed for SMTP/LMTP DATA (RFC 5321 §4.5.2), without the end marker.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out
}

/// Delivers each message to `user` over LMTP, one transaction each, in order (so UIDs follow
/// the order of `messages`).
pub fn deliver(server: &Server, user: &str, messages: &[Vec<u8>]) {
    let mut c = lmtp_support::Client::connect(server.lmtp_port);
    c.send(b"LHLO pop3.test\r\n");
    c.expect("250");
    for m in messages {
        c.send(
            format!("MAIL FROM:<sender@example.org>\r\nRCPT TO:<{user}>\r\nDATA\r\n").as_bytes(),
        );
        c.expect("250 2.1.0");
        c.expect("250 2.1.5");
        c.expect("354 ");
        c.send(&dot_stuff(m));
        c.send(b".\r\n");
        c.expect("250 2.1.5");
    }
    c.send(b"QUIT\r\n");
}

/// `bytes` with every CRLF as LF: what a client hands a local MDA or mbox.
pub fn lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The Message-ID's local part (`TAG.N`) of a message, from its header.
pub fn message_id(message: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(message);
    let header = text.split("\n\n").next()?.to_string();
    let at = header.find("\nMessage-ID: <")? + "\nMessage-ID: <".len();
    let rest = &header[at..];
    Some(rest[..rest.find('@')?].to_string())
}

/// The messages of an mbox file: each starts after a `From ` line; the empty line a writer
/// puts after each message is dropped. Lines are LF-terminated.
pub fn split_mbox(mbox: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for line in mbox.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            out.push(Vec::new());
        } else if let Some(current) = out.last_mut() {
            current.extend_from_slice(line);
        } else {
            panic!(
                "mbox does not start with a From line: {:?}",
                String::from_utf8_lossy(line)
            );
        }
    }
    for m in &mut out {
        if m.ends_with(b"\n\n") {
            m.pop();
        }
    }
    out
}

/// Every delivered message was fetched exactly once, byte for byte: the fetched copy (CRLF or
/// LF) ends with the delivered bytes, after whatever trace fields the server and the client
/// put in front. Nothing else was fetched.
pub fn assert_fetched(client: &str, fetched: &[Vec<u8>], delivered: &[Vec<u8>]) {
    let mut by_id: HashMap<String, Vec<u8>> = HashMap::new();
    for m in fetched {
        let m = lf(m);
        let id = message_id(&m).unwrap_or_else(|| {
            panic!(
                "{client}: a fetched message without Message-ID:\n{}",
                String::from_utf8_lossy(&m)
            )
        });
        assert!(
            by_id.insert(id.clone(), m).is_none(),
            "{client}: {id} fetched twice"
        );
    }
    for m in delivered {
        let id = message_id(&lf(m)).unwrap();
        let got = by_id
            .remove(&id)
            .unwrap_or_else(|| panic!("{client}: {id} was delivered but not fetched"));
        assert!(
            got.ends_with(&lf(m)),
            "{client}: {id} differs from what was delivered\n--- fetched\n{}\n--- delivered\n{}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&lf(m))
        );
    }
    let extra: Vec<_> = by_id.keys().collect();
    assert!(
        extra.is_empty(),
        "{client}: fetched what was not delivered: {extra:?}"
    );
}

/// A raw POP3 client over plain TCP. Every method that reads answers `None` when the
/// connection is gone (the crash test kills the server under it).
pub struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    /// Connects and reads the `+OK` greeting.
    pub fn connect(port: u16) -> Client {
        Client::greeted(port).0
    }

    /// Connects to `ip` (not loopback, say) and reads the `+OK` greeting.
    pub fn connect_to(ip: std::net::IpAddr, port: u16) -> Client {
        Client::greet(TcpStream::connect((ip, port)).unwrap()).0
    }

    /// Connects; the client and its `+OK` greeting.
    pub fn greeted(port: u16) -> (Client, String) {
        Client::greet(TcpStream::connect(("127.0.0.1", port)).unwrap())
    }

    fn greet(stream: TcpStream) -> (Client, String) {
        stream.set_read_timeout(Some(HANG)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        let mut c = Client { stream, reader };
        let greeting = c.line().expect("a greeting");
        assert!(greeting.starts_with("+OK"), "{greeting}");
        (c, greeting)
    }

    /// Connects and logs in with USER/PASS (allowed on loopback); panics unless both succeed.
    pub fn login(port: u16, user: &str, password: &str) -> Client {
        let mut c = Client::connect(port);
        let r = c.command(&format!("USER {user}")).unwrap();
        assert!(r.starts_with("+OK"), "USER {user}: {r}");
        let r = c.command(&format!("PASS {password}")).unwrap();
        assert!(r.starts_with("+OK"), "PASS for {user}: {r}");
        c
    }

    /// One line without its CRLF; `None` at EOF or on a reset.
    pub fn line(&mut self) -> Option<String> {
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(0) => None,
            Ok(_) => {
                assert!(line.ends_with(b"\r\n"), "not CRLF: {line:?}");
                line.truncate(line.len() - 2);
                Some(String::from_utf8_lossy(&line).into_owned())
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => None,
            Err(e) => panic!("reading from the server: {e}"),
        }
    }

    /// Sends raw bytes; false when the connection is gone.
    pub fn send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok()
    }

    /// Sends one command line and reads its status line.
    pub fn command(&mut self, line: &str) -> Option<String> {
        if !self.send(format!("{line}\r\n").as_bytes()) {
            return None;
        }
        self.line()
    }

    /// A multi-line answer's lines after the status line, up to the lone `.`, dot-unstuffed.
    pub fn body(&mut self) -> Option<Vec<String>> {
        let mut lines = Vec::new();
        loop {
            let line = self.line()?;
            if line == "." {
                return Some(lines);
            }
            lines.push(line.strip_prefix('.').map(str::to_string).unwrap_or(line));
        }
    }

    /// A command's status line; empty when the connection is gone.
    pub fn cmd(&mut self, line: &str) -> String {
        self.command(line).unwrap_or_default()
    }

    /// A command that must succeed; its status line.
    pub fn ok(&mut self, line: &str) -> String {
        let reply = self.cmd(line);
        assert!(reply.starts_with("+OK"), "{line}: {reply}");
        reply
    }

    /// A command that must fail; its status line.
    pub fn err(&mut self, line: &str) -> String {
        let reply = self.cmd(line);
        assert!(reply.starts_with("-ERR"), "{line}: {reply}");
        reply
    }

    /// A multi-line command that must succeed: the lines after its status line.
    pub fn lines(&mut self, command: &str) -> Vec<String> {
        self.ok(command);
        self.body().expect("a multi-line answer")
    }

    /// A multi-line answer's body as bytes, dot-unstuffed, CRLF line ends kept (RETR and TOP
    /// compared byte for byte).
    pub fn raw_body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = self.reader.read_until(b'\n', &mut line).unwrap();
            assert!(n > 0, "connection closed inside a multi-line response");
            assert!(line.ends_with(b"\r\n"), "line without CRLF: {line:?}");
            if line == b".\r\n" {
                return body;
            }
            body.extend_from_slice(line.strip_prefix(b".").unwrap_or(&line));
        }
    }

    /// Whether the server closed the connection with nothing more to say.
    pub fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        let read = std::io::Read::read_to_end(&mut self.reader, &mut rest);
        read.is_ok() && rest.is_empty()
    }

    /// UIDL: (message number, unique-id) for every message listed.
    pub fn uidl(&mut self) -> Vec<(u32, String)> {
        let status = self.command("UIDL").unwrap();
        assert!(status.starts_with("+OK"), "UIDL: {status}");
        self.body()
            .unwrap()
            .iter()
            .map(|l| {
                let (n, id) = l
                    .split_once(' ')
                    .unwrap_or_else(|| panic!("UIDL line {l:?}"));
                (n.parse().unwrap(), id.to_string())
            })
            .collect()
    }

    /// STAT: (messages, octets).
    pub fn stat(&mut self) -> (usize, u64) {
        let status = self.command("STAT").unwrap();
        let mut words = status.split(' ');
        assert_eq!(words.next(), Some("+OK"), "STAT: {status}");
        let n = words.next().unwrap().parse().unwrap();
        let size = words.next().unwrap().parse().unwrap();
        (n, size)
    }

    /// QUIT, expecting `+OK`.
    pub fn quit(mut self) {
        let r = self.command("QUIT").unwrap();
        assert!(r.starts_with("+OK"), "QUIT: {r}");
    }
}

/// The unique-ids `user`'s maildrop lists now (a POP3 session of its own: login, UIDL, QUIT).
pub fn uidls(port: u16, user: &str, password: &str) -> Vec<String> {
    let mut c = Client::login(port, user, password);
    let list = c.uidl();
    c.quit();
    list.into_iter().map(|(_, id)| id).collect()
}

/// `(uid, flags)` of every message in `user`'s INBOX, over IMAP (`EXAMINE`, so nothing
/// changes), and the mailbox's UIDVALIDITY.
pub fn imap_inbox(imap_port: u16, user: &str, password: &str) -> (u32, Vec<(u32, String)>) {
    use crate::imap_support::{last, Client as Imap};
    let mut c = Imap::connect(imap_port);
    let r = c.cmd("a", &format!("LOGIN {user} {password}"));
    assert!(last(&r).starts_with("a OK"), "{r:?}");
    let r = c.cmd("b", "EXAMINE INBOX");
    assert!(last(&r).starts_with("b OK"), "{r:?}");
    let validity = r
        .iter()
        .find_map(|l| l.split("[UIDVALIDITY ").nth(1))
        .and_then(|t| t.split(']').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no UIDVALIDITY: {r:?}"));
    let r = c.cmd("c", "UID FETCH 1:* (FLAGS)");
    assert!(last(&r).starts_with("c OK"), "{r:?}");
    let messages = r
        .iter()
        .filter(|l| l.starts_with("* ") && l.contains(" FETCH "))
        .map(|l| {
            let uid = l
                .split("UID ")
                .nth(1)
                .and_then(|t| t.split([' ', ')']).next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no UID in {l:?}"));
            let flags = l
                .split("FLAGS (")
                .nth(1)
                .and_then(|t| t.split(')').next())
                .unwrap_or_default()
                .to_string();
            (uid, flags)
        })
        .collect();
    c.cmd("d", "LOGOUT");
    (validity, messages)
}
