//! Subscriptions (RFC 9051 §6.3.7): per user, a sorted set of mailbox names in the mailboxes
//! database's `subscriptions` table, keyed (user, name) so one user's list is a prefix scan.
//! Names need not exist (IMAP allows subscribing to a mailbox that is not there).

use types::MailboxName;

use crate::error::{Result, StoreError};
use crate::mailboxes_db::{keys_under, RECENT, SEEN, SUBS};
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
        keys_under(&r.txn.open_table(SUBS)?, user)?
            .into_iter()
            .map(|name| {
                MailboxName::try_from(name.as_str())
                    .map_err(|e| StoreError::corrupt("subscriptions", e.to_string()))
            })
            .collect()
    }

    /// Forgets what the store keeps per user outside their mailboxes: subscriptions, private
    /// `\Seen` state and `\Recent` marks in other mailboxes. Deleting a user (their INBOX)
    /// calls it, as Cyrus removes the user's seen and subscription files; a user created
    /// again later with the same name starts clean.
    pub fn forget_user(&self, user: &str) -> Result<()> {
        let g = self.inner.global.write()?;
        let subs = keys_under(&g.txn.open_table(SUBS)?, user)?;
        let mut t = g.txn.open_table(SUBS)?;
        for key in &subs {
            t.remove((user, key.as_str()))?;
        }
        drop(t);
        let seen = keys_under(&g.txn.open_table(SEEN)?, user)?;
        let mut t = g.txn.open_table(SEEN)?;
        for key in &seen {
            t.remove((user, key.as_str()))?;
        }
        drop(t);
        let recent = keys_under(&g.txn.open_table(RECENT)?, user)?;
        let mut t = g.txn.open_table(RECENT)?;
        for key in &recent {
            t.remove((user, key.as_str()))?;
        }
        drop(t);
        g.commit()
    }
}
