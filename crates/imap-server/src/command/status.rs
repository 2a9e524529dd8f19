//! STATUS (RFC 9051 §6.3.11, STATUS=SIZE RFC 8438, APPENDLIMIT RFC 7889).

use imap_proto::command::{Mailbox, StatusItem};
use imap_proto::response::Data;
use mailservice::{Operation, ServiceError};

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

pub(crate) async fn run(session: &mut Session, mailbox: Mailbox, items: Vec<StatusItem>) -> Reply {
    match status_data(session, mailbox, &items).await {
        Ok(data) => {
            session.out.data(data);
            Reply::ok("Status completed")
        }
        Err(e) => refuse(&e, Target::Source),
    }
}

/// The STATUS response for one mailbox (also used by LIST-STATUS).
pub(crate) async fn status_data(
    session: &mut Session,
    mailbox: Mailbox,
    items: &[StatusItem],
) -> Result<Data, ServiceError> {
    let authorized = session.authorize(&mailbox, Operation::Read)?;
    let status = session.blocking(move |s| s.status(&authorized)).await?;
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
                StatusItem::Recent => 0,
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
