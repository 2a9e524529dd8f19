//! The `pam` source against the real libpam and modules Debian ships: `pam_pwdfile`
//! (package libpam-pwdfile) reading a passwd-style file with a SHA-512 crypt hash that
//! `openssl passwd` makes for the run, `pam_deny` for a refusing account stack, and
//! `pam_exec` running `cat` on a FIFO nobody writes, for a module that hangs until the test
//! lets it go. Each test writes its own service file `/etc/pam.d/darius-test-<random>` and
//! removes it when done, so it needs root: without root, the module or `openssl` it notes
//! `SKIPPED` and passes, unless DARIUS_REQUIRE_INTEROP=1 (docs/TESTING.md).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::*;
use crate::password_db::{AuthError, PasswordDb, PasswordSource};

#[path = "../../../../tests/support/interop.rs"]
mod interop;

fn secret(s: &str) -> Secret<String> {
    Secret::new(s.to_string())
}

#[path = "../../../../tests/support/pam.rs"]
mod pam_support;

use pam_support::{ready, sha512_crypt, Service};

impl Service {
    fn source(&self, timeout: Duration) -> PamSource {
        PamSource::new(PamService::try_from(self.name.as_str()).unwrap(), timeout)
    }
}

/// A pam_pwdfile service whose file has `carol` with `password`, and the given account stack.
fn pwdfile_service(dir: &Path, password: &str, account: &str) -> Service {
    let file = dir.join("pwdfile");
    std::fs::write(&file, format!("carol:{}\n", sha512_crypt(password))).unwrap();
    Service::write(&format!(
        "auth required pam_pwdfile.so pwdfile={} nodelay\naccount required {account}\n",
        file.display()
    ))
}

/// A service whose authentication runs `cat FIFO`, which blocks until someone opens the
/// FIFO for writing: a module that hangs until the test lets it go.
fn hanging_service(dir: &Path) -> (Service, PathBuf) {
    let fifo = dir.join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let cat = ["/usr/bin/cat", "/bin/cat"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap();
    let service = Service::write(&format!(
        "auth required pam_exec.so {cat} {}\naccount required pam_permit.so\n",
        fifo.display()
    ));
    (service, fifo)
}

/// Lets every `cat` blocked on `fifo` finish (each reads end-of-file), until no PAM thread
/// runs. A write end opened without blocking exists only while a reader does, so a check
/// whose `cat` starts late is let go on a later round. The deadline is for a hang, not a
/// timing assertion.
fn release_until_no_threads(fifo: &Path, pam: &PamSource) {
    use std::os::unix::fs::OpenOptionsExt;
    let deadline = Instant::now() + Duration::from_secs(120);
    while pam.running_threads() > 0 {
        assert!(Instant::now() < deadline, "the PAM thread never ended");
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(fifo);
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_right_password_logs_in_and_a_wrong_one_or_an_unknown_user_does_not() {
    if !ready("pam_pwdfile") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let service = pwdfile_service(dir.path(), "correct horse ä", "pam_permit.so");
    let pam = service.source(Duration::from_secs(60));
    let check = |user, password| pam.check(Protocol::Imap, user, &secret(password));
    assert_eq!(check("carol", "correct horse ä"), PamCheck::Valid);
    for (user, password) in [("carol", "correct horse"), ("dave", "correct horse ä")] {
        assert!(
            matches!(
                check(user, password),
                PamCheck::Refused(Refusal::Authenticate(_))
            ),
            "{user}"
        );
    }
    assert_eq!(pam.running_threads(), 0, "each check's thread ended");
}

/// A NUL would end the C string PAM gets, so that only the part before it were checked.
#[test]
fn a_password_pam_cannot_be_given_is_refused_unchecked() {
    if !ready("pam_pwdfile") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let service = pwdfile_service(dir.path(), "right", "pam_permit.so");
    let pam = service.source(Duration::from_secs(60));
    let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
    for password in ["right\0wrong", "", long.as_str()] {
        assert_eq!(
            pam.check(Protocol::Imap, "carol", &secret(password)),
            PamCheck::Refused(Refusal::UnusablePassword)
        );
    }
    for user in ["", "carol\r\n", "carol\0"] {
        assert_eq!(
            pam.check(Protocol::Imap, user, &secret("right")),
            PamCheck::Refused(Refusal::UnusableName),
            "{user:?}"
        );
    }
}

#[test]
fn an_account_the_account_stack_refuses_does_not_log_in_with_the_right_password() {
    if !ready("pam_pwdfile") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let service = pwdfile_service(dir.path(), "right", "pam_deny.so");
    let pam = service.source(Duration::from_secs(60));
    assert!(matches!(
        pam.check(Protocol::Imap, "carol", &secret("right")),
        PamCheck::Refused(Refusal::Account(_))
    ));
}

/// A module that does not answer costs the caller the timeout, and its thread keeps its
/// place until it ends: with every place taken, no new check starts.
#[test]
fn a_hung_module_is_unavailable_after_the_timeout_and_holds_its_thread_until_it_ends() {
    if !ready("pam_exec") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (service, fifo) = hanging_service(dir.path());
    let pam = service.source(Duration::from_secs(1)).with_max_threads(1);
    let first = pam.check(Protocol::Imap, "carol", &secret("pw"));
    assert!(
        matches!(first, PamCheck::Unavailable(Unavailable::TimedOut { .. })),
        "{first:?}"
    );
    assert_eq!(pam.running_threads(), 1, "the hung thread keeps its place");
    assert_eq!(
        pam.check(Protocol::Imap, "carol", &secret("pw")),
        PamCheck::Unavailable(Unavailable::TooManyThreads(1)),
        "refused at once: no thread started"
    );
    release_until_no_threads(&fifo, &pam);
}

/// Through the password database: PAM's answers, a success served from the credential
/// cache, and a source that times out making the login "unavailable" unless a later source
/// accepts.
#[test]
fn the_database_tries_pam_in_order_and_an_undecided_pam_is_an_error_not_a_refusal() {
    if !ready("pam_pwdfile") || !ready("pam_exec") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let service = pwdfile_service(dir.path(), "right", "pam_permit.so");
    let db = PasswordDb::open(dir.path())
        .unwrap()
        .with_sources(vec![PasswordSource::Pam(
            service.source(Duration::from_secs(60)),
        )]);
    let check = |db: &PasswordDb, user, password| {
        db.check_sources_for(Protocol::Imap, user, &secret(password))
    };
    assert!(check(&db, "carol", "right").unwrap());
    assert!(!check(&db, "carol", "wrong").unwrap());
    drop(service);
    assert!(
        check(&db, "carol", "right").unwrap(),
        "from the cache, without the (now removed) service"
    );

    let (hanging, fifo) = hanging_service(dir.path());
    let pam = hanging.source(Duration::from_secs(1));
    let other = tempfile::tempdir().unwrap();
    let db = PasswordDb::open(other.path()).unwrap().with_sources(vec![
        PasswordSource::Pam(pam.clone()),
        PasswordSource::Auxprop,
    ]);
    db.add_user("alice", &secret("wonderland")).unwrap();
    assert!(
        check(&db, "alice", "wonderland").unwrap(),
        "auxprop after PAM"
    );
    assert!(matches!(
        check(&db, "alice", "wrong"),
        Err(AuthError::Unavailable(_))
    ));
    release_until_no_threads(&fifo, &pam);
}

#[test]
fn each_protocol_asks_its_own_service() {
    let pam = PamSource::new(
        PamService::try_from("imap-site").unwrap(),
        Duration::from_secs(10),
    );
    assert_eq!(pam.service(Protocol::Imap), "imap-site");
    assert_eq!(pam.service(Protocol::Pop3), "pop");
    assert_eq!(pam.service(Protocol::ManageSieve), "sieve");
}

#[test]
fn service_names_are_file_names_under_pam_d() {
    for good in ["imap", "darius-test-0a1b", "mail_2.x"] {
        assert!(PamService::try_from(good).is_ok(), "{good}");
    }
    let long = "a".repeat(65);
    for bad in [
        "",
        "../passwd",
        "/etc/passwd",
        ".hidden",
        "im ap",
        "imap\0",
        &long,
    ] {
        assert!(PamService::try_from(bad).is_err(), "{bad:?}");
    }
}
