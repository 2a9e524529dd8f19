//! The target's side of a Cyrus backend's legacy XFER, driven by hand over a socket with the
//! bytes Cyrus 3's `dump_mailbox` writes for a target it does not know: a `cyrus.index`
//! downgraded to version 6 (60-octet records, `\Seen` left out), `\Seen` in a seen database
//! that comes with the INBOX, after the user's other mailboxes. What Cyrus itself sends is
//! checked in `cyrus_xfer.rs`; this test covers what a real Cyrus cannot be made to send:
//! a broken index, a source that goes away mid-stream, a non-administrator.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

const MAGIC: &[u8] = b"\xa1\x02\x8b\x0dCyrus mailbox header\n\
\"The best thing about this system was that it had lots of goals.\"\n\
\t--Jim Morris on Andrew\n";

/// `cyrus.header` in the three-line form, with user flag names by bit.
fn header(uniqueid: &str, flags: &str, acl: &str) -> Vec<u8> {
    let mut b = MAGIC.to_vec();
    b.extend_from_slice(format!("user.ann\t{uniqueid}\n{flags}\n{acl}\n").as_bytes());
    b
}

/// One message of a downgraded index: UID, internal date, size, system flags, user flags.
type Record = (u32, u32, u32, u32, u32);

/// `cyrus.index` as Cyrus downgrades it to version 6: today's layout cut to a 76-octet
/// header and 60-octet records.
fn index_v6(uidvalidity: u32, last_uid: u32, records: &[Record]) -> Vec<u8> {
    let mut b = vec![0u8; 76];
    let put = |b: &mut [u8], at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_be_bytes());
    put(&mut b, 8, 6);
    put(&mut b, 12, 76);
    put(&mut b, 16, 60);
    put(&mut b, 20, records.len() as u32);
    put(&mut b, 28, last_uid);
    put(&mut b, 44, uidvalidity);
    for &(uid, date, size, system, user) in records {
        let mut r = vec![0u8; 60];
        put(&mut r, 0, uid);
        put(&mut r, 4, date);
        put(&mut r, 12, size);
        put(&mut r, 32, system);
        put(&mut r, 36, user);
        b.extend_from_slice(&r);
    }
    b
}

fn message(subject: &str) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n").into_bytes()
}

/// An entry as `dump_file` writes it after the first: ` {n+}` name, ` {n+}` data.
fn entry(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    out.extend_from_slice(
        format!(" {{{}+}}\r\n{name} {{{}+}}\r\n", name.len(), data.len()).as_bytes(),
    );
    out.extend_from_slice(data);
}

struct Imap {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
}

impl Imap {
    fn login(port: u16, user: &str, password: &str) -> Imap {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut imap = Imap {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
        };
        imap.line();
        let (_, done) = imap.cmd(&format!("L LOGIN {user} {password}"));
        assert!(done.starts_with("L OK"), "{done}");
        imap
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).unwrap();
        assert!(n > 0, "the connection closed");
        line.trim_end().to_string()
    }

    /// Sends `text` and reads to the tagged answer of its tag (the first word).
    fn cmd(&mut self, text: &str) -> (Vec<String>, String) {
        self.send(text.as_bytes());
        self.stream.write_all(b"\r\n").unwrap();
        self.answer(text.split(' ').next().unwrap())
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    fn answer(&mut self, tag: &str) -> (Vec<String>, String) {
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            if line.starts_with(&format!("{tag} ")) {
                return (lines, line);
            }
            lines.push(line);
        }
    }

    fn ok(&mut self, text: &str) -> Vec<String> {
        let (lines, done) = self.cmd(text);
        assert!(done.contains(" OK"), "{text}: {done} after {lines:?}");
        lines
    }

    /// An UNDUMP of `name`: the first entry name's literal synchronising, as Cyrus sends it.
    fn undump(&mut self, tag: &str, name: &str, quota: &str, rest: &[u8]) -> String {
        self.send(
            format!(
                "{tag} UNDUMP {{{}+}}\r\n{name} ({quota} {{12}}\r\n",
                name.len()
            )
            .as_bytes(),
        );
        let go = self.line();
        assert!(go.starts_with('+'), "{go}");
        self.send(rest);
        self.send(b")\r\n");
        self.answer(tag).1
    }
}

/// The mailbox after the first entry's name (`cyrus.header` and the rest).
fn mailbox_dump(head: &[u8], index: &[u8], messages: &[(u32, Vec<u8>)], extra: &[u8]) -> Vec<u8> {
    let mut out = format!("cyrus.header {{{}+}}\r\n", head.len()).into_bytes();
    out.extend_from_slice(head);
    entry(&mut out, "cyrus.index", index);
    entry(&mut out, "cyrus.cache", b"cache bytes only Cyrus reads");
    for (uid, body) in messages {
        entry(&mut out, &format!("{uid}."), body);
    }
    out.extend_from_slice(extra);
    out
}

/// A server with `users` (their INBOXes removed), then restarted as a backend joined to a
/// Cyrus mupdate master (unreachable here: the test never pushes; `user add` would need it).
fn server_with(users: &[(&str, &str)]) -> common::Server {
    let mut server = common::Server::start_with("servername: darius1\nunixhierarchysep: no\n");
    for (user, password) in users {
        server.add_user(user, password);
    }
    server.add_user("admin", "pw-admin");
    let mut admin = Imap::login(server.imap_port, "admin", "pw-admin");
    for (user, _) in users {
        admin.ok(&format!("X SETACL user.{user} admin lrswipkxtecda"));
        admin.ok(&format!("X DELETE user.{user}"));
    }
    drop(admin);
    server.stop();
    let port = common::free_port();
    let mut conf = std::fs::read_to_string(&server.conf).unwrap();
    conf.push_str(&format!(
        "mupdate_server: 127.0.0.1:{port}\nmupdate_authname: m\nmupdate_password: m\n\
         mupdate_retry_delay: 1\n"
    ));
    std::fs::write(&server.conf, conf).unwrap();
    server.restart();
    server
}

/// ann's Sieve scripts, by ManageSieve's LISTSCRIPTS.
fn sieve_scripts(port: u16) -> Vec<String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    let until_ok = |reader: &mut BufReader<TcpStream>| {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end().to_string();
            assert!(!line.starts_with("NO") && !line.is_empty(), "{line}");
            if line.starts_with("OK") {
                return lines;
            }
            lines.push(line);
        }
    };
    until_ok(&mut reader);
    // `\0ann\0pw-ann`
    stream
        .write_all(b"AUTHENTICATE \"PLAIN\" \"AGFubgBwdy1hbm4=\"\r\n")
        .unwrap();
    until_ok(&mut reader);
    stream.write_all(b"LISTSCRIPTS\r\n").unwrap();
    until_ok(&mut reader)
}

const ACL: &str = "ann\tlrswipkxtecda\tadmin\tlrswipkxtecda\t";

#[test]
fn a_cyrus_dump_becomes_the_users_mailboxes_with_uids_flags_seen_and_quota() {
    let mut server = server_with(&[("ann", "pw-ann")]);
    let mut admin = Imap::login(server.imap_port, "admin", "pw-admin");

    // user.ann.Sent first, as Cyrus sends a user's mailboxes (the INBOX last).
    admin.ok("C1 SETQUOTA +user.ann (STORAGE 500)");
    admin.ok("C2 LOCALCREATE user.ann.Sent");
    let sent = mailbox_dump(
        &header("SENTID", "", ACL),
        &index_v6(4242, 1, &[(1, 1_700_000_000, 40, 0, 0)]),
        &[(1, message("sent one"))],
        b"",
    );
    let done = admin.undump("C3", "user.ann.Sent", "NIL", &sent);
    assert!(done.starts_with("C3 OK"), "{done}");

    // The INBOX: UIDs 1, 2 and 5 live (3 expunged and 4 never indexed: its file is no
    // message), a keyword, the seen database for both mailboxes, subscriptions, a Sieve
    // script with its compiled form, limits, an annotation.
    admin.ok("C4 LOCALCREATE user.ann default");
    let records = [
        (1, 1_600_000_000, 0, 1 << 1, 1 << 1),
        (2, 1_600_000_100, 0, 1, 0),
        (5, 1_600_000_500, 0, 1 << 3, 0),
    ];
    let mut extra = Vec::new();
    entry(
        &mut extra,
        "SEEN",
        b"SENTID\t1 1700000000 1 1700000000 1\nINBOXID\t1 1600000000 5 1600000000 1:2\n",
    );
    entry(&mut extra, "SUBS", b"user.ann\t\nuser.ann.Sent\t\n");
    entry(&mut extra, "SIEVED-main.script", b"keep;\r\n");
    entry(&mut extra, "SIEVED-main.bc", b"\x00compiled");
    extra.extend_from_slice(b" {7+}\r\nX-QUOTA ({7+}\r\nSTORAGE 900 {7+}\r\nMESSAGE 40)");
    extra.extend_from_slice(b" {17+}\r\nA-ann/comment/xyz (0 {2+}\r\nhi {10+}\r\ntext/plain)");
    let inbox = mailbox_dump(
        &header("INBOXID", "$Forwarded $Label1", ACL),
        &index_v6(777, 5, &records),
        &[
            (1, message("one")),
            (2, message("two")),
            (4, message("not indexed")),
            (5, message("five")),
        ],
        &extra,
    );
    let done = admin.undump("C5", "user.ann", "900", &inbox);
    assert!(
        done.starts_with("C5 OK") && done.contains("3 messages") && done.contains("1 annotations"),
        "{done}"
    );
    // Cyrus then resets the ACL and would push to its master (unreachable here).
    admin.ok("C6 SETACL user.ann anyone lr");

    let lines = admin.ok("C7 GETQUOTA user.ann");
    assert!(
        lines.iter().any(|l| l.contains(" 900 MESSAGE 4 40)")),
        "{lines:?}"
    );

    // The mailbox as Cyrus had it, seen by its owner: UIDVALIDITY, UIDNEXT, UIDs, flags
    // with \Seen from the seen database, internal dates, bodies.
    let mut ann = Imap::login(server.imap_port, "ann", "pw-ann");
    let lines = ann.ok("D1 EXAMINE INBOX");
    assert!(
        lines.iter().any(|l| l.contains("[UIDVALIDITY 777]")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.contains("[UIDNEXT 6]")), "{lines:?}");
    assert!(lines.iter().any(|l| l == "* 3 EXISTS"), "{lines:?}");
    let lines = ann.ok("D2 UID FETCH 1:* (FLAGS INTERNALDATE)");
    let want = [
        (
            "UID 1 ",
            &["\\Seen", "\\Flagged", "$Label1"][..],
            "13-Sep-2020 12:26:40 +0000",
        ),
        (
            "UID 2 ",
            &["\\Seen", "\\Answered"][..],
            "13-Sep-2020 12:28:20 +0000",
        ),
        ("UID 5 ", &["\\Draft"][..], "13-Sep-2020 12:35:00 +0000"),
    ];
    assert_eq!(lines.len(), 3, "{lines:?}");
    for ((uid, flags, date), line) in want.iter().zip(&lines) {
        assert!(line.contains(uid), "{line}");
        assert!(line.contains(date), "{line}");
        let got = line
            .split("FLAGS (")
            .nth(1)
            .unwrap()
            .split(')')
            .next()
            .unwrap();
        let mut got: Vec<&str> = got
            .split(' ')
            .filter(|f| !f.is_empty() && *f != "\\Recent")
            .collect();
        let mut flags = flags.to_vec();
        got.sort_unstable();
        flags.sort_unstable();
        assert_eq!(got, flags, "{line}");
    }
    let lines = ann.ok("D3 UID FETCH 5 BODY.PEEK[]");
    assert!(
        lines.iter().any(|l| l.contains("body of five")),
        "{lines:?}"
    );
    let lines = ann.ok("D4 EXAMINE INBOX.Sent");
    assert!(
        lines.iter().any(|l| l.contains("[UIDVALIDITY 4242]")),
        "{lines:?}"
    );
    let lines = ann.ok("D5 UID FETCH 1 FLAGS");
    assert!(lines[0].contains("\\Seen"), "{lines:?}");

    // Her subscriptions and Sieve script came with the INBOX.
    let lines = ann.ok("D6 LSUB \"\" \"*\"");
    assert!(lines.iter().any(|l| l.ends_with("INBOX.Sent")), "{lines:?}");
    assert_eq!(sieve_scripts(server.sieve_port), ["\"main\" ACTIVE"]);
    ann.ok("D7 UNSELECT");

    // LOCALDELETE removes what an UNDUMP of the session brought (Cyrus's way back).
    admin.ok("C13 LOCALDELETE user.ann.Sent");
    let (_, done) = admin.cmd("C14 EXAMINE user.ann.Sent");
    assert!(done.starts_with("C14 NO"), "{done}");
    drop(admin);
    drop(ann);
    server.stop();
}

#[test]
fn a_broken_dump_or_a_source_gone_midway_leaves_nothing() {
    let mut server = server_with(&[("bob", "pw-bob")]);
    let mut admin = Imap::login(server.imap_port, "admin", "pw-admin");

    // An index that does not parse: NO, and no mailbox.
    admin.ok("A1 LOCALCREATE user.ann");
    let broken = mailbox_dump(
        &header("X", "", ACL),
        b"not an index",
        &[(1, message("one"))],
        b"",
    );
    let done = admin.undump("A2", "user.ann", "NIL", &broken);
    assert!(
        done.starts_with("A2 NO") && done.contains("cyrus.index"),
        "{done}"
    );
    let (_, done) = admin.cmd("A3 EXAMINE user.ann");
    assert!(done.starts_with("A3 NO"), "{done}");

    // The source goes away after the index and a message: the copy is removed.
    let mut gone = Imap::login(server.imap_port, "admin", "pw-admin");
    gone.ok("B1 LOCALCREATE user.ann");
    gone.send(b"B2 UNDUMP user.ann (NIL {12}\r\n");
    assert!(gone.line().starts_with('+'));
    let partial = mailbox_dump(
        &header("X", "", ACL),
        &index_v6(9, 1, &[(1, 1_600_000_000, 0, 0, 0)]),
        &[(1, message("one"))],
        b"",
    );
    gone.send(&partial);
    gone.send(b" {2+}\r\n2. {1000+}\r\npartial");
    std::thread::sleep(Duration::from_millis(500));
    drop(gone);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, done) = admin.cmd("A4 LOCALCREATE user.ann");
        if done.starts_with("A4 OK") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{done}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Not an administrator: UNDUMP, LOCALCREATE, MUPDATEPUSH are not offered.
    let mut bob = Imap::login(server.imap_port, "bob", "pw-bob");
    let (_, done) = bob.cmd("E1 UNDUMP user.bob (NIL)");
    assert!(done.starts_with("E1 BAD"), "{done}");
    let (_, done) = bob.cmd("E2 LOCALCREATE user.x");
    assert!(done.starts_with("E2 BAD"), "{done}");
    let (_, done) = bob.cmd("E3 MUPDATEPUSH INBOX");
    assert!(!done.starts_with("E3 OK"), "{done}");
    drop(bob);
    drop(admin);
    server.stop();
}
