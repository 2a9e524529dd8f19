//! The systemd unit in `packaging/darius.service`: `systemd-analyze verify` accepts it with no
//! warning (its ExecStart pointed at the binary under test, since `/usr/sbin/darius` exists
//! only once the package is installed), and the same check does catch a unit it should not
//! accept. Skipped without systemd-analyze unless DARIUS_REQUIRE_INTEROP=1.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

/// `systemd-analyze verify` of the packaged unit with `edit` applied: success and its output.
fn verify(edit: impl Fn(&str) -> String) -> (bool, String) {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/darius.service");
    let text = std::fs::read_to_string(unit).unwrap();
    let text = text.replace("/usr/sbin/darius", env!("CARGO_BIN_EXE_darius"));
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("darius.service");
    std::fs::write(&copy, edit(&text)).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn systemd_accepts_the_unit_and_refuses_a_broken_one() {
    if !common::interop::have_program("/usr/bin/systemd-analyze", "systemd") {
        return;
    }
    let (ok, out) = verify(str::to_string);
    assert!(ok && out.trim().is_empty(), "{out}");
    // The unit says what the server does: notify (READY=1...), reload by SIGHUP, the
    // packaged configuration.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/darius.service"),
    )
    .unwrap();
    for line in [
        "Type=notify",
        "ExecStart=/usr/sbin/darius -C /etc/darius/imapd.conf serve",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/darius /var/spool/darius",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectHome=yes",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing");
    }
    // What the check catches: a misspelt setting (a warning), a binary that is not there.
    let (_, out) = verify(|t| t.replace("Type=notify", "Type=notifyy"));
    assert!(out.contains("notifyy"), "{out}");
    let (ok, out) = verify(|t| t.replace(env!("CARGO_BIN_EXE_darius"), "/nonexistent/darius"));
    assert!(!ok, "{out}");
}
