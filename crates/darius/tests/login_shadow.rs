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
