//! Test hooks: a way for tests to watch what the store makes durable and to stop a multi-step
//! operation at a named point. Power loss cannot be simulated in a test, so the directory-sync
//! test records every directory the store fsyncs; crash tests run the store in a child process
//! whose hook aborts (no destructor, no cleanup: a real crash) when a [`CrashPoint`] is reached,
//! then reopen the data and check what recovery makes of it.
//!
//! Production leaves the hooks unset; an unset hook costs one branch.

use std::path::Path;
use std::sync::Arc;

/// The points of multi-step operations where a crash leaves an intermediate state on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CrashPoint {
    /// APPEND: the message files are linked as `UID.` and the directory is synced; the index
    /// commit has not happened.
    AppendLinked,
    /// Cross-owner RENAME: the new owner's index holds the mailbox; nothing else changed.
    RenameNewOwnerCommitted,
    /// Cross-owner RENAME: the mailboxes database maps the new name; the old owner's index
    /// still holds its copy.
    RenameMailboxesCommitted,
    /// Cross-owner RENAME: the old owner's copy is gone; `cyrus.header` still names the old
    /// name.
    RenameOldOwnerCommitted,
}

/// What a hook is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookEvent<'a> {
    /// This directory was just fsynced (only reported when the fsync policy is `Always`).
    DirSynced(&'a Path),
    /// An operation reached this point.
    Reached(CrashPoint),
}

type HookFn = dyn Fn(&HookEvent<'_>) + Send + Sync;

/// The store's hooks (see the module documentation). Cheap to clone.
#[derive(Clone, Default)]
pub struct StoreHooks(Option<Arc<HookFn>>);

impl StoreHooks {
    /// Hooks that call `f` for every event.
    pub fn new(f: impl Fn(&HookEvent<'_>) + Send + Sync + 'static) -> StoreHooks {
        StoreHooks(Some(Arc::new(f)))
    }

    pub(crate) fn fire(&self, event: HookEvent<'_>) {
        if let Some(f) = &self.0 {
            f(&event);
        }
    }

    pub(crate) fn reached(&self, point: CrashPoint) {
        self.fire(HookEvent::Reached(point));
    }
}

impl std::fmt::Debug for StoreHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "StoreHooks(set)"
        } else {
            "StoreHooks(none)"
        })
    }
}
