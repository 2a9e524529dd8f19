//! Users across the Murder (`murder_users: etcd`): one password database in a real etcd
//! (Debian's `etcd-server`, a private member on loopback) shared by real `darius serve`
//! backends. A user added on one backend logs in on the other (LOGIN, and SCRAM-SHA-256
//! through Cyrus's `imtest` when installed); a password change or a deletion on one is seen
//! by the other within `auth_cache_ttl`; two backends adding one name at once: exactly one
//! succeeds; `darius user` without a running server (and `user import-sasldb`) works on etcd
//! directly; with etcd gone, a login is a temporary failure, never a wrong password, and
//! `user add` fails saying why.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;
mod imap_support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::Server;
use imap_support::{last, Client};

/// `auth_cache_ttl` of the servers: how long at worst a change elsewhere takes to be seen.
const TTL: Duration = Duration::from_secs(2);

/// The Murder's etcd, or `None` (the test is skipped) without the etcd binary.
fn etcd(runtime: &tokio::runtime::Runtime) -> Option<etcd::testing::EtcdCluster> {
    runtime.block_on(etcd::testing::EtcdCluster::single())
}

/// A backend called `name` whose users are in the etcd at `endpoints`, under `prefix`,
/// keeping what logins read for `ttl`.
fn backend(name: &str, endpoints: &[String], prefix: &str, ttl: Duration) -> Server {
    Server::start_with(&format!(
        "murder_role: backend\nmurder_server_name: {name}\nmurder_users: etcd\n\
         murder_etcd_endpoints: {}\nmurder_etcd_prefix: {prefix}\n\
         auth_cache_ttl: {}\nauth_failure_delay: 0\nauth_failures_per_host: 0\n\
         sasl_mech_list: SCRAM-SHA-256 PLAIN\nservername: mail.example.org\n",
        endpoints.join(" "),
        ttl.as_secs()
    ))
}

/// The tagged answer to `LOGIN user password` on `port`, without its tag.
fn login(port: u16, user: &str, password: &str) -> String {
    let mut c = Client::connect(port);
    let r = c.cmd("l", &format!("LOGIN \"{user}\" \"{password}\""));
    last(&r).trim_end()[2..].to_string()
}

fn logs_in(port: u16, user: &str, password: &str) -> bool {
    let answer = login(port, user, password);
    assert!(
        answer.starts_with("OK") || answer.starts_with("NO [AUTHENTICATIONFAILED]"),
        "LOGIN {user} answered {answer}"
    );
    answer.starts_with("OK")
}

/// `darius ARGS` against `server` with `input` on standard input: success, stdout, stderr.
fn darius_with_input(server: &Server, args: &[&str], input: &str) -> (bool, String, String) {
    common::run_with_input(&mut server.darius(args), input)
}

/// `darius user list` against `server`.
fn users(server: &Server) -> Vec<String> {
    server
        .darius_ok(&["user", "list"])
        .lines()
        .map(str::to_string)
        .collect()
}

/// The password database file, which `murder_users: etcd` never makes.
fn local_file(server: &Server) -> std::path::PathBuf {
    server.config_dir().join("passwd.redb")
}

/// Whether Cyrus's `imtest` authenticates `user` with SCRAM-SHA-256 over STARTTLS.
fn scram(port: u16, user: &str, password: &str) -> (bool, String) {
    common::imtest::run(
        &["-t", "", "-m", "SCRAM-SHA-256", "-a", user, "-w", password],
        &[],
        "127.0.0.1",
        port,
    )
}

#[test]
fn users_are_shared_and_changes_reach_the_other_backend_within_the_ttl() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = etcd(&runtime) else { return };
    let endpoints = etcd.endpoints();
    let b1 = backend("b1", &endpoints, "/u1", TTL);
    let b2 = backend("b2", &endpoints, "/u1", TTL);
    b1.add_user("ann", "first");
    assert!(logs_in(b2.imap_port, "ann", "first"));
    assert!(!logs_in(b2.imap_port, "ann", "wrong"));
    if common::imtest::installed(&[]) {
        let (ok, text) = scram(b2.imap_port, "ann", "first");
        assert!(ok, "SCRAM-SHA-256 on b2:\n{text}");
        let (ok, text) = scram(b2.imap_port, "ann", "wrong");
        assert!(!ok, "a wrong SCRAM-SHA-256 on b2:\n{text}");
    }
    b2.add_user("bob", "pw-bob");
    assert_eq!(users(&b1), ["ann", "bob"]);
    assert_eq!(users(&b2), ["ann", "bob"]);
    // b1 has checked "first" (so it is in its caches); b2 changes it.
    assert!(logs_in(b1.imap_port, "ann", "first"));
    let (ok, out, err) = darius_with_input(&b2, &["user", "passwd", "ann"], "second\n");
    assert!(ok, "{out}{err}");
    std::thread::sleep(TTL + Duration::from_millis(500));
    assert!(!logs_in(b1.imap_port, "ann", "first"));
    assert!(logs_in(b1.imap_port, "ann", "second"));
    assert!(logs_in(b2.imap_port, "ann", "second"));
    // Deleted on one backend (b1 holds ann's INBOX): refused everywhere.
    assert!(logs_in(b2.imap_port, "ann", "second"));
    b1.del_user("ann");
    std::thread::sleep(TTL + Duration::from_millis(500));
    assert!(!logs_in(b1.imap_port, "ann", "second"));
    assert!(!logs_in(b2.imap_port, "ann", "second"));
    assert_eq!(users(&b1), ["bob"]);
    assert_eq!(users(&b2), ["bob"]);
    assert!(!local_file(&b1).exists() && !local_file(&b2).exists());
}

#[test]
fn two_backends_adding_one_name_at_once_exactly_one_succeeds() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = etcd(&runtime) else { return };
    let endpoints = etcd.endpoints();
    let b1 = backend("b1", &endpoints, "/u2", TTL);
    let b2 = backend("b2", &endpoints, "/u2", TTL);
    for round in 0..4 {
        let name = format!("racer{round}");
        let add = |server: &Server, password: &str| {
            let mut child = server
                .darius(&["user", "add", &name])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
            child
        };
        let (one, two) = (add(&b1, "from-b1"), add(&b2, "from-b2"));
        let outcomes: Vec<(bool, String)> = [one, two]
            .into_iter()
            .map(|child| {
                let out = child.wait_with_output().unwrap();
                let text = String::from_utf8_lossy(&out.stderr).into_owned();
                (out.status.success(), text)
            })
            .collect();
        let won: Vec<bool> = outcomes.iter().map(|(ok, _)| *ok).collect();
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "exactly one add wins: {outcomes:?}"
        );
        let lost = &outcomes[usize::from(won[0])].1;
        assert!(lost.contains("already exists"), "{lost}");
        let password = if won[0] { "from-b1" } else { "from-b2" };
        assert!(logs_in(b1.imap_port, &name, password));
        assert!(logs_in(b2.imap_port, &name, password));
    }
}

#[test]
fn without_a_running_server_user_commands_and_imports_work_on_etcd() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = etcd(&runtime) else { return };
    let endpoints = etcd.endpoints();
    let b1 = backend("b1", &endpoints, "/u3", TTL);
    let mut b2 = backend("b2", &endpoints, "/u3", TTL);
    b2.stop();
    // Through b2's configuration, with no server: etcd directly, no local file.
    let (ok, out, err) = darius_with_input(&b2, &["user", "add", "zed"], "pw-zed\n");
    assert!(ok, "{out}{err}");
    assert!(logs_in(b1.imap_port, "zed", "pw-zed"));
    assert_eq!(users(&b2), ["zed"]);
    let (ok, out, err) = darius_with_input(&b2, &["user", "check", "zed"], "pw-zed\n");
    assert!(ok && out.contains("OK"), "{out}{err}");
    if common::have("saslpasswd2") {
        let file = b2.dir.path().join("sasldb2");
        let mut child = Command::new("saslpasswd2")
            .args(["-p", "-f"])
            .arg(&file)
            .args(["-c", "-u", "mail.example.org", "yuri"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "yuri's cyrus password").unwrap();
        assert!(child.wait().unwrap().success());
        let (ok, out, err) = b2.run_darius(&["user", "import-sasldb", file.to_str().unwrap()]);
        assert!(ok && out.contains("1 added"), "{out}{err}");
        assert!(logs_in(b1.imap_port, "yuri", "yuri's cyrus password"));
    }
    assert!(!local_file(&b2).exists());
}

#[test]
fn with_etcd_gone_a_login_is_a_temporary_failure_and_user_add_fails_clearly() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(mut etcd) = etcd(&runtime) else {
        return;
    };
    let endpoints = etcd.endpoints();
    // A long cache here: what a login read before etcd went keeps working.
    let b1 = backend("b1", &endpoints, "/u4", Duration::from_secs(600));
    b1.add_user("carol", "pw-carol");
    b1.add_user("dave", "pw-dave");
    // The first login starts the server's watch of the users; a record read before the watch
    // was in place may be dropped when it starts, the second login's is kept.
    assert!(logs_in(b1.imap_port, "carol", "pw-carol"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(logs_in(b1.imap_port, "carol", "pw-carol"));
    etcd.kill(0);
    assert!(logs_in(b1.imap_port, "carol", "pw-carol"));
    for (user, password) in [("dave", "pw-dave"), ("dave", "wrong"), ("nobody", "x")] {
        let answer = login(b1.imap_port, user, password);
        assert!(
            answer.starts_with("NO [UNAVAILABLE]"),
            "LOGIN {user} {password}: {answer}"
        );
    }
    let (ok, out, err) = darius_with_input(&b1, &["user", "add", "erin"], "pw-erin\n");
    assert!(!ok, "{out}{err}");
    assert!(
        err.contains("etcd") && err.contains("/u4/users/"),
        "says why: {err}"
    );
    let (ok, out, err) = b1.run_darius(&["user", "list"]);
    assert!(!ok && err.contains("etcd"), "{out}{err}");
}

/// What a Murder frontend is for: it authenticates every client. With the users in etcd,
/// each is added once, on any server: the frontend logs clients in, and the backend accepts
/// the frontend's proxy identity from the same records.
#[test]
fn a_frontend_logs_in_users_added_once_on_a_backend() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = etcd(&runtime) else { return };
    let endpoints = etcd.endpoints();
    let conf = |role: &str, name: &str| {
        format!(
            "murder_role: {role}\nmurder_server_name: {name}\nmurder_users: etcd\n\
             murder_etcd_endpoints: {}\nmurder_etcd_prefix: /u5\nproxyservers: proxy\n\
             proxy_password: pw-proxy\nallowplaintext: 1\n",
            endpoints.join(" ")
        )
    };
    let b1 = Server::start_with(&conf("backend", "b1"));
    let front = Server::start_with(&conf("frontend", "f1"));
    for user in ["admin", "proxy", "ann"] {
        b1.add_user(user, &format!("pw-{user}"));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut admin = Client::login(front.imap_port, "admin");
        let r = admin.cmd("l", "LIST \"\" user.ann");
        if r.iter().any(|l| l.trim_end().ends_with(" user.ann")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the frontend never saw user.ann"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut ann = Client::login(front.imap_port, "ann");
    let r = ann.cmd("s", "SELECT INBOX");
    assert!(last(&r).starts_with("s OK"), "{r:?}");
    // Added on the frontend (which holds no mailboxes): known to the backend at once, and
    // their INBOX made on the backend (the least loaded; the only one here).
    let (ok, out, err) = darius_with_input(&front, &["user", "add", "cy"], "pw-cy\n");
    assert!(ok, "{out}{err}");
    assert!(out.contains("created their INBOX on server b1"), "{out}");
    assert!(logs_in(b1.imap_port, "cy", "pw-cy"));
    assert_eq!(users(&front), users(&b1));
    let mut cy = Client::login(front.imap_port, "cy");
    let r = cy.cmd("s", "SELECT INBOX");
    assert!(last(&r).starts_with("s OK"), "{r:?}");
    let mut at_b1 = Client::login(b1.imap_port, "cy");
    let r = at_b1.cmd("s", "SELECT INBOX");
    assert!(last(&r).starts_with("s OK"), "the INBOX is b1's: {r:?}");
    // A user whose INBOX exists already (an administrator made it at the backend): added,
    // nothing created, whether the frontend's copy of the directory has the name yet or not.
    let mut admin = Client::login(b1.imap_port, "admin");
    let r = admin.cmd("c", "CREATE user.dan");
    assert!(last(&r).starts_with("c OK"), "{r:?}");
    let (ok, out, err) = darius_with_input(&front, &["user", "add", "dan"], "pw-dan\n");
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("is server b1's already") || out.contains("another server's already"),
        "{out}"
    );
    assert!(logs_in(front.imap_port, "dan", "pw-dan"));
}

#[test]
fn etcd_users_need_a_murder() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("imapd.conf");
    std::fs::write(
        &conf,
        format!(
            "configdirectory: {0}/conf\npartition-default: {0}/spool\nmurder_users: etcd\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let out = Command::new(common::DARIUS)
        .arg("-C")
        .arg(&conf)
        .arg("serve")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("murder_users: etcd") && err.contains("murder_role"),
        "{err}"
    );
}
