//! GSSAPI end to end: a throwaway MIT Kerberos realm (`common::kdc`), a `darius serve` built
//! with the `gssapi` feature whose `keytab` option names the realm's keytab, and Cyrus SASL's
//! `imtest -m GSSAPI` (Debian `cyrus-clients` and `libsasl2-modules-gssapi-mit`) logging in with
//! the user's ticket, as the user id the identity rules make of the principal. Skipped without
//! Kerberos or imtest unless DARIUS_REQUIRE_INTEROP=1.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use std::ffi::OsString;
use std::io::BufRead;
use std::process::Command;

use common::kdc::{self, Kdc};

/// Cyrus SASL's GSSAPI plugin, without which imtest knows no GSSAPI.
const GSSAPI_PLUGIN: &str = "/usr/lib/x86_64-linux-gnu/sasl2/libgssapiv2.so";

fn imtest_installed() -> bool {
    common::imtest::installed(&[(GSSAPI_PLUGIN, "libsasl2-modules-gssapi-mit")])
}

/// The realm's environment for the server: its configuration and replay cache, but not the
/// keytab, which the server gets from its `keytab` option.
fn server_env(kdc: &Kdc) -> Vec<(&'static str, OsString)> {
    kdc.env()
        .into_iter()
        .filter(|(name, _)| *name != "KRB5_KTNAME" && *name != "KRB5CCNAME")
        .collect()
}

/// Runs `imtest -m GSSAPI` against `localhost:port` with the client environment `env`.
fn imtest_gssapi(env: &[(&'static str, OsString)], port: u16) -> (bool, String) {
    common::imtest::run(&["-m", "GSSAPI"], env, kdc::HOST, port)
}

fn gssapi_server(kdc: &Kdc, extra: &str) -> common::Server {
    common::Server::start_with_env(
        &format!(
            "servername: {}\nkeytab: {}\nsasl_mech_list: GSSAPI PLAIN\n\
             auth_failure_delay: 0\nauth_failures_per_host: 0\n{extra}",
            kdc::HOST,
            kdc.keytab().display()
        ),
        server_env(kdc),
    )
}

/// The user id the server logged `alice`'s GSSAPI login in as.
fn logged_in_as(server: &common::Server) -> Option<String> {
    // `login: PEER USER GSSAPI User logged in …`
    server.logged(" GSSAPI User logged in");
    let log = server.log();
    let (before, _) = log.split_once(" GSSAPI User logged in")?;
    Some(before.split_whitespace().last()?.to_string())
}

#[test]
fn imtest_logs_in_with_a_kerberos_ticket_as_the_local_user() {
    if !imtest_installed() {
        return;
    }
    let Some(kdc) = Kdc::start() else { return };
    // user@LOCALREALM logs in as user.
    let server = gssapi_server(&kdc, &format!("krb5_realm: {}\n", kdc::REALM));
    let (authenticated, text) = imtest_gssapi(&kdc.env(), server.imap_port);
    assert!(authenticated, "{text}\nserver log:\n{}", server.log());
    assert!(text.contains("AUTH=GSSAPI"), "{text}");
    assert_eq!(
        logged_in_as(&server).as_deref(),
        Some(kdc::USER),
        "{}",
        server.log()
    );

    // Without a ticket the client has nothing to show.
    let mut no_ticket = kdc.env();
    let empty = kdc.dir().join("empty-ccache");
    for (name, value) in &mut no_ticket {
        if *name == "KRB5CCNAME" {
            *value = OsString::from(format!("FILE:{}", empty.display()));
        }
    }
    let (authenticated, text) = imtest_gssapi(&no_ticket, server.imap_port);
    assert!(!authenticated, "{text}");
}

/// The realm rules apply to the principal: a realm that is neither local nor in `loginrealms`
/// is refused, a listed one keeps its realm, and a `krb.equiv` mapping names the local user
/// whatever the realm.
#[test]
fn the_principal_follows_loginrealms_and_krb_equiv() {
    if !imtest_installed() {
        return;
    }
    let Some(kdc) = Kdc::start() else { return };
    let principal = Kdc::principal(kdc::USER);

    let server = gssapi_server(&kdc, "");
    let (authenticated, text) = imtest_gssapi(&kdc.env(), server.imap_port);
    assert!(
        !authenticated,
        "{} is not in loginrealms: {text}",
        kdc::REALM
    );

    let server = gssapi_server(&kdc, &format!("loginrealms: {}\n", kdc::REALM));
    let (authenticated, text) = imtest_gssapi(&kdc.env(), server.imap_port);
    assert!(authenticated, "{text}\nserver log:\n{}", server.log());
    assert_eq!(
        logged_in_as(&server),
        Some(principal.clone()),
        "{}",
        server.log()
    );

    let equiv = kdc.dir().join("krb.equiv");
    std::fs::write(&equiv, format!("{principal} bovik\n")).unwrap();
    let server = gssapi_server(&kdc, &format!("krb5_equiv_file: {}\n", equiv.display()));
    let (authenticated, text) = imtest_gssapi(&kdc.env(), server.imap_port);
    assert!(authenticated, "{text}\nserver log:\n{}", server.log());
    assert_eq!(
        logged_in_as(&server).as_deref(),
        Some("bovik"),
        "{}",
        server.log()
    );
}

/// `loginuseacl`: a Kerberos identity holding `a` on a user's INBOX may log in as that user
/// (imtest's `-u` names the authorization identity); without the right it may not.
#[test]
fn loginuseacl_lets_a_principal_with_the_a_right_log_in_as_the_user() {
    if !imtest_installed() {
        return;
    }
    let Some(kdc) = Kdc::start() else { return };
    let server = gssapi_server(
        &kdc,
        &format!("krb5_realm: {}\nloginuseacl: 1\n", kdc::REALM),
    );
    server.add_user("bob", "pw-bob");
    let as_bob = ["-m", "GSSAPI", "-u", "bob"];
    let (authenticated, text) =
        common::imtest::run(&as_bob, &kdc.env(), kdc::HOST, server.imap_port);
    assert!(
        !authenticated,
        "alice holds no right on bob's INBOX yet: {text}"
    );

    let mut bob = imap_support::Client::login(server.imap_port, "bob");
    let r = bob.cmd("s", &format!("SETACL INBOX {} lra", kdc::USER));
    assert!(imap_support::last(&r).starts_with("s OK"), "{r:?}");
    let (authenticated, text) =
        common::imtest::run(&as_bob, &kdc.env(), kdc::HOST, server.imap_port);
    assert!(authenticated, "{text}\nserver log:\n{}", server.log());
    assert_eq!(
        logged_in_as(&server).as_deref(),
        Some("bob"),
        "{}",
        server.log()
    );
}

/// With GSSAPI named in `sasl_mech_list`, a keytab without the service's key stops start-up;
/// with the list empty, GSSAPI is simply not offered.
#[test]
fn a_keytab_without_the_services_key_is_reported_at_start_up() {
    let Some(kdc) = Kdc::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().display();
    let conf = dir.path().join("imapd.conf");
    std::fs::write(
        &conf,
        format!(
            "configdirectory: {base}/conf\npartition-default: {base}/spool\n\
             listen_imap: 127.0.0.1:0\nlisten_lmtp:\nlisten_imaps:\n\
             servername: elsewhere\nkeytab: {}\nsasl_mech_list: GSSAPI\n",
            kdc.keytab().display()
        ),
    )
    .unwrap();
    let out = Command::new(common::DARIUS)
        .arg("-C")
        .arg(&conf)
        .arg("serve")
        .envs(server_env(&kdc))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("sasl_mech_list names GSSAPI, but"),
        "{stderr}"
    );
    assert!(stderr.contains("imap@elsewhere"), "{stderr}");

    let server = common::Server::start_with_env(
        &format!(
            "servername: elsewhere\nkeytab: {}\n",
            kdc.keytab().display()
        ),
        server_env(&kdc),
    );
    let imap = std::net::TcpStream::connect(("127.0.0.1", server.imap_port)).unwrap();
    let mut greeting = String::new();
    std::io::BufReader::new(imap)
        .read_line(&mut greeting)
        .unwrap();
    assert!(greeting.contains("AUTH=PLAIN"), "{greeting}");
    assert!(!greeting.contains("AUTH=GSSAPI"), "{greeting}");
    assert!(server.logged("GSSAPI not offered"), "{}", server.log());
}

/// POP3 (RFC 5034) with GSSAPI: Cyrus SASL's `pop3test -m GSSAPI` gets a ticket for the POP
/// service principal `pop/HOST@REALM` (the keytab's, not IMAP's) and logs in as the local user.
#[test]
fn pop3test_logs_in_with_a_ticket_for_the_pop_service() {
    if !imtest_installed() {
        return;
    }
    let Some(kdc) = Kdc::start() else { return };
    let server = gssapi_server(&kdc, &format!("krb5_realm: {}\n", kdc::REALM));
    server.add_user(kdc::USER, "unused-password");
    let text = common::imtest::transcript(
        "/usr/lib/cyrus/bin/pop3test",
        &["-m", "GSSAPI"],
        &kdc.env(),
        kdc::HOST,
        server.pop3_port,
        b"STAT\r\nQUIT\r\n",
    );
    assert!(
        text.lines().any(|l| l.trim() == "Authenticated."),
        "{text}\nserver log:\n{}",
        server.log()
    );
    assert!(
        text.contains("+OK 0 0"),
        "STAT of the empty maildrop: {text}"
    );
    assert_eq!(
        logged_in_as(&server).as_deref(),
        Some(kdc::USER),
        "{}",
        server.log()
    );
    // The ticket was for the POP service.
    let klist = Command::new("klist").envs(kdc.env()).output().unwrap();
    let tickets = String::from_utf8_lossy(&klist.stdout);
    assert!(
        tickets.contains(&format!("pop/{}@", kdc::HOST)),
        "{tickets}"
    );
}

/// ManageSieve (RFC 5804 §2.1) with GSSAPI: Cyrus SASL's `sivtest -m GSSAPI` gets a ticket for
/// the service principal `sieve/HOST@REALM` and logs in as the local user.
#[test]
fn sivtest_logs_in_with_a_ticket_for_the_sieve_service() {
    if !imtest_installed() {
        return;
    }
    let Some(kdc) = Kdc::start() else { return };
    let server = gssapi_server(&kdc, &format!("krb5_realm: {}\n", kdc::REALM));
    server.add_user(kdc::USER, "unused-password");
    let text = common::imtest::transcript(
        "/usr/lib/cyrus/bin/sivtest",
        &["-m", "GSSAPI"],
        &kdc.env(),
        kdc::HOST,
        server.sieve_port,
        b"LISTSCRIPTS\r\nLOGOUT\r\n",
    );
    assert!(
        text.lines().any(|l| l.trim() == "Authenticated."),
        "{text}\nserver log:\n{}",
        server.log()
    );
    assert_eq!(
        logged_in_as(&server).as_deref(),
        Some(kdc::USER),
        "{}",
        server.log()
    );
    let klist = Command::new("klist").envs(kdc.env()).output().unwrap();
    let tickets = String::from_utf8_lossy(&klist.stdout);
    assert!(
        tickets.contains(&format!("sieve/{}@", kdc::HOST)),
        "{tickets}"
    );
}
