//! A user moved from a real Cyrus 3.6 backend to a Darius backend with Cyrus's own `XFER`: a
//! private Cyrus Murder (Debian's cyrus-murder 3.6: a `mupdate -m` master and a backend, see
//! common/cyrus.rs) and `darius serve` joined to the same master. Darius offers no REPLICATION,
//! so Cyrus takes its legacy path (imapd.c `cmd_xfer`): it logs in to Darius as `proxy`, sends
//! `SETQUOTA +user.ann`, then `LOCALCREATE` for every mailbox of the user (children first, the
//! INBOX last, `user.ann.#sieve` among them), deactivates them at the master, and per mailbox
//! `UNDUMP` (its header, an index cut down to version 6 since Darius's greeting names no Cyrus
//! version, cache and message files in directory order; with the INBOX the user's seen,
//! subscriptions and Sieve files), `GETACL`/`DELETEACL`/`SETACL`; then it deletes its copies and
//! sends `MUPDATEPUSH`.
//!
//! ann's view is read on Cyrus before the move and on Darius after it, and must be the same:
//! mailboxes, UIDVALIDITY, UIDNEXT, every UID with its flags (`\Seen` and a keyword included),
//! internal date and bytes, subscriptions, quota, ACLs and the active Sieve script. Cyrus
//! holds nothing of ann afterwards, the master lists her mailboxes at Darius, and a Cyrus
//! frontend started after the move routes her there. What Cyrus sent is in Darius's telemetry
//! of `proxy` (`conf/log/proxy/`), quoted when an assertion fails.
//!
//! Cyrus 3.6 as shipped crashes in that path ([`Preload`]): the move runs with a preloaded fix,
//! and a second test shows the crash and that Darius keeps nothing of a move cut short.
//!
//! Skipped without Cyrus, sieveshell or a C compiler (or when not root) unless
//! DARIUS_REQUIRE_INTEROP=1.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::cyrus::{
    cyrus_available, until, Client, Cyrus, Imap, Preload, ADMIN, ADMIN_PASSWORD, BACKEND_ADMIN,
    BACKEND_ADMIN_PASSWORD, PROXY_PASSWORD,
};
use common::Server;

/// ann's messages: mailbox, flags, internal date, and whether it is expunged before the move
/// (one in the middle of INBOX, the last of Sent, so UIDNEXT is past the highest UID).
const MESSAGES: [(&str, &str, &str, bool); 9] = [
    ("INBOX", "\\Seen", "01-Jan-2021 09:00:00 +0000", false),
    (
        "INBOX",
        "\\Flagged \\Answered",
        "15-Mar-2021 12:30:45 +0100",
        false,
    ),
    ("INBOX", "", "16-Mar-2021 08:00:00 +0000", true),
    (
        "INBOX",
        "\\Draft $Label1",
        "31-Dec-2021 23:59:59 -0500",
        false,
    ),
    (
        "INBOX",
        "\\Seen \\Flagged $Label1",
        "29-Feb-2024 06:07:08 +0930",
        false,
    ),
    ("INBOX.Sent", "\\Seen", " 2-Jun-2022 10:11:12 +0200", false),
    ("INBOX.Sent", "\\Seen", " 3-Jun-2022 10:11:12 +0200", true),
    (
        "INBOX.Work.Deep",
        "\\Answered",
        "10-Oct-2020 10:10:10 -0700",
        false,
    ),
    (
        "INBOX.Work.Deep",
        "\\Seen \\Answered \\Flagged \\Draft",
        "11-Oct-2020 10:10:10 +0000",
        false,
    ),
];

const SCRIPT: &str = "require [\"fileinto\"];\r\nif header :contains \"subject\" \"[work]\" {\r\n  fileinto \"INBOX.Work.Deep\";\r\n}\r\n";

#[test]
fn cyrus_xfer_moves_a_user_to_a_darius_backend() {
    if !cyrus_available() || !common::have("sieveshell") || !common::have("cc") {
        return;
    }
    let master = Cyrus::mupdate_master();
    let cyrus = Cyrus::backend(master.port, &[("ann", "pw-ann")], Preload::NullSafeStrlcpy);
    fill_on_cyrus(&cyrus);
    until(master.port, "ann's mailboxes at the master", |l| {
        l.get("user.ann.Work.Deep")
            .is_some_and(|e| e.0 == "cyrusbe1!default")
    });
    let before = View::take(cyrus.port, cyrus.sieve_port.unwrap());
    assert_eq!(before.mailboxes.len(), 4, "{before:#?}");
    let (server, imap_port) = darius_joins(master.port);

    let mut admin = Imap::login(cyrus.port, BACKEND_ADMIN, BACKEND_ADMIN_PASSWORD);
    let answer = admin.try_cmd(&format!("XFER user.ann 127.0.0.1:{imap_port}"));
    let sent = telemetry(&server.config_dir().join("log/proxy"));
    eprintln!("What Cyrus sent to Darius:\n{sent}");
    assert!(
        answer.as_ref().is_some_and(
            |(lines, done)| done.contains(" OK") && lines.iter().any(|l| l == "* OK USER ann")
        ),
        "XFER: {answer:?} (None: Cyrus's imapd died; what it sent is above)\n\
         --- Darius's log:\n{}",
        server.log()
    );

    // Cyrus keeps nothing of ann; the master lists her mailboxes at Darius.
    let left = admin.ok("LIST \"\" \"user.ann*\"");
    assert!(left.is_empty(), "{left:?}");
    let location = format!("127.0.0.1:{imap_port}!default");
    until(master.port, "ann's mailboxes at Darius", |l| {
        let ann: Vec<_> = l
            .iter()
            .filter(|(n, _)| n.starts_with("user.ann"))
            .collect();
        ann.len() == 4 && ann.iter().all(|(_, e)| e.0 == location && e.1.is_some())
    });

    let after = View::take(imap_port, server.sieve_port);
    before.assert_same(&after, &sent);

    // A Cyrus frontend started now routes ann to Darius.
    let frontend = Cyrus::frontend(master.port, &[("ann", "pw-ann")]);
    let mut via = Imap::login(frontend.port, "ann", "pw-ann");
    let deadline = Instant::now() + Duration::from_secs(20);
    let selected = loop {
        let (lines, done) = via.cmd("EXAMINE INBOX");
        if done.contains(" OK") {
            break lines;
        }
        assert!(
            Instant::now() < deadline,
            "EXAMINE through the frontend: {done}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(selected.iter().any(|l| l == "* 4 EXISTS"), "{selected:?}");
    assert!(server.logged("proxy authorized as ann"), "{}", server.log());
}

/// Cyrus 3.6 as shipped dies in the middle of its first UNDUMP (see [`Preload`]); Darius then
/// keeps nothing of what it was sent, and ann's mailboxes stay reserved for Cyrus at the master.
/// When this fails because the XFER went through, Cyrus is fixed: drop the preload.
#[test]
fn cyrus_36_dies_in_its_legacy_xfer_and_darius_keeps_nothing() {
    if !cyrus_available() {
        return;
    }
    let master = Cyrus::mupdate_master();
    let cyrus = Cyrus::backend(master.port, &[("ann", "pw-ann")], Preload::Nothing);
    let mut admin = Imap::login(cyrus.port, BACKEND_ADMIN, BACKEND_ADMIN_PASSWORD);
    admin.ok("CREATE user.ann");
    admin.ok("CREATE user.ann.Sent");
    let mut ann = Imap::login(cyrus.port, "ann", "pw-ann");
    let message = message(0);
    ann.ok(&format!("APPEND INBOX {{{}+}}\r\n{message}", message.len()));
    let (server, imap_port) = darius_joins(master.port);

    let answer = admin.try_cmd(&format!("XFER user.ann 127.0.0.1:{imap_port}"));
    // The telemetry is written as Darius reads, which may lag behind Cyrus's end.
    let deadline = Instant::now() + Duration::from_secs(10);
    let sent = loop {
        let sent = telemetry(&server.config_dir().join("log/proxy"));
        if sent.contains("C: D01 UNDUMP") || Instant::now() > deadline {
            break sent;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(answer.is_none(), "Cyrus answered {answer:?}\n{sent}");
    assert!(sent.contains("C: D01 UNDUMP"), "{sent}");
    assert!(!sent.contains("MUPDATEPUSH"), "{sent}");

    let mut darius = Imap::login(imap_port, "admin", "pw-admin");
    let held = darius.ok("LIST \"\" \"user.ann*\"");
    assert!(held.is_empty(), "{held:?}\n{}", server.log());
    let list = Client::connect(master.port).list();
    assert_eq!(
        list.get("user.ann"),
        Some(&("cyrusbe1!default".to_string(), None)),
        "{list:#?}"
    );
}

/// Darius joined to `master` under the name Cyrus connects to (`host:port`), `proxy` among
/// its admins with the password Cyrus knows, its telemetry on for `proxy`; ann is a user of
/// its own, whose INBOX is still Cyrus's. The server, and its IMAP port.
fn darius_joins(master: u16) -> (Server, u16) {
    let imap_port = common::free_port();
    let server = Server::start_with(&format!(
        "servername: 127.0.0.1:{imap_port}\nlisten_imap: 127.0.0.1:{imap_port}\n\
         admins: admin proxy\nproxyservers: proxy\nunixhierarchysep: no\n\
         mupdate_server: 127.0.0.1:{master}\nmupdate_authname: {ADMIN}\n\
         mupdate_password: {ADMIN_PASSWORD}\nmupdate_retry_delay: 1\n"
    ));
    server.add_user("proxy", PROXY_PASSWORD);
    server.add_user("admin", "pw-admin");
    let out = server.darius_with_input(&["user", "add", "ann"], "pw-ann\n");
    assert!(out.contains("their INBOX is another server's"), "{out}");
    std::fs::create_dir_all(server.config_dir().join("log/proxy")).unwrap();
    (server, imap_port)
}

/// As Cyrus's admin: ann's mailboxes and quota; as ann: messages, an expunge in the middle,
/// subscriptions, another user's right, and an active Sieve script.
fn fill_on_cyrus(cyrus: &Cyrus) {
    let mut admin = Imap::login(cyrus.port, BACKEND_ADMIN, BACKEND_ADMIN_PASSWORD);
    // A second apart: Cyrus's UIDVALIDITY is the time of creation, and each must travel with
    // its own mailbox.
    for name in ["user.ann", "user.ann.Sent", "user.ann.Work.Deep"] {
        admin.ok(&format!("CREATE {name}"));
        std::thread::sleep(Duration::from_millis(1100));
    }
    admin.ok("SETQUOTA user.ann (STORAGE 100000 MESSAGE 500)");
    let mut ann = Imap::login(cyrus.port, "ann", "pw-ann");
    for (n, (mailbox, flags, date, _)) in MESSAGES.iter().enumerate() {
        let message = message(n);
        ann.ok(&format!(
            "APPEND {mailbox} ({flags}) \"{date}\" {{{}+}}\r\n{message}",
            message.len()
        ));
    }
    for mailbox in ["INBOX", "INBOX.Sent"] {
        ann.ok(&format!("SELECT {mailbox}"));
        let uids: Vec<usize> = (1..)
            .zip(MESSAGES.iter().filter(|m| m.0 == mailbox))
            .filter(|(_, m)| m.3)
            .map(|(uid, _)| uid)
            .collect();
        for uid in uids {
            ann.ok(&format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"));
        }
        ann.ok("EXPUNGE");
    }
    ann.ok("CLOSE");
    ann.ok("SUBSCRIBE INBOX.Sent");
    ann.ok("SUBSCRIBE INBOX.Work.Deep");
    ann.ok("SETACL INBOX.Sent bob lrs");

    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("filter.sieve");
    std::fs::write(&script, SCRIPT).unwrap();
    let out = sieveshell(
        cyrus.sieve_port.unwrap(),
        &format!("put {} filter\nactivate filter\n", script.display()),
    );
    assert!(out.status.success(), "{out:?}");
}

/// Message `n` of [`MESSAGES`]: a few headers and a body; the fourth is a larger multipart.
fn message(n: usize) -> String {
    let mut m = format!(
        "From: Ann <ann@example.org>\r\nTo: bob@example.org\r\nSubject: message {n}\r\n\
         Message-ID: <{n}.xfer@example.org>\r\nDate: Mon, 1 Feb 2021 10:00:00 +0000\r\n"
    );
    if n == 3 {
        m.push_str(
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\n\
             Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        );
        for _ in 0..400 {
            m.push_str("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5\r\n");
        }
        m.push_str("--b--\r\n");
    } else {
        m.push_str(&format!("\r\nBody of message {n}.\r\n"));
    }
    m
}

/// Cyrus's `sieveshell` as ann, running `commands`.
fn sieveshell(port: u16, commands: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("commands");
    std::fs::write(&file, commands).unwrap();
    Command::new("sieveshell")
        .args(["--authname=ann", "--user=ann", "--password=pw-ann"])
        .arg(format!("--execfile={}", file.display()))
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .unwrap()
}

/// What ann sees on one server.
#[derive(Debug)]
struct View {
    mailboxes: BTreeMap<String, Mailbox>,
    subscribed: BTreeSet<String>,
    /// `GETQUOTAROOT INBOX`: the roots, and each root's resources (usage, limit).
    quota_roots: Vec<String>,
    quota: BTreeMap<String, BTreeMap<String, (u64, u64)>>,
    /// sieveshell's `list`, and the active script's text.
    sieve_list: Vec<String>,
    script: String,
}

#[derive(Debug, PartialEq)]
struct Mailbox {
    uidvalidity: u32,
    uidnext: u32,
    /// GETACL: identifier → rights (without the virtual `c` and `d`, RFC 4314 §2.1.1).
    acl: BTreeMap<String, BTreeSet<char>>,
    messages: BTreeMap<u32, Message>,
}

#[derive(Debug, PartialEq)]
struct Message {
    flags: BTreeSet<String>,
    /// INTERNALDATE in seconds since the epoch (servers may show another zone).
    internal_date: i64,
    bytes: String,
}

impl View {
    fn take(imap_port: u16, sieve_port: u16) -> View {
        let mut imap = Imap::login(imap_port, "ann", "pw-ann");
        let mut mailboxes = BTreeMap::new();
        for line in imap.ok("LIST \"\" \"*\"") {
            if line.contains("\\Noselect") || line.contains("\\NonExistent") {
                continue;
            }
            let name = last_word(&line);
            let mailbox = Mailbox::take(&mut imap, &name);
            mailboxes.insert(name, mailbox);
        }
        let subscribed = imap
            .ok("LSUB \"\" \"*\"")
            .iter()
            .map(|l| last_word(l))
            .collect();
        let (mut quota_roots, mut quota) = (Vec::new(), BTreeMap::new());
        for line in imap.ok("GETQUOTAROOT INBOX") {
            if let Some(roots) = line.strip_prefix("* QUOTAROOT ") {
                quota_roots = words(roots).split_off(1);
            } else if let Some(rest) = line.strip_prefix("* QUOTA ") {
                let (root, resources) = rest.split_once(" (").unwrap();
                let words: Vec<&str> = resources.trim_end_matches(')').split(' ').collect();
                let resources = words
                    .chunks(3)
                    .map(|w| {
                        (
                            w[0].to_string(),
                            (w[1].parse().unwrap(), w[2].parse().unwrap()),
                        )
                    })
                    .collect();
                quota.insert(unquote(root), resources);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let back = dir.path().join("back.sieve");
        // Not checked for success: a missing script shows in what it printed.
        let out = sieveshell(
            sieve_port,
            &format!("list\nget filter {}\n", back.display()),
        );
        let sieve_list = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty() && !l.starts_with("connecting to "))
            .collect();
        View {
            mailboxes,
            subscribed,
            quota_roots,
            quota,
            sieve_list,
            script: std::fs::read_to_string(&back).unwrap_or_default(),
        }
    }

    /// Compares one mailbox at a time, so a failure names it; `sent` (what Cyrus sent) goes
    /// into every failure message.
    fn assert_same(&self, after: &View, sent: &str) {
        let names = |v: &View| v.mailboxes.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(after), names(self), "mailboxes\n{sent}");
        for (name, mailbox) in &self.mailboxes {
            assert_eq!(&after.mailboxes[name], mailbox, "{name}\n{sent}");
        }
        assert_eq!(after.subscribed, self.subscribed, "LSUB\n{sent}");
        assert_eq!(after.quota_roots, self.quota_roots, "QUOTAROOT\n{sent}");
        // Limits as Cyrus had them. Usage is the messages ann sees: Cyrus also counts the
        // scripts it keeps as messages in `user.ann.#sieve`.
        let limits = |v: &View| -> Vec<(String, String, u64)> {
            let roots = v.quota.iter();
            roots
                .flat_map(|(root, r)| {
                    r.iter()
                        .map(move |(res, u)| (root.clone(), res.clone(), u.1))
                })
                .collect()
        };
        assert_eq!(limits(after), limits(self), "QUOTA limits\n{sent}");
        let (messages, bytes) = after.mailboxes.values().fold((0, 0), |(n, b), m| {
            let sizes = m.messages.values().map(|m| m.bytes.len() as u64);
            (n + m.messages.len() as u64, b + sizes.sum::<u64>())
        });
        let usage = |res: &str| {
            after
                .quota
                .values()
                .next()
                .and_then(|r| r.get(res))
                .map(|u| u.0)
        };
        assert_eq!(
            usage("MESSAGE"),
            Some(messages),
            "{:?}\n{sent}",
            after.quota
        );
        assert_eq!(
            usage("STORAGE"),
            Some(bytes / 1024),
            "{:?}\n{sent}",
            after.quota
        );
        assert_eq!(after.sieve_list, self.sieve_list, "Sieve scripts\n{sent}");
        assert_eq!(after.script, self.script, "the Sieve script\n{sent}");
    }
}

impl Mailbox {
    fn take(imap: &mut Imap, name: &str) -> Mailbox {
        let lines = imap.ok(&format!("EXAMINE {}", quote(name)));
        let code = |code: &str| -> u32 {
            let line = lines
                .iter()
                .find_map(|l| l.split_once(&format!("[{code} ")))
                .unwrap_or_else(|| panic!("{code} missing: {lines:?}"));
            line.1.split(']').next().unwrap().parse().unwrap()
        };
        let (uidvalidity, uidnext) = (code("UIDVALIDITY"), code("UIDNEXT"));
        let exists = lines
            .iter()
            .any(|l| l.ends_with(" EXISTS") && l != "* 0 EXISTS");
        let mut messages = BTreeMap::new();
        if exists {
            for line in imap.ok("UID FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])") {
                let items = fetch_items(&line);
                let flags = items["FLAGS"]
                    .trim_matches(['(', ')'])
                    .split(' ')
                    .filter(|f| !f.is_empty() && *f != "\\Recent")
                    .map(str::to_string)
                    .collect();
                messages.insert(
                    items["UID"].parse().unwrap(),
                    Message {
                        flags,
                        internal_date: epoch(&items["INTERNALDATE"]),
                        bytes: items["BODY[]"].clone(),
                    },
                );
            }
        }
        let acl_line = imap
            .ok(&format!("GETACL {}", quote(name)))
            .into_iter()
            .find(|l| l.starts_with("* ACL "))
            .unwrap();
        let words: Vec<String> = words(&acl_line["* ACL ".len()..]);
        let acl = words[1..]
            .chunks(2)
            .map(|p| {
                (
                    p[0].clone(),
                    p[1].chars().filter(|c| !"cd".contains(*c)).collect(),
                )
            })
            .collect();
        Mailbox {
            uidvalidity,
            uidnext,
            acl,
            messages,
        }
    }
}

/// The items of `* N FETCH (NAME VALUE …)`: atoms, quoted strings (unquoted here),
/// parenthesized lists (kept with their parentheses) and literals (their bytes).
fn fetch_items(line: &str) -> BTreeMap<String, String> {
    let start = line.find(" FETCH (").unwrap() + " FETCH (".len();
    let s = &line[start..];
    let b = s.as_bytes();
    let mut items = BTreeMap::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() || b[i] == b')' {
            return items;
        }
        let name_end = i + s[i..].find(' ').unwrap();
        let name = s[i..name_end].to_string();
        i = name_end + 1;
        let value = match b[i] {
            b'(' => {
                let end = i + s[i..].find(')').unwrap() + 1;
                let v = s[i..end].to_string();
                i = end;
                v
            }
            b'"' => {
                let end = i + 1 + s[i + 1..].find('"').unwrap();
                let v = s[i + 1..end].to_string();
                i = end + 1;
                v
            }
            b'{' => {
                let close = i + s[i..].find('}').unwrap();
                let size: usize = s[i + 1..close].parse().unwrap();
                let data = close + 3; // after "}\r\n"
                i = data + size;
                s[data..i].to_string()
            }
            _ => {
                let end = i + s[i..].find([' ', ')']).unwrap();
                let v = s[i..end].to_string();
                i = end;
                v
            }
        };
        items.insert(name, value);
    }
}

/// The words of a response, quoted strings unquoted (no escapes in this test's names).
fn words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let (word, tail) = match rest.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"').unwrap();
                (&quoted[..end], &quoted[end + 1..])
            }
            None => rest.split_at(rest.find(' ').unwrap_or(rest.len())),
        };
        words.push(word.to_string());
        rest = tail.trim_start();
    }
    words
}

fn last_word(line: &str) -> String {
    words(line).pop().unwrap()
}

fn unquote(s: &str) -> String {
    s.trim_matches('"').to_string()
}

fn quote(name: &str) -> String {
    format!("\"{name}\"")
}

/// `dd-Mon-yyyy hh:mm:ss +zzzz` (RFC 3501 date-time) in seconds since the epoch.
fn epoch(date: &str) -> i64 {
    let (day, rest) = date.trim().split_once('-').unwrap();
    let (month, rest) = rest.split_once('-').unwrap();
    let (year, rest) = rest.split_once(' ').unwrap();
    let (time, zone) = rest.split_once(' ').unwrap();
    let month = 1 + [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == month)
    .unwrap() as i64;
    let (y, d): (i64, i64) = (year.parse().unwrap(), day.parse().unwrap());
    // Days from 1970-01-01 to y-month-d (H. Hinnant's days_from_civil).
    let y = if month <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let hms: Vec<i64> = time.split(':').map(|n| n.parse().unwrap()).collect();
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let offset = sign
        * (zone[1..3].parse::<i64>().unwrap() * 3600 + zone[3..5].parse::<i64>().unwrap() * 60);
    days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2] - offset
}

/// The telemetry of the proxy's sessions in `dir`: what Cyrus sent (`C:`) and Darius answered
/// (`S:`).
fn telemetry(dir: &Path) -> String {
    let mut out = String::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let data = std::fs::read(entry.path()).unwrap();
        out.push_str(&format!("--- {}\n", entry.file_name().to_string_lossy()));
        out.push_str(&transcript(&data));
    }
    out
}

/// A telemetry file as printable lines of at most 200 characters (binary literals shortened).
fn transcript(data: &[u8]) -> String {
    // Entries are reads and writes; one side's run of them is joined before it is cut into
    // lines.
    let mut runs: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let mark = data[i];
        let Some(stamp_end) = data[i + 1..].iter().position(|&b| b == mark) else {
            break;
        };
        let start = i + 1 + stamp_end + 1;
        let next = next_entry(data, start);
        match runs.last_mut() {
            Some((m, run)) if *m == mark => run.extend_from_slice(&data[start..next]),
            _ => runs.push((mark, data[start..next].to_vec())),
        }
        i = next;
    }
    let mut out = String::new();
    for (mark, run) in runs {
        let side = if mark == b'<' { "C: " } else { "S: " };
        for line in run.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let text: String = line
                .iter()
                .take(200)
                .map(|&b| match b {
                    b' '..=b'~' => b as char,
                    _ => '.',
                })
                .collect();
            out.push_str(side);
            out.push_str(&text);
            if line.len() > 200 {
                out.push_str(&format!("… ({} bytes)", line.len()));
            }
            out.push('\n');
        }
    }
    out
}

/// Where the telemetry entry after the one whose data starts at `start` begins: the next
/// `<DIGITS<` or `>DIGITS>`.
fn next_entry(data: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < data.len() {
        let mark = data[i];
        if mark == b'<' || mark == b'>' {
            let digits = data[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits >= 9 && data.get(i + 1 + digits) == Some(&mark) {
                return i;
            }
        }
        i += 1;
    }
    data.len()
}
