//! `darius acl get|set|delete` as an administrator runs them: by internal name, relative names
//! under `--context`, `+`/`-` modifiers and negative entries as in SETACL; the same words
//! through the admin socket and offline; refusals with a reason and a non-zero exit; and an
//! entry set from the command line giving a user exactly those rights over IMAP.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

mod cli;
mod common;
mod imap_support;

use cli::{text, World};

/// The commands of one run and what each printed.
fn session(world: &World) -> Vec<String> {
    let mut said = Vec::new();
    for args in [
        &["mailbox", "create", "cmu"][..],
        &["mailbox", "create", "cmu.comp"],
        &["acl", "get", "cmu"],
        &["acl", "set", "cmu", "fred", "lrsp"],
        &["acl", "set", "cmu", "fred", "+wc"],
        &["acl", "set", "cmu", "fred", "-s"],
        &["acl", "set", "cmu", "-anonymous", "s"],
        &["acl", "set", ".comp", "anyone", "lr", "--context", "cmu"],
        &["acl", "get", "cmu"],
        &["acl", "delete", "cmu", "fred"],
        &["acl", "delete", "cmu", "-anonymous"],
        &["acl", "get", "cmu"],
        &["acl", "get", ".comp", "--context", "cmu"],
    ] {
        let (ok, stdout, stderr) = world.run(args);
        assert!(ok, "{args:?}: {stderr}");
        said.push(stdout);
    }
    // Clean up for the next run.
    assert!(world.run(&["mailbox", "delete", "cmu.comp"]).0);
    assert!(world.run(&["mailbox", "delete", "cmu"]).0);
    said
}

#[test]
fn acl_commands_work_through_the_socket_and_offline_alike() {
    let world = World::new("");
    world.initialise();
    let offline = session(&world);
    assert_eq!(
        offline,
        [
            "created mailbox cmu on partition default\n",
            "created mailbox cmu.comp on partition default\n",
            "anyone lrs\n",
            "set fred lrsp on cmu\n",
            "set fred +wc on cmu\n",
            "set fred -s on cmu\n",
            "set -anonymous s on cmu\n",
            "set anyone lr on cmu.comp\n",
            "anyone lrs\nfred lrwpkx\n-anonymous s\n",
            "deleted the entry of fred on cmu\n",
            "deleted the entry of -anonymous on cmu\n",
            "anyone lrs\n",
            "anyone lr\n",
        ]
        .map(String::from)
        .to_vec(),
    );
    let online = world.while_serving(|| session(&world));
    assert_eq!(online, offline, "the admin socket says the same");
}

#[test]
fn invalid_rights_missing_mailboxes_and_relative_names_are_refused_with_a_reason() {
    let world = World::new("");
    world.initialise();
    assert!(world.run(&["mailbox", "create", "cmu"]).0);
    for (args, says) in [
        (
            &["acl", "set", "cmu", "fred", "lrz"][..],
            "invalid rights \"lrz\": 'z' is not a right",
        ),
        (&["acl", "set", "cmu", "fred", "+q"], "'q' is not a right"),
        (&["acl", "get", "no.such"], "Mailbox does not exist"),
        (
            &["acl", "set", "no.such", "fred", "lr"],
            "Mailbox does not exist",
        ),
        (
            &["acl", "delete", "no.such", "fred"],
            "Mailbox does not exist",
        ),
        (&["acl", "get", ".comp"], "--context"),
        (&["acl", "get", "a..b"], "empty hierarchy level"),
    ] {
        let (ok, stdout, stderr) = world.run(args);
        assert!(!ok, "{args:?} succeeded: {stdout}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let (ok, stdout, _) = world.run(&["acl", "get", "cmu"]);
    assert!(ok);
    assert_eq!(
        stdout, "anyone lrs\n",
        "nothing was changed by the refusals"
    );
}

#[test]
fn an_entry_set_from_the_command_line_gives_exactly_those_rights_over_imap() {
    let server = common::Server::start();
    server.add_user("bob", "pw-bob");
    let run = |args: &[&str]| {
        let out = server.darius(args).output().unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{args:?}: {stderr}");
        stdout
    };
    run(&["mailbox", "create", "shared"]);
    run(&["acl", "delete", "shared", "anyone"]);
    let rights = |bob: &mut imap_support::Client, tag: &str| {
        let lines = bob.cmd(tag, "MYRIGHTS shared");
        imap_support::last(&lines).to_string() + &lines.concat()
    };
    let mut bob = imap_support::Client::login(server.imap_port, "bob");
    let before = rights(&mut bob, "m0");
    assert!(before.contains("m0 NO [NONEXISTENT]"), "{before}");
    run(&["acl", "set", "shared", "bob", "lrsp"]);
    run(&["acl", "set", "shared", "bob", "-s"]);
    let after = rights(&mut bob, "m1");
    assert!(after.contains("* MYRIGHTS shared lrp\r\n"), "{after}");
    assert_eq!(run(&["acl", "get", "shared"]), "bob lrp\n");
}
