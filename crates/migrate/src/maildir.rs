//! Dovecot Maildir and mbox: readers, the import driver and the exporters.
//!
//! Maildir as Dovecot keeps it: `dovecot-uidlist` (UIDs and UIDVALIDITY), `dovecot-keywords`
//! (the keyword letters of the `:2,` info part), the Maildir++ layout and `subscriptions`.
//! Import keeps UIDs, UIDVALIDITY, flags, keywords and dates (the file's mtime); export
//! writes the same files so that Dovecot keeps them too.

pub mod error;
pub mod export;
pub mod filename;
pub mod folder;
pub mod fuzzing;
pub mod import;
pub mod keywords;
pub mod tree;
pub mod uidlist;

pub use error::{MigrateError, SyntaxError};
pub use export::export_user;
pub use import::{import_folder, import_user};
