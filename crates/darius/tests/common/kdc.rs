//! A throwaway MIT Kerberos realm on loopback, for the GSSAPI tests: its own `krb5.conf` and
//! `kdc.conf` in a temp dir, a database made with `kdb5_util create -s`, principals and a
//! keytab made with `kadmin.local`, `krb5kdc` on a free loopback port, and `kinit` into a
//! private credential cache. Nothing outside the temp dir is read or written.
//!
//! Used by `crates/sasl/tests/gssapi.rs` (through `#[path]`: the harness needs only std) and by
//! the server's tests. Kerberos finds the realm through environment variables: [`Kdc::env`]
//! gives them for a child process (a `darius serve`, `imtest`), and [`Kdc::shared`] sets them in
//! the test process itself, once, for in-process GSS-API calls.
//!
//! Needs Debian's `krb5-kdc`, `krb5-admin-server` and `krb5-user`: without them [`Kdc::start`]
//! answers `None` with a `SKIPPED` note, unless DARIUS_REQUIRE_INTEROP=1, where it panics
//! (docs/TESTING.md).
//!
//! Tear-down: `krb5kdc` runs under a small shell that holds the read end of a pipe from the
//! test process and stops the KDC and removes the temp dir when that pipe closes, i.e. when the
//! [`Kdc`] is dropped or, for the shared one that is never dropped, when the test process exits.
#![allow(dead_code, clippy::unwrap_used)]

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

/// The realm every test realm is called; each lives in its own directory and port.
pub const REALM: &str = "DARIUS.TEST";
/// The test user's principal is `USER@REALM`, with password [`PASSWORD`].
pub const USER: &str = "alice";
pub const PASSWORD: &str = "alice-kerberos-password";
/// A second user, in the realm, without a ticket until [`Kdc::kinit`] is asked for one.
pub const OTHER_USER: &str = "bob";
/// The host of the service principals (`imap/localhost@REALM`).
pub const HOST: &str = "localhost";
/// Services whose keys are in the keytab.
pub const KEYTAB_SERVICES: [&str; 4] = ["imap", "pop", "sieve", "lmtp"];
/// A service the KDC knows but whose key is not in the keytab: a server cannot accept tickets
/// for it.
pub const FOREIGN_SERVICE: &str = "ftp";

/// Most times the harness polls for the KDC's port before giving up (each waits 50 ms).
const STARTUP_POLLS: usize = 200;

pub struct Kdc {
    dir: PathBuf,
    pub port: u16,
    /// The shell watching over `krb5kdc`, once started; its standard input is the pipe that
    /// stops it.
    guard: Option<(Child, ChildStdin)>,
}

/// The Kerberos programs, and the Debian package of each.
const PROGRAMS: [(&str, &str); 4] = [
    ("krb5kdc", "krb5-kdc"),
    ("kdb5_util", "krb5-kdc"),
    ("kadmin.local", "krb5-admin-server"),
    ("kinit", "krb5-user"),
];

/// Where `program` is: on the PATH or in the sbin directories (a CI PATH may lack them).
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Whether every Kerberos program is installed; otherwise a `SKIPPED` note (written to the
/// process's stderr handle, which the harness does not capture) or, under
/// DARIUS_REQUIRE_INTEROP=1, a panic: the rule of `tests/support/interop.rs`, whose
/// `have_program` looks on the PATH only, while these programs live in sbin directories that a
/// CI PATH may lack.
pub fn have_kerberos() -> bool {
    for (program, package) in PROGRAMS {
        if find(program).is_none() {
            if std::env::var("DARIUS_REQUIRE_INTEROP").as_deref() == Ok("1") {
                panic!("{program} is required (DARIUS_REQUIRE_INTEROP=1) but not installed");
            }
            let test = std::thread::current()
                .name()
                .unwrap_or("kerberos test")
                .to_string();
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: {program} is not installed (Debian package {package}; see docs/TESTING.md)"
            );
            return false;
        }
    }
    true
}

/// A loopback port free for both TCP and UDP right now (the KDC listens on both).
fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl Kdc {
    /// A new realm with its KDC running and a ticket for [`USER`] in the credential cache, or
    /// `None` (skipped) when Kerberos is not installed.
    pub fn start() -> Option<Kdc> {
        if !have_kerberos() {
            return None;
        }
        // The directory outlives this function: the guard shell removes it.
        let dir = tempfile::Builder::new()
            .prefix("darius-kdc")
            .tempdir()
            .unwrap()
            .keep();
        let port = free_port();
        write_config(&dir, port);
        let mut kdc = Kdc {
            dir,
            port,
            guard: None,
        };
        kdc.run(
            "kdb5_util",
            &["-r", REALM, "create", "-s", "-P", "master-key-password"],
        );
        kdc.kadmin(&format!("addprinc -pw {PASSWORD} {USER}"));
        kdc.kadmin(&format!("addprinc -pw {PASSWORD}-2 {OTHER_USER}"));
        for service in KEYTAB_SERVICES.iter().chain([&FOREIGN_SERVICE]) {
            kdc.kadmin(&format!("addprinc -randkey {service}/{HOST}"));
        }
        let keytab = kdc.keytab();
        for service in KEYTAB_SERVICES {
            kdc.kadmin(&format!("ktadd -k {} {service}/{HOST}", keytab.display()));
        }
        kdc.serve();
        kdc.kinit(USER, PASSWORD);
        Some(kdc)
    }

    /// The realm shared by every test of this test binary, with its variables set in this
    /// process (see the module doc). Every test that calls GSS-API in-process must call this
    /// before it does: the variables are set while the other tests wait here, not while they
    /// call Kerberos.
    pub fn shared() -> Option<&'static Kdc> {
        static SHARED: OnceLock<Option<Kdc>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let kdc = Kdc::start()?;
                for (name, value) in kdc.env() {
                    std::env::set_var(name, value);
                }
                Some(kdc)
            })
            .as_ref()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The keytab holding the keys of `SERVICE/localhost` for [`KEYTAB_SERVICES`].
    pub fn keytab(&self) -> PathBuf {
        self.dir.join("keytab")
    }

    /// The credential cache [`Kdc::start`] and [`Kdc::kinit`] fill.
    pub fn ccache(&self) -> PathBuf {
        self.dir.join("ccache")
    }

    /// `name@REALM`.
    pub fn principal(name: &str) -> String {
        format!("{name}@{REALM}")
    }

    /// What a Kerberos client or server of this realm needs in its environment: the realm's
    /// configuration, the credential cache, the keytab (which a `darius serve` also gets from
    /// its `keytab` option) and a replay cache of its own.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("KRB5_CONFIG", self.dir.join("krb5.conf").into()),
            ("KRB5_KDC_PROFILE", self.dir.join("kdc.conf").into()),
            ("KRB5CCNAME", prefixed("FILE:", &self.ccache())),
            ("KRB5_KTNAME", prefixed("FILE:", &self.keytab())),
            ("KRB5RCACHEDIR", self.dir.clone().into()),
        ]
    }

    /// `kinit name` with `password` on standard input, into the private credential cache (the
    /// ticket replaces the cache's previous one).
    pub fn kinit(&self, name: &str, password: &str) {
        let mut child = self
            .command("kinit")
            .arg(name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "kinit {name}: {output:?}");
    }

    /// Runs one `kadmin.local` query against the realm's database.
    pub fn kadmin(&self, query: &str) {
        self.run("kadmin.local", &["-r", REALM, "-q", query]);
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(find(program).unwrap());
        command.envs(self.env());
        command
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self.command(program).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts `krb5kdc` in the foreground under the guard shell and waits for its TCP port.
    fn serve(&mut self) {
        let script = r#"
            "$1" -n -r "$2" 2>>"$3/kdc.stderr" &
            kdc=$!
            cat >/dev/null
            kill "$kdc" 2>/dev/null
            wait "$kdc"
            rm -rf "$3"
        "#;
        let mut guard = self
            .command("sh")
            .args(["-c", script, "kdc-guard"])
            .arg(find("krb5kdc").unwrap())
            .arg(REALM)
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = guard.stdin.take().unwrap();
        self.guard = Some((guard, stdin));
        for _ in 0..STARTUP_POLLS {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            let exited = self.guard.as_mut().and_then(|(g, _)| g.try_wait().unwrap());
            if let Some(status) = exited {
                panic!("krb5kdc exited ({status}): {}", self.log());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("krb5kdc does not listen on {}: {}", self.port, self.log());
    }

    /// The KDC's log and standard error, for failure messages.
    pub fn log(&self) -> String {
        let mut log = String::new();
        for name in ["kdc.log", "kdc.stderr"] {
            if let Ok(mut file) = std::fs::File::open(self.dir.join(name)) {
                let _ = file.read_to_string(&mut log);
            }
        }
        log
    }
}

impl Drop for Kdc {
    fn drop(&mut self) {
        match self.guard.take() {
            // Closing the pipe tells the guard to stop the KDC and remove the directory.
            Some((mut guard, stdin)) => {
                drop(stdin);
                let _ = guard.wait();
            }
            None => {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
        }
    }
}

fn prefixed(prefix: &str, path: &Path) -> OsString {
    let mut value = OsString::from(prefix);
    value.push(path);
    value
}

fn write_config(dir: &Path, port: u16) {
    let d = dir.display();
    let krb5_conf = format!(
        "[libdefaults]
    default_realm = {REALM}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    ignore_acceptor_hostname = false
    udp_preference_limit = 1
[realms]
    {REALM} = {{
        kdc = 127.0.0.1:{port}
    }}
[domain_realm]
    {HOST} = {REALM}
"
    );
    let kdc_conf = format!(
        "[kdcdefaults]
    kdc_listen = 127.0.0.1:{port}
    kdc_tcp_listen = 127.0.0.1:{port}
[realms]
    {REALM} = {{
        database_name = {d}/principal
        key_stash_file = {d}/stash
        acl_file = {d}/kadm5.acl
        kdc_listen = 127.0.0.1:{port}
        kdc_tcp_listen = 127.0.0.1:{port}
        max_life = 1h
    }}
[logging]
    kdc = FILE:{d}/kdc.log
    admin_server = FILE:{d}/kadmin.log
"
    );
    std::fs::write(dir.join("krb5.conf"), krb5_conf).unwrap();
    std::fs::write(dir.join("kdc.conf"), kdc_conf).unwrap();
    std::fs::write(dir.join("kadm5.acl"), "").unwrap();
}
