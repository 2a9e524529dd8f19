//! `darius mailbox create|delete|rename|list`: mailboxes by internal name (`user.bob.work`,
//! `shared.board`), as the server's administrator, through the running server's admin socket
//! or on the files when it is stopped (like `darius user`). With `--context NAME`, a name
//! starting with `.` is relative to it: `.comp.infosystems` under `cmu` is
//! `cmu.comp.infosystems` (Cyrus's relative names); other names are taken as they are.

use std::path::Path;

use anyhow::{bail, Result};
use clap::Subcommand;
use mailservice::{Operation, ServiceError};
use types::MailboxName;

use crate::admin::{done, service_failure, Request, Response};
use crate::mail::Backend;

#[derive(Subcommand)]
pub enum MailboxAction {
    /// Create a mailbox (`user.NAME` creates a user's INBOX), optionally on a partition.
    Create {
        name: String,
        #[arg(long)]
        partition: Option<String>,
        /// Names starting with `.` are relative to this one.
        #[arg(long)]
        context: Option<String>,
    },
    /// Delete a mailbox (`user.NAME` deletes the user's every mailbox and state).
    Delete {
        name: String,
        #[arg(long)]
        context: Option<String>,
    },
    /// Rename a mailbox, optionally moving it to a partition.
    Rename {
        from: String,
        to: String,
        #[arg(long)]
        partition: Option<String>,
        #[arg(long)]
        context: Option<String>,
    },
    /// List mailboxes whose internal names match PATTERN (`*` and `%` as in IMAP LIST).
    List {
        #[arg(default_value = "*")]
        pattern: String,
        #[arg(long)]
        context: Option<String>,
    },
}

pub fn run(config_path: Option<&Path>, action: MailboxAction) -> Result<()> {
    let request = match action {
        MailboxAction::Create {
            name,
            partition,
            context,
        } => Request::MailboxCreate {
            name: qualified(&name, context.as_deref())?,
            partition,
        },
        MailboxAction::Delete { name, context } => Request::MailboxDelete {
            name: qualified(&name, context.as_deref())?,
        },
        MailboxAction::Rename {
            from,
            to,
            partition,
            context,
        } => Request::MailboxRename {
            from: qualified(&from, context.as_deref())?,
            to: qualified(&to, context.as_deref())?,
            partition,
        },
        MailboxAction::List { pattern, context } => Request::MailboxList {
            pattern: qualified(&pattern, context.as_deref())?,
        },
    };
    crate::users::submit(config_path, |_| Ok(request))
}

/// A name as given, or under `context` when it starts with `.`.
pub(crate) fn qualified(name: &str, context: Option<&str>) -> Result<String> {
    match (name.strip_prefix('.'), context) {
        (Some(rest), Some(context)) => Ok(format!("{context}.{rest}")),
        (Some(_), None) => bail!("{name:?} is relative (it starts with `.`): give --context"),
        (None, _) => Ok(name.to_string()),
    }
}

/// Carries out a mailbox request as the server's administrator.
pub(crate) fn execute(ctx: &Backend, request: Request) -> Response {
    let result = match request {
        Request::MailboxCreate { name, partition } => create(ctx, &name, partition),
        Request::MailboxDelete { name } => delete(ctx, &name),
        Request::MailboxRename {
            from,
            to,
            partition,
        } => rename(ctx, &from, &to, partition.as_deref()),
        Request::MailboxList { pattern } => list(ctx, &pattern),
        other => Err(ServiceError::BadName(format!(
            "not a mailbox request: {other:?}"
        ))),
    };
    result.unwrap_or_else(|e| service_failure(&e))
}

pub(crate) fn internal(name: &str) -> Result<MailboxName, ServiceError> {
    MailboxName::try_from(name).map_err(|e| ServiceError::BadName(format!("{name:?}: {e}")))
}

fn create(ctx: &Backend, name: &str, partition: Option<String>) -> Result<Response, ServiceError> {
    let s = &ctx.service;
    let operator = s.operator();
    let mailbox = s.authorize_internal(&operator, internal(name)?, Operation::Create)?;
    let entry = s.create(&operator, &mailbox, Vec::new(), partition)?;
    Ok(done(format!(
        "created mailbox {name} on partition {}",
        entry.partition
    )))
}

fn delete(ctx: &Backend, name: &str) -> Result<Response, ServiceError> {
    let s = &ctx.service;
    let operator = s.operator();
    let mailbox = s.authorize_internal(&operator, internal(name)?, Operation::DeleteMailbox)?;
    s.delete(&mailbox)?;
    Ok(done(format!("deleted mailbox {name}")))
}

fn rename(
    ctx: &Backend,
    from: &str,
    to: &str,
    partition: Option<&str>,
) -> Result<Response, ServiceError> {
    let s = &ctx.service;
    let operator = s.operator();
    let source = s.authorize_internal(&operator, internal(from)?, Operation::Rename)?;
    // Renaming to its own name moves the mailbox to another partition: the target is the source.
    let target = match internal(to)? {
        same if &same == source.name() => source.clone(),
        other => s.authorize_internal(&operator, other, Operation::RenameTo)?,
    };
    s.rename(&operator, &source, &target, partition)?;
    Ok(done(match partition {
        Some(p) => format!("renamed mailbox {from} to {to} on partition {p}"),
        None => format!("renamed mailbox {from} to {to}"),
    }))
}

fn list(ctx: &Backend, pattern: &str) -> Result<Response, ServiceError> {
    let matcher = imap_proto::ListPattern::new(pattern, '.')
        .map_err(|e| ServiceError::BadName(format!("{pattern:?}: {e}")))?;
    let s = &ctx.service;
    let names = s
        .list_visible(&s.operator())?
        .into_iter()
        .map(|e| e.name.to_string())
        .filter(|n| matcher.matches(n))
        .collect();
    Ok(Response::Mailboxes { names })
}
