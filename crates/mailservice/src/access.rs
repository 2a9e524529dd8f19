//! Who may do what. Until ACLs (the ACL issue) the rule is closed: a user reaches their own
//! hierarchy (`user.NAME` and below), an administrator (`admins`) reaches everything. The
//! [`Operation`] is already passed everywhere so that ACL rights slot in here alone.
//!
//! Beside the rights, [`namespace_rule`] holds the rules on the namespace's shape that no right
//! lifts. Every rule here is decided on the internal name the client's name resolved to, never
//! on its spelling: `DELETE user.alice` is alice's INBOX as much as `DELETE INBOX` is.

use types::MailboxName;

use crate::error::ServiceError;

/// An authenticated user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    user: String,
    admin: bool,
}

impl Identity {
    pub(crate) fn new(user: &str, admin: bool) -> Identity {
        Identity {
            user: user.to_string(),
            admin,
        }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// The user's INBOX, `user.NAME`; `None` when the name cannot be a mailbox name.
    pub fn inbox(&self) -> Option<MailboxName> {
        MailboxName::user_inbox(&self.user).ok()
    }

    pub fn owns(&self, name: &MailboxName) -> bool {
        self.inbox().is_some_and(|inbox| name.is_within(&inbox))
    }

    /// Whether `name` is this identity's own INBOX, however the client spelled it.
    pub fn is_own_inbox(&self, name: &MailboxName) -> bool {
        self.inbox().as_ref() == Some(name)
    }
}

/// Whether `name` is some user's INBOX, `user.NAME` (the root of a personal hierarchy).
pub fn is_user_inbox(name: &MailboxName) -> bool {
    name.owner_user().is_some() && name.hierarchy_root() == *name
}

/// What the identity wants to do with a mailbox (RFC 4314 §4 lists the rights each needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// SELECT, EXAMINE, STATUS, FETCH, SEARCH.
    Read,
    /// STORE of flags.
    Write,
    /// APPEND, or the target of COPY/MOVE.
    Insert,
    /// EXPUNGE, and the source of MOVE.
    Expunge,
    /// CREATE (of this name).
    Create,
    /// DELETE of this mailbox.
    DeleteMailbox,
    /// RENAME away from, or onto, this name.
    Rename,
    /// LIST and LSUB visibility.
    Lookup,
    /// Delivery by LMTP. The recipient's INBOX always takes mail; another mailbox needs the
    /// `p` right for the sender (the ACL issue), which no mailbox grants until ACLs exist.
    Post,
}

/// A mailbox the identity was found allowed to use for an operation. Only this crate makes
/// one, so every store operation behind it has passed the access check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorized {
    name: MailboxName,
    operation: Operation,
    /// Whether the identity's `\Seen` is the index's (the owner) or private to them.
    private_seen: Option<String>,
}

impl Authorized {
    pub(crate) fn new(identity: &Identity, name: MailboxName, operation: Operation) -> Authorized {
        let private_seen = (!identity.owns(&name)).then(|| identity.user.clone());
        Authorized {
            name,
            operation,
            private_seen,
        }
    }

    pub fn name(&self) -> &MailboxName {
        &self.name
    }

    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The user whose private `\Seen` this is, when not the owner's.
    pub fn seen_user(&self) -> Option<&str> {
        self.private_seen.as_deref()
    }

    pub(crate) fn seen(&self) -> mailstore::SeenSource<'_> {
        match &self.private_seen {
            Some(user) => mailstore::SeenSource::PrivateTo(user),
            None => mailstore::SeenSource::Index,
        }
    }
}

/// Rules that hold whatever the rights, on the internal name. Cyrus: a user cannot delete their
/// own INBOX (LMTP would then refuse their mail); an administrator deleting `user.NAME` deletes
/// the user's whole hierarchy (see `MailService::delete`). The ACL issue adds SETACL here (an
/// owner may not remove their own administration right from their INBOX).
pub(crate) fn namespace_rule(
    identity: &Identity,
    name: &MailboxName,
    operation: Operation,
) -> Result<(), ServiceError> {
    match operation {
        Operation::DeleteMailbox if is_user_inbox(name) && !identity.is_admin() => {
            Err(ServiceError::Refused("INBOX cannot be deleted"))
        }
        Operation::Read
        | Operation::Write
        | Operation::Insert
        | Operation::Expunge
        | Operation::Create
        | Operation::DeleteMailbox
        | Operation::Rename
        | Operation::Lookup
        | Operation::Post => Ok(()),
    }
}

/// The closed rule of this issue; the ACL issue replaces the body.
pub(crate) fn allowed(identity: &Identity, name: &MailboxName, _operation: Operation) -> bool {
    identity.admin || identity.owns(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> MailboxName {
        MailboxName::try_from(s).unwrap()
    }

    #[test]
    fn users_reach_only_their_own_hierarchy() {
        let alice = Identity::new("alice", false);
        assert!(allowed(&alice, &name("user.alice"), Operation::Read));
        assert!(allowed(&alice, &name("user.alice.Sent"), Operation::Insert));
        assert!(!allowed(&alice, &name("user.alicia"), Operation::Read));
        assert!(!allowed(&alice, &name("user.bob"), Operation::Lookup));
        assert!(!allowed(&alice, &name("shared"), Operation::Read));
    }

    /// However the client wrote it, a user's own INBOX cannot be deleted by them; below it,
    /// and for administrators, the rule does not apply.
    #[test]
    fn a_user_cannot_delete_their_inbox_by_its_internal_name() {
        let alice = Identity::new("alice", false);
        let refused = namespace_rule(&alice, &name("user.alice"), Operation::DeleteMailbox);
        assert!(matches!(refused, Err(ServiceError::Refused(_))));
        assert!(namespace_rule(&alice, &name("user.alice.x"), Operation::DeleteMailbox).is_ok());
        assert!(namespace_rule(&alice, &name("user.alice"), Operation::Rename).is_ok());
        let admin = Identity::new("admin", true);
        assert!(namespace_rule(&admin, &name("user.alice"), Operation::DeleteMailbox).is_ok());
        assert!(is_user_inbox(&name("user.alice")));
        assert!(!is_user_inbox(&name("user.alice.x")) && !is_user_inbox(&name("shared")));
        assert!(alice.is_own_inbox(&name("user.alice")));
        assert!(!alice.is_own_inbox(&name("user.alice.x")));
    }

    #[test]
    fn admins_reach_everything_with_private_seen_elsewhere() {
        let admin = Identity::new("admin", true);
        assert!(allowed(
            &admin,
            &name("user.bob.x"),
            Operation::DeleteMailbox
        ));
        let a = Authorized::new(&admin, name("user.bob"), Operation::Read);
        assert!(matches!(
            a.seen(),
            mailstore::SeenSource::PrivateTo("admin")
        ));
        let own = Authorized::new(
            &Identity::new("bob", false),
            name("user.bob"),
            Operation::Read,
        );
        assert!(matches!(own.seen(), mailstore::SeenSource::Index));
    }
}
