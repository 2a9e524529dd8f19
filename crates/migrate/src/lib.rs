//! Tools layer: moving mail between Darius and other stores. Readers of foreign on-disk formats
//! (a Cyrus 2.4/3.x spool and its databases, Dovecot's Maildir, mbox files) and the drivers
//! that feed what they read into [`mailstore::Store`]'s import primitive
//! ([`mailstore::Store::create_imported_mailbox`], [`mailstore::Store::import_messages`]), and
//! the exporters back to Maildir and mbox.
//!
//! Owns: understanding other servers' files. Must not: write a store other than through
//! `mailstore`'s public API, or trust what it reads (every parser bounds what it allocates and
//! answers malformed input with an error naming the file and place, never a panic).

pub mod cyrus;
pub mod feed;
pub mod fuzzing;
pub mod lines;
pub mod maildir;
pub mod mbox;
