//! Quota accounting hooks: quota roots and their usage.
//!
//! A quota root is a mailbox name registered in the mailboxes database's `quota_roots` table
//! (with limits the service layer enforces). A mailbox's root is its nearest ancestor-or-self
//! that is registered. Usage is not a separate counter that could drift: each mailbox's index
//! header carries its message count and RFC 822 size total, updated in the same transaction as
//! the messages themselves, and a root's usage is the sum over the mailboxes it governs. Each
//! hard-linked copy counts in full, since every mailbox counts its own records.

use redb::ReadableTable;
use types::MailboxName;

use crate::error::{Result, StoreError};
use crate::mailboxes_db::QUOTA_ROOTS;
use crate::model::{QuotaLimits, QuotaUsage};
use crate::Store;

impl Store {
    /// Defines (or redefines the limits of) a quota root.
    pub fn set_quota_root(&self, root: &MailboxName, limits: QuotaLimits) -> Result<()> {
        let json = serde_json::to_vec(&limits)
            .map_err(|e| StoreError::corrupt("quota limits", e.to_string()))?;
        let g = self.inner.global.write()?;
        g.txn
            .open_table(QUOTA_ROOTS)?
            .insert(root.as_str(), json.as_slice())?;
        g.commit()
    }

    pub fn remove_quota_root(&self, root: &MailboxName) -> Result<()> {
        let g = self.inner.global.write()?;
        g.txn.open_table(QUOTA_ROOTS)?.remove(root.as_str())?;
        g.commit()
    }

    /// All quota roots in name order with their limits.
    pub fn quota_roots(&self) -> Result<Vec<(MailboxName, QuotaLimits)>> {
        let r = self.inner.global.read()?;
        let t = r.txn.open_table(QUOTA_ROOTS)?;
        let mut out = Vec::new();
        for item in t.iter()? {
            let (k, v) = item?;
            let name = MailboxName::try_from(k.value())
                .map_err(|e| StoreError::corrupt("quota roots", e.to_string()))?;
            let limits = serde_json::from_slice(v.value())
                .map_err(|e| StoreError::corrupt("quota limits", e.to_string()))?;
            out.push((name, limits));
        }
        Ok(out)
    }

    /// The quota root governing `name`: its nearest registered ancestor-or-self.
    pub fn quota_root_of(&self, name: &MailboxName) -> Result<Option<MailboxName>> {
        let r = self.inner.global.read()?;
        let t = r.txn.open_table(QUOTA_ROOTS)?;
        let mut cur = Some(name.clone());
        while let Some(n) = cur {
            if t.get(n.as_str())?.is_some() {
                return Ok(Some(n));
            }
            cur = n.parent();
        }
        Ok(None)
    }

    /// Usage charged to `root`: all mailboxes within it except those governed by a deeper root.
    pub fn quota_usage(&self, root: &MailboxName) -> Result<QuotaUsage> {
        let mut usage = QuotaUsage::default();
        for entry in self.list_mailboxes(Some(root))? {
            let governed_deeper = self
                .quota_root_of(&entry.name)?
                .is_some_and(|r| &r != root && r.is_within(root));
            if governed_deeper {
                continue;
            }
            let owner = self.inner.owners.get(&entry.name.hierarchy_root())?;
            if let Some(h) = owner.read()?.header(&entry.uniqueid)? {
                usage.storage_bytes += h.size;
                usage.messages += u64::from(h.exists);
            }
        }
        Ok(usage)
    }
}
