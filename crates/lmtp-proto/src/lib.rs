//! Protocol layer: the LMTP codec (RFC 2033 on RFC 5321 syntax).
//!
//! Owns: LMTP command parsing and reply encoding. Must not: perform I/O or know about storage.
//! (Filled in by the LMTP issue.)
