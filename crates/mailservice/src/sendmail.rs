//! Sending mail through the local MTA's `sendmail` command, as Cyrus does (its `sendmail`
//! option): what Sieve's redirect, vacation, reject and notify hand over for delivery.
//!
//! Owns: running the command as `SENDMAIL -i -f SENDER -- RCPT...` without a shell, feeding the
//! message on its standard input, waiting at most [`Sendmail::timeout`] (then killing it), and
//! turning a failure into a [`SendmailError`] with the command's own words. Must not: build
//! messages (that is `sieve::outgoing`) or decide whether to send.
//!
//! The null reverse-path is passed as `-f <>`, the spelling Postfix's, exim's and Sendmail's
//! `sendmail` all read as the empty sender (Cyrus passes it the same way). `-i` keeps a line
//! holding a lone `.` in the message; `--` ends the options, and senders or recipients that
//! start with `-` or hold control characters are refused before anything runs, so no address
//! can be taken for an option. Synchronous (std::process): delivery runs on a blocking thread.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Cyrus's default for its `sendmail` option.
pub const DEFAULT_SENDMAIL: &str = "/usr/sbin/sendmail";
/// How long the command may run by default before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The most bytes of the command's standard error kept for the error (the rest is read and
/// dropped so the command never blocks on it).
pub const MAX_STDERR: usize = 4096;
/// How long, once the command exited, its standard input and error are waited for.
const GRACE: Duration = Duration::from_secs(2);
/// The most recipients of one invocation.
pub const MAX_RECIPIENTS: usize = 100;
/// The longest address accepted as sender or recipient (RFC 5321 §4.5.3.1.3's path limit).
pub const MAX_ADDRESS: usize = 256;

/// Why a message could not be handed to the MTA.
#[derive(Debug, thiserror::Error)]
pub enum SendmailError {
    /// A sender or recipient that could be mistaken for an option or breaks the command line
    /// (starts with `-`, holds control characters or spaces, too long), or no recipient.
    #[error("refused address {0:?}")]
    BadAddress(String),
    /// The command could not be started or talked to.
    #[error("running {command}: {source}")]
    Io {
        command: String,
        source: std::io::Error,
    },
    /// The command exited with failure; `stderr` is the start of what it said.
    #[error("{command} failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    /// The command ran longer than the timeout and was killed.
    #[error("{command} ran longer than {seconds} s and was killed")]
    TimedOut { command: String, seconds: u64 },
}

/// The `sendmail` command and how long to wait for it.
#[derive(Debug, Clone)]
pub struct Sendmail {
    /// The program (Cyrus's `sendmail` option), run directly, never through a shell.
    pub program: PathBuf,
    /// How long one run may take before it is killed.
    pub timeout: Duration,
}

impl Default for Sendmail {
    /// [`DEFAULT_SENDMAIL`] with [`DEFAULT_TIMEOUT`].
    fn default() -> Sendmail {
        Sendmail {
            program: PathBuf::from(DEFAULT_SENDMAIL),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Refuses what the command line must not carry; an empty `address` is allowed only when
/// `empty_ok` (the null sender).
fn check_address(address: &str, empty_ok: bool) -> Result<(), SendmailError> {
    let bad = (address.is_empty() && !empty_ok)
        || address.len() > MAX_ADDRESS
        || address.starts_with('-')
        || address.chars().any(|c| c.is_control() || c.is_whitespace());
    if bad {
        return Err(SendmailError::BadAddress(
            address.chars().take(80).collect(),
        ));
    }
    Ok(())
}

impl Sendmail {
    /// A command `program` with the default timeout.
    pub fn new(program: impl Into<PathBuf>) -> Sendmail {
        Sendmail {
            program: program.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The arguments after the program name: `-i -f SENDER -- RCPT...`, `SENDER` `<>` when
    /// `sender` is empty (the null reverse-path).
    pub fn arguments(sender: &str, recipients: &[&str]) -> Result<Vec<String>, SendmailError> {
        check_address(sender, true)?;
        if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
            return Err(SendmailError::BadAddress(format!(
                "{} recipients",
                recipients.len()
            )));
        }
        for rcpt in recipients {
            check_address(rcpt, false)?;
        }
        let mut args = vec!["-i".to_string(), "-f".to_string()];
        args.push(if sender.is_empty() { "<>" } else { sender }.to_string());
        args.push("--".to_string());
        args.extend(recipients.iter().map(|r| (*r).to_string()));
        Ok(args)
    }

    /// Sends `message` (a complete RFC 5322 message, CRLF or LF line ends) from `sender` (`""`:
    /// the null reverse-path) to `recipients`; returns once the command exited with success.
    pub fn send(
        &self,
        sender: &str,
        recipients: &[&str],
        message: &[u8],
    ) -> Result<(), SendmailError> {
        let args = Sendmail::arguments(sender, recipients)?;
        let command = self.program.display().to_string();
        let io = |source| SendmailError::Io {
            command: command.clone(),
            source,
        };
        let mut child = Command::new(&self.program)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io)?;
        // Writing and reading happen on their own threads so that a command that neither reads
        // nor exits is still bounded by the timeout: killing it closes the pipes. Their results
        // come back over channels, waited for at most GRACE once the command has exited, so
        // that a descendant keeping a pipe open cannot hold delivery either.
        let (wrote_tx, wrote_rx) = mpsc::channel();
        if let Some(mut stdin) = child.stdin.take() {
            let message = message.to_vec();
            thread::spawn(move || {
                let _ = wrote_tx.send(stdin.write_all(&message));
            });
        }
        let (err_tx, err_rx) = mpsc::channel();
        if let Some(stderr) = child.stderr.take() {
            thread::spawn(move || {
                let _ = err_tx.send(read_bounded(stderr));
            });
        }
        let status = match wait_within(&mut child, self.timeout) {
            Ok(Some(status)) => status,
            Ok(None) => {
                return Err(SendmailError::TimedOut {
                    command,
                    seconds: self.timeout.as_secs(),
                })
            }
            Err(e) => return Err(io(e)),
        };
        if !status.success() {
            return Err(SendmailError::Failed {
                command,
                status: status.to_string(),
                stderr: err_rx.recv_timeout(GRACE).unwrap_or_default(),
            });
        }
        match wrote_rx.recv_timeout(GRACE) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(io(e)),
            Err(_) => Err(io(std::io::Error::other(
                "the command exited before reading the whole message",
            ))),
        }
    }
}

/// Waits for `child` at most `timeout`; on timeout kills and reaps it and returns `None`.
fn wait_within(child: &mut Child, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if start.elapsed() >= timeout {
            // Already exited between the two calls: kill fails harmlessly, wait reaps.
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        thread::sleep(pause.min(timeout.saturating_sub(start.elapsed())));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Reads all of `from`, keeping the first [`MAX_STDERR`] bytes as (lossy) text, trimmed.
fn read_bounded(mut from: impl Read) -> String {
    let mut kept = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = MAX_STDERR.saturating_sub(kept.len());
                kept.extend_from_slice(buf.get(..n.min(room)).unwrap_or_default());
            }
        }
    }
    String::from_utf8_lossy(&kept).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A stub `sendmail` in `dir`: records its arguments (one a line) and standard input, then
    /// runs `tail` (shell text) for its exit.
    fn stub(dir: &std::path::Path, tail: &str) -> Sendmail {
        let path = dir.join("sendmail");
        let script = format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{d}/args'\ncat > '{d}/stdin'\n{tail}\n",
            d = dir.display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Sendmail::new(path)
    }

    #[test]
    fn passes_the_envelope_as_arguments_and_the_message_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let sendmail = stub(dir.path(), "exit 0");
        let message = b"From: a@example.org\r\nSubject: hi\r\n\r\n.\r\nbody\r\n";
        sendmail
            .send(
                "owner@example.org",
                &["x@example.net", "y@example.net"],
                message,
            )
            .unwrap();
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(
            args,
            "-i\n-f\nowner@example.org\n--\nx@example.net\ny@example.net\n"
        );
        assert_eq!(std::fs::read(dir.path().join("stdin")).unwrap(), message);
    }

    #[test]
    fn the_null_sender_is_written_as_angle_brackets() {
        let dir = tempfile::tempdir().unwrap();
        let sendmail = stub(dir.path(), "exit 0");
        sendmail.send("", &["x@example.net"], b"\r\n").unwrap();
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(args, "-i\n-f\n<>\n--\nx@example.net\n");
    }

    #[test]
    fn a_failing_command_is_an_error_with_its_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let sendmail = stub(dir.path(), "echo 'no such user' >&2\nexit 67");
        match sendmail.send("a@b", &["x@example.net"], b"x\r\n") {
            Err(SendmailError::Failed { stderr, status, .. }) => {
                assert_eq!(stderr, "no such user");
                assert!(status.contains("67"), "{status}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stderr_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let sendmail = stub(
            dir.path(),
            "i=0; while [ $i -lt 200 ]; do printf '%0100d\\n' 0 >&2; i=$((i+1)); done\nexit 1",
        );
        match sendmail.send("a@b", &["x@example.net"], b"x\r\n") {
            Err(SendmailError::Failed { stderr, .. }) => assert!(stderr.len() <= MAX_STDERR),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_command_that_hangs_is_killed_after_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let mut sendmail = stub(dir.path(), "exec sleep 30");
        sendmail.timeout = Duration::from_millis(200);
        match sendmail.send("a@b", &["x@example.net"], b"x\r\n") {
            Err(SendmailError::TimedOut { .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_missing_program_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let sendmail = Sendmail::new(dir.path().join("absent"));
        assert!(matches!(
            sendmail.send("a@b", &["x@example.net"], b"x\r\n"),
            Err(SendmailError::Io { .. })
        ));
    }

    #[test]
    fn addresses_that_could_be_options_or_break_the_line_are_refused() {
        for (sender, rcpt) in [
            ("-oi", "x@example.net"),
            ("a@b", "-bs"),
            ("a@b", "x@exa\nmple.net"),
            ("a@b", "x y@example.net"),
            ("a\0@b", "x@example.net"),
            ("a@b", ""),
        ] {
            assert!(
                matches!(
                    Sendmail::arguments(sender, &[rcpt]),
                    Err(SendmailError::BadAddress(_))
                ),
                "{sender:?} {rcpt:?}"
            );
        }
        assert!(Sendmail::arguments("a@b", &[]).is_err(), "no recipient");
        let many = vec!["x@example.net"; MAX_RECIPIENTS + 1];
        assert!(Sendmail::arguments("a@b", &many).is_err());
        // Nothing ran: the stub would have written its files.
        let dir = tempfile::tempdir().unwrap();
        let sendmail = stub(dir.path(), "exit 0");
        assert!(sendmail.send("-x", &["y@z"], b"").is_err());
        assert!(!dir.path().join("args").exists());
    }

    #[test]
    fn a_descendant_keeping_the_pipes_open_does_not_hold_the_send() {
        let dir = tempfile::tempdir().unwrap();
        let sendmail = stub(dir.path(), "sleep 30 &\nexit 0");
        sendmail.send("a@b", &["x@example.net"], b"x\r\n").unwrap();
    }
}
