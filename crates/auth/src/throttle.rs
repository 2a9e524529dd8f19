//! Failure throttling per client host: after `auth_failures_per_host` failed authentications
//! from one host within `auth_failure_window`, further attempts from that host are refused
//! without being checked until the window has passed again. Counted per host, never per user,
//! so an attacker cannot lock a user out: the same user at another address is not affected.
//! A host is an IPv4 address or an IPv6 /64 (`net::host_key`); hosts in
//! `client_limit_exceptions` (loopback by default: a webmail brings all its users from one
//! address) are never throttled. Every protocol's authentication goes through this (IMAP, POP3
//! and LMTP AUTH; ManageSieve with its issue).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Hosts remembered at most; past it, records that expired are dropped first, then the oldest.
const MAX_HOSTS: usize = 65_536;

/// `auth_failures_per_host`, `auth_failure_window` and `client_limit_exceptions`.
#[derive(Clone, Debug)]
pub struct ThrottleConfig {
    /// Failures within `window` after which a host is refused; 0 turns throttling off.
    pub max_failures: u32,
    /// How long failures are counted, and how long a throttled host is then refused.
    pub window: Duration,
    pub exempt: net::HostSet,
}

impl ThrottleConfig {
    /// No throttling (tools, tests).
    pub fn off() -> ThrottleConfig {
        ThrottleConfig {
            max_failures: 0,
            window: Duration::ZERO,
            exempt: net::HostSet::default(),
        }
    }
}

/// Whether an authentication attempt from a host may be checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Too many failures from this host lately: answer without checking.
    Refused,
}

pub(crate) struct FailureThrottle {
    config: ThrottleConfig,
    hosts: Mutex<HashMap<IpAddr, Record>>,
}

struct Record {
    failures: u32,
    since: Instant,
    refused_until: Option<Instant>,
}

impl Record {
    fn expired(&self, now: Instant, window: Duration) -> bool {
        match self.refused_until {
            Some(until) => now >= until,
            None => now.duration_since(self.since) >= window,
        }
    }
}

impl FailureThrottle {
    pub fn new(config: ThrottleConfig) -> FailureThrottle {
        FailureThrottle {
            config,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    fn hosts(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Record>> {
        // Plain counters: a panic while holding the lock leaves nothing half-done.
        self.hosts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The key `peer` is counted under, or `None` when it is not throttled at all.
    fn key(&self, peer: IpAddr) -> Option<IpAddr> {
        (self.config.max_failures > 0 && !self.config.exempt.contains(peer))
            .then(|| net::host_key(peer))
    }

    pub fn admit(&self, peer: IpAddr) -> Admission {
        self.admit_at(peer, Instant::now())
    }

    pub fn failed(&self, peer: IpAddr) {
        self.failed_at(peer, Instant::now());
    }

    fn admit_at(&self, peer: IpAddr, now: Instant) -> Admission {
        let Some(key) = self.key(peer) else {
            return Admission::Allowed;
        };
        match self.hosts().get(&key).and_then(|r| r.refused_until) {
            Some(until) if now < until => Admission::Refused,
            _ => Admission::Allowed,
        }
    }

    /// Counts a failed authentication from `peer`; the failure that reaches the limit starts
    /// the host's refusal, and is logged (once per refusal, not once per attempt).
    fn failed_at(&self, peer: IpAddr, now: Instant) {
        let Some(key) = self.key(peer) else {
            return;
        };
        let window = self.config.window;
        let mut hosts = self.hosts();
        if hosts.len() >= MAX_HOSTS && !hosts.contains_key(&key) {
            make_room(&mut hosts, now, window);
        }
        let record = hosts.entry(key).or_insert(Record {
            failures: 0,
            since: now,
            refused_until: None,
        });
        if record.expired(now, window) {
            *record = Record {
                failures: 0,
                since: now,
                refused_until: None,
            };
        }
        record.failures = record.failures.saturating_add(1);
        if record.failures >= self.config.max_failures && record.refused_until.is_none() {
            record.refused_until = Some(now + window);
            tracing::warn!(
                severity = "warning",
                "{key}: {} failed authentications within {}s; refusing authentication from this host for {}s",
                record.failures,
                window.as_secs(),
                window.as_secs()
            );
        }
    }
}

/// Drops expired records, or failing that the one with the oldest first failure.
fn make_room(hosts: &mut HashMap<IpAddr, Record>, now: Instant, window: Duration) {
    hosts.retain(|_, r| !r.expired(now, window));
    if hosts.len() < MAX_HOSTS {
        return;
    }
    let oldest = hosts.iter().min_by_key(|(_, r)| r.since).map(|(k, _)| *k);
    if let Some(oldest) = oldest {
        hosts.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn throttle(max_failures: u32) -> FailureThrottle {
        FailureThrottle::new(ThrottleConfig {
            max_failures,
            window: Duration::from_secs(300),
            exempt: net::HostSet::parse(["127.0.0.0/8"]).unwrap(),
        })
    }

    #[test]
    fn a_host_is_refused_after_its_failures_and_others_are_not() {
        let t = throttle(3);
        let now = Instant::now();
        let attacker = ip("192.0.2.66");
        for _ in 0..2 {
            t.failed_at(attacker, now);
        }
        assert_eq!(t.admit_at(attacker, now), Admission::Allowed);
        t.failed_at(attacker, now);
        assert_eq!(t.admit_at(attacker, now), Admission::Refused);
        assert_eq!(
            t.admit_at(ip("198.51.100.1"), now),
            Admission::Allowed,
            "the same users at another address may still log in"
        );
        let later = now + Duration::from_secs(300);
        assert_eq!(
            t.admit_at(attacker, later),
            Admission::Allowed,
            "for a while only"
        );
        t.failed_at(attacker, later);
        assert_eq!(
            t.admit_at(attacker, later),
            Admission::Allowed,
            "counting starts afresh"
        );
    }

    #[test]
    fn failures_spread_wider_than_the_window_never_add_up() {
        let t = throttle(3);
        let mut now = Instant::now();
        for _ in 0..10 {
            t.failed_at(ip("192.0.2.1"), now);
            now += Duration::from_secs(200);
            t.failed_at(ip("192.0.2.1"), now);
            now += Duration::from_secs(200);
            assert_eq!(t.admit_at(ip("192.0.2.1"), now), Admission::Allowed);
        }
    }

    #[test]
    fn exempt_hosts_an_ipv6_64_and_a_disabled_throttle() {
        let t = throttle(2);
        let now = Instant::now();
        for _ in 0..10 {
            t.failed_at(ip("127.0.0.1"), now);
        }
        assert_eq!(t.admit_at(ip("127.0.0.1"), now), Admission::Allowed);
        t.failed_at(ip("2001:db8::1"), now);
        t.failed_at(ip("2001:db8::2"), now);
        assert_eq!(
            t.admit_at(ip("2001:db8::ffff"), now),
            Admission::Refused,
            "one /64 is one host"
        );
        let off = FailureThrottle::new(ThrottleConfig::off());
        for _ in 0..10 {
            off.failed_at(ip("192.0.2.1"), now);
        }
        assert_eq!(off.admit_at(ip("192.0.2.1"), now), Admission::Allowed);
        assert!(off.hosts().is_empty());
    }

    #[test]
    fn the_record_count_is_bounded() {
        let t = throttle(1000);
        let now = Instant::now();
        for i in 0..(MAX_HOSTS as u32 + 100) {
            t.failed_at(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)), now);
        }
        assert!(t.hosts().len() <= MAX_HOSTS);
    }
}
