//! Protocol layer: the POP3 codec (RFC 1939, RFC 2449, RFC 5034).
//!
//! Owns: POP3 command parsing and response encoding. Must not: perform I/O or know about storage.
//! (Filled in by the POP3 issue.)
