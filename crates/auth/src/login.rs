//! Network logins: the password check a protocol server runs for a client, of the canonical
//! user id the typed name stands for, behind the per-host failure throttle and on the hashing
//! threads (never the caller's runtime or tokio's blocking pool). Administrative paths
//! (`darius user check`, the admin socket) use [`PasswordDb::verify`] directly.

use std::net::IpAddr;
use std::sync::Arc;

use types::Secret;

use crate::hash_queue::HashQueue;
use crate::password_db::{AuthError, PasswordDb};
use crate::server_domain::ServerDomain;
use crate::throttle::Admission;

/// How a network login's password check ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginCheck {
    /// The password is right: the client logs in as this canonical user id (the name whose
    /// password was checked, see [`crate::identity`]), never as the name it typed.
    Valid(String),
    /// Unknown user or wrong password (not told apart); counted against the client's host.
    Invalid,
    /// Not checked: the client's host failed too often lately (answer `NO [UNAVAILABLE]`).
    Throttled,
    /// Not checked: the hashing queue stayed full for `WAIT_FOR_ROOM` (answer `NO [UNAVAILABLE]`).
    Busy,
}

/// The protocol a login is for. It names the PAM service the `pam` source asks: Cyrus hands
/// PAM the protocol's SASL service name (`imap`, `pop`, `sieve`), and `pam_service` names
/// IMAP's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    #[default]
    Imap,
    Pop3,
    ManageSieve,
}

impl Protocol {
    /// The SASL service name (RFC 4422 §4; the GSSAPI principal's first part too).
    pub fn sasl_service(self) -> &'static str {
        match self {
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop",
            Protocol::ManageSieve => "sieve",
        }
    }
}

/// Who a network login says it is, and where it comes from.
#[derive(Clone, Copy, Debug)]
pub struct LoginAttempt<'a> {
    /// The protocol logged in to (it names the PAM service).
    pub protocol: Protocol,
    /// The client's address, whose failures the throttle counts.
    pub peer: IpAddr,
    /// The user id as the client typed it.
    pub name: &'a str,
    /// The domain a name typed without one takes on this connection (`virtdomains: on`).
    pub server_domain: &'a ServerDomain,
}

impl PasswordDb {
    /// The canonical user id a network login's typed `name` stands for, before any password
    /// is looked up: a name the identity rules refuse (a realm not in `loginrealms`, a
    /// malformed domain) is logged, counted against the client's host like a wrong password,
    /// and answered `None`.
    pub(crate) fn canonical_login(&self, attempt: &LoginAttempt<'_>, what: &str) -> Option<String> {
        let rules = self.login_identity();
        match rules.canonicalise_userid(attempt.name, attempt.server_domain) {
            Ok(user) => Some(user),
            Err(refused) => {
                tracing::info!("{what} of {:?} refused: {refused}", attempt.name);
                self.throttle.failed(attempt.peer);
                None
            }
        }
    }

    /// Checks the password of the user `attempt` names. The name is first made canonical (see
    /// [`crate::identity`]: `alice@EXAMPLE.ORG` is `alice` when that is the default domain),
    /// and that name's password is the one checked and the user logged in. A throttled host is
    /// refused without a check; otherwise the check waits in the bounded hashing queue (for
    /// room too, up to a bound, when it is full; refused past that). A wrong password counts
    /// against the client's host; a source that could not decide (PAM timing out) is an error,
    /// not counted.
    pub async fn check_login(
        self: &Arc<Self>,
        attempt: LoginAttempt<'_>,
        password: Secret<String>,
    ) -> Result<LoginCheck, AuthError> {
        let Some(user) = self.canonical_login(&attempt, "login") else {
            return Ok(LoginCheck::Invalid);
        };
        let peer = attempt.peer;
        if self.throttle.admit(peer) == Admission::Refused {
            return Ok(LoginCheck::Throttled);
        }
        let db = Arc::clone(self);
        let protocol = attempt.protocol;
        let checked_user = user.clone();
        let checked = self
            .on_hashing_threads(move || db.check_sources_for(protocol, &checked_user, &password))
            .await?;
        let valid = match checked {
            Hashed::Done(valid) => valid?,
            Hashed::Busy => return Ok(LoginCheck::Busy),
            Hashed::Lost => return Err(self.err(format!("user {user}: the password check failed"))),
        };
        if valid {
            Ok(LoginCheck::Valid(user))
        } else {
            self.throttle.failed(peer);
            Ok(LoginCheck::Invalid)
        }
    }

    /// Runs `job` on the hashing threads and waits for its answer without holding a runtime
    /// thread; [`Hashed::Busy`] when their queue stays full for `WAIT_FOR_ROOM`.
    pub(crate) async fn on_hashing_threads<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Hashed<T>, AuthError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let queued = self
            .hash_queue()?
            .run_waiting(
                move || {
                    let _ = answer.send(job());
                },
                self.queue_wait,
            )
            .await;
        if queued.is_err() {
            return Ok(Hashed::Busy);
        }
        Ok(answered.await.map_or(Hashed::Lost, Hashed::Done))
    }

    pub(crate) fn hash_queue(&self) -> Result<&HashQueue, AuthError> {
        let (workers, waiting) = self.queue_size;
        self.queue
            .get_or_init(|| HashQueue::start(workers, waiting).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| self.err(format!("starting the password hashing threads: {e}")))
    }
}

/// How a job given to the hashing threads ended.
pub(crate) enum Hashed<T> {
    Done(T),
    /// Not run: the queue is full.
    Busy,
    /// The job's thread went away without an answer (it panicked).
    Lost,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::throttle::ThrottleConfig;
    use std::time::Duration;

    fn secret(s: &str) -> Secret<String> {
        Secret::new(s.to_string())
    }

    /// An IMAP login of `name` from `peer`, no domain from the server's address.
    async fn imap_login(
        db: &Arc<PasswordDb>,
        peer: IpAddr,
        name: &str,
        password: Secret<String>,
    ) -> Result<LoginCheck, AuthError> {
        let attempt = LoginAttempt {
            protocol: Protocol::Imap,
            peer,
            name,
            server_domain: &ServerDomain::NONE,
        };
        db.check_login(attempt, password).await
    }

    /// A runtime whose blocking pool has a single thread, which `occupy` can fill.
    fn one_blocking_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn network_logins_never_wait_for_the_blocking_pool() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(PasswordDb::open(dir.path()).unwrap());
        db.add_user("alice", &secret("right")).unwrap();
        let rt = one_blocking_thread();
        let (release, released) = std::sync::mpsc::channel::<()>();
        // The pool's only thread is busy (as with store I/O) until the checks are done.
        let blocker = rt.spawn_blocking(move || released.recv());
        let checks = rt.block_on(async {
            let peer = "192.0.2.1".parse().unwrap();
            let both = async {
                let good = imap_login(&db, peer, "alice", secret("right")).await;
                let bad = imap_login(&db, peer, "alice", secret("wrong")).await;
                (good.unwrap(), bad.unwrap())
            };
            // A generous bound to detect a hang, not a timing assertion.
            tokio::time::timeout(Duration::from_secs(120), both).await
        });
        release.send(()).unwrap();
        rt.block_on(blocker).unwrap().unwrap();
        assert_eq!(
            checks.expect("a login waited for the blocking pool"),
            (LoginCheck::Valid("alice".into()), LoginCheck::Invalid)
        );
    }

    #[test]
    fn a_queue_full_past_the_wait_answers_busy_and_a_throttled_host_is_not_checked() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = PasswordDb::open(dir.path())
            .unwrap()
            .with_login_throttle(ThrottleConfig {
                max_failures: 2,
                window: Duration::from_secs(300),
                exempt: net::HostSet::default(),
            });
        db.queue_size = (1, 1);
        db.queue_wait = Duration::from_millis(50);
        let db = Arc::new(db);
        db.add_user("alice", &secret("right")).unwrap();
        let rt = one_blocking_thread();
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        // Occupy the one hashing thread and its one waiting place, as two logins would.
        let (started_tx, started) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let queue = db.hash_queue().unwrap();
        let forever = Duration::from_secs(60);
        rt.block_on(queue.run_waiting(
            move || {
                started_tx.send(()).unwrap();
                let _ = released.recv();
            },
            forever,
        ))
        .unwrap();
        started.recv().unwrap();
        let (drained_tx, drained) = std::sync::mpsc::channel();
        rt.block_on(queue.run_waiting(move || drained_tx.send(()).unwrap(), forever))
            .unwrap();
        // No room comes within the wait: busy, without a check.
        let busy = rt.block_on(imap_login(&db, peer, "alice", secret("right")));
        assert_eq!(busy.unwrap(), LoginCheck::Busy);
        release.send(()).unwrap();
        drained.recv().unwrap();
        for _ in 0..2 {
            let bad = rt.block_on(imap_login(&db, peer, "alice", secret("wrong")));
            assert_eq!(bad.unwrap(), LoginCheck::Invalid);
        }
        let right = rt.block_on(imap_login(&db, peer, "alice", secret("right")));
        assert_eq!(right.unwrap(), LoginCheck::Throttled, "not even checked");
        let elsewhere = "198.51.100.7".parse().unwrap();
        let right = rt.block_on(imap_login(&db, elsewhere, "alice", secret("right")));
        assert_eq!(
            right.unwrap(),
            LoginCheck::Valid("alice".into()),
            "alice elsewhere is not locked out"
        );
    }
}
