//! Real POP3 clients from Debian against the server, each fetching what LMTP delivered and
//! compared with it byte for byte (`pop3_support::assert_fetched`):
//! - fetchmail into an mbox through `mda`: with `keep` over STLS (one message of 1.6 MB; a
//!   second run fetches nothing again: UIDL and an idfile), and with `no keep` over POP3S
//!   (the maildrop is empty after);
//! - getmail6 into a Maildir: leaving mail on the server over plain POP3 (a second run
//!   retrieves nothing; its `oldmail` file keeps the UIDLs), deleting over POP3S;
//! - mpop into an mbox: `keep on` over STLS, then `keep off` (everything retrieved goes);
//!   and logging in over POP3S with USER/PASS and each SASL mechanism through GNU SASL;
//! - Cyrus's `pop3test` logging in with SASL PLAIN and SCRAM-SHA-256 over STLS and POP3S, STAT.
//!
//! Skipped with a note when a program is missing, failing under DARIUS_REQUIRE_INTEROP=1.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;
mod pop3_support;

use std::path::Path;
use std::process::Command;

use common::Server;
use pop3_support::{assert_fetched, deliver, messages, split_mbox};

fn server() -> Server {
    let server = Server::start();
    server.add_user("alice", "pw-alice");
    server
}

/// Runs `cmd`; its exit code and everything it wrote.
fn run(cmd: &mut Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// Writes `text` to `path`, readable only by its owner (fetchmail and mpop insist).
fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The messages of an mbox file (none when it does not exist yet).
fn mbox(path: &Path) -> Vec<Vec<u8>> {
    split_mbox(&std::fs::read(path).unwrap_or_default())
}

/// alice's maildrop size over POP3 (STAT), and her INBOX over IMAP: they must agree.
fn messages_left(server: &Server) -> usize {
    let mut c = pop3_support::Client::login(server.pop3_port, "alice", "pw-alice");
    let (n, _) = c.stat();
    c.quit();
    let (_, imap) = pop3_support::imap_inbox(server.imap_port, "alice", "pw-alice");
    assert_eq!(imap.len(), n, "IMAP and POP3 disagree: {imap:?}");
    n
}

// ---- fetchmail

/// A fetchmail run directory: rc file, idfile, an MDA script appending to `mbox`.
struct Fetchmail {
    dir: tempfile::TempDir,
}

impl Fetchmail {
    fn new(server: &Server, port: u16, options: &str) -> Fetchmail {
        let dir = tempfile::tempdir().unwrap();
        let mda = dir.path().join("mda");
        std::fs::write(
            &mda,
            "#!/bin/sh\n{ echo 'From MAILER-DAEMON Thu Jan  1 00:00:00 1970'; cat; echo; } >> \"$1\"\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&mda, std::fs::Permissions::from_mode(0o700)).unwrap();
        let rc = format!(
            "set no syslog\nset no bouncemail\n\
             poll localhost service {port} protocol pop3 uidl auth password timeout 60:\n\
             \x20 user \"alice\" there with password \"pw-alice\" is \"alice\" here\n\
             \x20 no rewrite\n\
             \x20 sslcertck sslcertfile \"{cert}\"\n\
             \x20 {options}\n\
             \x20 mda \"{mda} {mbox}\"\n",
            cert = server.cert_path().display(),
            mda = mda.display(),
            mbox = dir.path().join("mbox").display(),
        );
        write_private(&dir.path().join("fetchmailrc"), &rc);
        Fetchmail { dir }
    }

    /// One `fetchmail` run: exit code (0 fetched, 1 nothing to fetch) and verbose transcript.
    fn run(&self) -> (Option<i32>, String) {
        let d = self.dir.path();
        run(Command::new("fetchmail")
            .args(["-N", "-v", "--nosyslog", "-f"])
            .arg(d.join("fetchmailrc"))
            .arg("-i")
            .arg(d.join("idfile"))
            // As root its lock file is /var/run/fetchmail.pid, shared by the tests running
            // at the same time.
            .arg("--pidfile")
            .arg(d.join("fetchmail.pid"))
            .env("HOME", d)
            .env("FETCHMAILHOME", d))
    }

    fn mbox(&self) -> Vec<Vec<u8>> {
        mbox(&self.dir.path().join("mbox"))
    }
}

#[test]
fn fetchmail_keep_over_stls_fetches_each_message_once() {
    if !common::have("fetchmail") {
        return;
    }
    let server = server();
    let mut first = messages("fetchmail-keep", "alice", 6);
    first.push(pop3_support::large_message("fetchmail-keep", "alice"));
    deliver(&server, "alice", &first);
    let fm = Fetchmail::new(&server, server.pop3_port, "keep sslproto 'TLS1.2+'");
    let (code, text) = fm.run();
    assert_eq!(code, Some(0), "{text}\n{}", server.log());
    assert!(
        text.contains("POP3> STLS"),
        "fetchmail did not use STLS:\n{text}"
    );
    assert_fetched("fetchmail", &fm.mbox(), &first);
    // Kept on the server, and not fetched again: UIDL and the idfile.
    let (code, text) = fm.run();
    assert_eq!(code, Some(1), "nothing new, exit 1:\n{text}");
    assert_fetched("fetchmail", &fm.mbox(), &first);
    let second = messages("fetchmail-more", "alice", 3);
    deliver(&server, "alice", &second);
    let (code, text) = fm.run();
    assert_eq!(code, Some(0), "{text}");
    assert_fetched("fetchmail", &fm.mbox(), &[first, second].concat());
    assert_eq!(messages_left(&server), 10);
}

#[test]
fn fetchmail_no_keep_over_pop3s_empties_the_maildrop() {
    if !common::have("fetchmail") {
        return;
    }
    let server = server();
    let sent = messages("fetchmail-nokeep", "alice", 7);
    deliver(&server, "alice", &sent);
    let fm = Fetchmail::new(&server, server.pop3s_port, "no keep ssl");
    let (code, text) = fm.run();
    assert_eq!(code, Some(0), "{text}\n{}", server.log());
    assert_fetched("fetchmail", &fm.mbox(), &sent);
    assert_eq!(messages_left(&server), 0, "{text}");
    let (code, text) = fm.run();
    assert_eq!(code, Some(1), "nothing left, exit 1:\n{text}");
}

// ---- getmail6

/// A getmail run directory with a Maildir. getmail refuses to deliver as root, so as root
/// it delivers as `nobody`, who gets the Maildir (and a way through the temp dir).
struct Getmail {
    dir: tempfile::TempDir,
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

impl Getmail {
    fn new() -> Getmail {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(dir.path().join("Maildir").join(sub)).unwrap();
        }
        if running_as_root() {
            use std::os::unix::fs::PermissionsExt;
            let out = Command::new("id").args(["-u", "nobody"]).output().unwrap();
            let nobody: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
            let maildir = dir.path().join("Maildir");
            for path in ["", "new", "cur", "tmp"].map(|s| maildir.join(s)) {
                std::os::unix::fs::chown(&path, Some(nobody), None).unwrap();
            }
        }
        Getmail { dir }
    }

    /// One `getmail` run with `retriever` lines and `options` lines.
    fn run(&self, retriever: &str, options: &str) -> (Option<i32>, String) {
        let d = self.dir.path();
        let user = if running_as_root() {
            "user = nobody\n"
        } else {
            ""
        };
        let rc = format!(
            "[retriever]\n{retriever}\nusername = alice\npassword = pw-alice\n\n\
             [destination]\ntype = Maildir\npath = {}/\n{user}\n\
             [options]\nverbose = 2\nread_all = false\n{options}\n",
            d.join("Maildir").display()
        );
        write_private(&d.join("getmailrc"), &rc);
        run(Command::new("getmail")
            .arg("--getmaildir")
            .arg(d)
            .arg("--rcfile")
            .arg(d.join("getmailrc")))
    }

    fn maildir(&self) -> Vec<Vec<u8>> {
        std::fs::read_dir(self.dir.path().join("Maildir/new"))
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect()
    }
}

fn have_getmail() -> bool {
    common::interop::have_program("getmail", "getmail6")
}

#[test]
fn getmail_leaves_mail_on_the_server_and_retrieves_it_once() {
    if !have_getmail() {
        return;
    }
    let server = server();
    let first = messages("getmail-keep", "alice", 5);
    deliver(&server, "alice", &first);
    let gm = Getmail::new();
    let retriever = format!(
        "type = SimplePOP3Retriever\nserver = 127.0.0.1\nport = {}",
        server.pop3_port
    );
    let (code, text) = gm.run(&retriever, "delete = false");
    assert_eq!(code, Some(0), "{text}\n{}", server.log());
    assert_fetched("getmail", &gm.maildir(), &first);
    let second = messages("getmail-more", "alice", 2);
    deliver(&server, "alice", &second);
    let (code, text) = gm.run(&retriever, "delete = false");
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("2 messages"),
        "only the two new ones:\n{text}"
    );
    assert_fetched("getmail", &gm.maildir(), &[first, second].concat());
    assert_eq!(messages_left(&server), 7);
}

#[test]
fn getmail_deletes_over_pop3s() {
    if !have_getmail() {
        return;
    }
    let server = server();
    let sent = messages("getmail-delete", "alice", 6);
    deliver(&server, "alice", &sent);
    let gm = Getmail::new();
    let retriever = format!(
        "type = SimplePOP3SSLRetriever\nserver = localhost\nport = {}\nca_certs = {}",
        server.pop3s_port,
        server.cert_path().display()
    );
    let (code, text) = gm.run(&retriever, "delete = true");
    assert_eq!(code, Some(0), "{text}\n{}", server.log());
    assert_fetched("getmail", &gm.maildir(), &sent);
    assert_eq!(messages_left(&server), 0, "{text}");
}

// ---- mpop

#[test]
fn mpop_keeps_over_stls_then_deletes() {
    if !common::have("mpop") {
        return;
    }
    let server = server();
    let first = messages("mpop", "alice", 6);
    deliver(&server, "alice", &first);
    let dir = tempfile::tempdir().unwrap();
    let mbox_path = dir.path().join("mbox");
    std::fs::write(&mbox_path, b"").unwrap();
    let config = |keep: &str| {
        format!(
            "account default\nhost localhost\nport {}\nuser alice\npassword pw-alice\n\
             tls on\ntls_starttls on\ntls_trust_file {}\n\
             delivery mbox {}\nuidls_file {}\nkeep {keep}\n",
            server.pop3_port,
            server.cert_path().display(),
            mbox_path.display(),
            dir.path().join("uidls").display()
        )
    };
    let rc = dir.path().join("mpoprc");
    let mpop = || run(Command::new("mpop").arg("-C").arg(&rc).arg("--debug"));
    write_private(&rc, &config("on"));
    let (code, text) = mpop();
    assert_eq!(code, Some(0), "{text}\n{}", server.log());
    assert!(text.contains("STLS"), "mpop did not use STLS:\n{text}");
    assert_fetched("mpop", &mbox(&mbox_path), &first);
    // Again: nothing new is retrieved.
    let (code, text) = mpop();
    assert_eq!(code, Some(0), "{text}");
    assert_fetched("mpop", &mbox(&mbox_path), &first);
    assert_eq!(messages_left(&server), 6);
    // keep off: the new message is retrieved, and everything retrieved is deleted.
    let second = messages("mpop-more", "alice", 1);
    deliver(&server, "alice", &second);
    write_private(&rc, &config("off"));
    let (code, text) = mpop();
    assert_eq!(code, Some(0), "{text}");
    assert_fetched("mpop", &mbox(&mbox_path), &[first, second].concat());
    assert_eq!(messages_left(&server), 0, "{text}");
}

/// mpop's SASL is GNU SASL, a second implementation beside Cyrus SASL's `pop3test`: each
/// mechanism (and USER/PASS) logs in over POP3S and reads the maildrop's status.
#[test]
fn mpop_logs_in_with_each_mechanism() {
    if !common::have("mpop") {
        return;
    }
    let server = Server::start_with(
        "auth_failure_delay: 0\nauth_failures_per_host: 0\n\
         sasl_mech_list: SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN\n",
    );
    server.add_user("alice", "pw-alice");
    let sent = messages("mpop-auth", "alice", 2);
    deliver(&server, "alice", &sent);
    let dir = tempfile::tempdir().unwrap();
    let rc = dir.path().join("mpoprc");
    for auth in [
        "user",
        "plain",
        "login",
        "cram-md5",
        "scram-sha-1",
        "scram-sha-256",
    ] {
        for (password, works) in [("pw-alice", true), ("wrong", false)] {
            write_private(
                &rc,
                &format!(
                    "account default\nhost localhost\nport {}\nuser alice\npassword {password}\n\
                     auth {auth}\ntls on\ntls_starttls off\ntls_trust_file {}\n\
                     delivery mbox /dev/null\nuidls_file {}\n",
                    server.pop3s_port,
                    server.cert_path().display(),
                    dir.path().join("uidls").display()
                ),
            );
            let (code, text) = run(Command::new("mpop").arg("-C").arg(&rc).arg("--status-only"));
            if works {
                assert_eq!(code, Some(0), "auth {auth}:\n{text}\n{}", server.log());
                assert!(text.contains("2 messages"), "auth {auth}:\n{text}");
            } else {
                assert_ne!(code, Some(0), "auth {auth} with a wrong password:\n{text}");
            }
        }
    }
}

// ---- pop3test

const POP3TEST: &str = "/usr/lib/cyrus/bin/pop3test";

#[test]
fn pop3test_authenticates_with_sasl_over_stls_and_pop3s() {
    if !common::imtest::installed(&[(POP3TEST, "cyrus-clients")]) {
        return;
    }
    let server = Server::start_with(
        "auth_failure_delay: 0\nauth_failures_per_host: 0\n\
         sasl_mech_list: SCRAM-SHA-256 PLAIN LOGIN\n",
    );
    server.add_user("alice", "pw-alice");
    let sent = messages("pop3test", "alice", 3);
    deliver(&server, "alice", &sent);
    let size: usize = {
        let mut c = pop3_support::Client::login(server.pop3_port, "alice", "pw-alice");
        let (n, size) = c.stat();
        c.quit();
        assert_eq!(n, 3);
        size as usize
    };
    let transports: [(&str, &[&str], u16); 2] = [
        ("STLS", &["-t", ""], server.pop3_port),
        ("POP3S", &["-s"], server.pop3s_port),
    ];
    for (transport, tls, port) in transports {
        for mech in ["PLAIN", "SCRAM-SHA-256"] {
            let mut args = tls.to_vec();
            args.extend(["-m", mech, "-a", "alice", "-w", "pw-alice"]);
            let text = common::imtest::transcript(
                POP3TEST,
                &args,
                &[],
                "localhost",
                port,
                b"STAT\r\nQUIT\r\n",
            );
            assert!(
                text.lines().any(|l| l.trim() == "Authenticated."),
                "{mech} over {transport}:\n{text}\n{}",
                server.log()
            );
            assert!(
                text.contains(&format!("+OK 3 {size}")),
                "{mech} over {transport}: no STAT answer:\n{text}"
            );
            // A wrong password is refused.
            let mut args = tls.to_vec();
            args.extend(["-m", mech, "-a", "alice", "-w", "wrong"]);
            let text =
                common::imtest::transcript(POP3TEST, &args, &[], "localhost", port, b"QUIT\r\n");
            assert!(
                !text.lines().any(|l| l.trim() == "Authenticated."),
                "{mech} over {transport} with a wrong password:\n{text}"
            );
        }
    }
}
