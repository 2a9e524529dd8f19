//! Storage layer: partitions, message files, the per-owner index, the mailboxes database, seen
//! state, subscriptions and quota usage.
//!
//! Owns: everything on disk under the partitions and the config directory that describes mail.
//! Speaks UIDs and mailbox names. Must not: know sequence numbers, tags, response codes, or decide
//! whether an identity may do something (that is `mailservice`'s job).
