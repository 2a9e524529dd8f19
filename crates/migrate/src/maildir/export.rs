//! Exporting a user's mailboxes to a Maildir++ tree Dovecot reads without renumbering: each
//! folder gets a `dovecot-uidlist` (version 3, the mailbox's UIDVALIDITY and UIDNEXT, each
//! file's UID), a `dovecot-keywords` (the first 26 keywords of the mailbox's table: a Maildir
//! name has only the letters `a` to `z`), files in `cur/` named
//! `DATE.MUID.darius,S=SIZE,W=VSIZE:2,FLAGS` with LF line ends and the INTERNALDATE as mtime,
//! and the root a `subscriptions` file.

use std::fs;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use mailstore::{MessageRecord, SeenSource, Store};
use types::MailboxName;

use crate::feed::{each_record, Event, Progress, Summary};
use crate::maildir::error::{MigrateError, Result};
use crate::maildir::filename::info_for;
use crate::maildir::keywords::MAX_MAILDIR_KEYWORDS;
use crate::maildir::{tree, uidlist};

/// Exports every mailbox of `user`, whose INBOX is `inbox` (the namespace's choice, with its
/// domain), to the Maildir++ tree `dest`, which must not exist or be empty.
pub fn export_user(
    store: &Store,
    user: &str,
    inbox: &MailboxName,
    dest: &Path,
    progress: &mut Progress<'_>,
) -> Result<Summary> {
    let inbox = inbox.clone();
    let mailboxes = store.list_mailboxes(Some(&inbox))?;
    if mailboxes.is_empty() {
        return Err(MigrateError::Refused(format!(
            "user {user} has no mailboxes"
        )));
    }
    empty_destination(dest)?;
    let mut summary = Summary::default();
    for entry in &mailboxes {
        let levels = relative_levels(&inbox, &entry.name);
        let dir = if levels.is_empty() {
            dest.to_path_buf()
        } else {
            dest.join(tree::dir_name(&levels))
        };
        progress(Event::Mailbox {
            name: &entry.name,
            messages: None,
        });
        let s = export_folder(
            store,
            &entry.name,
            &entry.uniqueid,
            &dir,
            !levels.is_empty(),
            progress,
        )?;
        summary.add(s);
    }
    let subscribed: Vec<Vec<String>> = store
        .subscriptions(user)?
        .iter()
        .filter(|n| n.is_within(&inbox))
        .map(|n| match relative_levels(&inbox, n) {
            l if l.is_empty() => vec!["INBOX".to_string()],
            l => l.into_iter().map(str::to_string).collect(),
        })
        .collect();
    let path = dest.join("subscriptions");
    write_file(&path, |out| tree::write_subscriptions(out, &subscribed))?;
    Ok(summary)
}

/// The levels of `name` below `inbox`.
fn relative_levels<'a>(inbox: &MailboxName, name: &'a MailboxName) -> Vec<&'a str> {
    name.levels().skip(inbox.levels().count()).collect()
}

/// Refuses a destination with something in it (an export never overwrites).
fn empty_destination(dest: &Path) -> Result<()> {
    match fs::read_dir(dest) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(MigrateError::Refused(format!(
                    "{}: not empty (an export writes a new Maildir)",
                    dest.display()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dest).map_err(|e| MigrateError::io(dest, e))
        }
        Err(e) => Err(MigrateError::io(dest, e)),
    }
}

/// Writes one mailbox as the Maildir folder `dir`.
fn export_folder(
    store: &Store,
    name: &MailboxName,
    uniqueid: &str,
    dir: &Path,
    subfolder: bool,
    progress: &mut Progress<'_>,
) -> Result<Summary> {
    for sub in ["cur", "new", "tmp"] {
        let d = dir.join(sub);
        fs::create_dir_all(&d).map_err(|e| MigrateError::io(&d, e))?;
    }
    if subfolder {
        write_file(&dir.join("maildirfolder"), |_| Ok(()))?;
    }
    let status = store.status(name, SeenSource::Index)?;
    let keywords: Vec<String> = status
        .keywords
        .iter()
        .take(MAX_MAILDIR_KEYWORDS)
        .cloned()
        .collect();
    let letter_of = |k: &str| {
        keywords
            .iter()
            .position(|x| x == k)
            .and_then(|i| u8::try_from(i).ok())
            .map(|i| b'a' + i)
    };
    let mut summary = Summary {
        mailboxes: 1,
        ..Summary::default()
    };
    let mut records_written = Vec::new();
    let uidnext = status.uidnext.get();
    each_record(
        store,
        name,
        uidnext,
        &mut summary,
        progress,
        |r, summary, progress| {
            let dropped = r
                .flags
                .iter()
                .filter(|f| matches!(f, types::Flag::Keyword(k) if letter_of(k).is_none()))
                .count();
            if dropped > 0 {
                summary.warnings += 1;
                progress(Event::Warning(format!(
                    "{name}: UID {}: {dropped} keywords past the 26 a Maildir name can carry left out",
                    r.uid
                )));
            }
            let base = write_message(store, name, r, dir, &info_for(&r.flags, letter_of))?;
            records_written.push((r.uid.get(), base));
            Ok(())
        },
    )?;
    let guid = (uniqueid.len() == 32 && uniqueid.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(uniqueid);
    write_file(&dir.join("dovecot-uidlist"), |out| {
        uidlist::write(
            out,
            status.uidvalidity.get(),
            uidnext,
            guid,
            &records_written,
        )
    })?;
    write_file(&dir.join("dovecot-keywords"), |out| {
        for (i, k) in keywords.iter().enumerate() {
            writeln!(out, "{i} {k}")?;
        }
        Ok(())
    })?;
    Ok(summary)
}

/// Copies one message into `dir/cur/` with LF line ends and its INTERNALDATE as mtime;
/// answers the file name's base (the name up to `:`).
fn write_message(
    store: &Store,
    name: &MailboxName,
    r: &MessageRecord,
    dir: &Path,
    info: &str,
) -> Result<String> {
    // Through the store, not the file: a newsgroup's article comes decoded.
    let input = store.open_message(name, r.uid)?.reader();
    let tmp = dir.join("tmp").join(format!("{}.export", r.uid));
    let file = fs::File::create(&tmp).map_err(|e| MigrateError::io(&tmp, e))?;
    let mut out = BufWriter::new(file);
    let size = copy_to_lf(BufReader::with_capacity(64 * 1024, input), &mut out)
        .map_err(|e| MigrateError::io(&tmp, e))?;
    let file = out
        .into_inner()
        .map_err(|e| MigrateError::io(&tmp, e.into_error()))?;
    let mtime = match u64::try_from(r.internal_date.unix_seconds) {
        Ok(s) => UNIX_EPOCH + Duration::from_secs(s),
        Err(_) => UNIX_EPOCH,
    };
    file.set_modified(mtime)
        .map_err(|e| MigrateError::io(&tmp, e))?;
    drop(file);
    let base = format!(
        "{}.M{}P{}.darius,S={size},W={}",
        r.internal_date.unix_seconds.max(0),
        r.uid,
        std::process::id(),
        r.size
    );
    let dest = dir.join("cur").join(format!("{base}:{info}"));
    fs::rename(&tmp, &dest).map_err(|e| MigrateError::io(&dest, e))?;
    Ok(base)
}

/// Copies `input` to `out` turning CRLF into LF; answers the octets written.
pub(crate) fn copy_to_lf(mut input: impl Read, out: &mut impl Write) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    let mut held_cr = false;
    let mut chunk = Vec::with_capacity(buf.len() + 1);
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        chunk.clear();
        for &b in &buf[..n] {
            if held_cr {
                held_cr = false;
                if b != b'\n' {
                    chunk.push(b'\r');
                }
            }
            if b == b'\r' {
                held_cr = true;
            } else {
                chunk.push(b);
            }
        }
        out.write_all(&chunk)?;
        written += chunk.len() as u64;
    }
    if held_cr {
        out.write_all(b"\r")?;
        written += 1;
    }
    Ok(written)
}

/// Creates `path` (which must not exist) with what `fill` writes.
fn write_file(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| MigrateError::io(path, e))?;
    let mut out = BufWriter::new(file);
    fill(&mut out).map_err(|e| MigrateError::io(path, e))?;
    out.flush().map_err(|e| MigrateError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_becomes_lf_and_lone_crs_stay() {
        let mut out = Vec::new();
        let n = copy_to_lf(&b"a\r\nb\rc\r\n\r"[..], &mut out).unwrap();
        assert_eq!(out, b"a\nb\rc\n\r");
        assert_eq!(n, 7);
    }
}
