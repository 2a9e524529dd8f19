//! `darius serve` and `darius user` as an admin runs them: the real binary on a temp dir.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
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

    fn config_dir(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    /// Starts and stops the server once, as an admin does before using the offline tools: only
    /// `darius serve` creates a store.
    fn initialise(&self) {
        let server = self.start();
        sigterm(&server);
        let (status, stderr) = wait_exit(server);
        assert_eq!(status.code(), Some(0), "{stderr}");
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
            // A command that refuses early may have exited already (broken pipe).
            let _ = writeln!(stdin, "{p}");
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

/// Runs a command that must refuse to start (exit non-zero, quickly); returns its stderr. A
/// server that starts anyway is killed and the test fails, instead of hanging.
fn refused(mut cmd: Command) -> String {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("started instead of refusing: {:?}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "{:?}", text(&out));
    text(&out).1
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
    let world = World::new("listen_pop3: 127.0.0.1:0\n");
    let stderr = refused(world.darius(&["serve"]));
    let expected = format!("{}:4: listen_pop3: not supported yet", world.conf.display());
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

/// The embedded default listens on fixed ports: its tests take turns.
static EMBEDDED_PORTS: Mutex<()> = Mutex::new(());

/// Runs `darius serve` without `-C` in `dir` until its admin socket answers, then SIGTERM;
/// returns (stdout, stderr).
fn run_embedded(dir: &Path) -> (String, String) {
    for port in [1143, 1993, 2424] {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} of the embedded default is taken by another process; stop it and rerun"
        );
    }
    let child = Command::new(DARIUS)
        .arg("serve")
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let socket = dir.join("darius-data/socket/admin");
    wait_for(|| std::os::unix::net::UnixStream::connect(&socket).is_ok());
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    (stdout, stderr)
}

#[test]
fn the_embedded_default_makes_its_files_once() {
    let _ports = EMBEDDED_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = run_embedded(dir.path());
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
        conf.contains("\nmaxmessagesize: 100M\n"),
        "the embedded default states its message size limit: {conf}"
    );
    if let Err(e) = config::parse_str(&conf, "written") {
        panic!("the written file reads back: {e}\n{conf}");
    }
    let cert = std::fs::read(data.join("tls/server.pem")).unwrap();
    let (second, _) = run_embedded(dir.path());
    assert!(
        !second.contains(password.trim()),
        "the password is shown only once"
    );
    assert_eq!(
        std::fs::read(data.join("tls/server.pem")).unwrap(),
        cert,
        "a valid certificate is kept"
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

/// The parts of an X.509 certificate a mail client looks at, read from its DER bytes by
/// pattern: the test does not share the server's parser.
struct CertFacts {
    der: Vec<u8>,
    /// (notBefore, notAfter) as `YYMMDDhhmmssZ` UTCTime text.
    validity: (String, String),
}

impl CertFacts {
    fn read(pem_path: &Path) -> CertFacts {
        use rustls_pki_types::pem::PemObject;
        let der = rustls_pki_types::CertificateDer::from_pem_file(pem_path)
            .unwrap()
            .to_vec();
        // UTCTime: tag 0x17, length 13.
        let times: Vec<String> = der
            .windows(15)
            .filter(|w| w[0] == 0x17 && w[1] == 13 && w[14] == b'Z')
            .map(|w| String::from_utf8_lossy(&w[2..15]).into_owned())
            .collect();
        assert!(times.len() >= 2, "a UTCTime validity: {times:?}");
        CertFacts {
            der,
            validity: (times[0].clone(), times[1].clone()),
        }
    }

    fn contains(&self, bytes: &[u8]) -> bool {
        self.der.windows(bytes.len()).any(|w| w == bytes)
    }

    /// Days from 1970-01-01 of a `YYMMDD…` UTCTime (RFC 5280 §4.1.2.5.1: YY < 50 is 20YY).
    fn days(utc_time: &str) -> i64 {
        let n = |r: std::ops::Range<usize>| utc_time[r].parse::<i64>().unwrap();
        let year = if n(0..2) < 50 {
            2000 + n(0..2)
        } else {
            1900 + n(0..2)
        };
        types::civil::days_from_civil(year, n(2..4) as u32, n(4..6) as u32)
    }
}

fn today() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (secs / 86_400) as i64
}

#[test]
fn the_embedded_certificate_is_for_localhost_and_valid_for_a_year() {
    let _ports = EMBEDDED_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    run_embedded(dir.path());
    let cert = CertFacts::read(&dir.path().join("darius-data/tls/server.pem"));
    // commonName (2.5.4.3) = UTF8String "localhost".
    let mut cn = vec![0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 9];
    cn.extend_from_slice(b"localhost");
    assert!(cert.contains(&cn), "subject CN=localhost");
    assert!(!cert.contains(b"rcgen self signed cert"));
    // subjectAltName: dNSName localhost, iPAddress 127.0.0.1 and ::1.
    let mut dns = vec![0x82, 9];
    dns.extend_from_slice(b"localhost");
    assert!(cert.contains(&dns), "SAN localhost");
    assert!(cert.contains(&[0x87, 4, 127, 0, 0, 1]), "SAN 127.0.0.1");
    let mut v6 = vec![0x87, 16];
    v6.extend_from_slice(&[0; 15]);
    v6.push(1);
    assert!(cert.contains(&v6), "SAN ::1");
    let (not_before, not_after) = &cert.validity;
    let (start, end) = (CertFacts::days(not_before), CertFacts::days(not_after));
    assert!(start <= today() && today() - start <= 2, "{not_before}");
    let days = end - today();
    assert!(
        (360..=398).contains(&days),
        "about a year, within what browsers and mail clients accept (398 days): {not_after}"
    );
}

/// A self-signed certificate for localhost valid until `days` from today.
fn write_certificate(tls: &Path, subject: &str, days_left: i64) {
    std::fs::create_dir_all(tls).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, subject);
    let date = |days: i64| {
        let (y, m, d) = types::civil::civil_from_days(days);
        rcgen::date_time_ymd(y as i32, m as u8, d as u8)
    };
    params.not_before = date(today() - 400);
    params.not_after = date(today() + days_left);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(tls.join("server.pem"), cert.pem()).unwrap();
    std::fs::write(tls.join("server.key"), key.serialize_pem()).unwrap();
}

#[test]
fn the_embedded_certificate_is_renewed_when_it_expires_within_30_days_or_has_expired() {
    let _ports = EMBEDDED_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    for (subject, days_left) in [
        ("localhost", 10),
        ("localhost", -3),
        ("rcgen self signed cert", 5000),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let tls = dir.path().join("darius-data/tls");
        write_certificate(&tls, subject, days_left);
        let before = std::fs::read(tls.join("server.pem")).unwrap();
        let (_, stderr) = run_embedded(dir.path());
        let after = std::fs::read(tls.join("server.pem")).unwrap();
        assert_ne!(before, after, "{subject} {days_left}: renewed");
        assert!(
            stderr.contains("renewed the self-signed certificate"),
            "{stderr}"
        );
        let cert = CertFacts::read(&tls.join("server.pem"));
        assert!(CertFacts::days(&cert.validity.1) - today() >= 360);
        assert!(!cert.contains(b"rcgen self signed cert"));
    }
    // 40 days left: kept.
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("darius-data/tls");
    write_certificate(&tls, "localhost", 40);
    let before = std::fs::read(tls.join("server.pem")).unwrap();
    run_embedded(dir.path());
    assert_eq!(before, std::fs::read(tls.join("server.pem")).unwrap());
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
    let world = World::new("sasl_pwcheck_method: saslauthd\ntls_client_ca_file: /etc/ca.pem\n");
    let stderr = refused(world.darius(&["serve"]));
    let conf = world.conf.display();
    for expected in [
        format!("{conf}:4: sasl_pwcheck_method: not supported yet"),
        format!("{conf}:5: tls_client_ca_file: not supported yet"),
    ] {
        assert!(stderr.contains(&expected), "{expected} in {stderr}");
    }
    assert!(!world.admin_socket().exists(), "nothing was started");
}

#[test]
fn every_configuration_error_is_reported_at_once_in_line_order() {
    let world =
        World::new("timeout: 5\nlisten_imap 127.0.0.1:1\naltnamespace: yes\nmaxline: lots\n");
    let stderr = refused(world.darius(&["serve"]));
    let conf = world.conf.display();
    let expected = [
        format!("{conf}:4: timeout: 5 is out of range"),
        format!("{conf}:5: listen_imap: missing `:` after the option name"),
        format!("{conf}:6: altnamespace: not supported yet"),
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
    let server = world.start();
    let online = user_lifecycle(&world, "alice");
    sigterm(&server);
    wait_exit(server);
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
    let server = world.start();
    assert_del_refused_without_yes(&world);
    sigterm(&server);
    wait_exit(server);
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
    text(&out).0
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
