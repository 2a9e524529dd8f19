//! Service layer: the password database, PAM, shadow files, identity mapping and groups.
//!
//! Owns: "who is this and is their secret right". Must not: know about mailboxes or protocols.
