//! Subscriptions (RFC 9051 §6.3.7): per user, a sorted set of mailbox names in the mailboxes
//! database's `subscriptions` table, keyed (user, name) so one user's list is a prefix scan.
//! Names need not exist (IMAP allows subscribing to a mailbox that is not there).

use types::MailboxName;

use crate::error::{Result, StoreError};
use crate::mailboxes_db::{RECENT, SEEN, SUBS};
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

    /// Forgets what the store keeps per user outside their mailboxes: subscriptions, private
    /// `\Seen` state and `\Recent` marks in other mailboxes. Deleting a user (their INBOX)
    /// calls it, as Cyrus removes the user's seen and subscription files; a user created
    /// again later with the same name starts clean.
    pub fn forget_user(&self, user: &str) -> Result<()> {
        let g = self.inner.global.write()?;
        let subs = user_keys(&g.txn.open_table(SUBS)?, user)?;
        let mut t = g.txn.open_table(SUBS)?;
        for key in &subs {
            t.remove((user, key.as_str()))?;
        }
        drop(t);
        let seen = user_keys(&g.txn.open_table(SEEN)?, user)?;
        let mut t = g.txn.open_table(SEEN)?;
        for key in &seen {
            t.remove((user, key.as_str()))?;
        }
        drop(t);
        let recent = user_keys(&g.txn.open_table(RECENT)?, user)?;
        let mut t = g.txn.open_table(RECENT)?;
        for key in &recent {
            t.remove((user, key.as_str()))?;
        }
        drop(t);
        g.commit()
    }
}

/// The second halves of a `(user, …)`-keyed table's keys for `user`.
fn user_keys<V: redb::Value + 'static>(
    t: &impl ReadableTable<(&'static str, &'static str), V>,
    user: &str,
) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    for item in t.range((user, "")..)? {
        let (k, _) = item?;
        let (u, rest) = k.value();
        if u != user {
            break;
        }
        keys.push(rest.to_string());
    }
    Ok(keys)
}
