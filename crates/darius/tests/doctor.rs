//! `darius doctor` on a server's configuration: with the server running, every check passes
//! (its listeners are held by it, the certificate is valid, the store consistent); with the
//! server stopped and things broken — a port another program holds, an expired certificate, a
//! partition open to everyone — each is reported with what to do, and the exit status is 1.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpListener;

fn doctor(server: &common::Server) -> (bool, String) {
    let out = server.darius(&["doctor"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success(), text)
}

#[test]
fn doctor_passes_a_running_server_and_names_what_is_broken() {
    let mut server = common::Server::start();
    server.add_user("bob", "pw-bob");
    let (ok, out) = doctor(&server);
    assert!(ok, "{out}");
    for line in [
        "ok       configuration: ",
        "ok       TLS: ",
        "ok       store: consistent",
        "ok       clock: plausible",
        "doctor: 0 error(s)",
    ] {
        assert!(out.contains(line), "{line} in\n{out}");
    }
    assert!(out.contains("valid for"), "{out}");
    server.stop();

    // Broken: a port held by another program, an expired certificate, a partition open to
    // everyone.
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let mut conf = std::fs::read_to_string(&server.conf).unwrap();
    conf = conf
        .lines()
        .filter(|l| !l.starts_with("listen_imap:"))
        .map(|l| format!("{l}\n"))
        .collect();
    conf.push_str(&format!("listen_imap: 127.0.0.1:{port}\n"));
    std::fs::write(&server.conf, conf).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    let dir = server.dir.path();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    let spool = dir.join("spool");
    let mut perms = std::fs::metadata(&spool).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o777);
    std::fs::set_permissions(&spool, perms).unwrap();

    let (ok, out) = doctor(&server);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "error    listen_imap 127.0.0.1:{port}: in use by another program"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("ss -ltnp 'sport = :{port}'")),
        "{out}"
    );
    assert!(
        out.contains("error    TLS: ") && out.contains("expired"),
        "{out}"
    );
    assert!(out.contains("renew the certificate"), "{out}");
    assert!(
        out.contains("warning  partition-default") && out.contains("chmod o-rwx"),
        "{out}"
    );
    assert!(out.contains("doctor: 2 error(s)"), "{out}");
    drop(held);
}
