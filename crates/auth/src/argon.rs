//! argon2id hashing and verification with reused memory.
//!
//! argon2id needs `m_cost` KiB of working memory per computation (19 MiB with the default
//! parameters). Allocating it afresh for every login made the allocator keep the freed blocks:
//! a server grew by ~16 MB per login (measured with darius-bench). Here a small pool of
//! working areas is reused instead, and at most `available_parallelism()` computations run at
//! once — more would only queue on the cores anyway — so memory stays bounded at
//! (cores × m_cost) however many clients log in together.

use std::sync::{Condvar, Mutex};

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The parameters new hashes are made with (argon2's defaults: m = 19 MiB, t = 2, p = 1, the
/// OWASP recommendation for argon2id).
fn default_params() -> Params {
    Params::default()
}

pub(crate) struct Hasher {
    pool: Mutex<Pool>,
    freed: Condvar,
}

struct Pool {
    idle: Vec<Vec<Block>>,
    in_use: usize,
    max: usize,
}

#[derive(Debug)]
pub(crate) struct HashError(pub String);

impl Hasher {
    pub fn new() -> Hasher {
        let max = std::thread::available_parallelism().map_or(2, |n| n.get());
        Hasher {
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                in_use: 0,
                max,
            }),
            freed: Condvar::new(),
        }
    }

    /// How many computations may run at once (one per core).
    pub fn max_concurrent(&self) -> usize {
        self.pool.lock().unwrap_or_else(|p| p.into_inner()).max
    }

    /// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) for `password`.
    pub fn hash(&self, password: &[u8]) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let params = default_params();
        let mut out = [0u8; 32];
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt
            .decode_b64(&mut salt_buf)
            .map_err(|e| HashError(e.to_string()))?;
        self.compute(&params, password, salt_bytes, &mut out)?;
        let hash =
            argon2::password_hash::Output::new(&out).map_err(|e| HashError(e.to_string()))?;
        Ok(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            salt.as_str(),
            hash
        ))
    }

    /// Whether `password` matches the PHC string `phc`, compared in constant time.
    pub fn verify(&self, phc: &str, password: &[u8]) -> Result<bool, HashError> {
        let parsed = PasswordHash::new(phc).map_err(|e| HashError(e.to_string()))?;
        let params = Params::try_from(&parsed).map_err(|e| HashError(e.to_string()))?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(HashError("hash has no salt or output".into()));
        };
        if parsed.algorithm.as_str() != "argon2id" {
            return Err(HashError(format!(
                "unsupported algorithm {}",
                parsed.algorithm
            )));
        }
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt
            .decode_b64(&mut salt_buf)
            .map_err(|e| HashError(e.to_string()))?;
        let mut out = vec![0u8; expected.len()];
        self.compute(&params, password, salt_bytes, &mut out)?;
        Ok(constant_time_eq(&out, expected.as_bytes()))
    }

    fn compute(
        &self,
        params: &Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), HashError> {
        let mut memory = self.take(params.block_count());
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let result = argon.hash_password_into_with_memory(
            password,
            salt,
            out,
            &mut memory[..params.block_count()],
        );
        self.give_back(memory);
        result.map_err(|e| HashError(e.to_string()))
    }

    /// A working area of at least `blocks` blocks; waits while every core is busy hashing.
    fn take(&self, blocks: usize) -> Vec<Block> {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        while pool.in_use >= pool.max {
            pool = self.freed.wait(pool).unwrap_or_else(|p| p.into_inner());
        }
        pool.in_use += 1;
        let mut memory = pool.idle.pop().unwrap_or_default();
        drop(pool);
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        memory
    }

    fn give_back(&self, memory: Vec<Block>) {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        pool.in_use -= 1;
        pool.idle.push(memory);
        drop(pool);
        self.freed.notify_one();
    }
}

/// Equality that takes the same time wherever the inputs differ (secrets, digests).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn our_hashes_verify_with_the_reference_implementation_and_back() {
        let hasher = Hasher::new();
        let ours = hasher.hash(b"correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = Argon2::default()
            .hash_password(b"battery staple", &salt)
            .unwrap()
            .to_string();
        assert!(hasher.verify(&theirs, b"battery staple").unwrap());
        assert!(!hasher.verify(&theirs, b"battery stapl").unwrap());
    }

    #[test]
    fn working_memory_is_reused_not_reallocated() {
        let hasher = Hasher::new();
        let phc = hasher.hash(b"pw").unwrap();
        for _ in 0..3 {
            assert!(hasher.verify(&phc, b"pw").unwrap());
        }
        let pool = hasher.pool.lock().unwrap();
        assert_eq!(pool.in_use, 0);
        assert_eq!(
            pool.idle.len(),
            1,
            "sequential checks share one working area"
        );
    }

    #[test]
    fn concurrent_checks_are_bounded_by_the_cores() {
        let hasher = std::sync::Arc::new(Hasher::new());
        let phc = hasher.hash(b"pw").unwrap();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (h, p) = (std::sync::Arc::clone(&hasher), phc.clone());
                std::thread::spawn(move || h.verify(&p, b"pw").unwrap())
            })
            .collect();
        assert!(threads.into_iter().all(|t| t.join().unwrap()));
        let pool = hasher.pool.lock().unwrap();
        assert!(
            pool.idle.len() <= pool.max,
            "{} areas for {} cores",
            pool.idle.len(),
            pool.max
        );
    }
}
