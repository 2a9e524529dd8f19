//! `darius user import-sasldb`: a sasldb made by Cyrus SASL's own `saslpasswd2` (Debian
//! package `sasl2-bin`) is imported, and its users then log in over IMAP with the passwords
//! they had under Cyrus; through the running server's admin socket and on the files with the
//! server stopped, with `--dry-run` and `--replace`. Without `saslpasswd2` the tests note
//! `SKIPPED` and pass, unless DARIUS_REQUIRE_INTEROP=1 (docs/TESTING.md).
#![allow(clippy::unwrap_used)]

mod cli;
mod common;
mod imap_support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use imap_support::{last, Client};

/// The default realm the test servers are given (`servername`).
const REALM: &str = "mail.example.org";

/// `saslpasswd2 -p -f FILE -c -u REALM USER` with `password` on standard input; with `conf`,
/// Cyrus SASL reads `saslpasswd.conf` from there and `-n` stores no clear-text password.
fn saslpasswd2(file: &Path, realm: &str, user: &str, password: &str, conf: Option<&Path>) {
    let mut cmd = Command::new("saslpasswd2");
    cmd.args(["-p", "-f"]).arg(file).args(["-c", "-u", realm]);
    if let Some(conf) = conf {
        cmd.env("SASL_CONF_PATH", conf).arg("-n");
    }
    let mut child = cmd
        .arg(user)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A sasldb of a Cyrus site: two users of the default realm (one with a 1,500-byte password,
/// an off-page item), one of another realm, one with only a SCRAM secret.
fn cyrus_sasldb(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("sasldb2");
    saslpasswd2(&file, REALM, "alice", "alice's cyrus password", None);
    saslpasswd2(&file, REALM, "carol", &"long ".repeat(300), None);
    saslpasswd2(
        &file,
        "other.example.net",
        "bob",
        "bob in another realm",
        None,
    );
    let conf = dir.join("sasl-conf");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(conf.join("saslpasswd.conf"), "scram_secret_generate: yes\n").unwrap();
    saslpasswd2(&file, REALM, "erin", "never stored in clear", Some(&conf));
    file
}

/// The tagged answer to `LOGIN user password`, without its tag.
fn login(port: u16, user: &str, password: &str) -> String {
    let mut c = Client::connect(port);
    let r = c.cmd("l", &format!("LOGIN \"{user}\" \"{password}\""));
    last(&r).trim_end()[2..].to_string()
}

fn import(mut cmd: Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    let (stdout, stderr) = cli::text(&out);
    (out.status.success(), stdout, stderr)
}

#[test]
fn imported_cyrus_users_log_in_over_imap_with_their_cyrus_passwords() {
    if !common::have("saslpasswd2") {
        return;
    }
    let server = common::Server::start_with(&format!("servername: {REALM}\n"));
    let file = cyrus_sasldb(server.dir.path());
    let (ok, stdout, stderr) =
        import(server.darius(&["user", "import-sasldb", file.to_str().unwrap()]));
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("added alice (alice@mail.example.org)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("added bob@other.example.net (bob@other.example.net)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "skipped erin@mail.example.org: no clear-text userPassword, only authPassword"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("3 added, 0 replaced, 0 kept"), "{stdout}");
    assert!(stdout.contains("1 skipped, 0 failed"), "{stdout}");
    assert!(
        stdout.contains("(Berkeley DB hash, little-endian; default realm mail.example.org)"),
        "{stdout}"
    );

    let port = server.imap_port;
    assert!(login(port, "alice", "alice's cyrus password").starts_with("OK"));
    assert!(login(port, "carol", &"long ".repeat(300)).starts_with("OK"));
    assert!(login(port, "bob@other.example.net", "bob in another realm").starts_with("OK"));
    for (user, password) in [
        ("alice", "a wrong password"),
        ("bob", "bob in another realm"),
        ("erin", "never stored in clear"),
    ] {
        let answer = login(port, user, password);
        assert!(
            answer.starts_with("NO [AUTHENTICATIONFAILED]"),
            "{user}: {answer}"
        );
    }
    // The import made INBOXes, as `user add` does.
    let mut c = Client::connect(port);
    c.cmd("l", "LOGIN alice \"alice's cyrus password\"");
    let r = c.cmd("s", "SELECT INBOX");
    assert!(last(&r).starts_with("s OK"), "{r:?}");
}

#[test]
fn offline_import_dry_run_changes_nothing_and_replace_sets_new_passwords() {
    if !common::have("saslpasswd2") {
        return;
    }
    let world = cli::World::new(&format!("servername: {REALM}\nadmins: admin\n"));
    world.initialise();
    let file = cyrus_sasldb(world.dir.path());
    let path = file.to_str().unwrap();

    let (ok, stdout, stderr) = world.run(&["user", "import-sasldb", "--dry-run", path]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("would have added alice (alice@mail.example.org)"),
        "{stdout}"
    );
    assert!(stdout.contains("would import"), "{stdout}");
    let (_, users, _) = world.run(&["user", "list"]);
    assert_eq!(users, "", "a dry run added users");

    let (ok, stdout, stderr) = world.run(&["user", "import-sasldb", path]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("3 added"), "{stdout}");

    // Cyrus changed alice's password meanwhile: a second import keeps her, --replace updates.
    saslpasswd2(&file, REALM, "alice", "alice's new password", None);
    let (ok, stdout, _) = world.run(&["user", "import-sasldb", path]);
    assert!(ok);
    assert!(
        stdout.contains("kept alice (alice@mail.example.org): already a user"),
        "{stdout}"
    );
    assert!(stdout.contains("0 added, 0 replaced, 3 kept"), "{stdout}");
    let (ok, stdout, stderr) = world.run(&[
        "user",
        "import-sasldb",
        "--replace",
        "--realm",
        "other.example.net",
        path,
    ]);
    assert!(ok, "{stderr}");
    // Under the other default realm, bob is plain `bob` and the others carry their realm.
    assert!(
        stdout.contains("added bob (bob@other.example.net)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("added alice@mail.example.org (alice@mail.example.org)"),
        "{stdout}"
    );

    let (ok, stdout, stderr) = world.run(&["user", "import-sasldb", "--replace", path]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("replaced the password of alice (alice@mail.example.org)"),
        "{stdout}"
    );
    let check = |user: &str, password: &str| {
        let out = world.user(&["check", user], Some(password));
        out.status.success()
    };
    assert!(check("alice", "alice's new password"));
    assert!(!check("alice", "alice's cyrus password"));
    assert!(check("bob", "bob in another realm"));
}

#[test]
fn a_file_that_is_no_sasldb_is_a_clear_error() {
    let world = cli::World::new("");
    world.initialise();
    let file = world.dir.path().join("not-a-sasldb");
    std::fs::write(&file, "alice:secret\n").unwrap();
    let (ok, _, stderr) = world.run(&["user", "import-sasldb", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("is not a readable sasldb: not a Cyrus SASL database"),
        "{stderr}"
    );
    let (ok, _, stderr) = world.run(&["user", "import-sasldb", "/nonexistent/sasldb2"]);
    assert!(!ok);
    assert!(stderr.contains("/nonexistent/sasldb2"), "{stderr}");
}
