//! Delayed delete (Cyrus's `delete_mode: delayed`): DELETE hides a mailbox instead of removing
//! it, `undelete` brings it back, `purge_deleted` removes those hidden long enough.
//!
//! A deleted mailbox is renamed, alone, to `PREFIX.OLDNAME.HEXTIME` (`deletedprefix`, default
//! `DELETED`; HEXTIME the deletion's Unix seconds in upper-case hexadecimal, as Cyrus names
//! them): its messages, flags, UIDs and ACL travel with it. A user's INBOX takes the whole
//! hierarchy, each mailbox under its own hidden name with the same HEXTIME, so that `undelete`
//! of the INBOX brings all of it back. Names under the prefix are invisible to clients: LIST
//! leaves them out and every client operation on one answers as for a missing mailbox.
//!
//! With virtual domains a domain's mailbox is hidden in its own domain
//! (`example.com!DELETED.user.bob.Trash.5F3A9C10`), so the prefix applies within each domain.
//!
//! Must not: touch message files (the store's rename keeps them where they are).

use types::MailboxName;

use crate::error::ServiceError;
use crate::MailService;

type Result<T> = std::result::Result<T, ServiceError>;

/// Longest HEXTIME tried past the deletion time when a hidden name is taken already.
const NAME_TRIES: i64 = 64;

/// What DELETE does (`delete_mode`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteMode {
    /// Hide under this prefix (a top-level name), for `undelete`.
    Delayed { prefix: MailboxName },
    /// Remove at once.
    Immediate,
}

/// A mailbox hidden by a delayed delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletedMailbox {
    /// Its hidden name (`DELETED.user.bob.Trash.5F3A9C10`).
    pub hidden: MailboxName,
    /// The name it had.
    pub original: MailboxName,
    /// Unix seconds of the deletion.
    pub deleted_at: i64,
}

impl MailService {
    /// The same service deleting mailboxes as `mode` says (the default is
    /// [`DeleteMode::Immediate`]).
    pub fn with_delete_mode(mut self, mode: DeleteMode) -> MailService {
        self.delete_mode = std::sync::Arc::new(mode);
        self
    }

    /// Whether `name` lies under the hidden prefix of delayed delete.
    pub fn is_hidden_name(&self, name: &MailboxName) -> bool {
        match &*self.delete_mode {
            DeleteMode::Delayed { prefix } => within_prefix(name, prefix),
            DeleteMode::Immediate => false,
        }
    }

    /// Deletes the mailboxes `names` (deepest first) as `delete_mode` says, all under one
    /// deletion time.
    pub(crate) fn remove_mailboxes(&self, names: &[MailboxName]) -> Result<()> {
        let DeleteMode::Delayed { prefix } = &*self.delete_mode else {
            for name in names {
                self.store.delete_mailbox(name)?;
                self.published_remove(std::slice::from_ref(name));
            }
            return Ok(());
        };
        let now = self.store.config().clock.now();
        for name in names {
            let newsgroup = self
                .store
                .mailbox_entry(name)
                .is_ok_and(|e| e.mailbox_type == mailstore::MailboxType::Netnews);
            if within_prefix(name, prefix) || newsgroup {
                // Deleting what is hidden already (an administrator's choice): gone for good.
                // A newsgroup is not hidden either: its index is all there is of it here, and
                // `collectnews` makes it again from the news spool.
                self.store.delete_mailbox(name)?;
            } else {
                self.hide(prefix, name, now)?;
            }
            // A hidden mailbox is no one's to reach through the cluster.
            self.published_remove(std::slice::from_ref(name));
        }
        Ok(())
    }

    fn hide(&self, prefix: &MailboxName, name: &MailboxName, now: i64) -> Result<()> {
        for t in now..now.saturating_add(NAME_TRIES) {
            let hidden = hidden_name(prefix, name, t)?;
            match self.store.rename_alone(name, &hidden) {
                Err(mailstore::StoreError::AlreadyExists(_)) => continue,
                other => return Ok(other?),
            }
        }
        Err(ServiceError::AlreadyExists)
    }

    /// Administration (`darius undelete -l`): the mailboxes a delayed delete hid, by hidden
    /// name.
    pub fn deleted_mailboxes(&self) -> Result<Vec<DeletedMailbox>> {
        let DeleteMode::Delayed { prefix } = &*self.delete_mode else {
            return Ok(Vec::new());
        };
        // With virtual domains each domain has its own hidden names: every name is looked at.
        let scope = (!self.domains().enabled()).then_some(prefix);
        Ok(self
            .store
            .list_mailboxes(scope)?
            .into_iter()
            .filter_map(|e| parse_hidden(prefix, &e.name))
            .collect())
    }

    /// Administration (`darius undelete NAME [--to NEW]`): brings back the mailbox deleted as
    /// `name` and the mailboxes below it deleted with it (same deletion time; the latest
    /// deletion of `name` when there were several), under `to` when given. Returns `(hidden,
    /// restored)` names; [`ServiceError::NoSuchMailbox`] when nothing was deleted as `name`,
    /// [`ServiceError::AlreadyExists`] (nothing moved) when a restored name is taken.
    pub fn undelete(
        &self,
        name: &MailboxName,
        to: Option<&MailboxName>,
    ) -> Result<Vec<(MailboxName, MailboxName)>> {
        let deleted = self.deleted_mailboxes()?;
        let when = deleted
            .iter()
            .filter(|d| &d.original == name)
            .map(|d| d.deleted_at)
            .max()
            .ok_or(ServiceError::NoSuchMailbox)?;
        let target = to.unwrap_or(name);
        let mut moves = Vec::new();
        for d in deleted
            .into_iter()
            .filter(|d| d.deleted_at == when && d.original.is_within(name))
        {
            let suffix = &d.original.as_str()[name.as_str().len()..];
            let restored = MailboxName::try_from(format!("{target}{suffix}"))
                .map_err(|e| ServiceError::BadName(e.to_string()))?;
            if self.store.mailbox_entry(&restored).is_ok() {
                return Err(ServiceError::AlreadyExists);
            }
            moves.push((d.hidden, restored));
        }
        // Parents first, so that each restored mailbox lands below an existing one.
        moves.sort_by_key(|(_, to)| to.levels().count());
        for (hidden, restored) in &moves {
            self.store.rename_alone(hidden, restored)?;
        }
        Ok(moves)
    }

    /// Housekeeping and `darius expire`: removes the hidden mailboxes deleted before
    /// `older_than_unix`; returns how many went.
    pub fn purge_deleted(&self, older_than_unix: i64) -> Result<usize> {
        let mut gone = 0;
        for d in self.deleted_mailboxes()? {
            if d.deleted_at < older_than_unix {
                self.store.delete_mailbox(&d.hidden)?;
                gone += 1;
            }
        }
        Ok(gone)
    }
}

/// Whether `name` lies under the hidden prefix within its own domain.
fn within_prefix(name: &MailboxName, prefix: &MailboxName) -> bool {
    name.without_domain()
        .is_some_and(|local| local.is_within(prefix))
}

/// `PREFIX.NAME.HEXTIME`, in the domain of `name`.
fn hidden_name(prefix: &MailboxName, name: &MailboxName, at: i64) -> Result<MailboxName> {
    MailboxName::try_from(format!("{prefix}.{}.{at:X}", name.local()))
        .and_then(|hidden| hidden.in_domain(name.domain()))
        .map_err(|e| ServiceError::BadName(e.to_string()))
}

/// The deleted mailbox a hidden name stands for; `None` for a name not of that shape.
fn parse_hidden(prefix: &MailboxName, hidden: &MailboxName) -> Option<DeletedMailbox> {
    let rest = hidden
        .local()
        .strip_prefix(prefix.as_str())?
        .strip_prefix('.')?;
    let (original, hex) = rest.rsplit_once('.')?;
    let original = MailboxName::try_from(original)
        .ok()?
        .in_domain(hidden.domain())
        .ok()?;
    Some(DeletedMailbox {
        hidden: hidden.clone(),
        original,
        deleted_at: i64::from_str_radix(hex, 16).ok()?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Identity, Operation};

    fn n(s: &str) -> MailboxName {
        MailboxName::try_from(s).unwrap()
    }

    fn delayed(dir: &std::path::Path) -> MailService {
        crate::service_for_tests(dir, &["admin"], false).with_delete_mode(DeleteMode::Delayed {
            prefix: n("DELETED"),
        })
    }

    #[test]
    fn a_deleted_user_is_hidden_whole_and_undeleted_whole() {
        let dir = tempfile::tempdir().unwrap();
        let s = delayed(dir.path());
        s.create_user("bob").unwrap();
        let admin = Identity::new("admin", true);
        let sub = s
            .authorize_internal(&admin, n("user.bob.Sent"), Operation::Create)
            .unwrap();
        s.create(&admin, &sub, Vec::new(), None).unwrap();
        assert_eq!(s.delete_user("bob").unwrap(), 2);

        let deleted = s.deleted_mailboxes().unwrap();
        assert_eq!(deleted.len(), 2);
        assert!(deleted
            .iter()
            .all(|d| d.deleted_at == deleted[0].deleted_at));
        for name in ["user.bob", "user.bob.Sent"] {
            let e = s.authorize_internal(&admin, n(name), Operation::Read);
            assert!(matches!(e, Err(ServiceError::NoSuchMailbox)), "{name}");
        }
        let hidden = s.authorize_internal(&admin, deleted[0].hidden.clone(), Operation::Read);
        assert!(
            matches!(hidden, Err(ServiceError::NoSuchMailbox)),
            "no client sees it"
        );
        let listed = s.list_visible(&admin).unwrap();
        assert!(listed.is_empty(), "{listed:?}");

        let back = s.undelete(&n("user.bob"), None).unwrap();
        let names: Vec<&str> = back.iter().map(|(_, to)| to.as_str()).collect();
        assert_eq!(names, ["user.bob", "user.bob.Sent"]);
        assert!(s.deleted_mailboxes().unwrap().is_empty());
        let r = s.undelete(&n("user.bob"), None);
        assert!(matches!(r, Err(ServiceError::NoSuchMailbox)));
    }

    #[test]
    fn purge_removes_only_what_was_deleted_before_the_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let s = delayed(dir.path());
        s.create_user("bob").unwrap();
        s.delete_user("bob").unwrap();
        let at = s.deleted_mailboxes().unwrap()[0].deleted_at;
        assert_eq!(s.purge_deleted(at).unwrap(), 0);
        assert_eq!(s.purge_deleted(at + 1).unwrap(), 1);
        assert!(s.deleted_mailboxes().unwrap().is_empty());
    }

    #[test]
    fn a_hidden_name_reads_back_as_the_name_and_time_it_was_made_of() {
        let h = hidden_name(&n("DELETED"), &n("user.bob.Trash"), 0x5F3A_9C10).unwrap();
        assert_eq!(h.as_str(), "DELETED.user.bob.Trash.5F3A9C10");
        let d = parse_hidden(&n("DELETED"), &h).unwrap();
        assert_eq!(d.original, n("user.bob.Trash"));
        assert_eq!(d.deleted_at, 0x5F3A_9C10);
        assert!(parse_hidden(&n("DELETED"), &n("DELETED.x")).is_none());
        assert!(parse_hidden(&n("DELETED"), &n("DELETEDX.user.a.1")).is_none());
    }
}
