//! The verified-credentials cache: after a password checked out, the same user presenting the
//! same password again within the TTL (`auth_cache_ttl`) is accepted without another argon2id
//! or crypt(3) computation (which costs ~40 ms of CPU and 19 MiB by design). Clients that log in
//! for every action — webmail, phones, `fetchmail` loops, load tests — would otherwise spend the
//! server's CPU on hashing.
//!
//! Failures are remembered too, briefly (at most [`NEGATIVE_TTL`]): a client retrying the same
//! wrong password (a phone after a password change) is refused without another hash. A new
//! wrong password always pays the full check (and the login delay).
//!
//! Entries hold HMAC-SHA-256 values of the password and of the stored hash it was checked
//! against, under a random key made when the process starts, never the password; they live only
//! in memory. Because an entry is tied to the stored hash, a password change (even one racing
//! with a login) invalidates it; `user passwd` and `user del` also drop the user's entries at
//! once. The cache holds at most [`MAX_ENTRIES`] successes and [`MAX_NEGATIVE`] failures (one of
//! each per user); when full, expired entries go, and if that is not enough, all of that kind.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Mac, SimpleHmac};
use sha2::Sha256;

use crate::argon::constant_time_eq;

/// `auth_cache_ttl`'s default, as Dovecot's `auth_cache_ttl`: one hour.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// The longest a failure is remembered.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(60);
pub(crate) const MAX_ENTRIES: usize = 100_000;
pub(crate) const MAX_NEGATIVE: usize = 10_000;

/// What the cache knows about a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CacheAnswer {
    /// Proved recently against this stored hash.
    Valid,
    /// Refused recently against this stored hash.
    Invalid,
    /// Check it.
    Unknown,
}

pub(crate) struct CredentialCache {
    key: [u8; 32],
    ttl: Duration,
    negative_ttl: Duration,
    valid: Mutex<HashMap<String, Entry>>,
    invalid: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    at: Instant,
    password: [u8; 32],
    stored: [u8; 32],
}

impl Entry {
    fn matches(&self, password: &[u8; 32], stored: &[u8; 32], ttl: Duration) -> bool {
        self.at.elapsed() < ttl
            && constant_time_eq(&self.password, password)
            && constant_time_eq(&self.stored, stored)
    }
}

impl CredentialCache {
    /// A cache whose successes live `ttl`, failures at most [`NEGATIVE_TTL`]; zero keeps none.
    pub fn new(ttl: Duration) -> CredentialCache {
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        CredentialCache {
            key,
            ttl,
            negative_ttl: ttl.min(NEGATIVE_TTL),
            valid: Mutex::new(HashMap::new()),
            invalid: Mutex::new(HashMap::new()),
        }
    }

    /// HMAC-SHA-256 under the per-process key; the label keeps passwords and stored hashes
    /// apart.
    fn mac(&self, label: &[u8], data: &[u8]) -> [u8; 32] {
        let mut mac = match SimpleHmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        };
        mac.update(label);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    fn entry(&self, password: &[u8], stored: &str) -> Entry {
        Entry {
            at: Instant::now(),
            password: self.mac(b"password\0", password),
            stored: self.mac(b"stored\0", stored.as_bytes()),
        }
    }

    /// Whether `user` recently proved, or failed with, this very password against this very
    /// stored hash.
    pub fn check(&self, user: &str, password: &[u8], stored: &str) -> CacheAnswer {
        if self.ttl.is_zero() {
            return CacheAnswer::Unknown;
        }
        let probe = self.entry(password, stored);
        let hit = |map: &Mutex<HashMap<String, Entry>>, ttl| {
            lock(map)
                .get(user)
                .is_some_and(|e| e.matches(&probe.password, &probe.stored, ttl))
        };
        if hit(&self.valid, self.ttl) {
            CacheAnswer::Valid
        } else if hit(&self.invalid, self.negative_ttl) {
            CacheAnswer::Invalid
        } else {
            CacheAnswer::Unknown
        }
    }

    pub fn remember(&self, user: &str, password: &[u8], stored: &str) {
        if self.ttl.is_zero() {
            return;
        }
        lock(&self.invalid).remove(user);
        insert(
            &self.valid,
            MAX_ENTRIES,
            self.ttl,
            user,
            self.entry(password, stored),
        );
    }

    pub fn remember_failure(&self, user: &str, password: &[u8], stored: &str) {
        if self.ttl.is_zero() {
            return;
        }
        insert(
            &self.invalid,
            MAX_NEGATIVE,
            self.negative_ttl,
            user,
            self.entry(password, stored),
        );
    }

    /// Drops everything remembered about `user` (a changed or deleted password).
    pub fn forget(&self, user: &str) {
        lock(&self.valid).remove(user);
        lock(&self.invalid).remove(user);
    }
}

fn lock(map: &Mutex<HashMap<String, Entry>>) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
    map.lock().unwrap_or_else(|p| p.into_inner())
}

fn insert(
    map: &Mutex<HashMap<String, Entry>>,
    max: usize,
    ttl: Duration,
    user: &str,
    entry: Entry,
) {
    let mut entries = lock(map);
    if entries.len() >= max && !entries.contains_key(user) {
        entries.retain(|_, e| e.at.elapsed() < ttl);
        if entries.len() >= max {
            entries.clear();
        }
    }
    entries.insert(user.to_string(), entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_remembered_password_of_that_user_matches() {
        let cache = CredentialCache::new(DEFAULT_TTL);
        cache.remember("alice", b"right", "$hash1");
        assert_eq!(cache.check("alice", b"right", "$hash1"), CacheAnswer::Valid);
        assert_eq!(
            cache.check("alice", b"wrong", "$hash1"),
            CacheAnswer::Unknown
        );
        assert_eq!(cache.check("bob", b"right", "$hash1"), CacheAnswer::Unknown);
        assert_eq!(
            cache.check("alice", b"right", "$hash2"),
            CacheAnswer::Unknown,
            "a changed stored hash invalidates"
        );
        cache.forget("alice");
        assert_eq!(
            cache.check("alice", b"right", "$hash1"),
            CacheAnswer::Unknown
        );
    }

    #[test]
    fn a_failure_is_remembered_for_that_password_and_hash_only() {
        let cache = CredentialCache::new(DEFAULT_TTL);
        cache.remember_failure("alice", b"wrong", "$hash1");
        assert_eq!(
            cache.check("alice", b"wrong", "$hash1"),
            CacheAnswer::Invalid
        );
        assert_eq!(
            cache.check("alice", b"other", "$hash1"),
            CacheAnswer::Unknown
        );
        assert_eq!(
            cache.check("alice", b"wrong", "$hash2"),
            CacheAnswer::Unknown,
            "after a password change the old failure says nothing"
        );
        cache.remember("alice", b"right", "$hash1");
        assert_eq!(
            cache.check("alice", b"wrong", "$hash1"),
            CacheAnswer::Unknown,
            "a success drops the user's failure"
        );
        cache.remember_failure("bob", b"x", "$h");
        cache.forget("bob");
        assert_eq!(cache.check("bob", b"x", "$h"), CacheAnswer::Unknown);
    }

    #[test]
    fn failures_expire_sooner_than_successes() {
        let cache = CredentialCache::new(DEFAULT_TTL);
        assert_eq!(cache.ttl, DEFAULT_TTL);
        assert_eq!(cache.negative_ttl, NEGATIVE_TTL);
        let short = CredentialCache::new(Duration::from_secs(5));
        assert_eq!(short.negative_ttl, Duration::from_secs(5));
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = CredentialCache::new(Duration::ZERO);
        cache.remember("alice", b"right", "$h");
        cache.remember_failure("bob", b"wrong", "$h");
        assert_eq!(cache.check("alice", b"right", "$h"), CacheAnswer::Unknown);
        assert_eq!(cache.check("bob", b"wrong", "$h"), CacheAnswer::Unknown);
        assert!(lock(&cache.valid).is_empty() && lock(&cache.invalid).is_empty());
    }

    #[test]
    fn the_failures_kept_are_bounded() {
        let cache = CredentialCache::new(DEFAULT_TTL);
        for n in 0..MAX_NEGATIVE + 10 {
            cache.remember_failure(&format!("user{n}"), b"wrong", "$h");
            assert!(lock(&cache.invalid).len() <= MAX_NEGATIVE);
        }
        let kept = format!("user{}", MAX_NEGATIVE + 9);
        assert_eq!(cache.check(&kept, b"wrong", "$h"), CacheAnswer::Invalid);
    }

    #[test]
    fn the_password_itself_is_not_kept() {
        let cache = CredentialCache::new(DEFAULT_TTL);
        cache.remember("alice", b"plain-text-marker", "$h");
        let entries = lock(&cache.valid);
        assert!(!entries["alice"].password.windows(6).any(|w| w == b"marker"));
    }
}
