//! The change feed: one `tokio::sync::broadcast` channel per mailbox (keyed by uniqueid, so a
//! rename keeps subscribers), created on first subscription. Writers publish after their commit
//! while still holding the owner lock, so subscribers see changes in commit order. A lagging
//! subscriber gets `RecvError::Lagged` and must resynchronise from the index.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::broadcast;

use crate::model::Change;

/// Changes buffered per channel before slow subscribers start lagging.
const CHANNEL_CAPACITY: usize = 1024;

#[derive(Default)]
pub(crate) struct ChangeFeed {
    channels: Mutex<HashMap<String, broadcast::Sender<Change>>>,
}

impl ChangeFeed {
    pub(crate) fn subscribe(&self, uniqueid: &str) -> broadcast::Receiver<Change> {
        // Only inserts and removes happen under this lock; it is never poisoned in a harmful way.
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(uniqueid.to_string())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe()
    }

    pub(crate) fn publish(&self, uniqueid: &str, change: Change) {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = map.get(uniqueid) {
            if tx.send(change).is_err() {
                // Nobody listens any more: drop the channel so idle mailboxes cost nothing.
                map.remove(uniqueid);
            }
        }
    }

    pub(crate) fn close(&self, uniqueid: &str) {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(uniqueid);
    }
}
