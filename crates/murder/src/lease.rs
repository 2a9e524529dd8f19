//! A backend's presence in the directory: its [`ServerRecord`] written with an etcd lease it
//! renews every third of `murder_lease_ttl`. When it stops renewing (killed, cut off), etcd
//! drops the record after the TTL and every other server's watch reports it down. If the lease
//! is lost while the backend lives (etcd was unreachable for longer than the TTL), a new one is
//! taken and the record written again.

use std::sync::Arc;
use std::time::Duration;

use crate::directory::Directory;
use crate::record::ServerRecord;

/// How often the mailbox count in the record is refreshed (placement reads it).
const LOAD_EVERY: Duration = Duration::from_secs(60);

impl Directory {
    /// Keeps this backend's record alive until the runtime stops (spawn it). `record` says how
    /// to reach its services; the mailbox count is filled in here.
    pub async fn advertise(self: Arc<Directory>, mut record: ServerRecord, ttl: Duration) {
        let ttl_secs = ttl.as_secs().max(2) as i64;
        let renew = Duration::from_secs((ttl_secs as u64 / 3).max(1));
        let client = self.kv.client().clone();
        let key = self.keys.server(&self.this);
        loop {
            // Take a lease and write the record with it.
            let lease = match client.lease_grant(ttl_secs).await {
                Ok((lease, _)) => lease,
                Err(e) => {
                    tracing::warn!("directory: taking a lease from etcd: {e}");
                    tokio::time::sleep(renew).await;
                    continue;
                }
            };
            record.mailboxes = self.count_mailboxes().await;
            let mut counted_at = tokio::time::Instant::now();
            if let Err(e) = client.put(&key, &record.encode(), Some(lease)).await {
                tracing::warn!("directory: advertising this backend: {e}");
                tokio::time::sleep(renew).await;
                continue;
            }
            tracing::info!(
                "directory: backend {} advertised (lease {:x})",
                self.this,
                lease.0
            );
            // Renew until the lease is gone.
            loop {
                tokio::time::sleep(renew).await;
                match client.lease_keep_alive(lease).await {
                    Ok(ttl) if ttl > 0 => {}
                    Ok(_) => {
                        tracing::warn!(
                            "directory: this backend's lease expired; advertising again"
                        );
                        break;
                    }
                    Err(e) => {
                        tracing::warn!("directory: renewing this backend's lease: {e}");
                        continue;
                    }
                }
                if counted_at.elapsed() >= LOAD_EVERY {
                    let count = self.count_mailboxes().await;
                    counted_at = tokio::time::Instant::now();
                    if count != record.mailboxes {
                        record.mailboxes = count;
                        if let Err(e) = client.put(&key, &record.encode(), Some(lease)).await {
                            tracing::warn!("directory: updating this backend's record: {e}");
                        }
                    }
                }
            }
        }
    }

    /// How many mailboxes this server holds.
    async fn count_mailboxes(&self) -> u64 {
        let store = self.store.clone();
        let counted = tokio::task::spawn_blocking(move || {
            store
                .list_mailboxes(None)
                .map(|all| all.iter().filter(|e| e.remote_server().is_none()).count())
        })
        .await;
        match counted {
            Ok(Ok(n)) => n as u64,
            _ => 0,
        }
    }

    /// Removes this backend's record at a clean shutdown, so the others see it go at once.
    pub async fn withdraw(&self) {
        if let Err(e) = self.kv.client().delete(&self.keys.server(&self.this)).await {
            tracing::warn!("directory: withdrawing this backend: {e}");
        }
    }
}
