//! The QUOTA commands (RFC 9208 §4): GETQUOTA, GETQUOTAROOT and SETQUOTA. The service
//! decides who may see or set what (see `mailservice`'s quota module); this speaks IMAP.
//!
//! - Root names are shown in the client's namespace (a user's own root `user.NAME` is
//!   `INBOX`), and read back the same way.
//! - QUOTA lists the resources that have a limit: `STORAGE` in KiB (rounded down) and
//!   `MESSAGE`; a root without limits answers `()`.
//! - SETQUOTA replaces every limit of the root (resources left out become unlimited; an
//!   empty list removes the limits, never the root) and answers with the root's new QUOTA.
//!   A resource the server does not know is a syntax error (`BAD`), as is one named twice.
//! - Of a root or mailbox another server holds, that server answers (`proxy`).

use imap_proto::command::{Command, Mailbox, Tag};
use imap_proto::response::{Data, QuotaResource};
use mailservice::{Identity, QuotaLimits, QuotaReport, ServiceError};

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

pub(crate) const RES_STORAGE: &str = "STORAGE";
pub(crate) const RES_MESSAGE: &str = "MESSAGE";

pub(crate) async fn get_quota(session: &mut Session, tag: &Tag, root: String) -> Reply {
    let Some(identity) = session.state.identity().cloned() else {
        return Reply::bad("Not authenticated");
    };
    if let Some(remote) = session.remote_by_name(&root) {
        let command = Command::GetQuota(root);
        return session.forward_reply(tag, &remote.server, command).await;
    }
    let id = identity.clone();
    let result = session.blocking(move |s| s.get_quota(&id, &root)).await;
    answer_one(session, &identity, result)
}

pub(crate) async fn get_quota_root(session: &mut Session, tag: &Tag, mailbox: Mailbox) -> Reply {
    let Some(identity) = session.state.identity().cloned() else {
        return Reply::bad("Not authenticated");
    };
    if let Some(remote) = session.remote_by_name(mailbox.as_str()) {
        let command = Command::GetQuotaRoot(mailbox);
        return session.forward_reply(tag, &remote.server, command).await;
    }
    let id = identity.clone();
    let name = mailbox.as_str().to_string();
    let result = session
        .blocking(move |s| s.get_quota_root(&id, &name))
        .await;
    match result {
        Ok(reports) => {
            let roots = reports
                .iter()
                .map(|r| {
                    session
                        .server
                        .service
                        .namespace()
                        .to_client(&identity, &r.root)
                })
                .collect();
            session.out.data(Data::QuotaRoot { mailbox, roots });
            for report in &reports {
                let data = quota_data(session, &identity, report);
                session.out.data(data);
            }
            Reply::ok("Completed")
        }
        Err(e) => refuse(&e, Target::Source),
    }
}

pub(crate) async fn set_quota(
    session: &mut Session,
    tag: &Tag,
    root: String,
    list: Vec<(String, u64)>,
) -> Reply {
    let Some(identity) = session.state.identity().cloned() else {
        return Reply::bad("Not authenticated");
    };
    if let Some(remote) = session.remote_by_name(&root) {
        let command = Command::SetQuota { root, limits: list };
        return session.forward_reply(tag, &remote.server, command).await;
    }
    let limits = match limits_of(&list) {
        Ok(limits) => limits,
        Err(why) => return Reply::bad(&why),
    };
    let id = identity.clone();
    // Cyrus's `+root`: a global administrator makes a quota root where no mailbox is yet
    // (a Cyrus backend's XFER sets the moved user's root so).
    let result = match root.strip_prefix('+').map(str::to_string) {
        Some(root) if identity.is_global_admin() => {
            session
                .blocking(move |s| s.set_quota_forced(&id, &root, limits))
                .await
        }
        _ => {
            session
                .blocking(move |s| s.set_quota(&id, &root, limits))
                .await
        }
    };
    answer_one(session, &identity, result)
}

/// GETQUOTA's and SETQUOTA's answer: the root's QUOTA, or the refusal.
fn answer_one(
    session: &mut Session,
    identity: &Identity,
    result: Result<QuotaReport, ServiceError>,
) -> Reply {
    match result {
        Ok(report) => {
            let data = quota_data(session, identity, &report);
            session.out.data(data);
            Reply::ok("Completed")
        }
        Err(e) => refuse(&e, Target::Source),
    }
}

/// A SETQUOTA list as limits: each known resource at most once.
fn limits_of(list: &[(String, u64)]) -> Result<QuotaLimits, String> {
    let mut limits = QuotaLimits::default();
    for (resource, limit) in list {
        let slot = match resource.as_str() {
            RES_STORAGE => &mut limits.storage_kib,
            RES_MESSAGE => &mut limits.messages,
            other => return Err(format!("Unknown quota resource {other}")),
        };
        if slot.replace(*limit).is_some() {
            return Err(format!("Quota resource {resource} named twice"));
        }
    }
    Ok(limits)
}

fn quota_data(session: &Session, identity: &Identity, report: &QuotaReport) -> Data {
    let root = session
        .server
        .service
        .namespace()
        .to_client(identity, &report.root);
    let mut resources = Vec::new();
    if let Some(limit) = report.limits.storage_kib {
        resources.push(QuotaResource {
            name: RES_STORAGE.into(),
            usage: report.usage.storage_kib(),
            limit,
        });
    }
    if let Some(limit) = report.limits.messages {
        resources.push(QuotaResource {
            name: RES_MESSAGE.into(),
            usage: report.usage.messages,
            limit,
        });
    }
    Data::Quota { root, resources }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setquota_lists_become_limits_and_bad_ones_are_refused() {
        let l = limits_of(&[("STORAGE".into(), 512), ("MESSAGE".into(), 10)]).unwrap_or_default();
        assert_eq!((l.storage_kib, l.messages), (Some(512), Some(10)));
        assert_eq!(limits_of(&[]), Ok(QuotaLimits::default()));
        assert!(limits_of(&[("X-FOO".into(), 1)]).is_err());
        assert!(limits_of(&[("MESSAGE".into(), 1), ("MESSAGE".into(), 2)]).is_err());
    }
}
