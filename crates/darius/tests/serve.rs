//! `darius serve` as an admin runs it: the real binary on a temp dir — start-up, shutdown,
//! configuration errors, syslog, the admins warning.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

mod cli;

use cli::{refused, sigterm, text, wait_exit, World, DARIUS};

#[test]
fn users_are_managed_through_the_running_servers_admin_socket_and_sigterm_exits_cleanly() {
    let world = World::new("");
    let server = world.start();
    let add = world.user(&["add", "alice"], Some("wonderland"));
    assert!(add.status.success(), "{:?}", text(&add));
    let again = world.user(&["add", "alice"], Some("other"));
    assert!(!again.status.success());
    assert!(
        text(&again).1.contains("already exists"),
        "{:?}",
        text(&again)
    );
    let list = world.user(&["list"], None);
    assert_eq!(text(&list).0, "alice\n");
    assert!(world
        .user(&["check", "alice"], Some("wonderland"))
        .status
        .success());
    assert!(!world
        .user(&["check", "alice"], Some("wrong"))
        .status
        .success());
    let pw = world.user(&["passwd", "alice"], Some("looking-glass"));
    assert!(pw.status.success(), "{:?}", text(&pw));
    assert!(world
        .user(&["check", "alice"], Some("looking-glass"))
        .status
        .success());

    sigterm(&server);
    let (status, stderr) = wait_exit(server);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("SIGTERM received"), "{stderr}");
    assert!(
        !world.admin_socket().exists(),
        "the socket is removed at exit"
    );

    // Stopped: the tools open the database themselves and see the same users.
    assert_eq!(text(&world.user(&["list"], None)).0, "alice\n");
    assert!(world
        .user(&["del", "alice", "--yes"], None)
        .status
        .success());
    assert_eq!(text(&world.user(&["list"], None)).0, "");
}

#[test]
fn a_second_server_on_the_same_data_directory_is_refused() {
    let world = World::new("");
    let first = world.start();
    let second = world.darius(&["serve"]).output().unwrap();
    assert!(!second.status.success());
    let stderr = text(&second).1;
    assert!(stderr.contains("already running"), "{stderr}");
    assert!(
        stderr.contains(&first.id().to_string()),
        "names the running pid: {stderr}"
    );
    sigterm(&first);
    assert_eq!(wait_exit(first).0.code(), Some(0));
}

#[test]
fn a_configured_service_this_build_lacks_is_refused_at_start_up() {
    let world = World::new("listen_metrics: 127.0.0.1:0\n");
    let stderr = refused(world.darius(&["serve"]));
    let expected = format!(
        "{}:4: listen_metrics: not supported yet",
        world.conf.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!world.admin_socket().exists(), "nothing was started");
}

#[test]
fn a_bad_value_stops_start_up_with_file_and_line() {
    let world = World::new("maxline: plenty\n");
    let stderr = refused(world.darius(&["serve"]));
    let expected = format!("{}:4: maxline:", world.conf.display());
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn an_unknown_option_warns_with_the_closest_name() {
    let world = World::new("admnis: boss\n");
    world.initialise();
    let out = world.user(&["list"], None);
    assert!(out.status.success());
    assert!(
        text(&out)
            .1
            .contains("unknown option `admnis` ignored; did you mean `admins`?"),
        "{:?}",
        text(&out)
    );
}

fn syslog_world(socket: &Path) -> World {
    let world = World::new("");
    let text = std::fs::read_to_string(&world.conf).unwrap();
    let text = text.replace(
        &format!("syslog_socket: {}/no-syslog", world.dir.path().display()),
        &format!("syslog_socket: {}", socket.display()),
    );
    std::fs::write(&world.conf, text).unwrap();
    world
}

#[test]
fn authentications_reach_syslog_as_local6_notice() {
    let sink_dir = tempfile::tempdir().unwrap();
    let socket = sink_dir.path().join("log");
    let sink = UnixDatagram::bind(&socket).unwrap();
    sink.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let world = syslog_world(&socket);
    world.initialise();
    assert!(world
        .user(&["add", "alice"], Some("secret-word"))
        .status
        .success());
    assert!(world
        .user(&["check", "alice"], Some("secret-word"))
        .status
        .success());
    assert!(!world
        .user(&["check", "alice"], Some("not-it"))
        .status
        .success());

    let mut messages = Vec::new();
    let mut buf = [0u8; 4096];
    while messages.len() < 2 {
        let n = sink.recv(&mut buf).expect("a syslog datagram");
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        if msg.contains("login:") {
            messages.push(msg);
        }
    }
    // LOCAL6 is facility 22 and NOTICE severity 5: PRI = 22 * 8 + 5.
    assert!(messages[0].starts_with("<181>"), "{}", messages[0]);
    assert!(messages[0].contains("darius["), "{}", messages[0]);
    assert!(
        messages[0].contains(" login: ") && messages[0].contains("alice"),
        "{}",
        messages[0]
    );
    assert!(
        messages[1].starts_with("<181>") && messages[1].contains("badlogin:"),
        "{}",
        messages[1]
    );
    for m in &messages {
        assert!(
            !m.contains("secret-word") && !m.contains("not-it"),
            "no password in logs: {m}"
        );
    }
}

#[test]
fn syslog_facility_is_configurable() {
    let sink_dir = tempfile::tempdir().unwrap();
    let socket = sink_dir.path().join("log");
    let sink = UnixDatagram::bind(&socket).unwrap();
    sink.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let world = syslog_world(&socket);
    let text = std::fs::read_to_string(&world.conf).unwrap() + "syslog_facility: MAIL\n";
    std::fs::write(&world.conf, text).unwrap();
    world.initialise();
    assert!(world.user(&["add", "bob"], Some("pw")).status.success());
    assert!(world.user(&["check", "bob"], Some("pw")).status.success());
    let mut buf = [0u8; 4096];
    loop {
        let n = sink.recv(&mut buf).expect("a syslog datagram");
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        if msg.contains("login:") {
            // MAIL is facility 2: PRI = 2 * 8 + 5.
            assert!(msg.starts_with("<21>"), "{msg}");
            break;
        }
    }
}

#[test]
fn options_not_supported_yet_stop_start_up_with_file_and_line() {
    let world = World::new("listen_metrics: 127.0.0.1:0\n");
    let stderr = refused(world.darius(&["serve"]));
    let conf = world.conf.display();
    let expected = format!("{conf}:4: listen_metrics: not supported yet");
    assert!(stderr.contains(&expected), "{expected} in {stderr}");
    assert!(!world.admin_socket().exists(), "nothing was started");
}

#[test]
fn a_notification_method_this_server_lacks_or_cannot_run_stops_start_up() {
    for (conf, says) in [
        (
            "mailnotifier: zephyr\n",
            "mailnotifier: zephyr is obsolete and not supported",
        ),
        (
            "mailnotifier: mailto\n",
            "mailnotifier: mailto is only for Sieve notifications",
        ),
        (
            "sievenotifier: webhook\nnotify_webhook_url: https://example.org/hook\n",
            "https is not supported",
        ),
        (
            "event_notifier: external\n",
            "the external method needs notify_external",
        ),
        (
            "event_notifier: log\nevent_groups: message frob\n",
            "unknown group \"frob\"",
        ),
    ] {
        let world = World::new(conf);
        let stderr = refused(world.darius(&["serve"]));
        assert!(stderr.contains(says), "{conf}: {stderr}");
        assert!(!world.admin_socket().exists(), "nothing was started");
    }
}

/// `sasl_pwcheck_method` takes `auxprop`, `shadow` and, in a build with the `pam` feature,
/// `pam`; the methods Cyrus also knows and this build lacks stop start-up, and so does a name
/// it does not know.
#[test]
fn password_check_methods_this_build_lacks_stop_start_up() {
    let mut cases = vec![
        (
            "saslauthd",
            "sasl_pwcheck_method: saslauthd: not supported yet",
        ),
        (
            "ldap",
            "sasl_pwcheck_method: unknown method \"ldap\" (auxprop, shadow, pam)",
        ),
    ];
    if cfg!(not(feature = "pam")) {
        cases.push((
            "auxprop pam",
            "sasl_pwcheck_method: pam: this build of darius has no PAM support",
        ));
    }
    for (method, says) in cases {
        let world = World::new(&format!("sasl_pwcheck_method: {method}\n"));
        let stderr = refused(world.darius(&["serve"]));
        assert!(stderr.contains(says), "{method}: {stderr}");
        assert!(!world.admin_socket().exists(), "nothing was started");
    }
}

#[test]
fn every_configuration_error_is_reported_at_once_in_line_order() {
    let world = World::new(
        "timeout: 5\nlisten_imap 127.0.0.1:1\nlisten_metrics: 127.0.0.1:0\nmaxline: lots\n",
    );
    let stderr = refused(world.darius(&["serve"]));
    let conf = world.conf.display();
    let expected = [
        format!("{conf}:4: timeout: 5 is out of range"),
        format!("{conf}:5: listen_imap: missing `:` after the option name"),
        format!("{conf}:6: listen_metrics: not supported yet"),
        format!("{conf}:7: maxline: \"lots\" is not a size"),
    ];
    let positions: Vec<usize> = expected
        .iter()
        .map(|e| {
            stderr
                .find(e.as_str())
                .unwrap_or_else(|| panic!("{e} missing from {stderr}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "in line order: {stderr}"
    );
}

#[test]
fn a_configuration_without_a_partition_says_which_option_to_add() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("imapd.conf");
    let base = dir.path().display();
    std::fs::write(
        &conf,
        format!("configdirectory: {base}/conf\nsyslog_socket: {base}/no-syslog\n"),
    )
    .unwrap();
    let mut cmd = Command::new(DARIUS);
    cmd.arg("-C").arg(&conf).arg("serve");
    let stderr = refused(cmd);
    assert!(
        stderr.contains(
            "partition-default: no mail partition is configured; add `partition-default: "
        ),
        "{stderr}"
    );
}

#[test]
fn a_missing_configuration_file_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("absent.conf");
    let mut cmd = Command::new(DARIUS);
    cmd.arg("-C").arg(&conf).arg("serve");
    let stderr = refused(cmd);
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    assert_eq!(stderr.matches("absent.conf").count(), 1, "{stderr}");
}

#[test]
fn start_up_warns_about_admins_without_an_account() {
    let world = World::new("admins: admin boss\n");
    let server = world.start();
    sigterm(&server);
    let (_, stderr) = wait_exit(server);
    let command = format!("darius -C {} user add NAME", world.conf.display());
    assert!(
        stderr.contains("admins: no account for `admin`, `boss`"),
        "{stderr}"
    );
    assert!(stderr.contains(&command), "{stderr}");
    assert!(world.user(&["add", "admin"], Some("pw")).status.success());
    let server = world.start();
    sigterm(&server);
    let (_, stderr) = wait_exit(server);
    assert!(
        stderr.contains("admins: no account for `boss`;"),
        "{stderr}"
    );
}

/// `keytab`, `sasl_keytab` and `srvtab` are one option under three names: two naming different
/// files stop start-up. A keytab set in a build without GSSAPI is reported as unused, and
/// GSSAPI in `sasl_mech_list` stops start-up; a build with it refuses a keytab it cannot read
/// (tests/imap_gssapi.rs uses a real one).
#[test]
fn keytab_names_must_agree_and_the_keytab_must_be_usable() {
    if !cfg!(feature = "gssapi") {
        let world = World::new("sasl_mech_list: GSSAPI PLAIN\n");
        let stderr = refused(world.darius(&["serve"]));
        assert!(
            stderr.contains("sasl_mech_list names GSSAPI, but this build has no GSSAPI"),
            "{stderr}"
        );
    }
    let world = World::new("keytab: /etc/a.keytab\nsrvtab: /etc/b.keytab\n");
    let stderr = refused(world.darius(&["serve"]));
    assert!(
        stderr.contains("keytab and srvtab name different keytabs"),
        "{stderr}"
    );
    assert!(!world.admin_socket().exists(), "nothing was started");

    let world = World::new("keytab: /nonexistent/x.keytab\nsasl_keytab: /nonexistent/x.keytab\n");
    if cfg!(feature = "gssapi") {
        let stderr = refused(world.darius(&["serve"]));
        assert!(stderr.contains("keytab /nonexistent/x.keytab"), "{stderr}");
    } else {
        let server = world.start();
        sigterm(&server);
        let (_, stderr) = wait_exit(server);
        assert!(stderr.contains("this build has no GSSAPI"), "{stderr}");
    }
}
