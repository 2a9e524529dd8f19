//! mbox files: the streaming splitter with Dovecot/UW/Pine state headers, the `From ` line's
//! date, the import driver and the mboxrd exporter.

pub mod export;
pub mod from_line;
pub mod fuzzing;
pub mod import;
pub mod reader;
pub mod spool;

pub use export::export_mailbox;
pub use import::{import_file, import_user};
pub use reader::{MboxReader, MboxState, Quoting};
