//! `darius acl get|set|delete`: a mailbox's access control list (RFC 4314) by internal name,
//! as the server's administrator, through the running server's admin socket or on the files
//! when it is stopped (like `darius mailbox`). The same mail-service calls as IMAP's GETACL,
//! SETACL and DELETEACL decide and store it, so an identifier is canonicalised by the
//! configured authorization mechanism and both copies of the ACL (mailboxes database and the
//! mailbox's header file) are rewritten. With `--context NAME`, a name starting with `.` is
//! relative to it. `get` prints the rights as stored (`lrswipkxtean` letters), without the
//! virtual `c` and `d` that IMAP responses add for RFC 2086 clients: its output can be fed
//! back to `set` without widening anything (`lrkc` would read back as `lrkx`).

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;
use mailservice::ServiceError;
use types::RightsChange;

use crate::admin::{done, service_failure, Request, Response};
use crate::mail::Backend;
use crate::mailboxes::{internal, qualified};

#[derive(Subcommand)]
pub enum AclAction {
    /// Print the mailbox's ACL, one `identifier rights` line per entry.
    Get {
        name: String,
        /// Names starting with `.` are relative to this one.
        #[arg(long)]
        context: Option<String>,
    },
    /// Set an identifier's rights: `lrs` replaces them, `+p` adds, `-w` removes (as SETACL).
    /// A negative entry is `-identifier`.
    Set {
        name: String,
        #[arg(allow_hyphen_values = true)]
        identifier: String,
        #[arg(allow_hyphen_values = true)]
        rights: String,
        #[arg(long)]
        context: Option<String>,
    },
    /// Remove an identifier's entry (as DELETEACL).
    Delete {
        name: String,
        #[arg(allow_hyphen_values = true)]
        identifier: String,
        #[arg(long)]
        context: Option<String>,
    },
}

pub fn run(config_path: Option<&Path>, action: AclAction) -> Result<()> {
    let request = match action {
        AclAction::Get { name, context } => Request::AclGet {
            name: qualified(&name, context.as_deref())?,
        },
        AclAction::Set {
            name,
            identifier,
            rights,
            context,
        } => Request::AclSet {
            name: qualified(&name, context.as_deref())?,
            identifier,
            rights,
        },
        AclAction::Delete {
            name,
            identifier,
            context,
        } => Request::AclDelete {
            name: qualified(&name, context.as_deref())?,
            identifier,
        },
    };
    crate::users::submit(config_path, |_| Ok(request))
}

/// Carries out an ACL request as the server's administrator.
pub(crate) fn execute(ctx: &Backend, request: Request) -> Response {
    let s = &ctx.service;
    let operator = s.operator();
    let result = match request {
        Request::AclGet { name } => internal(&name)
            .and_then(|n| s.get_acl_internal(&operator, n))
            .map(|acl| Response::Acl {
                entries: acl
                    .entries()
                    .iter()
                    .map(|e| (e.identifier.to_string(), e.rights.to_string()))
                    .collect(),
            }),
        Request::AclSet {
            name,
            identifier,
            rights,
        } => match RightsChange::try_from(rights.as_str()) {
            Ok(change) => internal(&name)
                .and_then(|n| s.set_acl_internal(&operator, n, &identifier, change))
                .map(|()| done(format!("set {identifier} {rights} on {name}"))),
            Err(e) => {
                return Response::Refused {
                    reason: format!(
                        "invalid rights {rights:?}: {e}; rights are letters of lrswipkxtean \
                         (and the legacy c, d), optionally after + or -"
                    ),
                }
            }
        },
        Request::AclDelete { name, identifier } => internal(&name)
            .and_then(|n| s.delete_acl_internal(&operator, n, &identifier))
            .map(|()| done(format!("deleted the entry of {identifier} on {name}"))),
        other => Err(ServiceError::BadName(format!(
            "not an ACL request: {other:?}"
        ))),
    };
    result.unwrap_or_else(|e| service_failure(&e))
}
