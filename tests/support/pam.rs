//! What the PAM tests of every crate share (included with `#[path = …] mod pam_support;` beside
//! a `mod interop;` of `tests/support/interop.rs`): whether they can run here, a throwaway PAM
//! service file, and crypt(3) hashes for `pam_pwdfile`.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whether a PAM test using `module` can run: as root (it writes /etc/pam.d), with the
/// module and `openssl` installed. Otherwise a `SKIPPED` note, or a failure under
/// DARIUS_REQUIRE_INTEROP=1 (the rule of `interop.rs`, applied to root and the module too).
pub fn ready(module: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let missing = if !root {
        Some("not running as root (the test writes /etc/pam.d)".to_string())
    } else if module_path(module).is_none() {
        Some(format!("{module}.so is not installed"))
    } else if !super::interop::have_program("openssl", "openssl") {
        return false;
    } else {
        None
    };
    let Some(why) = missing else {
        return true;
    };
    if std::env::var("DARIUS_REQUIRE_INTEROP").as_deref() == Ok("1") {
        panic!("PAM test required (DARIUS_REQUIRE_INTEROP=1): {why}");
    }
    let test = std::thread::current().name().unwrap_or("pam").to_string();
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {why} (Debian package libpam-pwdfile; see docs/TESTING.md)"
    );
    false
}

/// Where the PAM module `module` is installed, if it is.
pub fn module_path(module: &str) -> Option<PathBuf> {
    [
        "/lib/x86_64-linux-gnu/security",
        "/usr/lib/x86_64-linux-gnu/security",
        "/lib/aarch64-linux-gnu/security",
        "/usr/lib/aarch64-linux-gnu/security",
        "/lib/security",
        "/usr/lib/security",
    ]
    .iter()
    .map(|dir| Path::new(dir).join(format!("{module}.so")))
    .find(|p| p.exists())
}

/// `/etc/pam.d/darius-test-<random>`, removed on drop (also when the test fails).
pub struct Service {
    pub name: String,
    pub path: PathBuf,
}

impl Service {
    pub fn write(stack: &str) -> Service {
        let mut bytes = [0u8; 8];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
            .unwrap();
        let tag: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("darius-test-{tag}");
        let path = Path::new("/etc/pam.d").join(&name);
        std::fs::write(&path, stack).unwrap();
        Service { name, path }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A SHA-512 crypt(3) hash of `password`, made by `openssl passwd -6`.
pub fn sha512_crypt(password: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["passwd", "-6", "-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
