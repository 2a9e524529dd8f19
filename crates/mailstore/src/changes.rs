//! The change feed: one `tokio::sync::broadcast` channel per mailbox (keyed by uniqueid, so a
//! rename keeps subscribers), created on first subscription. Writers publish after their commit
//! while still holding the owner lock, so subscribers see changes in commit order. A lagging
//! subscriber gets `RecvError::Lagged` and must resynchronise from the index.
//!
//! Memory: the channel keeps every change until each subscriber has read it, and a session that
//! sits selected without reading (no command, no IDLE) reads nothing. The channel holds at most
//! [`CHANNEL_CAPACITY`] changes, and a change carries at most [`MAX_CHANGE_BYTES`] of UIDs: a
//! larger one (a STORE on a whole mailbox) is published as several pieces, in order. So a
//! mailbox's channel holds about `CHANNEL_CAPACITY × MAX_CHANGE_BYTES` (1 MiB) at most, however
//! large the changes; past that the idle subscriber lags and resynchronises from the index when
//! it next looks, which costs it one read of the UID list instead.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::broadcast;

use crate::model::Change;

/// Changes buffered per channel before slow subscribers start lagging.
const CHANNEL_CAPACITY: usize = 1024;

/// Most bytes of UID data one published change carries (64 flag changes, 256 UIDs).
pub(crate) const MAX_CHANGE_BYTES: usize = 1024;

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
            for piece in pieces(change) {
                if tx.send(piece).is_err() {
                    // Nobody listens any more: drop the channel so idle mailboxes cost nothing.
                    map.remove(uniqueid);
                    return;
                }
            }
        }
    }

    pub(crate) fn close(&self, uniqueid: &str) {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(uniqueid);
    }
}

/// `change` cut into changes of at most [`MAX_CHANGE_BYTES`] of UID data each, in order.
fn pieces(change: Change) -> Vec<Change> {
    fn cut<T: Clone>(items: Vec<T>, make: impl Fn(Vec<T>) -> Change) -> Vec<Change> {
        let per = (MAX_CHANGE_BYTES / std::mem::size_of::<T>()).max(1);
        if items.len() <= per {
            return vec![make(items)];
        }
        items.chunks(per).map(|c| make(c.to_vec())).collect()
    }
    match change {
        Change::Appended { uids, modseq } => cut(uids, |uids| Change::Appended { uids, modseq }),
        Change::FlagsChanged { changes } => {
            cut(changes, |changes| Change::FlagsChanged { changes })
        }
        Change::SeenChanged { user, uids } => cut(uids, |uids| Change::SeenChanged {
            user: user.clone(),
            uids,
        }),
        Change::Expunged { uids, modseq } => cut(uids, |uids| Change::Expunged { uids, modseq }),
        other @ (Change::Renamed { .. } | Change::Deleted | Change::AclChanged) => vec![other],
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tokio::sync::broadcast::error::TryRecvError;
    use types::{ModSeq, Uid};

    use super::*;

    fn flags(from: u32, n: u32) -> Change {
        let m = ModSeq::new(7).unwrap();
        Change::FlagsChanged {
            changes: (from..from + n)
                .map(|u| (Uid::new(u).unwrap(), m))
                .collect(),
        }
    }

    /// UID data a change carries, in bytes.
    fn payload(c: &Change) -> usize {
        match c {
            Change::Appended { uids, .. } | Change::Expunged { uids, .. } => uids.len() * 4,
            Change::SeenChanged { uids, .. } => uids.len() * 4,
            Change::FlagsChanged { changes } => changes.len() * 16,
            Change::Renamed { .. } | Change::Deleted | Change::AclChanged => 0,
        }
    }

    #[test]
    fn a_subscriber_that_never_reads_holds_a_bounded_amount_then_lags() {
        let feed = ChangeFeed::default();
        let mut idle = feed.subscribe("m");
        // Ten STOREs on 10,000 messages: 1.6 MB of flag changes, held whole before.
        for i in 0..10 {
            feed.publish("m", flags(1 + i, 10_000));
        }
        assert!(matches!(idle.try_recv(), Err(TryRecvError::Lagged(_))));
        let mut held = 0;
        let mut count = 0;
        while let Ok(c) = idle.try_recv() {
            assert!(payload(&c) <= MAX_CHANGE_BYTES);
            held += payload(&c);
            count += 1;
        }
        assert!(count <= CHANNEL_CAPACITY);
        assert!(
            held <= CHANNEL_CAPACITY * MAX_CHANGE_BYTES,
            "{held} bytes held"
        );
    }

    #[test]
    fn pieces_keep_every_uid_in_order() {
        let c = Change::Expunged {
            uids: (1..=1000).map(|u| Uid::new(u).unwrap()).collect(),
            modseq: ModSeq::new(3).unwrap(),
        };
        let back: Vec<u32> = pieces(c)
            .into_iter()
            .flat_map(|p| match p {
                Change::Expunged { uids, modseq } => {
                    assert_eq!(modseq.get(), 3);
                    uids
                }
                other => panic!("{other:?}"),
            })
            .map(|u| u.get())
            .collect();
        assert_eq!(back, (1..=1000).collect::<Vec<_>>());
        assert_eq!(pieces(flags(1, 64)).len(), 1, "small changes go out whole");
        assert_eq!(pieces(flags(1, 65)).len(), 2);
    }
}
