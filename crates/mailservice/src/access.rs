//! Who may do what: the identity ([`Identity`]), what it asks to do ([`Operation`]) and the
//! rights each operation needs (RFC 4314 §4), decided from the mailbox's ACL by
//! [`crate::acl`]. An [`Authorized`] mailbox is the proof that the check passed.
//!
//! Beside the rights, [`namespace_rule`] holds the rules on the namespace's shape that no right
//! lifts. Every rule here is decided on the internal name the client's name resolved to, never
//! on its spelling: `DELETE user.alice` is alice's INBOX as much as `DELETE INBOX` is.

use std::sync::Arc;

use types::{MailboxName, Rights};

use crate::error::ServiceError;
use crate::events::Origin;

/// Who is asking: an authenticated user (with the groups the authorizer listed at login) or
/// the anonymous identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    user: String,
    /// An administrator: of every domain when `domain` is `None` (a global administrator),
    /// else of that virtual domain only.
    admin: bool,
    /// The virtual domain the identity belongs to (`None`: the default domain, or domains off):
    /// it reaches only that domain's mailboxes, unless it is a global administrator.
    domain: Option<String>,
    groups: Vec<String>,
    anonymous: bool,
    /// `user.NAME` as the namespace names it (see [`crate::namespace::user_inbox`]); `None`
    /// for a userid that cannot own one and for the anonymous identity.
    inbox: Option<MailboxName>,
    /// Where the session that proved this identity came from (protocol and addresses), so
    /// that every event it causes says so (RFC 5423 `service`, `clientIP`...); shared, as
    /// each mailbox the session opens keeps a copy.
    origin: Option<Arc<Origin>>,
}

/// The user name of the unauthenticated identity (RFC 4314 §2: `anonymous`).
pub const ANONYMOUS: &str = "anonymous";

impl Identity {
    /// A user under the `.` separator's rule for INBOX names; [`Identity::with_inbox`] gives
    /// the namespace's.
    pub(crate) fn new(user: &str, admin: bool) -> Identity {
        Identity {
            user: user.to_string(),
            admin,
            domain: None,
            groups: Vec::new(),
            anonymous: false,
            inbox: crate::namespace::user_inbox(user, false).ok(),
            origin: None,
        }
    }

    pub(crate) fn with_inbox(mut self, inbox: Option<MailboxName>) -> Identity {
        self.inbox = inbox;
        self
    }

    /// The same identity in the virtual domain `domain`.
    pub(crate) fn with_domain(mut self, domain: Option<String>) -> Identity {
        self.domain = domain;
        self
    }

    /// The same identity, an administrator or not (of its own domain, see
    /// [`Identity::is_global_admin`]).
    pub(crate) fn with_admin(mut self, admin: bool) -> Identity {
        self.admin = admin;
        self
    }

    pub(crate) fn with_groups(mut self, groups: Vec<String>) -> Identity {
        self.groups = groups;
        self
    }

    pub(crate) fn anonymous() -> Identity {
        Identity {
            user: ANONYMOUS.to_string(),
            admin: false,
            domain: None,
            groups: Vec::new(),
            anonymous: true,
            inbox: None,
            origin: None,
        }
    }

    /// The same identity acting from `origin` (set by the server that logged it in).
    pub fn with_origin(mut self, origin: Origin) -> Identity {
        self.origin = Some(Arc::new(origin));
        self
    }

    /// Where the identity's session came from, when its server said.
    pub fn origin(&self) -> Option<&Arc<Origin>> {
        self.origin.as_ref()
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// An administrator, of its own domain at least (see [`Identity::is_global_admin`]).
    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// An administrator of every domain: an `admins` entry without a domain.
    pub fn is_global_admin(&self) -> bool {
        self.admin && self.domain.is_none()
    }

    /// The virtual domain of the identity (`None`: the default domain).
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// Whether the mailbox `name` is in the identity's reach at all: in its domain, or it is a
    /// global administrator. Whatever an ACL says, nothing else is shown or touched.
    pub fn reaches(&self, name: &MailboxName) -> bool {
        self.is_global_admin() || name.domain() == self.domain()
    }

    /// Whether the identity administers the mailbox `name` (an administrator it reaches).
    pub fn administers(&self, name: &MailboxName) -> bool {
        self.admin && self.reaches(name)
    }

    /// Whether this is the unauthenticated identity, to which only `anyone` and `anonymous`
    /// entries apply.
    pub fn is_anonymous(&self) -> bool {
        self.anonymous
    }

    /// The groups (without `group:`) the authorizer placed the user in at login.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The user's INBOX, `user.NAME` (`user.john^doe` for `john.doe` under `unixhierarchysep`);
    /// `None` for a userid that cannot own one (`john.doe` under the `.` separator) and for the
    /// anonymous identity, which owns nothing.
    pub fn inbox(&self) -> Option<MailboxName> {
        self.inbox.clone()
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

/// What the identity wants to do with a mailbox; [`Operation::needs`] gives the rights (RFC
/// 4314 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// SELECT, EXAMINE, STATUS, FETCH, SEARCH, COPY from: `r`.
    Read,
    /// STORE of flags: any of `s`, `w`, `t` (which flags may change is the protocol's to
    /// filter, from [`Authorized::rights`]).
    Write,
    /// APPEND, or the target of COPY/MOVE: `i`.
    Insert,
    /// EXPUNGE, and the source of MOVE: `e`.
    Expunge,
    /// CREATE of this name: `k` on the closest existing parent.
    Create,
    /// DELETE of this mailbox: `x`.
    DeleteMailbox,
    /// The source of a RENAME: `x` on it. A missing source answers as any missing mailbox,
    /// so a hidden one answers the same; the new name is [`Operation::RenameTo`] (see
    /// `MailService::authorize_rename`).
    Rename,
    /// The new name of a RENAME: `k` on its closest existing parent.
    RenameTo,
    /// LIST and LSUB visibility: `l`.
    Lookup,
    /// Delivery to a mailbox by a sender: `p`.
    Post,
    /// GETACL, SETACL, DELETEACL, LISTRIGHTS: `a`.
    Administer,
    /// MYRIGHTS: any right at all.
    AnyRight,
}

/// What an operation needs of the rights on the mailbox it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Every one of these rights.
    All(Rights),
    /// At least one of these rights.
    Any(Rights),
    /// These rights on the closest existing parent (the name itself does not exist yet).
    OnParent(Rights),
}

impl Need {
    /// Whether `rights` (on the mailbox itself, or on the parent for [`Need::OnParent`])
    /// satisfy the need.
    pub fn met_by(self, rights: Rights) -> bool {
        match self {
            Need::All(r) | Need::OnParent(r) => rights.contains(r),
            Need::Any(r) => rights.intersects(r),
        }
    }
}

impl Operation {
    /// RFC 4314 §4's table. `Rename` is given for its source; see [`Operation::Rename`].
    pub fn needs(self) -> Need {
        match self {
            Operation::Read => Need::All(Rights::READ),
            Operation::Write => Need::Any(
                Rights::SEEN
                    .union(Rights::WRITE)
                    .union(Rights::DELETE_MESSAGES),
            ),
            Operation::Insert => Need::All(Rights::INSERT),
            Operation::Expunge => Need::All(Rights::EXPUNGE),
            Operation::Create | Operation::RenameTo => Need::OnParent(Rights::CREATE),
            Operation::DeleteMailbox | Operation::Rename => Need::All(Rights::DELETE_MAILBOX),
            Operation::Lookup => Need::All(Rights::LOOKUP),
            Operation::Post => Need::All(Rights::POST),
            Operation::Administer => Need::All(Rights::ADMIN),
            Operation::AnyRight => Need::Any(Rights::ALL),
        }
    }

    /// Mailbox management an administrator may do without the right (creating users and
    /// shared mailboxes, deleting and renaming them): Cyrus reserves top-level creation to
    /// administrators; Darius also spares them granting themselves `x` first.
    pub(crate) fn is_management(self) -> bool {
        match self {
            Operation::Create
            | Operation::RenameTo
            | Operation::DeleteMailbox
            | Operation::Rename => true,
            Operation::Read
            | Operation::Write
            | Operation::Insert
            | Operation::Expunge
            | Operation::Lookup
            | Operation::Post
            | Operation::Administer
            | Operation::AnyRight => false,
        }
    }
}

/// A mailbox the identity was found allowed to use for an operation. Only this crate makes
/// one, so every store operation behind it has passed the access check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorized {
    name: MailboxName,
    operation: Operation,
    /// The identity's rights on the mailbox when it was authorized (for a name that does not
    /// exist yet, on its closest existing parent).
    rights: Rights,
    /// Whether the identity's `\Seen` is the index's (the owner) or private to them.
    private_seen: Option<String>,
    /// Whether a `\Seen` is kept for the identity at all (never for the anonymous one).
    keeps_seen: bool,
    /// Who asked and from where, for the events the operation reports (RFC 5423 `user`).
    actor: Actor,
}

/// The identity behind an [`Authorized`] mailbox, as events name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Actor {
    /// The userid; `None` for the server's own operator (no user).
    pub(crate) user: Option<String>,
    pub(crate) origin: Option<Arc<Origin>>,
}

impl Actor {
    /// The actor for `identity`.
    pub(crate) fn of(identity: &Identity) -> Actor {
        Actor {
            user: (!identity.user.is_empty()).then(|| identity.user.clone()),
            origin: identity.origin.clone(),
        }
    }
}

impl Authorized {
    pub(crate) fn new(
        identity: &Identity,
        name: MailboxName,
        operation: Operation,
        rights: Rights,
    ) -> Authorized {
        let private_seen = (!identity.owns(&name)).then(|| identity.user.clone());
        Authorized {
            name,
            operation,
            rights,
            private_seen,
            keeps_seen: !identity.is_anonymous(),
            actor: Actor::of(identity),
        }
    }

    /// Who authorized it, for events.
    pub(crate) fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn name(&self) -> &MailboxName {
        &self.name
    }

    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The identity's rights here (RFC 4314), implicit rights included: what a protocol
    /// filters by (STORE of `\Seen` needs `s`, `\Deleted` `t`, other flags `w`; SELECT is
    /// read-only without any of `s w i t e`...).
    pub fn rights(&self) -> Rights {
        self.rights
    }

    /// The rights that decide what the identity may change here: [`Authorized::rights`]
    /// without `s` for the anonymous identity. No `\Seen` is kept for anonymous whatever the
    /// ACL grants (as in Cyrus): every anonymous session would share it, and one visitor would
    /// mark messages read for the next. MYRIGHTS still shows the ACL's `s`.
    pub fn acting_rights(&self) -> Rights {
        if self.keeps_seen {
            self.rights
        } else {
            self.rights.minus(Rights::SEEN)
        }
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
/// the user's whole hierarchy (see `MailService::delete`); the anonymous identity creates
/// nothing. An owner cannot lock themselves out
/// of their own ACL: the implicit `l a` on their hierarchy (see [`crate::acl`]) sees to that.
pub(crate) fn namespace_rule(
    identity: &Identity,
    name: &MailboxName,
    operation: Operation,
) -> Result<(), ServiceError> {
    match operation {
        Operation::DeleteMailbox if is_user_inbox(name) && !identity.is_admin() => {
            Err(ServiceError::Refused("INBOX cannot be deleted"))
        }
        // The anonymous identity owns nothing, so nothing it made would belong to anyone; as in
        // Cyrus it creates no mailbox, whatever `k` an ACL gives `anyone`.
        Operation::Create | Operation::RenameTo if identity.is_anonymous() => {
            Err(ServiceError::PermissionDenied)
        }
        Operation::Read
        | Operation::Write
        | Operation::Insert
        | Operation::Expunge
        | Operation::Create
        | Operation::DeleteMailbox
        | Operation::Rename
        | Operation::RenameTo
        | Operation::Lookup
        | Operation::Post
        | Operation::Administer
        | Operation::AnyRight => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> MailboxName {
        MailboxName::try_from(s).unwrap()
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
    fn seen_is_private_outside_the_own_hierarchy() {
        let admin = Identity::new("admin", true);
        let a = Authorized::new(&admin, name("user.bob"), Operation::Read, Rights::ALL);
        assert!(matches!(
            a.seen(),
            mailstore::SeenSource::PrivateTo("admin")
        ));
        let own = Authorized::new(
            &Identity::new("bob", false),
            name("user.bob"),
            Operation::Read,
            Rights::ALL,
        );
        assert!(matches!(own.seen(), mailstore::SeenSource::Index));
    }

    /// `anyone k` on a parent lets users create below it, never the anonymous identity; and
    /// an ACL's `s` keeps no `\Seen` for anonymous.
    #[test]
    fn anonymous_creates_nothing_and_keeps_no_seen() {
        let anon = Identity::anonymous();
        for operation in [Operation::Create, Operation::RenameTo] {
            let refused = namespace_rule(&anon, &name("shared.x"), operation);
            assert!(matches!(refused, Err(ServiceError::PermissionDenied)));
            assert!(
                namespace_rule(&Identity::new("fred", false), &name("shared.x"), operation).is_ok()
            );
        }
        let lrs = Rights::try_from("lrs").unwrap();
        let a = Authorized::new(&anon, name("shared.x"), Operation::Read, lrs);
        assert_eq!(a.rights(), lrs);
        assert_eq!(a.acting_rights().to_string(), "lr");
        let fred = Authorized::new(
            &Identity::new("fred", false),
            name("shared.x"),
            Operation::Read,
            lrs,
        );
        assert_eq!(fred.acting_rights(), lrs);
    }

    #[test]
    fn anonymous_owns_nothing_even_a_user_named_anonymous() {
        let anon = Identity::anonymous();
        assert!(anon.is_anonymous());
        assert_eq!(anon.inbox(), None);
        assert!(!anon.owns(&name("user.anonymous")));
    }
}
