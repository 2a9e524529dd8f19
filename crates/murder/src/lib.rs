//! Server layer: the Murder — mailboxes spread over several backends, the mailbox directory in
//! etcd (docs/murder.md).
//!
//! Owns: the directory's records and keys ([`record`]), this server's view of the Murder
//! ([`Directory`], the `mailservice::Cluster` the service asks: publishing a backend's
//! mailboxes by compare-and-swap, the servers alive), the directory's copy in every server's
//! mailboxes database kept current by an etcd watch ([`Directory::follow`]), a backend's
//! leased presence ([`Directory::advertise`]), and reconciliation ([`Directory::reconcile`],
//! [`dump`]); and the bridge that pushes a backend's mailboxes to a Cyrus `mupdate` master
//! ([`mupdate::Bridge`]). Must not: store mail, or decide access (the service does, on the copy).

mod directory;
mod kv;
mod lease;
mod mirror;
pub mod mupdate;
pub mod record;
mod sync;

pub use directory::Directory;
pub use kv::Kv;
pub use record::{Keys, MailboxRecord, ServerRecord, State};
pub use sync::{dump, DumpLine, SyncReport};

/// A server's part in the Murder (`murder_role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Holds mailboxes and publishes them.
    Backend,
    /// Holds no mail; proxies clients and deliveries.
    Frontend,
    /// Both.
    Unified,
}

impl Role {
    /// The role `murder_role` names; `None` for a single server (`none`).
    pub fn from_option(value: &str) -> Option<Role> {
        match value {
            "backend" => Some(Role::Backend),
            "frontend" => Some(Role::Frontend),
            "unified" => Some(Role::Unified),
            _ => None,
        }
    }

    /// Whether this server holds mailboxes.
    pub fn holds_mail(self) -> bool {
        matches!(self, Role::Backend | Role::Unified)
    }
}
