//! The `shadow` source against hashes the system's own tools make now: `mkpasswd` (Debian
//! package `whois`, over libxcrypt) and `openssl passwd`, in every supported format, each with
//! a password drawn afresh for the run. Without the tools the test notes `SKIPPED` and passes,
//! unless DARIUS_REQUIRE_INTEROP=1 (docs/TESTING.md).
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

use std::io::Write;
use std::process::{Command, Stdio};

use auth::shadow::{Refusal, ShadowCheck, ShadowFiles};
use types::Secret;

#[path = "../../../tests/support/interop.rs"]
mod interop;

fn have(program: &str, package: &str) -> bool {
    interop::have_program(program, package)
}

/// The first line `program args…` prints, with `password` on its standard input.
fn hash_with(program: &str, args: &[&str], password: &str) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin was piped");
    writeln!(stdin, "{password}").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().next().unwrap_or_default().trim().to_string()
}

/// A password nobody chose: printable, with a space and a non-ASCII letter, new each run.
fn fresh_password(n: usize) -> String {
    let mut bytes = [0u8; 12];
    getrandom_bytes(&mut bytes);
    let tail: String = bytes
        .iter()
        .map(|b| char::from(b'!' + b % 94))
        .filter(|c| *c != ':')
        .collect();
    format!("pw {n} ä {tail}")
}

fn getrandom_bytes(out: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(out))
        .expect("reading /dev/urandom");
}

#[test]
fn hashes_made_by_mkpasswd_and_openssl_verify_and_wrong_passwords_do_not() {
    if !have("mkpasswd", "whois") || !have("openssl", "openssl") {
        return;
    }
    // (program, arguments reading the password from stdin, the prefix its output must have)
    let makers: [(&str, &[&str], &str); 8] = [
        ("mkpasswd", &["-m", "yescrypt", "--stdin"], "$y$"),
        ("mkpasswd", &["-m", "sha-512", "--stdin"], "$6$"),
        (
            "mkpasswd",
            &["-m", "sha-512", "-R", "7000", "--stdin"],
            "$6$rounds=7000$",
        ),
        ("mkpasswd", &["-m", "sha-256", "--stdin"], "$5$"),
        (
            "mkpasswd",
            &["-m", "sha-256", "-R", "3000", "--stdin"],
            "$5$rounds=3000$",
        ),
        ("mkpasswd", &["-m", "bcrypt", "-R", "5", "--stdin"], "$2b$"),
        (
            "mkpasswd",
            &["-m", "bcrypt-a", "-R", "5", "--stdin"],
            "$2a$",
        ),
        ("openssl", &["passwd", "-5", "-stdin"], "$5$"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let (mut passwd, mut shadow, mut users) = (String::new(), String::new(), Vec::new());
    for (n, (program, args, prefix)) in makers.iter().enumerate() {
        let password = fresh_password(n);
        let hash = hash_with(program, args, &password);
        assert!(hash.starts_with(prefix), "{program} {args:?} made {hash:?}");
        let user = format!("user{n}");
        passwd.push_str(&format!(
            "{user}:x:{}:100::/home/{user}:/bin/sh\n",
            2000 + n
        ));
        shadow.push_str(&format!("{user}:{hash}:19000:0:99999:7:::\n"));
        users.push((user, password, format!("{program} {args:?}")));
    }
    // The old format: a hash in passwd's second field and no shadow entry.
    let old_password = fresh_password(99);
    let old_hash = hash_with("openssl", &["passwd", "-6", "-stdin"], &old_password);
    passwd.push_str(&format!("olduser:{old_hash}:3000:100::/:/bin/sh\n"));
    users.push((
        "olduser".into(),
        old_password,
        "openssl passwd -6, in passwd".into(),
    ));
    std::fs::write(dir.path().join("passwd"), passwd).unwrap();
    std::fs::write(dir.path().join("shadow"), shadow).unwrap();
    let files = ShadowFiles::at(dir.path().join("passwd"), dir.path().join("shadow"));
    for (user, password, made_by) in &users {
        let right = Secret::new(password.clone());
        assert_eq!(
            files.verify(user, &right).unwrap(),
            ShadowCheck::Valid,
            "{made_by}"
        );
        let wrong = Secret::new(format!("{password}x"));
        assert_eq!(
            files.verify(user, &wrong).unwrap(),
            ShadowCheck::Refused(Refusal::WrongPassword),
            "{made_by}"
        );
    }
}
