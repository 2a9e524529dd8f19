//! Netnews export against a real INN 2 (Debian's `inn2`, run privately by `common/inn.rs`):
//! groups made with `ctlinnd newgroup`, articles posted with `inews` (a plain one, a crosspost,
//! a MIME one), `darius collectnews` fed INN's own feed file, the groups read over IMAP; then
//! `ctlinnd cancel` with `darius rmnews` given the cancelled article's token, an expire run
//! with `darius rmnews` as RMPROC (run as the news user, through the news socket), and
//! `darius syncnews` after `ctlinnd rmgroup` — each result checked over IMAP. Both of INN's
//! article forms: wire format (Debian's default) and bare LF.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use std::os::unix::fs::PermissionsExt;

use common::inn::Inn;
use imap_support::{fetched, last, Client};

const ONE: &str = "darius.test.one";
const TWO: &str = "darius.test.two.deep";

fn plain(id: &str) -> String {
    format!(
        "From: Alice <alice@example.org>\nNewsgroups: {ONE}\nSubject: plain {id}\n\
         Message-ID: <{id}@example.org>\n\nHello.\n.A line with a leading dot\nBye.\n"
    )
}

fn crosspost(id: &str) -> String {
    format!(
        "From: Bob <bob@example.org>\nNewsgroups: {ONE},{TWO}\nSubject: crossposted\n\
         Message-ID: <{id}@example.org>\n\nIn both groups.\n"
    )
}

fn mime(id: &str) -> String {
    format!(
        "From: Carol <carol@example.org>\nNewsgroups: {TWO}\nSubject: MIME\n\
         Message-ID: <{id}@example.org>\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\n\n\
         Preamble.\n--b1\nContent-Type: text/plain; charset=utf-8\n\nText part.\n\
         --b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n\
         AAECAwQFBgc=\n--b1--\n"
    )
}

/// A Darius server showing `inn`'s spool, with users alice and bob.
fn darius_for(inn: &Inn, prefix: Option<&str>) -> common::Server {
    let prefix = prefix
        .map(|p| format!("newsprefix: {p}\n"))
        .unwrap_or_default();
    let server = common::Server::start_with(&format!(
        "partition-news: {}\nnewstradspoolmap: {}\nnewsacl: anyone lrs\n{prefix}",
        inn.spool().display(),
        inn.tradspool_map().display()
    ));
    server.add_user("alice", "pw-alice");
    server.add_user("bob", "pw-bob");
    server
}

fn ok(lines: &[String], tag: &str) {
    assert!(last(lines).starts_with(&format!("{tag} OK")), "{lines:?}");
}

/// `* n EXISTS` of a SELECT or STATUS MESSAGES of a mailbox.
fn messages(c: &mut Client, tag: &str, mailbox: &str) -> u32 {
    let r = c.cmd(tag, &format!("STATUS {mailbox} (MESSAGES)"));
    ok(&r, tag);
    let line = r.iter().find(|l| l.contains("(MESSAGES ")).unwrap();
    let at = line.find("(MESSAGES ").unwrap() + "(MESSAGES ".len();
    line[at..].trim_end().trim_end_matches(')').parse().unwrap()
}

#[test]
fn inn_groups_are_read_over_imap_and_follow_cancel_expire_and_rmgroup() {
    let Some(inn) = Inn::start() else {
        return;
    };
    let server = darius_for(&inn, Some("netnews"));
    let box_one = format!("netnews.{ONE}");
    let box_two = format!("netnews.{TWO}");
    inn.newgroup(ONE);
    inn.newgroup(TWO);
    let plain_token = inn.post(&plain("p1"));
    inn.post(&crosspost("x1"));
    inn.post(&mime("m1"));
    assert!(inn.wireformat());

    // INN's own feed file, as it wrote it, is collectnews's input.
    let feed: String = inn.take_feed().iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(feed.lines().count(), 3, "{feed}");
    let out = server.darius_with_input(&["collectnews"], &feed);
    assert!(
        out.contains("3 articles: 4 indexed (1 as crossposts), 0 already indexed"),
        "{out}"
    );
    assert!(out.contains(&format!("created newsgroup {ONE}")), "{out}");
    assert!(out.contains(&format!("created newsgroup {TWO}")), "{out}");

    let port = server.imap_port;
    let mut alice = Client::login(port, "alice");
    let r = alice.cmd("a1", "LIST \"\" \"netnews.*\"");
    ok(&r, "a1");
    assert!(r.iter().any(|l| l.contains(&box_one)), "{r:?}");
    assert!(r.iter().any(|l| l.contains(&box_two)), "{r:?}");
    let r = alice.cmd("a2", &format!("SELECT {box_one}"));
    ok(&r, "a2");
    assert!(r.iter().any(|l| l.starts_with("* 2 EXISTS")), "{r:?}");
    // UIDs are INN's article numbers.
    let r = alice.cmd("a3", "UID SEARCH ALL");
    assert!(r.iter().any(|l| l.trim_end() == "* SEARCH 1 2"), "{r:?}");
    // The wire-format file is served as the message: no doubled dot, no final `.` line, and
    // RFC822.SIZE is the size of what is sent.
    let r = alice.cmd("a4", "UID FETCH 1 (RFC822.SIZE BODY.PEEK[])");
    ok(&r, "a4");
    let message = fetched(&r);
    assert!(
        r[0].contains(&format!("RFC822.SIZE {} ", message.len())),
        "{r:?}"
    );
    let text = String::from_utf8_lossy(&message);
    assert!(
        text.contains("\r\n.A line with a leading dot\r\nBye.\r\n"),
        "{text}"
    );
    assert!(text.ends_with("Bye.\r\n"), "{text}");
    assert!(text.contains("Xref: "), "{text}");
    let r = alice.cmd("a5", "UID FETCH 2 ENVELOPE");
    assert!(r[0].contains("\"crossposted\""), "{r:?}");
    assert!(r[0].contains("<x1@example.org>"), "{r:?}");
    let r = alice.cmd("a6", "SEARCH SUBJECT crossposted");
    assert!(r.iter().any(|l| l.trim_end() == "* SEARCH 2"), "{r:?}");
    let r = alice.cmd("a7", "SEARCH BODY \"leading dot\"");
    assert!(r.iter().any(|l| l.trim_end() == "* SEARCH 1"), "{r:?}");
    // The crosspost is in the other group too, under INN's number there; the MIME article's
    // parts are there to fetch.
    let mut bob = Client::login(port, "bob");
    let r = bob.cmd("b1", &format!("SELECT {box_two}"));
    ok(&r, "b1");
    assert!(r.iter().any(|l| l.starts_with("* 2 EXISTS")), "{r:?}");
    let r = bob.cmd("b2", "UID FETCH 1:2 (BODYSTRUCTURE ENVELOPE)");
    ok(&r, "b2");
    assert!(r.iter().any(|l| l.contains("\"crossposted\"")), "{r:?}");
    assert!(
        r.iter()
            .any(|l| l.contains("(\"APPLICATION\" \"OCTET-STREAM\"")),
        "{r:?}"
    );
    let r = bob.cmd("b3", "UID FETCH 2 BODY.PEEK[2]");
    assert_eq!(fetched(&r), b"AAECAwQFBgc=");
    let r = bob.cmd("b4", "UID FETCH 2 BODY.PEEK[1]");
    assert_eq!(fetched(&r), b"Text part.");

    // A cancel: innd removes the file; rmnews with the article's token takes it out of the
    // index (the file being gone already is no error); a selected session sees EXPUNGE.
    inn.cancel("<p1@example.org>");
    assert!(!inn.spool().join("darius/test/one/1").exists());
    let out = server.darius_with_input(&["rmnews"], &format!("{plain_token}\n"));
    assert!(
        out.contains("1 articles: 1 index entries dropped, 0 files removed, 1 already gone"),
        "{out}"
    );
    let r = alice.cmd("c1", "NOOP");
    assert!(r.iter().any(|l| l.starts_with("* 1 EXPUNGE")), "{r:?}");
    let r = alice.cmd("c2", "UID SEARCH ALL");
    assert!(r.iter().any(|l| l.trim_end() == "* SEARCH 2"), "{r:?}");

    // Expire: INN lists what expired (every link of it); `darius rmnews` is RMPROC, run as
    // the news user the way INN's expirerm runs it (through the news socket).
    open_to_news(&server);
    let list = inn.expire_list("darius.*");
    let darius_copy = common::inn::darius_for_news(server.dir.path());
    let darius = darius_copy.to_str().unwrap();
    let conf = server.conf.display().to_string();
    let spool = inn.spool().display().to_string();
    let out = inn.run_rmproc(
        &list,
        &[
            "setpriv",
            "--reuid=news",
            "--regid=news",
            "--init-groups",
            darius,
            "-C",
            &conf,
            "rmnews",
            "-e",
            &spool,
        ],
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("3 index entries dropped, 3 files removed"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = bob.cmd("d1", "NOOP");
    assert!(
        r.iter().filter(|l| l.ends_with(" EXPUNGE\r\n")).count() == 2,
        "{r:?}"
    );
    assert_eq!(messages(&mut bob, "d2", &box_one), 0);
    assert!(!inn.spool().join("darius/test/two/deep/2").exists());

    // rmgroup, then syncnews: the group's mailbox goes; the other stays.
    inn.post(&plain("p2"));
    let feed: String = inn.take_feed().iter().map(|l| format!("{l}\n")).collect();
    let out = server.darius_with_input(&["collectnews"], &feed);
    assert!(out.contains("1 articles: 1 indexed"), "{out}");
    inn.rmgroup(TWO);
    let active = inn.active().display().to_string();
    let out = server.darius_ok(&["syncnews", &active]);
    assert!(out.contains(&format!("removed {box_two}")), "{out}");
    assert!(out.contains("1 kept"), "{out}");
    let r = alice.cmd("e1", "LIST \"\" \"netnews.*\"");
    assert!(r.iter().any(|l| l.contains(&box_one)), "{r:?}");
    assert!(!r.iter().any(|l| l.contains(&box_two)), "{r:?}");
    assert_eq!(messages(&mut alice, "e2", &box_one), 1);
    let r = alice.cmd("e3", "UID SEARCH ALL");
    assert!(r.iter().any(|l| l.trim_end() == "* SEARCH 3"), "{r:?}");
}

#[test]
fn bare_lf_articles_are_served_with_crlf() {
    let Some(inn) = Inn::start_with(false) else {
        return;
    };
    let server = darius_for(&inn, None);
    inn.newgroup(ONE);
    inn.post(&plain("lf1"));
    let raw = std::fs::read(inn.spool().join("darius/test/one/1")).unwrap();
    assert!(!raw.contains(&b'\r'), "INN wrote CRs with wireformat off");
    let feed: String = inn.take_feed().iter().map(|l| format!("{l}\n")).collect();
    let out = server.darius_with_input(&["collectnews"], &feed);
    assert!(out.contains("1 articles: 1 indexed"), "{out}");
    let mut alice = Client::login(server.imap_port, "alice");
    let r = alice.cmd("a1", &format!("EXAMINE {ONE}"));
    ok(&r, "a1");
    let r = alice.cmd("a2", "UID FETCH 1 (RFC822.SIZE BODY.PEEK[])");
    let message = fetched(&r);
    let lf_lines = raw.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(message.len(), raw.len() + lf_lines);
    assert!(
        r[0].contains(&format!("RFC822.SIZE {} ", message.len())),
        "{r:?}"
    );
    let expected: Vec<u8> = String::from_utf8(raw)
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    assert_eq!(message, expected);
    // A partial fetch of the body.
    let r = alice.cmd("a3", "UID FETCH 1 BODY.PEEK[TEXT]<0.10>");
    assert_eq!(fetched(&r), b"Hello.\r\n.A");
}

/// Lets the news user read the server's configuration and reach its news socket, as a
/// production set-up does (`newssocket_group: news`).
fn open_to_news(server: &common::Server) {
    let config_dir = server.config_dir();
    for dir in [server.dir.path(), &config_dir, &config_dir.join("socket")] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&server.conf, std::fs::Permissions::from_mode(0o644)).unwrap();
}
