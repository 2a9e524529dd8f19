//! The failed-login penalty: a failed authentication is answered only after a delay that grows
//! with the recent failures from the client's host and for the user it named, doubling from
//! `auth_failure_delay` up to [`MAX_DELAY`] (Dovecot's auth penalty is the model: 15 s at most).
//! A successful login is never delayed, so a user whose name an attacker is guessing at still
//! logs in at once; the attacker's guesses, from one address or from many against one user,
//! slow down. The protocol servers wait the delay asynchronously (no thread is held), and
//! `auth_max_failures` in one connection closes it.
//!
//! Failures are forgotten [`MEMORY`] after the last one. Hosts are counted as the throttle counts
//! them (an IPv4 address or an IPv6 /64); hosts in `client_limit_exceptions` (front ends that
//! bring many users from one address) are counted per user only. Both tables are bounded.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest delay after a failure.
pub const MAX_DELAY: Duration = Duration::from_secs(15);
/// How long after its last failure a host or user is forgotten.
pub const MEMORY: Duration = Duration::from_secs(15 * 60);
/// Entries kept per table at most; past it, forgotten ones are dropped, then the whole table.
const MAX_ENTRIES: usize = 65_536;

pub struct LoginPenalty {
    base: Duration,
    exempt: net::HostSet,
    hosts: Mutex<HashMap<IpAddr, Failures>>,
    users: Mutex<HashMap<String, Failures>>,
}

impl std::fmt::Debug for LoginPenalty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginPenalty")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl LoginPenalty {
    /// `base` is the delay after a first failure (`auth_failure_delay`); zero turns the
    /// penalty off.
    pub fn new(base: Duration, exempt: net::HostSet) -> LoginPenalty {
        LoginPenalty {
            base,
            exempt,
            hosts: Mutex::new(HashMap::new()),
            users: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a failure from `peer` for `user` (when the client named one) and returns how
    /// long to wait before answering it.
    pub fn failed(&self, peer: IpAddr, user: Option<&str>) -> Duration {
        self.failed_at(peer, user, Instant::now())
    }

    fn failed_at(&self, peer: IpAddr, user: Option<&str>, now: Instant) -> Duration {
        if self.base.is_zero() {
            return Duration::ZERO;
        }
        let by_host = if self.exempt.contains(peer) {
            0
        } else {
            count(&self.hosts, net::host_key(peer), now)
        };
        let by_user = match user.filter(|u| !u.is_empty()) {
            // Bounded like every client-chosen key: user names are at most a field long.
            Some(user) if user.len() <= 256 => count(&self.users, user.to_ascii_lowercase(), now),
            _ => 0,
        };
        self.delay(by_host.max(by_user))
    }

    /// `base · 2^(n-1)`, at most [`MAX_DELAY`].
    fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        self.base.saturating_mul(1 << doublings).min(MAX_DELAY)
    }
}

/// Counts one more failure for `key`, forgetting an old count; the count including this one.
fn count<K: Eq + Hash>(table: &Mutex<HashMap<K, Failures>>, key: K, now: Instant) -> u32 {
    let mut table = table.lock().unwrap_or_else(|p| p.into_inner());
    if table.len() >= MAX_ENTRIES && !table.contains_key(&key) {
        table.retain(|_, f| now.duration_since(f.last) < MEMORY);
        if table.len() >= MAX_ENTRIES {
            table.clear();
        }
    }
    let entry = table.entry(key).or_insert(Failures {
        count: 0,
        last: now,
    });
    if now.duration_since(entry.last) >= MEMORY {
        entry.count = 0;
    }
    entry.count = entry.count.saturating_add(1);
    entry.last = now;
    entry.count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_delay_doubles_per_host_and_per_user_up_to_the_maximum() {
        let penalty = LoginPenalty::new(Duration::from_secs(2), net::HostSet::default());
        let now = Instant::now();
        let delays: Vec<u64> = (0..6)
            .map(|_| {
                penalty
                    .failed_at(ip("192.0.2.1"), Some("alice"), now)
                    .as_secs()
            })
            .collect();
        assert_eq!(delays, [2, 4, 8, 15, 15, 15]);
        // Another address guessing a different user starts afresh...
        assert_eq!(
            penalty.failed_at(ip("198.51.100.1"), Some("bob"), now),
            Duration::from_secs(2)
        );
        // ...but guessing at alice from elsewhere is slow too: counted per user.
        assert_eq!(
            penalty.failed_at(ip("198.51.100.2"), Some("ALICE"), now),
            MAX_DELAY
        );
    }

    #[test]
    fn failures_are_forgotten_after_a_while() {
        let penalty = LoginPenalty::new(Duration::from_secs(1), net::HostSet::default());
        let start = Instant::now();
        for _ in 0..3 {
            penalty.failed_at(ip("192.0.2.1"), None, start);
        }
        let later = start + MEMORY;
        assert_eq!(
            penalty.failed_at(ip("192.0.2.1"), None, later),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn exempt_hosts_are_counted_per_user_only_and_zero_turns_it_off() {
        let exempt = net::HostSet::parse(["127.0.0.0/8"]).unwrap();
        let penalty = LoginPenalty::new(Duration::from_secs(1), exempt);
        let now = Instant::now();
        for user in ["a", "b", "c", "d"] {
            assert_eq!(
                penalty.failed_at(ip("127.0.0.1"), Some(user), now),
                Duration::from_secs(1),
                "a webmail's users do not share one penalty"
            );
        }
        let off = LoginPenalty::new(Duration::ZERO, net::HostSet::default());
        assert_eq!(
            off.failed_at(ip("192.0.2.1"), Some("a"), now),
            Duration::ZERO
        );
    }

    #[test]
    fn the_tables_stay_bounded() {
        let penalty = LoginPenalty::new(Duration::from_secs(1), net::HostSet::default());
        let now = Instant::now();
        for n in 0..(MAX_ENTRIES as u32 + 10) {
            let host = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            penalty.failed_at(host, Some(&format!("u{n}")), now);
        }
        assert!(penalty.hosts.lock().unwrap().len() <= MAX_ENTRIES);
        assert!(penalty.users.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
