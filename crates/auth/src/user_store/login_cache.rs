//! The records logins read from etcd, kept in memory for `auth_cache_ttl` so that most logins
//! need no etcd round trip (with the verified-credentials cache, most need no hash either).
//!
//! A watch of the users' prefix drops a record the moment it changes on any server, so a
//! password change or a deletion elsewhere is seen within the watch's delay. While the watch
//! is cut off (etcd unreachable, a network blip) records are served for their TTL at most:
//! that is the worst case, and what keeps logins of known users working while etcd is away.
//!
//! A read may race with a change: the read answers at revision R, the watch meanwhile
//! reports a change at a revision above R, and the read's result, stored after that, would
//! be stale. So the cache remembers the last revision the watch reported (`watched`) and
//! keeps no read older than it. Each entry keeps the revision it was read at, and a watch
//! (re)starts after the oldest of them, so no change to a kept record goes unreported.
//!
//! Bounds: at most [`MAX_PRESENT`] records and [`MAX_ABSENT`] unknown names (the names a
//! client tries are its choice); when full, expired entries go, and if that is not enough,
//! all of that kind.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most records kept (a record is about half a kilobyte).
pub(crate) const MAX_PRESENT: usize = 20_000;
/// The most names kept as unknown.
pub(crate) const MAX_ABSENT: usize = 10_000;

/// What the cache knows of a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cached {
    /// The record, as read.
    Present(Vec<u8>),
    /// No such user.
    Absent,
}

/// Records read for logins (see the module documentation).
pub(crate) struct LoginCache {
    state: Mutex<State>,
}

/// What the lock guards.
struct State {
    /// How long a record is kept; zero keeps none.
    ttl: Duration,
    /// How long an unknown name is kept (at most the negative TTL of the credential cache).
    absent_ttl: Duration,
    present: HashMap<String, Entry<Vec<u8>>>,
    absent: HashMap<String, Entry<()>>,
    /// The last revision the watch (or a write of this server) reported; a read answered at
    /// an older revision is not kept.
    watched: i64,
}

/// One kept answer.
struct Entry<T> {
    /// When it was read.
    at: Instant,
    /// The store's revision it was read at.
    revision: i64,
    value: T,
}

impl<T> Entry<T> {
    fn fresh(&self, ttl: Duration) -> bool {
        self.at.elapsed() < ttl
    }
}

impl LoginCache {
    /// A cache keeping records for `ttl`.
    pub(crate) fn new(ttl: Duration) -> LoginCache {
        LoginCache {
            state: Mutex::new(State {
                ttl,
                absent_ttl: ttl.min(crate::cache::NEGATIVE_TTL),
                present: HashMap::new(),
                absent: HashMap::new(),
                watched: 0,
            }),
        }
    }

    /// The state; a poisoned lock is taken over (every change leaves the maps consistent).
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether records are kept at all.
    pub(crate) fn enabled(&self) -> bool {
        !self.state().ttl.is_zero()
    }

    /// What is known of `name`, if it was read within the TTL.
    pub(crate) fn get(&self, name: &str) -> Option<Cached> {
        let state = self.state();
        if let Some(entry) = state.present.get(name) {
            if entry.fresh(state.ttl) {
                return Some(Cached::Present(entry.value.clone()));
            }
        }
        match state.absent.get(name) {
            Some(entry) if entry.fresh(state.absent_ttl) => Some(Cached::Absent),
            _ => None,
        }
    }

    /// Keeps what a read at `revision` found for `name`, unless the watch has reported a
    /// later revision meanwhile.
    pub(crate) fn put(&self, name: &str, found: Cached, revision: i64) {
        let mut state = self.state();
        if state.ttl.is_zero() || revision < state.watched {
            return;
        }
        let at = Instant::now();
        match found {
            Cached::Present(value) => {
                let ttl = state.ttl;
                state.absent.remove(name);
                make_room(&mut state.present, MAX_PRESENT, |e| e.fresh(ttl));
                let entry = Entry {
                    at,
                    revision,
                    value,
                };
                state.present.insert(name.to_string(), entry);
            }
            Cached::Absent => {
                let ttl = state.absent_ttl;
                state.present.remove(name);
                make_room(&mut state.absent, MAX_ABSENT, |e| e.fresh(ttl));
                let entry = Entry {
                    at,
                    revision,
                    value: (),
                };
                state.absent.insert(name.to_string(), entry);
            }
        }
    }

    /// `names` changed at revisions up to `revision`: forgets them.
    pub(crate) fn changed<'a>(&self, names: impl IntoIterator<Item = &'a str>, revision: i64) {
        let mut state = self.state();
        for name in names {
            state.present.remove(name);
            state.absent.remove(name);
        }
        state.watched = state.watched.max(revision);
    }

    /// Nothing changed up to `revision` beyond what was reported.
    pub(crate) fn progress(&self, revision: i64) {
        let mut state = self.state();
        state.watched = state.watched.max(revision);
    }

    /// Where a watch starting now must start: after the oldest revision a kept answer was
    /// read at, so that every later change to it is reported; `None` (from now on) when
    /// nothing is kept. No read older than that is kept from now on.
    pub(crate) fn watch_from(&self) -> Option<i64> {
        let mut state = self.state();
        let (ttl, absent_ttl) = (state.ttl, state.absent_ttl);
        let present = state.present.values().filter(|e| e.fresh(ttl));
        let absent = state.absent.values().filter(|e| e.fresh(absent_ttl));
        let oldest = present
            .map(|e| e.revision)
            .chain(absent.map(|e| e.revision))
            .min()?;
        state.watched = state.watched.max(oldest);
        Some(oldest)
    }

    /// A watch now reports every change after `revision`: forgets what was read before it.
    pub(crate) fn watching_after(&self, revision: i64) {
        let mut state = self.state();
        state.present.retain(|_, e| e.revision >= revision);
        state.absent.retain(|_, e| e.revision >= revision);
        state.watched = state.watched.max(revision);
    }

    /// Forgets everything (changes were missed).
    pub(crate) fn clear(&self) {
        let mut state = self.state();
        state.present.clear();
        state.absent.clear();
    }

    /// Keeps records for `ttl` from now on, forgetting what was kept.
    pub(crate) fn set_ttl(&self, ttl: Duration) {
        let mut state = self.state();
        state.ttl = ttl;
        state.absent_ttl = ttl.min(crate::cache::NEGATIVE_TTL);
        state.present.clear();
        state.absent.clear();
    }
}

/// Makes room for one more entry in `map` (at most `max`): drops the entries `alive` says are
/// expired, and everything if that is not enough.
fn make_room<V>(map: &mut HashMap<String, V>, max: usize, alive: impl Fn(&V) -> bool) {
    if map.len() < max {
        return;
    }
    map.retain(|_, v| alive(v));
    if map.len() >= max {
        map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_older_than_a_reported_change_is_not_kept() {
        let cache = LoginCache::new(Duration::from_secs(60));
        cache.put("ann", Cached::Present(b"one".to_vec()), 10);
        assert_eq!(cache.get("ann"), Some(Cached::Present(b"one".to_vec())));
        cache.changed(["ann"], 12);
        assert_eq!(cache.get("ann"), None);
        // A read answered at 11 began before the change at 12: it may be the old record.
        cache.put("ann", Cached::Present(b"one".to_vec()), 11);
        assert_eq!(cache.get("ann"), None);
        cache.put("ann", Cached::Present(b"two".to_vec()), 12);
        assert_eq!(cache.get("ann"), Some(Cached::Present(b"two".to_vec())));
        cache.put("bob", Cached::Absent, 13);
        assert_eq!(cache.get("bob"), Some(Cached::Absent));
        cache.clear();
        assert_eq!(cache.get("ann"), None);
        assert_eq!(cache.get("bob"), None);
    }

    /// A watch starts after the oldest kept read, so it reports every change to what is
    /// kept; a watch started "now" drops what was read before it.
    #[test]
    fn a_watch_covers_every_kept_read() {
        let cache = LoginCache::new(Duration::from_secs(60));
        assert_eq!(cache.watch_from(), None);
        cache.put("ann", Cached::Present(b"a".to_vec()), 20);
        cache.put("bob", Cached::Absent, 17);
        assert_eq!(cache.watch_from(), Some(17));
        // From then on a read older than that start is not kept.
        cache.put("cat", Cached::Present(b"c".to_vec()), 16);
        assert_eq!(cache.get("cat"), None);
        cache.watching_after(17);
        assert!(cache.get("ann").is_some() && cache.get("bob").is_some());
        cache.watching_after(18);
        assert_eq!(cache.get("bob"), None);
        assert!(cache.get("ann").is_some());
    }

    #[test]
    fn records_expire_and_a_zero_ttl_keeps_none() {
        let cache = LoginCache::new(Duration::from_millis(30));
        cache.put("ann", Cached::Present(b"x".to_vec()), 1);
        assert!(cache.get("ann").is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.get("ann"), None);
        let off = LoginCache::new(Duration::ZERO);
        assert!(!off.enabled());
        off.put("ann", Cached::Present(b"x".to_vec()), 1);
        assert_eq!(off.get("ann"), None);
    }

    #[test]
    fn the_cache_stays_within_its_bounds() {
        let cache = LoginCache::new(Duration::from_secs(60));
        for i in 0..MAX_ABSENT + 5 {
            cache.put(&format!("nobody{i}"), Cached::Absent, 1);
        }
        let state = cache.state();
        assert!(state.absent.len() <= MAX_ABSENT);
        assert!(!state.absent.is_empty());
    }
}
