//! The named workloads and what they share: the run settings, the user pattern, the stop
//! condition (a duration or an operation budget) and error bookkeeping for IMAP commands.
//!
//! Each workload returns its merged [`Recorder`] and its own metrics; `main` turns them into a
//! [`crate::report::Report`].

pub mod append;
pub mod fetch;
pub mod idle;
pub mod list;
pub mod lmtp;
pub mod login;
pub mod mixed;
mod mixed_model;
pub mod pop3;
pub mod populate;
pub mod resync;
pub mod search;
pub mod sieve;
pub mod soak;
pub mod users;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use crate::client::imap::{ClientError, Completion, ImapClient, Literals};
use crate::client::net::Endpoint;
use crate::client::parse::{Status, Untagged};
use crate::stats::Recorder;

/// Settings every workload shares.
#[derive(Clone)]
pub struct Settings {
    pub imap: Endpoint,
    pub lmtp: Endpoint,
    /// The POP3 server of the `pop3` workloads (`--host`, `--pop3-port`, `--tls`).
    pub pop3: Endpoint,
    /// The ManageSieve server (`--host`, `--sieve-port`, no TLS) that `lmtp --sieve` installs
    /// scripts through.
    pub sieve: Endpoint,
    /// See `--fill-maildir`.
    pub fill_maildir: Option<std::path::PathBuf>,
    /// The users' login names and LMTP recipients (`--user`, `--domains`, `--lmtp-domain`).
    pub names: users::UserNames,
    pub password: String,
    pub users: u32,
    pub clients: u32,
    pub duration: Duration,
    pub ops: Option<u64>,
    pub seed: u64,
    pub timeout: Duration,
    pub server_pid: Option<u32>,
    /// Pre-generated messages for APPEND and LMTP DATA.
    pub pool: std::sync::Arc<crate::corpus::Pool>,
    pub literals: Literals,
    /// The server PSS (KiB) above which the run stops (see `procmon::Guard`).
    pub max_server_pss_kb: u64,
    /// Set when the server went above `max_server_pss_kb`: every budget runs out.
    pub abort: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Distinguishes this run's deliveries from earlier runs' (nanoseconds since the epoch).
    pub run_id: u128,
}

impl Settings {
    /// The login name of user `n` (1-based).
    pub fn user(&self, n: u32) -> String {
        self.names.login(n)
    }

    /// The user client `i` (0-based) logs in as: clients are spread round-robin over the users.
    pub fn user_of_client(&self, i: u32) -> String {
        self.user(self.user_number_of_client(i))
    }

    /// The number (1-based) of the user client `i` logs in as.
    pub fn user_number_of_client(&self, i: u32) -> u32 {
        i % self.users.max(1) + 1
    }

    pub async fn connect(&self) -> Result<ImapClient, ClientError> {
        let mut c = ImapClient::connect(&self.imap, self.timeout).await?;
        c.set_literals(self.literals);
        Ok(c)
    }

    /// [`Settings::login`], tried again after a pause while the server answers `NO
    /// [UNAVAILABLE]` (RFC 5530 §3: a temporary condition, such as a full password-hashing
    /// queue when many clients log in at once), at most `LOGIN_RETRIES` times.
    pub async fn login_retrying(&self, user: &str) -> Result<ImapClient, ClientError> {
        const LOGIN_RETRIES: u32 = 20;
        let mut tries = 0;
        loop {
            let mut c = self.connect().await?;
            let done = c.login(user, &self.password).await?;
            if done.is_ok() {
                return Ok(c);
            }
            let unavailable = done.code.as_ref().is_some_and(|c| c.name == "UNAVAILABLE");
            if !unavailable || tries == LOGIN_RETRIES {
                return Err(ClientError::Malformed(format!(
                    "LOGIN {user} refused: {:?} {}",
                    done.status, done.text
                )));
            }
            tries += 1;
            drop(c);
            tokio::time::sleep(Duration::from_millis(100 * u64::from(tries))).await;
        }
    }

    /// Connects and logs in; a refused login is reported as a `ClientError::Malformed`.
    pub async fn login(&self, user: &str) -> Result<ImapClient, ClientError> {
        let mut c = self.connect().await?;
        let done = c.login(user, &self.password).await?;
        if !done.is_ok() {
            return Err(ClientError::Malformed(format!(
                "LOGIN {user} refused: {:?} {}",
                done.status, done.text
            )));
        }
        Ok(c)
    }
}

/// The full name of personal mailbox `name` on this server: RFC 2342 NAMESPACE tells the prefix
/// (`INBOX.` on Cyrus-style servers without altnamespace, empty on Dovecot). INBOX and names
/// that already carry the prefix are left alone.
pub async fn personal_mailbox(c: &mut ImapClient, name: &str) -> Result<String, ClientError> {
    if name.eq_ignore_ascii_case("INBOX") || !c.has_cap("NAMESPACE") {
        return Ok(name.to_owned());
    }
    let done = c.command("NAMESPACE").await?;
    let prefix = done.untagged.iter().find_map(|u| match u {
        Untagged::Namespace { personal, .. } => personal.clone(),
        _ => None,
    });
    Ok(match prefix {
        Some(p) if !name.starts_with(&p) => format!("{p}{name}"),
        _ => name.to_owned(),
    })
}

/// What a workload hands back.
pub struct Outcome {
    pub recorder: Recorder,
    pub elapsed: Duration,
    pub metrics: BTreeMap<String, f64>,
    pub params: BTreeMap<String, String>,
}

/// When to stop: after the duration, or after `ops` operations if given (whichever is first).
pub struct Budget {
    deadline: Instant,
    left: Option<AtomicI64>,
    abort: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Budget {
    pub fn new(s: &Settings) -> Self {
        Self {
            deadline: Instant::now() + s.duration,
            left: s
                .ops
                .map(|n| AtomicI64::new(i64::try_from(n).unwrap_or(i64::MAX))),
            abort: s.abort.clone(),
        }
    }

    /// Takes `n` operations from the budget; false once time or operations have run out.
    pub fn take(&self, n: i64) -> bool {
        if Instant::now() >= self.deadline || self.abort.load(Ordering::Relaxed) {
            return false;
        }
        match &self.left {
            Some(left) => left.fetch_sub(n, Ordering::Relaxed) > 0,
            None => true,
        }
    }
}

/// Runs one tagged command as operation `op`, recording its latency, or a `bad`/`no` error when
/// the server refuses it. `Ok(None)` means the server answered NO or BAD (already recorded).
pub async fn timed(
    c: &mut ImapClient,
    rec: &mut Recorder,
    op: &'static str,
    command: &str,
) -> Result<Option<Completion>, ClientError> {
    let t = Instant::now();
    let done = c.command(command).await?;
    Ok(judge(rec, op, t, done))
}

/// Records a completion's latency if OK, or its refusal as an error.
pub fn judge(
    rec: &mut Recorder,
    op: &'static str,
    started: Instant,
    done: Completion,
) -> Option<Completion> {
    match done.status {
        Status::Ok => {
            rec.ok(op, started.elapsed());
            Some(done)
        }
        Status::No => {
            rec.error(op, "no", done.text.clone());
            None
        }
        _ => {
            rec.error(op, "bad", done.text.clone());
            None
        }
    }
}

/// Counts a client error (the connection is then abandoned).
pub fn record_client_error(rec: &mut Recorder, op: &'static str, e: &ClientError) {
    rec.error(op, e.kind(), e.to_string());
}

/// Parameter map helper for reports.
pub fn params<const N: usize>(pairs: [(&str, String); N]) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Waits for all client tasks and merges their recorders; a panicked task counts as an error.
pub async fn join_all(tasks: Vec<tokio::task::JoinHandle<Recorder>>) -> Recorder {
    let mut all = Recorder::default();
    for t in tasks {
        match t.await {
            Ok(r) => all.merge(r),
            Err(e) => all.error("client", "panic", e.to_string()),
        }
    }
    all
}
