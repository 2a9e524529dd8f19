//! Cyrus SASL's `imtest` (Debian `cyrus-clients`), the real SASL client of the login tests:
//! whether it (and any plugin a test needs) is installed, and one run that logs in and out.
#![allow(dead_code, clippy::unwrap_used)]

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

pub const IMTEST: &str = "/usr/lib/cyrus/bin/imtest";

/// Whether `imtest` and the files in `also` (path, Debian package) are installed; otherwise a
/// `SKIPPED` note, or a failure under DARIUS_REQUIRE_INTEROP=1 (docs/TESTING.md). `imtest`
/// lives outside `PATH`, so `have()` cannot find it.
pub fn installed(also: &[(&str, &str)]) -> bool {
    let missing = [(IMTEST, "cyrus-clients")]
        .iter()
        .chain(also)
        .find(|(path, _)| !Path::new(path).exists());
    let Some((path, package)) = missing else {
        return true;
    };
    assert!(
        std::env::var("DARIUS_REQUIRE_INTEROP").as_deref() != Ok("1"),
        "{path} is required (DARIUS_REQUIRE_INTEROP=1): install {package}"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {path} is not installed (Debian package {package})"
    );
    false
}

/// Runs `imtest ARGS -p PORT HOST` with `env`, logs out, and answers whether it authenticated,
/// with the whole transcript for the failure message.
pub fn run(args: &[&str], env: &[(&str, OsString)], host: &str, port: u16) -> (bool, String) {
    let text = transcript(IMTEST, args, env, host, port, b". LOGOUT\r\n");
    let authenticated = text.lines().any(|l| l.trim() == "Authenticated.");
    (authenticated, text)
}

/// Runs one of Cyrus's test clients (`imtest`, `lmtptest`, …) as `PROGRAM ARGS -p PORT HOST`
/// with `env`, `input` on its stdin; its stdout and stderr together.
pub fn transcript(
    program: &str,
    args: &[&str],
    env: &[(&str, OsString)],
    host: &str,
    port: u16,
    input: &[u8],
) -> String {
    let mut child = Command::new(program)
        .args(args)
        .args(["-p", &port.to_string(), host])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
