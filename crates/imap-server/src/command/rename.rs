//! RENAME (RFC 9051 §6.3.6). Renaming INBOX moves all its messages to the new mailbox and leaves
//! INBOX empty; any other rename takes the mailbox's children along. What counts as INBOX, and
//! whether a partition may be named, is decided by the service on the internal names
//! (`MailService::rename`), so `RENAME user.alice x` by alice is a rename of her INBOX too.
//!
//! Access (RFC 4314 §4): `x` on the source, and `k` on the closest existing parent of the new
//! name, decided as for CREATE: a new name the user may not see answers `[NOPERM]`, as a
//! missing parent does, never `[ALREADYEXISTS]` or `[NONEXISTENT]`, so RENAME reveals no more
//! than CREATE. Administrators need neither right (mailbox management). Both are decided by
//! `MailService::authorize_rename`.
//!
//! A mailbox another server holds is renamed there (`proxy`): the new name stays on that
//! server, whatever server holds its new parent. In a Murder an administrator moves it to
//! another backend by naming one as the partition, `RENAME old new SERVER!PARTITION`
//! (Cyrus's form; `RENAME name name SERVER!PARTITION` only moves): the holder renames the
//! mailbox, then transfers the new name to that server (XFER, `crate::xfer`), both under
//! the client's tag. A failed transfer leaves the mailbox renamed where it was, and says so.

use imap_proto::command::{Command, Mailbox, Tag};
use imap_proto::response::{Code, StatusKind};

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

/// A partition argument naming a server (`SERVER!PARTITION`, `SERVER!`): the server, and the
/// partition there if one is named.
fn server_of(partition: Option<&str>) -> Option<(String, Option<String>)> {
    let (server, part) = partition?.split_once('!')?;
    Some((
        server.to_string(),
        (!part.is_empty()).then(|| part.to_string()),
    ))
}

pub(crate) async fn run(
    session: &mut Session,
    tag: &Tag,
    from: Mailbox,
    to: Mailbox,
    partition: Option<String>,
) -> Reply {
    let Some(identity) = session.state.identity().cloned() else {
        return Reply::bad("Not authenticated");
    };
    let decided = session
        .service()
        .authorize_rename(&identity, from.as_str(), to.as_str());
    let (src, dst) = match decided {
        Ok(pair) => pair,
        Err(e) => return refuse(&e, Target::Source),
    };
    let elsewhere = server_of(partition.as_deref());
    let holder = match session.remote(&src) {
        Ok(remote) => remote.map(|r| r.server),
        Err(e) => return refuse(&e, Target::Source),
    };
    let here = session
        .service()
        .cluster()
        .map(|c| c.this_server().to_string());
    // Moving to another server of the Murder (administrators only, as any partition).
    let current = holder.clone().or(here);
    if let Some((server, part)) =
        elsewhere.filter(|(server, _)| current.is_some() && Some(server) != current.as_ref())
    {
        if !identity.is_admin() {
            return Reply::no(
                Some(Code::NoPerm),
                "Only an administrator moves a mailbox to another server",
            );
        }
        return Box::pin(rename_and_move(
            session, tag, &identity, holder, from, to, src, dst, server, part,
        ))
        .await;
    }
    // The partition on this mailbox's own server.
    let partition = match server_of(partition.as_deref()) {
        Some((_, part)) => part,
        None => partition,
    };
    if let Some(holder) = holder {
        let names = vec![src.name().clone(), dst.name().clone()];
        let command = Command::Rename {
            from,
            to,
            partition,
        };
        return crate::proxy::mailbox::changing(session, tag, &holder, command, names).await;
    }
    let result = session
        .blocking(move |s| s.rename(&identity, &src, &dst, partition.as_deref()))
        .await;
    match result {
        Ok(()) => Reply::ok("Rename completed"),
        Err(e) => refuse(&e, Target::Source),
    }
}

/// RENAME to another server: the rename where the mailbox is (unless the name stays), then
/// XFER of the new name to `server`, at the holder (`holder`, or this server).
#[allow(clippy::too_many_arguments)] // one command's parts, decided by the caller
async fn rename_and_move(
    session: &mut Session,
    tag: &Tag,
    identity: &mailservice::Identity,
    holder: Option<String>,
    from: Mailbox,
    to: Mailbox,
    src: mailservice::Authorized,
    dst: mailservice::Authorized,
    server: String,
    partition: Option<String>,
) -> Reply {
    if src.name() != dst.name() {
        let renamed = match &holder {
            Some(holder) => {
                let command = Command::Rename {
                    from,
                    to: to.clone(),
                    partition: None,
                };
                match session.forward(holder, command).await {
                    Ok(done) if done.is_ok() => {
                        session
                            .refresh(vec![src.name().clone(), dst.name().clone()])
                            .await;
                        Ok(())
                    }
                    Ok(done) => return session.complete(tag, &done),
                    Err(reply) => return reply,
                }
            }
            None => {
                let identity = identity.clone();
                session
                    .blocking(move |s| s.rename(&identity, &src, &dst, None))
                    .await
            }
        };
        if let Err(e) = renamed {
            return refuse(&e, Target::Source);
        }
    }
    let moved = match &holder {
        Some(holder) => {
            let command = Command::Xfer {
                mailbox: to.clone(),
                server: server.clone(),
                partition,
            };
            match session.forward(holder, command).await {
                Ok(done) => {
                    if let Ok(name) = session
                        .service()
                        .namespace()
                        .to_internal(identity, to.as_str())
                    {
                        session.refresh(vec![name]).await;
                    }
                    if done.is_ok() {
                        return session.complete(tag, &done);
                    }
                    done.text()
                }
                Err(reply) => return reply,
            }
        }
        None => {
            let reply = Box::pin(crate::xfer::source::run(
                session,
                tag,
                to.clone(),
                server.clone(),
                partition,
            ))
            .await;
            if reply.kind == StatusKind::Ok {
                return reply;
            }
            reply.text
        }
    };
    Reply::no(
        None,
        &format!(
            "Renamed to {}, but it stays on its server: moving it to {server} failed: {moved}",
            to.as_str()
        ),
    )
}
