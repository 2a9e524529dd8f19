//! Server layer: LMTP delivery sessions over TCP and UNIX sockets. (Filled in by the LMTP issue.)
//!
//! Owns: the LMTP transaction and per-recipient replies. Must not: parse bytes itself or store
//! mail except through `mailservice`.
