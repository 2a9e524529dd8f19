//! The source's side of a transfer, and the settling of both sides' markers at start.
//!
//! The source reads each mailbox from one snapshot (status and UIDs), its records and message
//! files a page at a time; the IMAP server sends them. Once the hierarchy is frozen and the
//! last differences sent and committed at the target, the source writes its outgoing marker
//! and switches each mailbox's directory entry to the target ([`Cluster::switch`], the commit
//! point), then hands its copies over (the local entry replaced by the remote one naming the
//! target, in one commit) and removes the marker.
//!
//! After a crash, the markers say what may be half done, and the directory says how it
//! ended (module documentation of `transfer`): [`MailService::recover_transfers`].
//!
//! [`Cluster::switch`]: crate::Cluster::switch

use mailstore::{MailboxEntry, MailboxType, MessageRecord, RecordFields, SeenSource};
use mailstore::{SelectSnapshot, UidSelection};
use types::{MailboxName, ModSeq, Uid};

use super::markers::{Incoming, Outgoing, Side};
use super::target::io_failure;
use super::TransferClaim;
use crate::access::Identity;
use crate::cluster::{Backend, DirectoryError};
use crate::error::ServiceError;
use crate::MailService;

type Result<T> = std::result::Result<T, ServiceError>;

/// A mailbox as the target will hold it: the source's entry with the target's partition and
/// uniqueid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMailbox {
    pub entry: MailboxEntry,
}

impl OutgoingMailbox {
    /// `local` (the source's entry) at `partition` with `uniqueid` on the target.
    pub fn at_target(local: &MailboxEntry, partition: &str, uniqueid: &str) -> OutgoingMailbox {
        OutgoingMailbox {
            entry: MailboxEntry {
                partition: partition.to_string(),
                uniqueid: uniqueid.to_string(),
                mailbox_type: MailboxType::Normal,
                ..local.clone()
            },
        }
    }

    /// The entry this server keeps for it once `target` holds it.
    fn remote_entry(&self, target: &str) -> MailboxEntry {
        MailboxEntry {
            partition: format!("{target}!{}", self.entry.partition),
            mailbox_type: MailboxType::Remote,
            ..self.entry.clone()
        }
    }
}

impl MailService {
    /// XFER on the source: checks that `identity` may move `prefix` (a mailbox held here, and
    /// those below it) to `target`, another live backend, and claims the hierarchy. Answers
    /// the claim and how to reach the target.
    pub fn transfer_begin(
        &self,
        identity: &Identity,
        prefix: &MailboxName,
        target: &str,
    ) -> Result<(TransferClaim, Backend)> {
        self.may_transfer(identity)?;
        let Some(cluster) = self.cluster() else {
            return Err(ServiceError::Refused(
                "Mailboxes move only between backends of a Murder",
            ));
        };
        if target == cluster.this_server() {
            return Err(ServiceError::Refused(
                "The mailbox is on that server already",
            ));
        }
        let backend = match cluster.backend(target) {
            Some(b) if b.alive && b.imap.is_some() => b,
            Some(b) if b.alive => {
                return Err(ServiceError::Unavailable(format!(
                    "server {target} runs no IMAP service"
                )))
            }
            _ => {
                return Err(ServiceError::Unavailable(format!(
                    "server {target} is down or unknown to the directory"
                )))
            }
        };
        if !self.store.holds_locally(prefix)? {
            self.store.mailbox_entry(prefix)?;
            return Err(ServiceError::Refused(
                "Another server holds this mailbox: send XFER there",
            ));
        }
        Ok((self.claim_transfer(prefix)?, backend))
    }

    /// The mailboxes a transfer of `prefix` moves, parents first: those held here, not
    /// delayed delete's hidden ones.
    pub fn transfer_mailboxes(&self, prefix: &MailboxName) -> Result<Vec<MailboxEntry>> {
        Ok(self
            .store
            .list_mailboxes(Some(prefix))?
            .into_iter()
            .filter(|e| e.is_local_files() && !self.is_hidden_name(&e.name))
            .collect())
    }

    /// A mailbox's status and UIDs from one snapshot, with the records changed after
    /// `changed_since` (the owner's `\Seen`, as the target keeps it).
    pub fn transfer_snapshot(
        &self,
        name: &MailboxName,
        changed_since: Option<ModSeq>,
    ) -> Result<SelectSnapshot> {
        Ok(self
            .store
            .select_snapshot(name, SeenSource::Index, changed_since)?)
    }

    /// The records of these messages (those still there).
    pub fn transfer_records(&self, name: &MailboxName, uids: &[Uid]) -> Result<Vec<MessageRecord>> {
        Ok(self.store.records(
            name,
            SeenSource::Index,
            UidSelection::Uids(uids),
            RecordFields::BASIC,
        )?)
    }

    /// The file holding a message, to send it from.
    pub fn transfer_message_path(
        &self,
        name: &MailboxName,
        uid: Uid,
    ) -> Result<std::path::PathBuf> {
        Ok(self.store.message_file(name, uid)?)
    }

    /// Records, durably, that the directory entries of `names` (the hierarchy `claim` moves)
    /// may switch to `target` from now on.
    pub fn transfer_mark_outgoing(
        &self,
        claim: &TransferClaim,
        target: &str,
        names: &[MailboxName],
    ) -> Result<()> {
        let marker = Outgoing {
            target: target.to_string(),
            names: names.iter().map(ToString::to_string).collect(),
        };
        self.markers()
            .put(Side::Out, claim.prefix(), &marker)
            .map_err(|e| io_failure("writing the outgoing marker", e))
    }

    /// The commit point for one mailbox: its directory entry names `target` (see
    /// [`crate::Cluster::switch`]).
    pub fn transfer_switch(
        &self,
        mailbox: &OutgoingMailbox,
        target: &str,
    ) -> std::result::Result<(), DirectoryError> {
        match self.cluster() {
            Some(c) => c.switch(&mailbox.entry, target),
            None => Err(DirectoryError::Unavailable("no directory".into())),
        }
    }

    /// Which server the directory names for `name` now.
    pub fn transfer_holder(
        &self,
        name: &MailboxName,
    ) -> std::result::Result<Option<String>, DirectoryError> {
        match self.cluster() {
            Some(c) => c.holder(name),
            None => Err(DirectoryError::Unavailable("no directory".into())),
        }
    }

    /// After the switch: this server's copy goes, and the entry naming `target` takes its
    /// place in one commit (sessions that have it selected hear it is gone).
    pub fn transfer_hand_over(&self, mailbox: &OutgoingMailbox, target: &str) -> Result<()> {
        let name = &mailbox.entry.name;
        if self.store.holds_locally(name)? {
            self.store
                .hand_over_mailbox(name, mailbox.remote_entry(target))?;
        } else {
            self.refresh_copy(name);
        }
        Ok(())
    }

    /// The Sieve scripts of the user whose INBOX `inbox` is, to send with it: each one's
    /// name, text and whether it is the active one. None for any other mailbox.
    pub fn transfer_sieve_scripts(
        &self,
        inbox: &MailboxName,
    ) -> Result<Vec<(String, Vec<u8>, bool)>> {
        let Some(user) = user_of_inbox(inbox) else {
            return Ok(Vec::new());
        };
        let mut scripts = Vec::new();
        for info in self.store.list_sieve_scripts(&user)? {
            if let Some((_, text)) = self.store.read_sieve_script(Some(&user), &info.name)? {
                scripts.push((info.name, text, info.active));
            }
        }
        Ok(scripts)
    }

    /// The subscriptions of the user whose INBOX `inbox` is, to send with it (internal
    /// names). None for any other mailbox.
    pub fn transfer_subscriptions(&self, inbox: &MailboxName) -> Result<Vec<MailboxName>> {
        match user_of_inbox(inbox) {
            Some(user) => Ok(self.store.subscriptions(&user)?),
            None => Ok(Vec::new()),
        }
    }

    /// The quota limits of `root` when it is a quota root here (a user's, set on their INBOX).
    pub fn transfer_quota(&self, root: &MailboxName) -> Result<Option<mailstore::QuotaLimits>> {
        Ok(self.store.quota_limits(root)?)
    }

    /// After the user whose INBOX `inbox` is went to another server: their Sieve scripts,
    /// their subscriptions and the quota root on the INBOX are removed here (the target holds
    /// them now).
    pub fn transfer_forget_user(&self, inbox: &MailboxName) -> Result<()> {
        self.store.remove_quota_root(inbox)?;
        let Some(user) = user_of_inbox(inbox) else {
            return Ok(());
        };
        for name in self.store.subscriptions(&user)? {
            self.store.unsubscribe(&user, &name)?;
        }
        self.store.set_active_sieve_script(&user, None)?;
        for info in self.store.list_sieve_scripts(&user)? {
            self.store.delete_sieve_script(&user, &info.name)?;
        }
        Ok(())
    }

    /// The transfer `claim` holds is over: its outgoing marker goes (the claim itself is
    /// released when dropped).
    pub fn transfer_finish(&self, claim: &TransferClaim) -> Result<()> {
        self.markers()
            .remove(Side::Out, claim.prefix())
            .map_err(|e| io_failure("removing the outgoing marker", e))
    }

    /// At start, before serving: settles what the markers of transfers interrupted by a
    /// crash name, asking the directory how each ended.
    ///
    /// - An incoming copy the directory gives to this server was committed before the switch:
    ///   it is kept (its marker goes). One the directory gives to another server, or to none,
    ///   is removed.
    /// - A mailbox given away that the directory names the target for is removed here (the
    ///   target holds the committed copy); one it still names this server for stays, and the
    ///   transfer never happened for it.
    ///
    /// What cannot be settled now (the directory does not answer) is left in the answer, the
    /// hierarchies given away frozen meanwhile: try again with [`TransferRecovery::retry`].
    pub fn recover_transfers(&self) -> Result<TransferRecovery> {
        let markers = self.markers();
        let incoming = markers
            .all::<Incoming>(Side::In)
            .map_err(|e| io_failure("listing the incoming markers", e))?
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let mut outgoing = Vec::new();
        for (prefix, _) in markers
            .all::<Outgoing>(Side::Out)
            .map_err(|e| io_failure("listing the outgoing markers", e))?
        {
            let claim = self.claim_transfer(&prefix)?;
            claim.freeze();
            outgoing.push(claim);
        }
        let mut recovery = TransferRecovery { incoming, outgoing };
        recovery.retry(self);
        Ok(recovery)
    }

    /// Settles one incoming marker; `false` when the directory cannot say now.
    fn settle_incoming(&self, name: &MailboxName) -> Result<bool> {
        let Some(marker) = self
            .markers()
            .get::<Incoming>(Side::In, name)
            .map_err(|e| io_failure("reading the incoming marker", e))?
        else {
            return Ok(true);
        };
        let this = self.cluster().map(|c| c.this_server().to_string());
        match self.transfer_holder(name) {
            Err(e) => {
                tracing::warn!("xfer: the incoming copy of {name} waits for the directory: {e}");
                Ok(false)
            }
            Ok(holder) if holder.is_some() && holder == this => {
                tracing::info!("xfer: {name} arrived here before the restart; kept");
                self.markers()
                    .remove(Side::In, name)
                    .map_err(|e| io_failure("removing the incoming marker", e))?;
                Ok(true)
            }
            Ok(holder) => {
                tracing::info!(
                    "xfer: the incoming copy of {name} is removed (the directory names {})",
                    holder.as_deref().unwrap_or("no server")
                );
                self.remove_incoming_copy(name, &marker)?;
                Ok(true)
            }
        }
    }

    /// Settles one outgoing marker; `false` when the directory cannot say now.
    fn settle_outgoing(&self, prefix: &MailboxName) -> Result<bool> {
        let markers = self.markers();
        let Some(marker) = markers
            .get::<Outgoing>(Side::Out, prefix)
            .map_err(|e| io_failure("reading the outgoing marker", e))?
        else {
            return Ok(true);
        };
        for name in &marker.names {
            let Ok(name) = MailboxName::try_from(name.as_str()) else {
                continue;
            };
            match self.transfer_holder(&name) {
                Err(e) => {
                    tracing::warn!("xfer: {name}, given away, waits for the directory: {e}");
                    return Ok(false);
                }
                Ok(Some(holder)) if holder == marker.target => {
                    if self.store.holds_locally(&name)? {
                        tracing::info!(
                            "xfer: {name} went to server {holder} before the restart; \
                             removed here"
                        );
                        self.store.delete_mailbox(&name)?;
                    }
                    self.refresh_copy(&name);
                }
                Ok(_) => {}
            }
        }
        markers
            .remove(Side::Out, prefix)
            .map_err(|e| io_failure("removing the outgoing marker", e))?;
        Ok(true)
    }
}

/// The user whose INBOX `name` is, if it is one.
fn user_of_inbox(name: &MailboxName) -> Option<String> {
    crate::access::is_user_inbox(name)
        .then(|| crate::namespace::userid_of(name))
        .flatten()
}

/// Markers [`MailService::recover_transfers`] could not settle yet (the directory did not
/// answer); the hierarchies given away stay frozen until they are.
#[derive(Debug)]
pub struct TransferRecovery {
    incoming: Vec<MailboxName>,
    outgoing: Vec<TransferClaim>,
}

impl TransferRecovery {
    /// Whether every marker found at start is settled.
    pub fn is_settled(&self) -> bool {
        self.incoming.is_empty() && self.outgoing.is_empty()
    }

    /// Tries again to settle the markers found at start (only those: a transfer running now
    /// has markers of its own).
    pub fn retry(&mut self, service: &MailService) {
        self.incoming
            .retain(|name| !settled(service.settle_incoming(name), name));
        self.outgoing
            .retain(|claim| !settled(service.settle_outgoing(claim.prefix()), claim.prefix()));
    }
}

/// A settling step's outcome; a failure is logged and tried again later.
fn settled(outcome: Result<bool>, name: &MailboxName) -> bool {
    match outcome {
        Ok(done) => done,
        Err(e) => {
            tracing::error!("xfer: settling the transfer of {name}: {e}");
            false
        }
    }
}
