//! Commands on a mailbox a backend holds, forwarded one at a time: STATUS (and the STATUS a
//! LIST-STATUS adds beside a LIST line), APPEND (each message streamed from its spool file),
//! the ACL and QUOTA commands, DELETE and RENAME; and where CREATE puts a new mailbox. After
//! a change of the directory made through a backend (CREATE, DELETE, RENAME, SETACL,
//! DELETEACL), the directory copy is refreshed, so the client's next LIST sees it.

use imap_proto::command::{AppendData, AppendMessage, Command, Mailbox, StatusItem, Tag};
use imap_proto::wire::LiteralStyle;
use imap_proto::TaggedCommand;
use mailservice::{Authorized, ServiceError};
use types::MailboxName;

use super::conn::BackendConn;
use super::relay::{Piece, Sink};
use super::ProxyError;
use crate::command::Reply;
use crate::connection::Session;

/// RFC 7888 §4: LITERAL- takes `{N+}` only up to this size.
const LITERAL_MINUS_MAX: u64 = 4096;

/// APPEND (and MULTIAPPEND) to a mailbox `backend` holds, the messages streamed from the
/// spool files the client's literals went to; APPENDUID comes back with the completion.
pub(crate) async fn append(
    session: &mut Session,
    tag: &Tag,
    backend: &str,
    mailbox: Mailbox,
    messages: Vec<AppendMessage>,
) -> Reply {
    let mut conn = match session.backend(backend).await {
        Ok(conn) => conn,
        Err(e) => return session.unavailable(backend, &e),
    };
    let tag_there = conn.tag();
    let exchanged = match session.append_pieces(&conn, &tag_there, mailbox, messages) {
        Ok(pieces) => {
            session
                .exchange(&mut conn, &tag_there, pieces, &mut Sink::Client)
                .await
        }
        Err(e) => Err(e),
    };
    match exchanged {
        Ok(done) => {
            session.backends.put(conn);
            session.complete(tag, &done)
        }
        Err(e) => session.unavailable(backend, &e),
    }
}

impl Session {
    /// APPEND as pieces: each message's header, then its bytes (from its spool file), with a
    /// wait for `+` after the header where the backend takes no non-synchronising literal.
    pub(crate) fn append_pieces(
        &self,
        conn: &BackendConn,
        tag: &str,
        mailbox: Mailbox,
        messages: Vec<AppendMessage>,
    ) -> Result<Vec<Piece>, ProxyError> {
        let tag = Tag::new(tag).ok_or_else(|| ProxyError::Protocol("a bad tag".into()))?;
        let head = TaggedCommand {
            tag,
            command: Command::Append {
                mailbox,
                messages: Vec::new(),
            },
        };
        let mut bytes = head.to_bytes(self.out.encoding, LiteralStyle::Sync);
        bytes.truncate(bytes.len().saturating_sub(2));
        let mut pieces = Vec::new();
        for message in messages {
            let len = match &message.data {
                AppendData::Spooled { len, .. } => *len,
                AppendData::Inline { data, .. } => data.len() as u64,
            };
            let plus =
                conn.offers("LITERAL+") || (conn.offers("LITERAL-") && len <= LITERAL_MINUS_MAX);
            let style = if plus {
                LiteralStyle::NonSync
            } else {
                LiteralStyle::Sync
            };
            message.encode_header(&mut bytes, style);
            pieces.push(Piece::Bytes(std::mem::take(&mut bytes)));
            if style == LiteralStyle::Sync {
                pieces.push(Piece::GoAhead);
            }
            match message.data {
                AppendData::Spooled { spool, len, .. } => {
                    let path = self
                        .spool
                        .path(spool.0)
                        .ok_or_else(|| ProxyError::Io(std::io::ErrorKind::NotFound.into()))?;
                    pieces.push(Piece::File {
                        path: path.to_path_buf(),
                        len,
                    });
                }
                AppendData::Inline { data, .. } => pieces.push(Piece::Bytes(data)),
            }
        }
        pieces.push(Piece::Bytes(b"\r\n".to_vec()));
        Ok(pieces)
    }
}

/// The `* STATUS` response `backend` gives for `mailbox`, as it sent it, for LIST-STATUS
/// (RFC 5819); other untagged responses on the way are relayed.
pub(crate) async fn status_of(
    session: &mut Session,
    backend: &str,
    mailbox: Mailbox,
    items: Vec<StatusItem>,
) -> Result<Vec<u8>, ServiceError> {
    let unavailable = || ServiceError::Unavailable(format!("server {backend} is unavailable"));
    let mut conn = match session.backend(backend).await {
        Ok(conn) => conn,
        Err(e) => {
            let _ = session.unavailable(backend, &e);
            return Err(unavailable());
        }
    };
    let tag = conn.tag();
    let mut sink = Sink::Capture {
        word: "STATUS",
        kept: Vec::new(),
        limit: session.server.config.limits.max_command,
    };
    let exchanged = match session.command_pieces(&tag, Command::Status { mailbox, items }) {
        Ok(pieces) => session.exchange(&mut conn, &tag, pieces, &mut sink).await,
        Err(e) => Err(e),
    };
    match exchanged {
        Ok(done) => {
            session.backends.put(conn);
            match sink {
                Sink::Capture { mut kept, .. } if done.is_ok() && !kept.is_empty() => {
                    Ok(kept.swap_remove(0))
                }
                _ => Err(ServiceError::NoSuchMailbox),
            }
        }
        Err(e) => {
            let _ = session.unavailable(backend, &e);
            Err(unavailable())
        }
    }
}

/// Forwards a command that changes the directory (CREATE, DELETE, RENAME, SETACL,
/// DELETEACL) and, when it succeeded, refreshes the directory copy's entries of `names`.
pub(crate) async fn changing(
    session: &mut Session,
    tag: &Tag,
    backend: &str,
    command: Command,
    names: Vec<MailboxName>,
) -> Reply {
    let done = match session.forward(backend, command).await {
        Ok(done) => done,
        Err(reply) => return reply,
    };
    if done.is_ok() {
        session.refresh(names).await;
    }
    session.complete(tag, &done)
}

/// The live backend (other than this server) holding the fewest mailboxes, which takes a new
/// INBOX or shared hierarchy from a frontend.
pub(crate) fn least_loaded(cluster: &dyn mailservice::Cluster) -> Option<mailservice::Backend> {
    let here = cluster.this_server();
    cluster
        .backends()
        .into_iter()
        .filter(|b| b.alive && b.imap.is_some() && b.name != here)
        .min_by_key(|b| b.mailboxes)
}

/// Where CREATE puts a new mailbox.
pub(crate) enum Placement {
    /// Here, as on a single server.
    Here { partition: Option<String> },
    /// On `backend`, with the partition to name there.
    Backend {
        backend: String,
        partition: Option<String>,
    },
}

/// Where `mailbox` (authorized for CREATE) goes (Cyrus's Murder rules). Without a cluster,
/// or on a server that proxies to none, here. `BACKEND!PARTITION` (administrators only, as any partition) names the place.
/// Otherwise the mailbox joins its closest existing ancestor: a personal mailbox goes where
/// its owner's INBOX is, a shared one where its parent is. A mailbox with no ancestor (a new
/// INBOX, a new shared hierarchy) stays here on a server that holds mailboxes, and goes to
/// the alive backend holding the fewest mailboxes from a frontend that holds none.
pub(crate) async fn placement(
    session: &Session,
    mailbox: &Authorized,
    partition: Option<String>,
) -> Result<Placement, ServiceError> {
    if !session.proxying() {
        return Ok(Placement::Here { partition });
    }
    let is_admin = session.state.identity().is_some_and(|i| i.is_admin());
    let name = mailbox.name().clone();
    session
        .blocking(move |s| {
            let Some(cluster) = s.cluster() else {
                return Ok(Placement::Here { partition });
            };
            let here = cluster.this_server().to_string();
            if let Some((server, part)) = partition.as_deref().and_then(|p| p.split_once('!')) {
                if !is_admin {
                    return Err(ServiceError::PermissionDenied);
                }
                let partition = (!part.is_empty()).then(|| part.to_string());
                if server == here && cluster.is_backend() {
                    return Ok(Placement::Here { partition });
                }
                return Ok(Placement::Backend {
                    backend: server.to_string(),
                    partition,
                });
            }
            let mut ancestor = name.parent();
            while let Some(parent) = ancestor {
                match s.remote_of_name(&parent) {
                    Ok(Some(remote)) => {
                        return Ok(Placement::Backend {
                            backend: remote.server,
                            partition,
                        })
                    }
                    Ok(None) => return Ok(Placement::Here { partition }),
                    Err(_) => ancestor = parent.parent(),
                }
            }
            if cluster.is_backend() {
                return Ok(Placement::Here { partition });
            }
            match least_loaded(cluster.as_ref()) {
                Some(b) => Ok(Placement::Backend {
                    backend: b.name,
                    partition,
                }),
                None => Err(ServiceError::Unavailable(
                    "no backend is available for a new mailbox".into(),
                )),
            }
        })
        .await
}
