//! `darius serve` and `darius user` as an admin runs them: the real binary on a temp dir.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const DARIUS: &str = env!("CARGO_BIN_EXE_darius");

struct World {
    dir: tempfile::TempDir,
    conf: PathBuf,
}

impl World {
    fn new(extra: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("imapd.conf");
        let base = dir.path().display().to_string();
        std::fs::write(
            &conf,
            format!(
                "configdirectory: {base}/conf\npartition-default: {base}/spool\n\
                 syslog_socket: {base}/no-syslog\n{extra}"
            ),
        )
        .unwrap();
        World { dir, conf }
    }

    fn admin_socket(&self) -> PathBuf {
        self.dir.path().join("conf/socket/admin")
    }

    fn darius(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(DARIUS);
        cmd.arg("-C")
            .arg(&self.conf)
            .args(args)
            .current_dir(self.dir.path());
        cmd
    }

    fn start(&self) -> Child {
        let child = self
            .darius(&["serve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(|| std::os::unix::net::UnixStream::connect(self.admin_socket()).is_ok());
        child
    }

    fn user(&self, args: &[&str], password: Option<&str>) -> Output {
        let mut child = self
            .darius(&[&["user"], args].concat())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if let Some(p) = password {
            writeln!(stdin, "{p}").unwrap();
        }
        drop(stdin);
        child.wait_with_output().unwrap()
    }
}

fn wait_for(mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the server"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sigterm(child: &Child) {
    let pid = child.id();
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(mut child: Child) -> (std::process::ExitStatus, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (status, String::from_utf8_lossy(&out.stderr).into_owned());
        }
        assert!(Instant::now() < deadline, "server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

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
    assert!(world.user(&["del", "alice"], None).status.success());
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
    let world = World::new("listen_pop3: 127.0.0.1:0\n");
    let out = world.darius(&["serve"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = text(&out).1;
    assert!(
        stderr.contains("listen_pop3: POP3 is not implemented"),
        "{stderr}"
    );
    assert!(!world.admin_socket().exists(), "nothing was started");
}

#[test]
fn a_bad_value_stops_start_up_with_file_and_line() {
    let world = World::new("quotawarn: plenty\n");
    let out = world.darius(&["serve"]).output().unwrap();
    assert!(!out.status.success());
    let expected = format!("{}:4: quotawarn:", world.conf.display());
    assert!(text(&out).1.contains(&expected), "{:?}", text(&out));
}

#[test]
fn an_unknown_option_warns_with_the_closest_name() {
    let world = World::new("admnis: boss\n");
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

#[test]
fn the_embedded_default_makes_its_files_once() {
    for port in [1143, 1993, 2424] {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} of the embedded default is taken by another process; stop it and rerun"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let child = Command::new(DARIUS)
            .arg("serve")
            .current_dir(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let socket = dir.path().join("darius-data/socket/admin");
        wait_for(|| std::os::unix::net::UnixStream::connect(&socket).is_ok());
        sigterm(&child);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = run();
    let data = dir.path().join("darius-data");
    let password_file = data.join("admin-password");
    let password = std::fs::read_to_string(&password_file).unwrap();
    assert!(
        first.contains(password.trim()),
        "the password is printed: {first}"
    );
    let mode = std::fs::metadata(&password_file)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(data.join("tls/server.pem").exists() && data.join("tls/server.key").exists());
    let conf = std::fs::read_to_string(data.join("imapd.conf")).unwrap();
    assert!(conf.contains("\nadmins: admin\n"), "{conf}");
    assert!(conf.contains("\nlisten_lmtp: 127.0.0.1:2424\n"), "{conf}");
    assert!(conf.contains("/darius-data/socket/lmtp\n"), "{conf}");
    assert!(
        config::parse_str(&conf, "written").is_ok(),
        "the written file reads back"
    );
    let second = run();
    assert!(
        !second.contains(password.trim()),
        "the password is shown only once"
    );

    // The printed password is the admin's.
    let mut check = Command::new(DARIUS)
        .args(["user", "check", "admin"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    write!(check.stdin.take().unwrap(), "{password}").unwrap();
    assert!(check.wait().unwrap().success());
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
