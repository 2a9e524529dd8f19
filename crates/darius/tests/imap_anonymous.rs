//! Anonymous IMAP over a real socket (`allowanonymouslogin`, RFC 4314 §2's `anonymous`): an
//! ACL of `anyone lr` makes a public read-only archive that `LOGIN anonymous` reads without
//! keeping any state (no `\Seen`, no subscriptions), while everything that would change the
//! archive or create a mailbox is refused; a negative `-anonymous` entry takes rights from
//! anonymous alone. With the option off, `LOGIN anonymous` is refused as in Cyrus, even for a
//! user so named.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use imap_support::{last, Client};

fn ok(lines: Vec<String>, tag: &str) -> Vec<String> {
    assert!(last(&lines).starts_with(&format!("{tag} OK")), "{lines:?}");
    lines
}

/// The tagged line without its tag.
fn answer(lines: &[String]) -> String {
    let l = last(lines).trim_end();
    l[l.find(' ').unwrap() + 1..].to_string()
}

fn refused(lines: &[String], code: &str) {
    assert!(
        answer(lines).starts_with(&format!("NO [{code}]")),
        "{code}: {lines:?}"
    );
}

const MESSAGE: &str = "Subject: minutes\r\n\r\nThe board met.\r\n";

fn append(client: &mut Client, tag: &str, mailbox: &str) -> Vec<String> {
    client.cmd(
        tag,
        &format!("APPEND {mailbox} {{{}+}}\r\n{MESSAGE}", MESSAGE.len()),
    )
}

/// A server with anonymous login on, users `admin` and `bob`, and `shared.archive` (one
/// message, `anyone lr`) beside `shared.private` (no entry for anyone).
fn archive_server() -> (common::Server, Client) {
    let server = common::Server::start_with("allowanonymouslogin: yes\n");
    for user in ["admin", "bob"] {
        server.add_user(user, &format!("pw-{user}"));
    }
    let mut admin = Client::login(server.imap_port, "admin");
    for mailbox in ["shared.archive", "shared.private"] {
        ok(admin.cmd("a1", &format!("CREATE {mailbox}")), "a1");
        ok(
            admin.cmd("a2", &format!("SETACL {mailbox} admin lrswipkxtean")),
            "a2",
        );
    }
    ok(append(&mut admin, "a3", "shared.archive"), "a3");
    ok(admin.cmd("a4", "SETACL shared.archive anyone lr"), "a4");
    ok(admin.cmd("a5", "DELETEACL shared.private anyone"), "a5");
    (server, admin)
}

fn anonymous(port: u16) -> Client {
    let mut c = Client::connect(port);
    let r = ok(c.cmd("l0", "LOGIN anonymous guest@example.org"), "l0");
    assert!(last(&r).contains("Anonymous access granted"), "{r:?}");
    c
}

#[test]
fn anyone_lr_is_a_public_read_only_archive_for_anonymous() {
    let (server, _admin) = archive_server();
    let mut anon = anonymous(server.imap_port);

    let list = ok(anon.cmd("n1", "LIST \"\" \"*\""), "n1");
    assert!(
        list.iter()
            .any(|l| l.trim_end().ends_with(" shared.archive")),
        "{list:?}"
    );
    assert!(
        !list
            .iter()
            .any(|l| l.contains("shared.private") || l.contains("INBOX")),
        "{list:?}"
    );
    let mine = ok(anon.cmd("n2", "MYRIGHTS shared.archive"), "n2");
    assert_eq!(mine[0].trim_end(), "* MYRIGHTS shared.archive lr");
    // No INBOX and no personal namespace: anonymous owns nothing.
    let ns = ok(anon.cmd("n3", "NAMESPACE"), "n3");
    assert!(ns[0].starts_with("* NAMESPACE NIL "), "{ns:?}");
    let r = anon.cmd("n4", "SELECT INBOX");
    assert!(answer(&r).starts_with("NO "), "{r:?}");

    let r = ok(anon.cmd("s1", "SELECT shared.archive"), "s1");
    assert!(last(&r).starts_with("s1 OK [READ-ONLY]"), "{r:?}");
    let body = ok(anon.cmd("s2", "FETCH 1 (BODY[])"), "s2").concat();
    assert!(
        body.contains("The board met.") && !body.contains("\\Seen"),
        "{body}"
    );
    let flags = ok(anon.cmd("s3", "FETCH 1 (FLAGS)"), "s3");
    assert!(!flags[0].contains("\\Seen"), "{flags:?}");

    refused(&anon.cmd("w1", "STORE 1 +FLAGS (\\Seen)"), "NOPERM");
    refused(&anon.cmd("w2", "STORE 1 +FLAGS (\\Flagged)"), "NOPERM");
    refused(&anon.cmd("w3", "EXPUNGE"), "NOPERM");
    refused(&anon.cmd("w4", "COPY 1 shared.archive"), "NOPERM");
    refused(&anon.cmd("w5", "MOVE 1 shared.archive"), "NOPERM");
    refused(&append(&mut anon, "w6", "shared.archive"), "NOPERM");
    refused(&anon.cmd("w7", "CREATE shared.archive.mine"), "NOPERM");
    refused(
        &anon.cmd("w8", "RENAME shared.archive shared.mine"),
        "NOPERM",
    );
    refused(
        &anon.cmd("w9", "SETACL shared.archive anonymous lrswi"),
        "NOPERM",
    );

    // Subscriptions live with an INBOX: anonymous has none to keep them in.
    let r = anon.cmd("u1", "SUBSCRIBE shared.archive");
    assert!(answer(&r).starts_with("NO "), "{r:?}");
    let lsub = ok(anon.cmd("u2", "LSUB \"\" \"*\""), "u2");
    assert_eq!(lsub.len(), 1, "{lsub:?}");

    // A mailbox anonymous may not see answers exactly like one that does not exist.
    for command in ["SELECT", "STATUS", "MYRIGHTS", "GETACL"] {
        let suffix = if command == "STATUS" {
            " (MESSAGES)"
        } else {
            ""
        };
        let hidden = anon.cmd("h", &format!("{command} shared.private{suffix}"));
        let missing = anon.cmd("h", &format!("{command} shared.nothing{suffix}"));
        assert_eq!(answer(&hidden), answer(&missing), "{command}");
        refused(&hidden, "NONEXISTENT");
    }
    // CREATE under a name anonymous cannot see never says it exists.
    let hidden = anon.cmd("c1", "CREATE shared.private");
    let missing = anon.cmd("c2", "CREATE shared.nothing");
    assert_eq!(answer(&hidden), answer(&missing));
    refused(&hidden, "NOPERM");
}

/// Cyrus keeps no seen state for anonymous: even an ACL that gives `anyone` the `s` right
/// leaves the anonymous session read-only, and its fetches mark nothing for the next visitor.
#[test]
fn anonymous_keeps_no_seen_state_even_with_the_s_right() {
    let (server, mut admin) = archive_server();
    ok(admin.cmd("a1", "SETACL shared.archive anyone lrs"), "a1");
    let mut anon = anonymous(server.imap_port);
    let mine = ok(anon.cmd("n1", "MYRIGHTS shared.archive"), "n1");
    assert_eq!(mine[0].trim_end(), "* MYRIGHTS shared.archive lrs");
    let r = ok(anon.cmd("s1", "SELECT shared.archive"), "s1");
    assert!(last(&r).starts_with("s1 OK [READ-ONLY]"), "{r:?}");
    let body = ok(anon.cmd("s2", "FETCH 1 (BODY[])"), "s2").concat();
    assert!(!body.contains("\\Seen"), "{body}");
    refused(&anon.cmd("s3", "STORE 1 +FLAGS (\\Seen)"), "NOPERM");
    let mut next = anonymous(server.imap_port);
    ok(next.cmd("t1", "SELECT shared.archive"), "t1");
    let flags = ok(next.cmd("t2", "FETCH 1 (FLAGS)"), "t2");
    assert!(!flags[0].contains("\\Seen"), "{flags:?}");
    // bob, a user, keeps his own `\Seen` with the same entry.
    let mut bob = Client::login(server.imap_port, "bob");
    let r = ok(bob.cmd("b1", "SELECT shared.archive"), "b1");
    assert!(last(&r).starts_with("b1 OK [READ-WRITE]"), "{r:?}");
    let body = ok(bob.cmd("b2", "FETCH 1 (BODY[])"), "b2").concat();
    assert!(body.contains("\\Seen"), "{body}");
}

/// RFC 4314 §2: a negative `-anonymous` entry takes rights from the anonymous identity only;
/// users keep what `anyone` gives them.
#[test]
fn a_negative_anonymous_entry_takes_rights_from_anonymous_alone() {
    let (server, mut admin) = archive_server();
    ok(admin.cmd("a1", "SETACL shared.archive -anonymous r"), "a1");
    let mut anon = anonymous(server.imap_port);
    let mut bob = Client::login(server.imap_port, "bob");
    let mine = ok(anon.cmd("n1", "MYRIGHTS shared.archive"), "n1");
    assert_eq!(mine[0].trim_end(), "* MYRIGHTS shared.archive l");
    refused(&anon.cmd("n2", "SELECT shared.archive"), "NOPERM");
    ok(bob.cmd("b1", "SELECT shared.archive"), "b1");

    ok(admin.cmd("a2", "SETACL shared.archive -anonymous lr"), "a2");
    let list = ok(anon.cmd("n3", "LIST \"\" \"shared*\""), "n3");
    assert!(
        !list.iter().any(|l| l.contains("shared.archive")),
        "{list:?}"
    );
    let hidden = anon.cmd("n4", "SELECT shared.archive");
    let missing = anon.cmd("n5", "SELECT shared.nothing");
    assert_eq!(answer(&hidden), answer(&missing));
    let list = ok(bob.cmd("b2", "LIST \"\" \"shared*\""), "b2");
    assert!(
        list.iter().any(|l| l.contains("shared.archive")),
        "{list:?}"
    );
}

/// Without `allowanonymouslogin` (the default), as in Cyrus, `LOGIN anonymous` is refused
/// without a password check (no user may be named `anonymous`: ACLs give the name its own
/// meaning); and AUTHENTICATE PLAIN never opens an anonymous session (that is SASL
/// ANONYMOUS's job).
#[test]
fn anonymous_login_is_refused_unless_allowed() {
    let server = common::Server::start();
    let password = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(password.path(), "pw-anonymous\n").unwrap();
    let out = server
        .darius(&["user", "add", "anonymous", "--password-file"])
        .arg(password.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "user add anonymous was accepted");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("reserved"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = Client::connect(server.imap_port);
    let caps = ok(c.cmd("c0", "CAPABILITY"), "c0");
    assert!(
        caps[0].contains("AUTH=PLAIN") && !caps[0].contains("LOGINDISABLED"),
        "{caps:?}"
    );
    assert!(!caps[0].contains("AUTH=ANONYMOUS"), "{caps:?}");
    for (tag, login) in [
        ("c1", "LOGIN anonymous pw-anonymous"),
        ("c2", "LOGIN Anonymous guest"),
    ] {
        let r = c.cmd(tag, login);
        refused(&r, "AUTHENTICATIONFAILED");
        assert!(
            last(&r).contains("Anonymous login is not permitted"),
            "{r:?}"
        );
    }

    let on = common::Server::start_with("allowanonymouslogin: yes\n");
    let mut c = Client::connect(on.imap_port);
    // base64 of "\0anonymous\0guest"
    let r = c.cmd("p1", "AUTHENTICATE PLAIN AGFub255bW91cwBndWVzdA==");
    refused(&r, "AUTHENTICATIONFAILED");
    ok(c.cmd("p2", "LOGIN anonymous guest"), "p2");
    let caps = ok(c.cmd("p3", "CAPABILITY"), "p3");
    assert!(caps[0].contains(" ACL"), "{caps:?}");
}
