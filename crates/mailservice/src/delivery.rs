//! Where LMTP delivers, decided like every other access (RFC 4314 `p`, Cyrus's `lmtpd`):
//!
//! - `user` goes to the user's INBOX. Delivery to an INBOX needs no right: the INBOX is what
//!   makes a user known to delivery, and its ACL is the owner's to shape for IMAP.
//! - `user+detail` goes to the user's mailbox `detail` (`user.NAME.detail`) when it exists and
//!   the delivering identity holds `p` there, else to the INBOX. The detail is written in the
//!   client's namespace: its separator addresses sub-mailboxes (`bovik+work.projects`, or
//!   `bovik+work/projects` under `unixhierarchysep`, is `user.bovik.work.projects`), and it is
//!   taken as written, never case-folded (Cyrus's `lmtp_downcase_rcpt` folds only the part
//!   before the `+`). A detail naming a mailbox the sender may not post to, or may not even
//!   see, is answered exactly like one naming no mailbox: the mail goes to the INBOX.
//! - `postuser+name` (Cyrus's `postuser`) goes to the shared mailbox `name` when it exists and
//!   the identity holds `p` there. When the identity may see it (`l`) but not post, the
//!   recipient is refused as not authorized ([`ServiceError::PermissionDenied`], LMTP's
//!   `550 5.7.1`); a mailbox it may not see, or that does not exist, is an unknown recipient in
//!   the same words as any other, so that RCPT reveals nothing about which shared mailboxes
//!   exist (RFC 4314 §4). A user's mailboxes are not reached this way: `user+detail` is their
//!   address.
//!
//! An unauthenticated delivery acts as the anonymous identity, so `p` must be granted to
//! `anyone` or `anonymous` (Cyrus's usual `anyone p`) for mail to reach a detail or shared
//! mailbox.

use types::{MailboxName, Rights};

use crate::access::{Authorized, Identity, Operation};
use crate::error::ServiceError;
use crate::MailService;

type Result<T> = std::result::Result<T, ServiceError>;

/// What an LMTP recipient's local part names, once the server has split it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryAddress {
    /// `user` or `user+detail`; the detail as written, in the client's namespace form.
    User {
        user: String,
        detail: Option<String>,
    },
    /// `postuser+name`: a shared mailbox, `name` in the client's namespace form.
    Shared { name: String },
}

impl MailService {
    /// The mailbox a message for `address`, delivered by `sender`, goes to (see the module
    /// documentation). `NoSuchMailbox` for every recipient that is not deliverable and not
    /// visible, whatever the reason, so that the reply is the same for all of them;
    /// `PermissionDenied` for a shared mailbox `sender` sees but may not post to; other errors
    /// are failures.
    pub fn delivery_target(
        &self,
        sender: &Identity,
        address: &DeliveryAddress,
    ) -> Result<Authorized> {
        match address {
            DeliveryAddress::User { user, detail } => {
                let inbox = self
                    .namespace
                    .user_inbox(user)
                    .map_err(|_| ServiceError::NoSuchMailbox)?;
                self.store.mailbox_entry(&inbox)?;
                if let Some(detail) = detail {
                    if let Some(target) = self.detail_target(sender, &inbox, detail)? {
                        return Ok(target);
                    }
                }
                let owner = Identity::new(user, false).with_inbox(Some(inbox.clone()));
                Ok(Authorized::new(
                    &owner,
                    inbox,
                    Operation::Post,
                    Rights::POST,
                ))
            }
            DeliveryAddress::Shared { name } => {
                let internal = self.namespace.path_to_internal(name);
                let name = MailboxName::try_from(internal)
                    .ok()
                    .filter(|n| n.owner_user().is_none() && n.as_str() != "user")
                    .ok_or(ServiceError::NoSuchMailbox)?;
                match self.authorize_internal(sender, name, Operation::Post) {
                    Err(
                        ServiceError::NoSuchMailbox
                        | ServiceError::BadName(_)
                        | ServiceError::Refused(_),
                    ) => Err(ServiceError::NoSuchMailbox),
                    other => other,
                }
            }
        }
    }

    /// The mailbox `detail` of the user whose INBOX is `inbox`, when `sender` may post there.
    fn detail_target(
        &self,
        sender: &Identity,
        inbox: &MailboxName,
        detail: &str,
    ) -> Result<Option<Authorized>> {
        let path = self.namespace.path_to_internal(detail);
        match MailboxName::try_from(format!("{inbox}.{path}")) {
            Ok(name) => self.postable(sender, name),
            Err(_) => Ok(None),
        }
    }

    /// `name`, authorized for posting by `sender`; `None` when it does not exist or `sender`
    /// lacks `p` (or cannot see it), which callers must not tell apart.
    fn postable(&self, sender: &Identity, name: MailboxName) -> Result<Option<Authorized>> {
        match self.authorize_internal(sender, name, Operation::Post) {
            Ok(target) => Ok(Some(target)),
            Err(
                ServiceError::NoSuchMailbox
                | ServiceError::PermissionDenied
                | ServiceError::BadName(_)
                | ServiceError::Refused(_),
            ) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
#[path = "delivery_tests.rs"]
mod tests;
