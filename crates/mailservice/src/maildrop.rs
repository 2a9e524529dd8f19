//! POP3 maildrop claims (RFC 1939 §8: the server should lock the maildrop for the session).
//!
//! A POP3 session holds its user's INBOX from login to the end of the session: a second POP3
//! session of the same user is refused (`[IN-USE]`, RFC 2449 §8.1.1), and no other session may
//! expunge from the INBOX meanwhile, so that the message numbers the POP3 client was given at
//! login keep naming the same messages, as Cyrus does. Flag changes, APPEND and delivery go on:
//! a POP3 session sees the maildrop as it was at login (RFC 1939 §4) and later mail at its next
//! login.
//!
//! The claims live in the server's memory, shared by every protocol server through the
//! service, not on disk: one `darius serve` owns a data directory (its lock file), and a
//! crash releases them with the process, so a stale claim can never lock a user out.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use mailstore::Expunge;
use types::{MailboxName, Uid};

use crate::access::Authorized;
use crate::error::ServiceError;
use crate::MailService;

/// The INBOXes POP3 sessions hold.
#[derive(Default)]
pub(crate) struct Claims {
    held: Mutex<HashSet<MailboxName>>,
}

impl Claims {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<MailboxName>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn is_held(&self, name: &MailboxName) -> bool {
        self.lock().contains(name)
    }
}

/// A POP3 session's hold on its maildrop; released when dropped (the session ends, however).
pub struct MaildropClaim {
    claims: Arc<Claims>,
    mailbox: Authorized,
}

impl MaildropClaim {
    /// The mailbox held.
    pub fn mailbox(&self) -> &Authorized {
        &self.mailbox
    }
}

impl std::fmt::Debug for MaildropClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MaildropClaim")
            .field(self.mailbox.name())
            .finish()
    }
}

impl Drop for MaildropClaim {
    fn drop(&mut self) {
        self.claims.lock().remove(self.mailbox.name());
    }
}

impl MailService {
    /// Takes the maildrop `mailbox` for a POP3 session; `None` while another session holds it.
    pub fn claim_maildrop(&self, mailbox: Authorized) -> Option<MaildropClaim> {
        if !self.claims.lock().insert(mailbox.name().clone()) {
            return None;
        }
        Some(MaildropClaim {
            claims: Arc::clone(&self.claims),
            mailbox,
        })
    }

    /// Whether a POP3 session holds `name` (then only that session may expunge there).
    pub fn maildrop_held(&self, name: &MailboxName) -> bool {
        self.claims.is_held(name)
    }

    /// The POP3 session's own expunge of the messages it marked (`DELE`, then `QUIT`): these
    /// UIDs whatever their flags, on stable storage when this returns. Needs `e`, as any
    /// expunge does (the owner has it on their INBOX).
    pub fn expunge_maildrop(
        &self,
        claim: &MaildropClaim,
        uids: Vec<Uid>,
    ) -> Result<Vec<Uid>, ServiceError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let mailbox = &claim.mailbox;
        if !mailbox.rights().contains(types::Rights::EXPUNGE) {
            return Err(ServiceError::PermissionDenied);
        }
        let _writing = self.writing(&[mailbox.name()], crate::transfer::Reach::Mailbox)?;
        let over = self.over_quota_before(mailbox.name());
        let gone = self.store.expunge(mailbox.name(), Expunge::Uids(uids))?;
        self.report_expunged(mailbox.actor(), mailbox.name(), &gone);
        if !gone.is_empty() {
            self.report_within_quota(mailbox.actor(), over);
        }
        Ok(gone)
    }

    /// Refuses an expunge from `mailbox` by anyone but the POP3 session holding it.
    pub(crate) fn check_not_held(&self, mailbox: &MailboxName) -> Result<(), ServiceError> {
        if self.claims.is_held(mailbox) {
            return Err(ServiceError::HeldByPop3);
        }
        Ok(())
    }
}
