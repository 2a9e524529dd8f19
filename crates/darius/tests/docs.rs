//! The README's promises and the test guide, checked against the repository: a new
//! administrator follows the README's commands in order, and the code's references to the test
//! guide lead somewhere.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Lines inside the README's ```sh blocks.
fn shell_lines(readme: &str) -> Vec<(usize, &str)> {
    let mut inside = false;
    let mut lines = Vec::new();
    for (n, line) in readme.lines().enumerate() {
        if line.starts_with("```") {
            inside = line.trim() == "```sh" && !inside;
            continue;
        }
        if inside {
            lines.push((n + 1, line.trim()));
        }
    }
    lines
}

/// Whether a shell line runs the `darius` program (at the start, or after a pipe).
fn runs_darius(line: &str) -> bool {
    line.split('|')
        .any(|part| part.trim_start().starts_with("darius "))
}

#[test]
fn the_readme_installs_darius_before_it_runs_the_darius_command() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let lines = shell_lines(&readme);
    let install = lines
        .iter()
        .find(|(_, l)| l.starts_with("cargo install --path crates/darius"))
        .map(|(n, _)| *n)
        .expect("the README installs the binary");
    if let Some((n, line)) = lines.iter().find(|(_, l)| runs_darius(l)) {
        assert!(
            install < *n,
            "README line {n} runs `{line}` before the install step on line {install}"
        );
    }
    for (n, line) in &lines {
        assert!(
            !line.contains("cargo run"),
            "README line {n}: one way to run darius throughout, the installed one: {line}"
        );
    }
}

fn rust_and_toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        if path.is_dir() {
            rust_and_toml_files(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "rs" || e == "toml" || e == "md")
        {
            out.push(path);
        }
    }
}

#[test]
fn the_test_guide_exists_and_every_reference_names_its_path() {
    let guide =
        std::fs::read_to_string(repo().join("docs/TESTING.md")).expect("docs/TESTING.md exists");
    for needed in [
        "DARIUS_REQUIRE_INTEROP=1",
        "--nocapture",
        "SKIPPED",
        "mbsync",
        "mutt",
    ] {
        assert!(guide.contains(needed), "docs/TESTING.md explains {needed}");
    }
    let mut files = Vec::new();
    for dir in ["crates", "fuzz", "docs", "tests", "xtask"] {
        if repo().join(dir).is_dir() {
            rust_and_toml_files(&repo().join(dir), &mut files);
        }
    }
    files.push(repo().join("README.md"));
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let bare = line
                .match_indices("TESTING.md")
                .any(|(at, _)| !line[..at].ends_with("docs/") && !line[..at].ends_with("]("));
            assert!(
                !bare || file.ends_with("darius/tests/docs.rs"),
                "{}:{}: cite docs/TESTING.md by its path: {line}",
                file.display(),
                n + 1
            );
        }
    }
}
