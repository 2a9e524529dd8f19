//! The target's side of a transfer: the copy of each mailbox is created here *unpublished*
//! (the source still holds the name in the directory, so nothing is reserved), over the
//! remote entry this server's directory copy keeps for it, after an incoming marker is on
//! disk. Messages, flag changes and expunges are applied to the copy as they come; commit
//! sets its final UIDNEXT (every step is already durable when it returns); done removes the
//! marker once the directory names this server; abort removes the copy.
//!
//! Only administrators reach these steps (the IMAP server offers them to nobody else), and
//! every step but the first acts only on a mailbox with an incoming marker, so no other
//! mailbox can be written through them.

use mailstore::{
    CreateOptions, Expunge, FlagChange, ImportedMailbox, ImportedMessage, RecordFields, SeenSource,
    UidSelection,
};
use types::{Flag, MailboxName, Uid, UidValidity};

use super::markers::{Incoming, Markers, Side};
use crate::access::Identity;
use crate::error::ServiceError;
use crate::MailService;

type Result<T> = std::result::Result<T, ServiceError>;

/// What the source says of a mailbox it is about to send (XFERPREPARE).
#[derive(Clone, Debug)]
pub struct IncomingState {
    pub uidvalidity: UidValidity,
    /// Its HIGHESTMODSEQ at the source (RFC 7162).
    pub highestmodseq: u64,
    /// The partition here; `None`: the parent's here, else `defaultpartition`.
    pub partition: Option<String>,
    /// Its ACL, in Cyrus's stored form.
    pub acl: String,
    pub special_use: Vec<String>,
}

impl MailService {
    pub(super) fn markers(&self) -> Markers {
        Markers::new(&self.store.config().config_directory)
    }

    /// Transfers are between backends of a Murder, at an administrator's request.
    pub(super) fn may_transfer(&self, identity: &Identity) -> Result<()> {
        if !identity.is_global_admin() {
            return Err(ServiceError::PermissionDenied);
        }
        match self.cluster() {
            Some(c) if c.is_backend() => Ok(()),
            _ => Err(ServiceError::Refused(
                "Mailboxes move only between backends of a Murder",
            )),
        }
    }

    /// The incoming marker of `name`; refused when there is none (no transfer brings it).
    fn incoming(&self, name: &MailboxName) -> Result<Incoming> {
        self.markers()
            .get::<Incoming>(Side::In, name)
            .map_err(|e| io_failure("reading the incoming marker", e))?
            .ok_or(ServiceError::Refused(
                "No transfer brings this mailbox here",
            ))
    }

    /// XFERPREPARE: creates the empty copy of `name` that a transfer is about to fill. A copy
    /// left by an earlier attempt (its incoming marker still there) is removed first; any
    /// other mailbox of that name here is refused.
    pub fn incoming_prepare(
        &self,
        identity: &Identity,
        name: &MailboxName,
        state: IncomingState,
    ) -> Result<mailstore::MailboxEntry> {
        self.may_transfer(identity)?;
        let markers = self.markers();
        if let Some(old) = markers
            .get::<Incoming>(Side::In, name)
            .map_err(|e| io_failure("reading the incoming marker", e))?
        {
            self.remove_incoming_copy(name, &old)?;
        }
        if self.store.holds_locally(name)? {
            return Err(ServiceError::AlreadyExists);
        }
        // The uniqueid is on disk before the copy's directory is: a crash between the
        // directory and the commit leaves a directory the recovery finds by it.
        let uniqueid = mailstore::Store::new_mailbox_uniqueid(name);
        let marker = Incoming {
            name: name.to_string(),
            uniqueid: Some(uniqueid.clone()),
        };
        markers
            .put(Side::In, name, &marker)
            .map_err(|e| io_failure("writing the incoming marker", e))?;
        let imported = ImportedMailbox {
            uidvalidity: state.uidvalidity,
            uidnext: 1,
            highestmodseq: state.highestmodseq,
            options: CreateOptions {
                partition: state.partition,
                acl: state.acl,
                special_use: state.special_use,
                ..CreateOptions::default()
            },
        };
        let entry = match self
            .store
            .create_incoming_mailbox_as(name, imported, &uniqueid)
        {
            Ok(entry) => entry,
            Err(e) => {
                if let Err(d) = self.store.remove_uncommitted_mailbox_dir(name, &uniqueid) {
                    tracing::warn!("xfer: removing the directory of {name}: {d}");
                }
                if let Err(m) = markers.remove(Side::In, name) {
                    tracing::warn!("xfer: removing the incoming marker of {name}: {m}");
                }
                self.refresh_copy(name);
                return Err(e.into());
            }
        };
        Ok(entry)
    }

    /// XFERMSG (a batch of them): places messages in the copy under the UIDs they have at
    /// the source, with their flags and internal dates.
    pub fn incoming_messages(
        &self,
        identity: &Identity,
        name: &MailboxName,
        messages: Vec<ImportedMessage>,
    ) -> Result<()> {
        self.may_transfer(identity)?;
        self.incoming(name)?;
        self.store.import_messages(name, messages)?;
        Ok(())
    }

    /// XFERFLAGS: sets the flags of messages of the copy to what they are at the source.
    pub fn incoming_flags(
        &self,
        identity: &Identity,
        name: &MailboxName,
        flags: Vec<(Uid, Vec<Flag>)>,
    ) -> Result<()> {
        self.may_transfer(identity)?;
        self.incoming(name)?;
        for (uid, flags) in flags {
            self.store.store_flags(
                name,
                SeenSource::Index,
                &[uid],
                FlagChange::Replace(flags),
                None,
            )?;
        }
        Ok(())
    }

    /// XFEREXPUNGE: removes the messages of the copy within these UID ranges (inclusive),
    /// which the source expunged meanwhile.
    pub fn incoming_expunge(
        &self,
        identity: &Identity,
        name: &MailboxName,
        ranges: &[(u32, u32)],
    ) -> Result<()> {
        self.may_transfer(identity)?;
        self.incoming(name)?;
        let mut uids = Vec::new();
        for &(first, last) in ranges {
            let (Some(first), Some(last)) = (Uid::new(first), Uid::new(last)) else {
                continue;
            };
            let present = self.store.records(
                name,
                SeenSource::Index,
                UidSelection::Range(first, last),
                RecordFields::BASIC,
            )?;
            uids.extend(present.into_iter().map(|r| r.uid));
        }
        if !uids.is_empty() {
            self.store.expunge(name, Expunge::Uids(uids))?;
        }
        Ok(())
    }

    /// XFERCOMMIT: the copy is complete; its UIDNEXT becomes the source's. Every earlier step
    /// was on stable storage when it answered, so the copy is now as durable as the source.
    pub fn incoming_commit(
        &self,
        identity: &Identity,
        name: &MailboxName,
        uidnext: u32,
    ) -> Result<mailstore::MailboxEntry> {
        self.may_transfer(identity)?;
        self.incoming(name)?;
        self.store.raise_uidnext(name, uidnext)?;
        Ok(self.store.mailbox_entry(name)?)
    }

    /// XFERDONE: the directory names this server for `name` now; the copy is an ordinary
    /// mailbox of this server from here on.
    pub fn incoming_done(&self, identity: &Identity, name: &MailboxName) -> Result<()> {
        self.may_transfer(identity)?;
        self.incoming(name)?;
        self.markers()
            .remove(Side::In, name)
            .map_err(|e| io_failure("removing the incoming marker", e))
    }

    /// XFERSIEVE: one Sieve script of the user whose INBOX `inbox` is coming, replacing one of
    /// that name here (and made the active one when it is there). The source checked it and
    /// kept it within its limits: it is stored as it is.
    pub fn incoming_sieve(
        &self,
        identity: &Identity,
        inbox: &MailboxName,
        name: &str,
        script: &[u8],
        active: bool,
    ) -> Result<()> {
        let user = self.incoming_user(identity, inbox, "Sieve scripts come with a user's INBOX")?;
        self.store
            .put_sieve_script(&user, name, script, usize::MAX)?;
        if active {
            self.store.set_active_sieve_script(&user, Some(name))?;
        }
        Ok(())
    }

    /// The user whose INBOX `inbox` is, coming here by a transfer an administrator
    /// (`identity`) makes; refused with `otherwise` for any other mailbox.
    fn incoming_user(
        &self,
        identity: &Identity,
        inbox: &MailboxName,
        otherwise: &'static str,
    ) -> Result<String> {
        self.may_transfer(identity)?;
        self.incoming(inbox)?;
        crate::namespace::userid_of(inbox)
            .filter(|_| crate::access::is_user_inbox(inbox))
            .ok_or(ServiceError::Refused(otherwise))
    }

    /// XFERSUB: one subscription (an internal name) of the user whose INBOX `inbox` is
    /// coming.
    pub fn incoming_subscription(
        &self,
        identity: &Identity,
        inbox: &MailboxName,
        name: &MailboxName,
    ) -> Result<()> {
        let user = self.incoming_user(identity, inbox, "Subscriptions come with a user's INBOX")?;
        Ok(self.store.subscribe(&user, name)?)
    }

    /// XFERABORT (or the end of the source's connection before XFERCOMMIT): the copy is
    /// removed and the directory's word on the name comes back.
    pub fn incoming_abort(&self, identity: &Identity, name: &MailboxName) -> Result<()> {
        self.may_transfer(identity)?;
        let marker = self.incoming(name)?;
        self.remove_incoming_copy(name, &marker)
    }

    /// Removes the copy an incoming marker is for (only the mailbox it names: same uniqueid,
    /// or any local one of that name when the marker was written before the copy existed,
    /// which nothing else could have created since), then the marker, and puts the
    /// directory's entry for the name back into the copy of the directory.
    pub(crate) fn remove_incoming_copy(&self, name: &MailboxName, marker: &Incoming) -> Result<()> {
        if !self.store.holds_locally(name)? {
            // A create cut short before its commit leaves only its directory.
            if let Some(uniqueid) = &marker.uniqueid {
                if self.store.remove_uncommitted_mailbox_dir(name, uniqueid)? {
                    tracing::warn!("xfer: removed the uncommitted directory of {name}");
                }
            }
        } else {
            let entry = self.store.mailbox_entry(name)?;
            if marker
                .uniqueid
                .as_ref()
                .is_none_or(|u| *u == entry.uniqueid)
            {
                self.store.delete_mailbox(name)?;
            } else {
                tracing::warn!(
                    "xfer: {name} here is not the incoming copy its marker names; left alone"
                );
            }
        }
        self.markers()
            .remove(Side::In, name)
            .map_err(|e| io_failure("removing the incoming marker", e))?;
        self.refresh_copy(name);
        Ok(())
    }

    /// Brings the directory's entry for `name` into this server's copy (best effort).
    pub(crate) fn refresh_copy(&self, name: &MailboxName) {
        if let Some(cluster) = self.cluster() {
            cluster.refresh(name);
        }
    }
}

/// A marker that cannot be read or written: a failure of this machine.
pub(crate) fn io_failure(what: &str, e: std::io::Error) -> ServiceError {
    ServiceError::Store(mailstore::StoreError::Io {
        path: std::path::PathBuf::from(format!("xfer marker ({what})")),
        source: e,
    })
}
