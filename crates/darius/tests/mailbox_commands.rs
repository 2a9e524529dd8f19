//! `darius mailbox create|delete|rename|list` as an administrator runs them: by internal name,
//! relative names under `--context`, a partition on create and rename; the same words through
//! the admin socket and offline.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

mod cli;

use cli::World;

fn mailbox(world: &World, args: &[&str]) -> (bool, String, String) {
    world.run(&[&["mailbox"], args].concat())
}

/// The commands of one run and what each printed; `list` output last.
fn session(world: &World) -> Vec<String> {
    let mut said = Vec::new();
    for args in [
        &["create", "cmu"][..],
        &["create", ".comp.infosystems", "--context", "cmu"],
        &["create", "shared.board", "--partition", "second"],
        &["rename", "shared.board", "shared.news"],
        &[
            "rename",
            "shared.news",
            "shared.news",
            "--partition",
            "default",
        ],
        &["create", "user.gina"],
        &["delete", ".comp.infosystems", "--context", "cmu"],
        &["list", "*"],
    ] {
        let (ok, stdout, stderr) = mailbox(world, args);
        assert!(ok, "{args:?}: {stderr}");
        said.push(stdout);
    }
    // Clean up for the next run.
    for name in ["cmu", "shared.news", "user.gina"] {
        assert!(mailbox(world, &["delete", name]).0, "delete {name}");
    }
    said
}

#[test]
fn mailbox_commands_work_through_the_socket_and_offline_alike() {
    let second = tempfile::tempdir().unwrap();
    let world = World::new(&format!("partition-second: {}\n", second.path().display()));
    world.initialise();
    let offline = session(&world);
    assert_eq!(
        offline,
        [
            "created mailbox cmu on partition default\n",
            "created mailbox cmu.comp.infosystems on partition default\n",
            "created mailbox shared.board on partition second\n",
            "renamed mailbox shared.board to shared.news\n",
            "renamed mailbox shared.news to shared.news on partition default\n",
            "created mailbox user.gina on partition default\n",
            "deleted mailbox cmu.comp.infosystems\n",
            "cmu\nshared.news\nuser.gina\n",
        ]
        .map(String::from)
        .to_vec(),
    );
    let online = world.while_serving(|| session(&world));
    assert_eq!(online, offline, "the admin socket says the same");
}

#[test]
fn relative_names_need_a_context_and_refusals_say_why() {
    let world = World::new("");
    world.initialise();
    let (ok, _, stderr) = mailbox(&world, &["create", ".x"]);
    assert!(!ok && stderr.contains("--context"), "{stderr}");
    let (ok, _, stderr) = mailbox(&world, &["delete", "no.such.box"]);
    assert!(!ok && !stderr.is_empty(), "{stderr}");
    let (ok, _, stderr) = mailbox(&world, &["create", "a;b"]);
    assert!(!ok && stderr.contains("not allowed"), "{stderr}");
}
