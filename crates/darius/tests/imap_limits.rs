//! Limits, bad input and Cyrus's session files over raw sockets: a clear `BAD`/`NO`/`BYE` for
//! everything, never a hang or a crash; `proc/` session files; telemetry; `maxlogins_per_user`.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use std::io::Write;

use std::time::Duration;

use imap_support::{last, Client};

fn logged_in(server: &common::Server) -> Client {
    let mut c = Client::connect(server.imap_port);
    assert!(last(&c.cmd("a0", "LOGIN alice pw-alice")).starts_with("a0 OK"));
    c
}

#[test]
fn over_long_lines_get_bad_and_the_session_goes_on() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = logged_in(&server);
    let long = format!("a1 NOOP {}\r\n", "x".repeat(100_000));
    c.send(long.as_bytes());
    let reply = c.line();
    assert!(reply.contains("BAD"), "{reply}");
    assert!(last(&c.cmd("a2", "NOOP")).starts_with("a2 OK"));
}

#[test]
fn a_huge_literal_is_refused_without_a_continuation() {
    let server = common::Server::start_with("maxmessagesize: 1K\n");
    server.add_user("alice", "pw-alice");
    let mut c = logged_in(&server);
    c.send(b"a1 APPEND INBOX {5000}\r\n");
    let reply = c.line();
    assert!(reply.starts_with("a1 NO [TOOBIG]"), "{reply}");
    c.send(b"a2 APPEND INBOX {99999999999999999999}\r\n");
    let reply = c.line();
    assert!(reply.contains("BAD") || reply.contains("NO"), "{reply}");
    let caps = c.cmd("a3", "CAPABILITY");
    assert!(caps[0].contains("APPENDLIMIT=1024"), "{caps:?}");
    let ok = c.cmd("a4", "APPEND INBOX {19+}\r\nSubject: x\r\n\r\nsmall");
    assert!(last(&ok).starts_with("a4 OK [APPENDUID"), "{ok:?}");
}

#[test]
fn deep_nesting_nul_bytes_and_garbage_get_bad() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = logged_in(&server);
    c.cmd("a1", "SELECT INBOX");
    let deep = format!("a2 SEARCH {}ALL{}", "(".repeat(500), ")".repeat(500));
    assert!(last(&c.cmd("a2", &deep[3..])).starts_with("a2 BAD"));
    c.send(b"a3 NOOP \0\r\n");
    assert!(c.line().contains("BAD"));
    assert!(last(&c.cmd("a4", "FETCH 1:* (FLAGS")).starts_with("a4 BAD"));
    assert!(last(&c.cmd("a5", "UID FETCH x FLAGS")).starts_with("a5 BAD"));
    assert!(
        last(&c.cmd("a6", "NOOP")).starts_with("a6 OK"),
        "the session survives"
    );
}

#[test]
fn many_bad_commands_in_a_row_end_the_session_with_bye() {
    let server = common::Server::start();
    let mut c = Client::connect(server.imap_port);
    for i in 0..25 {
        // The server may end the session before the last ones are sent (a fast server on a
        // loaded machine): a write to the closed connection is no failure of the test.
        if c.stream
            .write_all(format!("g{i} GARBAGE\r\n").as_bytes())
            .is_err()
        {
            break;
        }
    }
    let mut saw_bye = false;
    loop {
        let line = c.line();
        if line.is_empty() {
            break;
        }
        saw_bye |= line.starts_with("* BYE");
    }
    assert!(saw_bye, "the server says BYE before closing");
}

#[test]
fn failed_logins_are_delayed_then_disconnected() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = Client::connect(server.imap_port);
    for i in 0..2 {
        let r = c.cmd(&format!("b{i}"), "LOGIN alice nope");
        assert!(last(&r).contains("NO [AUTHENTICATIONFAILED]"), "{r:?}");
    }
    let r = c.cmd("b2", "LOGIN alice nope");
    assert!(r.iter().any(|l| l.starts_with("* BYE")), "{r:?}");
    assert!(c.closed());
}

#[test]
fn maxlogins_per_user_limits_concurrent_sessions() {
    let server = common::Server::start_with("maxlogins_per_user: 2\n");
    server.add_user("alice", "pw-alice");
    let first = logged_in(&server);
    let _second = logged_in(&server);
    let mut third = Client::connect(server.imap_port);
    let r = third.cmd("c1", "LOGIN alice pw-alice");
    assert!(last(&r).starts_with("c1 NO [LIMIT]"), "{r:?}");
    drop(first);
    std::thread::sleep(Duration::from_millis(300));
    let r = third.cmd("c2", "LOGIN alice pw-alice");
    assert!(
        last(&r).starts_with("c2 OK"),
        "a slot frees when a session ends: {r:?}"
    );
}

#[test]
fn session_files_name_host_user_and_mailbox_while_open() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let proc_dir = server.config_dir().join("proc");
    let read_all = || -> Vec<String> {
        std::fs::read_dir(&proc_dir)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect()
    };
    // A dedicated thread writes the files, off the runtime: wait for it (a generous bound
    // that only a writer that never writes would reach).
    let eventually = |what: &str, check: &dyn Fn(&[String]) -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let files = read_all();
            if check(&files) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{what}: {files:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let mut c = logged_in(&server);
    c.cmd("a1", "SELECT INBOX");
    eventually("host, user and mailbox", &|files| {
        files == ["127.0.0.1\talice\tuser.alice\n"]
    });
    c.cmd("a2", "LOGOUT");
    assert!(c.closed());
    eventually("the file goes with the session", &|files| files.is_empty());
}

#[test]
fn telemetry_records_traffic_after_login_only() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let log_dir = server.config_dir().join("log/alice");
    std::fs::create_dir_all(&log_dir).unwrap();
    let mut c = logged_in(&server);
    c.cmd("a1", "SELECT INBOX");
    c.cmd("a2", "LOGOUT");
    assert!(c.closed());
    let files: Vec<_> = std::fs::read_dir(&log_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let text = String::from_utf8_lossy(&std::fs::read(&files[0]).unwrap()).into_owned();
    assert!(text.contains("a1 SELECT INBOX"), "{text}");
    assert!(text.contains("a1 OK [READ-WRITE]"), "{text}");
    assert!(
        !text.contains("pw-alice"),
        "the password never reaches telemetry: {text}"
    );
}

#[test]
fn user_del_removes_the_users_mailboxes() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = logged_in(&server);
    assert!(last(&c.cmd("a1", "CREATE INBOX.Deep.Er")).starts_with("a1 OK"));
    c.cmd("a2", "LOGOUT");
    server.del_user("alice");
    server.add_user("alice", "pw-alice");
    let mut c = logged_in(&server);
    let list = c.cmd("a3", "LIST \"\" *");
    assert_eq!(list.len(), 2, "only the new INBOX: {list:?}");
}

fn headers_under(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                headers_under(&path)
            } else {
                usize::from(path.file_name().is_some_and(|n| n == "cyrus.header"))
            }
        })
        .sum()
}

#[test]
fn admins_choose_and_change_partitions_users_cannot() {
    let server = common::Server::start_with("partition-second: {base}/second\n");
    let second = server.dir.path().join("second");
    server.add_user("alice", "pw-alice");
    server.add_user("admin", "pw-admin");
    let mut alice = logged_in(&server);
    let r = alice.cmd("u1", "CREATE INBOX.Mine second");
    assert!(last(&r).starts_with("u1 NO [NOPERM]"), "{r:?}");
    let mut admin = Client::connect(server.imap_port);
    admin.cmd("a0", "LOGIN admin pw-admin");
    assert_eq!(headers_under(&second), 0);
    let r = admin.cmd("a1", "CREATE user.alice.Big second");
    assert!(last(&r).starts_with("a1 OK"), "{r:?}");
    assert_eq!(
        headers_under(&second),
        1,
        "the mailbox lives on the named partition"
    );
    let r = admin.cmd("a2", "CREATE user.alice.Nowhere nosuchpartition");
    assert!(last(&r).starts_with("a2 NO"), "{r:?}");
    let r = admin.cmd("a3", "RENAME user.alice.Big user.alice.Big default");
    assert!(last(&r).starts_with("a3 OK"), "{r:?}");
    assert_eq!(headers_under(&second), 0, "moved away from the partition");
    let r = alice.cmd("u2", "SELECT INBOX.Big");
    assert!(
        last(&r).starts_with("u2 OK"),
        "the moved mailbox still works: {r:?}"
    );
}

#[test]
fn an_idle_unauthenticated_connection_is_closed_after_prelogin_timeout() {
    let server = common::Server::start_with("prelogin_timeout: 10\nmaxline: 2K\n");
    let mut c = Client::connect(server.imap_port);
    let long = format!("a1 NOOP {}\r\n", "x".repeat(3000));
    c.send(long.as_bytes());
    assert!(c.line().contains("BAD"), "maxline applies");
    let started = std::time::Instant::now();
    let bye = c.line();
    assert!(bye.starts_with("* BYE"), "{bye}");
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "not before the timeout"
    );
    assert!(c.closed());
}
