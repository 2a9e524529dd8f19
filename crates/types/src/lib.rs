//! Bottom layer: the vocabulary types every other crate speaks — `Uid`, `ModSeq`,
//! `MailboxName`, `Flag`, `Secret`, … — each validated on construction.
//!
//! Owns: value types and their invariants. Must not: do I/O, depend on any other crate of ours,
//! or know about any protocol's wire syntax.

pub mod acl;
pub mod civil;
pub mod domain;
mod flag;
mod live;
mod mailbox_name;
mod secret;
mod uid;

pub use acl::{Acl, AclEntry, AclError, Authorizer, Identifier, Principal, Rights, RightsChange};
pub use domain::{DomainMode, Domains};
pub use flag::{Flag, FlagError};
pub use live::LiveList;
pub use mailbox_name::{MailboxName, MailboxNameError};
pub use secret::Secret;
pub use uid::{uid_set, ModSeq, Uid, UidValidity};
