//! `maxconnections_per_host`: how many connections one client host may hold open at once,
//! across every TCP listener that shares the limit. Without it one address could take every
//! slot `maxconnections` allows. Hosts in the exempt set (loopback by default: a webmail or
//! proxy on the same machine brings all its users from one address) are not counted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::hosts::{host_key, HostSet};

/// The shared per-host counter; cheap to clone.
#[derive(Clone)]
pub struct HostLimit {
    inner: Arc<Inner>,
}

struct Inner {
    /// 0: no limit.
    max: usize,
    exempt: HostSet,
    hosts: Mutex<HashMap<IpAddr, Host>>,
}

#[derive(Default)]
struct Host {
    open: usize,
    /// Whether the refusals of the current episode at the limit were logged already.
    logged: bool,
}

/// One counted connection; dropping it frees the host's slot.
pub struct HostClaim {
    limit: HostLimit,
    key: Option<IpAddr>,
}

impl HostLimit {
    /// At most `max` connections per host (0: no limit), not counting hosts in `exempt`.
    pub fn new(max: usize, exempt: HostSet) -> HostLimit {
        HostLimit {
            inner: Arc::new(Inner {
                max,
                exempt,
                hosts: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// No per-host limit.
    pub fn unlimited() -> HostLimit {
        HostLimit::new(0, HostSet::default())
    }

    fn hosts(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Host>> {
        // Plain counters: a panic while holding the lock leaves nothing half-done.
        self.inner.hosts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a new connection from `peer`; `None` when its host is at the limit (the refusal
    /// is logged once per episode, not once per connection, so a flood cannot flood the log).
    pub fn claim(&self, peer: IpAddr) -> Option<HostClaim> {
        if self.inner.max == 0 || self.inner.exempt.contains(peer) {
            return Some(HostClaim {
                limit: self.clone(),
                key: None,
            });
        }
        let key = host_key(peer);
        let mut hosts = self.hosts();
        let host = hosts.entry(key).or_default();
        if host.open >= self.inner.max {
            if !host.logged {
                host.logged = true;
                tracing::warn!(
                    severity = "warning",
                    "{key}: maxconnections_per_host ({}) reached; refusing further connections from this host",
                    self.inner.max
                );
            }
            return None;
        }
        host.open += 1;
        Some(HostClaim {
            limit: self.clone(),
            key: Some(key),
        })
    }

    /// Connections counted for `peer`'s host now.
    pub fn open(&self, peer: IpAddr) -> usize {
        self.hosts().get(&host_key(peer)).map_or(0, |h| h.open)
    }
}

impl Drop for HostClaim {
    fn drop(&mut self) {
        let Some(key) = self.key else {
            return;
        };
        let mut hosts = self.limit.hosts();
        if let Some(host) = hosts.get_mut(&key) {
            host.open = host.open.saturating_sub(1);
            host.logged = false;
            if host.open == 0 {
                hosts.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_host_gets_max_connections_and_others_are_unaffected() {
        let limit = HostLimit::new(2, HostSet::parse(["127.0.0.0/8"]).unwrap());
        let a = ip("192.0.2.1");
        let first = limit.claim(a).unwrap();
        let _second = limit.claim(a).unwrap();
        assert!(limit.claim(a).is_none(), "the third is refused");
        assert!(
            limit.claim(ip("192.0.2.2")).is_some(),
            "another host is not affected"
        );
        let same_64: Vec<_> = (0..2)
            .map(|i| limit.claim(ip(&format!("2001:db8::{i}"))))
            .collect();
        assert!(same_64.iter().all(Option::is_some));
        assert!(
            limit.claim(ip("2001:db8::ffff:1")).is_none(),
            "one /64 is one host"
        );
        drop(first);
        assert!(limit.claim(a).is_some(), "a freed slot can be taken again");
        let exempt: Vec<_> = (0..10).map(|_| limit.claim(ip("127.0.0.1"))).collect();
        assert!(exempt.iter().all(Option::is_some), "loopback is exempt");
        assert_eq!(limit.open(ip("127.0.0.1")), 0);
    }

    #[test]
    fn closed_hosts_are_forgotten() {
        let limit = HostLimit::new(5, HostSet::default());
        for i in 0..100 {
            drop(limit.claim(ip(&format!("198.51.100.{i}"))));
        }
        assert!(limit.hosts().is_empty());
    }
}
