//! `login`: logins per second. `--clients` parallel loops of connect → greeting → AUTHENTICATE
//! (`--mechanism` PLAIN or SCRAM-SHA-256, with SASL-IR when offered) → LOGOUT, over
//! `--duration`. With `--distinct-users` the logins cycle through user1…userN, so a server's
//! credential cache helps only if its entries survive until the user comes round again;
//! without, every login is user 1's.
//!
//! One `login` operation is timed from the TCP connect to the tagged OK of AUTHENTICATE; the
//! LOGOUT that follows is part of the loop (so logins/s is the cycle's rate) but not of the
//! latency. Errors: `unavailable` for `NO [UNAVAILABLE]` (a server too busy to check the
//! password), `no` for other refusals, `server-signature` when a SCRAM server's `v=` is wrong or
//! missing, and the connection's own (`io`, `timeout`, `bye`, `malformed`).
//!
//! SCRAM: the client keeps each salt's SaltedPassword (RFC 5802 §5.1 lets a client cache it), so
//! its own PBKDF2 runs once per user and salt instead of competing with the server for the CPU
//! at every login; a server's per-login work is what is measured.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sasl::client::{self, SaltedPassword, ScramClient, ScramParameters};
use sasl::ScramHash;

use super::{join_all, params, record_client_error, Budget, Outcome, Settings};
use crate::client::imap::{ClientError, ImapClient};
use crate::client::parse::Status;
use crate::stats::Recorder;

/// At most this many SaltedPasswords are kept (one per user and salt); beyond it the cache
/// starts afresh.
const MAX_SALTED: usize = 100_000;

/// The SASL mechanism each login uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LoginMechanism {
    Plain,
    #[value(name = "scram-sha-256")]
    ScramSha256,
}

impl LoginMechanism {
    pub fn name(self) -> &'static str {
        match self {
            LoginMechanism::Plain => "PLAIN",
            LoginMechanism::ScramSha256 => "SCRAM-SHA-256",
        }
    }
}

pub struct LoginArgs {
    pub mechanism: LoginMechanism,
    pub distinct_users: bool,
    /// What the caller set up the server's credential cache as (`on`, `off`), for the report:
    /// the load generator cannot see it.
    pub cache: Option<String>,
}

/// SaltedPasswords by salt and iteration count, shared by the clients (the password is the
/// same for every user).
type SaltCache = Mutex<HashMap<ScramParameters, SaltedPassword>>;

pub async fn run(s: &Settings, args: &LoginArgs) -> Outcome {
    let budget = Arc::new(Budget::new(s));
    let counter = Arc::new(AtomicU64::new(0));
    let salted: Arc<SaltCache> = Arc::default();
    let start = Instant::now();
    let tasks = (0..s.clients)
        .map(|_| {
            let (s, budget, counter, salted) =
                (s.clone(), budget.clone(), counter.clone(), salted.clone());
            let (mechanism, distinct) = (args.mechanism, args.distinct_users);
            tokio::spawn(async move {
                let mut rec = Recorder::default();
                while budget.take(1) {
                    let n = if distinct {
                        (counter.fetch_add(1, Ordering::Relaxed) % u64::from(s.users)) as u32 + 1
                    } else {
                        1
                    };
                    login_once(&s, mechanism, &s.user(n), &salted, &mut rec).await;
                }
                rec
            })
        })
        .collect();
    let recorder = join_all(tasks).await;
    let users = if args.distinct_users { s.users } else { 1 };
    let mut p = params([
        ("mechanism", args.mechanism.name().to_owned()),
        ("clients", s.clients.to_string()),
        ("users", users.to_string()),
        ("distinct_users", args.distinct_users.to_string()),
    ]);
    if let Some(cache) = &args.cache {
        p.insert("cache".into(), cache.clone());
    }
    Outcome {
        recorder,
        elapsed: start.elapsed(),
        metrics: Default::default(),
        params: p,
    }
}

/// One connect → AUTHENTICATE → LOGOUT cycle, recorded as a `login` (or its error).
async fn login_once(
    s: &Settings,
    mechanism: LoginMechanism,
    user: &str,
    salted: &SaltCache,
    rec: &mut Recorder,
) {
    let t = Instant::now();
    let mut c = match s.connect().await {
        Ok(c) => c,
        Err(e) => return record_client_error(rec, "login", &e),
    };
    let outcome = match mechanism {
        LoginMechanism::Plain => plain(&mut c, user, &s.password).await,
        LoginMechanism::ScramSha256 => scram(&mut c, user, &s.password, salted).await,
    };
    match outcome {
        Ok(Verdict::In) => rec.ok("login", t.elapsed()),
        Ok(Verdict::Refused { kind, text }) => return rec.error("login", kind, text),
        Err(e) => return record_client_error(rec, "login", &e),
    }
    if let Err(e) = c.logout().await {
        record_client_error(rec, "logout", &e);
    }
}

enum Verdict {
    In,
    Refused { kind: &'static str, text: String },
}

/// What a tagged AUTHENTICATE completion means for the run.
fn verdict(status: Status, code: Option<&str>, text: String) -> Verdict {
    match (status, code) {
        (Status::Ok, _) => Verdict::In,
        (Status::No, Some(c)) if c.eq_ignore_ascii_case("UNAVAILABLE") => Verdict::Refused {
            kind: "unavailable",
            text,
        },
        (Status::No, _) => Verdict::Refused { kind: "no", text },
        _ => Verdict::Refused { kind: "bad", text },
    }
}

async fn plain(c: &mut ImapClient, user: &str, password: &str) -> Result<Verdict, ClientError> {
    let initial = client::plain(None, user, password)
        .map_err(|e| ClientError::Malformed(format!("PLAIN for {user}: {e}")))?;
    let done = c
        .authenticate("PLAIN", initial.expose(), |_| {
            Err("PLAIN has no second challenge".into())
        })
        .await?;
    Ok(verdict(
        done.status,
        done.code.as_ref().map(|c| c.name.as_str()),
        done.text,
    ))
}

async fn scram(
    c: &mut ImapClient,
    user: &str,
    password: &str,
    cache: &SaltCache,
) -> Result<Verdict, ClientError> {
    let hash = ScramHash::Sha256;
    let mut exchange = ScramClient::new(hash, user, None)
        .map_err(|e| ClientError::Malformed(format!("SCRAM for {user}: {e}")))?;
    let first = exchange.client_first();
    let mut challenges = 0;
    let mut verified = false;
    let mut refusal = None;
    let done = c
        .authenticate("SCRAM-SHA-256", &first, |challenge| {
            challenges += 1;
            match challenges {
                // The server's first message: salt and iteration count.
                1 => {
                    let parameters = exchange
                        .server_first(challenge)
                        .map_err(|e| e.to_string())?
                        .clone();
                    let salted = salted_password(cache, hash, password, &parameters);
                    exchange.client_final(&salted).map_err(|e| e.to_string())
                }
                // Its final one: `v=` (answered with an empty response) or `e=`.
                2 => match exchange.server_final(challenge) {
                    Ok(()) => {
                        verified = true;
                        Ok(Vec::new())
                    }
                    Err(e) => {
                        // `e=`: the server refused (a wrong password); anything else: the
                        // server's signature is wrong.
                        let kind = match e {
                            client::ClientError::ServerError(_) => "no",
                            _ => "server-signature",
                        };
                        refusal = Some((kind, e.to_string()));
                        Err(e.to_string())
                    }
                },
                _ => Err("a challenge after the server's signature".into()),
            }
        })
        .await;
    let done = match (done, refusal) {
        (Err(_), Some((kind, text))) => return Ok(Verdict::Refused { kind, text }),
        (done, _) => done?,
    };
    let verdict = verdict(
        done.status,
        done.code.as_ref().map(|c| c.name.as_str()),
        done.text,
    );
    if matches!(verdict, Verdict::In) && !verified {
        return Ok(Verdict::Refused {
            kind: "server-signature",
            text: "OK without the server's SCRAM signature".into(),
        });
    }
    Ok(verdict)
}

/// This salt's SaltedPassword, computed once (outside the lock) and kept.
fn salted_password(
    cache: &SaltCache,
    hash: ScramHash,
    password: &str,
    parameters: &ScramParameters,
) -> SaltedPassword {
    let lock = || cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(known) = lock().get(parameters) {
        return known.clone();
    }
    let salted = SaltedPassword::new(hash, password.as_bytes(), parameters);
    let mut cache = lock();
    if cache.len() >= MAX_SALTED {
        cache.clear();
    }
    cache.insert(parameters.clone(), salted.clone());
    salted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: Status, code: Option<&str>) -> Option<&'static str> {
        match verdict(status, code, String::new()) {
            Verdict::In => None,
            Verdict::Refused { kind, .. } => Some(kind),
        }
    }

    #[test]
    fn busy_answers_are_counted_apart_from_refusals() {
        assert_eq!(kind(Status::Ok, None), None);
        assert_eq!(kind(Status::No, Some("UNAVAILABLE")), Some("unavailable"));
        assert_eq!(kind(Status::No, Some("AUTHENTICATIONFAILED")), Some("no"));
        assert_eq!(kind(Status::No, None), Some("no"));
        assert_eq!(kind(Status::Bad, None), Some("bad"));
    }
}
