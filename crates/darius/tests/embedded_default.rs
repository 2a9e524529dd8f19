//! The embedded default (`darius serve` without `-C`) on its fixed ports: the files it makes
//! once, its self-signed certificate and the certificate's renewal.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

mod cli;

use cli::{sigterm, text, wait_for, DARIUS};

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
