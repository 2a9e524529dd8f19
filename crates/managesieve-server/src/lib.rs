//! Server layer: ManageSieve sessions. (Filled in by the Sieve issue.)
//!
//! Owns: script upload, activation and listing per user. Must not: parse bytes itself.
