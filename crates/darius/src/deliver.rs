//! `darius deliver [-m MAILBOX] [-a AUTHUSER] [-f SENDER] [-q] USER…`: delivers the message on
//! standard input, as Cyrus's `deliver` does, for an MTA's `mailbox_command` or a `.forward`
//! pipe.
//!
//! The message goes through LMTP either way, so the rules and locks are the server's own: to
//! the running server over `lmtpsocket`, or, when no server answers there (or no `lmtpsocket` is
//! configured), to an LMTP session this process serves itself on the store's files (which the
//! store's process lock allows only while the server is stopped). The socket and the in-process
//! session are trusted clients (see `lmtp_server`): `-a` becomes `MAIL … AUTH=AUTHUSER`, the
//! identity whose rights decide `+detail` and shared mailboxes, and `-q` becomes
//! `RCPT … IGNOREQUOTA`.
//!
//! Recipients: `USER` (their INBOX), `USER` with `-m NAME` (`USER+NAME`: the folder `NAME` when
//! the deliverer holds `p` there, else the INBOX), no `USER` with `-m NAME` (`+NAME`: the shared
//! mailbox `NAME`, which needs `p`). Lines may end in LF; they are sent with CRLF.
//!
//! Exit status (sysexits.h), so an MTA knows whether to retry: 0 when every recipient has the
//! message; `EX_TEMPFAIL` (75) when any recipient got a temporary failure (4xx: over quota, a
//! busy mailbox, the store unreachable) — the MTA retries, and duplicate suppression keeps
//! recipients already served from a second copy; otherwise the first permanent failure's:
//! `EX_NOUSER` (67) for an unknown recipient, `EX_NOPERM` (77) for a refused one (5.7.x),
//! `EX_DATAERR` (65) for a message refused for its size or content, `EX_UNAVAILABLE` (69) for
//! any other; `EX_USAGE` (64) for bad arguments, `EX_IOERR` (74) when standard input cannot be
//! read, `EX_CONFIG` (78) for a configuration that does not load.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use crate::embedded;

const EX_USAGE: u8 = 64;
const EX_DATAERR: u8 = 65;
const EX_NOUSER: u8 = 67;
const EX_UNAVAILABLE: u8 = 69;
const EX_IOERR: u8 = 74;
const EX_TEMPFAIL: u8 = 75;
const EX_NOPERM: u8 = 77;
const EX_CONFIG: u8 = 78;

/// Most recipients one run may name (the server takes up to `lmtp_server::MAX_RECIPIENTS`).
const MAX_USERS: usize = 1000;
/// How long to wait for each server reply (the data itself may take longer to store).
const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);
const READ_CHUNK: usize = 64 * 1024;

#[derive(Args)]
pub struct DeliverArgs {
    /// Deliver to this mailbox: each USER's folder NAME (with the `p` right, else their
    /// INBOX), or, without USER, the shared mailbox NAME.
    #[arg(short = 'm', value_name = "MAILBOX")]
    mailbox: Option<String>,
    /// Deliver as this user for the access checks (`p` on folders and shared mailboxes).
    #[arg(short = 'a', value_name = "AUTHUSER")]
    authuser: Option<String>,
    /// The envelope sender (return path); `<>` when not given.
    #[arg(short = 'f', short_alias = 'r', value_name = "SENDER")]
    from: Option<String>,
    /// Deliver even when a recipient is over quota (administrators: whoever may use the
    /// LMTP socket or the store's files).
    #[arg(short = 'q')]
    ignore_quota: bool,
    /// The recipients' user names.
    #[arg(value_name = "USER")]
    users: Vec<String>,
}

/// A failure with the exit status it maps to.
struct Failure {
    status: u8,
    message: String,
}

impl Failure {
    fn new(status: u8, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }
}

pub fn run(config_path: Option<&Path>, args: DeliverArgs) -> ExitCode {
    match deliver(config_path, args) {
        Ok(failures) if failures.is_empty() => ExitCode::SUCCESS,
        Ok(failures) => {
            for f in &failures {
                eprintln!("darius deliver: {}", f.message);
            }
            let status = failures
                .iter()
                .find(|f| f.status == EX_TEMPFAIL)
                .unwrap_or(&failures[0])
                .status;
            ExitCode::from(status)
        }
        Err(f) => {
            eprintln!("darius deliver: {}", f.message);
            ExitCode::from(f.status)
        }
    }
}

/// The RCPT addresses the arguments name.
fn recipients(args: &DeliverArgs) -> Result<Vec<String>, Failure> {
    let plain = |s: &str| {
        !s.is_empty()
            && !s
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || "<>@\"".contains(c))
    };
    if args.users.len() > MAX_USERS {
        return Err(Failure::new(
            EX_USAGE,
            format!("at most {MAX_USERS} users at once"),
        ));
    }
    for name in args.users.iter().chain(&args.mailbox).chain(&args.authuser) {
        if !plain(name) {
            return Err(Failure::new(
                EX_USAGE,
                format!("{name:?} is not a user or mailbox name"),
            ));
        }
    }
    Ok(match (&args.mailbox, args.users.as_slice()) {
        (None, []) => {
            return Err(Failure::new(
                EX_USAGE,
                "name at least one USER, or a shared mailbox with -m",
            ))
        }
        (Some(mailbox), []) => vec![format!("+{mailbox}")],
        (Some(mailbox), users) => users.iter().map(|u| format!("{u}+{mailbox}")).collect(),
        (None, users) => users.to_vec(),
    })
}

fn deliver(config_path: Option<&Path>, args: DeliverArgs) -> Result<Vec<Failure>, Failure> {
    let rcpts = recipients(&args)?;
    let from = match args.from.as_deref() {
        None | Some("") | Some("<>") => String::new(),
        Some(f)
            if f.bytes()
                .any(|b| b.is_ascii_control() || b == b' ' || b == b'<' || b == b'>') =>
        {
            return Err(Failure::new(
                EX_USAGE,
                format!("{f:?} is not a sender address"),
            ))
        }
        Some(f) => f.to_string(),
    };
    let loaded = embedded::load_config(config_path)
        .map_err(|e| Failure::new(EX_CONFIG, format!("{e:#}")))?;
    let config = &loaded.config;
    if !crate::serve::is_initialised(config.configdirectory()) {
        return Err(Failure::new(EX_TEMPFAIL, crate::users::no_store(&loaded)));
    }
    crate::logging::init(config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(EX_TEMPFAIL, format!("starting: {e}")))?;
    let transaction = Transaction {
        from,
        authuser: args.authuser,
        rcpts,
        ignore_quota: args.ignore_quota,
    };
    runtime.block_on(async {
        if let Some(path) = config.path("lmtpsocket") {
            match tokio::net::UnixStream::connect(path).await {
                Ok(stream) => return transaction.run(stream, tokio::io::stdin()).await,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                    ) => {}
                Err(e) => {
                    return Err(Failure::new(
                        EX_TEMPFAIL,
                        format!("lmtpsocket {}: {e}", path.display()),
                    ))
                }
            }
        }
        offline(config, transaction).await
    })
}

/// No server answers: serve an LMTP session on the store's files in this process.
async fn offline(
    config: &config::Config,
    transaction: Transaction,
) -> Result<Vec<Failure>, Failure> {
    let backend = crate::mail::Backend::open(config).map_err(|e| {
        let running = e
            .chain()
            .any(|c| matches!(c.downcast_ref(), Some(mailstore::StoreError::InUse(_))));
        let hint = if running {
            " (the server is running: configure `lmtpsocket` so deliver can reach it)"
        } else {
            ""
        };
        Failure::new(EX_TEMPFAIL, format!("opening the mail store: {e:#}{hint}"))
    })?;
    let server = crate::lmtp::server(config, &backend, None)
        .map_err(|e| Failure::new(EX_CONFIG, format!("{e:#}")))?;
    let (ours, theirs) = tokio::net::UnixStream::pair()
        .map_err(|e| Failure::new(EX_TEMPFAIL, format!("socket pair: {e}")))?;
    let shutdown = net::Shutdown::new();
    let session = tokio::spawn(lmtp_server::serve_unix(server, theirs, shutdown.signal()));
    let result = transaction.run(ours, tokio::io::stdin()).await;
    let _ = session.await;
    result
}

struct Transaction {
    /// The reverse-path without brackets; empty for `<>`.
    from: String,
    authuser: Option<String>,
    rcpts: Vec<String>,
    ignore_quota: bool,
}

/// A reply: its code, enhanced code (when given) and text, as one line for messages.
struct Reply {
    code: u16,
    enhanced: String,
    line: String,
}

impl Reply {
    /// The exit status a refusal maps to.
    fn status(&self) -> u8 {
        if (400..500).contains(&self.code) {
            return EX_TEMPFAIL;
        }
        let class = self.enhanced.get(2..).unwrap_or("");
        match (self.code, class) {
            (_, "1.1") | (_, "1.0") | (550, "") => EX_NOUSER,
            (_, c) if c.starts_with("7.") => EX_NOPERM,
            (552, _) | (554, _) | (_, "3.4") => EX_DATAERR,
            (_, c) if c.starts_with("6.") => EX_DATAERR,
            _ => EX_UNAVAILABLE,
        }
    }
}

struct Conversation<S> {
    io: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conversation<S> {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.io
            .get_mut()
            .write_all(bytes)
            .await
            .map_err(|e| Failure::new(EX_TEMPFAIL, format!("writing to the server: {e}")))
    }

    /// One reply, its lines collected; the capability lines of a multi-line one too.
    async fn reply(&mut self) -> Result<(Reply, Vec<String>), Failure> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let read = tokio::time::timeout(REPLY_TIMEOUT, self.io.read_line(&mut line))
                .await
                .map_err(|_| Failure::new(EX_TEMPFAIL, "the server did not answer in time"))?
                .map_err(|e| Failure::new(EX_TEMPFAIL, format!("reading from the server: {e}")))?;
            if read == 0 || line.len() > 4096 {
                return Err(Failure::new(
                    EX_TEMPFAIL,
                    "the server closed the connection",
                ));
            }
            let line = line.trim_end().to_string();
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| Failure::new(EX_TEMPFAIL, format!("not an LMTP reply: {line:?}")))?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or("").to_string());
            if !more {
                let text = lines.last().cloned().unwrap_or_default();
                let enhanced = text
                    .split(' ')
                    .next()
                    .filter(|w| {
                        w.split('.').count() == 3
                            && w.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                    })
                    .unwrap_or("")
                    .to_string();
                return Ok((
                    Reply {
                        code,
                        enhanced,
                        line,
                    },
                    lines,
                ));
            }
        }
    }

    async fn expect(&mut self, what: &str, code: u16) -> Result<Vec<String>, Failure> {
        let (reply, lines) = self.reply().await?;
        if reply.code != code {
            return Err(Failure::new(
                reply.status(),
                format!("{what}: {}", reply.line),
            ));
        }
        Ok(lines)
    }
}

impl Transaction {
    /// Runs the transaction over `stream` with the message read from `input`; the failures of
    /// individual recipients come back in the list, a failure of the whole as the error.
    async fn run(
        self,
        stream: impl AsyncRead + AsyncWrite + Unpin,
        input: impl AsyncRead + Unpin,
    ) -> Result<Vec<Failure>, Failure> {
        let mut c = Conversation {
            io: BufReader::new(stream),
        };
        c.expect("greeting", 220).await?;
        c.send(b"LHLO darius-deliver\r\n").await?;
        let capabilities = c.expect("LHLO", 250).await?;
        let offers = |name: &str| {
            capabilities.iter().any(|l| {
                l.split(' ')
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case(name))
            })
        };
        if self.ignore_quota && !offers("IGNOREQUOTA") {
            return Err(Failure::new(
                EX_NOPERM,
                "-q: the server does not trust this client to ignore quotas (lmtpsocket_mode 0666?)",
            ));
        }
        let mut mail = format!("MAIL FROM:<{}>", self.from);
        if let Some(user) = &self.authuser {
            mail.push_str(&format!(" AUTH={}", lmtp_proto::xtext_encode(user)));
        }
        mail.push_str("\r\n");
        c.send(mail.as_bytes()).await?;
        c.expect("MAIL", 250).await?;
        let mut failures = Vec::new();
        let mut accepted = Vec::new();
        for rcpt in &self.rcpts {
            let extra = if self.ignore_quota {
                " IGNOREQUOTA"
            } else {
                ""
            };
            c.send(format!("RCPT TO:<{rcpt}>{extra}\r\n").as_bytes())
                .await?;
            let (reply, _) = c.reply().await?;
            if reply.code == 250 {
                accepted.push(rcpt);
            } else {
                failures.push(Failure::new(
                    reply.status(),
                    format!("{rcpt}: {}", reply.line),
                ));
            }
        }
        if accepted.is_empty() {
            let _ = c.send(b"QUIT\r\n").await;
            return Ok(failures);
        }
        c.send(b"DATA\r\n").await?;
        c.expect("DATA", 354).await?;
        send_data(&mut c, input).await?;
        for rcpt in accepted {
            let (reply, _) = c.reply().await?;
            if reply.code != 250 {
                failures.push(Failure::new(
                    reply.status(),
                    format!("{rcpt}: {}", reply.line),
                ));
            }
        }
        let _ = c.send(b"QUIT\r\n").await;
        Ok(failures)
    }
}

/// Streams `input` as the DATA payload: every line end CRLF (a bare LF gets its CR), lines
/// starting with `.` doubled, then the terminator; never more than a chunk in memory.
async fn send_data<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Conversation<S>,
    mut input: impl AsyncRead + Unpin,
) -> Result<(), Failure> {
    let mut encoder = DataEncoder::default();
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut out = Vec::with_capacity(READ_CHUNK * 2);
    loop {
        let n = match input.read(&mut chunk).await {
            Ok(n) => n,
            Err(e) => {
                // The server must not store half a message: drop the connection mid-data.
                return Err(Failure::new(EX_IOERR, format!("reading the message: {e}")));
            }
        };
        out.clear();
        if n == 0 {
            encoder.finish(&mut out);
            return c.send(&out).await;
        }
        encoder.feed(&chunk[..n], &mut out);
        c.send(&out).await?;
    }
}

/// LF → CRLF and dot-stuffing over a stream of chunks.
#[derive(Default)]
struct DataEncoder {
    /// The last byte fed was CR (so a following LF ends the line as it is).
    after_cr: bool,
    /// Not at the start of a line (nothing fed yet counts as a line start).
    mid_line: bool,
}

impl DataEncoder {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        for &b in bytes {
            if !self.mid_line && b == b'.' {
                out.push(b'.');
            }
            if b == b'\n' && !self.after_cr {
                out.push(b'\r');
            }
            out.push(b);
            self.after_cr = b == b'\r';
            self.mid_line = b != b'\n';
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.mid_line {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(chunks: &[&[u8]]) -> Vec<u8> {
        let mut e = DataEncoder::default();
        let mut out = Vec::new();
        for c in chunks {
            e.feed(c, &mut out);
        }
        e.finish(&mut out);
        out
    }

    #[test]
    fn lines_get_crlf_and_leading_dots_are_doubled_across_chunk_boundaries() {
        assert_eq!(encode(&[b".a\nb\r\n..c\n"]), b"..a\r\nb\r\n...c\r\n.\r\n");
        assert_eq!(encode(&[b"a\r", b"\n.", b"b"]), b"a\r\n..b\r\n.\r\n");
        assert_eq!(encode(&[b"x\n", b".\n"]), b"x\r\n..\r\n.\r\n");
        assert_eq!(encode(&[]), b".\r\n");
        assert_eq!(encode(&[b"no end"]), b"no end\r\n.\r\n");
        // What the server's decoder gives back is the message with CRLF line ends.
        let sent = encode(&[b"H: v\n\n.x\nend"]);
        let mut decoder = lmtp_proto::DataDecoder::new(1 << 20);
        let mut back = Vec::new();
        decoder.feed(&sent, &mut back);
        assert!(decoder.is_done());
        assert_eq!(back, b"H: v\r\n\r\n.x\r\nend\r\n");
    }

    #[test]
    fn replies_map_to_sysexits() {
        let r = |code, enhanced: &str| Reply {
            code,
            enhanced: enhanced.into(),
            line: String::new(),
        };
        assert_eq!(r(452, "4.2.2").status(), EX_TEMPFAIL);
        assert_eq!(r(451, "4.2.0").status(), EX_TEMPFAIL);
        assert_eq!(r(550, "5.1.1").status(), EX_NOUSER);
        assert_eq!(r(550, "5.7.1").status(), EX_NOPERM);
        assert_eq!(r(552, "5.3.4").status(), EX_DATAERR);
        assert_eq!(r(554, "5.6.0").status(), EX_DATAERR);
        assert_eq!(r(555, "5.5.4").status(), EX_UNAVAILABLE);
    }

    #[test]
    fn arguments_name_inboxes_folders_and_shared_mailboxes() {
        let args = |users: &[&str], mailbox: Option<&str>| DeliverArgs {
            mailbox: mailbox.map(Into::into),
            authuser: None,
            from: None,
            ignore_quota: false,
            users: users.iter().map(|u| u.to_string()).collect(),
        };
        let ok = |a| recipients(&a).ok().unwrap_or_default();
        assert_eq!(ok(args(&["bob", "carol"], None)), ["bob", "carol"]);
        assert_eq!(ok(args(&["bob"], Some("lists"))), ["bob+lists"]);
        assert_eq!(ok(args(&[], Some("shared.board"))), ["+shared.board"]);
        for bad in [
            args(&[], None),
            args(&["a b"], None),
            args(&["<x>"], None),
            args(&["a\r\n"], None),
        ] {
            assert_eq!(recipients(&bad).err().map(|f| f.status), Some(EX_USAGE));
        }
    }
}
