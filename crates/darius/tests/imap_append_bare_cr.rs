//! A message with bare CRs (a CR not followed by LF) over real sockets: APPEND accepts it and
//! stores the octets as sent (RFC822.SIZE = octets sent), as Cyrus and Dovecot do, so mbsync and
//! imapsync migrations of old mail do not stop on it; every FETCH item serves those octets (the
//! whole message, HEADER, TEXT, partial ranges, BINARY and BINARY.SIZE, BODYSTRUCTURE's line
//! count, which counts LFs only); SEARCH reads it; LMTP stores the same bytes the same way.
//! Bare LF is still made CRLF and NUL still refused. Python's imaplib appends and fetches
//! back byte-identical (tests/interop/imaplib_bare_cr.py).
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const HEADER: &[u8] = b"From: a@example.org\r\n\
    Subject: bare\rCR in a header\r\n\
    X-Odd: ends with CR\r\r\n\
    \r\n";
const BODY: &[u8] = b"line one\rstill line one\r\n\
    line two\r\n\
    \rline three starts with CR\r\n\
    CR CR LF\r\r\n";

fn message() -> Vec<u8> {
    [HEADER, BODY].concat()
}

/// A raw IMAP client that keeps literals as octets (bare CRs included).
struct Imap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Imap {
    fn login(port: u16) -> Imap {
        Imap::login_as(port, "alice")
    }

    fn login_as(port: u16, user: &str) -> Imap {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        let mut c = Imap {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        let mut greeting = Vec::new();
        c.reader.read_until(b'\n', &mut greeting).unwrap();
        assert!(greeting.starts_with(b"* OK"));
        c.ok("l", format!("LOGIN {user} pw-{user}").as_bytes());
        c
    }

    /// Sends `tag command` and returns everything up to and including the tagged line, with
    /// literals read by their announced length.
    fn cmd(&mut self, tag: &str, command: &[u8]) -> Vec<u8> {
        let mut line = format!("{tag} ").into_bytes();
        line.extend_from_slice(command);
        line.extend_from_slice(b"\r\n");
        self.writer.write_all(&line).unwrap();
        let mut all = Vec::new();
        loop {
            let mut line = Vec::new();
            self.reader.read_until(b'\n', &mut line).unwrap();
            assert!(!line.is_empty(), "connection closed after {all:?}");
            all.extend_from_slice(&line);
            if let Some(len) = literal_len(&line) {
                let mut data = vec![0; len];
                self.reader.read_exact(&mut data).unwrap();
                all.extend_from_slice(&data);
                continue;
            }
            if line.starts_with(format!("{tag} ").as_bytes()) {
                return all;
            }
        }
    }

    fn ok(&mut self, tag: &str, command: &[u8]) -> Vec<u8> {
        let r = self.cmd(tag, command);
        let tagged = r.split(|&b| b == b'\n').rev().nth(1).unwrap_or_default();
        assert!(
            tagged.starts_with(format!("{tag} OK").as_bytes()),
            "{}",
            String::from_utf8_lossy(&r)
        );
        r
    }

    fn append(&mut self, tag: &str, message: &[u8]) -> Vec<u8> {
        let mut command = format!("APPEND INBOX {{{}+}}\r\n", message.len()).into_bytes();
        command.extend_from_slice(message);
        self.cmd(tag, &command)
    }
}

/// `{n}` (or `~{n}`) at the end of a line.
fn literal_len(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\r\n")?.strip_suffix(b"}")?;
    let open = line.iter().rposition(|&b| b == b'{')?;
    std::str::from_utf8(&line[open + 1..]).ok()?.parse().ok()
}

/// The octets of the literal that follows the item starting `item` in a response (every
/// value here has a CR in it, so the server must send a literal).
fn literal_of(response: &[u8], item: &str) -> Vec<u8> {
    let at = find(response, item.as_bytes())
        .unwrap_or_else(|| panic!("{item} not in {}", String::from_utf8_lossy(response)));
    let rest = &response[at + item.len()..];
    let open = rest.iter().position(|&b| b == b'{').unwrap();
    assert!(!rest[..open].contains(&b'"'), "{item} is not a literal");
    let rest = &rest[open..];
    let close = rest.iter().position(|&b| b == b'}').unwrap();
    let len: usize = std::str::from_utf8(&rest[1..close])
        .unwrap()
        .parse()
        .unwrap();
    rest[close + 3..close + 3 + len].to_vec()
}

/// The number after `item ` in a response.
fn number_of(response: &[u8], item: &str) -> u64 {
    let at = find(response, format!("{item} ").as_bytes()).unwrap();
    let rest = &response[at + item.len() + 1..];
    let end = rest.iter().position(|b| !b.is_ascii_digit()).unwrap();
    std::str::from_utf8(&rest[..end]).unwrap().parse().unwrap()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn server() -> common::Server {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    server
}

#[test]
fn append_keeps_bare_cr_and_every_fetch_item_serves_the_octets_sent() {
    let server = server();
    let mut c = Imap::login(server.imap_port);
    let sent = message();
    let r = c.append("a", &sent);
    assert!(
        find(&r, b"a OK").is_some(),
        "{}",
        String::from_utf8_lossy(&r)
    );
    c.ok("s", b"SELECT INBOX");

    let r = c.ok("f1", b"FETCH 1 (RFC822.SIZE BODY.PEEK[])");
    assert_eq!(number_of(&r, "RFC822.SIZE"), sent.len() as u64);
    assert_eq!(literal_of(&r, "BODY[]"), sent, "stored as sent");

    let r = c.ok(
        "f2",
        b"FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[TEXT] RFC822.TEXT)",
    );
    assert_eq!(literal_of(&r, "BODY[HEADER]"), HEADER);
    assert_eq!(literal_of(&r, "BODY[TEXT]"), BODY);
    assert_eq!(literal_of(&r, "RFC822.TEXT"), BODY);

    let r = c.ok("f3", b"FETCH 1 (BODY.PEEK[HEADER.FIELDS (X-Odd)])");
    assert_eq!(
        literal_of(&r, "BODY[HEADER.FIELDS"),
        b"X-Odd: ends with CR\r\r\n\r\n"
    );

    // A partial range that starts and ends on bare CRs.
    let from = HEADER.len() + 8;
    let r = c.ok("f4", b"FETCH 1 (BODY.PEEK[TEXT]<8.28> BODY.PEEK[]<34.14>)");
    assert_eq!(sent[from], b'\r');
    assert_eq!(sent[from + 27], b'\r');
    assert_eq!(literal_of(&r, "BODY[TEXT]<8>"), &sent[from..from + 28]);
    assert_eq!(sent[34], b'\r');
    assert_eq!(literal_of(&r, "BODY[]<34>"), &sent[34..48]);

    let r = c.ok(
        "f5",
        b"FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] BODYSTRUCTURE)",
    );
    assert_eq!(literal_of(&r, "BINARY[1]"), BODY);
    assert_eq!(number_of(&r, "BINARY.SIZE[1]"), BODY.len() as u64);
    let lines = BODY.iter().filter(|&&b| b == b'\n').count();
    let structure = format!("\"7BIT\" {} {lines}", BODY.len());
    assert!(
        find(&r, structure.as_bytes()).is_some(),
        "BODYSTRUCTURE counts LFs, not bare CRs ({structure}): {}",
        String::from_utf8_lossy(&r)
    );

    let r = c.ok(
        "q1",
        b"SEARCH BODY \"still line one\" SUBJECT \"CR in a header\"",
    );
    assert!(
        find(&r, b"* SEARCH 1\r\n").is_some(),
        "{}",
        String::from_utf8_lossy(&r)
    );
}

#[test]
fn a_trailing_bare_cr_and_a_quoted_printable_part_with_one_are_kept() {
    let server = server();
    let mut c = Imap::login(server.imap_port);
    let trailing = b"Subject: t\r\n\r\nlast octet is a CR\r".to_vec();
    let r = c.append("a1", &trailing);
    assert!(
        find(&r, b"a1 OK").is_some(),
        "{}",
        String::from_utf8_lossy(&r)
    );
    let qp = b"Subject: qp\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=b\r\n\r\n\
        --b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
        caf=E9\rau lait=\r\n and more\r\n\
        --b--\r\n"
        .to_vec();
    let r = c.append("a2", &qp);
    assert!(
        find(&r, b"a2 OK").is_some(),
        "{}",
        String::from_utf8_lossy(&r)
    );
    c.ok("s", b"SELECT INBOX");

    let r = c.ok("f1", b"FETCH 1 (RFC822.SIZE BODY.PEEK[])");
    assert_eq!(number_of(&r, "RFC822.SIZE"), trailing.len() as u64);
    assert_eq!(literal_of(&r, "BODY[]"), trailing);

    let r = c.ok("f2", b"FETCH 2 (BODY.PEEK[] BINARY.PEEK[1] BINARY.SIZE[1])");
    assert_eq!(literal_of(&r, "BODY[]"), qp);
    let decoded = b"caf\xe9\rau lait and more".to_vec();
    assert_eq!(literal_of(&r, "BINARY[1]"), decoded);
    assert_eq!(number_of(&r, "BINARY.SIZE[1]"), decoded.len() as u64);
}

#[test]
fn bare_lf_is_still_made_crlf_and_nul_still_refused() {
    let server = server();
    let mut c = Imap::login(server.imap_port);
    let r = c.append("a1", b"Subject: lf\n\nbare\rCR and bare LF\n");
    assert!(
        find(&r, b"a1 OK").is_some(),
        "{}",
        String::from_utf8_lossy(&r)
    );
    let r = c.append("a2", b"Subject: nul\r\n\r\nx\0y\r\n");
    assert!(
        find(&r, b"a2 NO").is_some(),
        "{}",
        String::from_utf8_lossy(&r)
    );
    c.ok("s", b"SELECT INBOX");
    let r = c.ok("f", b"FETCH 1:* (BODY.PEEK[])");
    assert_eq!(
        literal_of(&r, "BODY[]"),
        b"Subject: lf\r\n\r\nbare\rCR and bare LF\r\n"
    );
    assert!(find(&r, b"* 2 FETCH").is_none(), "only one message stored");
}

#[test]
fn lmtp_delivers_the_same_octets_with_their_bare_crs() {
    let server = server();
    let stream = TcpStream::connect(("127.0.0.1", server.lmtp_port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut reply = |expect: &str| {
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
        assert!(line.starts_with(expect), "expected {expect}: {line:?}");
    };
    reply("220");
    let sent = message();
    writer
        .write_all(b"LHLO test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice>\r\nDATA\r\n")
        .unwrap();
    for expect in ["250", "250", "250", "354"] {
        reply(expect);
    }
    let mut data = sent.clone();
    data.extend_from_slice(b".\r\n");
    writer.write_all(&data).unwrap();
    reply("250");

    let mut c = Imap::login(server.imap_port);
    c.ok("s", b"SELECT INBOX");
    let r = c.ok("f", b"FETCH 1 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[TEXT])");
    let stored = literal_of(&r, "BODY[]");
    assert!(
        stored.ends_with(&sent),
        "LMTP kept the octets: {}",
        String::from_utf8_lossy(&stored)
    );
    assert_eq!(number_of(&r, "RFC822.SIZE"), stored.len() as u64);
    assert_eq!(literal_of(&r, "BODY[TEXT]"), BODY);
}

#[test]
fn imaplib_appends_a_bare_cr_message_and_fetches_it_back_byte_identical() {
    let server = server();
    common::run_python(&server, "imaplib_bare_cr.py", &[]);
}

/// The migration the issue reports: mbsync copying old mail with bare CRs from one IMAP account
/// to another (here both on Darius: alice's INBOX is the old server, bob's the new one). The
/// APPEND of such a message used to be refused. (From a Maildir, mbsync itself drops bare CRs
/// when it converts LF line ends, so only IMAP-to-IMAP copies carry them.)
#[test]
fn mbsync_copies_a_bare_cr_message_between_imap_accounts_unchanged() {
    if !common::have("mbsync") {
        return;
    }
    let server = server();
    server.add_user("bob", "pw-bob");
    let sent = message();
    let mut c = Imap::login(server.imap_port);
    let r = c.append("a", &sent);
    assert!(
        find(&r, b"a OK").is_some(),
        "{}",
        String::from_utf8_lossy(&r)
    );

    let dir = tempfile::tempdir().unwrap();
    let rc = dir.path().join("mbsyncrc");
    let account = |name: &str| {
        format!(
            "IMAPAccount {name}\nHost 127.0.0.1\nPort {}\nUser {name}\nPass pw-{name}\n\
             SSLType None\nAuthMechs LOGIN\n\nIMAPStore {name}\nAccount {name}\n\n",
            server.imap_port
        )
    };
    std::fs::write(
        &rc,
        format!(
            "{}{}Channel migrate\nFar :bob:\nNear :alice:\nPatterns INBOX\nSync Push\n\
             SyncState {}/\n",
            account("alice"),
            account("bob"),
            dir.path().display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new("mbsync")
        .arg("-c")
        .arg(&rc)
        .arg("-a")
        .env("HOME", dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let report = format!(
        "{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    assert!(out.status.success(), "mbsync failed: {report}");

    let mut c = Imap::login_as(server.imap_port, "bob");
    c.ok("s", b"SELECT INBOX");
    let r = c.ok("f", b"FETCH 1 (BODY.PEEK[])");
    // mbsync may add its X-TUID header line; everything else is the message as sent.
    let stored: Vec<u8> = literal_of(&r, "BODY[]")
        .split_inclusive(|&b| b == b'\n')
        .filter(|line| !line.starts_with(b"X-TUID: "))
        .flatten()
        .copied()
        .collect();
    assert_eq!(stored, sent, "{report}");
}
