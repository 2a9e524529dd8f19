//! Periodic store housekeeping in `darius serve`: tombstone retention (`tombstone_days`), and
//! the purge of what delayed expunge and delayed delete kept (`expunge_days`, `delete_days`,
//! with expired duplicate-delivery records: what `darius expire` does on demand), each in its
//! own task on the same schedule.
//!
//! Expunged messages leave tombstones so that QRESYNC clients (RFC 7162 §3.2.5.2) learn exactly
//! which messages vanished; kept forever they would grow without bound. One task prunes those
//! dated more than `tombstone_days` ago, [`FIRST_RUN_AFTER`] after start (not at once: start-up
//! and the first logins come first) and then every [`EVERY`], each run on tokio's blocking pool
//! (the store is synchronous) with one summary line in the log. `tombstone_days: 0` starts
//! nothing. A run holds a shutdown signal: on shutdown it stops before its next mailbox and the
//! drain waits for it, like for a running command.

use std::time::Duration;

use mailservice::{MailService, PruneReport};

/// How long after start the first run waits.
pub const FIRST_RUN_AFTER: Duration = Duration::from_secs(60);
/// Time between runs.
pub const EVERY: Duration = Duration::from_secs(24 * 60 * 60);

const DAY_SECONDS: i64 = 24 * 60 * 60;

/// Starts the expiry task, and the retention task unless `tombstone_days` is 0.
pub fn start(config: &config::Config, service: MailService, shutdown: net::ShutdownSignal) {
    let days = (config.int("expunge_days"), config.int("delete_days"));
    tokio::spawn(run_expire(days, service.clone(), shutdown.clone()));
    let days = config.int("tombstone_days");
    if days == 0 {
        tracing::info!("tombstone_days: 0, expunge history is kept forever");
        return;
    }
    tokio::spawn(run(days, service, shutdown));
}

/// Runs `job` [`FIRST_RUN_AFTER`] after start and then every [`EVERY`], until shutdown; `job`
/// gets the shutdown signal, to stop early in a run.
async fn on_schedule<F, Fut>(mut shutdown: net::ShutdownSignal, mut job: F)
where
    F: FnMut(net::ShutdownSignal) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut delay = FIRST_RUN_AFTER;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.wait() => return,
        }
        delay = EVERY;
        job(shutdown.clone()).await;
    }
}

async fn run(days: u64, service: MailService, shutdown: net::ShutdownSignal) {
    on_schedule(shutdown, |signal| {
        let service = service.clone();
        async move {
            let Some(cut_off) = cut_off(unix_now(), days) else {
                return;
            };
            let pruned = service
                .blocking(move |s| s.prune_tombstones(cut_off, &|| signal.is_triggered()))
                .await;
            match pruned {
                Ok(report) => log_report(&report, days),
                Err(e) => tracing::warn!("tombstone retention: {e}"),
            }
        }
    })
    .await;
}

/// Purges the messages delayed expunges kept for more than `days.0` and the mailboxes delayed
/// deletes hid for more than `days.1` (0: all of them).
async fn run_expire(
    (days, delete_days): (u64, u64),
    service: MailService,
    shutdown: net::ShutdownSignal,
) {
    on_schedule(shutdown, |signal| {
        expire_once((days, delete_days), service.clone(), signal)
    })
    .await;
}

/// One run of [`run_expire`].
async fn expire_once(
    (days, delete_days): (u64, u64),
    service: MailService,
    signal: net::ShutdownSignal,
) {
    // Expunged at or before `days` ago: the purge takes those dated before the cut-off.
    let expunged_by = cut_off(unix_now(), days).map_or(1, |t| t.saturating_add(1));
    let deleted_by = cut_off(unix_now(), delete_days).map_or(1, |t| t.saturating_add(1));
    let purged = service
        .blocking(move |s| s.purge_expunged(expunged_by, &|| signal.is_triggered()))
        .await;
    match purged {
        Ok(report) => {
            for (name, e) in &report.failed {
                tracing::warn!("expunge purge: mailbox {name}: {e}");
            }
            tracing::info!(
                "expunge purge: purged {} kept message(s) expunged over {days} day(s) ago \
                     in {} mailbox(es){}",
                report.messages,
                report.mailboxes,
                if report.stopped {
                    " (stopped for shutdown)"
                } else {
                    ""
                }
            );
        }
        Err(e) => tracing::warn!("expunge purge: {e}"),
    }
    match service.blocking(move |s| s.purge_deleted(deleted_by)).await {
        Ok(n) => tracing::info!(
            "delete purge: removed {n} mailbox(es) deleted over {delete_days} day(s) ago"
        ),
        Err(e) => tracing::warn!("delete purge: {e}"),
    }
}

/// The Unix time before which expunges are forgotten: `days` before `now`. `None` when that
/// lies before the epoch (nothing can be that old).
fn cut_off(now: i64, days: u64) -> Option<i64> {
    let span = i64::try_from(days).ok()?.checked_mul(DAY_SECONDS)?;
    now.checked_sub(span).filter(|t| *t > 0)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn log_report(report: &PruneReport, days: u64) {
    for (name, e) in &report.failed {
        tracing::warn!("tombstone retention: mailbox {name}: {e}");
    }
    let stopped = if report.stopped {
        " (stopped for shutdown)"
    } else {
        ""
    };
    tracing::info!(
        "tombstone retention: pruned {} tombstone(s) older than {days} day(s) in {} of {} mailbox(es){stopped}",
        report.tombstones,
        report.pruned_mailboxes,
        report.mailboxes
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cut_off_lies_the_given_days_back() {
        let now = 1_800_000_000;
        assert_eq!(cut_off(now, 90), Some(now - 90 * 86_400));
        assert_eq!(cut_off(now, 1), Some(now - 86_400));
    }

    #[test]
    fn a_retention_reaching_before_the_epoch_prunes_nothing() {
        assert_eq!(cut_off(1_800_000_000, u64::from(u32::MAX)), None);
        assert_eq!(cut_off(86_400, 1), None);
    }
}
