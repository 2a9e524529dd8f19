//! `sasl_pwcheck_method` with the `shadow` source over a real socket: a user from a passwd and
//! shadow file logs in with the password of their crypt(3) hash, a wrong password and a locked
//! account are refused with the same answer as an unknown user, and the sources are tried in
//! the configured order (a user of the password database logs in only where `auxprop` is
//! listed).
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use imap_support::{last, Client};

/// `openssl passwd -5 'correct horse'` (the same vector as the auth crate's unit tests).
const SHA256: &str = "$5$7sKUlgj5q8qujhX5$7jWEuHuHfI1npBuXnlhUdfxbm4gnDCoKKGJuJXu2lH2";

/// A passwd and a shadow file with `carol` (the hash above) and `dave` (the same, locked).
fn files(dir: &std::path::Path) -> String {
    let passwd = dir.join("passwd");
    let shadow = dir.join("shadow");
    std::fs::write(
        &passwd,
        "carol:x:1001:1001::/home/carol:/bin/sh\ndave:x:1002:1002::/home/dave:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        &shadow,
        format!("carol:{SHA256}:19000:0:99999:7:::\ndave:!{SHA256}:19000:0:99999:7:::\n"),
    )
    .unwrap();
    format!(
        "passwd_file: {}\nshadow_file: {}\n",
        passwd.display(),
        shadow.display()
    )
}

/// The tagged answer to `LOGIN user password`, without its tag.
fn login(server: &common::Server, user: &str, password: &str) -> String {
    let mut c = Client::connect(server.imap_port);
    let r = c.cmd("l", &format!("LOGIN {user} \"{password}\""));
    last(&r).trim_end()[2..].to_string()
}

#[test]
fn shadow_users_log_in_after_the_password_database_is_tried() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start_with(&format!(
        "sasl_pwcheck_method: auxprop shadow\n{}",
        files(dir.path())
    ));
    server.add_user("alice", "pw-alice");
    assert!(login(&server, "carol", "correct horse").starts_with("OK"));
    assert!(login(&server, "alice", "pw-alice").starts_with("OK"));
    let unknown = login(&server, "nobody", "correct horse");
    assert!(
        unknown.starts_with("NO [AUTHENTICATIONFAILED]"),
        "{unknown}"
    );
    for (user, password) in [("carol", "wrong horse"), ("dave", "correct horse")] {
        assert_eq!(login(&server, user, password), unknown, "{user}");
    }
}

#[test]
fn with_shadow_alone_the_password_database_is_not_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start_with(&format!(
        "sasl_pwcheck_method: shadow\n{}",
        files(dir.path())
    ));
    server.add_user("alice", "pw-alice");
    assert!(login(&server, "carol", "correct horse").starts_with("OK"));
    let refused = login(&server, "alice", "pw-alice");
    assert!(
        refused.starts_with("NO [AUTHENTICATIONFAILED]"),
        "{refused}"
    );
}

/// `darius user show NAME`'s line, or its error.
fn show(server: &common::Server, user: &str) -> Result<String, String> {
    let out = server.darius(&["user", "show", user]).output().unwrap();
    match out.status.success() {
        true => Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string()),
        false => Err(String::from_utf8_lossy(&out.stderr).trim_end().to_string()),
    }
}

/// `sasl_auto_transition: yes`: a shadow user's successful LOGIN puts them in the password
/// database with the SCRAM secrets (at the configured iteration count), as Cyrus SASL's
/// auto_transition creates the user; a wrong password writes nothing, and with the option off
/// neither does a right one.
#[test]
fn auto_transition_stores_the_scram_secrets_at_a_plaintext_login() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start_with(&format!(
        "sasl_pwcheck_method: auxprop shadow\nsasl_auto_transition: yes\n\
         sasl_scram_iteration_counter: 5000\n{}",
        files(dir.path())
    ));
    let unknown = show(&server, "carol").unwrap_err();
    assert!(unknown.contains("no such user carol"), "{unknown}");
    assert!(login(&server, "carol", "wrong horse").starts_with("NO"));
    assert_eq!(show(&server, "carol").unwrap_err(), unknown);
    assert!(login(&server, "carol", "correct horse").starts_with("OK"));
    assert_eq!(
        show(&server, "carol").unwrap(),
        "carol: argon2id scram-sha-1(5000) scram-sha-256(5000)"
    );
    // The new record answers on its own now: the same password logs in, with the database
    // first in the sources.
    assert!(login(&server, "carol", "correct horse").starts_with("OK"));

    let off = tempfile::tempdir().unwrap();
    let server = common::Server::start_with(&format!(
        "sasl_pwcheck_method: auxprop shadow\n{}",
        files(off.path())
    ));
    assert!(login(&server, "carol", "correct horse").starts_with("OK"));
    assert!(show(&server, "carol").is_err());
    server.add_user("alice", "pw-alice");
    assert_eq!(
        show(&server, "alice").unwrap(),
        "alice: argon2id scram-sha-1(4096) scram-sha-256(4096)"
    );
}
