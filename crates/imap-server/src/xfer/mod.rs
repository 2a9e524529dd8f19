//! Moving a mailbox, or a whole user, to another backend of the Murder while it is in use
//! (Cyrus's `XFER mailbox server [partition]`, docs/murder.md).
//!
//! The source backend drives the transfer (`source`): it logs in at the target over IMAP as
//! the proxy identity for the administrator who asked, and sends each mailbox with Darius's
//! private steps (`XFERPREPARE`, `XFERMSG`, …; `imap_proto::command::XferStep`), which the
//! target (`target`) applies to an unpublished copy. The service keeps the state that must
//! survive a crash and the freeze (`mailservice::TransferClaim`); the directory switch is
//! the commit point. On a frontend, XFER of a mailbox a backend holds goes to that backend.
//!
//! Layout: `source` the XFER command and the copy it drives; `switch` the directory switch
//! and the finish; `client` the connection to the target, with the steps pipelined; `target`
//! the steps' handlers; `cyrus` the target's side of a Cyrus backend's legacy XFER
//! (`LOCALCREATE`, `UNDUMP`, `MUPDATEPUSH`), on the same incoming steps.

mod client;
pub(crate) mod cyrus;
pub(crate) mod source;
mod switch;
pub(crate) mod target;

/// The capability that offers the transfer steps, to administrators of a backend.
pub(crate) const CAPABILITY: &str = "X-DARIUS-XFER";
