//! XFER's last steps on the source: the switch of each mailbox's directory entry (the
//! commit point), the finish (`XFERDONE` at the target, the copies here handed over, the
//! outgoing marker removed), and, when the directory cannot say whether a switch went
//! through, the task that settles it once the directory answers.

use std::sync::Arc;
use std::time::Duration;

use imap_proto::command::XferStep;
use imap_proto::response::Code;
use mailservice::{DirectoryError, MailService, OutgoingMailbox, TransferClaim};
use types::MailboxName;

use super::source::{Switch, Transfer};
use crate::command::Reply;
use crate::connection::Session;

/// How long the source asks the directory whether a switch whose answer was lost went
/// through, before leaving it to a task.
const RESOLVE_TRIES: usize = 10;
const RESOLVE_PAUSE: Duration = Duration::from_secs(1);
/// How often that task asks.
const SETTLE_EVERY: Duration = Duration::from_secs(5);

impl Transfer {
    /// Step 3: each mailbox's directory entry to the target, until one is refused or
    /// unknown (those after it are not tried).
    pub(super) async fn switch_all(&mut self, service: &MailService) {
        for i in 0..self.moving.len() {
            let Some((uniqueid, partition)) = self.moving[i].committed.clone() else {
                break;
            };
            let outgoing = OutgoingMailbox::at_target(&self.moving[i].entry, &partition, &uniqueid);
            let target = self.server.clone();
            let switched = service
                .blocking(move |s| Ok(s.transfer_switch(&outgoing, &target)))
                .await;
            let name = self.moving[i].entry.name.clone();
            let outcome = match switched {
                Ok(Ok(())) => Switch::Done,
                Ok(Err(DirectoryError::Taken { server, .. })) => {
                    tracing::error!("xfer: {name} is held by server {server} in the directory");
                    Switch::Refused
                }
                Ok(Err(DirectoryError::Unavailable(why))) => {
                    tracing::warn!("xfer: switching {name}: {why}; asking the directory");
                    resolve(service, &name, &self.server).await
                }
                Err(e) => {
                    tracing::error!("xfer: switching {name}: {e}");
                    Switch::Refused
                }
            };
            self.moving[i].switched = outcome;
            if outcome != Switch::Done {
                break;
            }
        }
    }

    /// Step 4, and the answer.
    pub(super) async fn finish(&mut self, session: &mut Session) -> Reply {
        let prefix = self.claim.prefix().clone();
        let mut handed = Vec::new();
        let mut unknown = Vec::new();
        for m in &self.moving {
            let mailbox = m.entry.name.to_string();
            let step = match (m.switched, &m.committed) {
                (Switch::Done, _) => XferStep::Done { mailbox },
                (Switch::Unknown, Some((uniqueid, partition))) => {
                    unknown.push(OutgoingMailbox::at_target(&m.entry, partition, uniqueid));
                    continue;
                }
                (Switch::Unknown, None) => continue,
                (Switch::NotTried | Switch::Refused, _) => XferStep::Abort { mailbox },
            };
            if let Err(e) = self.target.send(step).await {
                tracing::warn!("xfer: {prefix}: {e} (the target settles it at its next start)");
                break;
            }
        }
        if let Err(e) = self.target.settle().await {
            tracing::warn!("xfer: {prefix}: {e} (the target settles it at its next start)");
        }
        for m in self.moving.iter().filter(|m| m.switched == Switch::Done) {
            let Some((uniqueid, partition)) = &m.committed else {
                continue;
            };
            let outgoing = OutgoingMailbox::at_target(&m.entry, partition, uniqueid);
            let target = self.server.clone();
            let result = session
                .blocking(move |s| s.transfer_hand_over(&outgoing, &target))
                .await;
            match result {
                Ok(()) => handed.push(m.entry.name.clone()),
                Err(e) => tracing::error!("xfer: handing {} over: {e}", m.entry.name),
            }
        }
        if !unknown.is_empty() {
            settle_later(
                session.service().clone(),
                Arc::clone(&self.claim),
                &self.server,
                unknown,
            );
            return Reply::no(
                Some(Code::Unavailable),
                "The directory did not say whether the last mailbox moved; the transfer \
                 finishes when it does",
            );
        }
        if handed.contains(&prefix) {
            let inbox = prefix.clone();
            if let Err(e) = session
                .blocking(move |s| s.transfer_forget_user(&inbox))
                .await
            {
                tracing::error!("xfer: {prefix}: removing what went with it: {e}");
            }
        }
        let claim = Arc::clone(&self.claim);
        if let Err(e) = session.blocking(move |s| s.transfer_finish(&claim)).await {
            tracing::error!("xfer: {prefix}: {e}");
        }
        let all = self.moving.len();
        tracing::info!(
            "{}: XFER {prefix} to server {}: {} of {all} mailboxes moved, {} messages sent",
            session.id,
            self.server,
            handed.len(),
            self.sent
        );
        if handed.len() == all {
            Reply::ok("XFER completed")
        } else {
            Reply::no(
                Some(Code::Unavailable),
                &format!(
                    "{} of {all} mailboxes moved; the others stay here (see the server log)",
                    handed.len()
                ),
            )
        }
    }
}

/// For the crash tests only: how long to wait between the directory switch and the rest of
/// the transfer, in milliseconds (`DARIUS_TEST_XFER_PAUSE_AFTER_SWITCH`), so that a test can
/// kill the source right after its commit point.
pub(super) fn pause_after_switch() -> Option<Duration> {
    let ms = std::env::var("DARIUS_TEST_XFER_PAUSE_AFTER_SWITCH").ok()?;
    Some(Duration::from_millis(ms.parse().ok()?))
}

/// Asks the directory whether the switch of `name` went through, a few times.
async fn resolve(service: &MailService, name: &MailboxName, target: &str) -> Switch {
    for _ in 0..RESOLVE_TRIES {
        let key = name.clone();
        match service.blocking(move |s| Ok(s.transfer_holder(&key))).await {
            Ok(Ok(Some(holder))) if holder == target => return Switch::Done,
            Ok(Ok(_)) => return Switch::Refused,
            _ => tokio::time::sleep(RESOLVE_PAUSE).await,
        }
    }
    Switch::Unknown
}

/// Settles, once the directory answers, the mailboxes whose switch it did not confirm: each
/// is handed over if the directory names the target, kept otherwise; then the marker goes
/// and the hierarchy is unfrozen (the claim is dropped).
fn settle_later(
    service: MailService,
    claim: Arc<TransferClaim>,
    target: &str,
    mut mailboxes: Vec<OutgoingMailbox>,
) {
    let target = target.to_string();
    tokio::spawn(async move {
        while !mailboxes.is_empty() {
            tokio::time::sleep(SETTLE_EVERY).await;
            let mut left = Vec::new();
            for mailbox in mailboxes {
                let key = mailbox.entry.name.clone();
                let holder = service.blocking(move |s| Ok(s.transfer_holder(&key))).await;
                match holder {
                    Ok(Ok(Some(h))) if h == target => {
                        let t = target.clone();
                        let handed = service
                            .blocking(move |s| s.transfer_hand_over(&mailbox, &t))
                            .await;
                        if let Err(e) = handed {
                            tracing::error!("xfer: handing a mailbox over: {e}");
                        }
                    }
                    Ok(Ok(_)) => {}
                    _ => left.push(mailbox),
                }
            }
            mailboxes = left;
        }
        let finished = service.blocking(move |s| s.transfer_finish(&claim)).await;
        if let Err(e) = finished {
            tracing::error!("xfer: {e}");
        }
    });
}
