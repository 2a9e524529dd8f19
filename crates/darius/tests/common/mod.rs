//! A real `darius serve` on a temp dir with ephemeral ports, for the integration and interop
//! tests: `Server::start()`, then `server.add_user(..)`, `server.imap_port`, … The server is
//! stopped with SIGTERM when the value is dropped; its stderr is kept for failure messages.
#![allow(dead_code, clippy::unwrap_used)]

/// A private Cyrus 3.6 (Murder interop tests).
pub mod cyrus;
pub mod imtest;
/// A private INN news server (netnews tests).
pub mod inn;
/// A throwaway Kerberos realm (GSSAPI tests).
pub mod kdc;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const DARIUS: &str = env!("CARGO_BIN_EXE_darius");

/// A loopback TCP port nothing listens on right now (bound, then closed).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The TCP listeners every test server has, each on an ephemeral port of 127.0.0.1 unless
/// the test's configuration sets it.
const LISTENERS: [&str; 6] = [
    "listen_imap",
    "listen_imaps",
    "listen_pop3",
    "listen_pop3s",
    "listen_lmtp",
    "listen_sieve",
];

pub struct Server {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
    pub imap_port: u16,
    pub imaps_port: u16,
    /// `listen_lmtp`; the UNIX socket is [`Server::lmtp_socket`].
    pub lmtp_port: u16,
    /// `listen_pop3` (with STLS) and `listen_pop3s`.
    pub pop3_port: u16,
    pub pop3s_port: u16,
    /// `listen_sieve` (ManageSieve with STARTTLS).
    pub sieve_port: u16,
    child: Option<Child>,
    log: Arc<Mutex<String>>,
    /// Extra environment for `darius serve` (a Kerberos realm's configuration).
    env: Vec<(&'static str, std::ffi::OsString)>,
}

impl Server {
    /// Starts a server with IMAP, IMAPS, POP3, POP3S, LMTP and ManageSieve on 127.0.0.1 (ephemeral ports) and a self-signed
    /// certificate (the same for every server, and trusted by each as `tls_server_ca_file`);
    /// `extra` is appended to the generated imapd.conf, with `{base}` replaced by the server's
    /// temp dir. A listener `extra` sets (`listen_pop3: 0.0.0.0:0`) replaces the
    /// default one; it must still listen.
    pub fn start_with(extra: &str) -> Server {
        Server::start_with_env(extra, Vec::new())
    }

    /// [`Server::start_with`], with `env` added to the server process's environment.
    pub fn start_with_env(extra: &str, env: Vec<(&'static str, std::ffi::OsString)>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().display().to_string();
        make_certificate(dir.path());
        let conf = dir.path().join("imapd.conf");
        let listeners: String = LISTENERS
            .iter()
            .filter(|option| !extra.lines().any(|l| l.starts_with(&format!("{option}:"))))
            .map(|option| format!("{option}: 127.0.0.1:0\n"))
            .collect();
        // `admins: admin` unless `extra` lists the administrators itself.
        let admins = match extra.lines().any(|l| l.starts_with("admins:")) {
            true => "",
            false => "admins: admin\n",
        };
        std::fs::write(
            &conf,
            format!(
                "configdirectory: {base}/conf\npartition-default: {base}/spool\n\
                 syslog_socket: {base}/no-syslog\n{admins}\
                 tls_server_cert: {base}/cert.pem\ntls_server_key: {base}/key.pem\n\
                 tls_server_ca_file: {base}/cert.pem\n\
                 {listeners}lmtpsocket: {base}/conf/socket/lmtp\n{}",
                extra.replace("{base}", &base)
            ),
        )
        .unwrap();
        let mut server = Server {
            imap_port: 0,
            imaps_port: 0,
            lmtp_port: 0,
            pop3_port: 0,
            pop3s_port: 0,
            sieve_port: 0,
            dir,
            conf,
            child: None,
            log: Arc::new(Mutex::new(String::new())),
            env,
        };
        server.launch();
        server
    }

    /// Starts `darius serve` on this server's configuration and waits for its listeners.
    fn launch(&mut self) {
        let mut child = Command::new(DARIUS)
            .arg("-C")
            .arg(&self.conf)
            .arg("serve")
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::clone(&self.log);
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(port) = listening_port(&line) {
                    let _ = tx.send(port);
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut ports = std::collections::HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while ports.len() < LISTENERS.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((option, port)) => {
                    ports.insert(option, port);
                }
                Err(_) => panic!("server did not start:\n{}", log.lock().unwrap()),
            }
        }
        let admin = self.dir.path().join("conf/socket/admin");
        while std::os::unix::net::UnixStream::connect(&admin).is_err() {
            assert!(
                Instant::now() < deadline,
                "admin socket never came up:\n{}",
                log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        self.imap_port = ports["listen_imap"];
        self.imaps_port = ports["listen_imaps"];
        self.lmtp_port = ports["listen_lmtp"];
        self.pop3_port = ports["listen_pop3"];
        self.pop3s_port = ports["listen_pop3s"];
        self.sieve_port = ports["listen_sieve"];
        self.child = Some(child);
    }

    /// SIGKILL: the server gets no chance to finish anything (crash tests).
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data (after `stop` or `kill_hard`); ports change.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        self.launch();
    }

    pub fn start() -> Server {
        Server::start_with("")
    }

    pub fn darius(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(DARIUS);
        cmd.arg("-C").arg(&self.conf).args(args);
        cmd
    }

    /// `darius ARGS` against this server (its admin socket while it runs, the files when it is
    /// stopped): whether it exited 0, its standard output and its standard error.
    pub fn run_darius(&self, args: &[&str]) -> (bool, String, String) {
        let out = self.darius(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `darius ARGS` with `input` on its standard input, which must succeed: its standard
    /// output.
    pub fn darius_with_input(&self, args: &[&str], input: &str) -> String {
        let (ok, stdout, stderr) = run_with_input(&mut self.darius(args), input);
        assert!(ok, "darius {args:?} failed: {stdout}{stderr}");
        stdout
    }

    /// `darius ARGS`, which must succeed: its standard output.
    pub fn darius_ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run_darius(args);
        assert!(ok, "darius {args:?} failed: {stdout}{stderr}");
        stdout
    }

    /// `darius user add NAME` through the running server's admin socket.
    pub fn add_user(&self, name: &str, password: &str) {
        let mut child = self
            .darius(&["user", "add", name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "user add {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `darius user del --yes NAME` through the running server's admin socket.
    pub fn del_user(&self, name: &str) {
        let out = self
            .darius(&["user", "del", "--yes", name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "user del {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The server process's id (while it runs).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// The server's resident memory now (`VmRSS`) and at its peak so far (`VmHWM`), in KiB,
    /// from `/proc/PID/status`. Regression tests for memory bounds compare the peak after a
    /// hostile command with the resident size before it.
    pub fn memory_kib(&self) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{name} missing from /proc status"))
        };
        Memory {
            rss: field("VmRSS:"),
            peak: field("VmHWM:"),
        }
    }

    /// Resets the kernel's peak-RSS mark (`VmHWM`) to the current RSS (writing 5 to
    /// `/proc/PID/clear_refs`), so that a later [`Server::memory_kib`] peak covers only what
    /// happened since. Returns false where the kernel does not allow it.
    pub fn reset_peak_memory(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").is_ok()
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    /// Adds the ACL entry `identifier rights` to `mailbox` (an internal name) with the server
    /// stopped, through the store, then starts the server again (ports change). For tests
    /// that need a right granted before SETACL exists over IMAP.
    pub fn grant_offline(&mut self, mailbox: &str, identifier: &str, rights: &str) {
        assert!(self.stop().is_some(), "the server was running");
        let partitions = [("default".to_string(), self.dir.path().join("spool"))].into();
        let config = mailstore::StoreConfig::new(self.config_dir(), partitions, "default");
        let store = mailstore::Store::open(config).unwrap();
        let name = types::MailboxName::try_from(mailbox).unwrap();
        let mut acl = store.mailbox_entry(&name).unwrap().acl;
        if acl.is_empty() {
            // Stored before ACLs: the owner's entry it reads as.
            let owner = name.owner_user().unwrap();
            acl = format!("{owner}\tlrswipkxtean\t");
        }
        acl.push_str(&format!("{identifier}\t{rights}\t"));
        store.set_acl(&name, &acl).unwrap();
        drop(store);
        self.restart();
    }

    pub fn lmtp_socket(&self) -> PathBuf {
        self.config_dir().join("socket/lmtp")
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Whether the server's log holds `text`, waiting a little for it: the log is read from
    /// the server's stderr by another thread, which may lag behind the reply that followed it.
    pub fn logged(&self, text: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.log().contains(text) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the exit status.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Memory of the server process, in KiB.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    pub rss: u64,
    pub peak: u64,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `listen_imap: IMAP listening on 127.0.0.1:PORT` → ("listen_imap", PORT); the same for
/// `listen_lmtp: LMTP listening on …`.
fn listening_port(line: &str) -> Option<(String, u16)> {
    let (before, after) = line
        .split_once(": IMAP listening on ")
        .or_else(|| line.split_once(": POP3 listening on "))
        .or_else(|| line.split_once(": LMTP listening on "))
        .or_else(|| line.split_once(": ManageSieve listening on "))?;
    let option = before.rsplit(' ').next()?.to_string();
    let port = after.trim().rsplit(':').next()?.parse().ok()?;
    Some((option, port))
}

/// A self-signed certificate for localhost (rcgen, as the embedded default makes its own).
/// One self-signed certificate for every server of the test process, so that each server
/// trusts the others' (`tls_server_ca_file` names it): a Murder's servers then talk TLS to
/// one another, as they do with the default `proxy_tls: auto` once they hold certificates.
pub fn make_certificate(dir: &Path) {
    static PAIR: OnceLock<(String, String)> = OnceLock::new();
    let (cert, key) = PAIR.get_or_init(|| {
        let names = vec!["localhost".into(), "127.0.0.1".into()];
        let pair = rcgen::generate_simple_self_signed(names).unwrap();
        (pair.cert.pem(), pair.key_pair.serialize_pem())
    });
    std::fs::write(dir.join("cert.pem"), cert).unwrap();
    std::fs::write(dir.join("key.pem"), key).unwrap();
}

#[path = "../../../../tests/support/interop.rs"]
pub mod interop;

/// Runs `cmd` with `input` on its standard input and waits for it.
pub fn output_with_input(cmd: &mut Command, input: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// [`output_with_input`]: whether it exited 0, its standard output and its standard error.
pub fn run_with_input(cmd: &mut Command, input: &str) -> (bool, String, String) {
    let out = output_with_input(cmd, input);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether an interop program is installed (`tests/support/interop.rs`: skipped with a note,
/// or a failure under DARIUS_REQUIRE_INTEROP=1), named with its Debian package.
pub fn have(program: &str) -> bool {
    let package = match program {
        "mbsync" => "isync",
        "script" => "bsdutils",
        "saslpasswd2" => "sasl2-bin",
        "sieveshell" => "cyrus-admin",
        "cc" => "gcc",
        other => other,
    };
    interop::have_program(program, package)
}

/// Reads whatever arrives on `stream` until its read timeout passes quiet (the session fuzzers
/// set a short one); false once the server closed the connection.
pub fn drain(stream: &mut std::net::TcpStream) -> bool {
    let mut buf = [0u8; 65536];
    loop {
        match std::io::Read::read(stream, &mut buf) {
            Ok(0) => return false,
            Ok(_) => continue,
            Err(_) => return true,
        }
    }
}

/// Runs a Python script (from tests/interop/) against the server; the script gets the ports,
/// users and paths in environment variables and exits non-zero on failure.
pub fn run_python(server: &Server, script: &str, env: &[(&str, &str)]) {
    if !have("python3") {
        return;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/interop")
        .join(script);
    let out = Command::new("python3")
        .arg(&path)
        .env("IMAP_PORT", server.imap_port.to_string())
        .env("IMAPS_PORT", server.imaps_port.to_string())
        .env("LMTP_PORT", server.lmtp_port.to_string())
        .env("LMTP_SOCKET", server.lmtp_socket())
        .env("CONFIG_DIR", server.config_dir())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} failed\n--- stdout\n{}\n--- stderr\n{}\n--- server log\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
}

/// A small seeded generator (xorshift64*) for the tests that draw random cases: no dependency,
/// and a failing case is reproduced from its seed alone.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Spread small seeds over the state; xorshift must never hold 0.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True once in `n` draws on average.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The seed of a randomized test: `DARIUS_SEED` when set (to replay a failure), else a new
/// one from the clock. The test prints it, and puts it in its failure message.
pub fn seed() -> u64 {
    match std::env::var("DARIUS_SEED") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("DARIUS_SEED={s:?} is not a number")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    }
}

/// A line from a byte stream, LF included (a byte at a time: a test's few lines, and nothing
/// read past it, so a TLS stream or a socket can be handed on).
pub fn line(stream: &mut impl std::io::Read) -> String {
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    while stream.read(&mut byte).unwrap() == 1 {
        out.push(byte[0]);
        if byte[0] == b'\n' {
            break;
        }
    }
    String::from_utf8(out).unwrap()
}
