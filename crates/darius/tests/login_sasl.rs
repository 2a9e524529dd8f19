//! AUTHENTICATE over real sockets: the mechanisms each connection is offered (by TLS state,
//! `sasl_mech_list` and options), the framing rules of RFC 9051 §6.2.2 and RFC 4959 (initial
//! responses, `*` cancellation, bad base64), the generic failure, and proxy authorization
//! (administrators, `proxyservers`, `loginuseacl`). `login_sasl_clients.rs` drives the same
//! server with Cyrus SASL's `imtest`.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use imap_support::{last, Client};

/// No failure delay: these tests fail on purpose, often.
const QUICK: &str = "auth_failure_delay: 0\n";

fn auth_caps(c: &mut Client) -> Vec<String> {
    let r = c.cmd("c", "CAPABILITY");
    r[0].split_whitespace()
        .filter_map(|w| w.strip_prefix("AUTH="))
        .map(String::from)
        .collect()
}

fn plain(authzid: &str, authcid: &str, password: &str) -> String {
    B64.encode(format!("{authzid}\0{authcid}\0{password}"))
}

/// `AUTHENTICATE PLAIN` with an initial response; the tagged answer without its tag.
fn auth_plain(server: &common::Server, authzid: &str, authcid: &str, pw: &str) -> (Client, String) {
    let mut c = Client::connect(server.imap_port);
    let r = c.cmd(
        "a",
        &format!("AUTHENTICATE PLAIN {}", plain(authzid, authcid, pw)),
    );
    let answer = last(&r).trim_end()[2..].to_string();
    (c, answer)
}

/// The user a session is logged in as, from its personal namespace's owner: `MYRIGHTS INBOX`
/// succeeds only for a user with an INBOX, so the test asks the ACL instead.
fn whoami(c: &mut Client) -> String {
    let r = c.cmd("w", "GETACL INBOX");
    assert!(last(&r).starts_with("w OK"), "{r:?}");
    // `* ACL INBOX alice lrswipkxtecdan`: the owner holds every right.
    let words: Vec<&str> = r[0].split_whitespace().collect();
    words[3..]
        .chunks(2)
        .find(|pair| pair.len() == 2 && pair[1].contains('a') && pair[1].contains('x'))
        .map(|pair| pair[0].to_string())
        .unwrap_or_default()
}

#[test]
fn mechanisms_are_offered_by_connection_and_configuration() {
    let server = common::Server::start_with(QUICK);
    let mut c = Client::connect(server.imap_port);
    assert_eq!(
        auth_caps(&mut c),
        ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN"],
        "no -PLUS without TLS, no CRAM-MD5 unless listed, no ANONYMOUS unless allowed, \
         no EXTERNAL without a client certificate, no GSSAPI without Kerberos credentials"
    );
    let r = c.cmd("a", "AUTHENTICATE SCRAM-SHA-256-PLUS");
    assert!(last(&r).starts_with("a NO [PRIVACYREQUIRED]"), "{r:?}");
    for refused in [
        "CRAM-MD5",
        "DIGEST-MD5",
        "ANONYMOUS",
        "EXTERNAL",
        "GSSAPI",
        "X-UNKNOWN",
    ] {
        let r = c.cmd("a", &format!("AUTHENTICATE {refused}"));
        assert!(last(&r).starts_with("a NO [CANNOT]"), "{refused}: {r:?}");
    }

    let server = common::Server::start_with(&format!(
        "{QUICK}sasl_mech_list: cram-md5 plain\nallowanonymouslogin: 1\n"
    ));
    let mut c = Client::connect(server.imap_port);
    assert_eq!(auth_caps(&mut c), ["CRAM-MD5", "PLAIN"]);
    let r = c.cmd("a", "AUTHENTICATE SCRAM-SHA-256");
    assert!(last(&r).starts_with("a NO [CANNOT]"), "not listed: {r:?}");
}

#[test]
fn plain_with_and_without_an_initial_response() {
    let server = common::Server::start_with(QUICK);
    server.add_user("alice", "pw-alice");
    let (mut c, answer) = auth_plain(&server, "", "alice", "pw-alice");
    assert!(answer.starts_with("OK [CAPABILITY "), "{answer}");
    assert_eq!(whoami(&mut c), "alice");

    // No initial response: an empty challenge, then the response on its own line.
    let mut c = Client::connect(server.imap_port);
    c.send(b"a AUTHENTICATE PLAIN\r\n");
    assert_eq!(c.line(), "+ \r\n");
    c.send(format!("{}\r\n", plain("", "alice", "pw-alice")).as_bytes());
    assert!(last(&c.until("a")).starts_with("a OK"));

    // The LOGIN mechanism asks for the user name, then the password.
    let mut c = Client::connect(server.imap_port);
    c.send(b"a AUTHENTICATE LOGIN\r\n");
    let challenge = c.line();
    assert!(challenge.starts_with("+ "), "{challenge}");
    c.send(format!("{}\r\n", B64.encode("alice")).as_bytes());
    assert!(c.line().starts_with("+ "));
    c.send(format!("{}\r\n", B64.encode("pw-alice")).as_bytes());
    assert!(last(&c.until("a")).starts_with("a OK"));
}

#[test]
fn failures_are_generic_and_framing_errors_are_bad() {
    let server = common::Server::start_with(QUICK);
    server.add_user("alice", "pw-alice");
    let (_, wrong) = auth_plain(&server, "", "alice", "wrong");
    let (_, unknown) = auth_plain(&server, "", "nobody", "pw-alice");
    assert_eq!(
        wrong, unknown,
        "a wrong password and an unknown user look alike"
    );
    assert!(wrong.starts_with("NO [AUTHENTICATIONFAILED]"), "{wrong}");

    let mut c = Client::connect(server.imap_port);
    c.send(b"a AUTHENTICATE PLAIN\r\n");
    assert_eq!(c.line(), "+ \r\n");
    c.send(b"*\r\n");
    assert!(last(&c.until("a")).starts_with("a BAD"), "cancelled");

    c.send(b"b AUTHENTICATE PLAIN\r\n");
    c.line();
    c.send(b"not base64!\r\n");
    assert!(last(&c.until("b")).starts_with("b BAD"), "not base64");

    // An empty initial response (`=`) to PLAIN asks for the message with an empty challenge
    // (as no initial response does); an empty message then fails.
    c.send(b"d AUTHENTICATE PLAIN =\r\n");
    assert_eq!(c.line(), "+ \r\n");
    c.send(b"\r\n");
    assert!(last(&c.until("d")).starts_with("d NO [AUTHENTICATIONFAILED]"));

    // An over-long response fails: past the mechanisms' bound, or past the line limit.
    let mut c = Client::connect(server.imap_port);
    let long = B64.encode(vec![b'x'; 8000]);
    let r = c.cmd("e", &format!("AUTHENTICATE PLAIN {long}"));
    assert!(last(&r).starts_with("e NO [AUTHENTICATIONFAILED]"), "{r:?}");
    let longer = B64.encode(vec![b'x'; 20_000]);
    let r = c.cmd("f", &format!("AUTHENTICATE PLAIN {longer}"));
    assert!(last(&r).starts_with("f BAD"), "{r:?}");

    // The third failure in one connection (`auth_max_failures`) closes it.
    let mut c = Client::connect(server.imap_port);
    for tag in ["x", "y"] {
        let r = c.cmd(
            tag,
            &format!("AUTHENTICATE PLAIN {}", plain("", "alice", "no")),
        );
        assert!(last(&r).contains("NO [AUTHENTICATIONFAILED]"), "{r:?}");
    }
    let r = c.cmd(
        "z",
        &format!("AUTHENTICATE PLAIN {}", plain("", "alice", "no")),
    );
    assert!(r.iter().any(|l| l.starts_with("* BYE")), "{r:?}");
    assert!(c.closed());
}

#[test]
fn proxy_logins_are_for_admins_proxyservers_and_loginuseacl() {
    let server = common::Server::start_with(&format!("{QUICK}proxyservers: relay\n"));
    for user in ["alice", "bob", "relay", "admin"] {
        server.add_user(user, &format!("pw-{user}"));
    }
    let (mut c, answer) = auth_plain(&server, "alice", "admin", "pw-admin");
    assert!(
        answer.starts_with("OK"),
        "an admin may act as alice: {answer}"
    );
    assert_eq!(whoami(&mut c), "alice");
    let (mut c, answer) = auth_plain(&server, "alice", "relay", "pw-relay");
    assert!(
        answer.starts_with("OK"),
        "proxyservers may act as alice: {answer}"
    );
    assert_eq!(whoami(&mut c), "alice");
    let (_, answer) = auth_plain(&server, "alice", "bob", "pw-bob");
    assert!(answer.starts_with("NO [AUTHORIZATIONFAILED]"), "{answer}");
    let (_, answer) = auth_plain(&server, "alice", "bob", "wrong");
    assert!(
        answer.starts_with("NO [AUTHENTICATIONFAILED]"),
        "a wrong password says nothing about authorization: {answer}"
    );
    let (_, answer) = auth_plain(&server, "anonymous", "admin", "pw-admin");
    assert!(
        answer.starts_with("NO"),
        "nobody acts as anonymous: {answer}"
    );

    // loginuseacl: the `a` right on alice's INBOX lets bob in as alice.
    let mut alice = Client::login(server.imap_port, "alice");
    let r = alice.cmd("s", "SETACL INBOX bob lra");
    assert!(last(&r).starts_with("s OK"), "{r:?}");
    let (_, answer) = auth_plain(&server, "alice", "bob", "pw-bob");
    assert!(
        answer.starts_with("NO [AUTHORIZATIONFAILED]"),
        "loginuseacl is off: {answer}"
    );

    let server2 = common::Server::start_with(&format!("{QUICK}loginuseacl: 1\n"));
    for user in ["alice", "bob", "carol"] {
        server2.add_user(user, &format!("pw-{user}"));
    }
    let mut alice = Client::login(server2.imap_port, "alice");
    let r = alice.cmd("s", "SETACL INBOX bob lra");
    assert!(last(&r).starts_with("s OK"), "{r:?}");
    let (mut c, answer) = auth_plain(&server2, "alice", "bob", "pw-bob");
    assert!(
        answer.starts_with("OK"),
        "bob holds a on alice's INBOX: {answer}"
    );
    assert_eq!(whoami(&mut c), "alice");
    let (_, answer) = auth_plain(&server2, "alice", "carol", "pw-carol");
    assert!(answer.starts_with("NO [AUTHORIZATIONFAILED]"), "{answer}");
    let (_, answer) = auth_plain(&server2, "bob", "alice", "pw-alice");
    assert!(
        answer.starts_with("NO [AUTHORIZATIONFAILED]"),
        "not the other way: {answer}"
    );
}

#[test]
fn anonymous_needs_allowanonymouslogin_and_logs_the_trace() {
    let server = common::Server::start_with(&format!("{QUICK}allowanonymouslogin: 1\n"));
    let mut c = Client::connect(server.imap_port);
    assert!(auth_caps(&mut c).contains(&"ANONYMOUS".to_string()));
    let r = c.cmd(
        "a",
        &format!(
            "AUTHENTICATE ANONYMOUS {}",
            B64.encode("trace-me@example.org")
        ),
    );
    assert!(last(&r).starts_with("a OK"), "{r:?}");
    let r = c.cmd("b", "MYRIGHTS INBOX");
    assert!(
        last(&r).starts_with("b NO"),
        "anonymous has no INBOX: {r:?}"
    );
    assert!(server.logged("trace-me@example.org"), "{}", server.log());
}

/// `loginrealms` with `auth_mech: krb5`: an identity of another realm logs in, by LOGIN or
/// AUTHENTICATE, only when its realm is listed (Cyrus's cross-realm rule, realms compared
/// without regard to case), and then as itself, realm included; the local realm's users and
/// user ids under `auth_mech: unix` are not affected.
#[test]
fn identities_of_other_realms_need_loginrealms() {
    const KRB5: &str = "auth_mech: krb5\nkrb5_realm: CMU.EDU\n";
    for (conf, allowed) in [
        (KRB5.to_string(), false),
        (format!("{KRB5}loginrealms: EXAMPLE.org\n"), true),
        (String::new(), true),
    ] {
        let server = common::Server::start_with(&format!("{QUICK}{conf}"));
        server.add_user("alice@EXAMPLE.ORG", "pw-alice");
        let (_, answer) = auth_plain(&server, "", "alice@EXAMPLE.ORG", "pw-alice");
        assert_eq!(answer.starts_with("OK"), allowed, "{conf:?}: {answer}");
        if !allowed {
            assert!(answer.starts_with("NO [AUTHENTICATIONFAILED]"), "{answer}");
        }
        let mut c = Client::connect(server.imap_port);
        let r = c.cmd("l", "LOGIN alice@EXAMPLE.ORG pw-alice");
        assert_eq!(last(&r).starts_with("l OK"), allowed, "{conf:?}: {r:?}");
        server.add_user("bob", "pw-bob");
        let (_, answer) = auth_plain(&server, "", "bob", "pw-bob");
        assert!(answer.starts_with("OK"), "{conf:?}: {answer}");
        if conf.contains("krb5") {
            // The local realm's principals are its users: `bob@CMU.EDU` is `bob`.
            let (mut c, answer) = auth_plain(&server, "", "bob@CMU.EDU", "pw-bob");
            assert!(answer.starts_with("OK"), "{conf:?}: {answer}");
            assert_eq!(whoami(&mut c), "bob");
            let mut c = Client::connect(server.imap_port);
            let r = c.cmd("l", "LOGIN bob@CMU.EDU pw-bob");
            assert!(last(&r).starts_with("l OK"), "{conf:?}: {r:?}");
            assert_eq!(whoami(&mut c), "bob");
        }
    }
}
