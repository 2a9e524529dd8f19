//! Mailbox operations behind the access check. Each takes an [`Authorized`] mailbox (or an
//! identity, for per-user state) and is synchronous: servers call them on the blocking pool.

use mailstore::{
    AppendItem, AppendOutcome, Change, CopyOutcome, CreateOptions, Delivered, Expunge, FlagChange,
    MailboxEntry, MailboxStatus, MessageFile, MessageRecord, PruneReport, RecordFields,
    SelectSnapshot, StoreFlagsOutcome, UidSelection, VanishedSince,
};
use tokio::sync::broadcast;
use types::{MailboxName, ModSeq, Rights, Uid};

use crate::access::{is_user_inbox, namespace_rule, Actor, Authorized, Identity, Operation};
use crate::error::ServiceError;
use crate::events::EventKind;
use crate::quota::QuotaRule;
use crate::transfer::Reach;
use crate::MailService;

type Result<T> = std::result::Result<T, ServiceError>;

impl MailService {
    /// Resolves a client's mailbox name for `operation`, deciding by the mailbox's ACL (see
    /// [`crate::acl`]). A mailbox the identity may not `l`-see is reported as missing; CREATE
    /// and a RENAME target are refused with "permission denied", never "already exists".
    pub fn authorize(
        &self,
        identity: &Identity,
        client_name: &str,
        operation: Operation,
    ) -> Result<Authorized> {
        let name = self.namespace.to_internal(identity, client_name)?;
        self.authorize_internal(identity, name, operation)
    }

    /// As [`MailService::authorize`], for an internal name (LIST results, INBOX).
    pub fn authorize_internal(
        &self,
        identity: &Identity,
        name: MailboxName,
        operation: Operation,
    ) -> Result<Authorized> {
        if self.is_hidden_name(&name) || !identity.reaches(&name) {
            // Delayed delete's hidden mailboxes are no client's business (module `deleted`),
            // and another virtual domain's mailboxes are not there for the identity at all.
            return Err(match operation {
                Operation::Create | Operation::RenameTo => ServiceError::PermissionDenied,
                _ => ServiceError::NoSuchMailbox,
            });
        }
        let rights = self.decide(identity, &name, operation)?;
        namespace_rule(identity, &name, operation)?;
        Ok(Authorized::new(identity, name, operation, rights))
    }

    /// Every mailbox the identity may see (`l`), in name order.
    pub fn list_visible(&self, identity: &Identity) -> Result<Vec<MailboxEntry>> {
        Ok(self
            .list_visible_with_rights(identity)?
            .into_iter()
            .map(|(entry, _)| entry)
            .collect())
    }

    /// Every mailbox the identity may see (`l`), in name order, with the identity's rights on
    /// it (implicit rights included, as MYRIGHTS shows them): computed from the ACL already
    /// read to decide visibility, so LIST-MYRIGHTS (RFC 8440) costs no read per mailbox.
    pub fn list_visible_with_rights(
        &self,
        identity: &Identity,
    ) -> Result<Vec<(MailboxEntry, Rights)>> {
        let authorizer = self.access.authorizer.as_ref();
        let mut visible = Vec::new();
        for entry in self.lookup_candidates(identity)? {
            if self.is_hidden_name(&entry.name) || !identity.reaches(&entry.name) {
                continue;
            }
            // One mailbox whose ACL cannot be read must not take LIST down for everyone who
            // could see it: it lists with the implicit rights alone (its owner and the
            // administrators still see it; `reconstruct` repairs it from its header's copy).
            let acl = self.read_acl_of(&entry).unwrap_or_else(|e| {
                tracing::warn!("LIST: {e}; listed with implicit rights only");
                types::Acl::default()
            });
            let rights = crate::acl::rights(&acl, identity, &entry.name, authorizer);
            if rights.contains(Rights::LOOKUP) {
                visible.push((entry, rights));
            }
        }
        Ok(visible)
    }

    /// The mailboxes whose ACL could give the identity `l`, in name order: for a user, their
    /// own hierarchy and those whose ACL names them, one of their groups, `anyone` (and
    /// `anonymous` for the unauthenticated), or was stored before ACLs existed — found through
    /// the store's index instead of a walk of every mailbox. Administrators (`l` everywhere)
    /// and mechanisms whose entries are patterns (Kerberos wildcards) walk them all.
    fn lookup_candidates(&self, identity: &Identity) -> Result<Vec<MailboxEntry>> {
        if identity.is_global_admin() || self.access.authorizer.has_patterns() {
            return Ok(self.store.list_mailboxes(None)?);
        }
        if identity.is_admin() {
            // A domain's administrator: `l` on every mailbox of the domain.
            return Ok(match identity.domain().and_then(MailboxName::domain_root) {
                Some(root) => self.store.list_mailboxes(Some(&root))?,
                None => self.store.list_mailboxes(None)?,
            });
        }
        let groups: Vec<String> = identity
            .groups()
            .iter()
            .map(|g| format!("group:{g}"))
            .collect();
        let mut ids: Vec<&str> = vec!["anyone", mailstore::LEGACY_ACL];
        if identity.is_anonymous() {
            ids.push("anonymous");
        } else {
            ids.push(identity.user());
        }
        ids.extend(groups.iter().map(String::as_str));
        let mut found = self.store.mailboxes_granted_to(&ids)?;
        if let Some(inbox) = identity.inbox() {
            found.extend(self.store.list_mailboxes(Some(&inbox))?);
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found.dedup_by(|a, b| a.name == b.name);
        Ok(found)
    }

    pub fn entry(&self, mailbox: &Authorized) -> Result<MailboxEntry> {
        Ok(self.store.mailbox_entry(mailbox.name())?)
    }

    /// Naming a partition (Cyrus's `CREATE name partition`, `RENAME from to partition`) is for
    /// administrators only; checked before anything changes.
    fn may_choose_partition(identity: &Identity, partition: Option<&str>) -> Result<()> {
        match partition {
            Some(_) if !identity.is_admin() => Err(ServiceError::PermissionDenied),
            _ => Ok(()),
        }
    }

    /// Creates a mailbox, on a named partition for administrators.
    pub fn create(
        &self,
        identity: &Identity,
        mailbox: &Authorized,
        special_use: Vec<String>,
        partition: Option<String>,
    ) -> Result<MailboxEntry> {
        crate::namespace::new_name_rule(mailbox.name())?;
        Self::may_choose_partition(identity, partition.as_deref())?;
        let _writing = self.writing(&[mailbox.name()], Reach::Mailbox)?;
        let options = CreateOptions {
            special_use,
            partition,
            acl: self.initial_acl(mailbox.name())?.to_stored(),
            ..CreateOptions::default()
        };
        let entry = self.published_create(mailbox.name(), || {
            Ok(self.store.create_mailbox(mailbox.name(), options)?)
        })?;
        self.report_mailbox(
            EventKind::MailboxCreate,
            &Actor::of(identity),
            mailbox.name(),
            None,
        );
        Ok(entry)
    }

    /// Deletes a mailbox. A user's INBOX (`user.NAME`, which only an administrator may delete)
    /// takes the user's whole hierarchy with it, as in Cyrus: the INBOX is what makes a user
    /// known to delivery, and mailboxes left below a deleted INBOX would belong to no one.
    pub fn delete(&self, mailbox: &Authorized) -> Result<()> {
        self.check_not_held(mailbox.name())?;
        let _writing = self.writing(&[mailbox.name()], Reach::Hierarchy)?;
        if is_user_inbox(mailbox.name()) {
            return self
                .delete_hierarchy(mailbox.name(), mailbox.actor())
                .map(|_| ());
        }
        let uidvalidity = self
            .uidvalidity_if_wanted(EventKind::MailboxDelete, mailbox.name())
            .flatten();
        self.remove_mailboxes(std::slice::from_ref(mailbox.name()))?;
        self.report_mailbox(
            EventKind::MailboxDelete,
            mailbox.actor(),
            mailbox.name(),
            uidvalidity,
        );
        Ok(())
    }

    /// RENAME's two names, as a client typed them (RFC 4314 §4): `x` on the source, and the
    /// new name decided as CREATE's (`k` on its closest existing parent; a name the identity
    /// cannot see answers "permission denied", never "already exists"). The source is
    /// decided first. The same name twice is Cyrus's `RENAME name name partition`, which only
    /// moves the mailbox: the target is then the source.
    pub fn authorize_rename(
        &self,
        identity: &Identity,
        from: &str,
        to: &str,
    ) -> Result<(Authorized, Authorized)> {
        let source = self.authorize(identity, from, Operation::Rename)?;
        let target_name = self.namespace.to_internal(identity, to)?;
        if &target_name == source.name() {
            return Ok((source.clone(), source));
        }
        let target = self.authorize_internal(identity, target_name, Operation::RenameTo)?;
        Ok((source, target))
    }

    /// RENAME (RFC 9051 §6.3.6), decided on the internal names. The identity's own INBOX,
    /// however the client spelled it, is never renamed: its messages move to a new mailbox and
    /// INBOX stays, empty. Nothing is renamed onto it (it always exists). With a partition
    /// (Cyrus's `RENAME from to partition`, administrators only, checked before anything
    /// changes) the mailbox's files move there too; `RENAME name name partition` only moves.
    pub fn rename(
        &self,
        identity: &Identity,
        from: &Authorized,
        to: &Authorized,
        partition: Option<&str>,
    ) -> Result<()> {
        crate::namespace::new_name_rule(to.name())?;
        Self::may_choose_partition(identity, partition)?;
        // Renaming an INBOX moves its messages out, and any other rename of it takes the
        // mailbox from under the POP3 session.
        self.check_not_held(from.name())?;
        let _writing = self.writing(&[from.name(), to.name()], Reach::Hierarchy)?;
        let same = from.name() == to.name();
        if identity.is_own_inbox(to.name()) && !same {
            return Err(ServiceError::AlreadyExists);
        }
        if !same && !identity.is_admin() {
            self.rename_within_quota(from.name(), to.name())?;
        }
        let mut old_uidvalidity = None;
        if identity.is_own_inbox(from.name()) && !same {
            old_uidvalidity = self
                .uidvalidity_if_wanted(EventKind::MailboxRename, from.name())
                .flatten();
            self.create_quietly(to)?;
            self.store.move_all_messages(from.name(), to.name())?;
        } else if !same {
            self.published_rename(from.name(), to.name())?;
        }
        match partition {
            Some(p) => {
                self.store.set_partition(to.name(), p)?;
                self.published_update(to.name());
            }
            None if same => return Err(ServiceError::AlreadyExists),
            None => {}
        }
        if !same {
            self.report_renamed(
                &Actor::of(identity),
                from.name(),
                old_uidvalidity,
                to.name(),
            );
        }
        Ok(())
    }

    /// The new mailbox an INBOX's messages move to on RENAME: created as CREATE would, but
    /// reported only as the MailboxRename it is part of.
    fn create_quietly(&self, mailbox: &Authorized) -> Result<MailboxEntry> {
        let options = CreateOptions {
            acl: self.initial_acl(mailbox.name())?.to_stored(),
            ..CreateOptions::default()
        };
        self.published_create(mailbox.name(), || {
            Ok(self.store.create_mailbox(mailbox.name(), options)?)
        })
    }

    pub fn status(&self, mailbox: &Authorized) -> Result<MailboxStatus> {
        Ok(self.store.status(mailbox.name(), mailbox.seen())?)
    }

    /// STATUS DELETED-STORAGE (RFC 9208): what an EXPUNGE of the mailbox would free, in bytes.
    pub fn deleted_storage(&self, mailbox: &Authorized) -> Result<u64> {
        Ok(self.store.deleted_storage(mailbox.name())?)
    }

    /// The mailbox's keyword table (see [`mailstore::Store::keywords`]).
    pub fn keywords(&self, mailbox: &Authorized) -> Result<Vec<String>> {
        Ok(self.store.keywords(mailbox.name())?)
    }

    /// The identity's `\Recent` mark in the mailbox (see [`mailstore::Store::recent_mark`]);
    /// whose mark it is follows whose `\Seen` the identity reads.
    pub fn recent_mark(&self, mailbox: &Authorized) -> Result<u32> {
        Ok(self.store.recent_mark(mailbox.name(), mailbox.seen())?)
    }

    /// Claims the messages up to `up_to` as `\Recent` for the caller's session; returns the
    /// mark before (see [`mailstore::Store::claim_recent`]).
    pub fn claim_recent(&self, mailbox: &Authorized, up_to: Uid) -> Result<u32> {
        Ok(self
            .store
            .claim_recent(mailbox.name(), mailbox.seen(), up_to)?)
    }

    /// How many messages are `\Recent` for the next session of this identity (STATUS RECENT).
    pub fn recent_count(&self, mailbox: &Authorized) -> Result<u32> {
        Ok(self.store.recent_count(mailbox.name(), mailbox.seen())?)
    }

    /// APPEND: all messages or none, within the quota (see [`crate::quota`]).
    pub fn append(&self, mailbox: &Authorized, items: Vec<AppendItem>) -> Result<AppendOutcome> {
        let _writing = self.writing(&[mailbox.name()], Reach::Mailbox)?;
        let outcome = self
            .store
            .append_checked(mailbox.name(), items, Some(&QuotaRule::Insert))
            .inspect_err(|e| self.report_refusal(mailbox.actor(), mailbox.name(), e))?;
        self.report_appended(
            mailbox.actor(),
            mailbox.name(),
            outcome.uidvalidity,
            &outcome.uids,
        );
        Ok(outcome)
    }

    /// QuotaExceed when a store into `name` was refused for quota.
    fn report_refusal(&self, actor: &Actor, name: &MailboxName, error: &mailstore::StoreError) {
        if let mailstore::StoreError::OverQuota(_) = error {
            self.report_over_quota(actor, name);
        }
    }

    /// The largest message that can be stored now into every one of `targets` (none: the
    /// default partition) after being spooled in `spool_dir`: the size limit and the free
    /// space of the file systems involved. Servers check it before inviting the data.
    pub fn room_for_message(
        &self,
        targets: &[Authorized],
        spool_dir: &std::path::Path,
    ) -> Result<u64> {
        let names: Vec<MailboxName> = targets.iter().map(|t| t.name().clone()).collect();
        Ok(self.store.room_for_message(&names, spool_dir)?)
    }

    /// COPY: every message or none, within the target's quota.
    pub fn copy(&self, from: &Authorized, uids: &[Uid], to: &Authorized) -> Result<CopyOutcome> {
        let _writing = self.writing(&[to.name()], Reach::Mailbox)?;
        let rule = Some(&QuotaRule::Insert as &dyn mailstore::QuotaPolicy);
        let outcome = self
            .store
            .copy_checked(from.name(), uids, to.name(), rule)
            .inspect_err(|e| self.report_refusal(to.actor(), to.name(), e))?;
        let new: Vec<Uid> = outcome.mapping.iter().map(|(_, n)| *n).collect();
        self.report_appended(to.actor(), to.name(), outcome.uidvalidity, &new);
        Ok(outcome)
    }

    /// MOVE (RFC 6851): `i` on the target (its authorization) and `t e` on the source, which
    /// loses the messages (RFC 4314 §4).
    pub fn move_messages(
        &self,
        from: &Authorized,
        uids: &[Uid],
        to: &Authorized,
    ) -> Result<CopyOutcome> {
        if !from
            .rights()
            .contains(Rights::DELETE_MESSAGES.union(Rights::EXPUNGE))
        {
            return Err(ServiceError::PermissionDenied);
        }
        self.check_not_held(from.name())?;
        let _writing = self.writing(&[from.name(), to.name()], Reach::Mailbox)?;
        let rule = Some(&QuotaRule::Insert as &dyn mailstore::QuotaPolicy);
        let outcome = self
            .store
            .move_checked(from.name(), uids, to.name(), rule)
            .inspect_err(|e| self.report_refusal(to.actor(), to.name(), e))?;
        let new: Vec<Uid> = outcome.mapping.iter().map(|(_, n)| *n).collect();
        let gone: Vec<Uid> = outcome.mapping.iter().map(|(o, _)| *o).collect();
        self.report_appended(to.actor(), to.name(), outcome.uidvalidity, &new);
        self.report_expunged(from.actor(), from.name(), &gone);
        Ok(outcome)
    }

    pub fn store_flags(
        &self,
        mailbox: &Authorized,
        uids: &[Uid],
        change: FlagChange,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreFlagsOutcome> {
        let _writing = self.writing(&[mailbox.name()], Reach::Mailbox)?;
        let before = self.flags_before(mailbox, uids);
        let outcome = self.store.store_flags(
            mailbox.name(),
            mailbox.seen(),
            uids,
            change,
            unchanged_since,
        )?;
        if let Some(before) = before {
            self.report_flags(mailbox, &before, &outcome);
        }
        Ok(outcome)
    }

    /// EXPUNGE: needs `e` (RFC 4314 §4), whatever operation the mailbox was opened for.
    pub fn expunge(&self, mailbox: &Authorized, which: Expunge) -> Result<Vec<Uid>> {
        if !mailbox.rights().contains(Rights::EXPUNGE) {
            return Err(ServiceError::PermissionDenied);
        }
        self.check_not_held(mailbox.name())?;
        let _writing = self.writing(&[mailbox.name()], Reach::Mailbox)?;
        let over = self.over_quota_before(mailbox.name());
        let gone = self.store.expunge(mailbox.name(), which)?;
        self.report_expunged(mailbox.actor(), mailbox.name(), &gone);
        if !gone.is_empty() {
            self.report_within_quota(mailbox.actor(), over);
        }
        Ok(gone)
    }

    /// What SELECT reads, from one snapshot (see [`mailstore::Store::select_snapshot`]).
    pub fn select_snapshot(
        &self,
        mailbox: &Authorized,
        changed_since: Option<ModSeq>,
    ) -> Result<SelectSnapshot> {
        Ok(self
            .store
            .select_snapshot(mailbox.name(), mailbox.seen(), changed_since)?)
    }

    /// The UIDs expunged after `since` (QRESYNC), or that the history was pruned.
    pub fn vanished_since(&self, mailbox: &Authorized, since: ModSeq) -> Result<VanishedSince> {
        Ok(self.store.vanished_since(mailbox.name(), since)?)
    }

    pub fn records(
        &self,
        mailbox: &Authorized,
        selection: UidSelection<'_>,
        fields: RecordFields,
    ) -> Result<Vec<MessageRecord>> {
        Ok(self
            .store
            .records(mailbox.name(), mailbox.seen(), selection, fields)?)
    }

    pub fn read_message(&self, mailbox: &Authorized, uid: Uid) -> Result<Vec<u8>> {
        Ok(self.store.read_message(mailbox.name(), uid)?)
    }

    /// The message file open for reading ranges, so that FETCH can stream it in bounded
    /// pieces; it stays readable after an expunge.
    pub fn open_message(&self, mailbox: &Authorized, uid: Uid) -> Result<MessageFile> {
        Ok(self.store.open_message(mailbox.name(), uid)?)
    }

    pub fn read_range(
        &self,
        mailbox: &Authorized,
        uid: Uid,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>> {
        Ok(self.store.read_range(mailbox.name(), uid, offset, len)?)
    }

    pub fn subscribe_changes(&self, mailbox: &Authorized) -> Result<broadcast::Receiver<Change>> {
        Ok(self.store.subscribe_changes(mailbox.name())?)
    }

    /// The identity's subscriptions; none for an identity without an INBOX (anonymous).
    pub fn subscriptions(&self, identity: &Identity) -> Result<Vec<MailboxName>> {
        if identity.inbox().is_none() {
            return Ok(Vec::new());
        }
        Ok(self.store.subscriptions(identity.user())?)
    }

    /// RFC 9051 §6.3.7: a server may refuse to subscribe a missing mailbox; Cyrus does not.
    /// Only users with an INBOX may subscribe (Cyrus keeps subscriptions with the user's
    /// mailboxes): not the anonymous identity (every anonymous session would share the list),
    /// nor a userid with a dot under the `.` separator, nor a user whose INBOX is gone.
    pub fn subscribe(&self, identity: &Identity, name: &MailboxName) -> Result<()> {
        let has_inbox = match identity.inbox() {
            Some(inbox) => match self.store.mailbox_entry(&inbox) {
                Ok(_) => true,
                Err(mailstore::StoreError::NoSuchMailbox(_)) => false,
                Err(e) => return Err(e.into()),
            },
            None => false,
        };
        if !has_inbox {
            return Err(ServiceError::Refused(
                "Only users with an INBOX may subscribe",
            ));
        }
        // The subscriptions go with the INBOX when it moves (XFER): frozen with it.
        let inbox = identity.inbox();
        let _writing = match &inbox {
            Some(inbox) => Some(self.writing(&[inbox], Reach::Mailbox)?),
            None => None,
        };
        self.store.subscribe(identity.user(), name)?;
        self.report_subscription(EventKind::MailboxSubscribe, identity, name);
        Ok(())
    }

    pub fn unsubscribe(&self, identity: &Identity, name: &MailboxName) -> Result<()> {
        let inbox = identity.inbox();
        let _writing = match &inbox {
            Some(inbox) => Some(self.writing(&[inbox], Reach::Mailbox)?),
            None => None,
        };
        self.store.unsubscribe(identity.user(), name)?;
        self.report_subscription(EventKind::MailboxUnSubscribe, identity, name);
        Ok(())
    }

    /// Stores one message in each target (single-instance store: one file per partition).
    /// The outer error concerns the message itself and so every target; the rest are per
    /// target, in order. With a `message_id`, a target that already received it recently gets
    /// [`Delivered::Duplicate`] (duplicate suppression). Unless `ignore_quota`, each target's
    /// quota root is judged by the delivery rule (see [`crate::quota`]): a refused target
    /// fails with [`StoreError::OverQuota`](mailstore::StoreError::OverQuota).
    pub(crate) fn store_delivery(
        &self,
        targets: &[Authorized],
        item: AppendItem,
        message_id: Option<&str>,
        ignore_quota: bool,
    ) -> Result<Vec<Result<Delivered>>> {
        // A target a transfer has frozen is refused on its own (the MTA retries it); the
        // others are delivered now.
        let mut guards = Vec::with_capacity(targets.len());
        let mut names = Vec::with_capacity(targets.len());
        let mut frozen = Vec::with_capacity(targets.len());
        for target in targets {
            match self.writing(&[target.name()], Reach::Mailbox) {
                Ok(guard) => {
                    guards.push(guard);
                    names.push(target.name().clone());
                    frozen.push(false);
                }
                Err(_) => frozen.push(true),
            }
        }
        let rule = self.delivery_rule();
        let quota: Option<&dyn mailstore::QuotaPolicy> =
            if ignore_quota { None } else { Some(&rule) };
        let stored = match names.is_empty() {
            true => Vec::new(),
            false => self
                .store
                .deliver_checked(&names, item, message_id, quota)?,
        };
        let mut stored = stored.into_iter();
        Ok(frozen
            .into_iter()
            .map(|moving| match moving {
                true => Err(ServiceError::Moving),
                false => stored
                    .next()
                    .unwrap_or(Err(mailstore::StoreError::Busy(String::new())))
                    .map_err(ServiceError::from),
            })
            .collect())
    }

    /// Housekeeping, asked for by no client: forgets, in every mailbox, the expunges dated
    /// before `older_than_unix` (`tombstone_days`), until `stop` says to stop; see
    /// [`mailstore::Store::prune_tombstones_until`].
    pub fn prune_tombstones(
        &self,
        older_than_unix: i64,
        stop: &dyn Fn() -> bool,
    ) -> Result<PruneReport> {
        Ok(self.store.prune_tombstones_until(older_than_unix, stop)?)
    }

    /// Administration (`darius unexpunge -l`): the messages of `name` that a delayed expunge
    /// kept. Asked for by no client, so no rights are checked.
    pub fn expunged(&self, name: &MailboxName) -> Result<Vec<mailstore::ExpungedMessage>> {
        Ok(self.store.expunged(name)?)
    }

    /// Administration (`darius unexpunge`): restores kept messages of `name` under new UIDs;
    /// see [`mailstore::Store::unexpunge`].
    pub fn unexpunge(
        &self,
        name: &MailboxName,
        which: mailstore::Unexpunge<'_>,
        deleted: mailstore::DeletedFlag,
    ) -> Result<mailstore::UnexpungeOutcome> {
        let _writing = self.writing(&[name], Reach::Mailbox)?;
        Ok(self.store.unexpunge(name, which, deleted)?)
    }

    /// Housekeeping and `darius expire`: purges the messages delayed expunges kept that were
    /// expunged before `older_than_unix`, and the expired duplicate-delivery records; see
    /// [`mailstore::Store::purge_expunged`].
    pub fn purge_expunged(
        &self,
        older_than_unix: i64,
        stop: &dyn Fn() -> bool,
    ) -> Result<mailstore::ExpireReport> {
        let report = self.store.purge_expunged(older_than_unix, stop)?;
        self.store.expire_deliveries()?;
        Ok(report)
    }

    /// Creates a new user's INBOX, as an administrator's `CREATE user.NAME` would. A userid
    /// that can own no INBOX under this namespace (see [`crate::namespace::user_inbox`]) is
    /// refused with [`ServiceError::BadName`].
    pub fn create_user(&self, user: &str) -> Result<()> {
        let inbox = self.namespace.user_inbox(user)?;
        let options = CreateOptions {
            acl: self.initial_acl(&inbox)?.to_stored(),
            ..CreateOptions::default()
        };
        self.published_create(&inbox, || Ok(self.store.create_mailbox(&inbox, options)?))?;
        let operator = Actor::of(&self.operator());
        self.report_mailbox(EventKind::MailboxCreate, &operator, &inbox, None);
        Ok(())
    }

    /// Deletes a user's INBOX and every mailbox below it, deepest first.
    pub fn delete_user(&self, user: &str) -> Result<usize> {
        let inbox = self.namespace.user_inbox(user)?;
        self.delete_hierarchy(&inbox, &Actor::of(&self.operator()))
    }

    /// Deletes the INBOX `user.NAME`, every mailbox below it and its user's per-user state;
    /// a MailboxDelete for each mailbox, named as it was (read before: nothing is left to
    /// read after).
    fn delete_hierarchy(&self, inbox: &MailboxName, actor: &Actor) -> Result<usize> {
        let mut names: Vec<MailboxName> = self
            .store
            .list_mailboxes(Some(inbox))?
            .into_iter()
            .map(|e| e.name)
            .collect();
        names.sort_by_key(|n| std::cmp::Reverse(n.levels().count()));
        let uidvalidities: Vec<Option<types::UidValidity>> = names
            .iter()
            .map(|n| {
                self.uidvalidity_if_wanted(EventKind::MailboxDelete, n)
                    .flatten()
            })
            .collect();
        self.remove_mailboxes(&names)?;
        for (name, uidvalidity) in names.iter().zip(uidvalidities) {
            self.report_mailbox(EventKind::MailboxDelete, actor, name, uidvalidity);
        }
        // As Cyrus removes the user's seen and subscription files with the user.
        if let Some(user) = crate::namespace::userid_of(inbox) {
            self.store.forget_user(&user)?;
        }
        Ok(names.len())
    }
}
