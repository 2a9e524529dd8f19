//! Virtual domains (`virtdomains`, issue 20) against a real `darius serve`: two domains each
//! with an `alice` and a `shared.news`, seen over IMAP by each alice, by a domain administrator
//! and by a global one (LIST, STATUS, SELECT, ACL identifiers, quota roots never crossing a
//! domain); LMTP routing by the recipient's domain with `550 5.1.2` for an unknown one; and a
//! store made without domains that keeps working once they are turned on.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;

use imap_support::{last, Client};

const DOMAINS: &str = "virtdomains: userid\ndefaultdomain: example.org\n\
                       admins: admin postmaster@one.example\n";

fn ok(r: &[String]) {
    assert!(last(r).split_whitespace().nth(1) == Some("OK"), "{r:?}");
}

fn no(r: &[String]) {
    assert!(last(r).split_whitespace().nth(1) == Some("NO"), "{r:?}");
}

/// The mailbox names of a `LIST "" "*"` answer, as sent.
fn listed(c: &mut Client) -> Vec<String> {
    let r = c.cmd("li", "LIST \"\" \"*\"");
    ok(&r);
    r.iter()
        .filter(|l| l.starts_with("* LIST"))
        .map(|l| {
            l.trim_end()
                .rsplit_once(' ')
                .unwrap()
                .1
                .trim_matches('"')
                .to_string()
        })
        .collect()
}

fn append(c: &mut Client, mailbox: &str, subject: &str) {
    let m = format!("From: x@example.net\r\nSubject: {subject}\r\n\r\nbody\r\n");
    ok(&c.cmd("ap", &format!("APPEND {mailbox} {{{}+}}\r\n{m}", m.len())));
}

/// The subjects in a mailbox, in UID order (selected read-only).
fn subjects(c: &mut Client, mailbox: &str) -> Vec<String> {
    ok(&c.cmd("ex", &format!("EXAMINE {mailbox}")));
    let r = c.cmd("f", "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    ok(&r);
    r.iter()
        .filter_map(|l| l.strip_prefix("Subject: "))
        .map(|s| s.trim_end().to_string())
        .collect()
}

fn login(port: u16, user: &str) -> Client {
    Client::login(port, user)
}

#[test]
fn two_domains_never_cross_for_users_and_domain_admins() {
    let server = common::Server::start_with(DOMAINS);
    for u in [
        "admin",
        "postmaster@one.example",
        "alice@one.example",
        "alice@two.example",
        "bob@one.example",
    ] {
        server.add_user(u, &format!("pw-{u}"));
    }
    let port = server.imap_port;

    // A global administrator names every domain's mailboxes as `NAME@DOMAIN`.
    let mut admin = login(port, "admin");
    for d in ["one.example", "two.example"] {
        ok(&admin.cmd("c", &format!("CREATE shared.news@{d}")));
        // An unqualified identifier is of the mailbox's domain; the global administrator
        // names itself with the default domain (written bare in the ACL).
        ok(&admin.cmd(
            "a",
            &format!("SETACL shared.news@{d} admin@example.org lrsip"),
        ));
        let acl = admin.cmd("g", &format!("GETACL shared.news@{d}"));
        assert!(acl[0].contains(" admin lrsip"), "{acl:?}");
        append(
            &mut admin,
            &format!("shared.news@{d}"),
            &format!("news of {d}"),
        );
    }
    let all = listed(&mut admin);
    for name in [
        "user.alice@one.example",
        "user.alice@two.example",
        "shared.news@one.example",
        "shared.news@two.example",
        "shared@one.example",
        "user@two.example",
        "INBOX",
    ] {
        assert!(all.contains(&name.to_string()), "{name} in {all:?}");
    }

    for (d, other) in [
        ("one.example", "two.example"),
        ("two.example", "one.example"),
    ] {
        let mut alice = login(port, &format!("alice@{d}"));
        let names = listed(&mut alice);
        assert!(names.contains(&"INBOX".to_string()), "{names:?}");
        assert!(names.contains(&"shared.news".to_string()), "{names:?}");
        assert!(
            names.iter().all(|n| !n.contains('@') && !n.contains('!')),
            "no other domain's names: {names:?}"
        );
        assert_eq!(
            subjects(&mut alice, "shared.news"),
            [format!("news of {d}")]
        );
        let st = alice.cmd("s", "STATUS shared.news (MESSAGES)");
        ok(&st);
        assert!(st[0].contains("MESSAGES 1"), "{st:?}");
        // The other domain's folder is not there, however it is written.
        for name in [
            format!("shared.news@{other}"),
            format!("{other}!shared.news"),
            format!("user.alice@{other}"),
        ] {
            no(&alice.cmd("s", &format!("SELECT \"{name}\"")));
            no(&alice.cmd("s", &format!("STATUS \"{name}\" (MESSAGES)")));
        }
        // ACL identifiers are qualified with the mailbox's domain; another domain's are refused.
        ok(&alice.cmd("a", "SETACL INBOX bob lr"));
        let acl = alice.cmd("g", "GETACL INBOX");
        ok(&acl);
        assert!(acl[0].contains(&format!("bob@{d} lr")), "{acl:?}");
        assert!(acl[0].contains(&format!("alice@{d} ")), "{acl:?}");
        no(&alice.cmd("a", &format!("SETACL INBOX bob@{other} lr")));
        // The domain's anonymous and `anyone` are its own: bob of this domain now sees the
        // INBOX (when he exists), nobody of the other.
        alice.cmd("lo", "LOGOUT");
    }

    // bob@one.example sees alice@one.example's INBOX through `bob` in her ACL; alice@two's
    // ACL names bob@two.example, who reaches nothing of one.example.
    let mut bob = login(port, "bob@one.example");
    let names = listed(&mut bob);
    assert!(names.contains(&"user.alice".to_string()), "{names:?}");
    bob.cmd("lo", "LOGOUT");

    // Quota roots: a whole domain for the global administrator; within it, the domain's
    // administrator sets users' roots; neither crosses to the other domain.
    ok(&admin.cmd("q", "SETQUOTA @one.example (STORAGE 100000)"));
    let mut pm = login(port, "postmaster@one.example");
    ok(&pm.cmd("c", "CREATE user.carol"));
    ok(&pm.cmd("q", "SETQUOTA user.carol (STORAGE 500)"));
    let r = pm.cmd("q", "GETQUOTA user.carol");
    ok(&r);
    assert!(
        r[0].starts_with("* QUOTA user.carol (STORAGE 0 500)"),
        "{r:?}"
    );
    no(&pm.cmd("q", "SETQUOTA @one.example (STORAGE 1)"));
    no(&pm.cmd("q", "SETQUOTA user.alice@two.example (STORAGE 1)"));
    no(&pm.cmd("c", "CREATE user.dave@two.example"));
    no(&pm.cmd("d", "DELETE user.alice@two.example"));
    no(&pm.cmd("g", "GETACL shared.news@two.example"));
    no(&pm.cmd("g", "SETACL shared.news@two.example anyone lrswipkxte"));
    let names = listed(&mut pm);
    assert!(names.contains(&"user.alice".to_string()), "{names:?}");
    assert!(names.contains(&"user.carol".to_string()), "{names:?}");
    assert!(
        names.iter().all(|n| !n.contains('@') && !n.contains('!')),
        "{names:?}"
    );
    let all = listed(&mut admin);
    assert!(
        all.contains(&"user.carol@one.example".to_string()),
        "{all:?}"
    );
    assert!(
        !all.contains(&"user.dave@two.example".to_string()),
        "{all:?}"
    );

    let mut alice1 = login(port, "alice@one.example");
    let r = alice1.cmd("q", "GETQUOTAROOT INBOX");
    ok(&r);
    assert!(
        r.iter()
            .any(|l| l.starts_with("* QUOTAROOT INBOX @one.example")),
        "{r:?}"
    );
    let mut alice2 = login(port, "alice@two.example");
    let r = alice2.cmd("q", "GETQUOTAROOT INBOX");
    ok(&r);
    assert!(
        r.iter().all(|l| !l.contains("one.example")),
        "no root of the other domain: {r:?}"
    );
    no(&alice2.cmd("q", "GETQUOTA @one.example"));
    // Her own domain's root she may read, not set.
    let r = alice1.cmd("q", "GETQUOTA @one.example");
    ok(&r);
    assert!(r[0].starts_with("* QUOTA @one.example (STORAGE "), "{r:?}");
    no(&alice1.cmd("q", "SETQUOTA @one.example (STORAGE 1)"));

    // The global administrator reaches both.
    ok(&admin.cmd("q", "SETQUOTA user.alice@two.example (STORAGE 700)"));
    ok(&admin.cmd("g", "GETACL user.alice@two.example"));
    ok(&admin.cmd("d", "DELETE user.carol@one.example"));
}

#[test]
fn lmtp_routes_by_the_recipients_domain() {
    // one.example has a partition of its own (item 9); two.example uses the default one.
    let server =
        common::Server::start_with(&format!("{DOMAINS}partition-one.example: {{base}}/one\n"));
    for u in ["admin", "alice@one.example", "alice@two.example", "carol"] {
        server.add_user(u, &format!("pw-{u}"));
    }
    let msg = |s: &str| format!("From: x@example.net\r\nSubject: {s}\r\n\r\nhi\r\n");
    for (rcpt, subject) in [
        ("alice@one.example", "to one"),
        ("Alice@TWO.example", "to two"),
        ("carol@example.org", "to carol"),
        ("carol", "to carol bare"),
    ] {
        let replies = lmtp_support::deliver(server.lmtp_port, &[rcpt], msg(subject).as_bytes());
        assert!(replies[0].starts_with("250 "), "{rcpt}: {replies:?}");
    }
    let replies = lmtp_support::rcpt_replies(
        server.lmtp_port,
        &[
            "alice@nowhere.example",
            "alice@example.org",
            "bob@one.example",
            "alice@one.example",
        ],
    );
    assert!(replies[0].starts_with("550 5.1.2"), "{replies:?}");
    assert!(replies[1].starts_with("550 5.1.1"), "{replies:?}");
    assert!(replies[2].starts_with("550 5.1.1"), "{replies:?}");
    assert!(replies[3].starts_with("250 "), "{replies:?}");

    let one = lmtp_support::message_files(&server.dir.path().join("one"));
    assert_eq!(
        one.len(),
        1,
        "alice@one.example's message on her domain's partition: {one:?}"
    );
    let default = lmtp_support::message_files(&server.dir.path().join("spool"));
    assert_eq!(default.len(), 3, "{default:?}");

    let port = server.imap_port;
    let mut a1 = login(port, "alice@one.example");
    assert_eq!(subjects(&mut a1, "INBOX"), ["to one"]);
    let mut a2 = login(port, "alice@two.example");
    assert_eq!(subjects(&mut a2, "INBOX"), ["to two"]);
    // Cyrus's `user%domain` form is the same user.
    let mut a2 = Client::connect(port);
    ok(&a2.cmd("l", "LOGIN \"alice%Two.Example\" pw-alice@two.example"));
    assert_eq!(subjects(&mut a2, "INBOX"), ["to two"]);
    let mut carol = login(port, "carol");
    assert_eq!(subjects(&mut carol, "INBOX"), ["to carol", "to carol bare"]);
}

/// A store made with domains off keeps every user once `virtdomains` is on: they are the
/// default domain's, reached as before and as `user@defaultdomain`.
#[test]
fn turning_domains_on_keeps_existing_users_in_the_default_domain() {
    let mut server = common::Server::start();
    for u in ["admin", "carol", "dan"] {
        server.add_user(u, &format!("pw-{u}"));
    }
    let replies = lmtp_support::deliver(
        server.lmtp_port,
        &["carol@localhost"],
        b"From: x@example.net\r\nSubject: before\r\n\r\nhi\r\n",
    );
    assert!(replies[0].starts_with("250 "), "{replies:?}");
    let mut admin = login(server.imap_port, "admin");
    ok(&admin.cmd("c", "CREATE shared.board"));
    ok(&admin.cmd("a", "SETACL shared.board dan lrsi"));
    ok(&admin.cmd("c", "CREATE user.carol.Work"));
    ok(&admin.cmd("q", "SETQUOTA user.carol (STORAGE 10000)"));
    admin.cmd("lo", "LOGOUT");
    server.stop();

    let conf = std::fs::read_to_string(&server.conf).unwrap();
    std::fs::write(
        &server.conf,
        format!("{conf}virtdomains: userid\ndefaultdomain: example.org\n"),
    )
    .unwrap();
    server.restart();
    server.add_user("eve@one.example", "pw-eve@one.example");

    let replies = lmtp_support::deliver(
        server.lmtp_port,
        &["carol@example.org"],
        b"From: x@example.net\r\nSubject: after\r\n\r\nhi\r\n",
    );
    assert!(replies[0].starts_with("250 "), "{replies:?}");
    let mut carol = login(server.imap_port, "carol");
    assert_eq!(subjects(&mut carol, "INBOX"), ["before", "after"]);
    let names = listed(&mut carol);
    assert!(names.contains(&"INBOX.Work".to_string()), "{names:?}");
    let r = carol.cmd("q", "GETQUOTAROOT INBOX");
    assert!(
        r.iter()
            .any(|l| l.starts_with("* QUOTA ") && l.contains("(STORAGE 0 10000)")),
        "{r:?}"
    );
    carol.cmd("lo", "LOGOUT");

    // The same user, naming the default domain.
    let mut carol = Client::connect(server.imap_port);
    ok(&carol.cmd("l", "LOGIN carol@example.org pw-carol"));
    assert_eq!(subjects(&mut carol, "INBOX"), ["before", "after"]);

    let mut dan = login(server.imap_port, "dan");
    let acl = dan.cmd("m", "MYRIGHTS shared.board");
    ok(&acl);
    assert!(acl[0].contains("lrsi"), "{acl:?}");
    // The new domain's user sees none of it.
    let mut eve = login(server.imap_port, "eve@one.example");
    let names = listed(&mut eve);
    assert_eq!(names, ["INBOX"], "{names:?}");
    no(&eve.cmd("s", "SELECT shared.board"));
}
