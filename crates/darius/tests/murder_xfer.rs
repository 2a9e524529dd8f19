//! XFER in a whole Murder on loopback: a real etcd, two `darius serve` backends and a
//! frontend. A user moves from b1 to b2 through the frontend, with their mailboxes, flags,
//! internal dates and bytes intact, while their IMAP session goes on (it reselects) and an
//! LMTP client keeps delivering to them; then either backend is killed (-9) in the middle of
//! a transfer, or the source right after its commit point, and every restart leaves the
//! directory naming one backend, holding every message once.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;
mod imap_support;
mod murder_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Server;
use imap_support::{last, Client};
use murder_support::{eventually, fetches, item, lmtp_once, message, message_id, murder_conf};

/// etcd, two backends and a frontend; ann's INBOX on b1.
struct Murder {
    _runtime: tokio::runtime::Runtime,
    etcd: etcd::testing::EtcdCluster,
    b1: Server,
    b2: Server,
    front: Server,
}

fn murder(source_env: Vec<(&'static str, std::ffi::OsString)>) -> Option<Murder> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let etcd = runtime.block_on(etcd::testing::EtcdCluster::single())?;
    let endpoints = etcd.endpoints();
    let b1 = Server::start_with_env(
        &murder_conf("backend", "b1", &endpoints, "/xfer"),
        source_env,
    );
    let b2 = Server::start_with(&murder_conf("backend", "b2", &endpoints, "/xfer"));
    let front = Server::start_with(&murder_conf("frontend", "f1", &endpoints, "/xfer"));
    for user in ["admin", "proxy", "ann"] {
        b1.add_user(user, &format!("pw-{user}"));
    }
    // ann's INBOX is b1's already: b2 only learns the user.
    for user in ["admin", "proxy", "ann"] {
        b2.add_user(user, &format!("pw-{user}"));
    }
    for user in ["admin", "ann"] {
        front.add_user(user, &format!("pw-{user}"));
    }
    let m = Murder {
        _runtime: runtime,
        etcd,
        b1,
        b2,
        front,
    };
    eventually("the frontend knows ann's INBOX", || {
        holder(&m.front, "user.ann").as_deref() == Some("b1!default")
    });
    Some(m)
}

/// `darius murder dump` on `server`'s configuration: NAME → SERVER!PARTITION of every active
/// entry.
fn dump(server: &Server) -> BTreeMap<String, String> {
    server
        .darius_ok(&["murder", "dump"])
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (name, at, state) = (f.next()?, f.next()?, f.next()?);
            (state == "active").then(|| (name.to_string(), at.to_string()))
        })
        .collect()
}

fn holder(server: &Server, name: &str) -> Option<String> {
    dump(server).remove(name)
}

/// ann's mailboxes whose files a backend holds: its `cyrus.header` files naming one of them
/// (the other users' INBOXes, which `user add` makes on a backend, are not counted).
fn ann_dirs(server: &Server) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .flatten()
            .map(|e| {
                let path = e.path();
                if path.is_dir() {
                    walk(&path)
                } else {
                    let header = path.file_name() == Some("cyrus.header".as_ref());
                    let ann = std::fs::read(&path)
                        .is_ok_and(|b| String::from_utf8_lossy(&b).contains("user.ann"));
                    usize::from(header && ann)
                }
            })
            .sum()
    }
    walk(&server.dir.path().join("spool"))
}

/// The transfer markers a server has left (configdirectory/xfer/in and out).
fn markers(server: &Server) -> usize {
    ["in", "out"]
        .iter()
        .map(|side| {
            std::fs::read_dir(server.config_dir().join("xfer").join(side))
                .map(|d| d.count())
                .unwrap_or(0)
        })
        .sum()
}

/// One message as IMAP shows it.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Message {
    flags: Vec<String>,
    internal_date: String,
    bytes: Vec<u8>,
}

/// A mailbox as IMAP shows it: UIDVALIDITY, UIDNEXT and every message by UID.
#[derive(Debug, PartialEq, Eq)]
struct Mailbox {
    uidvalidity: String,
    uidnext: String,
    messages: BTreeMap<u32, Message>,
}

/// The value of `[CODE value]` in `lines`.
fn code(lines: &[String], name: &str) -> String {
    let key = format!("[{name} ");
    lines
        .iter()
        .find_map(|l| {
            let at = l.find(&key)? + key.len();
            Some(l[at..].split(']').next()?.to_string())
        })
        .unwrap_or_else(|| panic!("no {name} in {lines:?}"))
}

/// `mailbox` read by its owner ann at `port` (EXAMINE: nothing changes; her `\Seen` is the
/// one the mailbox keeps, where an administrator would see their own).
fn read_mailbox(port: u16, mailbox: &str) -> Mailbox {
    let mut c = Client::login(port, "ann");
    let r = c.cmd("e", &format!("EXAMINE {mailbox}"));
    assert!(last(&r).starts_with("e OK"), "{r:?}");
    let (uidvalidity, uidnext) = (code(&r, "UIDVALIDITY"), code(&r, "UIDNEXT"));
    let r = c.cmd("f", "UID FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])");
    assert!(last(&r).starts_with("f OK"), "{r:?}");
    let messages = fetches(&r)
        .into_iter()
        .map(|(head, bytes)| {
            let mut flags: Vec<String> = item(&head, "FLAGS ")
                .split_whitespace()
                .map(String::from)
                .filter(|f| f != "\\Recent")
                .collect();
            flags.sort();
            let uid = item(&head, "UID ").parse().unwrap();
            let message = Message {
                flags,
                internal_date: item(&head, "INTERNALDATE ").to_string(),
                bytes,
            };
            (uid, message)
        })
        .collect();
    Mailbox {
        uidvalidity,
        uidnext,
        messages,
    }
}

/// The files of ann's Sieve directory on `server` (scripts and the active link).
fn scripts_on_disk(server: &Server) -> usize {
    std::fs::read_dir(server.config_dir().join("sieve/user/ann"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A ManageSieve session as ann at `port`: each command's lines, its `OK`/`NO` last.
fn sieve(port: u16, commands: &[&str]) -> Vec<Vec<String>> {
    use base64::Engine;
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut r = BufReader::new(stream.try_clone().unwrap());
    let mut w = stream;
    let mut answer = || {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            assert!(
                r.read_line(&mut line).unwrap() > 0,
                "closed after {lines:?}"
            );
            let done = ["OK", "NO", "BYE"].iter().any(|w| line.starts_with(w));
            lines.push(line);
            if done {
                return lines;
            }
        }
    };
    answer();
    let plain = base64::engine::general_purpose::STANDARD.encode(b"\0ann\0pw-ann");
    w.write_all(format!("AUTHENTICATE \"PLAIN\" \"{plain}\"\r\n").as_bytes())
        .unwrap();
    let login = answer();
    assert!(last(&login).starts_with("OK"), "{login:?}");
    commands
        .iter()
        .map(|c| {
            w.write_all(format!("{c}\r\n").as_bytes()).unwrap();
            answer()
        })
        .collect()
}

/// APPENDs with flags and an internal date.
fn append(c: &mut Client, mailbox: &str, flags: &str, date: &str, text: &str) {
    let tag = "ap";
    let command = format!(
        "APPEND {mailbox} ({flags}) \"{date}\" {{{}+}}\r\n{text}",
        text.len()
    );
    let r = c.cmd(tag, &command);
    assert!(last(&r).starts_with("ap OK"), "{r:?}");
}

/// Fills `user`'s INBOX (logged in at `port`) with `count` messages, 1,000 per MULTIAPPEND.
fn fill(port: u16, user: &str, count: usize) {
    let mut c = Client::login(port, user);
    let mut done = 0;
    while done < count {
        let batch = 1000.min(count - done);
        let mut command = String::from("APPEND INBOX");
        for i in done..done + batch {
            let text = message(&format!("fill-{i}"), &format!("message {i}"));
            command.push_str(&format!(" {{{}+}}\r\n{text}", text.len()));
        }
        let r = c.cmd("fill", &command);
        assert!(last(&r).starts_with("fill OK"), "{r:?}");
        done += batch;
    }
}

#[test]
fn xfer_moves_a_user_with_everything_and_their_session_reselects() {
    let Some(m) = murder(Vec::new()) else {
        return;
    };
    let mut admin = Client::login(m.b1.imap_port, "admin");
    for cmd in [
        "CREATE user.ann.Sent (USE (\\Sent))",
        "CREATE user.ann.Work",
        "SETACL user.ann.Work bob lrs",
    ] {
        let r = admin.cmd("s", cmd);
        assert!(last(&r).starts_with("s OK"), "{cmd}: {r:?}");
    }
    drop(admin);
    let mut owner = Client::login(m.b1.imap_port, "ann");
    let dates = ["01-Jan-2020 10:00:00 +0200", "29-Feb-2024 23:59:59 -0530"];
    for (i, (mailbox, flags)) in [
        ("INBOX", "\\Seen"),
        ("INBOX", "\\Flagged $Label1"),
        ("INBOX", ""),
        ("INBOX.Sent", "\\Seen \\Answered"),
        ("INBOX.Work", "$Work \\Draft"),
        ("INBOX.Work", "\\Deleted"),
    ]
    .iter()
    .enumerate()
    {
        let text = message(&format!("m{i}"), &"line of text\r\n".repeat(i * 50 + 1));
        append(&mut owner, mailbox, flags, dates[i % 2], &text);
    }
    // An expunge and a flag change before the move: UIDNEXT is past the last UID.
    for cmd in [
        "SELECT INBOX",
        "UID STORE 3 +FLAGS (\\Deleted)",
        "UID EXPUNGE 3",
        "UID STORE 1 +FLAGS ($Later)",
    ] {
        let r = owner.cmd("s", cmd);
        assert!(last(&r).starts_with("s OK"), "{cmd}: {r:?}");
    }
    drop(owner);
    // Her Sieve script and her quota go with her.
    let script = "require \"fileinto\";\r\nif header :contains \"subject\" \"work\" { fileinto \"INBOX.Work\"; }\r\n";
    let put = format!("PUTSCRIPT \"main\" {{{}+}}\r\n{script}", script.len());
    for answer in sieve(m.b1.sieve_port, &[&put, "SETACTIVE \"main\""]) {
        assert!(last(&answer).starts_with("OK"), "{answer:?}");
    }
    let r = imap_support::run_ok(
        m.b1.imap_port,
        "admin",
        &["SETQUOTA user.ann (STORAGE 5000)"],
    );
    assert!(!r.is_empty());
    assert!(scripts_on_disk(&m.b1) > 0);
    // And her subscriptions, kept on her backend (subscribed through the frontend).
    let r = imap_support::run_ok(
        m.front.imap_port,
        "ann",
        &["SUBSCRIBE INBOX.Sent", "SUBSCRIBE INBOX.Work"],
    );
    assert!(!r.is_empty());
    let subscribed = |port: u16| {
        let r = imap_support::run_ok(port, "ann", &["LSUB \"\" \"*\""]);
        let mut names: Vec<String> = r
            .iter()
            .filter(|l| l.starts_with("* LSUB"))
            .map(|l| l.trim_end().rsplit(' ').next().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(subscribed(m.b1.imap_port), ["INBOX.Sent", "INBOX.Work"]);
    let names = ["user.ann", "user.ann.Sent", "user.ann.Work"];
    let views = ["INBOX", "INBOX.Sent", "INBOX.Work"];
    let before: Vec<Mailbox> = views
        .iter()
        .map(|n| read_mailbox(m.b1.imap_port, n))
        .collect();
    assert_eq!(before[0].messages.len(), 2);
    assert_eq!(before[0].uidnext, "4");

    // ann reads her INBOX through the frontend (proxied to b1).
    let mut ann = Client::login(m.front.imap_port, "ann");
    let r = ann.cmd("a1", "SELECT INBOX");
    assert!(last(&r).starts_with("a1 OK"), "{r:?}");

    // The administrator moves her, through the frontend (which forwards XFER to b1).
    let mut admin = Client::login(m.front.imap_port, "admin");
    let r = admin.cmd("x", "XFER user.ann b2");
    assert!(last(&r).starts_with("x OK"), "{r:?}");

    let directory = dump(&m.front);
    for name in names {
        assert_eq!(directory[name], "b2!default", "{directory:?}");
    }
    assert_eq!(ann_dirs(&m.b1), 0, "b1 holds none of ann's mailboxes");
    assert_eq!(ann_dirs(&m.b2), 3);
    assert_eq!((markers(&m.b1), markers(&m.b2)), (0, 0));
    for (name, was) in views.iter().zip(&before) {
        assert_eq!(&read_mailbox(m.b2.imap_port, name), was, "{name}");
    }
    assert!(before[0]
        .messages
        .values()
        .any(|m| m.flags.contains(&"\\Seen".to_string())));
    // The special use, the ACL, the quota and the Sieve script went along.
    let r = imap_support::run_ok(
        m.b2.imap_port,
        "admin",
        &[
            "GETACL user.ann.Work",
            "GETQUOTA user.ann",
            "LIST \"\" user.ann.Sent",
        ],
    );
    assert!(r.iter().any(|l| l.contains("bob lrs")), "{r:?}");
    assert!(r.iter().any(|l| l.contains(" 5000)")), "{r:?}");
    assert!(r.iter().any(|l| l.contains("\\Sent")), "{r:?}");
    let listed = &sieve(m.b2.sieve_port, &["LISTSCRIPTS"])[0];
    assert!(
        listed.iter().any(|l| l.starts_with("\"main\" ACTIVE")),
        "{listed:?}"
    );
    // (b1's ManageSieve serves ann from b2 now: look at its disk.)
    assert_eq!(scripts_on_disk(&m.b1), 0, "ann's scripts are gone from b1");
    assert_eq!(subscribed(m.b2.imap_port), ["INBOX.Sent", "INBOX.Work"]);
    assert_eq!(subscribed(m.front.imap_port), ["INBOX.Sent", "INBOX.Work"]);

    // ann's session hears that her mailbox is gone from b1, and reselects it on b2.
    let r = ann.cmd("a2", "NOOP");
    assert!(r.iter().any(|l| l.starts_with("* OK [CLOSED]")), "{r:?}");
    assert!(last(&r).starts_with("a2 NO [UNAVAILABLE]"), "{r:?}");
    let mut n = 0;
    eventually("ann reselects her INBOX", || {
        n += 1;
        let r = ann.cmd(&format!("s{n}"), "SELECT INBOX");
        last(&r).starts_with(&format!("s{n} OK"))
    });
    let r = ann.cmd("a3", "UID FETCH 1:* (FLAGS)");
    assert!(last(&r).starts_with("a3 OK"), "{r:?}");
    assert_eq!(r.iter().filter(|l| l.contains(" FETCH ")).count(), 2);
    let r = ann.cmd("a4", "STORE 1 +FLAGS (\\Answered)");
    assert!(last(&r).starts_with("a4 OK"), "writes go to b2: {r:?}");
    drop(m.etcd);
}

/// Delivers to ann through the frontend's LMTP until `stop`, one message per transaction,
/// retrying a message until it is acknowledged (a 4xx is a deferral, as for an MTA).
fn deliver_until(
    port: u16,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
    deferred: Arc<AtomicUsize>,
) {
    let mut k = 0;
    while !stop.load(Ordering::SeqCst) {
        let id = format!("lmtp-{k}");
        match lmtp_once(port, "ann", &message(&id, "delivered")) {
            Some(code) if code.starts_with('2') => {
                acked.lock().unwrap().push(id);
                k += 1;
            }
            Some(code) if code.starts_with('4') => {
                deferred.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(50));
            }
            other => panic!("delivery of {id}: {other:?}"),
        }
    }
}

/// Reads ann's INBOX through the frontend until `stop`, reselecting whenever the session is
/// told it is gone; answers how many reads succeeded after a reselection.
fn read_until(port: u16, stop: Arc<AtomicBool>) -> (usize, usize) {
    let mut c = Client::login(port, "ann");
    let r = c.cmd("r0", "SELECT INBOX");
    assert!(last(&r).starts_with("r0 OK"), "{r:?}");
    let (mut reselected, mut after) = (0, 0);
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let tag = format!("r{n}");
        let r = c.cmd(&tag, "FETCH 1:20 (UID FLAGS)");
        if last(&r).starts_with(&format!("{tag} OK")) {
            after += usize::from(reselected > 0);
            continue;
        }
        assert!(last(&r).contains("NO [UNAVAILABLE]"), "{r:?}");
        loop {
            n += 1;
            let tag = format!("r{n}");
            let r = c.cmd(&tag, "SELECT INBOX");
            if last(&r).starts_with(&format!("{tag} OK")) {
                reselected += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    (reselected, after)
}

/// Message-ID → how many times, and each one's flags, in ann's INBOX at `port` (read by
/// ann: her `\Seen`).
fn census(port: u16) -> (BTreeMap<String, usize>, BTreeMap<String, String>) {
    let mut c = Client::login(port, "ann");
    let r = c.cmd("e", "EXAMINE INBOX");
    assert!(last(&r).starts_with("e OK"), "{r:?}");
    let r = c.cmd(
        "f",
        "UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
    );
    assert!(last(&r).starts_with("f OK"), "{r:?}");
    let mut ids = BTreeMap::new();
    let mut flags = BTreeMap::new();
    for (head, bytes) in fetches(&r) {
        let id = message_id(&bytes);
        *ids.entry(id.clone()).or_insert(0) += 1;
        flags.insert(id, item(&head, "FLAGS ").to_string());
    }
    (ids, flags)
}

#[test]
fn xfer_of_ten_thousand_messages_loses_and_doubles_nothing_while_mail_arrives_and_a_session_reads()
{
    let Some(m) = murder(Vec::new()) else {
        return;
    };
    const FILL: usize = 10_000;
    fill(m.b1.imap_port, "ann", FILL);
    let flagged = imap_support::run_ok(
        m.b1.imap_port,
        "ann",
        &[
            "SELECT INBOX",
            "STORE 1:3000 +FLAGS.SILENT (\\Seen)",
            "STORE 2001:2500 +FLAGS.SILENT ($Keep)",
        ],
    );
    assert!(!flagged.is_empty());

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let deferred = Arc::new(AtomicUsize::new(0));
    let delivering = {
        let (stop, acked, deferred) =
            (Arc::clone(&stop), Arc::clone(&acked), Arc::clone(&deferred));
        let port = m.front.lmtp_port;
        std::thread::spawn(move || deliver_until(port, stop, acked, deferred))
    };
    let reading = {
        let stop = Arc::clone(&stop);
        let port = m.front.imap_port;
        std::thread::spawn(move || read_until(port, stop))
    };
    std::thread::sleep(Duration::from_millis(500));
    let mut admin = Client::login(m.front.imap_port, "admin");
    let started = Instant::now();
    let r = admin.cmd("x", "XFER user.ann b2");
    let took = started.elapsed();
    assert!(last(&r).starts_with("x OK"), "{r:?}");
    // Mail goes on arriving, now at b2, and the reader reads there.
    let during = acked.lock().unwrap().len();
    eventually("deliveries after the move", || {
        acked.lock().unwrap().len() > during + 20
    });
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::SeqCst);
    delivering.join().unwrap();
    let (reselected, reads_after) = reading.join().unwrap();
    assert!(reselected >= 1, "the reader was never told to reselect");
    assert!(reads_after > 0, "the reader read nothing after reselecting");

    assert_eq!(holder(&m.front, "user.ann").as_deref(), Some("b2!default"));
    assert_eq!(ann_dirs(&m.b1), 0);
    let (ids, flags) = census(m.b2.imap_port);
    let acked = acked.lock().unwrap().clone();
    let doubled: Vec<_> = ids.iter().filter(|(_, &n)| n > 1).collect();
    assert!(doubled.is_empty(), "present twice: {doubled:?}");
    let wanted: Vec<String> = (0..FILL)
        .map(|i| format!("fill-{i}"))
        .chain(acked.iter().cloned())
        .collect();
    let missing: Vec<_> = wanted.iter().filter(|id| !ids.contains_key(*id)).collect();
    assert!(
        missing.is_empty(),
        "lost: {} e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(ids.len(), wanted.len(), "nothing else either");
    for i in [0, 1999, 2000, 2499, 2999, 3000, 9999] {
        let f = &flags[&format!("fill-{i}")];
        assert_eq!(f.contains("\\Seen"), i < 3000, "fill-{i}: {f}");
        assert_eq!(
            f.contains("$Keep"),
            (2000..2500).contains(&i),
            "fill-{i}: {f}"
        );
    }
    eprintln!(
        "XFER of {FILL} messages took {took:?}; {} deliveries acknowledged, {} deferred, \
         the reader reselected {reselected} time(s)",
        acked.len(),
        deferred.load(Ordering::SeqCst)
    );
    drop(m.etcd);
}

/// Starts `XFER user.ann b2` at b1 directly, on a thread: its last line (empty when the
/// connection broke first).
fn xfer_in_background(port: u16) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut c = Client::login(port, "admin");
        c.send(b"x XFER user.ann b2\r\n");
        c.until_or_closed("x").last().cloned().unwrap_or_default()
    })
}

/// Waits until b2 has begun receiving (an incoming marker).
fn copy_begun(m: &Murder) {
    eventually("the copy begins", || markers(&m.b2) > 0);
}

fn inbox_messages(port: u16) -> usize {
    census(port).0.len()
}

#[test]
fn a_source_killed_mid_copy_keeps_everything_and_the_target_keeps_nothing() {
    let Some(mut m) = murder(Vec::new()) else {
        return;
    };
    fill(m.b1.imap_port, "ann", 4000);
    let xfer = xfer_in_background(m.b1.imap_port);
    copy_begun(&m);
    m.b1.kill_hard();
    let answer = xfer.join().unwrap();
    assert!(
        !answer.starts_with("x OK"),
        "finished before the kill: {answer}"
    );
    // The target removes the copy its source left uncommitted.
    eventually("b2 has no leftover", || {
        ann_dirs(&m.b2) == 0 && markers(&m.b2) == 0
    });
    m.b1.restart();
    assert_eq!(holder(&m.front, "user.ann").as_deref(), Some("b1!default"));
    assert_eq!(inbox_messages(m.b1.imap_port), 4000);
    assert_eq!(markers(&m.b1), 0);
    // The transfer can be done again.
    let r = imap_support::run_ok(m.b1.imap_port, "admin", &["XFER user.ann b2"]);
    assert!(last(&r).contains("OK"), "{r:?}");
    assert_eq!(inbox_messages(m.b2.imap_port), 4000);
    drop(m.etcd);
}

#[test]
fn a_target_killed_mid_copy_removes_its_copy_at_restart() {
    let Some(mut m) = murder(Vec::new()) else {
        return;
    };
    fill(m.b1.imap_port, "ann", 4000);
    let xfer = xfer_in_background(m.b1.imap_port);
    copy_begun(&m);
    m.b2.kill_hard();
    let answer = xfer.join().unwrap();
    assert!(answer.starts_with("x NO"), "{answer}");
    // The source goes on serving, writes included (the hierarchy is no longer frozen).
    let r = imap_support::run_ok(
        m.b1.imap_port,
        "ann",
        &["SELECT INBOX", "STORE 1 +FLAGS (\\Seen)"],
    );
    assert!(!r.is_empty());
    assert!(
        ann_dirs(&m.b2) > 0 || markers(&m.b2) > 0,
        "the copy was under way"
    );
    m.b2.restart();
    assert_eq!((ann_dirs(&m.b2), markers(&m.b2)), (0, 0));
    assert_eq!(holder(&m.front, "user.ann").as_deref(), Some("b1!default"));
    assert_eq!(inbox_messages(m.b1.imap_port), 4000);
    drop(m.etcd);
}

#[test]
fn a_source_killed_right_after_the_switch_is_settled_at_its_restart() {
    let pause = vec![(
        "DARIUS_TEST_XFER_PAUSE_AFTER_SWITCH",
        std::ffi::OsString::from("20000"),
    )];
    let Some(mut m) = murder(pause) else {
        return;
    };
    fill(m.b1.imap_port, "ann", 500);
    let mut admin = Client::login(m.b1.imap_port, "admin");
    let r = admin.cmd("c", "CREATE user.ann.Sent");
    assert!(last(&r).starts_with("c OK"), "{r:?}");
    let xfer = xfer_in_background(m.b1.imap_port);
    eventually("the directory names b2", || {
        holder(&m.front, "user.ann.Sent").as_deref() == Some("b2!default")
    });
    m.b1.kill_hard();
    assert!(!xfer.join().unwrap().starts_with("x OK"));
    assert_eq!(ann_dirs(&m.b1), 2, "the source's copies are still on disk");
    assert!(markers(&m.b1) > 0 && markers(&m.b2) > 0);
    m.b1.restart();
    assert_eq!(
        (ann_dirs(&m.b1), markers(&m.b1)),
        (0, 0),
        "settled at start"
    );
    // The target still has its incoming markers (no XFERDONE came): its own restart adopts.
    m.b2.kill_hard();
    m.b2.restart();
    assert_eq!((ann_dirs(&m.b2), markers(&m.b2)), (2, 0));
    let (ids, _) = census(m.b2.imap_port);
    assert_eq!(ids.len(), 500);
    assert!(ids.values().all(|&n| n == 1));
    // Delivery to ann through either backend lands on b2.
    eventually("a delivery through b1 is taken", || {
        lmtp_once(m.b1.lmtp_port, "ann", &message("late", "x"))
            .is_some_and(|r| r.starts_with("250"))
    });
    eventually("the late message reaches b2", || {
        census(m.b2.imap_port).0.contains_key("late")
    });
    drop(m.etcd);
}

#[test]
fn cyradm_xfer_through_the_frontend_moves_a_user() {
    if !common::have("cyradm") {
        return;
    }
    let Some(m) = murder(Vec::new()) else {
        return;
    };
    let r = imap_support::run_ok(m.b1.imap_port, "admin", &["CREATE user.ann.Sent"]);
    assert!(!r.is_empty());
    fill(m.b1.imap_port, "ann", 3);
    common::run_python(
        &m.front,
        "cyradm_xfer.py",
        &[
            ("TARGET", "b2"),
            ("ADMIN_PASSWORD", "pw-admin"),
            ("USER_PASSWORD", "pw-ann"),
        ],
    );
    let directory = dump(&m.front);
    assert_eq!(directory["user.ann"], "b2!default");
    assert_eq!(directory["user.ann.Sent"], "b2!default");
    assert_eq!((ann_dirs(&m.b1), ann_dirs(&m.b2)), (0, 2));
    drop(m.etcd);
}

#[test]
fn an_administrator_s_rename_to_another_server_moves_the_mailbox() {
    let Some(m) = murder(Vec::new()) else {
        return;
    };
    let mut admin = Client::login(m.front.imap_port, "admin");
    let r = admin.cmd("c", "CREATE user.ann.Proj");
    assert!(last(&r).starts_with("c OK"), "{r:?}");
    eventually("user.ann.Proj is b1's", || {
        holder(&m.front, "user.ann.Proj").as_deref() == Some("b1!default")
    });
    let mut ann = Client::login(m.front.imap_port, "ann");
    for i in 0..3 {
        append(
            &mut ann,
            "INBOX.Proj",
            "\\Flagged",
            "01-Feb-2026 10:00:00 +0000",
            &message(&format!("proj-{i}"), "project mail"),
        );
    }
    let before = read_mailbox(m.front.imap_port, "INBOX.Proj");
    // A user names no server (as no partition).
    let r = ann.cmd("u", "RENAME INBOX.Proj INBOX.Elsewhere b2!default");
    assert!(last(&r).starts_with("u NO"), "{r:?}");
    assert_eq!(
        holder(&m.front, "user.ann.Proj").as_deref(),
        Some("b1!default")
    );
    // Renamed and moved: the new name is b2's, with the messages, their UIDs and flags.
    let r = admin.cmd("r", "RENAME user.ann.Proj user.ann.Moved b2!default");
    assert!(last(&r).starts_with("r OK"), "{r:?}");
    assert_eq!(
        holder(&m.front, "user.ann.Moved").as_deref(),
        Some("b2!default")
    );
    assert_eq!(holder(&m.front, "user.ann.Proj"), None);
    let moved = read_mailbox(m.front.imap_port, "INBOX.Moved");
    assert_eq!(moved.messages, before.messages);
    assert_eq!(moved.uidvalidity, before.uidvalidity);
    assert_eq!(
        read_mailbox(m.b2.imap_port, "INBOX.Moved").messages,
        before.messages
    );
    // The same name with a server only moves it (back to b1, the partition there its own).
    let r = admin.cmd("s", "RENAME user.ann.Moved user.ann.Moved b1!");
    assert!(last(&r).starts_with("s OK"), "{r:?}");
    assert_eq!(
        holder(&m.front, "user.ann.Moved").as_deref(),
        Some("b1!default")
    );
    assert_eq!(
        read_mailbox(m.front.imap_port, "INBOX.Moved").messages,
        before.messages
    );
    // Straight at the backend holding it, an administrator's RENAME moves it as well.
    let mut at_b1 = Client::login(m.b1.imap_port, "admin");
    let r = at_b1.cmd("t", "RENAME user.ann.Moved user.ann.Far b2!default");
    assert!(last(&r).starts_with("t OK"), "{r:?}");
    assert_eq!(holder(&m.b1, "user.ann.Far").as_deref(), Some("b2!default"));
    assert_eq!(
        read_mailbox(m.front.imap_port, "INBOX.Far").messages,
        before.messages
    );
    // Within its server, a partition-less RENAME stays a rename there.
    let r = admin.cmd("w", "RENAME user.ann.Far user.ann.Near");
    assert!(last(&r).starts_with("w OK"), "{r:?}");
    assert_eq!(
        holder(&m.front, "user.ann.Near").as_deref(),
        Some("b2!default")
    );
    drop(m.etcd);
}
