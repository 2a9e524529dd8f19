//! Protocol layer: the ManageSieve codec (RFC 5804).
//!
//! Owns: ManageSieve command parsing and response encoding. Must not: perform I/O or know about
//! storage. (Filled in by the Sieve issue.)
