//! Subscriptions (RFC 9051 §6.3.7): per user, a sorted set of mailbox names in the mailboxes
//! database's `subscriptions` table, keyed (user, name) so one user's list is a prefix scan.
//! Names need not exist (IMAP allows subscribing to a mailbox that is not there).

use types::MailboxName;

use crate::error::{Result, StoreError};
use crate::mailboxes_db::SUBS;
use crate::Store;

impl Store {
    pub fn subscribe(&self, user: &str, name: &MailboxName) -> Result<()> {
        let g = self.inner.global.write()?;
        g.txn.open_table(SUBS)?.insert((user, name.as_str()), ())?;
        g.commit()
    }

    /// Removing a subscription that does not exist is not an error.
    pub fn unsubscribe(&self, user: &str, name: &MailboxName) -> Result<()> {
        let g = self.inner.global.write()?;
        g.txn.open_table(SUBS)?.remove((user, name.as_str()))?;
        g.commit()
    }

    /// The user's subscriptions in name order.
    pub fn subscriptions(&self, user: &str) -> Result<Vec<MailboxName>> {
        let r = self.inner.global.read()?;
        let t = r.txn.open_table(SUBS)?;
        let mut out = Vec::new();
        for item in t.range((user, "")..)? {
            let (k, _) = item?;
            let (u, name) = k.value();
            if u != user {
                break;
            }
            let name = MailboxName::try_from(name)
                .map_err(|e| StoreError::corrupt("subscriptions", e.to_string()))?;
            out.push(name);
        }
        Ok(out)
    }
}
