//! The shared Sieve corpus (`tests/corpus/sieve`, a copy of the team's shared corpus: scripts,
//! messages and envelopes with what Dovecot/Pigeonhole and Cyrus did with them) as a
//! differential test over real sockets: for
//! each case a fresh server (`altnamespace` and `unixhierarchysep` as the corpus' Cyrus, a
//! `sendmail` stub recording every call, ManageSieve on `common::Server`'s ephemeral port) and
//! the case's user; `tests/interop/sieve_corpus.py` uploads the scripts over ManageSieve,
//! creates the folders over IMAP, delivers over LMTP, observes over IMAP and the stub's
//! captures, and compares with the side Darius must match (both where they agree; where they
//! disagree, the side its DECISIONS table names, with the RFC's reason).
//!
//! `SIEVE_CORPUS_CASE=NAME` runs one case. Without `python3` the test is skipped with a note,
//! or fails under `DARIUS_REQUIRE_INTEROP=1`. Without the corpus directory (a checkout without
//! the shared tree) it is skipped with a note, or fails under `DARIUS_REQUIRE_INTEROP=1`.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The user's password for every case.
const PASSWORD: &str = "pw-corpus";

/// The corpus directory: `SIEVE_CORPUS_DIR`, else the copy committed under
/// `tests/corpus/sieve` (the team's shared corpus, kept in the repository so that a clean
/// checkout runs it), else `shared/corpus/sieve` beside the checkout.
fn corpus_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SIEVE_CORPUS_DIR") {
        return Some(PathBuf::from(dir));
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    [
        repo.join("tests/corpus/sieve"),
        repo.join("../shared/corpus/sieve"),
    ]
    .into_iter()
    .find(|d| d.join("README.md").is_file())
}

/// The stub configured as `sendmail`: each call leaves `N.argv` (one argument a line), `N.msg`
/// (its standard input) and then `N.done` in `dir`, N ordered by the time of the call.
fn sendmail_stub(dir: &Path) -> PathBuf {
    let sent = dir.join("sent");
    std::fs::create_dir_all(&sent).unwrap();
    let path = dir.join("sendmail");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n\
             n=\"{}/$(date +%s%N)-$$\"\n\
             for a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$n.argv\"\n\
             cat > \"$n.msg\"\n\
             : > \"$n.done\"\n\
             exit 0\n",
            sent.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Runs one case on a server of its own; `Err` holds the script's report.
fn run_case(corpus: &Path, name: &str) -> Result<String, String> {
    let json = std::fs::read_to_string(corpus.join(format!("{name}.json"))).unwrap();
    let case: serde_json::Value = serde_json::from_str(&json).unwrap();
    let user = case["user"].as_str().unwrap();
    let stub_dir = tempfile::tempdir().unwrap();
    let stub = sendmail_stub(stub_dir.path());
    let conf = format!(
        "altnamespace: 1\nunixhierarchysep: 1\nsendmail: {}\n",
        stub.display()
    );
    let server = common::Server::start_with(&conf);
    server.add_user(user, PASSWORD);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/sieve_corpus.py");
    let out = Command::new("python3")
        .arg(&script)
        .env("CORPUS_DIR", corpus)
        .env("CASE", name)
        .env("SIEVE_PORT", server.sieve_port.to_string())
        .env("IMAP_PORT", server.imap_port.to_string())
        .env("LMTP_PORT", server.lmtp_port.to_string())
        .env("SENT_DIR", stub_dir.path().join("sent"))
        .env("USER_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(report)
    } else {
        let log: String = server
            .log()
            .lines()
            .filter(|l| l.contains("sieve") || l.contains("Sieve") || l.contains("ERROR"))
            .take(40)
            .map(|l| format!("  log: {l}\n"))
            .collect();
        Err(format!("{report}{log}"))
    }
}

#[test]
fn every_corpus_case_matches_the_rfc_side() {
    if !common::have("python3") {
        return;
    }
    let Some(corpus) = corpus_dir() else {
        assert!(
            std::env::var_os("DARIUS_REQUIRE_INTEROP").is_none(),
            "the Sieve corpus (tests/corpus/sieve or SIEVE_CORPUS_DIR) is missing"
        );
        eprintln!("skipped: no Sieve corpus (tests/corpus/sieve or SIEVE_CORPUS_DIR)");
        return;
    };
    let only = std::env::var("SIEVE_CORPUS_CASE").ok();
    let mut names: Vec<String> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".json").map(str::to_owned)
        })
        .filter(|n| only.as_ref().is_none_or(|o| o == n))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no corpus case named {only:?}");
    let mut failures = Vec::new();
    for name in &names {
        match run_case(&corpus, name) {
            Ok(report) => eprint!("{report}"),
            Err(report) => {
                eprint!("{report}");
                failures.push(report);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases differ:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
