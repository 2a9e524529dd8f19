//! The one rule for tests that need a Debian package, shared by every crate's tests (included
//! with `#[path = ".../tests/support/interop.rs"] mod interop;`): a missing program skips the
//! test with a note, unless DARIUS_REQUIRE_INTEROP=1, where it fails (docs/TESTING.md).

use std::io::Write;
use std::process::{Command, Stdio};

/// Whether `program` is installed. When it is not: under DARIUS_REQUIRE_INTEROP=1 a panic,
/// otherwise a `SKIPPED` note naming `package`, written to the process's stderr handle rather
/// than with `eprintln!` (the harness captures only the print macros, so the note shows beside
/// the passing test in a plain `cargo test` run).
pub fn have_program(program: &str, package: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("DARIUS_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("{program} is required (DARIUS_REQUIRE_INTEROP=1) but not installed");
        }
        let test = std::thread::current()
            .name()
            .unwrap_or("interop test")
            .to_string();
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: {program} is not installed (Debian package {package}; see docs/TESTING.md)"
        );
    }
    found
}
