//! APPEND (RFC 9051 §6.3.12) and MULTIAPPEND (RFC 3502): every message of the command is stored
//! in one step or none is; the answer carries APPENDUID (RFC 4315). Message bytes come from the
//! spool files the connection streamed the literals into; to a mailbox another server holds,
//! they are streamed on to it (`proxy`).

use imap_proto::command::{AppendData, AppendMessage, Mailbox, Tag};
use imap_proto::response::Code;
use imap_proto::SequenceSet;
use mailservice::{AppendItem, AppendSource, Operation};

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{from_imap_datetime, refuse, Target};

pub(crate) async fn run(
    session: &mut Session,
    tag: &Tag,
    mailbox: Mailbox,
    messages: Vec<AppendMessage>,
) -> Reply {
    let authorized = match session.authorize(&mailbox, Operation::Insert) {
        Ok(a) => a,
        Err(e) => return refuse(&e, Target::Destination),
    };
    match session.remote(&authorized) {
        Ok(Some(remote)) => {
            if let Some(referral) = session.referral(&remote, &mailbox) {
                return referral;
            }
            return crate::proxy::mailbox::append(session, tag, &remote.server, mailbox, messages)
                .await;
        }
        Ok(None) => {}
        Err(e) => return refuse(&e, Target::Destination),
    }
    let mut items = Vec::with_capacity(messages.len());
    for message in messages {
        let source = match message.data {
            AppendData::Spooled { spool, .. } => match session.spool.path(spool.0) {
                Some(path) => AppendSource::File(path.to_path_buf()),
                None => return Reply::no(Some(Code::ServerBug), "Spooled message is missing"),
            },
            AppendData::Inline { data, .. } => AppendSource::Bytes(data),
        };
        items.push(AppendItem {
            source,
            flags: message.flags,
            internal_date: message.date_time.map(from_imap_datetime),
        });
    }
    match session
        .blocking(move |s| s.append(&authorized, items))
        .await
    {
        Ok(outcome) => {
            let uids = SequenceSet::from_numbers(outcome.uids.iter().map(|u| u.get()));
            match uids {
                Some(uids) => Reply::ok_code(
                    Code::AppendUid {
                        uid_validity: outcome.uidvalidity,
                        uids,
                    },
                    "Append completed",
                ),
                None => Reply::ok("Append completed"),
            }
        }
        Err(e) => refuse(&e, Target::Destination),
    }
}
