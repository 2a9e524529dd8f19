//! `darius deliver` as an MTA's mailbox_command runs it: the message on standard input (LF line
//! ends), delivered through the running server's lmtpsocket or, with the server stopped, on the
//! files; each outcome's sysexits code (0, 64, 65, 67, 75, 77), `-q` past a full quota, `-a`
//! deciding the post right, `-m` for folders and shared mailboxes. Messages are read back over
//! IMAP.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use std::io::Write;
use std::process::Stdio;

/// Runs `darius deliver ARGS` with `message` on stdin; the exit code and stderr.
fn deliver(server: &common::Server, args: &[&str], message: &[u8]) -> (i32, String) {
    let mut all = vec!["deliver"];
    all.extend_from_slice(args);
    let mut child = server
        .darius(&all)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A run refused before it reads (bad arguments) closes its stdin: not an error here.
    if let Err(e) = child.stdin.take().unwrap().write_all(message) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn imap_ok(server: &common::Server, user: &str, commands: &[&str]) -> Vec<String> {
    imap_support::run_ok(server.imap_port, user, commands)
}

/// The bodies (`BODY[]`) of the messages in `mailbox`, as `user` reads them.
fn bodies(server: &common::Server, user: &str, mailbox: &str) -> Vec<String> {
    let lines = imap_ok(
        server,
        user,
        &[
            &format!("EXAMINE \"{mailbox}\""),
            "FETCH 1:* BODY.PEEK[TEXT]",
        ],
    );
    let text = lines.concat();
    text.split("BODY[TEXT] {")
        .skip(1)
        .map(|part| {
            let (len, rest) = part.split_once("}\r\n").unwrap();
            rest[..len.parse::<usize>().unwrap()].to_string()
        })
        .collect()
}

fn exists(server: &common::Server, user: &str, mailbox: &str) -> usize {
    bodies(server, user, mailbox).len()
}

const MESSAGE: &[u8] = b"From: a@example.org\nSubject: piped\n\nline one\n.dotted\nlast\n";

#[test]
fn through_the_socket_each_outcome_has_its_exit_code() {
    let server = common::Server::start();
    for u in ["admin", "bob", "carol"] {
        server.add_user(u, &format!("pw-{u}"));
    }

    // Delivered: LF lines arrive as CRLF, the dot line intact, a Return-Path from -f.
    let (code, err) = deliver(&server, &["-f", "sender@example.org", "bob"], MESSAGE);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        bodies(&server, "bob", "INBOX"),
        ["line one\r\n.dotted\r\nlast\r\n"]
    );
    let head = imap_ok(
        &server,
        "bob",
        &[
            "SELECT INBOX",
            "FETCH 1 BODY.PEEK[HEADER.FIELDS (RETURN-PATH)]",
        ],
    )
    .concat();
    assert!(head.contains("Return-Path: <sender@example.org>"), "{head}");

    // Unknown user: EX_NOUSER, and the known recipient of the same run still gets it.
    let (code, err) = deliver(&server, &["nobody", "carol"], MESSAGE);
    assert_eq!(code, 67, "{err}");
    assert!(err.contains("nobody") && err.contains("550 5.1.1"), "{err}");
    assert_eq!(exists(&server, "carol", "INBOX"), 1);

    // No recipient named: EX_USAGE.
    assert_eq!(deliver(&server, &[], MESSAGE).0, 64);

    // Over quota: EX_TEMPFAIL (the MTA keeps it and retries); -q delivers anyway.
    imap_ok(&server, "admin", &["SETQUOTA user.carol (STORAGE 1)"]);
    let big = [MESSAGE, &vec![b'x'; 4000], b"\n"].concat();
    assert_eq!(
        deliver(&server, &["carol"], &big).0,
        0,
        "below the limit one message of any size"
    );
    let (code, err) = deliver(&server, &["carol"], MESSAGE);
    assert_eq!(code, 75, "{err}");
    assert!(err.contains("452 4.2.2"), "{err}");
    assert_eq!(deliver(&server, &["-q", "carol"], MESSAGE).0, 0);
    assert_eq!(exists(&server, "carol", "INBOX"), 3);

    // Too big for maxmessagesize is the data's fault: EX_DATAERR. (The default limit is
    // 100 MiB; a NUL is refused as content, with the same status.)
    let (code, err) = deliver(&server, &["bob"], b"Subject: nul\n\nA\0B\n");
    assert_eq!(code, 65, "{err}");
}

#[test]
fn folders_and_shared_mailboxes_follow_the_post_right_of_the_delivering_identity() {
    let server = common::Server::start();
    for u in ["admin", "bob"] {
        server.add_user(u, &format!("pw-{u}"));
    }
    imap_ok(
        &server,
        "bob",
        &[
            "CREATE INBOX.private",
            "CREATE INBOX.lists",
            "SETACL INBOX.lists anyone p",
        ],
    );
    imap_ok(
        &server,
        "admin",
        &[
            "CREATE shared",
            "CREATE shared.board",
            "SETACL shared.board bob lrsp",
            "SETACL shared.board anyone lr",
        ],
    );
    // -m with the right: the folder; without it: the INBOX; -a bob (the owner): the folder.
    assert_eq!(deliver(&server, &["-m", "lists", "bob"], MESSAGE).0, 0);
    assert_eq!(deliver(&server, &["-m", "private", "bob"], MESSAGE).0, 0);
    assert_eq!(
        deliver(&server, &["-a", "bob", "-m", "private", "bob"], MESSAGE).0,
        0
    );
    assert_eq!(exists(&server, "bob", "INBOX.lists"), 1);
    assert_eq!(exists(&server, "bob", "INBOX.private"), 1);
    assert_eq!(exists(&server, "bob", "INBOX"), 1);

    // A shared mailbox: the deliverer sees it but may not post (EX_NOPERM) until it is bob.
    let (code, err) = deliver(&server, &["-m", "shared.board"], MESSAGE);
    assert_eq!(code, 77, "{err}");
    assert!(err.contains("550 5.7.1"), "{err}");
    assert_eq!(
        deliver(&server, &["-a", "bob", "-m", "shared.board"], MESSAGE).0,
        0
    );
    assert_eq!(exists(&server, "bob", "shared.board"), 1);
}

#[test]
fn with_the_server_stopped_it_delivers_on_the_files_with_the_same_rules() {
    let mut server = common::Server::start();
    for u in ["admin", "bob"] {
        server.add_user(u, &format!("pw-{u}"));
    }
    imap_ok(&server, "admin", &["SETQUOTA user.bob (STORAGE 1)"]);
    assert!(server.stop().is_some());
    assert!(
        !server.lmtp_socket().exists()
            || std::os::unix::net::UnixStream::connect(server.lmtp_socket()).is_err()
    );

    let big = [MESSAGE, &vec![b'y'; 4000], b"\n"].concat();
    assert_eq!(deliver(&server, &["bob"], &big).0, 0);
    let (code, err) = deliver(&server, &["bob"], MESSAGE);
    assert_eq!(code, 75, "over quota offline too: {err}");
    assert_eq!(deliver(&server, &["-q", "bob"], MESSAGE).0, 0);
    assert_eq!(deliver(&server, &["nobody"], MESSAGE).0, 67);

    server.restart();
    let got = bodies(&server, "bob", "INBOX");
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1], "line one\r\n.dotted\r\nlast\r\n");
}
