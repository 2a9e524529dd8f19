//! Netnews export over real sockets against a spool laid out as INN's tradspool lays it out
//! (the articles written here, in both of INN's forms: wire format and bare LF). The same
//! commands against a running INN are in `news_inn.rs`; this file covers what a news server
//! cannot be made to produce on demand: every refusal, partial FETCHes of both forms, private
//! `\Seen`, the news socket's access rules, and syncnews's statuses.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use imap_support::{fetched, last, Client};

/// A wire-format article (CRLF, leading dots doubled, final `.` line) and the message it is.
fn wire(message: &str) -> (Vec<u8>, Vec<u8>) {
    let message = message.replace('\n', "\r\n");
    let mut out = String::new();
    for line in message.split_inclusive("\r\n") {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
    }
    out.push_str(".\r\n");
    (out.into_bytes(), message.into_bytes())
}

const RUST_1: &str = "From: ann@example.org\nNewsgroups: comp.lang.rust\nSubject: borrowck question\nMessage-ID: <r1@example.org>\nDate: Mon, 7 Dec 2026 09:00:00 +0000\nXref: news.example comp.lang.rust:1\n\n.leading dot survives\n..two dots stay two\nlifetimes are hard\n";

const CROSS: &str = "From: bob@example.org\nNewsgroups: comp.lang.rust,misc.test\nSubject: crossposted\nMessage-ID: <x1@example.org>\nDate: Mon, 7 Dec 2026 09:01:00 +0000\nXref: news.example comp.lang.rust:2 misc.test:1\n\nin both groups\n";

const CROSS2: &str = "From: dee@example.org\nNewsgroups: misc.test,comp.lang.rust\nSubject: another crosspost\nMessage-ID: <x2@example.org>\nXref: news.example misc.test:3 comp.lang.rust:3\n\nagain in both\n";

const MIME: &str = "From: cy@example.org\nNewsgroups: misc.test\nSubject: mime\nMessage-ID: <m1@example.org>\nDate: Mon, 7 Dec 2026 09:02:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\nXref: news.example misc.test:2\n\n--b\nContent-Type: text/plain\n\nfirst part\n--b\nContent-Type: text/x-rust\n\nfn main() {}\n--b--\n";

struct News {
    server: common::Server,
    spool: PathBuf,
}

impl News {
    fn start() -> News {
        let server = common::Server::start_with(
            "partition-news: {base}/news\nnewsprefix: netnews\nnewsacl: anyone lrs\n\
             newspathdb: {base}/innpathdb\n",
        );
        server.add_user("alice", "pw-alice");
        server.add_user("bob", "pw-bob");
        server.add_user("admin", "pw-admin");
        let spool = server.dir.path().join("news");
        News { server, spool }
    }

    fn put(&self, path: &str, bytes: &[u8]) {
        let p = self.spool.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    fn link(&self, from: &str, to: &str) {
        let t = self.spool.join(to);
        std::fs::create_dir_all(t.parent().unwrap()).unwrap();
        std::fs::hard_link(self.spool.join(from), t).unwrap();
    }

    /// `darius COMMAND` with `input` on standard input; must succeed; its output.
    fn feed(&self, command: &str, input: &str) -> String {
        self.server.darius_with_input(&[command], input)
    }
}

fn ok(lines: &[String], tag: &str) {
    assert!(last(lines).starts_with(&format!("{tag} OK")), "{lines:?}");
}

fn no(lines: &[String], tag: &str) {
    assert!(last(lines).starts_with(&format!("{tag} NO")), "{lines:?}");
}

#[test]
fn newsgroups_from_a_spool_are_read_only_mailboxes() {
    let news = News::start();
    let (rust1_wire, rust1) = wire(RUST_1);
    news.put("comp/lang/rust/1", &rust1_wire);
    // The crosspost in bare-LF form, hard-linked into both groups as INN does.
    news.put("comp/lang/rust/2", CROSS.as_bytes());
    news.link("comp/lang/rust/2", "misc/test/1");
    let (mime_wire, mime) = wire(MIME);
    news.put("misc/test/2", &mime_wire);
    let (cross2_wire, _) = wire(CROSS2);
    news.put("misc/test/3", &cross2_wire);
    news.link("misc/test/3", "comp/lang/rust/3");
    // INN's map of group numbers, as storage tokens carry them.
    news.put("../tradspool.map", b"comp/lang/rust 7\nmisc/test 8\n");

    let abs = news.spool.join("misc/test/2");
    // Every form a feed line takes: a spool path, INN's `R` items, an absolute path, and
    // INN's `Wnm R` line (storage token, Message-ID, items: comp.lang.rust is group 7).
    let feed = format!(
        "comp/lang/rust/1\ncomp.lang.rust:2 misc.test:1\n{}\n\
         @050000000008000000000000000300000000@ <x2@example.org> misc.test:3 comp.lang.rust:3\n",
        abs.display()
    );
    let out = news.feed("collectnews", &feed);
    assert!(
        out.contains("4 articles: 6 indexed (2 as crossposts), 0 already indexed"),
        "{out}"
    );
    assert!(out.contains("created newsgroup comp.lang.rust"), "{out}");
    assert!(out.contains("created newsgroup misc.test"), "{out}");
    // A feed read twice indexes nothing twice.
    let again = news.feed("collectnews", &feed);
    assert!(again.contains("4 articles: 0 indexed"), "{again}");
    assert!(again.contains("4 already indexed"), "{again}");

    let port = news.server.imap_port;
    let mut alice = Client::login(port, "alice");
    let r = alice.cmd("a1", "LIST \"\" \"netnews.*\"");
    ok(&r, "a1");
    assert!(
        r.iter().any(|l| l.contains("netnews.comp.lang.rust")),
        "{r:?}"
    );
    assert!(r.iter().any(|l| l.contains("netnews.misc.test")), "{r:?}");
    let r = alice.cmd("a2", "SELECT netnews.comp.lang.rust");
    ok(&r, "a2");
    assert!(r.iter().any(|l| l.starts_with("* 3 EXISTS")), "{r:?}");
    // The article numbers are the UIDs.
    let r = alice.cmd("a3", "UID SEARCH ALL");
    assert!(r.iter().any(|l| l.trim_end() == "* SEARCH 1 2 3"), "{r:?}");
    // The wire-format article is served as the message it is, with its true size.
    let r = alice.cmd("a4", "FETCH 1 (RFC822.SIZE BODY.PEEK[])");
    ok(&r, "a4");
    assert!(
        r[0].contains(&format!("RFC822.SIZE {}", rust1.len())),
        "{r:?}"
    );
    assert_eq!(fetched(&r), rust1);
    // A partial fetch from the middle of the body of each form.
    let body_at = rust1.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let r = alice.cmd("a5", "FETCH 1 BODY.PEEK[TEXT]<1.20>");
    assert_eq!(fetched(&r), &rust1[body_at + 1..body_at + 21]);
    let cross = CROSS.replace('\n', "\r\n").into_bytes();
    let r = alice.cmd("a6", "FETCH 2 (RFC822.SIZE BODY.PEEK[TEXT])");
    assert!(
        r[0].contains(&format!("RFC822.SIZE {}", cross.len())),
        "{r:?}"
    );
    assert_eq!(fetched(&r), b"in both groups\r\n");
    let r = alice.cmd("a7", "SEARCH BODY \"two dots stay\"");
    assert!(r.iter().any(|l| l.trim_end() == "* SEARCH 1"), "{r:?}");
    let r = alice.cmd("a8", "FETCH 2 ENVELOPE");
    assert!(r[0].contains("\"crossposted\""), "{r:?}");
    // The MIME article's structure, from the decoded message.
    let r = alice.cmd("a9", "EXAMINE netnews.misc.test");
    ok(&r, "a9");
    let r = alice.cmd(
        "a10",
        "UID FETCH 2 (RFC822.SIZE BODYSTRUCTURE BODY.PEEK[2])",
    );
    ok(&r, "a10");
    assert!(
        r[0].contains(&format!("RFC822.SIZE {}", mime.len())),
        "{r:?}"
    );
    assert!(r[0].contains("(\"TEXT\" \"X-RUST\""), "{r:?}");
    assert!(r[0].contains("BODY[2] \"fn main() {}\""), "{r:?}");
    let r = alice.cmd("a11", "SELECT netnews.comp.lang.rust");
    ok(&r, "a11");

    // Clients change nothing but flags: no APPEND, no expunge, no rename, no delete.
    let r = alice.cmd("b1", "APPEND netnews.comp.lang.rust {5+}\r\nHi\r\n");
    no(&r, "b1");
    let r = alice.cmd("b2", "STORE 1 +FLAGS (\\Seen)");
    ok(&r, "b2");
    let r = alice.cmd("b3", "STORE 1 +FLAGS (\\Deleted)");
    assert!(!last(&r).starts_with("b3 BAD"), "{r:?}");
    let r = alice.cmd("b4", "EXPUNGE");
    assert!(!r.iter().any(|l| l.ends_with(" EXPUNGE\r\n")), "{r:?}");
    let r = alice.cmd("b5", "RENAME netnews.misc.test netnews.misc.other");
    no(&r, "b5");
    let r = alice.cmd("b6", "DELETE netnews.misc.test");
    no(&r, "b6");
    // A copy out is the message, not the spool's wire form.
    let r = alice.cmd("b7", "COPY 1 INBOX");
    ok(&r, "b7");
    let r = alice.cmd("b8", "EXAMINE INBOX");
    ok(&r, "b8");
    let r = alice.cmd("b9", "FETCH 1 BODY.PEEK[]");
    assert_eq!(fetched(&r), rust1);

    // \Seen is each reader's own.
    let mut bob = Client::login(port, "bob");
    let r = bob.cmd("c1", "SELECT netnews.comp.lang.rust");
    ok(&r, "c1");
    let r = bob.cmd("c2", "FETCH 1 FLAGS");
    assert!(!r[0].contains("\\Seen"), "{r:?}");
    let r = alice.cmd("c3", "SELECT netnews.comp.lang.rust");
    ok(&r, "c3");
    let r = alice.cmd("c4", "FETCH 1 FLAGS");
    assert!(r[0].contains("\\Seen"), "{r:?}");
    // Other flags need `w`, which `newsacl` does not give: the message keeps none.
    let r = alice.cmd("c5", "STORE 2 +FLAGS (\\Flagged)");
    assert!(!last(&r).starts_with("c5 BAD"), "{r:?}");
    let r = bob.cmd("c6", "FETCH 2 FLAGS");
    assert!(!r[0].contains("\\Flagged"), "{r:?}");

    // rmnews of a path is that link only, as fastrm: the other group keeps the article.
    let out = news.feed("rmnews", "misc/test/3\n");
    assert!(
        out.contains("1 articles: 1 index entries dropped, 1 files removed, 0 already gone"),
        "{out}"
    );
    assert!(news.spool.join("comp/lang/rust/3").exists());
    let r = bob.cmd("d0", "STATUS netnews.comp.lang.rust (MESSAGES)");
    assert!(r.iter().any(|l| l.contains("(MESSAGES 3)")), "{r:?}");
    let mut quick = Client::login(port, "alice");
    ok(&quick.cmd("q1", "ENABLE QRESYNC"), "q1");
    ok(&quick.cmd("q2", "SELECT netnews.comp.lang.rust"), "q2");
    // rmnews of a storage token is the article: out of both groups (the index knows its
    // Xref), both links unlinked; a selected session is told (QRESYNC: VANISHED).
    let out = news.feed("rmnews", "@050000000007000000000000000200000000@\n");
    assert!(
        out.contains("1 articles: 2 index entries dropped, 2 files removed, 0 already gone"),
        "{out}"
    );
    assert!(!news.spool.join("misc/test/1").exists());
    let r = bob.cmd("d1", "NOOP");
    assert!(r.iter().any(|l| l.starts_with("* 2 EXPUNGE")), "{r:?}");
    let r = quick.cmd("q3", "NOOP");
    assert!(r.iter().any(|l| l.trim_end() == "* VANISHED 2"), "{r:?}");
    let r = bob.cmd("d2", "STATUS netnews.misc.test (MESSAGES)");
    assert!(r.iter().any(|l| l.contains("(MESSAGES 1)")), "{r:?}");
    // A file the news server already removed (a cancel) is not an error.
    std::fs::remove_file(news.spool.join("comp/lang/rust/1")).unwrap();
    let out = news.feed(
        "rmnews",
        &format!("{}\n", news.spool.join("comp/lang/rust/1").display()),
    );
    assert!(
        out.contains("1 index entries dropped, 0 files removed, 1 already gone"),
        "{out}"
    );

    // syncnews: active's y/m/n groups get mailboxes, the others lose theirs.
    let active = news.server.dir.path().join("active");
    std::fs::write(
        &active,
        "comp.lang.rust 0000000002 0000000001 y\nalt.moderated 0000000000 0000000001 m\n\
         junk 0000000000 0000000001 n\ncontrol.cancel 0000000000 0000000001 n\n\
         x.nolocal 0000000000 0000000001 x\nold.alias 0000000000 0000000001 =comp.lang.rust\n",
    )
    .unwrap();
    let active_arg = active.display().to_string();
    let out = news.server.darius_ok(&["syncnews", "-n", &active_arg]);
    assert!(out.contains("would create alt.moderated"), "{out}");
    assert!(out.contains("would remove netnews.misc.test"), "{out}");
    let r = bob.cmd("e1", "STATUS netnews.misc.test (MESSAGES)");
    ok(&r, "e1");
    let out = news.server.darius_ok(&["syncnews", &active_arg]);
    assert!(out.contains("created alt.moderated"), "{out}");
    assert!(out.contains("removed netnews.misc.test"), "{out}");
    assert!(out.contains("1 kept"), "{out}");
    let r = bob.cmd("e2", "LIST \"\" \"netnews.*\"");
    assert!(
        r.iter().any(|l| l.contains("netnews.alt.moderated")),
        "{r:?}"
    );
    assert!(!r.iter().any(|l| l.contains("netnews.misc.test")), "{r:?}");
    for hidden in ["junk", "control", "nolocal", "alias"] {
        assert!(!r.iter().any(|l| l.contains(hidden)), "{hidden}: {r:?}");
    }
    // The spool is the news server's: syncnews removed no file.
    assert!(news.spool.join("misc/test/2").exists());

    // The store's own checks and backups pass newsgroups by (their files are INN's).
    news.server.darius_ok(&["check"]);
    let backup = news.server.dir.path().join("backup");
    news.server
        .darius_ok(&["backup", &backup.display().to_string()]);
    assert!(!backup.join("news").exists());
}

#[test]
fn the_news_partition_takes_no_ordinary_mailbox() {
    let news = News::start();
    let mut admin = Client::login(news.server.imap_port, "admin");
    let r = admin.cmd("a1", "CREATE shared.x news");
    no(&r, "a1");
    let r = admin.cmd("a2", "CREATE shared.y");
    ok(&r, "a2");
    let r = admin.cmd("a3", "RENAME shared.y shared.z news");
    no(&r, "a3");
    // An administrator may delete a newsgroup's mailbox (delayed delete, the default, does
    // not hide it: the index is all there is, and collectnews makes it again).
    news.put(
        "local/test/1",
        b"From: a@b\nNewsgroups: local.test\nSubject: s\n\nbody\n",
    );
    let out = news.feed("collectnews", "local/test/1\n");
    assert!(out.contains("1 indexed"), "{out}");
    let r = admin.cmd("a4", "DELETE netnews.local.test");
    ok(&r, "a4");
    let r = admin.cmd("a5", "LIST \"\" \"*\"");
    assert!(!r.iter().any(|l| l.contains("local.test")), "{r:?}");
    assert!(news.spool.join("local/test/1").exists());
    let out = news.feed("collectnews", "local/test/1\n");
    assert!(out.contains("1 indexed"), "{out}");
    // Nothing of ours is written into the spool.
    assert!(!news.spool.join("tmp").exists());
}

#[test]
fn the_news_socket_serves_the_news_user_and_news_requests_only() {
    let news = News::start();
    let socket = news.server.config_dir().join("socket/news");
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    // The news user (not the server's, not root) reaches it: let it read the configuration.
    if !common::have("setpriv") || users::news_ids().is_none() {
        assert!(
            std::env::var_os("DARIUS_REQUIRE_INTEROP").is_none(),
            "setpriv and a news user are needed"
        );
        return;
    }
    for dir in [news.server.dir.path(), &news.server.config_dir()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(
        news.server.config_dir().join("socket"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(&news.server.conf, std::fs::Permissions::from_mode(0o644)).unwrap();
    news.put(
        "local/test/1",
        b"From: a@b\nNewsgroups: local.test\nSubject: s\n\nbody\n",
    );
    let darius = common::inn::darius_for_news(news.server.dir.path());
    let as_news = |args: &[&str], input: &str| {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(["--reuid=news", "--regid=news", "--clear-groups", "--"])
            .arg(&darius)
            .arg("-C")
            .arg(&news.server.conf)
            .args(args);
        let (ok_run, stdout, stderr) = common::run_with_input(&mut cmd, input);
        (ok_run, stdout + &stderr)
    };
    let (ok_run, out) = as_news(&["collectnews"], "local/test/1\n");
    assert!(ok_run, "{out}");
    assert!(out.contains("1 indexed"), "{out}");
    // Anything else is refused there, even to root.
    use std::io::{BufRead, Write};
    let stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    (&stream).write_all(b"{\"op\":\"user_list\"}\n").unwrap();
    let mut reply = String::new();
    std::io::BufReader::new(&stream)
        .read_line(&mut reply)
        .unwrap();
    assert!(
        reply.contains("refused") && reply.contains("collectnews"),
        "{reply}"
    );
}

mod users {
    /// The news user's uid and gid, when the system has one.
    pub fn news_ids() -> Option<(u32, u32)> {
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.first() != Some(&"news") {
                return None;
            }
            Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))
        })
    }
}

#[test]
fn nothing_outside_the_spool_is_read_or_unlinked() {
    let news = News::start();
    // A link planted in the spool to one of the server's own files, and an article whose Xref
    // names groups that would lead out of the spool.
    std::fs::create_dir_all(news.spool.join("evil/group")).unwrap();
    std::os::unix::fs::symlink(&news.server.conf, news.spool.join("evil/group/1")).unwrap();
    let outside = news.server.dir.path().join("victim");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("7"), b"keep me").unwrap();
    news.put(
        "local/test/1",
        b"From: a@b\nNewsgroups: local.test\nSubject: s\nXref: h local.test:1 ..:7 .victim:7 /x:7\n\nbody\n",
    );
    let out = news.feed("collectnews", "evil/group/1\nlocal/test/1\n");
    assert!(
        out.contains("2 articles: 1 indexed (0 as crossposts)"),
        "{out}"
    );
    assert!(out.contains("leads out of the news spool"), "{out}");
    let mut alice = Client::login(news.server.imap_port, "alice");
    let r = alice.cmd("a1", "LIST \"\" \"netnews.*\"");
    assert!(!r.iter().any(|l| l.contains("evil")), "{r:?}");
    // rmnews: the link itself goes (as fastrm would), never what it points at.
    let out = news.feed("rmnews", "evil/group/1\n@x\n../victim/7\n");
    assert!(out.contains("1 files removed"), "{out}");
    assert!(news.server.conf.exists());
    assert!(outside.join("7").exists());
}
