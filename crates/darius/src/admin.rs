//! The admin socket: how `darius user …` and other tools reach a running server, since the
//! databases belong to the server process while it runs (redb allows one process per file).
//!
//! Protocol: one JSON request per line, one JSON response per line, then the next request.
//! The socket is mode 0600 and a connection from a user other than the server's own (or root)
//! is refused, so only the mail administrator reaches it.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use types::Secret;

use crate::mail::Backend;

/// Longest request line accepted; a password and a name fit many times over.
const MAX_REQUEST: usize = 64 * 1024;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    UserAdd {
        name: String,
        password: String,
    },
    UserPasswd {
        name: String,
        password: String,
    },
    UserDel {
        name: String,
    },
    UserList,
    /// Which secret forms the user's record holds (never the secrets).
    UserShow {
        name: String,
    },
    UserCheck {
        name: String,
        password: String,
    },
    /// Mailboxes by internal name, as the server's administrator (every right).
    MailboxCreate {
        name: String,
        partition: Option<String>,
    },
    MailboxDelete {
        name: String,
    },
    MailboxRename {
        from: String,
        to: String,
        partition: Option<String>,
    },
    /// Internal names matching `pattern` (IMAP LIST wildcards `*` and `%`, `.` separated).
    MailboxList {
        pattern: String,
    },
    /// A mailbox's ACL by internal name, as the server's administrator (GETACL).
    AclGet {
        name: String,
    },
    /// SETACL: `rights` replaces, `+rights` adds, `-rights` removes.
    AclSet {
        name: String,
        identifier: String,
        rights: String,
    },
    /// DELETEACL.
    AclDelete {
        name: String,
        identifier: String,
    },
    /// Quota roots with limits and usage: the roots named (all when none), at or below
    /// `prefix` when given (`darius quota`).
    QuotaList {
        prefix: Option<String>,
        roots: Vec<String>,
    },
    /// `quota -f`: recompute usage of the roots named (all when none), at or below `prefix`.
    QuotaFix {
        prefix: Option<String>,
        roots: Vec<String>,
    },
    /// Remove a quota root (its mailboxes fall to the enclosing root).
    QuotaRemove {
        root: String,
    },
    /// Set a root's limits (SETQUOTA by internal name); none: no limits, the root kept.
    QuotaSet {
        root: String,
        storage_kib: Option<u64>,
        messages: Option<u64>,
    },
    /// `reconstruct` of one mailbox by internal name: `adopt` (`-f`) indexes message files
    /// the index does not list (else they are reported); `dry_run` (`-n`) changes nothing.
    /// Answered with `Findings`, one line per change.
    Reconstruct {
        name: String,
        adopt: bool,
        dry_run: bool,
    },
    /// `check`: the whole store's consistency, read-only; `Findings`, one line per problem.
    Check,
    /// Delayed expunge and delete (`darius unexpunge`, `darius expire`): the messages a
    /// delayed expunge kept in `mailbox`.
    UnexpungeList {
        mailbox: String,
    },
    /// Restore kept messages of `mailbox` (those that had `uids`; all when none) under new
    /// UIDs, clearing `\Deleted` when asked.
    Unexpunge {
        mailbox: String,
        uids: Vec<u32>,
        clear_deleted: bool,
    },
    /// Purge what was expunged more than `expunge_days` ago, the mailboxes deleted more than
    /// `delete_days` ago, and expired delivery records.
    Expire {
        expunge_days: u64,
        delete_days: u64,
    },
    /// The mailboxes a delayed delete hid (`darius undelete -l`).
    UndeleteList,
    /// Bring back the mailbox deleted as `name` (with those below it deleted with it), under
    /// `to` when given.
    Undelete {
        name: String,
        to: Option<String>,
    },
    /// `murder sync`: reconcile this backend's mailboxes with the Murder's directory
    /// (`dry_run`: only compare), answered with `Findings`, one line per difference.
    MurderSync {
        dry_run: bool,
    },
    /// `murder mupdate-sync`: push this server's mailboxes to the Cyrus mupdate master
    /// (`dry_run`: only compare), answered with `Findings`, one line per difference.
    MupdateSync {
        dry_run: bool,
    },
    /// `mboxlist dump`: every mailbox (with `prefix`: that one and those below it), one dump
    /// line each in name order, answered with `Findings`.
    MailboxDump {
        prefix: Option<String>,
    },
    /// `darius backup`: a consistent copy of the whole store into `dest` (an absolute path,
    /// missing or empty, writable by the server), answered with `BackedUp`.
    Backup {
        dest: String,
    },
    /// `darius restore BACKUP --user NAME` (`user`) or `--mailbox NAME [--to NEW] [-r]`:
    /// mailboxes from the backup at `backup` (absolute) fed into the live store; `Findings`,
    /// one line per mailbox restored.
    Restore {
        backup: String,
        user: Option<String>,
        mailbox: Option<String>,
        to: Option<String>,
        recursive: bool,
    },
    /// `darius collectnews`: feed lines (a piece of the feed).
    NewsCollect {
        lines: Vec<String>,
    },
    /// `darius rmnews`: `fastrm`'s input lines (a piece of it).
    NewsRemove {
        lines: Vec<String>,
    },
    /// `darius syncnews`: the `active` file at `active` (absolute).
    NewsSync {
        active: String,
        dry_run: bool,
    },
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    /// Done; `message` says what was done, for the admin (the same words whichever path ran it).
    Done {
        message: String,
    },
    Users {
        names: Vec<String>,
    },
    Mailboxes {
        names: Vec<String>,
    },
    /// An ACL's entries, `(identifier, rights)` in the ACL's order.
    Acl {
        entries: Vec<(String, String)>,
    },
    /// Quota roots in name order, with limits and usage.
    Quotas {
        roots: Vec<crate::quotas::QuotaRow>,
    },
    Checked {
        valid: bool,
    },
    /// What `reconstruct` changed or `check` found, one line each (none: nothing).
    Findings {
        lines: Vec<String>,
    },
    /// What a backup copied.
    BackedUp {
        summary: crate::backup::BackupSummary,
    },
    /// What a piece of `collectnews` did.
    Collected {
        report: news::CollectReport,
    },
    /// What a piece of `rmnews` did.
    Removed {
        report: news::RemoveReport,
    },
    /// What `syncnews` did.
    Synced {
        report: news::SyncReport,
    },
    Refused {
        reason: String,
    },
    Failed {
        reason: String,
    },
}

/// Carries out one request: used by the server for socket requests and by the tools directly
/// when no server runs.
pub fn execute(ctx: &Backend, request: Request, peer: &str) -> Response {
    use auth::AuthError;
    let request = match canonical_user_names(ctx, request) {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    let db = &ctx.passwords;
    let dir = ctx.config_directory.display();
    let result = match request {
        Request::UserAdd { name, password } => db
            .add_user(&name, &Secret::new(password))
            .map(|()| create_inbox(ctx, &name)),
        Request::UserPasswd { name, password } => {
            db.set_password(&name, &Secret::new(password)).map(|()| {
                done(format!(
                    "changed the password of `{name}` (data directory {dir})"
                ))
            })
        }
        Request::UserDel { name } => match delete_mailboxes(ctx, &name) {
            Ok(mailboxes) => db.delete_user(&name).map(|()| {
                let plural = if mailboxes == 1 {
                    "mailbox"
                } else {
                    "mailboxes"
                };
                done(format!(
                    "deleted user `{name}` and all their mail: {mailboxes} {plural} \
                     (data directory {dir})"
                ))
            }),
            Err(e) => Ok(service_failure(&e)),
        },
        Request::UserList => db.list_users().map(|names| Response::Users { names }),
        Request::UserShow { name } => db.stored_forms(&name).and_then(|forms| match forms {
            Some(forms) => Ok(done(format!("{name}: {forms}"))),
            None => Err(AuthError::NoSuchUser(name)),
        }),
        Request::MailboxCreate { .. }
        | Request::MailboxDelete { .. }
        | Request::MailboxRename { .. }
        | Request::MailboxList { .. } => return crate::mailboxes::execute(ctx, request),
        Request::AclGet { .. } | Request::AclSet { .. } | Request::AclDelete { .. } => {
            return crate::acls::execute(ctx, request)
        }
        Request::QuotaList { .. }
        | Request::QuotaFix { .. }
        | Request::QuotaRemove { .. }
        | Request::QuotaSet { .. } => return crate::quotas::execute(ctx, request),
        Request::Reconstruct { .. } => return crate::reconstruct::execute(ctx, request),
        Request::Check => return crate::check::execute(ctx),
        Request::UnexpungeList { .. }
        | Request::Unexpunge { .. }
        | Request::Expire { .. }
        | Request::UndeleteList
        | Request::Undelete { .. } => return crate::expunged::execute(ctx, request),
        Request::MailboxDump { .. } => return crate::mboxlist::execute(ctx, request),
        Request::MurderSync { dry_run } => return crate::murder::execute(ctx, dry_run),
        Request::MupdateSync { dry_run } => return crate::mupdate::execute(ctx, dry_run),
        Request::Backup { .. } | Request::Restore { .. } => {
            return crate::backup::execute(ctx, request)
        }
        Request::NewsCollect { .. } | Request::NewsRemove { .. } | Request::NewsSync { .. } => {
            return crate::netnews::execute(ctx, request)
        }
        Request::UserCheck { name, password } => {
            db.verify(&name, &Secret::new(password)).map(|valid| {
                let outcome = if valid {
                    auth::AuthOutcome::Success
                } else {
                    auth::AuthOutcome::Failure
                };
                auth::log_authentication(outcome, &name, peer, "plaintext");
                Response::Checked { valid }
            })
        }
    };
    match result {
        Ok(response) => response,
        Err(
            e @ (AuthError::AlreadyExists(_)
            | AuthError::NoSuchUser(_)
            | AuthError::BadUsername(_)
            | AuthError::EmptyPassword),
        ) => Response::Refused {
            reason: e.to_string(),
        },
        Err(
            e @ (AuthError::Busy { .. }
            | AuthError::Db { .. }
            | AuthError::Version { .. }
            | AuthError::Etcd { .. }
            | AuthError::Shadow(_)
            | AuthError::Unavailable(_)),
        ) => {
            tracing::error!(severity = "err", "admin request failed: {e}");
            Response::Failed {
                reason: e.to_string(),
            }
        }
    }
}

/// A user request with its user name in canonical form, as logins look it up: with virtual
/// domains, `alice@EXAMPLE.ORG` is `alice` when `defaultdomain` is `example.org`, and
/// `Bob@One.Example` is `Bob@one.example`; a name whose domain part is not a domain name is
/// refused. Other requests, and every request with domains off, are left as they are.
fn canonical_user_names(ctx: &Backend, request: Request) -> Result<Request, Response> {
    let domains = ctx.passwords.login_identity().domains();
    let canonical = |name: String| match domains.canonical_userid(&name) {
        Some(canonical) => Ok(canonical),
        None => Err(Response::Refused {
            reason: malformed_user(&name),
        }),
    };
    Ok(match request {
        Request::UserAdd { name, password } => Request::UserAdd {
            name: canonical(name)?,
            password,
        },
        Request::UserPasswd { name, password } => Request::UserPasswd {
            name: canonical(name)?,
            password,
        },
        Request::UserDel { name } => Request::UserDel {
            name: canonical(name)?,
        },
        Request::UserShow { name } => Request::UserShow {
            name: canonical(name)?,
        },
        Request::UserCheck { name, password } => Request::UserCheck {
            name: canonical(name)?,
            password,
        },
        other => other,
    })
}

/// Why `name` is not a user name of a domain (virtual domains on).
fn malformed_user(name: &str) -> String {
    match name.rsplit_once('@') {
        Some(("", _)) => format!("user name `{name}`: nothing before the @"),
        Some((_, domain)) => format!(
            "user name `{name}`: `{domain}` is not a domain name (with virtdomains on, what \
             follows the last @ is the user's domain: letters, digits and hyphens in \
             dot-separated labels)"
        ),
        None => format!("user name `{name}` is not valid"),
    }
}

/// `user add` also creates the user's INBOX, as an administrator's `CREATE user.NAME` would; if
/// that fails the password entry is taken back, so a user never exists half-made. A userid
/// with a dot has no INBOX under the `.` separator (see `mailservice::Namespace::user_inbox`):
/// it is added all the same, to log in without mailboxes of its own, and the answer says so.
/// Whether this server is a Murder frontend (it holds no mailboxes).
fn is_frontend(ctx: &Backend) -> bool {
    ctx.service.cluster().is_some_and(|c| !c.is_backend())
}

fn create_inbox(ctx: &Backend, name: &str) -> Response {
    let dir = ctx.config_directory.display();
    if ctx.service.namespace().user_inbox(name).is_err() && name.contains('.') {
        return done(format!(
            "added user `{name}` without an INBOX: with the \".\" hierarchy separator a userid \
             holding a dot may log in but owns no mailboxes (set `unixhierarchysep: 1` to give \
             it one) (data directory {dir})"
        ));
    }
    if is_frontend(ctx) {
        return create_inbox_on_backend(ctx, name);
    }
    match ctx.service.create_user(name) {
        Ok(()) => done(format!(
            "added user `{name}` and created their INBOX (data directory {dir})"
        )),
        // Here already, or (in a Murder, or with a mupdate master) another server's.
        Err(mailservice::ServiceError::AlreadyExists) if !inbox_is_here(ctx, name) => {
            done(format!(
                "added user `{name}`; their INBOX is another server's (the Murder's directory \
                 or the mupdate master gives the name to it), so none was created here (data \
                 directory {dir})"
            ))
        }
        Err(mailservice::ServiceError::AlreadyExists) => done(format!(
            "added user `{name}` and created their INBOX (data directory {dir})"
        )),
        Err(e) => {
            let _ = ctx.passwords.delete_user(name);
            service_failure(&e)
        }
    }
}

/// `user add` on a Murder frontend, which holds no mailboxes: the INBOX is created on the
/// least loaded backend, as an administrator's CREATE through the frontend would place it
/// (unless the directory names a server for it already). Run by the server only: a tool
/// started on a frontend's configuration (the server stopped) cannot, and says so.
fn create_inbox_on_backend(ctx: &Backend, name: &str) -> Response {
    let dir = ctx.config_directory.display();
    let inbox = match ctx.service.namespace().user_inbox(name) {
        Ok(inbox) => inbox,
        Err(e) => return service_failure(&e),
    };
    if let Ok(Some(remote)) = ctx.service.remote_of_name(&inbox) {
        return done(format!(
            "added user `{name}`; their INBOX is server {}'s already (data directory {dir})",
            remote.server
        ));
    }
    let (Some(imap), Ok(runtime)) = (
        ctx.frontend_imap.get(),
        tokio::runtime::Handle::try_current(),
    ) else {
        return done(format!(
            "added user `{name}`; this Murder frontend holds no mailboxes and is not running: \
             create their INBOX through IMAP (`CREATE user.{name}`), which places it on a \
             backend (data directory {dir})"
        ));
    };
    match runtime.block_on(imap.create_on_backend(&inbox)) {
        Ok(Some(server)) => done(format!(
            "added user `{name}` and created their INBOX on server {server} (data directory \
             {dir})"
        )),
        Ok(None) => done(format!(
            "added user `{name}`; their INBOX is another server's already (data directory {dir})"
        )),
        Err(why) => {
            let _ = ctx.passwords.delete_user(name);
            Response::Failed {
                reason: format!("creating the INBOX of `{name}` on a backend: {why}"),
            }
        }
    }
}

/// Whether the user's INBOX is a mailbox of this server's.
fn inbox_is_here(ctx: &Backend, name: &str) -> bool {
    ctx.service.namespace().user_inbox(name).is_ok_and(|inbox| {
        ctx.service
            .store()
            .mailbox_entry(&inbox)
            .is_ok_and(|e| e.remote_server().is_none())
    })
}

/// `user del`: the user's mailboxes, and how many there were; none for a userid that can own
/// no INBOX under this namespace (a dotted one under the `.` separator).
fn delete_mailboxes(ctx: &Backend, name: &str) -> Result<usize, mailservice::ServiceError> {
    // A frontend's mailboxes are the backends': DELETE through IMAP removes them there.
    if is_frontend(ctx) {
        return Ok(0);
    }
    if ctx.service.namespace().user_inbox(name).is_err() && name.contains('.') {
        return Ok(0);
    }
    ctx.service.delete_user(name)
}

pub(crate) fn done(message: String) -> Response {
    Response::Done { message }
}

pub(crate) fn service_failure(e: &mailservice::ServiceError) -> Response {
    if e.is_refusal() {
        Response::Refused {
            reason: e.to_string(),
        }
    } else {
        tracing::error!(severity = "err", "admin request failed: {e}");
        Response::Failed {
            reason: e.to_string(),
        }
    }
}

/// Who a socket serves, and which requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The admin socket: every request, from root and the server's own user.
    Admin,
    /// The news socket: the netnews requests only, from root, the server's own user and
    /// processes whose group is `group` (the news server's).
    News { group: Option<u32> },
}

impl Scope {
    fn admits(self, uid: u32, gid: u32, owner_uid: u32) -> bool {
        if uid == 0 || uid == owner_uid {
            return true;
        }
        match self {
            Scope::Admin => false,
            Scope::News { group } => group == Some(gid),
        }
    }
}

/// Serves the admin socket until `shutdown` fires.
/// `owner_uid` is the uid that owns the socket file, i.e. the server's own.
pub async fn serve(
    listener: UnixListener,
    owner_uid: u32,
    ctx: Arc<Backend>,
    shutdown: net::ShutdownSignal,
) {
    serve_scoped(listener, owner_uid, ctx, shutdown, Scope::Admin).await
}

/// Serves a socket of `scope` until `shutdown` fires.
pub async fn serve_scoped(
    listener: UnixListener,
    owner_uid: u32,
    ctx: Arc<Backend>,
    mut shutdown: net::ShutdownSignal,
    scope: Scope,
) {
    loop {
        let stream = tokio::select! {
            _ = shutdown.wait() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::error!("admin socket accept failed: {e}");
                    continue;
                }
            },
        };
        let ctx = Arc::clone(&ctx);
        let signal = shutdown.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_connection(stream, owner_uid, ctx, signal, scope).await {
                tracing::warn!("admin socket connection: {e:#}");
            }
        });
    }
}

/// Serves one connection's requests in order. `_running` keeps shutdown's drain waiting until
/// the request under way has been answered.
async fn serve_connection(
    stream: UnixStream,
    owner_uid: u32,
    ctx: Arc<Backend>,
    _running: net::ShutdownSignal,
    scope: Scope,
) -> Result<()> {
    let cred = stream.peer_cred().context("reading peer credentials")?;
    if !scope.admits(cred.uid(), cred.gid(), owner_uid) {
        tracing::warn!(
            severity = "warning",
            "admin socket: refused connection from uid {}",
            cred.uid()
        );
        return Ok(());
    }
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_REQUEST as u64 + 1)
            .read_line(&mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with('\n') {
            tracing::warn!(
                severity = "warning",
                "admin socket: request longer than {MAX_REQUEST} bytes, closing"
            );
            return Ok(());
        }
        let response = match serde_json::from_str::<Request>(line.trim_end()) {
            Ok(request) if scope != Scope::Admin && !crate::netnews::is_news_request(&request) => {
                Response::Refused {
                    reason: "this socket takes collectnews, rmnews and syncnews only".into(),
                }
            }
            Ok(request) => {
                let ctx = Arc::clone(&ctx);
                tokio::task::spawn_blocking(move || execute(&ctx, request, "admin-socket"))
                    .await
                    .unwrap_or_else(|e| Response::Failed {
                        reason: format!("request aborted: {e}"),
                    })
            }
            Err(e) => Response::Refused {
                reason: format!("bad request: {e}"),
            },
        };
        let mut out = serde_json::to_vec(&response)?;
        out.push(b'\n');
        write.write_all(&out).await?;
    }
}

/// Sends one request to a running server; `Ok(None)` when no server listens at `path`.
pub fn call(path: &Path, request: &Request) -> Result<Option<Response>> {
    use std::io::{BufRead, Write};
    let stream = match std::os::unix::net::UnixStream::connect(path) {
        Ok(stream) => stream,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e).with_context(|| format!("connecting to {}", path.display())),
    };
    let mut line = serde_json::to_vec(request)?;
    line.push(b'\n');
    (&stream)
        .write_all(&line)
        .with_context(|| format!("writing to {}", path.display()))?;
    let mut reply = String::new();
    std::io::BufReader::new(&stream)
        .read_line(&mut reply)
        .with_context(|| format!("reading from {}", path.display()))?;
    if reply.is_empty() {
        bail!(
            "the server at {} closed the admin connection",
            path.display()
        );
    }
    Ok(Some(
        serde_json::from_str(reply.trim_end()).context("parsing the server's reply")?,
    ))
}
