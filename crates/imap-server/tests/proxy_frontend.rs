//! What a Murder frontend offers of its own, over real sockets: capabilities narrowed to what
//! every backend offers, MAILBOX-REFERRALS (RFC 2193) for clients that ask for referrals, and
//! subscriptions kept at the backend of the user's INBOX, the same through every frontend.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod murder;

use murder::{Client, Frontend, Murder, Setup, PROXY_PASSWORD};

/// The capabilities in a CAPABILITY response or response code.
fn capabilities(text: &str) -> Vec<String> {
    let start = text.find("CAPABILITY ").unwrap() + "CAPABILITY ".len();
    let end = text[start..]
        .find([']', '\r'])
        .map_or(text.len(), |e| start + e);
    text[start..end].split(' ').map(String::from).collect()
}

fn has(caps: &[String], name: &str) -> bool {
    caps.iter().any(|c| c.eq_ignore_ascii_case(name))
}

fn login(port: u16) -> (Client, Vec<String>) {
    let mut client = Client::connect(port);
    let answer = client.ok("L1", "LOGIN ann ann-pw");
    (client, capabilities(&answer.tagged))
}

#[test]
fn a_frontend_offers_only_what_every_backend_offers() {
    let murder = Murder::start_setup(Setup {
        kind: Frontend::Only,
        proxy_password: PROXY_PASSWORD,
        second_suppresses: &["CONDSTORE", "QRESYNC"],
        tls: None,
    });
    // b2 itself shows neither, and does not enable them.
    let mut b2 = murder.second("ann");
    let caps = capabilities(&b2.ok("a", "CAPABILITY").text());
    assert!(
        !has(&caps, "CONDSTORE") && !has(&caps, "QRESYNC"),
        "{caps:?}"
    );
    assert!(has(&caps, "IDLE"), "{caps:?}");
    assert_eq!(b2.ok("b", "ENABLE CONDSTORE").text(), "* ENABLED\r\n");

    // Before login the frontend's own list stands (no backend is involved yet).
    let mut front = Client::connect(murder.frontend_port);
    let before = capabilities(&front.ok("a", "CAPABILITY").text());
    assert!(has(&before, "IMAP4rev1"), "{before:?}");
    assert!(!has(&before, "MAILBOX-REFERRALS"), "{before:?}");
    assert!(!has(&before, "IDLE"), "{before:?}");

    // After login: the response code and CAPABILITY agree, without what b2 lacks.
    let (mut front, at_login) = login(murder.frontend_port);
    let after = capabilities(&front.ok("b", "CAPABILITY").text());
    assert_eq!(at_login, after);
    for gone in ["CONDSTORE", "QRESYNC"] {
        assert!(!has(&after, gone), "{gone}: {after:?}");
    }
    for kept in [
        "IMAP4rev1",
        "IDLE",
        "MOVE",
        "UIDPLUS",
        "LITERAL+",
        "MAILBOX-REFERRALS",
    ] {
        assert!(has(&after, kept), "{kept}: {after:?}");
    }
    // ENABLE takes only what CAPABILITY shows.
    assert_eq!(
        front.ok("c", "ENABLE CONDSTORE QRESYNC").text(),
        "* ENABLED\r\n"
    );
    let select = front.run("d", "SELECT INBOX (CONDSTORE)");
    assert!(select.tagged.starts_with("BAD"), "{}", select.tagged);
    front.ok("e", "SELECT INBOX");
}

#[test]
fn with_backends_alike_the_frontend_offers_and_enables_condstore() {
    let murder = Murder::start(Frontend::Only);
    let (mut front, caps) = login(murder.frontend_port);
    assert!(has(&caps, "CONDSTORE") && has(&caps, "QRESYNC"), "{caps:?}");
    assert!(has(&caps, "MAILBOX-REFERRALS"), "{caps:?}");
    assert_eq!(
        front.ok("a", "ENABLE CONDSTORE").text(),
        "* ENABLED CONDSTORE\r\n"
    );
    // A backend shows no MAILBOX-REFERRALS: it refers nobody anywhere.
    let mut backend = murder.backend("ann");
    let caps = capabilities(&backend.ok("b", "CAPABILITY").text());
    assert!(!has(&caps, "MAILBOX-REFERRALS"), "{caps:?}");
}

#[test]
fn referrals_go_only_to_clients_that_used_rlist_or_rlsub() {
    let murder = Murder::start(Frontend::Only);
    let b1 = format!("127.0.0.1:{}", murder.backend_port);
    let b2 = format!("127.0.0.1:{}", murder.second_port);
    let mut front = murder.frontend("ann");
    // Not asked for: proxied as ever.
    front.ok("a", "EXAMINE INBOX.Work");
    front.ok("b", "CLOSE");
    // RLIST answers as LIST, with every server's mailboxes.
    let rlist = front.ok("c", "RLIST \"\" \"*\"");
    for name in ["INBOX", "INBOX.Work", "shared.team", "shared.other"] {
        assert!(
            rlist.text().contains(&format!(" {name}\r\n")),
            "{}",
            rlist.text()
        );
    }
    assert_eq!(rlist.text(), front.ok("d", "LIST \"\" \"*\"").text());
    let select = front.run("e", "SELECT INBOX.Work");
    assert_eq!(
        select.tagged,
        format!("NO [REFERRAL imap://ann;AUTH=*@{b1}/INBOX.Work] Remote mailbox")
    );
    assert!(select.untagged.is_empty(), "{}", select.text());
    let examine = front.run("f", "EXAMINE shared.other");
    assert_eq!(
        examine.tagged,
        format!("NO [REFERRAL imap://ann;AUTH=*@{b2}/shared.other] Remote mailbox")
    );
    // APPEND is referred before the message is sent: no continuation request.
    front.send(b"g APPEND INBOX {5}\r\n");
    let refused = front.answer("g");
    assert_eq!(
        refused.tagged,
        format!("NO [REFERRAL imap://ann;AUTH=*@{b1}/INBOX] Remote mailbox")
    );
    assert!(refused.untagged.is_empty(), "{}", refused.text());
    let delete = front.run("h", "DELETE INBOX.Work");
    assert!(
        delete.tagged.starts_with("NO [REFERRAL "),
        "{}",
        delete.tagged
    );
    let status = ann_at_b1(&murder);
    assert!(status.contains("INBOX.Work"), "{status}");
    // What is not referred is still proxied.
    front.ok("i", "STATUS INBOX.Work (MESSAGES)");

    // RLSUB says the same; a session that used neither is proxied.
    let mut other = murder.frontend("ann");
    other.ok("a", "SELECT INBOX.Work");
    other.ok("b", "RLSUB \"\" \"*\"");
    let select = other.run("c", "SELECT INBOX");
    assert!(
        select.tagged.starts_with("NO [REFERRAL imap://ann;AUTH=*@"),
        "{}",
        select.tagged
    );
}

/// The backend's own LIST of ann's mailboxes, in a session of its own.
fn ann_at_b1(murder: &Murder) -> String {
    murder.backend("ann").ok("s", "LIST \"\" \"INBOX*\"").text()
}

#[test]
fn subscriptions_are_the_same_through_every_frontend_and_at_the_backend() {
    let murder = Murder::start(Frontend::Only);
    let mut f1 = murder.frontend("ann");
    f1.ok("a", "SUBSCRIBE INBOX.Work");
    f1.ok("b", "SUBSCRIBE shared.team");
    // A mailbox ann may not see is refused there, as on a single server.
    let refused = murder.frontend("bob").run("c", "SUBSCRIBE shared.team");
    assert!(refused.tagged.starts_with("NO"), "{}", refused.tagged);

    let lsub = "LSUB \"\" \"*\"";
    let expected = "* LSUB () \".\" INBOX.Work\r\n* LSUB () \".\" shared.team\r\n";
    let mut f2 = murder.second_frontend("ann");
    assert_eq!(f2.ok("d", lsub).text(), expected);
    assert_eq!(murder.backend("ann").ok("e", lsub).text(), expected);
    let list_subscribed = "LIST (SUBSCRIBED) \"\" \"*\"";
    let subscribed = f2.ok("f", list_subscribed).text();
    assert_eq!(
        subscribed,
        "* LIST (\\HasNoChildren \\Subscribed) \".\" INBOX.Work\r\n\
         * LIST (\\HasNoChildren \\Subscribed) \".\" shared.team\r\n"
    );
    assert_eq!(
        subscribed,
        murder.backend("ann").ok("f2", list_subscribed).text()
    );
    let list_returning = "LIST \"\" \"INBOX*\" RETURN (SUBSCRIBED)";
    let returned = f2.ok("g", list_returning).text();
    assert!(
        returned.contains("\\Subscribed) \".\" INBOX.Work\r\n"),
        "{returned}"
    );
    assert_eq!(
        returned,
        murder.backend("ann").ok("g2", list_returning).text()
    );
    // Nothing is kept on the frontends.
    assert!(murder
        .frontend_store
        .subscriptions("ann")
        .unwrap()
        .is_empty());

    // A change at the backend shows through the frontends, and one through f2 at the backend.
    murder.backend("ann").ok("h", "UNSUBSCRIBE shared.team");
    assert_eq!(f1.ok("i", lsub).text(), "* LSUB () \".\" INBOX.Work\r\n");
    f2.ok("j", "UNSUBSCRIBE INBOX.Work");
    assert_eq!(murder.backend("ann").ok("k", lsub).text(), "");
    let gone = f1.run("l", "UNSUBSCRIBE INBOX.Work");
    assert!(gone.tagged.starts_with("NO"), "{}", gone.tagged);
}

#[test]
fn without_the_inbox_backend_lsub_is_unavailable_and_list_still_answers() {
    let mut murder = Murder::start(Frontend::Only);
    murder.backend("ann").ok("a", "SUBSCRIBE INBOX.Work");
    let mut front = murder.frontend("ann");
    murder.stop_backend();
    let lsub = front.run("b", "LSUB \"\" \"*\"");
    assert!(
        lsub.tagged.starts_with("NO [UNAVAILABLE]"),
        "{}",
        lsub.tagged
    );
    let subscribe = front.run("c", "SUBSCRIBE shared.other");
    assert!(
        subscribe.tagged.starts_with("NO [UNAVAILABLE]"),
        "{}",
        subscribe.tagged
    );
    let list = front.ok("d", "LIST \"\" \"*\"");
    assert!(list.text().contains(" INBOX.Work\r\n"), "{}", list.text());
}

/// Python's imaplib, a client nobody here wrote, follows a referral from the frontend to
/// the backend, and sees subscriptions made through one frontend through the other.
#[test]
fn imaplib_follows_referrals_and_sees_subscriptions_everywhere() {
    if !have_python() {
        return;
    }
    let murder = Murder::start(Frontend::Only);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/interop/imaplib_referrals.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .env("FRONTEND_PORT", murder.frontend_port.to_string())
        .env(
            "SECOND_FRONTEND_PORT",
            murder.second_frontend_port.to_string(),
        )
        .env("BACKEND_PORT", murder.backend_port.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `python3` runs; without it the test says so and passes, unless
/// `DARIUS_REQUIRE_INTEROP=1` (docs/TESTING.md).
fn have_python() -> bool {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("DARIUS_REQUIRE_INTEROP").as_deref() != Ok("1"),
            "python3 is required (DARIUS_REQUIRE_INTEROP=1)"
        );
        eprintln!("python3 not found: skipping");
    }
    found
}
