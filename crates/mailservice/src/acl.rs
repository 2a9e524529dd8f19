//! ACL decisions (RFC 4314 with Cyrus's semantics): an identity's rights on a mailbox, the
//! initial ACL of a new mailbox, and the service calls behind GETACL, SETACL, DELETEACL,
//! LISTRIGHTS and MYRIGHTS.
//!
//! Rights = the union of the entries for the user, their groups and `anyone` (and `anonymous`
//! for the unauthenticated identity), minus the union of the negative entries that apply, plus
//! the implicit rights no ACL takes away: `l a` for administrators on every mailbox, and for
//! every user on their INBOX and their whole personal hierarchy.
//!
//! A mailbox stored before ACLs existed holds the empty string; it reads as the ACL it would
//! have been given (its owner with every right, or `defaultacl` outside `user`), so owners keep
//! full rights on their hierarchy. An ACL emptied on purpose is stored differently (see
//! [`types::acl::Acl::to_stored`]).

use std::sync::Arc;

use mailstore::StoreError;
use types::{Acl, Authorizer, Identifier, MailboxName, Principal, Rights, RightsChange};

use crate::access::{is_user_inbox, Identity, Need, Operation};
use crate::error::ServiceError;
use crate::MailService;

type Result<T> = std::result::Result<T, ServiceError>;

/// How ACLs are read: the authorization mechanism and `defaultacl`.
#[derive(Clone, Debug)]
pub struct AccessConfig {
    pub authorizer: Arc<dyn Authorizer>,
    /// `defaultacl`: the ACL of a new top-level mailbox outside `user`.
    pub default_acl: Acl,
}

impl Default for AccessConfig {
    /// Userids compared as written, no groups, and Cyrus's `defaultacl` (`anyone lrs`).
    fn default() -> AccessConfig {
        let default_acl = Acl::from_stored("anyone\tlrs\t").unwrap_or_default();
        AccessConfig {
            authorizer: Arc::new(UserIds),
            default_acl,
        }
    }
}

/// The authorizer used when none is configured: identifiers are userids, no one is in a group.
#[derive(Debug)]
pub struct UserIds;

impl Authorizer for UserIds {
    fn canonicalise(&self, identifier: &str) -> Option<String> {
        let id = Identifier::try_from(identifier).ok()?;
        match id.principal {
            Principal::Group(_) => None,
            Principal::User(_) | Principal::Anyone | Principal::Anonymous if !id.negative => {
                Some(id.to_string())
            }
            Principal::User(_) | Principal::Anyone | Principal::Anonymous => None,
        }
    }

    fn groups(&self, _user: &str) -> Vec<String> {
        Vec::new()
    }
}

/// The rights the ACL's entries give `identity` (implicit rights not included).
pub fn granted(acl: &Acl, identity: &Identity, authorizer: &dyn Authorizer) -> Rights {
    let mut positive = Rights::NONE;
    let mut negative = Rights::NONE;
    for entry in acl.entries() {
        if !applies(&entry.identifier.principal, identity, authorizer) {
            continue;
        }
        if entry.identifier.negative {
            negative = negative.union(entry.rights);
        } else {
            positive = positive.union(entry.rights);
        }
    }
    positive.minus(negative)
}

fn applies(principal: &Principal, identity: &Identity, authorizer: &dyn Authorizer) -> bool {
    match principal {
        Principal::Anyone => true,
        Principal::Anonymous => identity.is_anonymous(),
        Principal::Group(g) => !identity.is_anonymous() && identity.groups().contains(g),
        Principal::User(u) => {
            !identity.is_anonymous() && authorizer.user_matches(u, identity.user())
        }
    }
}

/// Rights no ACL takes away: `l a` for administrators everywhere and for a user on their own
/// hierarchy (so an owner can always repair their ACL).
pub fn implicit(identity: &Identity, name: &MailboxName) -> Rights {
    if identity.administers(name) || identity.owns(name) {
        Rights::LOOKUP.union(Rights::ADMIN)
    } else {
        Rights::NONE
    }
}

/// All of `identity`'s rights on the mailbox `name` whose ACL is `acl`.
pub fn rights(
    acl: &Acl,
    identity: &Identity,
    name: &MailboxName,
    authorizer: &dyn Authorizer,
) -> Rights {
    granted(acl, identity, authorizer).union(implicit(identity, name))
}

/// One entry giving `user` every right; empty when the user's name would read back as another
/// kind of identifier (`anyone`, `group:x`, `-x`), which must never gain the owner's rights.
fn owner_acl(user: &str) -> Acl {
    let mut acl = Acl::default();
    let owner = Identifier {
        principal: Principal::User(user.to_string()),
        negative: false,
    };
    if Identifier::try_from(user).as_ref() == Ok(&owner) {
        acl.apply(owner, RightsChange::Replace(Rights::ALL));
    }
    acl
}

impl MailService {
    /// The ACL a mailbox created with no existing parent gets: a user's hierarchy, its user
    /// with every right; elsewhere `defaultacl`.
    fn rootless_acl(&self, name: &MailboxName) -> Acl {
        match crate::namespace::userid_of(name) {
            Some(user) => owner_acl(&user),
            None => self.access.default_acl.clone(),
        }
    }

    /// The ACL of a stored mailbox from its stored text.
    fn read_acl(&self, name: &MailboxName, stored: &str) -> Result<Acl> {
        if stored.is_empty() {
            return Ok(self.rootless_acl(name));
        }
        Acl::from_stored(stored).map_err(|e| {
            ServiceError::Store(StoreError::Corrupt {
                what: format!("ACL of {name}"),
                detail: e.to_string(),
            })
        })
    }

    /// The ACL of a listed mailbox.
    pub(crate) fn read_acl_of(&self, entry: &mailstore::MailboxEntry) -> Result<Acl> {
        self.read_acl(&entry.name, &entry.acl)
    }

    /// The mailbox's ACL, or `None` when it does not exist.
    pub(crate) fn mailbox_acl(&self, name: &MailboxName) -> Result<Option<Acl>> {
        match self.store.mailbox_entry(name) {
            Ok(entry) => self.read_acl(name, &entry.acl).map(Some),
            Err(StoreError::NoSuchMailbox(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The closest existing ancestor of `name` and its ACL.
    fn closest_parent(&self, name: &MailboxName) -> Result<Option<(MailboxName, Acl)>> {
        let mut at = name.parent();
        while let Some(parent) = at {
            if let Some(acl) = self.mailbox_acl(&parent)? {
                return Ok(Some((parent, acl)));
            }
            at = parent.parent();
        }
        Ok(None)
    }

    /// RFC 4314 §4 / Cyrus: the ACL of a new mailbox. A user's INBOX: its user with every
    /// right; otherwise the closest existing parent's; with no parent, as [`Self::rootless_acl`]
    /// (`defaultacl` for a new top-level mailbox outside `user`).
    pub(crate) fn initial_acl(&self, name: &MailboxName) -> Result<Acl> {
        if is_user_inbox(name) {
            return Ok(self.rootless_acl(name));
        }
        Ok(match self.closest_parent(name)? {
            Some((_, acl)) => acl,
            None => self.rootless_acl(name),
        })
    }

    /// `loginuseacl`: whether `authcid` holds the `a` right on `user`'s INBOX, which lets it
    /// log in as `user` (a SASL authorization identity, RFC 4422 §3.4.1). Looked up on the
    /// blocking pool; a failed lookup is logged and answers no.
    pub async fn administers_inbox_of(&self, authcid: &str, user: &str) -> bool {
        let Ok(inbox) = self.namespace.user_inbox(user) else {
            return false;
        };
        let identity = self.identity(authcid);
        let rights = self.blocking(move |s| s.rights_on(&identity, &inbox)).await;
        match rights {
            Ok(rights) => rights.is_some_and(|rights| rights.contains(Rights::ADMIN)),
            Err(e) => {
                tracing::error!(
                    severity = "err",
                    "rights of {authcid} on {user}'s INBOX: {e}"
                );
                false
            }
        }
    }

    /// `identity`'s rights on an existing mailbox; `None` when there is no such mailbox.
    pub fn rights_on(&self, identity: &Identity, name: &MailboxName) -> Result<Option<Rights>> {
        let authorizer = self.access.authorizer.as_ref();
        Ok(self
            .mailbox_acl(name)?
            .map(|acl| rights(&acl, identity, name, authorizer)))
    }

    /// The access decision for `operation` on `name`: the rights the identity holds there (on
    /// the closest existing parent for a name to be created), or the refusal. Without the
    /// right, a mailbox the identity may `l`-see answers `PermissionDenied`, any other exactly
    /// as a missing one (`NoSuchMailbox`). CREATE (or a RENAME target) of an existing name the
    /// identity cannot see answers `PermissionDenied`, never `AlreadyExists`.
    pub(crate) fn decide(
        &self,
        identity: &Identity,
        name: &MailboxName,
        operation: Operation,
    ) -> Result<Rights> {
        let authorizer = self.access.authorizer.as_ref();
        let acl = self.mailbox_acl(name)?;
        let management = identity.administers(name) && operation.is_management();
        match (operation.needs(), acl) {
            (Need::OnParent(_), Some(acl)) => {
                if rights(&acl, identity, name, authorizer).contains(Rights::LOOKUP) {
                    Err(ServiceError::AlreadyExists)
                } else {
                    Err(ServiceError::PermissionDenied)
                }
            }
            (Need::OnParent(need), None) => self.decide_on_parent(identity, name, need, management),
            (_, None) => Err(ServiceError::NoSuchMailbox),
            (need, Some(acl)) => {
                let held = rights(&acl, identity, name, authorizer);
                if need.met_by(held) || management {
                    Ok(held)
                } else if held.contains(Rights::LOOKUP) {
                    Err(ServiceError::PermissionDenied)
                } else {
                    Err(ServiceError::NoSuchMailbox)
                }
            }
        }
    }

    /// A name to be created: `need` on the closest existing parent. With no parent, only an
    /// administrator, or a user inside their own hierarchy, may create it (Cyrus reserves
    /// top-level names to administrators).
    fn decide_on_parent(
        &self,
        identity: &Identity,
        name: &MailboxName,
        need: Rights,
        management: bool,
    ) -> Result<Rights> {
        let authorizer = self.access.authorizer.as_ref();
        match self.closest_parent(name)? {
            Some((parent, acl)) => {
                let held = rights(&acl, identity, &parent, authorizer);
                if held.contains(need) || management {
                    Ok(held)
                } else {
                    Err(ServiceError::PermissionDenied)
                }
            }
            None if management || identity.owns(name) => Ok(implicit(identity, name)),
            None => Err(ServiceError::PermissionDenied),
        }
    }

    /// MYRIGHTS (RFC 4314 §3.5): the identity's rights; any right at all lets it ask.
    pub fn my_rights(&self, identity: &Identity, client_name: &str) -> Result<Rights> {
        Ok(self
            .authorize(identity, client_name, Operation::AnyRight)?
            .rights())
    }

    /// GETACL (RFC 4314 §3.3): the mailbox's ACL; needs `a`.
    pub fn get_acl(&self, identity: &Identity, client_name: &str) -> Result<Acl> {
        let name = self.namespace.to_internal(identity, client_name)?;
        self.get_acl_internal(identity, name)
    }

    /// As [`MailService::get_acl`], for an internal name (the admin CLI).
    pub fn get_acl_internal(&self, identity: &Identity, name: MailboxName) -> Result<Acl> {
        let mailbox = self.authorize_internal(identity, name, Operation::Administer)?;
        let mut acl = self
            .mailbox_acl(mailbox.name())?
            .ok_or(ServiceError::NoSuchMailbox)?;
        if !identity.is_global_admin() {
            // Users of another virtual domain (entries only a global administrator can have
            // made) are not shown to anyone of this one.
            let domains = self.domains();
            let foreign: Vec<Identifier> = acl
                .entries()
                .iter()
                .filter(|e| match &e.identifier.principal {
                    Principal::User(u) => domains.domain_of(u.as_str()) != mailbox.name().domain(),
                    Principal::Group(_) | Principal::Anyone | Principal::Anonymous => false,
                })
                .map(|e| e.identifier.clone())
                .collect();
            for identifier in foreign {
                acl.remove(&identifier);
            }
        }
        Ok(acl)
    }

    /// SETACL (RFC 4314 §3.1): changes (`+`/`-` or replaces) the identifier's rights; needs
    /// `a`. The identifier is canonicalised by the authorization mechanism first; one it
    /// does not know is refused. Both copies of the ACL (mailboxes database and the mailbox's
    /// header file) are rewritten.
    pub fn set_acl(
        &self,
        identity: &Identity,
        client_name: &str,
        identifier: &str,
        change: RightsChange,
    ) -> Result<()> {
        let name = self.namespace.to_internal(identity, client_name)?;
        self.set_acl_internal(identity, name, identifier, change)
    }

    /// As [`MailService::set_acl`], for an internal name (the admin CLI).
    pub fn set_acl_internal(
        &self,
        identity: &Identity,
        name: MailboxName,
        identifier: &str,
        change: RightsChange,
    ) -> Result<()> {
        self.edit_acl(identity, name, identifier, |acl, identifier| {
            acl.apply(identifier, change);
            true
        })
    }

    /// DELETEACL (RFC 4314 §3.2): removes the identifier's entry; needs `a`.
    pub fn delete_acl(
        &self,
        identity: &Identity,
        client_name: &str,
        identifier: &str,
    ) -> Result<()> {
        let name = self.namespace.to_internal(identity, client_name)?;
        self.delete_acl_internal(identity, name, identifier)
    }

    /// As [`MailService::delete_acl`], for an internal name (the admin CLI).
    pub fn delete_acl_internal(
        &self,
        identity: &Identity,
        name: MailboxName,
        identifier: &str,
    ) -> Result<()> {
        self.edit_acl(identity, name, identifier, |acl, identifier| {
            acl.remove(&identifier)
        })
    }

    /// SETACL's and DELETEACL's common part: `a` on the mailbox, the identifier canonicalised,
    /// the ACL read, `edit` applied, and the ACL stored again (both copies) when `edit` says
    /// it changed.
    fn edit_acl(
        &self,
        identity: &Identity,
        name: MailboxName,
        identifier: &str,
        edit: impl FnOnce(&mut Acl, Identifier) -> bool,
    ) -> Result<()> {
        let mailbox = self.authorize_internal(identity, name, Operation::Administer)?;
        let identifier = self.canonical_identifier(identity, mailbox.name(), identifier)?;
        let mut acl = self
            .mailbox_acl(mailbox.name())?
            .ok_or(ServiceError::NoSuchMailbox)?;
        let subject = identifier.to_string();
        if edit(&mut acl, identifier.clone()) {
            let _writing = self.writing(&[mailbox.name()], crate::transfer::Reach::Mailbox)?;
            self.store.set_acl(mailbox.name(), &acl.to_stored())?;
            self.published_update(mailbox.name());
            let rights = acl
                .get(&identifier)
                .map(|r| r.to_string())
                .unwrap_or_default();
            self.report_acl(mailbox.actor(), mailbox.name(), &subject, &rights);
        }
        Ok(())
    }

    /// LISTRIGHTS (RFC 4314 §3.4); needs `a`. The rights always granted to the identifier (the
    /// implicit `l a` of a mailbox's owner), and the rights that may be granted, none of them
    /// tied to another (the protocol lists each on its own).
    pub fn list_rights(
        &self,
        identity: &Identity,
        client_name: &str,
        identifier: &str,
    ) -> Result<(Rights, Rights)> {
        let mailbox = self.authorize(identity, client_name, Operation::Administer)?;
        let identifier = self.canonical_identifier(identity, mailbox.name(), identifier)?;
        let required = match &identifier.principal {
            Principal::User(user) if !identifier.negative => {
                implicit(&self.identity(user), mailbox.name())
            }
            Principal::User(_) | Principal::Group(_) | Principal::Anyone | Principal::Anonymous => {
                Rights::NONE
            }
        };
        Ok((required, Rights::ALL.minus(required)))
    }

    /// An identifier as the authorization mechanism spells it, its `-` kept, for the ACL of
    /// `mailbox` edited by `identity`.
    fn canonical_identifier(
        &self,
        identity: &Identity,
        mailbox: &MailboxName,
        text: &str,
    ) -> Result<Identifier> {
        let (sign, rest) = match text.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", text),
        };
        let refused = || ServiceError::Refused("Invalid identifier");
        let qualified = self
            .qualified_identifier(identity, mailbox, rest)
            .ok_or_else(refused)?;
        let canonical = self
            .access
            .authorizer
            .canonicalise(&qualified)
            .ok_or_else(refused)?;
        Identifier::try_from(format!("{sign}{canonical}").as_str()).map_err(|_| refused())
    }
}

impl MailService {
    /// With virtual domains, a user identifier qualified with its domain: one written without a
    /// domain is a user of the mailbox's own domain (`bob` on `example.com!shared.news` is
    /// `bob@example.com`), the default domain is written bare, and a user of another domain than
    /// the mailbox's may be named by a global administrator only (`None`: refused). `anyone`,
    /// `anonymous` and groups are taken as written: on a domain's mailbox they can only reach
    /// identities of that domain. Without virtual domains the identifier as written.
    fn qualified_identifier(
        &self,
        identity: &Identity,
        mailbox: &MailboxName,
        text: &str,
    ) -> Option<String> {
        let domains = self.domains();
        let is_user = Identifier::try_from(text)
            .is_ok_and(|id| matches!(id.principal, Principal::User(_)) && !id.negative);
        if !domains.enabled() || !is_user {
            return Some(text.to_string());
        }
        let canonical = domains.canonical_userid(text)?;
        let (local, domain) = domains.split(&canonical);
        let domain = match domain {
            None if !text.contains(['@', '%']) => mailbox.domain(),
            other => other,
        };
        if domain != mailbox.domain() && !identity.is_global_admin() {
            return None;
        }
        Some(types::Domains::qualify(local, domain))
    }
}

#[cfg(test)]
#[path = "acl_tests.rs"]
mod tests;
