//! The real Dovecot as the other side of `darius import maildir` and `darius export maildir`:
//! `doveadm` (package dovecot-core) builds a Maildir with folders, flags, keywords, an
//! expunged message in the middle and one at the end (UID gaps), subscriptions and a file an
//! MDA dropped into `new/` that Dovecot has not numbered yet. Darius imports it; what Darius
//! serves over IMAP (LIST/LSUB, STATUS UIDVALIDITY UIDNEXT, UID FETCH FLAGS INTERNALDATE
//! RFC822) must be what Dovecot reports. Then Darius exports the user to a Maildir and
//! Dovecot reads it back with the same UIDs, UIDVALIDITY, flags, keywords, dates and bytes
//! (modulo CRLF).
//!
//! doveadm runs without any Dovecot service: a private configuration, the user from `USER`
//! and `HOME` (no userdb lookup), and as root the mail files owned by `nobody` (Dovecot
//! refuses mail access as root).
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use imap_support::{last, Client};

/// One message as a server reports it: flags (sorted, without `\Recent`), INTERNALDATE as
/// `YYYY-MM-DD HH:MM:SS` in UTC, the bytes with LF line ends.
type Messages = BTreeMap<(String, u32), (Vec<String>, String, String)>;
/// Mailbox → (UIDVALIDITY, UIDNEXT).
type Statuses = BTreeMap<String, (u32, u32)>;

struct Dovecot {
    conf: PathBuf,
    /// `nobody`'s uid and gid when we run as root.
    owner: Option<(u32, u32)>,
}

impl Dovecot {
    /// A configuration in `dir` with `mail_location` `location`.
    fn new(dir: &Path, location: &str) -> Dovecot {
        let root = unsafe_free_is_root();
        let owner = root.then_some((65534, 65534));
        let (uid, gid) = owner.unwrap_or_else(|| (own_id("-u"), own_id("-g")));
        let conf = dir.join("dovecot.conf");
        for d in ["run", "state"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::write(
            &conf,
            format!(
                "mail_location = {location}\n\
                 base_dir = {0}/run\nstate_dir = {0}/state\nlog_path = {0}/dovecot.log\n\
                 ssl = no\nmail_uid = {uid}\nmail_gid = {gid}\n\
                 first_valid_uid = 0\nfirst_valid_gid = 0\n",
                dir.display(),
            ),
        )
        .unwrap();
        let d = Dovecot { conf, owner };
        d.give(dir);
        d
    }

    /// Makes `path` (recursively) the mail user's.
    fn give(&self, path: &Path) {
        if let Some((uid, gid)) = self.owner {
            let ok = Command::new("chown")
                .arg("-R")
                .arg(format!("{uid}:{gid}"))
                .arg(path)
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown {}", path.display());
        }
    }

    /// `doveadm ARGS` as the user whose home is `home`; its standard output.
    fn run(&self, home: &Path, args: &[&str], stdin: Option<&str>) -> String {
        let mut cmd = Command::new("doveadm");
        cmd.arg("-c")
            .arg(&self.conf)
            .args(args)
            .env("USER", "fred")
            .env("HOME", home)
            .env("TZ", "UTC")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        {
            use std::io::Write;
            let mut input = child.stdin.take().unwrap();
            if let Some(text) = stdin {
                input.write_all(text.as_bytes()).unwrap();
            }
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "doveadm {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Every message of every mailbox, as `doveadm fetch` reports it.
    fn messages(&self, home: &Path) -> Messages {
        let out = self.run(
            home,
            &[
                "-f",
                "pager",
                "fetch",
                "mailbox uid flags date.received text",
                "all",
            ],
            None,
        );
        let mut all = Messages::new();
        for record in out.split("\x0c\n").filter(|r| !r.is_empty()) {
            let (fields, text) = record.split_once("text:\n").unwrap();
            let field = |name: &str| {
                fields
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                    .unwrap_or("")
                    .to_string()
            };
            let mut flags: Vec<String> = field("flags")
                .split_whitespace()
                .filter(|f| *f != "\\Recent")
                .map(str::to_string)
                .collect();
            flags.sort();
            let uid: u32 = field("uid").parse().unwrap();
            all.insert(
                (field("mailbox"), uid),
                (flags, field("date.received"), text.to_string()),
            );
        }
        all
    }

    fn statuses(&self, home: &Path) -> Statuses {
        let out = self.run(
            home,
            &["-f", "tab", "mailbox", "status", "uidvalidity uidnext", "*"],
            None,
        );
        let mut lines = out.lines();
        let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
        let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
        let (m, v, n) = (col("mailbox"), col("uidvalidity"), col("uidnext"));
        lines
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (
                    f[m].to_string(),
                    (f[v].parse().unwrap(), f[n].parse().unwrap()),
                )
            })
            .collect()
    }
}

fn unsafe_free_is_root() -> bool {
    own_id("-u") == 0
}

fn own_id(flag: &str) -> u32 {
    let out = Command::new("id").arg(flag).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Builds fred's Dovecot Maildir; answers the subscriptions made.
fn build_dovecot_maildir(d: &Dovecot, home: &Path) {
    d.run(
        home,
        &["mailbox", "create", "Sent", "Work.Projects", "Café"],
        None,
    );
    let save = |mailbox: &str, text: &str| {
        d.run(home, &["save", "-m", mailbox], Some(text));
    };
    save(
        "INBOX",
        "From: a@example.org\nSubject: one\n\nbody one\nFrom the start of a line\n",
    );
    save(
        "INBOX",
        "From: a@example.org\nSubject: two\n\nexpunged later\n",
    );
    save(
        "INBOX",
        "From: a@example.org\nSubject: three\n\nbody three\n",
    );
    save(
        "INBOX",
        "From: a@example.org\nSubject: four\n\nthe last, expunged\n",
    );
    save(
        "Sent",
        "From: fred@example.org\nSubject: sent\n\nsent body\n",
    );
    save(
        "Work.Projects",
        "From: b@example.org\nSubject: plan\n\nthe plan\n",
    );
    save("Café", "From: c@example.org\nSubject: café\n\ncafé body\n");
    let flags = |mailbox: &str, uid: &str, flags: &str| {
        d.run(
            home,
            &["flags", "add", flags, "mailbox", mailbox, "uid", uid],
            None,
        );
    };
    flags("INBOX", "1", "\\Seen $Forwarded mykw");
    flags("INBOX", "3", "\\Flagged \\Answered \\Draft other");
    flags("Sent", "1", "\\Seen \\Deleted");
    flags("Work.Projects", "1", "mykw");
    d.run(home, &["expunge", "mailbox", "INBOX", "uid", "2"], None);
    d.run(home, &["expunge", "mailbox", "INBOX", "uid", "4"], None);
    d.run(
        home,
        &["mailbox", "subscribe", "INBOX", "Sent", "Café"],
        None,
    );
}

/// A file an MDA delivered that Dovecot has not seen yet (no UID in dovecot-uidlist).
fn drop_into_new(d: &Dovecot, maildir: &Path) {
    let path = maildir.join("new/1800000000.M1P1.mda");
    std::fs::write(
        &path,
        "From: mda@example.org\nSubject: late\n\nnot numbered yet\n",
    )
    .unwrap();
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000))
        .unwrap();
    d.give(&path);
}

/// What Darius serves over IMAP, in the same shape as Dovecot's answers.
fn darius_view(port: u16) -> (Messages, Statuses, Vec<String>) {
    let mut c = Client::login(port, "fred");
    let list = c.cmd("a1", "LIST \"\" \"*\"");
    assert!(last(&list).starts_with("a1 OK"), "{list:?}");
    let names: Vec<String> = list
        .iter()
        .filter(|l| {
            l.starts_with("* LIST") && !l.contains("\\Noselect") && !l.contains("\\NonExistent")
        })
        .map(|l| mailbox_of(l))
        .collect();
    let lsub = c.cmd("a2", "LSUB \"\" \"*\"");
    let mut subscribed: Vec<String> = lsub
        .iter()
        .filter(|l| l.starts_with("* LSUB"))
        .map(|l| mailbox_of(l))
        .collect();
    subscribed.sort();
    let mut messages = Messages::new();
    let mut statuses = Statuses::new();
    for name in &names {
        // Darius (like Cyrus without altnamespace) puts personal mailboxes under `INBOX.`.
        let plain = name.strip_prefix("INBOX.").unwrap_or(name);
        let utf8 = imap_proto::mutf7::decode(plain.as_bytes()).unwrap();
        let st = c.cmd("s", &format!("STATUS \"{name}\" (UIDVALIDITY UIDNEXT)"));
        let line = st.iter().find(|l| l.starts_with("* STATUS")).unwrap();
        let num = |key: &str| -> u32 {
            let at = line.find(key).unwrap() + key.len() + 1;
            line[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        statuses.insert(utf8.clone(), (num("UIDVALIDITY"), num("UIDNEXT")));
        let sel = c.cmd("e", &format!("EXAMINE \"{name}\""));
        assert!(last(&sel).starts_with("e OK"), "{sel:?}");
        if sel.iter().any(|l| l == "* 0 EXISTS\r\n") {
            continue;
        }
        let fetched = c.cmd("f", "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822)");
        assert!(last(&fetched).starts_with("f OK"), "{fetched:?}");
        for (uid, flags, date, text) in parse_fetches(&fetched.concat()) {
            messages.insert(
                (utf8.clone(), uid),
                (flags, date, text.replace("\r\n", "\n")),
            );
        }
    }
    (messages, statuses, subscribed)
}

/// The mailbox name at the end of a LIST/LSUB line, without quotes.
fn mailbox_of(line: &str) -> String {
    let name = line.trim_end().rsplit_once(' ').unwrap().1;
    name.trim_matches('"').to_string()
}

/// (UID, flags sorted without `\Recent`, INTERNALDATE as `YYYY-MM-DD HH:MM:SS` UTC, bytes).
fn parse_fetches(text: &str) -> Vec<(u32, Vec<String>, String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(" FETCH (") {
        rest = &rest[at + 8..];
        let after = |key: &str, s: &str| s[s.find(key).unwrap() + key.len()..].to_string();
        let uid: u32 = after("UID ", rest)
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let flags_text = after("FLAGS (", rest);
        let mut flags: Vec<String> = flags_text[..flags_text.find(')').unwrap()]
            .split_whitespace()
            .filter(|f| *f != "\\Recent")
            .map(str::to_string)
            .collect();
        flags.sort();
        let date_text = after("INTERNALDATE \"", rest);
        let date = imap_date_to_utc(&date_text[..date_text.find('"').unwrap()]);
        let lit = after("RFC822 {", rest);
        let close = lit.find('}').unwrap();
        let n: usize = lit[..close].parse().unwrap();
        let body = &lit[close + 3..close + 3 + n];
        out.push((uid, flags, date, body.to_string()));
        let consumed = rest.find("RFC822 {").unwrap() + 8 + close + 3 + n;
        rest = &rest[consumed..];
    }
    out
}

/// `07-Dec-2026 02:53:42 +0000` → `2026-12-07 02:53:42` (imports give UTC dates).
fn imap_date_to_utc(d: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let d = d.trim();
    assert!(d.ends_with("+0000"), "imported dates are in UTC: {d}");
    let (date, time) = d.split_once(' ').unwrap();
    let mut p = date.split('-');
    let (day, mon, year) = (p.next().unwrap(), p.next().unwrap(), p.next().unwrap());
    let m = MONTHS.iter().position(|x| *x == mon).unwrap() + 1;
    let time = time.split(' ').next().unwrap();
    format!(
        "{year}-{m:02}-{:02} {time}",
        day.trim().parse::<u32>().unwrap()
    )
}

#[test]
fn a_dovecot_maildir_imports_with_its_uids_and_exports_back_to_dovecot() {
    if !have("doveadm") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // Dovecot (as `nobody`) must reach the homes under the temp dir.
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let d = Dovecot::new(dir, "maildir:~/Maildir");
    let home = dir.join("fred");
    std::fs::create_dir_all(&home).unwrap();
    d.give(&home);
    build_dovecot_maildir(&d, &home);
    let maildir = home.join("Maildir");
    drop_into_new(&d, &maildir);

    // The user is added after the import: `user add` creates an empty INBOX, and an import
    // only creates mailboxes.
    let mut server = Server::start();
    server.stop();
    let out = server.darius_ok(&[
        "import",
        "maildir",
        "--user",
        "fred",
        maildir.to_str().unwrap(),
    ]);
    assert!(out.contains("imported 4 mailboxes, 6 messages"), "{out}");
    // Importing again refuses every mailbox, and says so.
    let (ok, again, _) = server.run_darius(&[
        "import",
        "maildir",
        "--user",
        "fred",
        maildir.to_str().unwrap(),
    ]);
    assert!(
        !ok && again.contains("skipped user.fred: ") && again.contains("exists already"),
        "{again}"
    );
    server.restart();
    server.add_user("fred", "pw-fred");

    // Dovecot's own view, now that it numbers the file in new/ as well.
    let dovecot_messages = d.messages(&home);
    let dovecot_statuses = d.statuses(&home);
    assert_eq!(dovecot_messages.len(), 6, "{dovecot_messages:#?}");
    assert_eq!(
        dovecot_statuses["INBOX"].1, 6,
        "the dropped file got UID 5: {dovecot_statuses:?}"
    );

    let (messages, statuses, subscribed) = darius_view(server.imap_port);
    assert_eq!(statuses, dovecot_statuses);
    assert_eq!(messages, dovecot_messages);
    assert_eq!(subscribed, ["INBOX", "INBOX.Caf&AOk-", "INBOX.Sent"]);

    // Export, and Dovecot reads the export with the same UIDs, flags, dates and bytes.
    server.stop();
    let home2 = dir.join("fred2");
    std::fs::create_dir_all(&home2).unwrap();
    let exported = home2.join("Maildir");
    let out = server.darius_ok(&[
        "export",
        "maildir",
        "--user",
        "fred",
        exported.to_str().unwrap(),
    ]);
    assert!(out.contains("exported 4 mailboxes, 6 messages"), "{out}");
    d.give(&home2);
    assert_eq!(d.statuses(&home2), dovecot_statuses);
    assert_eq!(d.messages(&home2), dovecot_messages);
    let subs = d.run(&home2, &["mailbox", "list", "-s"], None);
    let mut subs: Vec<&str> = subs.lines().collect();
    subs.sort_unstable();
    assert_eq!(subs, ["Café", "INBOX", "Sent"]);

    // While the server runs, import and export are refused.
    server.restart();
    let (ok, _, err) = server.run_darius(&[
        "export",
        "mbox",
        "--mailbox",
        "user.fred",
        dir.join("x.mbox").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("a server is running"), "{err}");
    let wilma = [
        "import",
        "maildir",
        "--user",
        "wilma",
        maildir.to_str().unwrap(),
    ];
    let (ok, _, err) = server.run_darius(&wilma);
    assert!(!ok && err.contains("a server is running"), "{err}");

    // One folder into one mailbox: Dovecot's Sent again, as user.fred.Copy.
    server.stop();
    let sent = maildir.join(".Sent");
    let one = [
        "import",
        "maildir",
        "--mailbox",
        "user.fred.Copy",
        sent.to_str().unwrap(),
    ];
    let out = server.darius_ok(&one);
    assert!(out.contains("imported 1 mailboxes, 1 messages"), "{out}");
    server.restart();
    let (messages, statuses, _) = darius_view(server.imap_port);
    assert_eq!(statuses["Copy"], dovecot_statuses["Sent"]);
    let copy = &messages[&("Copy".to_string(), 1)];
    assert_eq!(copy, &dovecot_messages[&("Sent".to_string(), 1)]);
}

#[test]
fn a_dovecot_mbox_imports_with_its_uids_and_an_mbox_export_reads_back_in_dovecot() {
    if !have("doveadm") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let d = Dovecot::new(dir, "mbox:~/mail:INBOX=~/mail/inbox");
    let home = dir.join("fred");
    std::fs::create_dir_all(home.join("mail")).unwrap();
    d.give(&home);
    let save = |text: &str| {
        d.run(&home, &["save", "-m", "INBOX"], Some(text));
    };
    save("From: a@example.org\nSubject: one\n\nFrom the start of a line\nbody one\n");
    save("From: a@example.org\nSubject: two\n\nexpunged later\n");
    save("From: a@example.org\nSubject: three\n\nbody three\n");
    d.run(
        &home,
        &[
            "flags",
            "add",
            "\\Seen $Forwarded mykw",
            "mailbox",
            "INBOX",
            "uid",
            "1",
        ],
        None,
    );
    d.run(
        &home,
        &[
            "flags",
            "add",
            "\\Flagged \\Answered \\Draft",
            "mailbox",
            "INBOX",
            "uid",
            "3",
        ],
        None,
    );
    d.run(&home, &["expunge", "mailbox", "INBOX", "uid", "2"], None);
    let dovecot_messages = d.messages(&home);
    let dovecot_statuses = d.statuses(&home);
    assert_eq!(dovecot_messages.len(), 2, "{dovecot_messages:#?}");

    // Dovecot serves `>From ` as it stored it: its mbox is read without unquoting.
    let mut server = Server::start();
    server.stop();
    let inbox = home.join("mail/inbox");
    let out = server.darius_ok(&[
        "import",
        "mbox",
        "--quoting",
        "none",
        "--mailbox",
        "user.fred",
        inbox.to_str().unwrap(),
    ]);
    assert!(out.contains("imported 1 mailboxes, 2 messages"), "{out}");
    server.restart();
    server.add_user("fred", "pw-fred");
    let (messages, statuses, _) = darius_view(server.imap_port);
    assert_eq!(statuses, dovecot_statuses);
    assert_eq!(messages, dovecot_messages);

    // Darius's mboxrd export, read by Dovecot: the same UIDs, UIDNEXT, flags, dates, bytes.
    server.stop();
    let home2 = dir.join("fred2");
    std::fs::create_dir_all(home2.join("mail")).unwrap();
    let file = home2.join("mail/inbox");
    server.darius_ok(&[
        "export",
        "mbox",
        "--mailbox",
        "user.fred",
        file.to_str().unwrap(),
    ]);
    d.give(&home2);
    assert_eq!(d.statuses(&home2), dovecot_statuses);
    let mut exported = d.messages(&home2);
    // mboxrd quotes `From ` in bodies and Dovecot serves the quote: the one difference.
    for (_, (_, _, text)) in exported.iter_mut() {
        *text = text.replace("\n>From ", "\nFrom ");
    }
    assert_eq!(exported, dovecot_messages);
}
