//! Mailbox summaries kept between SELECTs: every message's UID, system flags and MODSEQ, so
//! that opening a large mailbox (and resynchronising it with QRESYNC) does not walk all of its
//! index records each time.
//!
//! Owns: an in-memory map per open owner index, `uniqueid → Summary`.
//! Consistency: a summary is used only when its version (HIGHESTMODSEQ, UIDNEXT, EXISTS) equals
//! that of the mailbox header in the reader's snapshot, so a reader never sees a summary of
//! another state than its own snapshot; otherwise it scans and offers its result. Writers keep
//! summaries current: each [`crate::index::IndexWrite`] records the rows it puts and removes
//! and the headers it writes, and after its commit (still under the owner's lock, so in commit
//! order) [`Summaries::apply`] replays them on the summaries present. A write that touched a
//! mailbox's records without writing its header leaves no version to check against, so that
//! summary is dropped.
//! Bounds: all summaries of the process together hold at most [`MAX_CACHED_ROWS`] rows (16
//! octets each); past it a scan's result is used once and not kept.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::index::IndexHeader;

/// Rows all summaries may hold together: 16 MiB.
pub(crate) const MAX_CACHED_ROWS: usize = 1 << 20;

/// Rows held by live summaries of this process.
static CACHED_ROWS: AtomicUsize = AtomicUsize::new(0);

/// One message as SELECT needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub uid: u32,
    pub flags: u8,
    pub modseq: u64,
}

/// The mailbox state a summary describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Version {
    highestmodseq: u64,
    uidnext: u32,
    exists: u32,
}

impl Version {
    pub(crate) fn of(h: &IndexHeader) -> Version {
        Version {
            highestmodseq: h.highestmodseq,
            uidnext: h.uidnext,
            exists: h.exists,
        }
    }
}

/// Every message of one mailbox, ascending by UID.
#[derive(Debug)]
pub(crate) struct Summary {
    pub version: Version,
    pub rows: Vec<Row>,
    /// Rows counted in [`CACHED_ROWS`] (0 for a summary that was not kept).
    charged: usize,
}

impl Summary {
    fn new(version: Version, rows: Vec<Row>, charged: usize) -> Summary {
        Summary {
            version,
            rows,
            charged,
        }
    }

    /// A copy to change, charged like this one (the original releases its charge when the
    /// last reader drops it).
    fn edited(&self) -> Option<Summary> {
        let charged = charge(self.rows.len())?;
        Some(Summary::new(self.version, self.rows.clone(), charged))
    }

    fn put(&mut self, row: Row) {
        match self.rows.binary_search_by_key(&row.uid, |r| r.uid) {
            Ok(i) => self.rows[i] = row,
            Err(i) => self.rows.insert(i, row),
        }
    }

    fn remove(&mut self, uids: &HashSet<u32>) {
        self.rows.retain(|r| !uids.contains(&r.uid));
    }
}

impl Drop for Summary {
    fn drop(&mut self) {
        CACHED_ROWS.fetch_sub(self.charged, Ordering::Relaxed);
    }
}

/// Reserves room for `rows` rows in the process's budget; `None` when it is spent.
fn charge(rows: usize) -> Option<usize> {
    let rows = rows.max(1);
    CACHED_ROWS
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
            held.checked_add(rows).filter(|&n| n <= MAX_CACHED_ROWS)
        })
        .ok()
        .map(|_| rows)
}

/// What one write did to a mailbox, in order.
#[derive(Debug)]
pub(crate) enum Edit {
    Put(String, Row),
    Remove(String, Vec<u32>),
    Header(String, Version),
    Gone(String),
}

/// The summaries of one owner index.
#[derive(Debug, Default)]
pub(crate) struct Summaries {
    map: Mutex<HashMap<String, Arc<Summary>>>,
    /// Counts applied writes. A reader notes it before its snapshot and offers its scan only
    /// if no write was applied since: a write that changed records without moving the
    /// version (none should, but reconstruct rewrites records) must not be masked by an older
    /// scan offered after it.
    generation: AtomicUsize,
}

impl Summaries {
    /// The summary of `uniqueid` if it describes exactly `version`.
    pub(crate) fn get(&self, uniqueid: &str, version: Version) -> Option<Arc<Summary>> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(uniqueid)
            .filter(|s| s.version == version)
            .map(Arc::clone)
    }

    /// To note before taking the snapshot whose scan will be offered.
    pub(crate) fn generation(&self) -> usize {
        self.generation.load(Ordering::Acquire)
    }

    /// Offers a summary a reader built from its snapshot (taken after it noted `generation`);
    /// kept unless the budget is spent or a write was applied since. Returns it either way.
    pub(crate) fn offer(
        &self,
        uniqueid: &str,
        version: Version,
        rows: Vec<Row>,
        generation: usize,
    ) -> Arc<Summary> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != generation {
            return Arc::new(Summary::new(version, rows, 0));
        }
        let Some(charged) = charge(rows.len()) else {
            return Arc::new(Summary::new(version, rows, 0));
        };
        let summary = Arc::new(Summary::new(version, rows, charged));
        map.insert(uniqueid.to_string(), Arc::clone(&summary));
        summary
    }

    /// Replays a committed write's edits on the summaries present (see the module comment).
    pub(crate) fn apply(&self, edits: Vec<Edit>) {
        if edits.is_empty() {
            return;
        }
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        // Summaries being edited, taken out of the map; `None` once one cannot be kept.
        let mut editing: HashMap<String, Option<Summary>> = HashMap::new();
        let mut unversioned: HashSet<String> = HashSet::new();
        for edit in edits {
            let id = match &edit {
                Edit::Put(id, _) | Edit::Remove(id, _) | Edit::Header(id, _) | Edit::Gone(id) => {
                    id.clone()
                }
            };
            if let Edit::Gone(_) = edit {
                map.remove(&id);
                editing.remove(&id);
                unversioned.remove(&id);
                continue;
            }
            if !editing.contains_key(&id) {
                let Some(current) = map.remove(&id) else {
                    continue;
                };
                editing.insert(id.clone(), current.edited());
            }
            let Some(Some(summary)) = editing.get_mut(&id) else {
                continue;
            };
            match edit {
                Edit::Put(_, row) => {
                    summary.put(row);
                    unversioned.insert(id);
                }
                Edit::Remove(_, uids) => {
                    summary.remove(&uids.into_iter().collect());
                    unversioned.insert(id);
                }
                Edit::Header(_, version) => {
                    summary.version = version;
                    unversioned.remove(&id);
                }
                Edit::Gone(_) => {}
            }
        }
        for (id, summary) in editing {
            if let (Some(summary), false) = (summary, unversioned.contains(&id)) {
                map.insert(id, Arc::new(summary));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(m: u64) -> Version {
        Version {
            highestmodseq: m,
            uidnext: 100,
            exists: 3,
        }
    }

    fn row(uid: u32, modseq: u64) -> Row {
        Row {
            uid,
            flags: 0,
            modseq,
        }
    }

    #[test]
    fn a_summary_serves_only_its_own_version() {
        let s = Summaries::default();
        s.offer("a", version(5), vec![row(1, 1), row(2, 5)], s.generation());
        assert!(s.get("a", version(5)).is_some());
        assert!(s.get("a", version(6)).is_none());
        assert!(s.get("b", version(5)).is_none());
    }

    #[test]
    fn edits_are_replayed_and_the_version_follows_the_header() {
        let s = Summaries::default();
        s.offer("a", version(5), vec![row(1, 1), row(2, 5), row(4, 3)], 0);
        s.apply(vec![
            Edit::Put("a".into(), row(3, 6)),
            Edit::Remove("a".into(), vec![1]),
            Edit::Put("a".into(), row(4, 6)),
            Edit::Header("a".into(), version(6)),
        ]);
        assert!(s.get("a", version(5)).is_none());
        let got = s.get("a", version(6)).unwrap();
        assert_eq!(got.rows, vec![row(2, 5), row(3, 6), row(4, 6)]);
    }

    #[test]
    fn a_record_change_without_a_header_drops_the_summary() {
        let s = Summaries::default();
        s.offer("a", version(5), vec![row(1, 1)], 0);
        s.apply(vec![
            Edit::Header("a".into(), version(6)),
            Edit::Put("a".into(), row(2, 6)),
        ]);
        assert!(s.get("a", version(6)).is_none());
        assert!(s.get("a", version(5)).is_none());
    }

    #[test]
    fn a_scan_from_before_a_write_is_not_kept() {
        let s = Summaries::default();
        let before = s.generation();
        s.apply(vec![Edit::Header("b".into(), version(7))]);
        s.offer("a", version(6), vec![row(1, 6)], before);
        assert!(
            s.get("a", version(6)).is_none(),
            "a write was applied after the snapshot"
        );
        s.offer("a", version(7), vec![row(1, 7)], s.generation());
        assert!(s.get("a", version(7)).is_some());
        s.apply(vec![Edit::Gone("a".into())]);
        assert!(s.get("a", version(7)).is_none());
    }
}
