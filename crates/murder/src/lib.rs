//! Server layer: the Murder — frontends proxying to backends, the mailbox directory in etcd.
//! (Filled in by the Murder issue.)
//!
//! Owns: routing sessions and deliveries to the backend that holds the mailbox. Must not: store mail.
