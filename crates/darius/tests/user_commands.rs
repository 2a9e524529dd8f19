//! `darius user …` as an admin runs it: what each command says, through the admin socket and
//! offline alike; no store is ever made by anything but `darius serve`; `user del` asks before
//! deleting mail.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

use std::io::Write;
use std::process::{Command, Stdio};

mod cli;

use cli::{text, World, DARIUS};

#[test]
fn admin_commands_refuse_to_create_a_store_and_name_the_data_directory() {
    // Without -C, from a directory where no server ever ran.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("darius-data");
    for args in [&["user", "list"][..], &["user", "add", "bob"]] {
        let mut child = Command::new(DARIUS)
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = writeln!(child.stdin.take().unwrap(), "pw");
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = text(&out);
        assert!(!out.status.success(), "{args:?}: {stdout}");
        assert!(
            stderr.contains(&data.display().to_string()),
            "{args:?} names the data directory: {stderr}"
        );
        assert!(
            stderr.contains("darius serve"),
            "{args:?} says how: {stderr}"
        );
        assert!(!data.exists(), "{args:?} created {}", data.display());
    }
    // With -C, before the first start.
    let world = World::new("");
    let out = world.user(&["add", "bob"], Some("pw"));
    let stderr = text(&out).1;
    assert!(!out.status.success());
    assert!(
        stderr.contains(&world.config_dir().display().to_string()),
        "{stderr}"
    );
    assert!(!world.config_dir().exists(), "no store was made");
}

/// `user add`, `passwd`, `del --yes` for `name`: what each printed on stdout.
fn user_lifecycle(world: &World, name: &str) -> Vec<String> {
    let mut said = Vec::new();
    for (args, password) in [
        (vec!["add", name], Some("pw1")),
        (vec!["passwd", name], Some("pw2")),
        (vec!["del", name, "--yes"], None),
    ] {
        let out = world.user(&args, password);
        assert!(out.status.success(), "{args:?}: {:?}", text(&out));
        said.push(text(&out).0);
    }
    said
}

#[test]
fn user_commands_say_what_they_did_the_same_way_through_the_socket_and_offline() {
    let world = World::new("");
    world.initialise();
    let offline = user_lifecycle(&world, "alice");
    let online = world.while_serving(|| user_lifecycle(&world, "alice"));
    let dir = world.config_dir().display().to_string();
    assert_eq!(
        offline,
        [
            format!("added user `alice` and created their INBOX (data directory {dir})\n"),
            format!("changed the password of `alice` (data directory {dir})\n"),
            format!("deleted user `alice` and all their mail: 1 mailbox (data directory {dir})\n"),
        ]
    );
    assert_eq!(online, offline, "the admin socket says the same");
}

fn assert_del_refused_without_yes(world: &World) {
    let out = world.user(&["del", "alice"], None);
    assert!(!out.status.success());
    let stderr = text(&out).1;
    assert!(
        stderr.contains("user del deletes all mail of `alice`") && stderr.contains("--yes"),
        "{stderr}"
    );
    assert_eq!(text(&world.user(&["list"], None)).0, "alice\n");
}

#[test]
fn user_del_without_yes_refuses_and_keeps_the_mail() {
    let world = World::new("");
    world.initialise();
    assert!(world.user(&["add", "alice"], Some("pw")).status.success());
    assert_del_refused_without_yes(&world);
    world.while_serving(|| assert_del_refused_without_yes(&world));
}

/// Runs `darius -C CONF user del alice` on a terminal (util-linux `script` gives it a pty) and
/// types `answer`.
fn del_on_a_terminal(world: &World, answer: &str) -> String {
    let command = format!("{DARIUS} -C {} user del alice", world.conf.display());
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = writeln!(child.stdin.take().unwrap(), "{answer}");
    let out = child.wait_with_output().unwrap();
    // The pty echoes the typed answer when it arrives, which on a loaded machine can be in
    // the middle of the prompt (typeahead): what the program wrote is the screen without it.
    let screen = text(&out).0;
    match ["\r\n", "\n"].iter().find_map(|end| {
        screen
            .find(&format!("{answer}{end}"))
            .map(|at| (at, answer.len() + end.len()))
    }) {
        Some((at, len)) => format!("{}{}", &screen[..at], &screen[at + len..]),
        None => screen,
    }
}

#[test]
fn user_del_on_a_terminal_asks_before_deleting_mail() {
    if Command::new("script").arg("--version").output().is_err() {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED user_del_on_a_terminal_asks_before_deleting_mail: script is not installed \
             (Debian package bsdutils; see docs/TESTING.md)"
        );
        assert_ne!(
            std::env::var("DARIUS_REQUIRE_INTEROP").as_deref(),
            Ok("1"),
            "`script` is required (DARIUS_REQUIRE_INTEROP=1)"
        );
        return;
    }
    let world = World::new("");
    world.initialise();
    assert!(world.user(&["add", "alice"], Some("pw")).status.success());
    let screen = del_on_a_terminal(&world, "n");
    assert!(
        screen.contains("Delete user `alice` and all their mail"),
        "{screen}"
    );
    assert_eq!(text(&world.user(&["list"], None)).0, "alice\n");
    let screen = del_on_a_terminal(&world, "y");
    assert!(screen.contains("deleted user `alice`"), "{screen}");
    assert_eq!(text(&world.user(&["list"], None)).0, "");
}

/// `allowapop` decides whether `user add` and `user passwd` keep the password for APOP
/// (`user show` lists it as `apop`), offline and through the admin socket alike; off, a new
/// password drops its copy.
#[test]
fn allowapop_keeps_a_copy_of_the_passwords_it_is_given_and_only_then() {
    let world = World::new("allowapop: 1\n");
    world.initialise();
    let set = |args: &[&str]| {
        let out = world.user(args, Some("pw"));
        assert!(out.status.success(), "{args:?}: {:?}", text(&out));
    };
    let show = |name: &str| text(&world.user(&["show", name], None)).0;
    let scram = "argon2id scram-sha-1(4096) scram-sha-256(4096)";
    set(&["add", "alice"]);
    world.while_serving(|| set(&["add", "bob"]));
    assert_eq!(show("alice"), format!("alice: {scram} apop\n"));
    assert_eq!(show("bob"), format!("bob: {scram} apop\n"));

    let conf = std::fs::read_to_string(&world.conf).unwrap();
    std::fs::write(&world.conf, conf.replace("allowapop: 1\n", "")).unwrap();
    set(&["add", "carol"]);
    world.while_serving(|| set(&["passwd", "bob"]));
    set(&["passwd", "alice"]);
    for name in ["alice", "bob", "carol"] {
        assert_eq!(show(name), format!("{name}: {scram}\n"));
    }
}
