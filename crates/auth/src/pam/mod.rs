//! The `pam` password source (`sasl_pwcheck_method: pam`, cargo feature `pam`): a network
//! login's password is checked by the system's PAM stack for a service (`/etc/pam.d/NAME`),
//! so a site's own modules (pam_unix, pam_sss, pam_ldap, pam_pwdfile…) decide.
//!
//! Owns: one PAM transaction per check (`pam_start`, `pam_authenticate`, `pam_acct_mgmt`,
//! `pam_end`), its conversation, and the threads those calls block. Must not: cache (the
//! login layer's credential cache does), or run on an async thread.
//!
//! The service is the protocol's: `pam_service` for IMAP (default `imap`), `pop` for POP3 and
//! `sieve` for ManageSieve, the SASL service names Cyrus hands to PAM through saslauthd.
//! The conversation answers an echo-off prompt with the password and an echo-on prompt with
//! the user name, and refuses the rest. An account that `pam_acct_mgmt` refuses (expired,
//! locked, password to be changed first) does not log in: IMAP has no way to change it.
//!
//! A PAM module may block for as long as it likes (a dead LDAP server, a hung helper). The
//! check runs on a thread of its own (`darius-pam`), and the caller — a password-hashing
//! thread — waits for it at most `pam_timeout`; past that the login is answered "unavailable"
//! and the thread is left to finish on its own, since a thread in C code cannot be stopped.
//! Threads still running (hung or not) are counted: at [`MAX_THREADS`] no new check starts
//! and logins through PAM are "unavailable" until some finish. A hung module thus costs
//! threads up to that bound and a hashing thread `pam_timeout` per login, never more.
//!
//! PAM's own failure delay (`pam_fail_delay`, e.g. pam_unix's 2 s without `nodelay`) is slept
//! on the PAM thread while the hashing thread waits; the login throttle already delays
//! failures, so a service file for Darius may add `nodelay` to its modules.

use std::ffi::{OsStr, OsString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use nonstick::{AuthnFlags, ConversationAdapter, ErrorCode, Transaction, TransactionBuilder};
use types::Secret;

use crate::login::Protocol;

/// How many PAM threads may be running (checking, or hung in a module) at once.
pub const MAX_THREADS: usize = 16;
/// The longest password handed to PAM; longer ones are refused unchecked.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The longest user name handed to PAM.
pub const MAX_NAME_BYTES: usize = 256;
/// The longest PAM service name (a file name under `/etc/pam.d`).
const MAX_SERVICE_BYTES: usize = 64;

/// A PAM service name: the file under `/etc/pam.d` that holds its stack. Letters, digits,
/// `.`, `_` and `-`, not starting with `.` (so never a path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PamService(String);

impl TryFrom<&str> for PamService {
    type Error = String;

    fn try_from(name: &str) -> Result<PamService, String> {
        let ok = !name.is_empty()
            && name.len() <= MAX_SERVICE_BYTES
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(PamService(name.to_string()))
        } else {
            Err(format!(
                "{name:?} is not a PAM service name (1 to {MAX_SERVICE_BYTES} letters, digits, \
                 `.`, `_` or `-`, not starting with `.`)"
            ))
        }
    }
}

impl PamService {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The `pam` source: which service IMAP uses, how long a check may take, and the count of
/// its threads (shared by clones).
#[derive(Clone, Debug)]
pub struct PamSource {
    imap_service: PamService,
    timeout: Duration,
    threads: Arc<Threads>,
}

/// The outcome of a check.
#[derive(Debug, PartialEq, Eq)]
pub enum PamCheck {
    Valid,
    /// Refused; the reason is for the log only, never for the client.
    Refused(Refusal),
    /// Not decided: PAM failed or did not answer in time (answer `NO [UNAVAILABLE]`).
    Unavailable(Unavailable),
}

/// Why PAM refused a login.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the user name cannot be handed to PAM (empty, over {MAX_NAME_BYTES} bytes, or with a control character)")]
    UnusableName,
    #[error("the password cannot be handed to PAM (empty, over {MAX_PASSWORD_BYTES} bytes, or with a NUL)")]
    UnusablePassword,
    #[error("pam_authenticate: {0}")]
    Authenticate(ErrorCode),
    #[error("pam_acct_mgmt: {0}")]
    Account(ErrorCode),
}

/// Why PAM could not decide.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("PAM service {service}: no answer within {timeout:?}; its thread is left to finish")]
    TimedOut { service: String, timeout: Duration },
    #[error("{0} PAM threads are still running (a hung module?); no new check is started")]
    TooManyThreads(usize),
    #[error("starting a PAM thread: {0}")]
    Spawn(String),
    #[error("the PAM thread ended without an answer")]
    NoAnswer,
    #[error("PAM service {service}: {step}: {code}")]
    Failed {
        service: String,
        step: &'static str,
        code: ErrorCode,
    },
}

impl PamSource {
    /// PAM with `imap_service` for IMAP logins (`pam_service`), each check answered within
    /// `timeout` (`pam_timeout`).
    pub fn new(imap_service: PamService, timeout: Duration) -> PamSource {
        PamSource {
            imap_service,
            timeout,
            threads: Arc::new(Threads {
                running: AtomicUsize::new(0),
                max: MAX_THREADS,
            }),
        }
    }

    /// The PAM service a login over `protocol` is checked with.
    pub fn service(&self, protocol: Protocol) -> &str {
        match protocol {
            Protocol::Imap => self.imap_service.as_str(),
            Protocol::Pop3 | Protocol::ManageSieve => protocol.sasl_service(),
        }
    }

    /// Checks `user`'s password with the service for `protocol`. Blocks for up to the
    /// timeout: run it on the hashing threads.
    pub fn check(&self, protocol: Protocol, user: &str, password: &Secret<String>) -> PamCheck {
        if !usable_name(user) {
            return PamCheck::Refused(Refusal::UnusableName);
        }
        if !usable_password(password.expose()) {
            return PamCheck::Refused(Refusal::UnusablePassword);
        }
        let service = self.service(protocol).to_string();
        let (user, password) = (user.to_string(), password.clone());
        let asked = service.clone();
        match self
            .threads
            .run(self.timeout, move || transaction(&asked, &user, password))
        {
            Ok(outcome) => outcome,
            Err(Wait::TimedOut) => PamCheck::Unavailable(Unavailable::TimedOut {
                service,
                timeout: self.timeout,
            }),
            Err(Wait::Unavailable(why)) => PamCheck::Unavailable(why),
        }
    }

    /// How many PAM threads are running now (checking, or hung in a module).
    pub fn running_threads(&self) -> usize {
        self.threads.running.load(Ordering::SeqCst)
    }

    /// The same source with another bound on running threads (tests).
    #[cfg(test)]
    pub(crate) fn with_max_threads(mut self, max: usize) -> PamSource {
        self.threads = Arc::new(Threads {
            running: AtomicUsize::new(0),
            max,
        });
        self
    }
}

/// A name PAM can be given: a C string, of a sane length, without control characters.
fn usable_name(user: &str) -> bool {
    !user.is_empty() && user.len() <= MAX_NAME_BYTES && !user.chars().any(char::is_control)
}

/// A password PAM can be given: a C string (a NUL would cut it short, so that a prefix
/// checked), not empty, of a bounded length.
fn usable_password(password: &str) -> bool {
    !password.is_empty() && password.len() <= MAX_PASSWORD_BYTES && !password.contains('\0')
}

/// One PAM transaction: authenticate, then the account check.
fn transaction(service: &str, user: &str, password: Secret<String>) -> PamCheck {
    let answers = Answers {
        user: OsString::from(user),
        password,
    };
    let failed = |step, code| {
        PamCheck::Unavailable(Unavailable::Failed {
            service: service.to_string(),
            step,
            code,
        })
    };
    let mut txn = match TransactionBuilder::new_with_service(service)
        .username(user)
        .build(answers.into_conversation())
    {
        Ok(txn) => txn,
        Err(code) => return failed("pam_start", code),
    };
    // PAM_DISALLOW_NULL_AUTHTOK: an account without a password never logs in over the
    // network, whatever `nullok` the stack says.
    let flags = AuthnFlags::SILENT | AuthnFlags::DISALLOW_NULL_AUTHTOK;
    if let Err(code) = txn.authenticate(flags) {
        return match is_refusal(code) {
            true => PamCheck::Refused(Refusal::Authenticate(code)),
            false => failed("pam_authenticate", code),
        };
    }
    if let Err(code) = txn.account_management(flags) {
        return match is_refusal(code) {
            true => PamCheck::Refused(Refusal::Account(code)),
            false => failed("pam_acct_mgmt", code),
        };
    }
    PamCheck::Valid
}

/// The answers PAM says mean "no" for this user (pam_authenticate(3), pam_acct_mgmt(3));
/// anything else is PAM or a module failing, to be logged as such.
fn is_refusal(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::AuthenticationError
            | ErrorCode::UserUnknown
            | ErrorCode::MaxTries
            | ErrorCode::CredentialsInsufficient
            | ErrorCode::PermissionDenied
            | ErrorCode::AccountExpired
            | ErrorCode::NewAuthTokRequired
            | ErrorCode::AuthTokExpired
    )
}

/// The conversation: the password for an echo-off prompt, the user name for an echo-on one
/// (a module asking who logs in); radio and binary prompts are refused. Messages a module
/// shows are for a terminal: logged at debug level, never sent to the client.
struct Answers {
    user: OsString,
    password: Secret<String>,
}

impl ConversationAdapter for Answers {
    fn prompt(&self, _request: impl AsRef<OsStr>) -> nonstick::Result<OsString> {
        Ok(self.user.clone())
    }

    fn masked_prompt(&self, _request: impl AsRef<OsStr>) -> nonstick::Result<OsString> {
        Ok(OsString::from(self.password.expose()))
    }

    fn error_msg(&self, message: impl AsRef<OsStr>) {
        tracing::debug!("PAM error message: {}", message.as_ref().to_string_lossy());
    }

    fn info_msg(&self, message: impl AsRef<OsStr>) {
        tracing::debug!("PAM message: {}", message.as_ref().to_string_lossy());
    }
}

/// The PAM threads: one per check, at most `max` alive at once.
#[derive(Debug)]
struct Threads {
    running: AtomicUsize,
    max: usize,
}

/// Why [`Threads::run`] has no answer.
enum Wait {
    TimedOut,
    Unavailable(Unavailable),
}

/// A place among the running threads, given back when the thread ends (or never starts).
struct Slot(Arc<Threads>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Threads {
    /// Runs `job` on a new thread and waits for it at most `timeout`. A thread that overruns
    /// keeps its place until it ends.
    fn run<T: Send + 'static>(
        self: &Arc<Self>,
        timeout: Duration,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Wait> {
        let taken = self
            .running
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max).then_some(n + 1)
            });
        if let Err(n) = taken {
            return Err(Wait::Unavailable(Unavailable::TooManyThreads(n)));
        }
        let slot = Slot(Arc::clone(self));
        let (answer, answered) = mpsc::sync_channel(1);
        let spawned = std::thread::Builder::new()
            .name("darius-pam".into())
            .spawn(move || {
                let value = job();
                // The place is free before the answer is: whoever has the answer sees the
                // thread counted out.
                drop(slot);
                let _ = answer.send(value);
            });
        if let Err(e) = spawned {
            // The closure, and the slot with it, was dropped: the place is free again.
            return Err(Wait::Unavailable(Unavailable::Spawn(e.to_string())));
        }
        match answered.recv_timeout(timeout) {
            Ok(value) => Ok(value),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Wait::TimedOut),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(Wait::Unavailable(Unavailable::NoAnswer))
            }
        }
    }
}

#[cfg(test)]
mod tests;
