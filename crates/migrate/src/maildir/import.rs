//! Importing Maildir folders: a whole Maildir++ tree into a user's hierarchy, or one folder
//! into one mailbox. A mailbox that exists already is skipped (reported) and the others go on.

use std::path::Path;

use mailstore::{AppendSource, Store};
use types::MailboxName;

use crate::feed::{Event, Feed, Incoming, Progress, Summary};
use crate::maildir::error::{MigrateError, Result};
use crate::maildir::folder;
use crate::maildir::tree;

/// Imports the Maildir++ tree at `root` into `user`'s hierarchy below `inbox` (the namespace's
/// name for it, with its domain) (the root into the INBOX
/// `user.NAME`, `.Sent` into `user.NAME.Sent`…) and the user's subscriptions. Mailboxes that
/// could not be imported are in the summary's `skipped`.
pub fn import_user(
    store: &Store,
    user: &str,
    inbox: &MailboxName,
    root: &Path,
    progress: &mut Progress<'_>,
) -> Result<Summary> {
    let inbox = inbox.clone();
    let mut summary = Summary::default();
    for f in tree::folders(root)? {
        let name = match mailbox_name(&inbox, &f.levels) {
            Ok(n) => n,
            Err(why) => {
                skip(&mut summary, progress, f.dir.display().to_string(), why);
                continue;
            }
        };
        match import_folder(store, name.clone(), &f.dir, progress) {
            Ok(s) => summary.add(s),
            Err(e) => skip(&mut summary, progress, name.to_string(), e.to_string()),
        }
    }
    let subscriptions = root.join("subscriptions");
    if let Ok(file) = std::fs::File::open(&subscriptions) {
        let names = tree::parse_subscriptions(std::io::BufReader::new(file))
            .map_err(|e| MigrateError::syntax(&subscriptions, e))?;
        subscribe(store, user, &inbox, &names, progress, &mut summary)?;
    }
    Ok(summary)
}

/// Subscribes `user` to each name (levels in modified UTF-7, `INBOX` for the INBOX).
pub(crate) fn subscribe(
    store: &Store,
    user: &str,
    inbox: &MailboxName,
    names: &[Vec<String>],
    progress: &mut Progress<'_>,
    summary: &mut Summary,
) -> Result<()> {
    for levels in names {
        let levels: Vec<&str> = levels.iter().map(String::as_str).collect();
        let name = match levels.as_slice() {
            [inbox_word] if inbox_word.eq_ignore_ascii_case("INBOX") => Ok(inbox.clone()),
            _ => tree::decode_levels(levels.iter().copied()).and_then(|l| mailbox_name(inbox, &l)),
        };
        match name {
            Ok(n) => store.subscribe(user, &n)?,
            Err(why) => {
                summary.warnings += 1;
                progress(Event::Warning(format!(
                    "subscription {:?} left out: {why}",
                    levels.join("/")
                )));
            }
        }
    }
    Ok(())
}

/// Records a mailbox left out.
pub(crate) fn skip(summary: &mut Summary, progress: &mut Progress<'_>, what: String, why: String) {
    progress(Event::Warning(format!("{what}: skipped: {why}")));
    summary.skipped.push((what, why));
}

/// `inbox` with `levels` below it.
pub(crate) fn mailbox_name(inbox: &MailboxName, levels: &[String]) -> Result<MailboxName, String> {
    let mut name = inbox.clone();
    for l in levels {
        name = name
            .child(l)
            .map_err(|e| format!("folder name level {l:?}: {e}"))?;
    }
    Ok(name)
}

/// Imports the Maildir folder at `dir` (with `cur/` and `new/`) into the new mailbox `name`.
pub fn import_folder(
    store: &Store,
    name: MailboxName,
    dir: &Path,
    progress: &mut Progress<'_>,
) -> Result<Summary> {
    let folder = folder::read(dir)?;
    progress(Event::Mailbox {
        name: &name,
        messages: Some(folder.messages.len() as u64),
    });
    let missing_list = folder.uidvalidity.is_none();
    let uidvalidity = folder.uidvalidity.unwrap_or_else(now_uidvalidity);
    let first = folder.messages.first().map_or(folder.next_uid, |m| m.uid);
    let mut feed = Feed::begin(store, name, uidvalidity, first, folder.next_uid, progress)?;
    if missing_list && !folder.messages.is_empty() {
        feed.warn(format!(
            "{}: no dovecot-uidlist: new UIDs and UIDVALIDITY",
            dir.display()
        ));
    }
    for m in folder.messages {
        feed.push(Incoming {
            source: AppendSource::File(m.path),
            uid: Some(m.uid),
            flags: m.flags,
            internal_date: m.internal_date,
            spooled: false,
        })?;
    }
    feed.finish()
}

/// A fresh UIDVALIDITY for a mailbox that had none: the time, as Dovecot and Cyrus choose it.
pub(crate) fn now_uidvalidity() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .max(1)
}
