//! The ACL commands (RFC 4314 §3): GETACL, SETACL (with `+`/`-`), DELETEACL, LISTRIGHTS and
//! MYRIGHTS. The service decides (it needs `a` for all but MYRIGHTS, which needs any right, and
//! answers a mailbox the user cannot see exactly like a missing one); this only speaks IMAP.
//! Of a mailbox another server holds, that server answers, once the rights here allow the
//! command (`proxy`); a change of its ACL is then refreshed in the directory copy.

use imap_proto::command::{Command, Mailbox, Tag};
use imap_proto::response::Data;
use mailservice::Operation;
use types::RightsChange;

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

pub(crate) enum Op {
    Get,
    Set { identifier: String, rights: String },
    Delete { identifier: String },
    List { identifier: String },
    Mine,
}

impl Op {
    /// What the command needs here before it goes to a backend (RFC 4314 §4).
    fn operation(&self) -> Operation {
        match self {
            Op::Mine => Operation::AnyRight,
            Op::Get | Op::Set { .. } | Op::Delete { .. } | Op::List { .. } => Operation::Administer,
        }
    }

    /// The command as the client gave it, for the backend.
    fn command(self, mailbox: Mailbox) -> Command {
        match self {
            Op::Get => Command::GetAcl(mailbox),
            Op::Set { identifier, rights } => Command::SetAcl {
                mailbox,
                identifier,
                rights,
            },
            Op::Delete { identifier } => Command::DeleteAcl {
                mailbox,
                identifier,
            },
            Op::List { identifier } => Command::ListRights {
                mailbox,
                identifier,
            },
            Op::Mine => Command::MyRights(mailbox),
        }
    }
}

pub(crate) async fn run(session: &mut Session, tag: &Tag, mailbox: Mailbox, op: Op) -> Reply {
    let Some(identity) = session.state.identity().cloned() else {
        return Reply::bad("Not authenticated");
    };
    if let Some(reply) = session.cyrus_sieve_box_acl(&identity, &mailbox, &op) {
        return reply;
    }
    // Refusals stay the local handler's, so they read as on a single server.
    if let Ok(authorized) = session.authorize(&mailbox, op.operation()) {
        if let Ok(Some(remote)) = session.remote(&authorized) {
            let changes = matches!(op, Op::Set { .. } | Op::Delete { .. });
            let command = op.command(mailbox);
            let names = if changes {
                vec![authorized.name().clone()]
            } else {
                Vec::new()
            };
            return crate::proxy::mailbox::changing(session, tag, &remote.server, command, names)
                .await;
        }
    }
    let name = mailbox.as_str().to_string();
    let answer = match op {
        Op::Get => {
            let result = session.blocking(move |s| s.get_acl(&identity, &name)).await;
            result.map(|acl| {
                let entries = acl
                    .entries()
                    .iter()
                    .map(|e| (e.identifier.to_string(), e.rights.shown().to_string()))
                    .collect();
                Some(Data::Acl { mailbox, entries })
            })
        }
        Op::Set { identifier, rights } => {
            // RFC 4314 §3.1: an unknown right is a syntax error.
            let change = match RightsChange::try_from(rights.as_str()) {
                Ok(change) => change,
                Err(e) => return Reply::bad(&format!("{rights:?}: {e}")),
            };
            session
                .blocking(move |s| s.set_acl(&identity, &name, &identifier, change))
                .await
                .map(|()| None)
        }
        Op::Delete { identifier } => session
            .blocking(move |s| s.delete_acl(&identity, &name, &identifier))
            .await
            .map(|()| None),
        Op::List { identifier } => {
            let id = identifier.clone();
            let result = session
                .blocking(move |s| s.list_rights(&identity, &name, &id))
                .await;
            result.map(|(required, optional)| {
                Some(Data::ListRights {
                    mailbox,
                    identifier,
                    required: required.shown().to_string(),
                    // Each optional right on its own, the virtual `c` and `d` too (RFC 4314
                    // §2.1.1: their members are not tied to other rights).
                    optional: optional
                        .shown()
                        .to_string()
                        .chars()
                        .map(String::from)
                        .collect(),
                })
            })
        }
        Op::Mine => {
            let result = session
                .blocking(move |s| s.my_rights(&identity, &name))
                .await;
            result.map(|rights| {
                Some(Data::MyRights {
                    mailbox,
                    rights: rights.shown().to_string(),
                })
            })
        }
    };
    match answer {
        Ok(data) => {
            if let Some(data) = data {
                session.out.data(data);
            }
            Reply::ok("Completed")
        }
        Err(e) => refuse(&e, Target::Source),
    }
}
