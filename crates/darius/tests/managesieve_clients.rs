//! Real ManageSieve clients from Debian against the server:
//! - `sieve-connect` (package sieve-connect) over STARTTLS, trusting the test certificate:
//!   upload, list, activate, download (compared byte for byte), deactivate, delete;
//! - Cyrus's `sieveshell` (package cyrus-admin): put, list, activate, get, delete; and an
//!   administrator managing a user's scripts (`-a admin -u alice`: the authorization identity).
//!
//! What the clients did is checked over the wire with the raw client too. Skipped with a note
//! when a program is missing, failing under DARIUS_REQUIRE_INTEROP=1.
#![allow(clippy::unwrap_used)]

mod common;
mod sieve_support;

use std::process::Command;

use common::Server;
use sieve_support::Client;

const SCRIPT: &str = "require [\"fileinto\"];\r\nif header :contains \"subject\" \"[list]\" {\r\n  fileinto \"INBOX.lists\";\r\n}\r\n";

fn server() -> Server {
    let server = Server::start();
    server.add_user("alice", "pw-alice");
    server.add_user("admin", "pw-admin");
    server
}

/// Runs `cmd` with `stdin`; its exit code and everything it wrote.
fn run(cmd: &mut Command, stdin: &str) -> (Option<i32>, String) {
    let out = common::output_with_input(cmd, stdin);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// alice's scripts as LISTSCRIPTS shows them.
fn listed(server: &Server) -> Vec<String> {
    let mut c = Client::login(server.sieve_port, "", "alice", "pw-alice");
    c.cmd("LISTSCRIPTS").data
}

// ---- sieve-connect

/// sieve-connect for alice over STARTTLS, the password on fd 0, and one action.
fn sieve_connect(server: &Server, args: &[&str]) -> (Option<i32>, String) {
    let port = server.sieve_port.to_string();
    let ca = server.cert_path();
    run(
        Command::new("sieve-connect")
            .args(["--server", "localhost", "--port", &port, "--user", "alice"])
            .args(["--passwordfd", "0", "--tlscafile"])
            .arg(&ca)
            .args(["--tlshostname", "localhost"])
            .args(args),
        "pw-alice\n",
    )
}

#[test]
fn sieve_connect_uploads_lists_activates_downloads_and_deletes() {
    if !common::have("sieve-connect") {
        return;
    }
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("filter.sieve");
    std::fs::write(&local, SCRIPT).unwrap();
    let local = local.to_str().unwrap();
    let (code, out) = sieve_connect(
        &server,
        &["--upload", "--localsieve", local, "--remotesieve", "filter"],
    );
    assert_eq!(code, Some(0), "upload: {out}\n{}", server.log());
    assert_eq!(listed(&server), ["\"filter\""]);
    let (code, out) = sieve_connect(&server, &["--activate", "--remotesieve", "filter"]);
    assert_eq!(code, Some(0), "activate: {out}");
    assert_eq!(listed(&server), ["\"filter\" ACTIVE"]);
    let (code, out) = sieve_connect(&server, &["--list"]);
    assert_eq!(code, Some(0), "list: {out}");
    assert!(out.contains("filter"), "{out}");
    let back = dir.path().join("back.sieve");
    let back_arg = back.to_str().unwrap();
    let (code, out) = sieve_connect(
        &server,
        &[
            "--download",
            "--remotesieve",
            "filter",
            "--localsieve",
            back_arg,
        ],
    );
    assert_eq!(code, Some(0), "download: {out}");
    assert_eq!(std::fs::read_to_string(&back).unwrap(), SCRIPT);
    let (code, out) = sieve_connect(&server, &["--delete", "--remotesieve", "filter"]);
    assert_ne!(code, Some(0), "the active script is not deleted: {out}");
    let (code, out) = sieve_connect(&server, &["--deactivate"]);
    assert_eq!(code, Some(0), "deactivate: {out}");
    let (code, out) = sieve_connect(&server, &["--delete", "--remotesieve", "filter"]);
    assert_eq!(code, Some(0), "delete: {out}");
    assert!(listed(&server).is_empty());
}

#[test]
fn sieve_connect_sees_a_syntax_error_with_its_line() {
    if !common::have("sieve-connect") {
        return;
    }
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("bad.sieve");
    std::fs::write(&local, "keep;\r\nstop;\r\nfrobnicate;\r\n").unwrap();
    let (code, out) = sieve_connect(
        &server,
        &[
            "--upload",
            "--localsieve",
            local.to_str().unwrap(),
            "--remotesieve",
            "bad",
        ],
    );
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("line 3"), "{out}");
    assert!(listed(&server).is_empty());
}

// ---- sieveshell

/// sieveshell as `authname` (for `user`), running `commands`.
fn sieveshell(
    server: &Server,
    authname: &str,
    password: &str,
    user: &str,
    commands: &str,
) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("commands");
    std::fs::write(&script, commands).unwrap();
    run(
        Command::new("sieveshell")
            .arg(format!("--authname={authname}"))
            .arg(format!("--user={user}"))
            .arg(format!("--password={password}"))
            .arg(format!("--execfile={}", script.display()))
            .arg(format!("127.0.0.1:{}", server.sieve_port)),
        "",
    )
}

#[test]
fn sieveshell_puts_lists_activates_gets_and_deletes() {
    if !common::have("sieveshell") {
        return;
    }
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("filter.sieve");
    std::fs::write(&local, SCRIPT).unwrap();
    let back = dir.path().join("back.sieve");
    let commands = format!(
        "put {} filter\nactivate filter\nlist\nget filter {}\n",
        local.display(),
        back.display()
    );
    let (code, out) = sieveshell(&server, "alice", "pw-alice", "alice", &commands);
    assert_eq!(code, Some(0), "{out}\n{}", server.log());
    // Cyrus SASL picks SCRAM-SHA-256 (libsasl2-modules), whose last data comes as one more
    // challenge: the path a PLAIN login never takes.
    assert!(
        server.logged("alice SCRAM-SHA-256 User logged in"),
        "{}",
        server.log()
    );
    assert!(out.contains("filter"), "{out}");
    assert_eq!(listed(&server), ["\"filter\" ACTIVE"], "{out}");
    assert_eq!(std::fs::read_to_string(&back).unwrap(), SCRIPT);
    let (_, out) = sieveshell(&server, "alice", "pw-alice", "alice", "delete filter\n");
    assert_eq!(
        listed(&server),
        ["\"filter\" ACTIVE"],
        "active stays: {out}"
    );
    let (code, out) = sieveshell(
        &server,
        "alice",
        "pw-alice",
        "alice",
        "deactivate\ndelete filter\n",
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(listed(&server).is_empty(), "{out}");
}

#[test]
fn sieveshell_as_an_admin_manages_a_users_scripts() {
    if !common::have("sieveshell") {
        return;
    }
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("from-admin.sieve");
    std::fs::write(&local, SCRIPT).unwrap();
    let commands = format!("put {} from-admin\nactivate from-admin\n", local.display());
    let (code, out) = sieveshell(&server, "admin", "pw-admin", "alice", &commands);
    assert_eq!(code, Some(0), "{out}\n{}", server.log());
    assert_eq!(listed(&server), ["\"from-admin\" ACTIVE"], "{out}");
}
