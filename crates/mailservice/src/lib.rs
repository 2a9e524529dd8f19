//! Service layer: namespace, ACL enforcement, quotas, delivery and events, on top of the store.
//!
//! Owns: every "may this identity do this" decision, so that IMAP, POP3, LMTP and the proxy enforce
//! the same rules. Must not: know any protocol's syntax or sequence numbers.
