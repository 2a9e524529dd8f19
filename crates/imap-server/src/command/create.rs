//! CREATE (RFC 9051 §6.3.4), with RFC 6154 §3 `USE` special-use attributes. A trailing
//! separator only declares the intent to create children and is dropped. In a Murder the
//! mailbox may belong on another server (`proxy::mailbox::placement`: Cyrus's
//! `CREATE name BACKEND!PARTITION`, else where its parent or its owner's INBOX is, else the
//! least loaded backend), and the command goes there.

use imap_proto::command::{Command, Mailbox, Tag};
use imap_proto::response::Code;
use mailservice::Operation;

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};
use crate::proxy::mailbox::Placement;

const SPECIAL_USE: [&str; 7] = [
    "\\All",
    "\\Archive",
    "\\Drafts",
    "\\Flagged",
    "\\Junk",
    "\\Sent",
    "\\Trash",
];

pub(crate) async fn run(
    session: &mut Session,
    tag: &Tag,
    mailbox: Mailbox,
    use_attrs: Vec<String>,
    partition: Option<String>,
) -> Reply {
    let sep = session.service().namespace().separator();
    let name = mailbox.as_str().trim_end_matches(sep).to_string();
    if name.eq_ignore_ascii_case("INBOX") {
        return Reply::no(Some(Code::AlreadyExists), "INBOX always exists");
    }
    let mut special_use = Vec::new();
    for attr in use_attrs {
        match SPECIAL_USE.iter().find(|s| s.eq_ignore_ascii_case(&attr)) {
            Some(s) => special_use.push((*s).to_string()),
            None => return Reply::no(Some(Code::UseAttr), "Unsupported special-use attribute"),
        }
    }
    let authorized = match session.authorize(&Mailbox::from_name(name), Operation::Create) {
        Ok(a) => a,
        Err(e) => return refuse(&e, Target::Source),
    };
    let partition = match crate::proxy::mailbox::placement(session, &authorized, partition).await {
        Ok(Placement::Here { partition }) => partition,
        Ok(Placement::Backend { backend, partition }) => {
            let command = Command::Create {
                mailbox,
                use_attrs: special_use,
                partition,
            };
            let names = vec![authorized.name().clone()];
            return crate::proxy::mailbox::changing(session, tag, &backend, command, names).await;
        }
        Err(e) => return refuse(&e, Target::Source),
    };
    let Some(identity) = session.state.identity().cloned() else {
        return Reply::bad("Not authenticated");
    };
    match session
        .blocking(move |s| s.create(&identity, &authorized, special_use, partition))
        .await
    {
        Ok(_) => Reply::ok("Create completed"),
        Err(e) => refuse(&e, Target::Source),
    }
}
