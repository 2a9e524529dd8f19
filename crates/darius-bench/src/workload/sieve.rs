//! Sieve scripts for the delivery workloads: `lmtp --sieve FILE` installs FILE over ManageSieve
//! as the script [`SCRIPT_NAME`] of every bench user and activates it before the timed phase, and
//! deactivates and deletes it after, so that deliveries run the script on every server alike.
//!
//! Each user's session logs in as the user (`--password`), or, with `--sieve-admin`, as that
//! administrator acting for the user (PLAIN's authorization identity), where the server allows
//! it. Sessions run [`PARALLEL`] at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use managesieve_proto::ScriptName;

use super::Settings;
use crate::client::managesieve::SieveClient;

/// The name the script is stored under.
pub const SCRIPT_NAME: &str = "bench";

/// ManageSieve sessions open at once during setup and teardown.
pub const PARALLEL: usize = 8;

/// How the script is installed.
#[derive(Clone)]
pub struct SieveArgs {
    /// The script's text.
    pub script: Arc<Vec<u8>>,
    /// Where it came from (for the report).
    pub source: String,
    /// Log in as this administrator for every user instead of as the user.
    pub admin: Option<(String, String)>,
}

/// What to do for each user.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Install,
    Remove,
}

/// Uploads and activates the script for users 1…`--users`; returns how long it took.
pub async fn install(s: &Settings, args: &SieveArgs) -> anyhow::Result<Duration> {
    for_every_user(s, args, Step::Install).await
}

/// Deactivates and deletes the script for users 1…`--users`.
pub async fn remove(s: &Settings, args: &SieveArgs) -> anyhow::Result<Duration> {
    for_every_user(s, args, Step::Remove).await
}

async fn for_every_user(s: &Settings, args: &SieveArgs, step: Step) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicU32::new(1));
    let workers = (0..PARALLEL.min(s.users as usize).max(1))
        .map(|_| {
            let (s, args, next) = (s.clone(), args.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n > s.users {
                        return Ok::<(), anyhow::Error>(());
                    }
                    let user = s.user(n);
                    one_user(&s, &args, &user, step)
                        .await
                        .with_context(|| format!("ManageSieve for {user} at {}", s.sieve.addr()))?;
                }
            })
        })
        .collect::<Vec<_>>();
    for w in workers {
        w.await.context("ManageSieve worker")??;
    }
    Ok(start.elapsed())
}

async fn one_user(s: &Settings, args: &SieveArgs, user: &str, step: Step) -> anyhow::Result<()> {
    let name = ScriptName::try_from(SCRIPT_NAME)
        .map_err(|e| anyhow::anyhow!("script name: {}", e.text()))?;
    let mut c = SieveClient::connect(&s.sieve, s.timeout).await?;
    match &args.admin {
        Some((admin, password)) => c.login(Some(user), admin, password).await?,
        None => c.login(None, user, &s.password).await?,
    }
    match step {
        Step::Install => {
            c.put_script(&name, &args.script).await?;
            c.set_active(Some(&name)).await?;
        }
        Step::Remove => {
            c.set_active(None).await?;
            c.delete_script(&name).await?;
        }
    }
    c.logout().await?;
    Ok(())
}
