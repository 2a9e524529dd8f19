//! Importing mbox files: one file into one mailbox, or a Dovecot/UW mbox directory (an
//! `inbox` file, other files and subdirectories) into a user's hierarchy.
//!
//! UIDs come from `X-UID` when the first message has `X-IMAPbase` (as Dovecot and UW-IMAP
//! trust them only then), flags from `Status`/`X-Status`/`X-Keywords`, the INTERNALDATE from
//! the `From ` line.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use mailstore::{InternalDate, Store};
use types::{Flag, MailboxName};

use crate::feed::{Event, Feed, Incoming, Progress, Summary};
use crate::maildir::error::{MigrateError, Result};
use crate::maildir::import::{mailbox_name, now_uidvalidity, skip, subscribe};
use crate::maildir::tree;
use crate::mbox::from_line;
use crate::mbox::reader::{MboxError, MboxMessage, MboxReader, Quoting};
use crate::mbox::spool::{SpoolDir, SpoolWriter};

/// Imports the mbox `file` into the new mailbox `name`.
pub fn import_file(
    store: &Store,
    name: MailboxName,
    file: &Path,
    quoting: Quoting,
    progress: &mut Progress<'_>,
) -> Result<Summary> {
    let f = fs::File::open(file).map_err(|e| MigrateError::io(file, e))?;
    let mut reader = MboxReader::new(BufReader::with_capacity(256 * 1024, f), quoting);
    let mut spool = SpoolDir::create(&std::env::temp_dir())
        .map_err(|e| MigrateError::io(&std::env::temp_dir(), e))?;
    progress(Event::Mailbox {
        name: &name,
        messages: None,
    });
    // The first real message decides the UID state (UW puts its state in a pseudo message).
    let mut base = None;
    let mut first = None;
    while let Some((m, source)) = read_one(&mut reader, &mut spool, file)? {
        if let Some(b) = m.state.imapbase {
            base.get_or_insert(b);
        }
        if !m.state.pseudo {
            first = Some((m, source));
            break;
        }
    }
    let uid_of = |m: &MboxMessage| if base.is_some() { m.state.uid } else { None };
    let (uidvalidity, next_uid) = match base {
        Some((v, last)) if v > 0 => (v, last.saturating_add(1)),
        _ => (now_uidvalidity(), 1),
    };
    let first_uid = first.as_ref().and_then(|(m, _)| uid_of(m)).unwrap_or(1);
    let mut feed = Feed::begin(
        store,
        name,
        uidvalidity,
        first_uid.min(next_uid.max(1)),
        next_uid,
        progress,
    )?;
    let mut pending = first;
    while let Some((m, (source, spooled))) = pending.take() {
        let internal_date = match from_line::parse_date(&m.from_line) {
            Some(d) => d,
            None => {
                feed.warn(format!(
                    "{}:{}: no date in the From line: now",
                    file.display(),
                    m.line
                ));
                InternalDate::now()
            }
        };
        let flags = flags_of(&m, &mut feed);
        feed.push(Incoming {
            source,
            uid: uid_of(&m),
            flags,
            internal_date,
            spooled,
        })?;
        pending = read_one(&mut reader, &mut spool, file)?;
    }
    feed.finish()
}

/// The next message, spooled.
fn read_one(
    reader: &mut MboxReader<BufReader<fs::File>>,
    spool: &mut SpoolDir,
    file: &Path,
) -> Result<Option<(MboxMessage, (mailstore::AppendSource, bool))>> {
    let mut w = SpoolWriter::new(spool);
    let m = match reader.next_message(&mut w) {
        Ok(Some(m)) => m,
        Ok(None) => return Ok(None),
        Err(MboxError::Io(e)) => return Err(MigrateError::io(file, e)),
        Err(MboxError::Syntax(e)) => return Err(MigrateError::syntax(file, e)),
    };
    let source = w
        .finish()
        .map_err(|e| MigrateError::io(&std::env::temp_dir(), e))?;
    Ok(Some((m, source)))
}

/// The flags of a message's state headers; keywords that are not valid IMAP keywords are
/// left out with a warning.
fn flags_of(m: &MboxMessage, feed: &mut Feed<'_, '_, '_>) -> Vec<Flag> {
    let s = &m.state;
    let mut flags = Vec::new();
    for (on, f) in [
        (s.seen, Flag::Seen),
        (s.answered, Flag::Answered),
        (s.flagged, Flag::Flagged),
        (s.deleted, Flag::Deleted),
        (s.draft, Flag::Draft),
    ] {
        if on {
            flags.push(f);
        }
    }
    for k in &s.keywords {
        match Flag::parse(k) {
            Ok(f @ Flag::Keyword(_)) => flags.push(f),
            _ => feed.warn(format!(
                "line {}: keyword {k:?} is not an IMAP keyword: left out",
                m.line
            )),
        }
    }
    flags
}

/// Imports a Dovecot/UW mbox directory into `user`'s hierarchy below `inbox` (the namespace's
/// name for it, with its domain): the file `inbox` into the
/// INBOX, every other file into the mailbox its path names (`lists/rust` into
/// `user.NAME.lists.rust`), and Dovecot's `.subscriptions` or `subscriptions` file.
pub fn import_user(
    store: &Store,
    user: &str,
    inbox: &MailboxName,
    dir: &Path,
    quoting: Quoting,
    progress: &mut Progress<'_>,
) -> Result<Summary> {
    let inbox = inbox.clone();
    let mut files = Vec::new();
    walk(dir, &mut Vec::new(), &mut files, 0)?;
    files.sort();
    let mut summary = Summary::default();
    for (levels, path) in files {
        let name = if levels.len() == 1 && levels[0].eq_ignore_ascii_case("inbox") {
            Ok(inbox.clone())
        } else {
            tree::decode_levels(levels.iter().map(String::as_str))
                .and_then(|l| mailbox_name(&inbox, &l))
        };
        let name = match name {
            Ok(n) => n,
            Err(why) => {
                skip(&mut summary, progress, path.display().to_string(), why);
                continue;
            }
        };
        match import_file(store, name.clone(), &path, quoting, progress) {
            Ok(s) => summary.add(s),
            Err(e) => skip(&mut summary, progress, name.to_string(), e.to_string()),
        }
    }
    for sub in [".subscriptions", "subscriptions"] {
        let path = dir.join(sub);
        if let Ok(file) = fs::File::open(&path) {
            let names = tree::parse_subscriptions(BufReader::new(file))
                .map_err(|e| MigrateError::syntax(&path, e))?;
            // mbox directories use `/` between levels.
            let names: Vec<Vec<String>> = names
                .into_iter()
                .map(|l| {
                    l.iter()
                        .flat_map(|p| p.split('/'))
                        .map(str::to_string)
                        .collect()
                })
                .collect();
            subscribe(store, user, &inbox, &names, progress, &mut summary)?;
        }
    }
    Ok(summary)
}

/// Deepest directory nesting followed.
const MAX_DEPTH: usize = 32;

/// Collects the mbox files below `dir` with their path levels; dot files, Dovecot's
/// `subscriptions` and lock files are not mailboxes.
fn walk(
    dir: &Path,
    levels: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, PathBuf)>,
    depth: usize,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(MigrateError::Refused(format!(
            "{}: nested too deep",
            dir.display()
        )));
    }
    let entries = fs::read_dir(dir).map_err(|e| MigrateError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| MigrateError::io(dir, e))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with('.')
            || name.ends_with(".lock")
            || (depth == 0 && name == "subscriptions")
        {
            continue;
        }
        let meta = fs::metadata(&path).map_err(|e| MigrateError::io(&path, e))?;
        levels.push(name);
        if meta.is_dir() {
            walk(&path, levels, out, depth + 1)?;
        } else if meta.is_file() {
            out.push((levels.clone(), path));
        }
        levels.pop();
    }
    Ok(())
}
