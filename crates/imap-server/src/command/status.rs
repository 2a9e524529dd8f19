//! STATUS (RFC 9051 §6.3.11, STATUS=SIZE RFC 8438, APPENDLIMIT RFC 7889, DELETED-STORAGE RFC
//! 9208; RECENT of RFC 3501 §6.3.10 in IMAP4rev1 only). Of a mailbox another server holds,
//! that server answers (`proxy`).

use imap_proto::command::{Command, Mailbox, StatusItem, Tag};
use imap_proto::response::Data;
use mailservice::{MailboxStatus, Operation, ServiceError};

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

pub(crate) async fn run(
    session: &mut Session,
    tag: &Tag,
    mailbox: Mailbox,
    items: Vec<StatusItem>,
) -> Reply {
    if let Some(reply) = rev1_only(session, &items) {
        return reply;
    }
    if items.contains(&StatusItem::HighestModSeq) {
        // A CONDSTORE enabling command (RFC 7162 §3.1).
        session.enable_condstore().await;
    }
    let remote = session
        .authorize(&mailbox, Operation::Read)
        .ok()
        .and_then(|a| session.remote(&a).ok().flatten());
    if let Some(remote) = remote {
        let command = Command::Status { mailbox, items };
        return session.forward_reply(tag, &remote.server, command).await;
    }
    match status_data(session, mailbox, &items).await {
        Ok(StatusAnswer::Data(data)) => {
            session.out.data(data);
            Reply::ok("Status completed")
        }
        Ok(StatusAnswer::Relayed(bytes)) => {
            session.out.buf.extend_from_slice(&bytes);
            Reply::ok("Status completed")
        }
        Err(e) => refuse(&e, Target::Source),
    }
}

/// One mailbox's STATUS response: ours, or the one its backend sent, as it sent it.
pub(crate) enum StatusAnswer {
    Data(Data),
    Relayed(Vec<u8>),
}

/// Where one mailbox's status comes from.
enum Source {
    Here(Data),
    Backend(String, Mailbox),
}

/// `BAD` for the RECENT item after ENABLE IMAP4rev2: RFC 9051 removed it with `\Recent`
/// (§2.3.2, Appendix E), and its `status-att` grammar has no RECENT.
pub(crate) fn rev1_only(session: &Session, items: &[StatusItem]) -> Option<Reply> {
    (session.enabled.imap4rev2 && items.contains(&StatusItem::Recent))
        .then(|| Reply::bad("RECENT is not an IMAP4rev2 status item"))
}

/// The STATUS response for one mailbox.
pub(crate) async fn status_data(
    session: &mut Session,
    mailbox: Mailbox,
    items: &[StatusItem],
) -> Result<StatusAnswer, ServiceError> {
    let mut answers = status_many(session, vec![mailbox], items).await?;
    answers.pop().unwrap_or(Err(ServiceError::NoSuchMailbox))
}

/// The STATUS responses for several mailboxes (LIST-STATUS, RFC 5819), in order, each with its
/// own outcome: every mailbox is authorized and read in one task on the blocking pool, so a
/// LIST-STATUS of hundreds of mailboxes costs one hand-off, not one per mailbox. Those
/// another server holds are then asked of it, one STATUS each.
pub(crate) async fn status_many(
    session: &mut Session,
    mailboxes: Vec<Mailbox>,
    items: &[StatusItem],
) -> Result<Vec<Result<StatusAnswer, ServiceError>>, ServiceError> {
    let sources = status_here(session, mailboxes, items).await?;
    let mut answers = Vec::with_capacity(sources.len());
    for source in sources {
        answers.push(match source {
            Ok(Source::Here(data)) => Ok(StatusAnswer::Data(data)),
            Ok(Source::Backend(backend, mailbox)) => {
                let items = items.to_vec();
                crate::proxy::mailbox::status_of(session, &backend, mailbox, items)
                    .await
                    .map(StatusAnswer::Relayed)
            }
            Err(e) => Err(e),
        });
    }
    Ok(answers)
}

/// The statuses of the mailboxes held here, and where the others are.
async fn status_here(
    session: &mut Session,
    mailboxes: Vec<Mailbox>,
    items: &[StatusItem],
) -> Result<Vec<Result<Source, ServiceError>>, ServiceError> {
    let identity = session
        .state
        .identity()
        .cloned()
        .ok_or(ServiceError::PermissionDenied)?;
    // RECENT counts what the identity's next read-write SELECT would claim, and STATUS claims
    // nothing (RFC 3501 §6.3.10); of the selected mailbox it is this session's count, as in
    // Cyrus (the messages it claimed are recent for it, not for the next session).
    let selected = session
        .state
        .view()
        .map(|v| (v.mailbox.name().clone(), v.recent.count(v.uids())));
    let want_recent = items.contains(&StatusItem::Recent);
    let limit = session.server.config.max_message_size;
    let proxying = session.proxying();
    let items = items.to_vec();
    session
        .blocking(move |s| {
            Ok(mailboxes
                .into_iter()
                .map(|mailbox| {
                    let authorized = s.authorize(&identity, mailbox.as_str(), Operation::Read)?;
                    let remote = if proxying {
                        s.remote_of(&authorized)?
                    } else {
                        None
                    };
                    if let Some(remote) = remote {
                        return Ok(Source::Backend(remote.server, mailbox));
                    }
                    let recent = match &selected {
                        Some((name, count)) if name == authorized.name() => *count,
                        _ if want_recent => s.recent_count(&authorized)?,
                        _ => 0,
                    };
                    let status = s.status(&authorized)?;
                    // Only when asked: it reads every record of the mailbox.
                    let deleted_storage = if items.contains(&StatusItem::DeletedStorage) {
                        s.deleted_storage(&authorized)?
                    } else {
                        0
                    };
                    let extra = Extra {
                        recent,
                        limit,
                        deleted_storage,
                    };
                    Ok(Source::Here(Data::Status {
                        mailbox,
                        items: values(&items, &status, &extra),
                    }))
                })
                .collect())
        })
        .await
}

/// What STATUS reports beside the mailbox's own status.
struct Extra {
    recent: u32,
    limit: Option<u64>,
    deleted_storage: u64,
}

/// The asked items' values, in the order asked.
fn values(items: &[StatusItem], status: &MailboxStatus, extra: &Extra) -> Vec<(StatusItem, u64)> {
    items
        .iter()
        .filter_map(|item| {
            let value = match item {
                StatusItem::Messages => u64::from(status.exists),
                StatusItem::UidNext => u64::from(status.uidnext.get()),
                StatusItem::UidValidity => u64::from(status.uidvalidity.get()),
                StatusItem::Unseen => u64::from(status.unseen),
                StatusItem::Deleted => u64::from(status.deleted),
                StatusItem::Size => status.size,
                StatusItem::Recent => u64::from(extra.recent),
                StatusItem::HighestModSeq => status.highestmodseq.get(),
                StatusItem::AppendLimit => extra.limit?,
                // RFC 9208 §4.2: in units of 1024 octets, as STORAGE.
                StatusItem::DeletedStorage => extra.deleted_storage / 1024,
            };
            Some((*item, value))
        })
        .collect()
}
