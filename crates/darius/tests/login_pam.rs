//! `sasl_pwcheck_method: pam` over a real socket (build with `--features pam`): the server asks
//! a PAM service the test writes, `/etc/pam.d/darius-test-<random>`, stacking `pam_pwdfile`
//! (Debian's libpam-pwdfile) over a file with a SHA-512 crypt hash `openssl passwd` makes for
//! the run. The right password logs in, with LOGIN and AUTHENTICATE PLAIN; a wrong one and an unknown user get the same
//! `NO [AUTHENTICATIONFAILED]`; an account the account stack refuses does not log in; a
//! module that hangs past `pam_timeout` makes the login `NO [UNAVAILABLE]`. Writing the service
//! needs root: without root, the module or `openssl` the tests note `SKIPPED` and pass, unless
//! DARIUS_REQUIRE_INTEROP=1 (docs/TESTING.md).
#![cfg(feature = "pam")]
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use imap_support::{last, Client};

use common::interop;
#[path = "../../../tests/support/pam.rs"]
mod pam_support;

use pam_support::{ready, sha512_crypt, Service};

/// A pam_pwdfile service knowing `carol` and `dave` (both with `password`); `dave`'s
/// account is refused by `pam_listfile` in the account stack.
fn pwdfile_service(dir: &Path, password: &str) -> Service {
    let file = dir.join("pwdfile");
    let hash = sha512_crypt(password);
    std::fs::write(&file, format!("carol:{hash}\ndave:{hash}\n")).unwrap();
    let refused = dir.join("refused-accounts");
    std::fs::write(&refused, "dave\n").unwrap();
    Service::write(&format!(
        "auth required pam_pwdfile.so pwdfile={} nodelay\n\
         account required pam_listfile.so item=user sense=deny file={} onerr=fail\n",
        file.display(),
        refused.display()
    ))
}

/// The tagged answer to `LOGIN user password`, without its tag.
fn login(server: &common::Server, user: &str, password: &str) -> String {
    let mut c = Client::connect(server.imap_port);
    let r = c.cmd("l", &format!("LOGIN {user} \"{password}\""));
    last(&r).trim_end()[2..].to_string()
}

/// The tagged answer to `AUTHENTICATE PLAIN` (with an initial response), without its tag.
fn authenticate_plain(server: &common::Server, user: &str, password: &str) -> String {
    let mut c = Client::connect(server.imap_port);
    let response = B64.encode(format!("\0{user}\0{password}"));
    let r = c.cmd("a", &format!("AUTHENTICATE PLAIN {response}"));
    last(&r).trim_end()[2..].to_string()
}

#[test]
fn pam_users_log_in_with_their_password_and_nobody_else_does() {
    if !ready("pam_pwdfile") || !ready("pam_listfile") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let service = pwdfile_service(dir.path(), "correct horse");
    let server = common::Server::start_with(&format!(
        "sasl_pwcheck_method: pam\npam_service: {}\n",
        service.name
    ));
    server.add_user("alice", "pw-alice");
    let ok = login(&server, "carol", "correct horse");
    assert!(ok.starts_with("OK"), "{ok}\n{}", server.log());
    let unknown = login(&server, "nobody", "correct horse");
    assert!(
        unknown.starts_with("NO [AUTHENTICATIONFAILED]"),
        "{unknown}"
    );
    for (user, password) in [
        ("carol", "wrong horse"),
        ("dave", "correct horse"),
        ("alice", "pw-alice"),
    ] {
        assert_eq!(login(&server, user, password), unknown, "{user}");
    }
    let sasl = authenticate_plain(&server, "carol", "correct horse");
    assert!(sasl.starts_with("OK"), "{sasl}");
    let sasl = authenticate_plain(&server, "carol", "wrong horse");
    assert!(sasl.starts_with("NO [AUTHENTICATIONFAILED]"), "{sasl}");
    assert!(
        server.log().contains("pam_acct_mgmt"),
        "dave's refusal is logged as the account check's"
    );
}

/// A module that never answers: the login is "unavailable", not failed, once `pam_timeout`
/// has passed. The module is `pam_exec` running `cat` on a FIFO nobody writes until the test
/// lets it go.
#[test]
fn a_hung_pam_module_makes_the_login_unavailable() {
    if !ready("pam_exec") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let service = Service::write(&format!(
        "auth required pam_exec.so /bin/cat {}\naccount required pam_permit.so\n",
        fifo.display()
    ));
    let server = common::Server::start_with(&format!(
        "sasl_pwcheck_method: pam\npam_service: {}\npam_timeout: 1\n",
        service.name
    ));
    let answer = login(&server, "carol", "anything");
    assert!(answer.starts_with("NO [UNAVAILABLE]"), "{answer}");
    release(&fifo);
}

/// Lets the `cat` blocked on `fifo` finish. A write end opened without blocking exists only
/// while a reader does; the deadline is for a hang, not a timing assertion.
fn release(fifo: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(fifo)
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the PAM module never opened the FIFO"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
