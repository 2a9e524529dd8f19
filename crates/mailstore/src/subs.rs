//! Subscriptions (RFC 9051 §6.3.7): per user, a sorted set of mailbox names in the mailboxes
//! database's `subscriptions` table, keyed (user, name) so one user's list is a prefix scan.
//! Names need not exist (IMAP allows subscribing to a mailbox that is not there).

use types::MailboxName;

use crate::error::{Result, StoreError};
use crate::mailboxes_db::{keys_under, RECENT, SEEN, SUBS};
use crate::Store;
use redb::ReadableTable;

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

    /// Every subscription naming a mailbox the mailboxes database does not have, as
    /// `(user, name)` in user and name order (for `darius check`; IMAP allows them, but one
    /// left by a lost database entry is worth a look). At most `limit` are returned.
    pub fn dangling_subscriptions(&self, limit: usize) -> Result<Vec<(String, MailboxName)>> {
        let r = self.inner.global.read()?;
        let t = r.txn.open_table(SUBS)?;
        let mut out = Vec::new();
        for item in t.iter()? {
            let (k, _) = item?;
            let (user, name) = k.value();
            let Ok(name) = MailboxName::try_from(name) else {
                continue;
            };
            if r.entry(&name)?.is_none() {
                out.push((user.to_string(), name));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
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
