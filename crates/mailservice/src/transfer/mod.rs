//! Mailboxes moving to another backend of the Murder while they are in use (XFER,
//! docs/murder.md). The protocol that carries them is the IMAP server's; this module holds
//! what the service must know and decide about a transfer:
//!
//! - [`TransferClaim`]: the hierarchy being moved, claimed by one transfer at a time and,
//!   once the copy is nearly done, *frozen*: every write to a mailbox in it (APPEND, STORE,
//!   EXPUNGE, COPY and MOVE into or out of it, delivery, CREATE, DELETE, RENAME, SETACL) is
//!   refused with [`ServiceError::Moving`] (IMAP says `NO [UNAVAILABLE]`, LMTP `451 4.2.0`,
//!   so the MTA retries), while reads go on. Freezing waits for the writes already under
//!   way: after it, nothing changes in the hierarchy, so the last difference the source sends
//!   is the last there is. Claims live in memory, like POP3's maildrop claims: a crash
//!   releases them with the process.
//! - The markers (module `markers`) that make a transfer safe against a crash of either
//!   server: the target writes an *incoming* marker before it creates anything, the source an
//!   *outgoing* one before the directory switches; at start each backend settles what they
//!   name by asking the directory who holds each mailbox ([`MailService::recover_transfers`]).
//! - The steps on each side (modules `source` and `target`), each a call on the blocking pool.

mod cyrus;
mod markers;
mod source;
mod target;

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use types::MailboxName;

use crate::error::ServiceError;

pub use source::{OutgoingMailbox, TransferRecovery};
pub use target::IncomingState;

/// The hierarchies being moved and the writes under way (see the module documentation).
#[derive(Default)]
pub(crate) struct Transfers {
    state: Mutex<TransferState>,
    /// Signalled whenever a write ends, for a freeze waiting on it.
    drained: Condvar,
}

#[derive(Default)]
struct TransferState {
    /// One transfer's hierarchy each; no two overlap.
    claimed: Vec<MailboxName>,
    /// The claimed hierarchies writes are refused in.
    frozen: Vec<MailboxName>,
    /// Writes under way, by mailbox.
    writing: HashMap<MailboxName, usize>,
}

/// How far a write reaches: one mailbox, or the mailbox and everything below it (a RENAME or
/// a user's DELETE, which take the hierarchy along).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    Mailbox,
    Hierarchy,
}

impl Transfers {
    fn lock(&self) -> MutexGuard<'_, TransferState> {
        // Counters only: a poisoned lock's data is as good as a fresh one's.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a write to `names`: refused while a transfer has frozen any of them; otherwise
    /// the write counts as under way until the guard is dropped, and a freeze waits for it.
    pub(crate) fn writing(
        &self,
        names: &[&MailboxName],
        reach: Reach,
    ) -> Result<WriteGuard<'_>, ServiceError> {
        let mut state = self.lock();
        for name in names {
            let hit = state
                .frozen
                .iter()
                .any(|f| name.is_within(f) || (reach == Reach::Hierarchy && f.is_within(name)));
            if hit {
                return Err(ServiceError::Moving);
            }
        }
        let names: Vec<MailboxName> = names.iter().map(|n| (*n).clone()).collect();
        for name in &names {
            *state.writing.entry(name.clone()).or_insert(0) += 1;
        }
        Ok(WriteGuard {
            transfers: self,
            names,
        })
    }

    fn end_writing(&self, names: &[MailboxName]) {
        let mut state = self.lock();
        for name in names {
            if let Some(count) = state.writing.get_mut(name) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    state.writing.remove(name);
                }
            }
        }
        drop(state);
        self.drained.notify_all();
    }
}

/// A write under way (see [`Transfers::writing`]).
pub(crate) struct WriteGuard<'a> {
    transfers: &'a Transfers,
    names: Vec<MailboxName>,
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        self.transfers.end_writing(&self.names);
    }
}

/// One transfer's hold on the hierarchy it moves; released (and the hierarchy unfrozen) when
/// dropped, however the transfer ends.
pub struct TransferClaim {
    transfers: Arc<Transfers>,
    prefix: MailboxName,
}

impl TransferClaim {
    /// The hierarchy moved: this mailbox and those below it.
    pub fn prefix(&self) -> &MailboxName {
        &self.prefix
    }

    /// Refuses every write in the hierarchy from now on, once the writes under way have
    /// ended. Blocks (call it on the blocking pool).
    pub fn freeze(&self) {
        let mut state = self.transfers.lock();
        if !state.frozen.contains(&self.prefix) {
            state.frozen.push(self.prefix.clone());
        }
        while state.writing.keys().any(|n| n.is_within(&self.prefix)) {
            state = self
                .transfers
                .drained
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl std::fmt::Debug for TransferClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TransferClaim").field(&self.prefix).finish()
    }
}

impl Drop for TransferClaim {
    fn drop(&mut self) {
        let mut state = self.transfers.lock();
        state.claimed.retain(|c| c != &self.prefix);
        state.frozen.retain(|c| c != &self.prefix);
    }
}

impl crate::MailService {
    /// Claims `prefix` (a mailbox held here and those below it) for one transfer; refused
    /// while another transfer moves it, a mailbox above it or one below it.
    pub(crate) fn claim_transfer(
        &self,
        prefix: &MailboxName,
    ) -> Result<TransferClaim, ServiceError> {
        let mut state = self.transfers.lock();
        if state
            .claimed
            .iter()
            .any(|c| c.is_within(prefix) || prefix.is_within(c))
        {
            return Err(ServiceError::Refused(
                "A transfer of this mailbox, or of one above or below it, is under way",
            ));
        }
        state.claimed.push(prefix.clone());
        Ok(TransferClaim {
            transfers: Arc::clone(&self.transfers),
            prefix: prefix.clone(),
        })
    }

    /// Starts a write to `names` (see [`Transfers::writing`]).
    pub(crate) fn writing(
        &self,
        names: &[&MailboxName],
        reach: Reach,
    ) -> Result<WriteGuard<'_>, ServiceError> {
        self.transfers.writing(names, reach)
    }

    /// Whether a transfer has frozen `name` now.
    pub fn is_moving(&self, name: &MailboxName) -> bool {
        self.transfers
            .lock()
            .frozen
            .iter()
            .any(|f| name.is_within(f))
    }
}

#[cfg(test)]
mod tests;
