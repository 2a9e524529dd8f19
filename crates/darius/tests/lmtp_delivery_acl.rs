//! LMTP delivery through the ACL decision, over real sockets (issue 11, ACL 9 and Namespace 3):
//! `user+detail` reaches the folder only with `p` for the anonymous deliverer, else the INBOX;
//! `postuser+shared.name` reaches a shared mailbox only with `p`; one the deliverer sees without
//! `p` is `550 5.7.1`, one it cannot see is an unknown recipient; RCPT answers the same whether
//! a folder exists or not. Dotted userids: with the
//! `.` separator they log in without an INBOX (no delivery, no subscriptions); with `/` their
//! INBOX is `user.john^doe`, and they never reach another user's folder.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;

use imap_support::{last, Client};
use lmtp_support::{deliver, rcpt_replies};

fn ok(lines: Vec<String>, tag: &str) -> Vec<String> {
    assert!(last(&lines).starts_with(&format!("{tag} OK")), "{lines:?}");
    lines
}

/// Runs `commands` as `user` (password `pw-USER`), each of which must succeed.
fn imap_ok(server: &common::Server, user: &str, commands: &[&str]) -> Vec<String> {
    imap_support::run_ok(server.imap_port, user, commands)
}

/// The MESSAGES count of each mailbox (client names), as `user` sees it.
fn counts(server: &common::Server, user: &str, mailboxes: &[&str]) -> Vec<u32> {
    let commands: Vec<String> = mailboxes
        .iter()
        .map(|m| format!("STATUS \"{m}\" (MESSAGES)"))
        .collect();
    let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
    let lines = imap_ok(server, user, &commands);
    mailboxes
        .iter()
        .map(|m| {
            let line = lines
                .iter()
                .find(|l| {
                    l.starts_with(&format!("* STATUS \"{m}\" "))
                        || l.starts_with(&format!("* STATUS {m} "))
                })
                .unwrap_or_else(|| panic!("no STATUS for {m}: {lines:?}"));
            let n = line.rsplit("MESSAGES ").next().unwrap();
            n.trim_end().trim_end_matches(')').parse().unwrap()
        })
        .collect()
}

const MESSAGE: &[u8] = b"Subject: delivery\r\n\r\nbody\r\n";

/// The reply text without the session-specific id that follows `Ok`.
fn code(reply: &str) -> &str {
    &reply[..reply.find(" Ok").unwrap_or(reply.len())]
}

#[test]
fn plus_detail_reaches_the_folder_only_with_the_post_right() {
    let server = common::Server::start();
    server.add_user("bovik", "pw-bovik");
    imap_ok(
        &server,
        "bovik",
        &[
            "CREATE INBOX.lists",
            "SETACL INBOX.lists anyone +p",
            "CREATE INBOX.private",
            "CREATE INBOX.work.projects",
            "SETACL INBOX.work.projects anyone p",
            "CREATE INBOX.negated",
            "SETACL INBOX.negated anyone lrp",
            "SETACL INBOX.negated -anonymous p",
            "CREATE INBOX.anon",
            "SETACL INBOX.anon anonymous p",
        ],
    );
    let rcpts = [
        "bovik+lists@example.org",
        "BOVIK+lists",
        "bovik+private",
        "bovik+work.projects",
        "bovik+Lists",
        "bovik+nosuch",
        "bovik+negated",
        "bovik+anon",
    ];
    // RCPT says the same for every one of them: no folder's existence or ACL shows.
    let replies = rcpt_replies(server.lmtp_port, &rcpts);
    assert!(replies.iter().all(|r| r == "250 2.1.5 Ok"), "{replies:?}");
    let replies = deliver(server.lmtp_port, &rcpts, MESSAGE);
    assert!(
        replies.iter().all(|r| code(r) == "250 2.1.5"),
        "{replies:?}"
    );
    let got = counts(
        &server,
        "bovik",
        &[
            "INBOX",
            "INBOX.lists",
            "INBOX.private",
            "INBOX.work.projects",
            "INBOX.negated",
            "INBOX.anon",
        ],
    );
    // Every recipient was accepted and none reached private or negated: those, Lists (the
    // detail is not case-folded) and nosuch went to the INBOX, once per mailbox per
    // transaction, as the two addresses of `lists` share one copy there.
    assert_eq!(got, [1, 1, 0, 1, 0, 1]);
}

#[test]
fn under_the_unix_separator_the_detail_uses_slash_for_levels() {
    let server = common::Server::start_with("unixhierarchysep: 1\n");
    server.add_user("bovik", "pw-bovik");
    imap_ok(
        &server,
        "bovik",
        &[
            "CREATE INBOX/work/projects",
            "SETACL INBOX/work/projects anyone p",
            "CREATE INBOX/a.b",
            "SETACL INBOX/a.b anyone p",
        ],
    );
    deliver(
        server.lmtp_port,
        &["bovik+work/projects", "bovik+a.b", "bovik+work.projects"],
        MESSAGE,
    );
    assert_eq!(
        counts(
            &server,
            "bovik",
            &["INBOX", "INBOX/work/projects", "INBOX/a.b"]
        ),
        [1, 1, 1],
        "work.projects names no folder under `/`: INBOX"
    );
}

#[test]
fn postuser_delivers_to_shared_mailboxes_with_the_post_right_and_leaks_nothing() {
    let server = common::Server::start_with("postuser: bb\n");
    server.add_user("admin", "pw-admin");
    server.add_user("bovik", "pw-bovik");
    imap_ok(
        &server,
        "admin",
        &[
            "CREATE shared",
            "CREATE shared.board",
            "SETACL shared.board anyone +p",
            "CREATE shared.quiet",
            "CREATE shared.hidden",
            "SETACL shared.hidden anyone p",
            "SETACL user.bovik anyone p",
        ],
    );
    let replies = rcpt_replies(
        server.lmtp_port,
        &[
            "bb+shared.board@example.org",
            "BB+shared.board",
            "bb+shared.quiet",
            "bb+shared.hidden",
            "bb+shared.nosuch",
            "bb",
            "bb+user.bovik",
            "nobody",
        ],
    );
    assert_eq!(replies[0], "250 2.1.5 Ok");
    assert_eq!(replies[1], "250 2.1.5 Ok", "the user part is folded");
    assert_eq!(
        replies[2], "550 5.7.1 Permission denied",
        "a shared mailbox the deliverer sees but may not post to"
    );
    assert_eq!(replies[3], "250 2.1.5 Ok", "p without l is enough to post");
    let unknown = &replies[7];
    assert!(unknown.starts_with("550 5.1.1 "), "{replies:?}");
    for (i, r) in replies
        .iter()
        .enumerate()
        .filter(|(i, _)| ![0, 1, 2, 3].contains(i))
    {
        assert_eq!(r, unknown, "recipient {i}: {replies:?}");
    }
    deliver(server.lmtp_port, &["bb+shared.board"], MESSAGE);
    assert_eq!(counts(&server, "bovik", &["shared.board", "INBOX"]), [1, 0]);

    // Without `postuser`, `bb` is just a user name, and not one of ours.
    let plain = common::Server::start();
    let replies = rcpt_replies(plain.lmtp_port, &["bb+shared.board"]);
    assert!(replies[0].starts_with("550 5.1.1 "), "{replies:?}");
}

/// `darius user add NAME` (password `pw-NAME`); its standard output.
fn add_user(server: &common::Server, name: &str) -> String {
    use std::io::Write;
    let mut child = server
        .darius(&["user", "add", name])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "pw-{name}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_dotted_user_logs_in_without_an_inbox_under_the_dot_separator() {
    let server = common::Server::start();
    server.add_user("admin", "pw-admin");
    imap_ok(&server, "admin", &["CREATE shared"]);
    let said = add_user(&server, "john.doe");
    assert!(said.contains("without an INBOX"), "{said}");
    let mut john = Client::login(server.imap_port, "john.doe");
    let select = john.cmd("s1", "SELECT INBOX");
    assert!(
        last(&select).starts_with("s1 NO [NONEXISTENT]"),
        "{select:?}"
    );
    let list = ok(john.cmd("l1", "LIST \"\" \"*\""), "l1");
    assert!(
        list.iter()
            .any(|l| l.contains("\"shared\"") || l.ends_with(" shared\r\n")),
        "{list:?}"
    );
    assert!(!list.iter().any(|l| l.contains("INBOX")), "{list:?}");
    let sub = john.cmd("u1", "SUBSCRIBE shared");
    assert_eq!(
        last(&sub).trim_end(),
        "u1 NO [CANNOT] Only users with an INBOX may subscribe"
    );
    let lsub = ok(john.cmd("u2", "LSUB \"\" \"*\""), "u2");
    assert_eq!(lsub.len(), 1, "{lsub:?}");
    let replies = rcpt_replies(server.lmtp_port, &["john.doe", "nobody"]);
    assert_eq!(replies[0], replies[1]);
    assert!(replies[0].starts_with("550 5.1.1 "), "{replies:?}");
    // Deleting the user removes the password; there are no mailboxes to take with it.
    server.del_user("john.doe");
    let mut gone = Client::connect(server.imap_port);
    let login = gone.cmd("l0", "LOGIN john.doe pw-john.doe");
    assert!(last(&login).starts_with("l0 NO"), "{login:?}");
}

#[test]
fn a_dotted_user_has_an_inbox_under_the_unix_separator_and_never_another_users_folder() {
    let server = common::Server::start_with("unixhierarchysep: 1\n");
    server.add_user("admin", "pw-admin");
    server.add_user("bob", "pw-bob");
    imap_ok(
        &server,
        "bob",
        &["CREATE INBOX/secret", "SETACL INBOX/secret anyone p"],
    );
    let said = add_user(&server, "bob.secret");
    assert!(said.contains("created their INBOX"), "{said}");
    let replies = deliver(
        server.lmtp_port,
        &["bob.secret", "bob.secret+secret"],
        MESSAGE,
    );
    assert!(
        replies.iter().all(|r| code(r) == "250 2.1.5"),
        "{replies:?}"
    );
    // Both went to bob.secret's own INBOX (one copy per mailbox per transaction); bob's
    // folder is untouched.
    assert_eq!(counts(&server, "bob.secret", &["INBOX"]), [1]);
    assert_eq!(counts(&server, "bob", &["INBOX", "INBOX/secret"]), [0, 0]);
    let list = imap_ok(
        &server,
        "bob.secret",
        &["LIST \"\" \"*\"", "SUBSCRIBE INBOX"],
    );
    assert!(
        list.iter()
            .any(|l| l.starts_with("* LIST") && l.trim_end().ends_with(" INBOX")),
        "{list:?}"
    );
    // Others see it under its userid, with the dot, and the administrator's internal name is
    // `user.bob^secret`, shown with the client separator.
    let admin = imap_ok(&server, "admin", &["LIST \"\" \"user/*\""]);
    assert!(
        admin
            .iter()
            .any(|l| l.trim_end().ends_with(" user/bob.secret")),
        "{admin:?}"
    );
    assert!(
        admin
            .iter()
            .any(|l| l.trim_end().ends_with(" user/bob/secret")),
        "{admin:?}"
    );
}

#[test]
fn a_folder_renamed_or_deleted_between_rcpt_and_data_defers_with_451_and_stores_nothing() {
    let server = common::Server::start();
    server.add_user("admin", "pw-admin");
    server.add_user("bovik", "pw-bovik");
    server.add_user("carol", "pw-carol");
    imap_ok(
        &server,
        "bovik",
        &[
            "CREATE INBOX.moving",
            "SETACL INBOX.moving anyone p",
            "SETACL INBOX.moving admin lrswipkxtea",
            "CREATE INBOX.going",
            "SETACL INBOX.going anyone p",
            "SETACL INBOX.going admin lrswipkxtea",
        ],
    );
    imap_ok(&server, "carol", &["SETACL INBOX admin lrswipkxtea"]);
    // Accepted at RCPT, then the folder changes hands before the data ends.
    for (rcpt, change) in [
        ("bovik+moving", "RENAME user.bovik.moving user.carol.moved"),
        ("bovik+going", "DELETE user.bovik.going"),
    ] {
        let mut c = lmtp_support::Client::connect(server.lmtp_port);
        c.send(format!("LHLO x\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<{rcpt}>\r\n").as_bytes());
        c.expect("250-");
        c.expect("250 2.1.0");
        c.expect("250 2.1.5");
        imap_ok(&server, "admin", &[change]);
        c.send(b"DATA\r\n");
        c.expect("354 ");
        c.send(MESSAGE);
        c.send(b".\r\n");
        let reply = c.reply();
        assert!(
            reply.starts_with("451 4.2.0 "),
            "{rcpt} after {change}: {reply}"
        );
    }
    // The renamed folder kept its ACL, which lets the administrator read it.
    assert_eq!(counts(&server, "admin", &["user.carol.moved"]), [0]);
    assert_eq!(counts(&server, "carol", &["INBOX"]), [0]);
    assert_eq!(
        counts(&server, "bovik", &["INBOX"]),
        [0],
        "nothing was stored anywhere"
    );
    // The MTA's retry finds where the mail goes now: the INBOX, the folder being gone.
    let replies = deliver(server.lmtp_port, &["bovik+moving"], MESSAGE);
    assert_eq!(code(&replies[0]), "250 2.1.5");
    assert_eq!(counts(&server, "bovik", &["INBOX"]), [1]);
}
