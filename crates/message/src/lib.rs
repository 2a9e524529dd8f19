//! Protocol layer: the MIME structure scanner. Bytes of one RFC 5322 message in; the cached part
//! tree (offsets, sizes, line counts), ENVELOPE and BODYSTRUCTURE out.
//!
//! Owns: everything about the shape of a message. Must not: perform I/O or know about mailboxes.
