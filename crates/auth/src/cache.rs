//! The verified-credentials cache: after a password checked out, the same user presenting the
//! same password again within `TTL` is accepted without another argon2id computation (which
//! costs ~40 ms of CPU and 19 MiB by design). Clients that log in for every action — webmail,
//! phones, `fetchmail` loops, load tests — would otherwise spend the server's CPU on hashing.
//!
//! Only successes are cached, so a wrong password always pays the full check (and the login
//! delay). Entries hold a SHA-256 of a random per-process key followed by the password, never
//! the password; they live only in memory. An entry is tied to the stored hash it was verified
//! against, so a password change (even one racing with a login) invalidates it; a change also
//! drops the entry at once. The cache holds at most `MAX_ENTRIES` users.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::argon::constant_time_eq;

const TTL: Duration = Duration::from_secs(600);
const MAX_ENTRIES: usize = 100_000;

pub(crate) struct CredentialCache {
    key: [u8; 32],
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    at: Instant,
    password: [u8; 32],
    stored: [u8; 32],
}

impl CredentialCache {
    pub fn new() -> CredentialCache {
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        CredentialCache {
            key,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn digest(&self, data: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(data);
        h.finalize().into()
    }

    /// True when `user` recently proved this very password against this very stored hash.
    pub fn check(&self, user: &str, password: &[u8], stored: &str) -> bool {
        let (password, stored) = (self.digest(password), self.digest(stored.as_bytes()));
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(user) {
            Some(e) => {
                e.at.elapsed() < TTL
                    && constant_time_eq(&e.password, &password)
                    && constant_time_eq(&e.stored, &stored)
            }
            None => false,
        }
    }

    pub fn remember(&self, user: &str, password: &[u8], stored: &str) {
        let entry = Entry {
            at: Instant::now(),
            password: self.digest(password),
            stored: self.digest(stored.as_bytes()),
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.at.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(user.to_string(), entry);
    }

    pub fn forget(&self, user: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_remembered_password_of_that_user_matches() {
        let cache = CredentialCache::new();
        cache.remember("alice", b"right", "$hash1");
        assert!(cache.check("alice", b"right", "$hash1"));
        assert!(!cache.check("alice", b"wrong", "$hash1"));
        assert!(!cache.check("bob", b"right", "$hash1"));
        assert!(
            !cache.check("alice", b"right", "$hash2"),
            "a changed stored hash invalidates"
        );
        cache.forget("alice");
        assert!(!cache.check("alice", b"right", "$hash1"));
    }

    #[test]
    fn the_password_itself_is_not_kept() {
        let cache = CredentialCache::new();
        cache.remember("alice", b"plain-text-marker", "$h");
        let entries = cache.entries.lock().unwrap();
        assert!(!entries["alice"].password.windows(6).any(|w| w == b"marker"));
    }
}
