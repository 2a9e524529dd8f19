//! Sieve end to end with real clients: a script uploaded with Cyrus's `sieveshell` decides what
//! becomes of mail delivered over LMTP and through a private Postfix: filed into a folder it
//! creates, flagged, redirected through the configured `sendmail` (a stub that records its
//! arguments and the message), answered by vacation once per sender and period; and hostile
//! scripts are refused or bounded while the server keeps serving.
//!
//! Skipped with a note when `sieveshell` (cyrus-admin) or Postfix is missing, failing under
//! DARIUS_REQUIRE_INTEROP=1.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;
mod postfix_support;
mod sieve_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::Server;

const SCRIPT: &str = "require [\"fileinto\", \"imap4flags\", \"vacation\", \"copy\", \"mailbox\"];\r\n\
if header :contains \"subject\" \"[list]\" {\r\n\
  fileinto :create :flags \"\\\\Flagged\" \"INBOX.lists\";\r\n\
  stop;\r\n\
}\r\n\
if address :is \"from\" \"boss@example.org\" {\r\n\
  redirect :copy \"assistant@example.net\";\r\n\
}\r\n\
vacation :days 1 :subject \"Away\" :addresses [\"bovik@example.org\"] \"I am away until Monday.\";\r\n";

/// A server whose `sendmail` is a stub writing each call (arguments, then the message) into a
/// file of its own under `outbox`.
struct World {
    server: Server,
    outbox: PathBuf,
    _stub: tempfile::TempDir,
}

fn world(extra: &str) -> World {
    let stubdir = tempfile::tempdir().unwrap();
    let outbox = stubdir.path().join("outbox");
    std::fs::create_dir(&outbox).unwrap();
    let stub = stubdir.path().join("sendmail");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\nf=$(mktemp {}/mail.XXXXXX)\necho \"$@\" > \"$f\"\ncat >> \"$f\"\n",
            outbox.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Server::start_with(&format!("sendmail: {}\n{extra}", stub.display()));
    server.add_user("bovik", "pw-bovik");
    World {
        server,
        outbox,
        _stub: stubdir,
    }
}

impl World {
    /// Every call of the stub so far, oldest first: (arguments, message).
    fn sent(&self) -> Vec<(String, String)> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&self.outbox)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (std::fs::metadata(&p).unwrap().modified().unwrap(), p)
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, p)| {
                let text = std::fs::read_to_string(p).unwrap();
                let (args, message) = text.split_once('\n').unwrap_or((&text, ""));
                (args.to_string(), message.to_string())
            })
            .collect()
    }

    /// One LMTP transaction from `from` to bovik; the recipient's reply.
    fn deliver(&self, from: &str, message: &str) -> String {
        let mut c = lmtp_support::Client::connect(self.server.lmtp_port);
        c.send(format!("LHLO x\r\nMAIL FROM:<{from}>\r\n").as_bytes());
        c.expect("250-");
        c.expect("250 2.1.0");
        c.send(b"RCPT TO:<bovik@example.org>\r\n");
        c.expect("250 2.1.5");
        c.send(b"DATA\r\n");
        c.expect("354 ");
        c.send(message.as_bytes());
        c.send(b".\r\n");
        c.reply()
    }

    /// (UID, FLAGS, Subject) of every message in bovik's `mailbox`.
    fn mailbox(&self, mailbox: &str) -> Vec<String> {
        let mut c = imap_support::Client::login(self.server.imap_port, "bovik");
        let selected = c.cmd("s", &format!("SELECT {mailbox}"));
        if !imap_support::last(&selected).starts_with("s OK") {
            return Vec::new();
        }
        c.cmd("f", "FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            .into_iter()
            .filter(|l| l.starts_with("* ") || l.starts_with("Subject:"))
            .collect()
    }
}

/// Runs `sieveshell` as bovik with `commands`; its exit code and output.
fn sieveshell(server: &Server, commands: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("commands");
    std::fs::write(&file, commands).unwrap();
    let out = Command::new("sieveshell")
        .args(["--authname=bovik", "--user=bovik", "--password=pw-bovik"])
        .arg(format!("--execfile={}", file.display()))
        .arg(format!("127.0.0.1:{}", server.sieve_port))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Uploads and activates `script` as bovik's `main` with sieveshell.
fn upload(server: &Server, dir: &Path, script: &str) {
    let local = dir.join("main.sieve");
    std::fs::write(&local, script).unwrap();
    let (code, out) = sieveshell(
        server,
        &format!("put {} main\nactivate main\n", local.display()),
    );
    assert_eq!(code, Some(0), "sieveshell: {out}\n{}", server.log());
}

fn message(from: &str, subject: &str, id: &str) -> String {
    format!(
        "From: {from}\r\nTo: Bovik <bovik@example.org>\r\nSubject: {subject}\r\n\
         Message-ID: <{id}@example.org>\r\n\r\nHello.\r\n"
    )
}

#[test]
fn a_script_uploaded_with_sieveshell_files_flags_redirects_and_answers_lmtp_mail() {
    if !common::have("sieveshell") {
        return;
    }
    let w = world("");
    let dir = tempfile::tempdir().unwrap();
    upload(&w.server, dir.path(), SCRIPT);

    // A list message: filed into a folder the script creates, flagged; no reply to a list.
    let reply = w.deliver(
        "list@example.org",
        &message("list@example.org", "[list] news", "m1"),
    );
    assert!(reply.starts_with("250 "), "{reply}\n{}", w.server.log());
    let lists = w.mailbox("INBOX.lists");
    assert!(
        lists.iter().any(|l| l.contains("\\Flagged")),
        "{lists:?}\n{}",
        w.server.log()
    );
    assert!(lists.iter().any(|l| l.contains("[list] news")), "{lists:?}");

    // From the boss: a copy redirected with the envelope sender kept, the message kept, and
    // one vacation reply from the null sender.
    let reply = w.deliver(
        "boss@example.org",
        &message("boss@example.org", "report", "m2"),
    );
    assert!(reply.starts_with("250 "), "{reply}");
    let sent = w.sent();
    assert_eq!(sent.len(), 2, "a redirect and a vacation reply: {sent:?}");
    let redirect = sent
        .iter()
        .find(|(args, _)| args.ends_with("assistant@example.net"))
        .unwrap_or_else(|| panic!("no redirect in {sent:?}"));
    assert_eq!(
        redirect.0,
        "-i -f boss@example.org -- assistant@example.net"
    );
    assert!(redirect.1.contains("Subject: report"), "{}", redirect.1);
    assert!(redirect.1.contains("Message-ID: <m2@example.org>"));
    let vacation = sent
        .iter()
        .find(|(args, _)| args.ends_with("-- boss@example.org"))
        .unwrap_or_else(|| panic!("no vacation reply in {sent:?}"));
    assert_eq!(vacation.0, "-i -f <> -- boss@example.org");
    assert!(vacation.1.contains("Subject: Away"), "{}", vacation.1);
    assert!(vacation.1.contains("Auto-Submitted: auto-replied"));
    assert!(vacation.1.contains("In-Reply-To: <m2@example.org>"));
    assert!(vacation.1.contains("I am away until Monday."));

    // Again from the boss within the period: redirected again, no second reply.
    let reply = w.deliver(
        "boss@example.org",
        &message("boss@example.org", "again", "m3"),
    );
    assert!(reply.starts_with("250 "), "{reply}");
    let sent = w.sent();
    assert_eq!(
        sent.len(),
        3,
        "one more redirect, no second reply: {sent:?}"
    );
    assert!(sent[2].0.ends_with("assistant@example.net"), "{sent:?}");
    let inbox = w.mailbox("INBOX");
    assert!(inbox.iter().any(|l| l.contains("report")), "{inbox:?}");
    assert!(inbox.iter().any(|l| l.contains("again")), "{inbox:?}");
    assert!(
        w.server.logged("replied within the period"),
        "{}",
        w.server.log()
    );
}

#[test]
fn postfix_delivers_through_the_script() {
    if !common::have("sieveshell") || !postfix_support::available() {
        return;
    }
    let w = world("lmtpsocket_group: postfix\nlmtpsocket_mode: 0660\n");
    let dir = tempfile::tempdir().unwrap();
    upload(&w.server, dir.path(), SCRIPT);
    let socket = w.server.lmtp_socket();
    postfix_support::open_path_to(&socket, w.server.dir.path());
    let postfix = postfix_support::Postfix::start(&postfix_support::Transport::Unix(&socket), "");
    let rcpt = format!("bovik@{}", postfix_support::DOMAIN);
    let text = format!(
        "From: list@example.org\r\nTo: {rcpt}\r\nSubject: [list] via postfix\r\n\
         Message-ID: <p1@example.org>\r\n\r\nHello.\r\n"
    );
    postfix.send("list@example.org", &[rcpt], text.as_bytes(), "", "");
    let deadline = std::time::Instant::now() + postfix_support::DELIVERY_DEADLINE;
    loop {
        let lists = w.mailbox("INBOX.lists");
        if lists.iter().any(|l| l.contains("via postfix")) {
            assert!(lists.iter().any(|l| l.contains("\\Flagged")), "{lists:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not filed: {lists:?}\n{}\n{}",
            postfix.diagnostics(),
            w.server.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        w.sent().is_empty(),
        "no vacation reply to list mail: {:?}",
        w.sent()
    );
}

/// Hostile scripts: each is refused on upload or bounded at delivery (the message kept, the
/// reason logged), and the server answers the next client as before.
#[test]
fn hostile_scripts_are_refused_or_bounded_and_the_server_keeps_serving() {
    // Room for a script of 10,000 redirects (the default limit is 32 KiB).
    let w = world("sieve_maxscriptsize: 1024\n");
    let mut c = sieve_support::Client::login(w.server.sieve_port, "", "bovik", "pw-bovik");

    // Refused on upload: nesting past the bound, a regular expression past its size bound.
    let deep = format!("{}keep;{}", "if true {".repeat(200), "}".repeat(200));
    let reply = c.with_literal("PUTSCRIPT \"deep\"", deep.as_bytes());
    assert!(!reply.ok(), "deep nesting refused: {reply:?}");
    let bomb = "require \"regex\";\r\nif header :regex \"subject\" \"((a{1,100}){1,100}){1,100}\" { discard; }\r\n";
    let reply = c.with_literal("PUTSCRIPT \"bomb\"", bomb.as_bytes());
    assert!(!reply.ok(), "regex bomb refused: {reply:?}");

    // Bounded at delivery: each one keeps the message and logs why.
    let redirects: String = (0..10_000)
        .map(|i| format!("redirect \"r{i}@example.net\";\r\n"))
        .collect();
    let matches = format!(
        "if header :matches \"subject\" \"{}\" {{ discard; }}\r\n",
        "*a".repeat(1000)
    );
    let include_loop = "require \"include\";\r\ninclude \"loop\";\r\n";
    let cases: [(&str, String, &str); 3] = [
        ("redirects", redirects, "redirect"),
        ("matches", matches, ""),
        ("loop", include_loop.to_string(), "include"),
    ];
    for (n, (name, script, logged)) in cases.iter().enumerate() {
        let reply = c.with_literal(&format!("PUTSCRIPT \"{name}\""), script.as_bytes());
        assert!(reply.ok(), "{name}: a valid script is accepted: {reply:?}");
        assert!(c.cmd(&format!("SETACTIVE \"{name}\"")).ok());
        let subject = format!("{} hostile {n}", "a".repeat(5000));
        let reply = w.deliver(
            "s@example.org",
            &message("s@example.org", &subject, &format!("h{n}")),
        );
        assert!(reply.starts_with("250 "), "{name}: {reply}");
        let inbox = w.mailbox("INBOX");
        assert!(
            inbox.iter().any(|l| l.contains(&format!("hostile {n}"))),
            "{name}: kept: {inbox:?}\n{}",
            w.server.log()
        );
        if !logged.is_empty() {
            assert!(w.server.logged(logged), "{name}: {}", w.server.log());
        }
    }
    assert!(
        w.sent().len() <= 5,
        "at most sieve_maxredirects redirects: {:?}",
        w.sent().len()
    );
    // Still serving: a fresh IMAP login and a plain delivery work.
    assert!(c.cmd("SETACTIVE \"\"").ok());
    let reply = w.deliver("s@example.org", &message("s@example.org", "after", "after"));
    assert!(reply.starts_with("250 "), "{reply}");
    assert!(w.mailbox("INBOX").iter().any(|l| l.contains("after")));
}
