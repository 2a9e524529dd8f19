//! GSSAPI end to end: a throwaway MIT Kerberos realm (`common::kdc`), a `darius serve` built
//! with the `gssapi` feature whose `keytab` option names the realm's keytab, and Cyrus SASL's
//! `imtest -m GSSAPI` (Debian `cyrus-clients` and `libsasl2-modules-gssapi-mit`) logging in with
//! the user's ticket. Skipped without Kerberos or imtest unless DARIUS_REQUIRE_INTEROP=1.
#![allow(clippy::unwrap_used)]

mod common;

use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::kdc::{self, Kdc};

const IMTEST: &str = "/usr/lib/cyrus/bin/imtest";
/// Cyrus SASL's GSSAPI plugin, without which imtest knows no GSSAPI.
const GSSAPI_PLUGIN: &str = "/usr/lib/x86_64-linux-gnu/sasl2/libgssapiv2.so";

fn imtest_installed() -> bool {
    let missing = [
        (IMTEST, "cyrus-clients"),
        (GSSAPI_PLUGIN, "libsasl2-modules-gssapi-mit"),
    ]
    .into_iter()
    .find(|(path, _)| !Path::new(path).exists());
    let Some((path, package)) = missing else {
        return true;
    };
    assert!(
        std::env::var("DARIUS_REQUIRE_INTEROP").as_deref() != Ok("1"),
        "{path} is required (DARIUS_REQUIRE_INTEROP=1): install {package}"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {path} is not installed (Debian package {package})"
    );
    false
}

/// The realm's environment for the server: its configuration and replay cache, but not the
/// keytab, which the server gets from its `keytab` option.
fn server_env(kdc: &Kdc) -> Vec<(&'static str, OsString)> {
    kdc.env()
        .into_iter()
        .filter(|(name, _)| *name != "KRB5_KTNAME" && *name != "KRB5CCNAME")
        .collect()
}

/// Runs `imtest -m GSSAPI` against `localhost:port` with the client environment `env`, logs
/// out, and returns whether it authenticated, with the transcript.
fn imtest_gssapi(env: &[(&'static str, OsString)], port: u16) -> (bool, String) {
    let mut child = Command::new(IMTEST)
        .args(["-m", "GSSAPI", "-p", &port.to_string(), kdc::HOST])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b". LOGOUT\r\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let authenticated = text.lines().any(|l| l.trim() == "Authenticated.");
    (authenticated, text)
}

#[test]
fn imtest_logs_in_with_a_kerberos_ticket() {
    if !imtest_installed() {
        return;
    }
    let Some(kdc) = Kdc::start() else { return };
    let server = common::Server::start_with_env(
        &format!(
            "servername: {}\nkeytab: {}\nsasl_mech_list: GSSAPI PLAIN\n\
             auth_failure_delay: 0\nauth_failures_per_host: 0\n",
            kdc::HOST,
            kdc.keytab().display()
        ),
        server_env(&kdc),
    );
    let (authenticated, text) = imtest_gssapi(&kdc.env(), server.imap_port);
    assert!(authenticated, "{text}\nserver log:\n{}", server.log());
    assert!(text.contains("AUTH=GSSAPI"), "{text}");
    assert!(
        server.log().contains(&Kdc::principal(kdc::USER)),
        "the login is logged with the principal:\n{}",
        server.log()
    );

    // Without a ticket the client has nothing to show.
    let mut no_ticket = kdc.env();
    let empty = kdc.dir().join("empty-ccache");
    for (name, value) in &mut no_ticket {
        if *name == "KRB5CCNAME" {
            *value = OsString::from(format!("FILE:{}", empty.display()));
        }
    }
    let (authenticated, text) = imtest_gssapi(&no_ticket, server.imap_port);
    assert!(!authenticated, "{text}");
}

/// With GSSAPI named in `sasl_mech_list`, a keytab without the service's key stops start-up;
/// with the list empty, GSSAPI is simply not offered.
#[test]
fn a_keytab_without_the_services_key_is_reported_at_start_up() {
    let Some(kdc) = Kdc::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().display();
    let conf = dir.path().join("imapd.conf");
    std::fs::write(
        &conf,
        format!(
            "configdirectory: {base}/conf\npartition-default: {base}/spool\n\
             listen_imap: 127.0.0.1:0\nlisten_lmtp:\nlisten_imaps:\n\
             servername: elsewhere\nkeytab: {}\nsasl_mech_list: GSSAPI\n",
            kdc.keytab().display()
        ),
    )
    .unwrap();
    let out = Command::new(common::DARIUS)
        .arg("-C")
        .arg(&conf)
        .arg("serve")
        .envs(server_env(&kdc))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("sasl_mech_list names GSSAPI, but"),
        "{stderr}"
    );
    assert!(stderr.contains("imap@elsewhere"), "{stderr}");

    let server = common::Server::start_with_env(
        &format!(
            "servername: elsewhere\nkeytab: {}\n",
            kdc.keytab().display()
        ),
        server_env(&kdc),
    );
    let imap = std::net::TcpStream::connect(("127.0.0.1", server.imap_port)).unwrap();
    let mut greeting = String::new();
    std::io::BufReader::new(imap)
        .read_line(&mut greeting)
        .unwrap();
    assert!(greeting.contains("AUTH=PLAIN"), "{greeting}");
    assert!(!greeting.contains("AUTH=GSSAPI"), "{greeting}");
    assert!(
        server.log().contains("GSSAPI not offered"),
        "{}",
        server.log()
    );
}
