//! A Cyrus backend moving mailboxes here by its legacy XFER (the one it uses for a target
//! without replication): `LOCALCREATE`, `UNDUMP` (read by the IMAP server into the incoming
//! steps of [`super::target`]), then `LOCALDELETE` if it gives up, or `MUPDATEPUSH` once it
//! has deleted its own copy. What those need beyond the incoming steps is here: each is an
//! administrator's, on a server that holds mail in a Murder, as every transfer step.

use mailstore::{FlagChange, QuotaLimits, RecordFields, SeenSource, UidSelection};
use types::{Flag, MailboxName, Uid};

use crate::access::Identity;
use crate::error::ServiceError;
use crate::MailService;

type Result<T> = std::result::Result<T, ServiceError>;

/// UIDs changed in one store call.
const SEEN_CHUNK: usize = 1000;

impl MailService {
    /// The owner's `\Seen` on the messages of `name` (held here) whose UIDs fall in `ranges`
    /// (inclusive): a Cyrus XFER sends the moved user's seen state with the user's INBOX,
    /// after the other mailboxes.
    pub fn incoming_owner_seen(
        &self,
        identity: &Identity,
        name: &MailboxName,
        ranges: &[(u32, u32)],
    ) -> Result<usize> {
        self.may_transfer(identity)?;
        if !self.store.holds_locally(name)? {
            return Err(ServiceError::NoSuchMailbox);
        }
        let records = self.store.records(
            name,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::BASIC,
        )?;
        let uids: Vec<Uid> = records
            .iter()
            .map(|r| r.uid)
            .filter(|uid| {
                let n = uid.get();
                let i = ranges.partition_point(|&(_, hi)| hi < n);
                ranges.get(i).is_some_and(|&(lo, _)| lo <= n)
            })
            .collect();
        for chunk in uids.chunks(SEEN_CHUNK) {
            self.store.store_flags(
                name,
                SeenSource::Index,
                chunk,
                FlagChange::Add(vec![Flag::Seen]),
                None,
            )?;
        }
        Ok(uids.len())
    }

    /// `LOCALDELETE`: the copy of `name` a Cyrus XFER made here goes, the directory untouched
    /// (the source keeps the name).
    pub fn cyrus_local_delete(&self, identity: &Identity, name: &MailboxName) -> Result<()> {
        self.may_transfer(identity)?;
        if !self.store.holds_locally(name)? {
            return Err(ServiceError::NoSuchMailbox);
        }
        self.store.delete_mailbox(name)?;
        self.refresh_copy(name);
        Ok(())
    }

    /// `MUPDATEPUSH`: the directory names this server for `name`, held here, whoever it
    /// named before (the Cyrus source deactivated its entry and deleted its copy).
    pub fn cyrus_take_over(&self, identity: &Identity, name: &MailboxName) -> Result<()> {
        self.may_transfer(identity)?;
        if !self.store.holds_locally(name)? {
            return Err(ServiceError::NoSuchMailbox);
        }
        let entry = self.store.mailbox_entry(name)?;
        let Some(cluster) = self.cluster() else {
            return Ok(());
        };
        Ok(cluster.take_over(&entry)?)
    }

    /// `SETQUOTA +root`, Cyrus's form that makes `root` a quota root whether or not a
    /// mailbox exists there yet (an XFER sets the moved user's root before the mailboxes
    /// come). Global administrators only.
    pub fn set_quota_forced(
        &self,
        identity: &Identity,
        client_root: &str,
        limits: QuotaLimits,
    ) -> Result<crate::QuotaReport> {
        if !identity.is_global_admin() {
            return Err(ServiceError::PermissionDenied);
        }
        let root = self
            .namespace
            .quota_root_to_internal(identity, client_root)?;
        self.store.set_quota_root(&root, limits)?;
        let usage = self.store.quota_usage(&root)?;
        Ok(crate::QuotaReport {
            root,
            limits,
            usage,
        })
    }

    /// The limits of an UNDUMP's quota (`X-QUOTA`, or its storage member) on `root`, held
    /// here.
    pub fn incoming_quota(
        &self,
        identity: &Identity,
        root: &MailboxName,
        limits: QuotaLimits,
    ) -> Result<()> {
        self.may_transfer(identity)?;
        self.store.set_quota_root(root, limits)?;
        Ok(())
    }
}
