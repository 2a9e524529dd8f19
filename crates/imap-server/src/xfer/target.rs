//! The target's side: the transfer steps a source backend sends (`XFERPREPARE` …
//! `XFERABORT`), applied through the service to the copy it keeps unpublished.
//!
//! Messages (`XFERMSG`) are placed a batch at a time: their spool files are kept until
//! [`BATCH`] of them wait, or another step comes, and then placed in one index commit. Every
//! step answers once what it asked for is done, so a failure of a batch is the answer of the
//! step that placed it; the source gives the transfer up at the first `NO`. Nothing a step
//! answers `OK` to is promised durable before `XFERCOMMIT`.
//!
//! When the session ends (the source's connection closed, or the source died) the copies it
//! prepared and did not commit are removed at once: a copy is never switched to before its
//! commit, so none of them is wanted any more.

use std::path::PathBuf;

use imap_proto::command::{AppendData, XferStep};
use imap_proto::response::Code;
use mailservice::{Identity, ImportedMessage, IncomingState, MailService};
use types::MailboxName;

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{from_imap_datetime, refuse, Target};

/// Messages placed at once.
const BATCH: usize = 500;

/// What a session receiving a transfer holds between steps.
#[derive(Default)]
pub(crate) struct Incoming {
    /// Copies this session prepared and has not committed.
    uncommitted: Vec<MailboxName>,
    /// Messages received and not placed yet, all for one mailbox, with their spool files.
    pending: Option<Pending>,
}

struct Pending {
    mailbox: MailboxName,
    messages: Vec<ImportedMessage>,
}

impl Pending {
    fn files(&self) -> Vec<PathBuf> {
        self.messages
            .iter()
            .filter_map(|m| match &m.source {
                mailservice::AppendSource::File(path) => Some(path.clone()),
                mailservice::AppendSource::Bytes(_) => None,
            })
            .collect()
    }
}

/// Removes spool files on the blocking pool.
pub(crate) fn remove_files(files: Vec<PathBuf>) {
    if files.is_empty() {
        return;
    }
    let remove = move || {
        for file in files {
            let _ = std::fs::remove_file(file);
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(remove)),
        Err(_) => remove(),
    }
}

impl Incoming {
    /// A copy prepared outside the XFERPREPARE step (a Cyrus UNDUMP), removed like the others
    /// if the session ends before it is committed.
    pub(crate) fn track(&mut self, name: MailboxName) {
        if !self.uncommitted.contains(&name) {
            self.uncommitted.push(name);
        }
    }

    /// That copy was committed, or removed.
    pub(crate) fn untrack(&mut self, name: &MailboxName) {
        self.uncommitted.retain(|n| n != name);
    }

    /// The session is over: messages not placed are dropped and uncommitted copies removed.
    pub(crate) async fn end(&mut self, service: &MailService, identity: Option<Identity>) {
        if let Some(pending) = self.pending.take() {
            remove_files(pending.files());
        }
        let (Some(identity), false) = (identity, self.uncommitted.is_empty()) else {
            return;
        };
        let names = std::mem::take(&mut self.uncommitted);
        let result = service
            .blocking(move |s| {
                for name in &names {
                    tracing::warn!("xfer: the source left before committing {name}; removed");
                    s.incoming_abort(&identity, name)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = result {
            tracing::error!("xfer: removing uncommitted copies: {e}");
        }
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            remove_files(pending.files());
        }
    }
}

/// One transfer step.
pub(crate) async fn run(session: &mut Session, step: XferStep) -> Reply {
    let Some(identity) = session.state.identity().cloned() else {
        return Reply::bad("Not authenticated");
    };
    if !offered(session) {
        return Reply::bad(&format!("{} is not offered here", step.name()));
    }
    let Ok(name) = MailboxName::try_from(step.mailbox()) else {
        return Reply::no(Some(Code::Cannot), "Not a mailbox name");
    };
    match step {
        XferStep::Message {
            uid,
            internal_date,
            flags,
            data,
            ..
        } => {
            let source = match data {
                AppendData::Spooled { spool, .. } => match session.spool.take(spool.0) {
                    Some(path) => mailservice::AppendSource::File(path),
                    None => return Reply::no(Some(Code::ServerBug), "Spooled message is missing"),
                },
                AppendData::Inline { data, .. } => mailservice::AppendSource::Bytes(data),
            };
            let message = ImportedMessage {
                source,
                uid,
                flags,
                internal_date: from_imap_datetime(internal_date),
                modseq: None,
                save_date: None,
            };
            queue(session, &identity, name, message).await
        }
        other => {
            if let Err(reply) = place_pending(session, &identity).await {
                return reply;
            }
            apply(session, identity, name, other).await
        }
    }
}

/// Whether this session is offered the steps: an administrator's, on a backend.
pub(crate) fn offered(session: &Session) -> bool {
    session
        .state
        .identity()
        .is_some_and(Identity::is_global_admin)
        && session.service().cluster().is_some_and(|c| c.is_backend())
}

/// Keeps an XFERMSG message for the next batch, placing the batch when it is full or was
/// for another mailbox.
async fn queue(
    session: &mut Session,
    identity: &Identity,
    name: MailboxName,
    message: ImportedMessage,
) -> Reply {
    if session
        .xfer_in
        .pending
        .as_ref()
        .is_some_and(|p| p.mailbox != name)
    {
        if let Err(reply) = place_pending(session, identity).await {
            remove_files(
                Pending {
                    mailbox: name,
                    messages: vec![message],
                }
                .files(),
            );
            return reply;
        }
    }
    let pending = session.xfer_in.pending.get_or_insert_with(|| Pending {
        mailbox: name,
        messages: Vec::new(),
    });
    pending.messages.push(message);
    if pending.messages.len() >= BATCH {
        if let Err(reply) = place_pending(session, identity).await {
            return reply;
        }
    }
    Reply::ok("Message received")
}

/// Places the messages waiting, in one commit.
async fn place_pending(session: &mut Session, identity: &Identity) -> Result<(), Reply> {
    let Some(pending) = session.xfer_in.pending.take() else {
        return Ok(());
    };
    let files = pending.files();
    let identity = identity.clone();
    let placed = session
        .blocking(move |s| s.incoming_messages(&identity, &pending.mailbox, pending.messages))
        .await;
    remove_files(files);
    placed.map_err(|e| refuse(&e, Target::Destination))
}

/// A step other than XFERMSG.
async fn apply(
    session: &mut Session,
    identity: Identity,
    name: MailboxName,
    step: XferStep,
) -> Reply {
    let key = name.clone();
    let outcome = session
        .blocking(move |s| {
            Ok(match step {
                XferStep::Prepare {
                    uidvalidity,
                    highestmodseq,
                    partition,
                    acl,
                    special_use,
                    ..
                } => {
                    let state = IncomingState {
                        uidvalidity,
                        highestmodseq,
                        partition,
                        acl,
                        special_use,
                    };
                    s.incoming_prepare(&identity, &name, state)?;
                    Done::Prepared
                }
                XferStep::Flags { flags, .. } => {
                    s.incoming_flags(&identity, &name, flags)?;
                    Done::Other
                }
                XferStep::Expunge { uids, .. } => {
                    let ranges = uids.ranges(u32::MAX).unwrap_or_default();
                    s.incoming_expunge(&identity, &name, &ranges)?;
                    Done::Other
                }
                XferStep::Commit { uidnext, .. } => {
                    let entry = s.incoming_commit(&identity, &name, uidnext)?;
                    Done::Committed {
                        uniqueid: entry.uniqueid,
                        partition: entry.partition,
                    }
                }
                XferStep::Done { .. } => {
                    s.incoming_done(&identity, &name)?;
                    Done::Other
                }
                XferStep::Abort { .. } => {
                    s.incoming_abort(&identity, &name)?;
                    Done::Aborted
                }
                XferStep::Sieve {
                    name: script,
                    active,
                    script: text,
                    ..
                } => {
                    s.incoming_sieve(&identity, &name, &script, &text, active)?;
                    Done::Other
                }
                XferStep::Subscription {
                    name: subscribed, ..
                } => {
                    let subscribed = MailboxName::try_from(subscribed)
                        .map_err(|_| mailservice::ServiceError::Refused("Not a mailbox name"))?;
                    s.incoming_subscription(&identity, &name, &subscribed)?;
                    Done::Other
                }
                XferStep::Message { .. } => Done::Other,
            })
        })
        .await;
    let uncommitted = &mut session.xfer_in.uncommitted;
    match outcome {
        Ok(Done::Prepared) => {
            if !uncommitted.contains(&key) {
                uncommitted.push(key);
            }
            Reply::ok("Ready for the mailbox")
        }
        Ok(Done::Committed {
            uniqueid,
            partition,
        }) => {
            uncommitted.retain(|n| n != &key);
            Reply::ok_code(
                Code::Other {
                    name: ENTRY_CODE.into(),
                    text: Some(format!("{uniqueid} {partition}")),
                },
                "Committed",
            )
        }
        Ok(Done::Aborted) => {
            uncommitted.retain(|n| n != &key);
            Reply::ok("Copy removed")
        }
        Ok(Done::Other) => Reply::ok("Done"),
        Err(e) => refuse(&e, Target::Source),
    }
}

/// The response code of `XFERCOMMIT`'s `OK`: the copy's uniqueid and partition, which the
/// directory entry will name.
pub(crate) const ENTRY_CODE: &str = "XFER-ENTRY";

/// What a step did.
enum Done {
    Prepared,
    Committed { uniqueid: String, partition: String },
    Aborted,
    Other,
}
