//! Logins with virtual domains over real sockets (`virtdomains: userid`, `defaultdomain:
//! example.org`): IMAP LOGIN, AUTHENTICATE PLAIN and POP3 USER/PASS from Python's imaplib and
//! poplib (tests/interop/login_virtual_domains.py) log in the canonical user whatever the
//! domain's case, and refuse names of nobody; `darius user` stores and refuses names the same
//! way through the admin socket and, with the server stopped, on the files. Only logins are
//! checked here, not where the users' mailboxes live.
#![allow(clippy::unwrap_used)]

mod common;

/// Domains from user ids, `example.org` the default; no penalty or throttle for the many
/// failures on purpose. `unixhierarchysep` gives a userid holding a dot an INBOX however the
/// mail service files a domain's users, so that POP3 finds bob's maildrop.
const DOMAINS: &str = "virtdomains: userid\ndefaultdomain: example.org\n\
                       unixhierarchysep: 1\n\
                       auth_failure_delay: 0\nauth_failures_per_host: 0\n";

#[test]
fn logins_take_the_users_canonical_name_and_refuse_names_of_nobody() {
    let server = common::Server::start_with(DOMAINS);
    server.add_user("alice", "pw-alice");
    server.add_user("bob@one.example", "pw-bob");
    server.add_user("admin", "pw-admin");
    let pop3_port = server.pop3_port.to_string();
    common::run_python(
        &server,
        "login_virtual_domains.py",
        &[("POP3_PORT", &pop3_port)],
    );
    if !common::have("python3") {
        return;
    }
    // Whatever the client typed, the user logged in is the canonical name.
    for logged in [
        " bob@one.example LOGIN User logged in",
        " bob@one.example PLAIN User logged in",
        " bob@one.example USER User logged in",
        " alice LOGIN User logged in",
    ] {
        assert!(
            server.logged(logged),
            "{logged:?} missing:\n{}",
            server.log()
        );
    }
    let log = server.log();
    for typed in [
        "alice@EXAMPLE.org",
        "alice@example.org",
        "bob@One.Example",
        "bob@ONE.example",
    ] {
        assert!(
            !log.contains(&format!(" {typed} LOGIN User logged in"))
                && !log.contains(&format!(" {typed} PLAIN User logged in"))
                && !log.contains(&format!(" {typed} USER User logged in")),
            "{typed} logged in under the name as typed:\n{log}"
        );
    }
}

/// With `virtdomains: on` a login typed without a domain takes the domain of the name the
/// system gives the server's address (the script asks the same resolver which name that is,
/// and expects what it implies, since the name of 127.0.0.1 differs between machines).
#[test]
fn with_virtdomains_on_a_bare_login_takes_the_domain_of_the_server_address() {
    let server = common::Server::start_with(
        "virtdomains: on\ndefaultdomain: example.org\nservername: mail.example.org\n\
         unixhierarchysep: 1\nauth_failure_delay: 0\nauth_failures_per_host: 0\n",
    );
    server.add_user("alice", "pw-alice");
    server.add_user("bob@one.example", "pw-bob");
    let pop3_port = server.pop3_port.to_string();
    common::run_python(
        &server,
        "login_virtual_domains.py",
        &[("POP3_PORT", &pop3_port), ("MODE", "on")],
    );
}

/// `darius user add NAME` with `password` on standard input: (exit status, stdout + stderr).
fn user_add(server: &common::Server, name: &str, password: &str) -> (bool, String) {
    let (ok, stdout, stderr) =
        common::run_with_input(&mut server.darius(&["user", "add", name]), password);
    (ok, format!("{stdout}{stderr}"))
}

#[test]
fn user_commands_store_canonical_names_and_refuse_a_malformed_domain() {
    let mut server = common::Server::start_with(DOMAINS);
    // Through the running server's admin socket.
    let (ok, said) = user_add(&server, "alice@EXAMPLE.ORG", "pw-alice\n");
    assert!(ok, "{said}");
    assert!(said.contains("added user `alice`"), "{said}");
    let (ok, said) = user_add(&server, "Bob@One.Example", "pw-bob\n");
    assert!(ok, "{said}");
    assert!(said.contains("added user `Bob@one.example`"), "{said}");
    let (ok, said) = user_add(&server, "carol@one_example", "pw-carol\n");
    assert!(!ok, "a malformed domain was accepted: {said}");
    assert!(
        said.contains("`one_example` is not a domain name"),
        "{said}"
    );
    let (ok, said) = user_add(&server, "alice", "again\n");
    assert!(!ok && said.contains("already exists"), "{said}");
    let listed = server.darius_ok(&["user", "list"]);
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        ["Bob@one.example", "alice"]
    );
    let (ok, stdout, stderr) = common::run_with_input(
        &mut server.darius(&["user", "passwd", "bob@ONE.EXAMPLE"]),
        "new-bob\n",
    );
    assert!(
        !ok,
        "bob@one.example is not Bob@one.example: {stdout}{stderr}"
    );
    let (ok, stdout, stderr) = common::run_with_input(
        &mut server.darius(&["user", "passwd", "Bob@ONE.EXAMPLE"]),
        "new-bob\n",
    );
    assert!(ok, "{stdout}{stderr}");
    let (ok, stdout, stderr) = common::run_with_input(
        &mut server.darius(&["user", "check", "Bob@one.Example"]),
        "new-bob\n",
    );
    assert!(ok && stdout.contains("OK"), "{stdout}{stderr}");

    // On the files, with the server stopped: the same names, the same refusal.
    server.stop();
    let (ok, said) = user_add(&server, "dave@Example.Org", "pw-dave\n");
    assert!(ok && said.contains("added user `dave`"), "{said}");
    let (ok, said) = user_add(&server, "erin@two..example", "pw-erin\n");
    assert!(!ok, "a malformed domain was accepted: {said}");
    assert!(
        said.contains("`two..example` is not a domain name"),
        "{said}"
    );
    let (ok, stdout, stderr) = server.run_darius(&["user", "del", "--yes", "DAVE@example.org"]);
    assert!(!ok, "DAVE is not dave: {stdout}{stderr}");
    let (ok, stdout, stderr) = server.run_darius(&["user", "del", "--yes", "dave@EXAMPLE.ORG"]);
    assert!(ok, "{stdout}{stderr}");
    let listed = server.darius_ok(&["user", "list"]);
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        ["Bob@one.example", "alice"]
    );
}

#[test]
fn with_domains_off_a_name_with_a_domain_is_kept_as_typed() {
    let server = common::Server::start_with("auth_failure_delay: 0\n");
    let (ok, said) = user_add(&server, "Bob@One.Example", "pw-bob\n");
    assert!(
        ok && said.contains("added user `Bob@One.Example`"),
        "{said}"
    );
    let listed = server.darius_ok(&["user", "list"]);
    assert_eq!(listed.trim(), "Bob@One.Example");
}
