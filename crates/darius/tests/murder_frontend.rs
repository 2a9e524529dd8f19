//! A whole Murder on loopback: a real etcd, two `darius serve` backends and a frontend.
//! Python's `smtplib.LMTP`, `imaplib` and `poplib` talk to the frontend only
//! (tests/interop/murder_frontend.py) and the mail lands on the backend the directory names;
//! then a backend is killed (-9): its mailboxes answer `NO [UNAVAILABLE]` and its LMTP
//! recipients a temporary failure, while the other backend's users go on.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;
mod imap_support;

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use common::Server;
use imap_support::{last, Client};

fn murder_conf(role: &str, name: &str, endpoints: &[String]) -> String {
    format!(
        "murder_role: {role}\nmurder_server_name: {name}\nmurder_etcd_endpoints: {}\n\
         murder_etcd_prefix: /front\nmurder_lease_ttl: 3\nproxyservers: proxy\n\
         proxy_password: pw-proxy\nallowplaintext: 1\n",
        endpoints.join(" ")
    )
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One LMTP transaction to `port` for `rcpt`: the RCPT reply's code.
fn lmtp_rcpt(port: u16, rcpt: &str) -> String {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut r = BufReader::new(stream.try_clone().unwrap());
    let mut w = stream;
    let mut line = String::new();
    let mut read = |r: &mut BufReader<std::net::TcpStream>| loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            return line.clone();
        }
    };
    read(&mut r);
    w.write_all(b"LHLO test\r\n").unwrap();
    read(&mut r);
    w.write_all(b"MAIL FROM:<carol@example.org>\r\n").unwrap();
    read(&mut r);
    w.write_all(format!("RCPT TO:<{rcpt}>\r\n").as_bytes())
        .unwrap();
    let reply = read(&mut r);
    let _ = w.write_all(b"QUIT\r\n");
    reply
}

#[test]
fn clients_of_the_frontend_reach_both_backends_and_survive_one_dying() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = runtime.block_on(etcd::testing::EtcdCluster::single()) else {
        return;
    };
    let endpoints = etcd.endpoints();
    let b1 = Server::start_with(&murder_conf("backend", "b1", &endpoints));
    let mut b2 = Server::start_with(&murder_conf("backend", "b2", &endpoints));
    let front = Server::start_with(&murder_conf("frontend", "f1", &endpoints));
    for (server, users) in [
        (&b1, &["admin", "proxy", "ann"][..]),
        (&b2, &["admin", "proxy", "bob"][..]),
        (&front, &["admin", "ann", "bob"][..]),
    ] {
        for user in users {
            server.add_user(user, &format!("pw-{user}"));
        }
    }
    let mut admin = Client::login(b2.imap_port, "admin");
    for cmd in ["CREATE shared.team", "SETACL shared.team ann lrsip"] {
        let r = admin.cmd("s", cmd);
        assert!(last(&r).starts_with("s OK"), "{cmd}: {r:?}");
    }
    // The frontend's copy of the directory has every mailbox.
    eventually("the frontend knows every mailbox", || {
        let mut c = Client::login(front.imap_port, "admin");
        let r = c.cmd("l", "LIST \"\" \"*\"");
        ["user.ann", "user.bob", "shared.team"]
            .iter()
            .all(|n| r.iter().any(|l| l.trim_end().ends_with(&format!(" {n}"))))
    });
    let (fi, fl, fp) = (
        front.imap_port.to_string(),
        front.lmtp_port.to_string(),
        front.pop3_port.to_string(),
    );
    let (b1i, b2i) = (b1.imap_port.to_string(), b2.imap_port.to_string());
    common::run_python(
        &front,
        "murder_frontend.py",
        &[
            ("FRONT_IMAP", &fi),
            ("FRONT_LMTP", &fl),
            ("FRONT_POP3", &fp),
            ("B1_IMAP", &b1i),
            ("B2_IMAP", &b2i),
        ],
    );
    // The backends hold certificates the frontend trusts (`tls_server_ca_file`): with the
    // default `proxy_tls: auto` it reached them over TLS.
    assert!(front.logged("to server b1 at"), "{}", front.log());
    assert!(front.logged("over TLS"), "{}", front.log());
    // A backend dies: its users wait, the others do not notice.
    b2.kill_hard();
    let mut ann = Client::login(front.imap_port, "ann");
    let r = ann.cmd("a", "SELECT shared.team");
    assert!(last(&r).starts_with("a NO [UNAVAILABLE]"), "{r:?}");
    let r = ann.cmd("b", "SELECT INBOX");
    assert!(last(&r).starts_with("b OK"), "{r:?}");
    let r = ann.cmd("c", "LIST \"\" \"*\"");
    assert!(
        r.iter().any(|l| l.trim_end().ends_with(" shared.team")),
        "{r:?}"
    );
    assert!(
        lmtp_rcpt(front.lmtp_port, "bob").starts_with("451"),
        "bob on the dead backend"
    );
    assert!(
        lmtp_rcpt(front.lmtp_port, "ann").starts_with("250"),
        "ann on the live one"
    );
    drop(etcd);
}

#[test]
fn each_backend_may_have_its_own_proxy_credentials() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = runtime.block_on(etcd::testing::EtcdCluster::single()) else {
        return;
    };
    let endpoints = etcd.endpoints().join(" ");
    let conf = |role: &str, name: &str, extra: &str| {
        format!(
            "murder_role: {role}\nmurder_server_name: {name}\nmurder_etcd_endpoints: \
             {endpoints}\nmurder_etcd_prefix: /per-server\nmurder_lease_ttl: 3\n\
             allowplaintext: 1\n{extra}"
        )
    };
    // b1 trusts `proxy` with its own password; b2 another identity altogether. The frontend
    // has no proxy_password: Cyrus's per-server form names each.
    let b1 = Server::start_with(&conf("backend", "b1", "proxyservers: proxy\n"));
    let b2 = Server::start_with(&conf("backend", "b2", "proxyservers: murder2\n"));
    let front = Server::start_with(&conf(
        "frontend",
        "f1",
        "proxy_authname: proxy\nb1_password: pw-at-b1\nb2_authname: murder2\n\
         b2_password: pw-at-b2\n",
    ));
    b1.add_user("proxy", "pw-at-b1");
    b1.add_user("ann", "pw-ann");
    b2.add_user("murder2", "pw-at-b2");
    b2.add_user("bob", "pw-bob");
    for user in ["ann", "bob"] {
        front.add_user(user, &format!("pw-{user}"));
    }
    eventually("the frontend knows both INBOXes", || {
        let mut c = Client::login(front.imap_port, "ann");
        let r = c.cmd("l", "LIST \"\" \"*\"");
        drop(c);
        let mut c = Client::login(front.imap_port, "bob");
        let s = c.cmd("l", "LIST \"\" \"*\"");
        r.iter().any(|l| l.trim_end().ends_with(" INBOX"))
            && s.iter().any(|l| l.trim_end().ends_with(" INBOX"))
    });
    for user in ["ann", "bob"] {
        let mut c = Client::login(front.imap_port, user);
        let r = c.cmd("s", "SELECT INBOX");
        assert!(last(&r).starts_with("s OK"), "{user}: {r:?}");
        assert!(
            lmtp_rcpt(front.lmtp_port, user).starts_with("250"),
            "LMTP for {user}"
        );
    }
    // b2's log names the identity the frontend logged in as there.
    assert!(b2.logged("murder2"), "{}", b2.log());
    drop(etcd);
}

/// A frontend (or unified node) that could not log in to any backend refuses to start, before
/// it reaches etcd, saying which options to set; a backend needs no credentials.
#[test]
fn a_frontend_without_backend_credentials_refuses_to_start() {
    for (role, refused) in [("frontend", true), ("unified", true), ("backend", false)] {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().display();
        let conf = dir.path().join("imapd.conf");
        std::fs::write(
            &conf,
            format!(
                "configdirectory: {base}/conf\npartition-default: {base}/spool\n\
                 murder_role: {role}\nmurder_etcd_endpoints: http://127.0.0.1:1\n\
                 servername: s1\nlisten_imap: 127.0.0.1:0\nproxy_authname: murder\n\
                 b1_authname: other\n"
            ),
        )
        .unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_darius"))
            .arg("-C")
            .arg(&conf)
            .arg("serve")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if refused {
            let status = status.unwrap_or_else(|| {
                let _ = child.kill();
                panic!("a {role} without credentials kept running");
            });
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            assert!(!status.success(), "{role}: {err}");
            assert!(
                err.contains("set proxy_password") && err.contains("SERVER_password"),
                "{role}: {err}"
            );
        } else {
            // A backend goes on to wait for its (unreachable) etcd.
            let _ = child.kill();
            let _ = child.wait();
            assert!(status.is_none(), "a backend stopped: {status:?}");
        }
    }
}
