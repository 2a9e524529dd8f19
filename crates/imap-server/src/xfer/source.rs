//! `XFER mailbox server [partition]` (Cyrus's Murder command, administrators only): moves
//! the mailbox and every mailbox below it (`user.NAME`: the whole user) to another backend
//! while clients go on using it.
//!
//! 1. **Copy**: each mailbox from one snapshot (status and UIDs): `XFERPREPARE`, then one
//!    `XFERMSG` per message, pipelined.
//! 2. **Freeze** the hierarchy (writes refused, reads going on; the writes under way end
//!    first), then send what changed since each snapshot: new messages, flags of messages
//!    whose MODSEQ passed the snapshot's, expunged UIDs; a mailbox created meanwhile is
//!    copied whole, one deleted is dropped at the target, one whose ACL changed is copied
//!    again. `XFERCOMMIT` each.
//! 3. **Switch** (the commit point, module `switch` with the finish): the outgoing marker,
//!    then each mailbox's directory entry to the target, one etcd transaction each.
//! 4. **Finish**: `XFERDONE` at the target, the copies here handed over (sessions that have
//!    one selected are told it is gone), the marker removed, the hierarchy unfrozen.
//!
//! A failure before the switch gives everything up at the target (`XFERABORT`; if the
//! connection is lost the target removes uncommitted copies itself). When the directory
//! cannot say whether a switch went through, the hierarchy stays frozen here and a task
//! settles it once the directory answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use imap_proto::command::{Command, Mailbox, Tag, XferStep};
use imap_proto::response::{Code, StatusKind};
use imap_proto::SequenceSet;
use mailservice::{MailService, MailboxEntry, MessageRecord, ServiceError, TransferClaim};
use types::{MailboxName, ModSeq, Uid};

use super::client::{spooled, TargetConn, TargetError};
use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, to_imap_datetime, Target};
use crate::proxy::BackendConn;

/// Messages read (records and open files) at once: as many as the pipeline to the target
/// holds, and few enough file descriptors per transfer.
const PAGE: usize = 64;
/// UIDs per XFERFLAGS or XFEREXPUNGE.
const UIDS_PER_STEP: usize = 500;
/// How often the client hears how far the transfer is (and a frontend in between sees the
/// answer is still coming).
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// XFER.
pub(crate) async fn run(
    session: &mut Session,
    tag: &Tag,
    mailbox: Mailbox,
    server: String,
    partition: Option<String>,
) -> Reply {
    // On a frontend, the backend holding the mailbox moves it.
    if let Some(remote) = session.remote_by_name(mailbox.as_str()) {
        let command = Command::Xfer {
            mailbox,
            server,
            partition,
        };
        return session.forward_reply(tag, &remote.server, command).await;
    }
    let Some(identity) = session.state.identity().cloned() else {
        return Reply::bad("Not authenticated");
    };
    let prefix = match session
        .service()
        .namespace()
        .to_internal(&identity, mailbox.as_str())
    {
        Ok(name) => name,
        Err(e) => return refuse(&e, Target::Source),
    };
    let (who, target_name, name) = (identity.clone(), server.clone(), prefix.clone());
    let begun = session
        .blocking(move |s| s.transfer_begin(&who, &name, &target_name))
        .await;
    let (claim, backend) = match begun {
        Ok(begun) => begun,
        Err(e) => return refuse(&e, Target::Source),
    };
    let conn = match open_target(session, &server, backend.imap.as_deref(), identity.user()).await {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!("{}: XFER {prefix} to {server}: {e}", session.id);
            return Reply::no(
                Some(Code::Unavailable),
                &format!("Server {server} cannot take the mailbox: {e}"),
            );
        }
    };
    tracing::info!("{}: XFER {prefix} to server {server} begins", session.id);
    let mut transfer = Transfer {
        target: conn,
        claim: Arc::new(claim),
        server,
        partition,
        moving: Vec::new(),
        sent: 0,
        told: Instant::now(),
    };
    let reply = transfer.run(session).await;
    transfer.target.close().await;
    reply
}

/// The logged-in connection to the target, for the administrator `admin`.
async fn open_target(
    session: &Session,
    server: &str,
    address: Option<&str>,
    admin: &str,
) -> Result<TargetConn, TargetError> {
    let config = &session.server.config;
    let login = config
        .proxy
        .as_ref()
        .ok_or(crate::proxy::ProxyError::NoCredentials)?;
    let address = address.ok_or(crate::proxy::ProxyError::Down)?;
    let conn = BackendConn::open(
        server,
        address,
        login,
        admin,
        &config.proxy_tls,
        config.limits.max_line,
        config.proxy_timeouts,
    )
    .await?;
    TargetConn::new(conn).await
}

/// One mailbox on its way.
pub(super) struct Moving {
    /// Its entry here when its copy began.
    pub(super) entry: MailboxEntry,
    /// The UIDs sent, ascending.
    pub(super) copied: Vec<u32>,
    /// The HIGHESTMODSEQ of the snapshot the copy began from.
    pub(super) snapshot: ModSeq,
    /// UIDNEXT here at the last look.
    pub(super) uidnext: u32,
    /// The copy's uniqueid and partition at the target, once committed.
    pub(super) committed: Option<(String, String)>,
    /// Whether the directory names the target for it.
    pub(super) switched: Switch,
}

/// How a mailbox's directory switch ended.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Switch {
    NotTried,
    Done,
    Refused,
    /// The directory did not say.
    Unknown,
}

/// Why a transfer stopped.
enum Failure {
    Target(TargetError),
    Local(ServiceError),
}

impl From<TargetError> for Failure {
    fn from(e: TargetError) -> Failure {
        Failure::Target(e)
    }
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Failure {
        Failure::Local(e)
    }
}

pub(super) struct Transfer {
    pub(super) target: TargetConn,
    pub(super) claim: Arc<TransferClaim>,
    pub(super) server: String,
    pub(super) partition: Option<String>,
    pub(super) moving: Vec<Moving>,
    /// Messages sent so far.
    pub(super) sent: u64,
    /// When the client last heard of the transfer.
    pub(super) told: Instant,
}

impl Transfer {
    async fn run(&mut self, session: &mut Session) -> Reply {
        let prefix = self.claim.prefix().clone();
        if let Err(failure) = self.copy_and_commit(session).await {
            self.abort_all().await;
            return self.failed(session, &prefix, failure);
        }
        let names: Vec<MailboxName> = self.moving.iter().map(|m| m.entry.name.clone()).collect();
        let (claim, target) = (Arc::clone(&self.claim), self.server.clone());
        let marked = session
            .blocking(move |s| s.transfer_mark_outgoing(&claim, &target, &names))
            .await;
        if let Err(e) = marked {
            self.abort_all().await;
            return self.failed(session, &prefix, Failure::Local(e));
        }
        self.switch_all(session.service()).await;
        if let Some(pause) = super::switch::pause_after_switch() {
            tokio::time::sleep(pause).await;
        }
        self.finish(session).await
    }

    /// Steps 1 and 2: every mailbox copied, frozen, brought up to date and committed.
    async fn copy_and_commit(&mut self, session: &mut Session) -> Result<(), Failure> {
        let prefix = self.claim.prefix().clone();
        let listed = session
            .blocking(move |s| s.transfer_mailboxes(&prefix))
            .await?;
        for entry in listed {
            self.copy(session, entry).await?;
        }
        self.target.settle().await?;
        let claim = Arc::clone(&self.claim);
        session
            .blocking(move |_| {
                claim.freeze();
                Ok(())
            })
            .await?;
        let prefix = self.claim.prefix().clone();
        let now = session
            .blocking(move |s| s.transfer_mailboxes(&prefix))
            .await?;
        // Gone meanwhile: dropped at the target; its ACL or special use changed: copied again.
        let mut kept = Vec::new();
        for m in std::mem::take(&mut self.moving) {
            match now.iter().find(|e| e.name == m.entry.name) {
                Some(e) if same_entry(e, &m.entry) => kept.push(m),
                _ => {
                    let mailbox = m.entry.name.to_string();
                    self.target.send(XferStep::Abort { mailbox }).await?;
                }
            }
        }
        self.moving = kept;
        for entry in now {
            match self.moving.iter().position(|m| m.entry.name == entry.name) {
                Some(i) => self.catch_up(session, i).await?,
                None => self.copy(session, entry).await?,
            }
        }
        self.send_user_state(session).await?;
        for i in 0..self.moving.len() {
            let (mailbox, uidnext) = {
                let m = &self.moving[i];
                (m.entry.name.to_string(), m.uidnext.max(1))
            };
            let code = self
                .target
                .call(XferStep::Commit { mailbox, uidnext })
                .await?;
            self.moving[i].committed = Some(entry_at_target(code).ok_or_else(|| {
                Failure::Target(TargetError::Refused {
                    step: "XFERCOMMIT",
                    text: "its answer did not name the copy".into(),
                })
            })?);
        }
        Ok(())
    }

    /// For the hierarchy's top mailbox (the hierarchy is frozen): the Sieve scripts and the
    /// subscriptions of its user when it is a user's INBOX, and the quota limits of a quota
    /// root on it.
    async fn send_user_state(&mut self, session: &mut Session) -> Result<(), Failure> {
        let prefix = self.claim.prefix().clone();
        if !self.moving.iter().any(|m| m.entry.name == prefix) {
            return Ok(());
        }
        let name = prefix.clone();
        let (scripts, subscriptions, quota) = session
            .blocking(move |s| {
                Ok((
                    s.transfer_sieve_scripts(&name)?,
                    s.transfer_subscriptions(&name)?,
                    s.transfer_quota(&name)?,
                ))
            })
            .await?;
        for (name, script, active) in scripts {
            let step = XferStep::Sieve {
                mailbox: prefix.to_string(),
                name,
                active,
                script,
            };
            self.target.send(step).await?;
        }
        for name in subscriptions {
            let step = XferStep::Subscription {
                mailbox: prefix.to_string(),
                name: name.to_string(),
            };
            self.target.send(step).await?;
        }
        if let Some(limits) = quota {
            let mut set = Vec::new();
            if let Some(kib) = limits.storage_kib {
                set.push(("STORAGE".to_string(), kib));
            }
            if let Some(n) = limits.messages {
                set.push(("MESSAGE".to_string(), n));
            }
            let root = session.service().namespace().admin_view(&prefix);
            self.target
                .send_command(Command::SetQuota { root, limits: set })
                .await?;
        }
        Ok(())
    }

    /// Sends one mailbox whole, from a snapshot.
    async fn copy(&mut self, session: &mut Session, entry: MailboxEntry) -> Result<(), Failure> {
        let name = entry.name.clone();
        let snapshot = session
            .blocking(move |s| s.transfer_snapshot(&name, None))
            .await?;
        let status = &snapshot.status;
        self.target
            .send(XferStep::Prepare {
                mailbox: entry.name.to_string(),
                uidvalidity: status.uidvalidity,
                uidnext: status.uidnext.get(),
                highestmodseq: status.highestmodseq.get(),
                partition: self.partition.clone(),
                acl: entry.acl.clone(),
                special_use: entry.special_use.clone(),
            })
            .await?;
        let mut moving = Moving {
            entry,
            copied: Vec::with_capacity(snapshot.uids.len()),
            snapshot: status.highestmodseq,
            uidnext: status.uidnext.get(),
            committed: None,
            switched: Switch::NotTried,
        };
        self.send_messages(session, &mut moving, &snapshot.uids)
            .await?;
        self.moving.push(moving);
        Ok(())
    }

    /// Sends what changed in `self.moving[i]` since its snapshot (the hierarchy is frozen).
    async fn catch_up(&mut self, session: &mut Session, i: usize) -> Result<(), Failure> {
        let (name, since) = (self.moving[i].entry.name.clone(), self.moving[i].snapshot);
        let snapshot = session
            .blocking(move |s| s.transfer_snapshot(&name, Some(since)))
            .await?;
        let mut moving = self.moving.remove(i);
        let outcome = self.send_changes(session, &mut moving, &snapshot).await;
        self.moving.insert(i, moving);
        outcome
    }

    /// The flag changes, expunges and new messages of `snapshot` (taken after `moving`'s).
    async fn send_changes(
        &mut self,
        session: &mut Session,
        moving: &mut Moving,
        snapshot: &mailservice::SelectSnapshot,
    ) -> Result<(), Failure> {
        let last = moving.copied.last().copied().unwrap_or(0);
        let mailbox = moving.entry.name.to_string();
        let changed: Vec<(Uid, Vec<types::Flag>)> = snapshot
            .changed
            .iter()
            .filter(|r| moving.copied.binary_search(&r.uid.get()).is_ok())
            .map(|r| (r.uid, r.flags.clone()))
            .collect();
        for flags in changed.chunks(UIDS_PER_STEP) {
            let step = XferStep::Flags {
                mailbox: mailbox.clone(),
                flags: flags.to_vec(),
            };
            self.target.send(step).await?;
        }
        let gone = vanished(&moving.copied, &snapshot.uids);
        for uids in gone.chunks(UIDS_PER_STEP) {
            if let Some(uids) = SequenceSet::from_numbers(uids.iter().copied()) {
                let step = XferStep::Expunge {
                    mailbox: mailbox.clone(),
                    uids,
                };
                self.target.send(step).await?;
            }
        }
        moving.copied.retain(|u| gone.binary_search(u).is_err());
        let new: Vec<Uid> = snapshot
            .uids
            .iter()
            .copied()
            .filter(|u| u.get() > last)
            .collect();
        moving.uidnext = snapshot.status.uidnext.get();
        self.send_messages(session, moving, &new).await
    }

    /// Sends the messages `uids` of `moving`'s mailbox (those still there), a page at a time.
    async fn send_messages(
        &mut self,
        session: &mut Session,
        moving: &mut Moving,
        uids: &[Uid],
    ) -> Result<(), Failure> {
        for page in uids.chunks(PAGE) {
            let (name, page) = (moving.entry.name.clone(), page.to_vec());
            let messages = session
                .blocking(move |s| read_page(s, &name, &page))
                .await?;
            for (record, file, len) in messages {
                let Some(internal_date) = to_imap_datetime(record.internal_date) else {
                    return Err(Failure::Local(ServiceError::Refused(
                        "A message's internal date cannot be written in IMAP",
                    )));
                };
                let step = XferStep::Message {
                    mailbox: moving.entry.name.to_string(),
                    uid: record.uid,
                    internal_date,
                    flags: record.flags,
                    data: spooled(len),
                };
                self.target.send_file(step, file, len).await?;
                moving.copied.push(record.uid.get());
                self.sent += 1;
            }
            self.progress(session).await;
        }
        Ok(())
    }

    /// Tells the client how far the transfer is, every [`PROGRESS_EVERY`].
    async fn progress(&mut self, session: &mut Session) {
        if self.told.elapsed() < PROGRESS_EVERY {
            return;
        }
        self.told = Instant::now();
        let text = format!(
            "XFER {}: {} messages sent to {}",
            self.claim.prefix(),
            self.sent,
            self.server
        );
        session.out.untagged(StatusKind::Ok, None, &text);
        let _ = session.flush().await;
    }

    /// Gives the copies up at the target (best effort: a target that lost the connection
    /// removes uncommitted copies itself).
    async fn abort_all(&mut self) {
        for m in &self.moving {
            let mailbox = m.entry.name.to_string();
            if self.target.send(XferStep::Abort { mailbox }).await.is_err() {
                return;
            }
        }
        let _ = self.target.settle().await;
    }

    fn failed(&self, session: &Session, prefix: &MailboxName, failure: Failure) -> Reply {
        match failure {
            Failure::Target(e) => {
                tracing::warn!(
                    "{}: XFER {prefix} to server {}: {e}",
                    session.id,
                    self.server
                );
                Reply::no(
                    Some(Code::Unavailable),
                    &format!("Server {}: {e}; nothing moved", self.server),
                )
            }
            Failure::Local(e) => refuse(&e, Target::Source),
        }
    }
}

/// A page of messages: each one's record and its file, open, with its length.
fn read_page(
    service: &MailService,
    name: &MailboxName,
    uids: &[Uid],
) -> Result<Vec<(MessageRecord, std::fs::File, u64)>, ServiceError> {
    let mut page = Vec::with_capacity(uids.len());
    for record in service.transfer_records(name, uids)? {
        // Expunged since the snapshot: the catch-up after the freeze sees it gone.
        let Ok(path) = service.transfer_message_path(name, record.uid) else {
            continue;
        };
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        let len = file
            .metadata()
            .map_err(|e| ServiceError::Store(mailservice::StoreError::Io { path, source: e }))?
            .len();
        page.push((record, file, len));
    }
    Ok(page)
}

/// Whether the directory entry would still say what `before` said.
fn same_entry(now: &MailboxEntry, before: &MailboxEntry) -> bool {
    now.uniqueid == before.uniqueid
        && now.acl == before.acl
        && now.special_use == before.special_use
}

/// The UIDs of `copied` no longer in `now` (both ascending).
fn vanished(copied: &[u32], now: &[Uid]) -> Vec<u32> {
    let mut gone = Vec::new();
    let mut here = now.iter().map(|u| u.get()).peekable();
    for &uid in copied {
        while here.peek().is_some_and(|&n| n < uid) {
            here.next();
        }
        if here.peek() != Some(&uid) {
            gone.push(uid);
        }
    }
    gone
}

/// The uniqueid and partition `XFERCOMMIT`'s answer names.
fn entry_at_target(code: Option<Code>) -> Option<(String, String)> {
    match code {
        Some(Code::Other {
            name,
            text: Some(text),
        }) if name.eq_ignore_ascii_case(super::target::ENTRY_CODE) => {
            let (uniqueid, partition) = text.trim().split_once(' ')?;
            Some((uniqueid.to_string(), partition.to_string()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vanished_uids_are_those_copied_and_no_longer_there() {
        let now: Vec<Uid> = [2, 3, 7, 9].iter().filter_map(|&n| Uid::new(n)).collect();
        assert_eq!(vanished(&[1, 2, 3, 4, 9, 10], &now), [1, 4, 10]);
        assert_eq!(vanished(&[], &now), Vec::<u32>::new());
        assert_eq!(vanished(&[5], &[]), [5]);
    }

    #[test]
    fn the_commit_answer_names_the_copy() {
        let code = Code::Other {
            name: "XFER-ENTRY".into(),
            text: Some("abc123 p2".into()),
        };
        assert_eq!(
            entry_at_target(Some(code)),
            Some(("abc123".into(), "p2".into()))
        );
        assert_eq!(entry_at_target(None), None);
    }
}
