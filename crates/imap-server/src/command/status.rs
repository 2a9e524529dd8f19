//! STATUS (RFC 9051 §6.3.11, STATUS=SIZE RFC 8438, APPENDLIMIT RFC 7889; RECENT of RFC 3501
//! §6.3.10 in IMAP4rev1 only).

use imap_proto::command::{Mailbox, StatusItem};
use imap_proto::response::Data;
use mailservice::{Operation, ServiceError};

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

pub(crate) async fn run(session: &mut Session, mailbox: Mailbox, items: Vec<StatusItem>) -> Reply {
    if let Some(reply) = rev1_only(session, &items) {
        return reply;
    }
    if items.contains(&StatusItem::HighestModSeq) {
        // A CONDSTORE enabling command (RFC 7162 §3.1).
        session.enable_condstore().await;
    }
    match status_data(session, mailbox, &items).await {
        Ok(data) => {
            session.out.data(data);
            Reply::ok("Status completed")
        }
        Err(e) => refuse(&e, Target::Source),
    }
}

/// `BAD` for the RECENT item after ENABLE IMAP4rev2: RFC 9051 removed it with `\Recent`
/// (§2.3.2, Appendix E), and its `status-att` grammar has no RECENT.
pub(crate) fn rev1_only(session: &Session, items: &[StatusItem]) -> Option<Reply> {
    (session.enabled.imap4rev2 && items.contains(&StatusItem::Recent))
        .then(|| Reply::bad("RECENT is not an IMAP4rev2 status item"))
}

/// The STATUS response for one mailbox (also used by LIST-STATUS).
pub(crate) async fn status_data(
    session: &mut Session,
    mailbox: Mailbox,
    items: &[StatusItem],
) -> Result<Data, ServiceError> {
    let authorized = session.authorize(&mailbox, Operation::Read)?;
    // RECENT counts what the identity's next read-write SELECT would claim, and STATUS claims
    // nothing (RFC 3501 §6.3.10); of the selected mailbox it is this session's count, as in
    // Cyrus (the messages it claimed are recent for it, not for the next session).
    let selected = session
        .state
        .view()
        .filter(|v| v.mailbox.name() == authorized.name())
        .map(|v| v.recent.count(v.uids()));
    let count_recent = items.contains(&StatusItem::Recent) && selected.is_none();
    let (status, recent) = session
        .blocking(move |s| {
            let recent = match count_recent {
                true => s.recent_count(&authorized)?,
                false => 0,
            };
            Ok((s.status(&authorized)?, recent))
        })
        .await?;
    let recent = selected.unwrap_or(recent);
    let limit = session.server.config.max_message_size;
    let values = items
        .iter()
        .filter_map(|item| {
            let value = match item {
                StatusItem::Messages => u64::from(status.exists),
                StatusItem::UidNext => u64::from(status.uidnext.get()),
                StatusItem::UidValidity => u64::from(status.uidvalidity.get()),
                StatusItem::Unseen => u64::from(status.unseen),
                StatusItem::Deleted => u64::from(status.deleted),
                StatusItem::Size => status.size,
                StatusItem::Recent => u64::from(recent),
                StatusItem::HighestModSeq => status.highestmodseq.get(),
                StatusItem::AppendLimit => limit?,
            };
            Some((*item, value))
        })
        .collect();
    Ok(Data::Status {
        mailbox,
        items: values,
    })
}
