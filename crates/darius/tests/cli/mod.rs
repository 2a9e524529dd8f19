//! The command-line harness for tests that run the real `darius` binary as an admin does: a
//! temp dir with an `imapd.conf` (`World`), `darius -C … user …` with a password on stdin,
//! servers started and stopped with SIGTERM, and commands that must refuse to start.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const DARIUS: &str = env!("CARGO_BIN_EXE_darius");

pub struct World {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
}

impl World {
    pub fn new(extra: &str) -> World {
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

    pub fn admin_socket(&self) -> PathBuf {
        self.dir.path().join("conf/socket/admin")
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    /// Starts and stops the server once, as an admin does before using the offline tools: only
    /// `darius serve` creates a store.
    pub fn initialise(&self) {
        let server = self.start();
        sigterm(&server);
        let (status, stderr) = wait_exit(server);
        assert_eq!(status.code(), Some(0), "{stderr}");
    }

    pub fn darius(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(DARIUS);
        cmd.arg("-C")
            .arg(&self.conf)
            .args(args)
            .current_dir(self.dir.path());
        cmd
    }

    /// `darius ARGS` run to its end: whether it succeeded, its standard output and error.
    pub fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = self.darius(args).output().unwrap();
        let (stdout, stderr) = text(&out);
        (out.status.success(), stdout, stderr)
    }

    /// Runs `work` while `darius serve` runs on this world (the admin tools then go through
    /// its socket), and stops the server after it.
    pub fn while_serving<T>(&self, work: impl FnOnce() -> T) -> T {
        let server = self.start();
        let result = work();
        sigterm(&server);
        wait_exit(server);
        result
    }

    pub fn start(&self) -> Child {
        let child = self
            .darius(&["serve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(|| std::os::unix::net::UnixStream::connect(self.admin_socket()).is_ok());
        child
    }

    pub fn user(&self, args: &[&str], password: Option<&str>) -> Output {
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

pub fn wait_for(mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the server"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn sigterm(child: &Child) {
    let pid = child.id();
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

pub fn wait_exit(mut child: Child) -> (std::process::ExitStatus, String) {
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
pub fn refused(mut cmd: Command) -> String {
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

pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
