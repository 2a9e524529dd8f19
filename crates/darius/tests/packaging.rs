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

fn packaging() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging")
}

fn bless() -> bool {
    std::env::var_os("DARIUS_BLESS").is_some()
}

/// darius(8) and a page per command (`darius manpages DIR`, from the command line's own
/// definition) in `packaging/man/`: current, and groff reads each without a warning.
#[test]
fn manual_pages_are_current_and_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_darius"))
        .arg("manpages")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let committed = packaging().join("man");
    let pages = |d: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".8"))
            .collect();
        names.sort();
        names
    };
    let made = pages(dir.path());
    assert!(
        made.len() > 20 && made.contains(&"darius.8".to_string()),
        "{made:?}"
    );
    if bless() {
        for old in pages(&committed) {
            std::fs::remove_file(committed.join(old)).unwrap();
        }
        for page in &made {
            std::fs::copy(dir.path().join(page), committed.join(page)).unwrap();
        }
        return;
    }
    assert_eq!(
        pages(&committed),
        made,
        "packaging/man is stale: run `DARIUS_BLESS=1 cargo test -p darius --test packaging`"
    );
    for page in &made {
        let new = std::fs::read(dir.path().join(page)).unwrap();
        assert!(
            std::fs::read(committed.join(page)).unwrap() == new,
            "packaging/man/{page} is stale: run `DARIUS_BLESS=1 cargo test -p darius --test packaging`"
        );
    }
    if !common::interop::have_program("/usr/bin/groff", "groff-base") {
        return;
    }
    for page in &made {
        // -k: the pages are UTF-8 (preconv), as man reads them.
        let out = Command::new("groff")
            .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
            .arg(committed.join(page))
            .output()
            .unwrap();
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.trim().is_empty(),
            "{page}: {warnings}"
        );
    }
}

/// The completion scripts (`darius completions SHELL`) in `packaging/completions/`: current,
/// and bash parses its own.
#[test]
fn shell_completions_are_current() {
    let committed = packaging().join("completions");
    for (shell, file) in [
        ("bash", "darius"),
        ("zsh", "_darius"),
        ("fish", "darius.fish"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_darius"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success() && !out.stdout.is_empty(), "{out:?}");
        let path = committed.join(file);
        if bless() {
            std::fs::create_dir_all(&committed).unwrap();
            std::fs::write(&path, &out.stdout).unwrap();
            continue;
        }
        assert!(
            std::fs::read(&path).unwrap_or_default() == out.stdout,
            "packaging/completions/{file} is stale: run `DARIUS_BLESS=1 cargo test -p darius \
             --test packaging`"
        );
    }
    let check = Command::new("bash")
        .arg("-n")
        .arg(committed.join("darius"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
}

/// `/etc/darius/imapd.conf` of the package: `packaging/imapd.conf.in` (the packaged layout:
/// data under /var/lib/darius and /var/spool/darius, standard ports on every address, ssl-cert's
/// snakeoil pair) written out with every other option as a commented default, as the embedded
/// default writes its own; current, and it reads back to the same configuration.
#[test]
fn the_packaged_configuration_is_current_and_reads_back() {
    let source = std::fs::read_to_string(packaging().join("imapd.conf.in")).unwrap();
    let (config, warnings) = config::parse_str(&source, "packaging/imapd.conf.in").unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let header = "Darius's configuration (darius-imapd.conf(5), /usr/share/doc/darius/configuration.md).\n\
                  Options set are live lines; the others are commented out with their defaults.\n\
                  After a change: `systemctl restart darius` (the TLS certificate: `systemctl reload darius`).";
    let text = config::render_imapd_conf(&config, header);
    let path = packaging().join("imapd.conf");
    if bless() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    assert!(
        std::fs::read_to_string(&path).unwrap_or_default() == text,
        "packaging/imapd.conf is stale: run `DARIUS_BLESS=1 cargo test -p darius --test packaging`"
    );
    let (again, warnings) = config::parse_str(&text, "packaging/imapd.conf").unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(
        config.differences(&again).is_empty(),
        "{:?}",
        config.differences(&again)
    );
    for line in [
        "listen_imap: 0.0.0.0:143",
        "configdirectory: /var/lib/darius",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}");
    }
}
