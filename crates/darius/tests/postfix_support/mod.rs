//! A private Postfix instance in front of a test server: its own `config_directory` (main.cf and
//! master.cf written here), queue and data directories and mail log in a temp dir, SMTP on an
//! unprivileged loopback port, every local recipient handed to the server over LMTP
//! (`local_transport = lmtp:unix:PATH` or `lmtp:inet:127.0.0.1:PORT`). The system's instance
//! is neither configured nor started: of /etc/postfix only the package's own files are read
//! (`meta_directory`: postfix-files, dynamicmaps.cf).
//!
//! Postfix's master daemonizes; a guard shell holds the stop: it waits for its standard input
//! to close (when the value is dropped, or when the test process dies in any way) and then runs
//! `postfix -c DIR stop` and removes the directory, so no master outlives the test.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::interop;
use crate::lmtp_support::Client;

/// The domain Postfix calls its own (`myhostname`, in `mydestination`): mail to
/// `USER@DOMAIN` goes to `local_transport`.
pub const DOMAIN: &str = "darius-test.example";

/// How long a test waits for Postfix to deliver before it gives up and prints the queue and log.
pub const DELIVERY_DEADLINE: Duration = Duration::from_secs(60);

/// Where Postfix hands local mail.
pub enum Transport<'a> {
    /// `lmtp:unix:PATH`
    Unix(&'a Path),
    /// `lmtp:inet:127.0.0.1:PORT`
    Inet(u16),
}

pub struct Postfix {
    dir: PathBuf,
    pub smtp_port: u16,
    guard: Option<(Child, ChildStdin)>,
}

/// `program` from the PATH or Debian's sbin directories (a CI PATH may lack them).
fn sbin(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Whether a private Postfix can run here: the `postfix` package installed (else skipped with
/// a note, or a failure under DARIUS_REQUIRE_INTEROP=1), run as root (Postfix's master must
/// start as root; it then runs its daemons as `mail_owner`, the `postfix` account).
pub fn available() -> bool {
    if sbin("postfix").is_none() && !interop::have_program("postfix", "postfix") {
        return false;
    }
    let uid = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        let why = "a private Postfix needs root (its master starts as root)";
        if std::env::var("DARIUS_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("{why} (DARIUS_REQUIRE_INTEROP=1)");
        }
        let test = std::thread::current()
            .name()
            .unwrap_or("postfix test")
            .to_string();
        let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
        return false;
    }
    true
}

/// A loopback TCP port free right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn main_cf(dir: &Path, transport: &Transport, extra: &str) -> String {
    let d = dir.display();
    let next_hop = match transport {
        Transport::Unix(path) => format!("lmtp:unix:{}", path.display()),
        Transport::Inet(port) => format!("lmtp:inet:127.0.0.1:{port}"),
    };
    // local_recipient_maps empty: every name at DOMAIN is local (the server answers 550 5.1.1
    // for unknown ones). The recipient limit is raised past the default 50 so that one message
    // to many users stays one LMTP transaction, which the single-instance store needs.
    format!(
        "compatibility_level = 3.6\n\
         queue_directory = {d}/queue\n\
         data_directory = {d}/data\n\
         mail_owner = postfix\n\
         setgid_group = postdrop\n\
         myhostname = {DOMAIN}\n\
         mydomain = {DOMAIN}\n\
         myorigin = $myhostname\n\
         mydestination = $myhostname, localhost\n\
         inet_interfaces = loopback-only\n\
         inet_protocols = ipv4\n\
         mynetworks = 127.0.0.0/8\n\
         local_recipient_maps =\n\
         alias_maps =\n\
         alias_database =\n\
         local_transport = {next_hop}\n\
         lmtp_destination_recipient_limit = 200\n\
         maillog_file = {d}/maillog\n\
         maillog_file_prefixes = {d}\n\
         smtputf8_enable = no\n\
         biff = no\n\
         {extra}"
    )
}

/// The services a private instance needs, none chrooted (the temp dir is not a chroot jail);
/// `lmtp -v` logs the client's commands, so the log shows whether it sent DATA or BDAT.
fn master_cf(smtp_port: u16) -> String {
    format!(
        "127.0.0.1:{smtp_port} inet n - n - - smtpd\n\
         pickup unix n - n 60 1 pickup\n\
         cleanup unix n - n - 0 cleanup\n\
         qmgr unix n - n 300 1 qmgr\n\
         rewrite unix - - n - - trivial-rewrite\n\
         bounce unix - - n - 0 bounce\n\
         defer unix - - n - 0 bounce\n\
         trace unix - - n - 0 bounce\n\
         verify unix - - n - 1 verify\n\
         flush unix n - n 1000? 0 flush\n\
         proxymap unix - - n - - proxymap\n\
         showq unix n - n - - showq\n\
         error unix - - n - - error\n\
         retry unix - - n - - error\n\
         discard unix - - n - - discard\n\
         lmtp unix - - n - - lmtp -v\n\
         anvil unix - - n - 1 anvil\n\
         scache unix - - n - 1 scache\n\
         postlog unix-dgram n - n - 1 postlogd\n"
    )
}

impl Postfix {
    /// Writes the configuration (`extra`: more main.cf lines), starts the instance and waits
    /// until it takes SMTP connections. Call [`available`] first.
    pub fn start(transport: &Transport, extra: &str) -> Postfix {
        let dir = tempfile::Builder::new()
            .prefix("darius-postfix")
            .tempdir()
            .unwrap()
            .keep();
        // Postfix's daemons run as `postfix` and look up paths under the directory.
        set_mode(&dir, 0o755);
        for sub in ["etc", "queue"] {
            std::fs::create_dir(dir.join(sub)).unwrap();
            set_mode(&dir.join(sub), 0o755);
        }
        let smtp_port = free_port();
        std::fs::write(dir.join("etc/main.cf"), main_cf(&dir, transport, extra)).unwrap();
        std::fs::write(dir.join("etc/master.cf"), master_cf(smtp_port)).unwrap();
        let mut postfix = Postfix {
            dir,
            smtp_port,
            guard: None,
        };
        postfix.spawn_guard();
        let out = postfix.command("postfix").arg("start").output().unwrap();
        assert!(
            out.status.success(),
            "postfix start: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            postfix.log()
        );
        postfix.wait_for_smtp();
        postfix
    }

    /// The guard shell (see the module doc); it is in place before the master starts.
    fn spawn_guard(&mut self) {
        let script = r#"
            cat >/dev/null
            "$1" -c "$2/etc" stop >/dev/null 2>&1
            rm -rf "$2"
        "#;
        let mut guard = Command::new("sh")
            .args(["-c", script, "postfix-guard"])
            .arg(sbin("postfix").unwrap())
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = guard.stdin.take().unwrap();
        self.guard = Some((guard, stdin));
    }

    fn wait_for_smtp(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.smtp_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Postfix does not listen on {}:\n{}",
                self.smtp_port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A Postfix command (`postfix`, `postqueue`, …) on this instance's configuration.
    pub fn command(&self, program: &str) -> Command {
        let path = sbin(program).unwrap_or_else(|| panic!("{program} is not installed"));
        let mut cmd = Command::new(path);
        cmd.arg("-c").arg(self.dir.join("etc"));
        cmd
    }

    /// `postqueue -p`: the queue listing (`Mail queue is empty` when nothing waits).
    pub fn queue(&self) -> String {
        let out = self.command("postqueue").arg("-p").output().unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// `postqueue -f`: deliver the deferred mail now.
    pub fn flush(&self) {
        let out = self.command("postqueue").arg("-f").output().unwrap();
        assert!(
            out.status.success(),
            "postqueue -f: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The whole mail log (`maillog_file`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }

    /// The queue and the end of the log, for failure messages. Of the LMTP client's verbose
    /// lines only the dialogue (`> `, `< `) is kept; every other line of the log is.
    pub fn diagnostics(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| {
                !l.contains("postfix/lmtp[")
                    || ["]: > ", "]: < ", " status=", "warning:", "fatal:", "panic:"]
                        .iter()
                        .any(|mark| l.contains(mark))
            })
            .collect();
        let tail = lines[lines.len().saturating_sub(60)..].join("\n");
        format!(
            "--- postqueue -p\n{}--- maillog (last 60 lines, LMTP client's verbose lines left out)\n{tail}",
            self.queue()
        )
    }

    /// What Postfix's LMTP client sent for the message content, from its verbose log:
    /// `"DATA"`, `"BDAT"`, both, or `"none yet"`.
    pub fn content_commands(&self) -> String {
        let log = self.log();
        let sent = |command: &str| {
            log.lines().any(|l| {
                l.contains("postfix/lmtp[")
                    && l.split_once("]: > ")
                        .and_then(|(_, rest)| rest.split_once(": "))
                        .is_some_and(|(_, cmd)| cmd.starts_with(command))
            })
        };
        match (sent("DATA"), sent("BDAT")) {
            (true, true) => "DATA and BDAT".into(),
            (true, false) => "DATA".into(),
            (false, true) => "BDAT".into(),
            (false, false) => "none yet".into(),
        }
    }

    /// Sends one message over SMTP; `mail_params` and `rcpt_params` follow the addresses
    /// (`" RET=HDRS ENVID=x"`, `" NOTIFY=SUCCESS"`). `message` ends with CRLF and has no line
    /// starting with a dot. Returns Postfix's queue id.
    pub fn send(
        &self,
        from: &str,
        rcpts: &[String],
        message: &[u8],
        mail_params: &str,
        rcpt_params: &str,
    ) -> String {
        let mut c = Client::connect(self.smtp_port);
        c.send(b"EHLO client.test\r\n");
        c.expect("250");
        c.send(format!("MAIL FROM:<{from}>{mail_params}\r\n").as_bytes());
        c.expect("250 ");
        for r in rcpts {
            c.send(format!("RCPT TO:<{r}>{rcpt_params}\r\n").as_bytes());
            c.expect("250 ");
        }
        c.send(b"DATA\r\n");
        c.expect("354 ");
        c.send(message);
        c.send(b".\r\n");
        let queued = c.expect("250 ");
        c.send(b"QUIT\r\n");
        c.expect("221 ");
        queued.rsplit(' ').next().unwrap_or_default().to_string()
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Lets Postfix's `postfix` account reach `path` (a file under a root-only temp dir): the
/// directories above it become searchable (0711, not listable) by others, up to `top`.
pub fn open_path_to(path: &Path, top: &Path) {
    let mut dir = path.parent();
    while let Some(d) = dir {
        set_mode(d, 0o711);
        if d == top {
            break;
        }
        dir = d.parent();
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        if let Some((mut guard, stdin)) = self.guard.take() {
            drop(stdin);
            let _ = guard.wait();
        }
    }
}
