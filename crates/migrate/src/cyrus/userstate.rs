//! What the import sets once the mailboxes are in: non-owners' seen state, subscriptions,
//! quota roots, and the special-use attributes the mailboxes are created with. Each reads one
//! kind of Cyrus file ([`super::userdata`] parses the records).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mailstore::{QuotaLimits, Store, UidSet};
use types::MailboxName;

use super::conf::CyrusConfig;
use super::driver::{Event, ImportMode, Imported, Summary};
use super::mboxlist::{Kind, MailboxRecord};
use super::{db, userdata, CyrusError};

/// Most ranges read from one seen record.
const MAX_SEEN_RANGES: usize = 1 << 20;

/// Special-use attributes by mailbox uniqueid, from `annotations.db` (Cyrus 3.x; absent or
/// unreadable: none, with a line).
pub(super) fn special_use(
    cyrus: &CyrusConfig,
    progress: &mut dyn FnMut(Event),
) -> BTreeMap<String, Vec<String>> {
    let path = &cyrus.annotations_db;
    if !path.exists() {
        return BTreeMap::new();
    }
    match db::read_file(path) {
        Ok(records) => userdata::special_uses(&records).into_iter().collect(),
        Err(e) => {
            progress(Event::Note(format!(
                "special-use attributes not imported: {e}"
            )));
            BTreeMap::new()
        }
    }
}

/// Every user with an INBOX, with its uniqueid (which names their per-user files in 3.5+),
/// and every user with only legacy seen or subscription files (`user/H/NAME.seen`), in order.
pub(super) fn users(
    cyrus: &CyrusConfig,
    entries: &[MailboxRecord],
) -> Vec<(String, Option<String>)> {
    let mut users: BTreeMap<String, Option<String>> = entries
        .iter()
        .filter(|e| e.kind == Kind::Mail)
        .filter_map(|e| {
            let user = e.name.strip_prefix("user.")?;
            (!user.contains('.')).then(|| (user.to_string(), e.uniqueid.clone()))
        })
        .collect();
    let dir = cyrus.configdirectory.join("user");
    for hash in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(hash.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let file = file.file_name();
            let Some(file) = file.to_str() else { continue };
            let user = file
                .strip_suffix(".seen")
                .or_else(|| file.strip_suffix(".sub"));
            if let Some(user) = user.filter(|u| !u.is_empty()) {
                users.entry(user.to_string()).or_insert(None);
            }
        }
    }
    users.into_iter().collect()
}

/// The first of `paths` that exists.
fn first_existing(paths: Vec<PathBuf>) -> Option<PathBuf> {
    paths.into_iter().find(|p| p.exists())
}

/// `user`'s seen state in mailboxes others own, and subscriptions.
pub(super) fn per_user(
    cyrus: &CyrusConfig,
    store: &Store,
    mode: ImportMode,
    user: &str,
    inbox_id: Option<&str>,
    done: &BTreeMap<String, Imported>,
    summary: &mut Summary,
) -> Result<(), CyrusError> {
    if let Some(path) = first_existing(cyrus.user_db_paths(user, inbox_id, "seen")) {
        for (key, value) in db::read_file(&path)? {
            let Some(mailbox) = done.get(String::from_utf8_lossy(&key).as_ref()) else {
                continue;
            };
            // The owner's \Seen is the flag in the index record, as in Cyrus.
            if mailbox.owner.as_deref() == Some(user) {
                continue;
            }
            let ranges = userdata::seen_uids(&value, MAX_SEEN_RANGES)
                .map_err(|what| CyrusError::format(&path, 0, what))?;
            let set = seen_set(&ranges, &mailbox.uids)?;
            if mode == ImportMode::Write {
                store.import_seen(user, &mailbox.name, &set)?;
            }
            summary.seen_sets += 1;
        }
    }
    if let Some(path) = first_existing(cyrus.user_db_paths(user, inbox_id, "sub")) {
        let records = db::read_file(&path)?;
        let database_form = userdata::subscriptions_in_database_form(&records);
        for (key, _) in &records {
            let Some(name) = userdata::subscription(user, key, database_form) else {
                continue;
            };
            let Ok(name) = MailboxName::try_from(name.as_str()) else {
                continue;
            };
            if mode == ImportMode::Write {
                store.subscribe(user, &name)?;
            }
            summary.subscriptions += 1;
        }
    }
    Ok(())
}

/// The imported UIDs (ascending) that `ranges` holds, as a [`UidSet`] built from runs.
fn seen_set(ranges: &[(u32, u32)], uids: &[u32]) -> Result<UidSet, CyrusError> {
    let mut encoded = vec![1u8];
    let mut push = |(lo, hi): (u32, u32)| {
        encoded.extend_from_slice(&lo.to_le_bytes());
        encoded.extend_from_slice(&hi.to_le_bytes());
    };
    let mut run: Option<(u32, u32)> = None;
    for &uid in uids {
        let i = ranges.partition_point(|&(_, hi)| hi < uid);
        if ranges.get(i).is_some_and(|&(lo, _)| lo <= uid) {
            run = Some(run.map_or((uid, uid), |(lo, _)| (lo, uid)));
        } else if let Some(r) = run.take() {
            push(r);
        }
    }
    if let Some(r) = run {
        push(r);
    }
    Ok(UidSet::decode(&encoded)?)
}

/// Quota roots from the quotalegacy directory or `quotas.db`.
pub(super) fn import_quotas(
    cyrus: &CyrusConfig,
    store: &Store,
    mode: ImportMode,
    progress: &mut dyn FnMut(Event),
) -> Result<u64, CyrusError> {
    let mut roots: Vec<(String, Vec<u8>)> = Vec::new();
    if cyrus.quota_db == "quotalegacy" {
        let dir = cyrus.configdirectory.join("quota");
        collect_quota_files(&dir, 0, &mut roots)?;
    } else {
        let path = cyrus.configdirectory.join("quotas.db");
        if path.exists() {
            for (k, v) in db::read_file(&path)? {
                roots.push((String::from_utf8_lossy(&k).into_owned(), v));
            }
        }
    }
    let mut count = 0;
    for (root, value) in roots {
        let limits = match userdata::quota(&value) {
            Ok(l) => l,
            Err(why) => {
                progress(Event::Note(format!(
                    "quota root {root}: unreadable ({why}), skipped"
                )));
                continue;
            }
        };
        let Ok(name) = MailboxName::try_from(root.as_str()) else {
            progress(Event::Note(format!(
                "quota root {root}: not a valid name here, skipped"
            )));
            continue;
        };
        if mode == ImportMode::Write {
            store.set_quota_root(
                &name,
                QuotaLimits {
                    storage_kib: limits.storage_kib,
                    messages: limits.messages,
                },
            )?;
        }
        count += 1;
    }
    Ok(count)
}

/// Files below `dir` (the hash letters, and `domain/` trees we refuse earlier) as roots.
fn collect_quota_files(
    dir: &Path,
    depth: usize,
    out: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), CyrusError> {
    if depth > 2 {
        return Ok(());
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(CyrusError::io(dir, err)),
    };
    for item in entries {
        let item = item.map_err(|err| CyrusError::io(dir, err))?;
        let path = item.path();
        let kind = item.file_type().map_err(|err| CyrusError::io(&path, err))?;
        if kind.is_dir() {
            collect_quota_files(&path, depth + 1, out)?;
        } else if kind.is_file() {
            let Some(root) = item.file_name().to_str().map(str::to_string) else {
                continue;
            };
            // Cyrus writes NAME.NEW then renames; a leftover is not a root.
            if root.ends_with(".NEW") || root.starts_with('.') {
                continue;
            }
            out.push((root, super::read_bounded(&path, 1 << 16)?));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_set_keeps_only_imported_uids() {
        let set = seen_set(&[(1, 3), (7, 100)], &[1, 2, 4, 7, 9]).unwrap();
        for (uid, seen) in [
            (1, true),
            (2, true),
            (3, false),
            (4, false),
            (7, true),
            (9, true),
        ] {
            assert_eq!(set.contains(uid), seen, "UID {uid}");
        }
    }
}
