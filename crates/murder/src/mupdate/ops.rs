//! What the bridge asks the master, in Cyrus's terms: the changes of one mailbox (reserve
//! before the store creates it, activate after, remove when it is gone) and the push of
//! everything this backend holds.
//!
//! Cyrus 3.6's master, as run: `RESERVE` of a name held at another location answers `NO`, but
//! at the same location it turns an active entry back into a reservation; `ACTIVATE` writes
//! whatever it is given, whoever held the name; `DELETE` of a name it does not hold drops the
//! connection. So every change looks first (`FIND`): a name another server holds is never
//! overwritten, an active entry of ours is never reserved again, and only names the master
//! holds for this server are deleted.

use std::collections::BTreeMap;

use mailservice::DirectoryError;
use mailstore::MailboxEntry;
use mupdate_proto::{CommandBody, Status, TaggedData};
use types::MailboxName;

use super::client::{Connection, MupdateError};
use crate::SyncReport;

/// This server at the master: locations are `SERVER!PARTITION`.
#[derive(Clone, Debug)]
pub(crate) struct Place {
    pub(crate) server: String,
    /// Where a reservation says the mailbox goes (`defaultpartition`); the activation that
    /// follows names the partition the store chose.
    pub(crate) partition: String,
}

impl Place {
    fn location(&self, partition: &str) -> Vec<u8> {
        format!("{}!{partition}", self.server).into_bytes()
    }

    /// `LIST`'s prefix for this server's entries (the `!` keeps `darius1` from matching
    /// `darius10`).
    fn prefix(&self) -> Vec<u8> {
        format!("{}!", self.server).into_bytes()
    }

    fn is_ours(&self, location: &[u8]) -> bool {
        server_of(location) == self.server.as_bytes()
    }
}

/// Whether the master's ACL says what `ours` (the store's, Cyrus's stored form) says: the
/// same entries with the same rights, however the master wrote them (it spells legacy `c` and
/// `d` out, for one); byte for byte when either does not read as an ACL.
fn same_acl(theirs: &[u8], ours: &str) -> bool {
    let parsed = std::str::from_utf8(theirs)
        .ok()
        .and_then(|t| types::Acl::from_stored(t).ok())
        .zip(types::Acl::from_stored(ours).ok());
    match parsed {
        Some((theirs, ours)) => theirs == ours,
        None => theirs == ours.as_bytes(),
    }
}

/// The server part of a location.
fn server_of(location: &[u8]) -> &[u8] {
    location
        .iter()
        .position(|&b| b == b'!')
        .map_or(location, |i| &location[..i])
}

/// An active entry's location and ACL.
type Active = (Vec<u8>, Vec<u8>);

/// What the master holds for one name.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Held {
    Nothing,
    /// This server's entry: active, or (`None`) a reservation.
    Ours {
        active: Option<Active>,
    },
    /// Another server's entry.
    Other {
        server: String,
    },
}

/// Why a change was not made: the master refused it, or the connection failed (then the
/// bridge connects again and pushes everything).
#[derive(Debug)]
pub(crate) enum OpError {
    Refused(DirectoryError),
    Connection(MupdateError),
}

impl From<MupdateError> for OpError {
    fn from(e: MupdateError) -> OpError {
        OpError::Connection(e)
    }
}

fn held(place: &Place, data: &[TaggedData], name: &[u8]) -> Held {
    for d in data {
        let (n, location, acl) = match d {
            TaggedData::Mailbox {
                name,
                location,
                acl,
            } => (name, location, Some(acl)),
            TaggedData::Reserve { name, location } => (name, location, None),
            TaggedData::Delete { .. } => continue,
        };
        if n.as_slice() != name {
            continue;
        }
        return if place.is_ours(location) {
            Held::Ours {
                active: acl.map(|acl| (location.clone(), acl.clone())),
            }
        } else {
            Held::Other {
                server: String::from_utf8_lossy(server_of(location)).into_owned(),
            }
        };
    }
    Held::Nothing
}

async fn find(conn: &mut Connection, place: &Place, name: &[u8]) -> Result<Held, MupdateError> {
    let answer = conn
        .run_one(CommandBody::Find {
            name: name.to_vec(),
        })
        .await?;
    Ok(held(place, &answer.data, name))
}

fn taken(name: &MailboxName, server: String) -> OpError {
    OpError::Refused(DirectoryError::Taken {
        name: name.to_string(),
        server,
    })
}

fn refused(what: &str, name: &MailboxName, text: &str) -> OpError {
    OpError::Refused(DirectoryError::Unavailable(format!(
        "the mupdate master refused to {what} {name}: {text}"
    )))
}

/// The name is about to be created here: free, or this server's already (left by a crash, or
/// the mailbox exists and the create will fail), it is; another server's, it is refused.
pub(crate) async fn reserve(
    conn: &mut Connection,
    place: &Place,
    name: &MailboxName,
) -> Result<(), OpError> {
    let bytes = name.as_str().as_bytes();
    match find(conn, place, bytes).await? {
        Held::Ours { .. } => return Ok(()),
        Held::Other { server } => return Err(taken(name, server)),
        Held::Nothing => {}
    }
    let answer = conn
        .run_one(CommandBody::Reserve {
            name: bytes.to_vec(),
            location: place.location(&place.partition),
        })
        .await?;
    if answer.status == Status::Ok {
        return Ok(());
    }
    // Taken meanwhile: say by whom.
    match find(conn, place, bytes).await? {
        Held::Ours { .. } => Ok(()),
        Held::Other { server } => Err(taken(name, server)),
        Held::Nothing => Err(refused("reserve", name, &answer.text)),
    }
}

/// The mailbox exists here (created, or its ACL or partition changed): the master's entry
/// says so, unless another server holds the name.
pub(crate) async fn activate(
    conn: &mut Connection,
    place: &Place,
    entry: &MailboxEntry,
) -> Result<(), OpError> {
    let name = entry.name.as_str().as_bytes();
    let location = place.location(&entry.partition);
    let acl = entry.acl.as_bytes();
    match find(conn, place, name).await? {
        Held::Other { server } => return Err(taken(&entry.name, server)),
        Held::Ours {
            active: Some((l, a)),
        } if l == location && same_acl(&a, &entry.acl) => return Ok(()),
        Held::Ours { .. } | Held::Nothing => {}
    }
    let answer = conn
        .run_one(CommandBody::Activate {
            name: name.to_vec(),
            location,
            acl: acl.to_vec(),
        })
        .await?;
    match answer.status {
        Status::Ok => Ok(()),
        Status::No | Status::Bad => Err(refused("activate", &entry.name, &answer.text)),
    }
}

/// A Cyrus backend's XFER gave the mailbox to this server (`MUPDATEPUSH`, after the source
/// deactivated its entry): the master's entry names this server, whoever it named before,
/// as Cyrus's own MUPDATEPUSH does.
pub(crate) async fn take_over(
    conn: &mut Connection,
    place: &Place,
    entry: &MailboxEntry,
) -> Result<(), OpError> {
    let name = entry.name.as_str().as_bytes();
    let answer = conn
        .run_one(CommandBody::Activate {
            name: name.to_vec(),
            location: place.location(&entry.partition),
            acl: entry.acl.as_bytes().to_vec(),
        })
        .await?;
    match answer.status {
        Status::Ok => Ok(()),
        Status::No | Status::Bad => Err(refused("take over", &entry.name, &answer.text)),
    }
}

/// A transfer (XFER) gave the mailbox held here to `server`: the master's entry names it
/// (with the copy's partition and the ACL), unless a third server holds the name. Done
/// already (an earlier attempt whose answer was lost) is done.
pub(crate) async fn hand_over(
    conn: &mut Connection,
    place: &Place,
    entry: &MailboxEntry,
    server: &str,
) -> Result<(), OpError> {
    let name = entry.name.as_str().as_bytes();
    let target = Place {
        server: server.to_string(),
        partition: entry.partition.clone(),
    };
    let location = target.location(&entry.partition);
    match find(conn, place, name).await? {
        Held::Other { server: holder } if holder == server => {}
        Held::Other { server: holder } => return Err(taken(&entry.name, holder)),
        Held::Ours { .. } | Held::Nothing => {}
    }
    let answer = conn
        .run_one(CommandBody::Activate {
            name: name.to_vec(),
            location,
            acl: entry.acl.as_bytes().to_vec(),
        })
        .await?;
    match answer.status {
        Status::Ok => Ok(()),
        Status::No | Status::Bad => Err(refused("hand over", &entry.name, &answer.text)),
    }
}

/// Which of this server's entries [`remove`] deletes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Removing {
    /// A reservation whose create failed: an active entry stays.
    ReservationOnly,
    /// The mailbox is gone: either.
    Any,
}

/// Deletes this server's entry of `name`, if the master holds one.
pub(crate) async fn remove(
    conn: &mut Connection,
    place: &Place,
    name: &MailboxName,
    which: Removing,
) -> Result<(), OpError> {
    let bytes = name.as_str().as_bytes();
    let ours = match find(conn, place, bytes).await? {
        Held::Ours { active: None } => true,
        Held::Ours { active: Some(_) } => which == Removing::Any,
        Held::Other { .. } | Held::Nothing => false,
    };
    if !ours {
        return Ok(());
    }
    let answer = conn
        .run_one(CommandBody::Delete {
            name: bytes.to_vec(),
        })
        .await?;
    match answer.status {
        Status::Ok => Ok(()),
        Status::No | Status::Bad => Err(refused("delete", name, &answer.text)),
    }
}

/// Makes the master say what this backend holds (`local`: its mailboxes, by name): every
/// mailbox is activated at `SERVER!PARTITION` with its ACL (a name the master does not know is
/// reserved first, so a name another server took meanwhile is a conflict, never taken over);
/// the master's entries of this server with no mailbox here are deleted; `dry_run` only
/// compares. The report's `activated` are reservations of this server whose mailbox exists.
pub(crate) async fn push(
    conn: &mut Connection,
    place: &Place,
    local: &BTreeMap<MailboxName, MailboxEntry>,
    dry_run: bool,
) -> Result<SyncReport, MupdateError> {
    let mut report = SyncReport {
        dry_run,
        ..SyncReport::default()
    };
    let listed = conn
        .run_one(CommandBody::List {
            prefix: Some(place.prefix()),
        })
        .await?;
    let mut ours: BTreeMap<Vec<u8>, Option<Active>> = BTreeMap::new();
    for d in listed.data {
        match d {
            TaggedData::Mailbox {
                name,
                location,
                acl,
            } if place.is_ours(&location) => {
                ours.insert(name, Some((location, acl)));
            }
            TaggedData::Reserve { name, location } if place.is_ours(&location) => {
                ours.insert(name, None);
            }
            _ => {}
        }
    }
    let mut activate: Vec<&MailboxEntry> = Vec::new();
    let mut unknown: Vec<&MailboxEntry> = Vec::new();
    for (name, entry) in local {
        let location = place.location(&entry.partition);
        match ours.get(name.as_str().as_bytes()) {
            Some(Some((l, a))) if *l == location && same_acl(a, &entry.acl) => {}
            Some(Some(_)) => {
                report.corrected.push(name.to_string());
                activate.push(entry);
            }
            Some(None) => {
                report.activated.push(name.to_string());
                activate.push(entry);
            }
            None => unknown.push(entry),
        }
    }
    for (entry, outcome) in settle_unknown(conn, place, &unknown, dry_run).await? {
        match outcome {
            Held::Nothing => {
                report.published.push(entry.name.to_string());
                activate.push(entry);
            }
            Held::Ours { .. } => {
                report.corrected.push(entry.name.to_string());
                activate.push(entry);
            }
            Held::Other { server } => report.conflicts.push((entry.name.to_string(), server)),
        }
    }
    let gone: Vec<Vec<u8>> = ours
        .into_keys()
        .filter(|n| {
            std::str::from_utf8(n)
                .ok()
                .and_then(|n| MailboxName::try_from(n).ok())
                .is_none_or(|n| !local.contains_key(&n))
        })
        .collect();
    report.removed = gone
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    if dry_run {
        return Ok(report);
    }
    let activations = activate
        .iter()
        .map(|e| CommandBody::Activate {
            name: e.name.as_str().as_bytes().to_vec(),
            location: place.location(&e.partition),
            acl: e.acl.as_bytes().to_vec(),
        })
        .collect();
    for (entry, answer) in activate.iter().zip(conn.run(activations).await?) {
        if answer.status != Status::Ok {
            tracing::warn!("mupdate: activating {}: {}", entry.name, answer.text);
        }
    }
    let deletions = gone
        .into_iter()
        .map(|name| CommandBody::Delete { name })
        .collect();
    for (name, answer) in report.removed.iter().zip(conn.run(deletions).await?) {
        if answer.status != Status::Ok {
            tracing::warn!("mupdate: deleting {name}: {}", answer.text);
        }
    }
    Ok(report)
}

/// Names the master holds for no one or for another server: reserved for this one (only
/// looked up in a dry run); what each turned out to be.
async fn settle_unknown<'a>(
    conn: &mut Connection,
    place: &Place,
    unknown: &[&'a MailboxEntry],
    dry_run: bool,
) -> Result<Vec<(&'a MailboxEntry, Held)>, MupdateError> {
    let finds = |entries: &[&MailboxEntry]| -> Vec<CommandBody> {
        entries
            .iter()
            .map(|e| CommandBody::Find {
                name: e.name.as_str().as_bytes().to_vec(),
            })
            .collect()
    };
    if dry_run {
        let answers = conn.run(finds(unknown)).await?;
        return Ok(unknown
            .iter()
            .zip(answers)
            .map(|(e, a)| (*e, held(place, &a.data, e.name.as_str().as_bytes())))
            .collect());
    }
    let reservations = unknown
        .iter()
        .map(|e| CommandBody::Reserve {
            name: e.name.as_str().as_bytes().to_vec(),
            location: place.location(&place.partition),
        })
        .collect();
    let answers = conn.run(reservations).await?;
    let mut settled = Vec::new();
    let mut refused = Vec::new();
    for (entry, answer) in unknown.iter().zip(answers) {
        match answer.status {
            Status::Ok => settled.push((*entry, Held::Nothing)),
            Status::No | Status::Bad => refused.push(*entry),
        }
    }
    let answers = conn.run(finds(&refused)).await?;
    for (entry, answer) in refused.into_iter().zip(answers) {
        match held(place, &answer.data, entry.name.as_str().as_bytes()) {
            Held::Nothing => {
                tracing::warn!(
                    "mupdate: the master refused to reserve {} and holds no entry for it: \
                     {}; left for the next push",
                    entry.name,
                    answer.text
                )
            }
            other => settled.push((entry, other)),
        }
    }
    Ok(settled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place {
            server: "darius1".into(),
            partition: "default".into(),
        }
    }

    #[test]
    fn a_server_whose_name_extends_ours_is_another() {
        let p = place();
        assert!(p.is_ours(b"darius1!default"));
        assert!(!p.is_ours(b"darius10!default"));
        assert!(!p.is_ours(b"darius"));
        assert_eq!(p.prefix(), b"darius1!");
    }

    #[test]
    fn acls_compare_by_meaning() {
        assert!(same_acl(b"ann\tlrswipkxtean\t", "ann\tlrswipkxtean\t"));
        assert!(same_acl(b"ann\tlrswipcdan", "ann\tlrswipkxtean\t"));
        assert!(!same_acl(b"ann\tlrs\t", "ann\tlrsw\t"));
        assert!(!same_acl(b"ann\tlrs\tbob\tlr\t", "ann\tlrs\t"));
        assert!(same_acl(b"", ""));
        assert!(!same_acl(b"\xff", "ann\tlrs\t"));
    }

    #[test]
    fn find_answers_say_who_holds_the_name() {
        let p = place();
        let mailbox = |location: &[u8]| TaggedData::Mailbox {
            name: b"user.ann".to_vec(),
            location: location.to_vec(),
            acl: b"ann\tlr\t".to_vec(),
        };
        assert_eq!(held(&p, &[], b"user.ann"), Held::Nothing);
        assert_eq!(
            held(&p, &[mailbox(b"darius1!p2")], b"user.ann"),
            Held::Ours {
                active: Some((b"darius1!p2".to_vec(), b"ann\tlr\t".to_vec()))
            }
        );
        assert_eq!(
            held(&p, &[mailbox(b"cyrus3!default")], b"user.ann"),
            Held::Other {
                server: "cyrus3".into()
            }
        );
        let reserve = TaggedData::Reserve {
            name: b"user.ann".to_vec(),
            location: b"darius1!default".to_vec(),
        };
        assert_eq!(
            held(&p, &[reserve], b"user.ann"),
            Held::Ours { active: None }
        );
        assert_eq!(
            held(&p, &[mailbox(b"darius1!p")], b"user.bob"),
            Held::Nothing
        );
    }
}
