//! One Maildir folder (`cur/`, `new/`, `tmp/` and Dovecot's files beside them): its messages
//! with the UIDs `dovecot-uidlist` gives them, the flags of their names and their dates.
//!
//! Files the uidlist does not list (Dovecot had not seen them yet, typically in `new/`) get
//! UIDs from the uidlist's next UID up, in file name order (names begin with the delivery
//! time). `tmp/` holds deliveries in progress and is not read.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use mailstore::InternalDate;
use types::Flag;

use crate::maildir::error::{MigrateError, Result};
use crate::maildir::filename::flags_of;
use crate::maildir::keywords::{self, Keywords};
use crate::maildir::uidlist::{self, Uidlist};

/// One message file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderMessage {
    pub path: PathBuf,
    pub uid: u32,
    pub flags: Vec<Flag>,
    /// The file's mtime: what Dovecot serves as INTERNALDATE for Maildir.
    pub internal_date: InternalDate,
}

/// A folder's messages in ascending UID order, and its UID state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    /// `None` when the folder has no `dovecot-uidlist`.
    pub uidvalidity: Option<u32>,
    /// The UID the next message would get: the uidlist's, raised past every UID given here.
    pub next_uid: u32,
    pub messages: Vec<FolderMessage>,
}

/// Reads the folder at `dir`. A `dovecot-uidlist` or `dovecot-keywords` that cannot be
/// parsed is an error (importing without it would renumber the messages or lose keywords).
pub fn read(dir: &Path) -> Result<Folder> {
    let list = match open(&dir.join("dovecot-uidlist"))? {
        Some((path, file)) => {
            Some(uidlist::parse(file).map_err(|e| MigrateError::syntax(&path, e))?)
        }
        None => None,
    };
    let kw = match open(&dir.join("dovecot-keywords"))? {
        Some((path, file)) => keywords::parse(file).map_err(|e| MigrateError::syntax(&path, e))?,
        None => Keywords::default(),
    };
    let mut files = Vec::new();
    for sub in ["cur", "new"] {
        list_files(&dir.join(sub), &mut files)?;
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(number(files, list.as_ref(), &kw))
}

/// Gives each file its UID: the uidlist's, else the next free one in name order.
fn number(
    files: Vec<(String, PathBuf, InternalDate)>,
    list: Option<&Uidlist>,
    kw: &Keywords,
) -> Folder {
    let mut listed = Vec::new();
    let mut unlisted = Vec::new();
    for (name, path, date) in files {
        let flags = flags_of(&name, kw);
        match list.and_then(|l| l.uid_of(&name)) {
            Some(uid) => listed.push(FolderMessage {
                path,
                uid,
                flags,
                internal_date: date,
            }),
            None => unlisted.push((path, flags, date)),
        }
    }
    listed.sort_by_key(|m| m.uid);
    // The same base twice (a file in both new/ and cur/) keeps the UID once.
    listed.dedup_by_key(|m| m.uid);
    let highest = listed.last().map_or(0, |m| m.uid);
    let mut next = list
        .map_or(1, |l| l.next_uid)
        .max(highest.saturating_add(1))
        .max(1);
    for (path, flags, date) in unlisted {
        listed.push(FolderMessage {
            path,
            uid: next,
            flags,
            internal_date: date,
        });
        next = next.saturating_add(1);
    }
    Folder {
        uidvalidity: list.map(|l| l.uidvalidity),
        next_uid: next,
        messages: listed,
    }
}

/// Opens `path` for reading; `None` when it does not exist.
fn open(path: &Path) -> Result<Option<(PathBuf, BufReader<fs::File>)>> {
    match fs::File::open(path) {
        Ok(f) => Ok(Some((path.to_path_buf(), BufReader::new(f)))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(MigrateError::io(path, e)),
    }
}

/// Appends the regular files of `dir` (name, path, mtime); a missing `dir` has none.
fn list_files(dir: &Path, out: &mut Vec<(String, PathBuf, InternalDate)>) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(MigrateError::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| MigrateError::io(dir, e))?;
        let path = entry.path();
        let meta = entry.metadata().map_err(|e| MigrateError::io(&path, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !meta.is_file() || name.starts_with('.') {
            continue;
        }
        let mtime = meta.modified().map_err(|e| MigrateError::io(&path, e))?;
        let unix_seconds = match mtime.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        };
        let date = InternalDate {
            unix_seconds,
            offset_minutes: 0,
        };
        out.push((name, path, date));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: i64) -> InternalDate {
        InternalDate {
            unix_seconds: s,
            offset_minutes: 0,
        }
    }

    #[test]
    fn unlisted_files_get_uids_from_the_next_uid_up_in_name_order() {
        let list = uidlist::parse(&b"3 V5 N10\n2 :100.a\n7 :200.b\n"[..]).unwrap();
        let files = vec![
            (
                "100.a:2,S".to_string(),
                PathBuf::from("cur/100.a:2,S"),
                date(1),
            ),
            ("150.c".to_string(), PathBuf::from("new/150.c"), date(2)),
            (
                "200.b:2,".to_string(),
                PathBuf::from("cur/200.b:2,"),
                date(3),
            ),
            ("300.d".to_string(), PathBuf::from("new/300.d"), date(4)),
        ];
        let f = number(files, Some(&list), &Keywords::default());
        let uids: Vec<u32> = f.messages.iter().map(|m| m.uid).collect();
        assert_eq!(uids, [2, 7, 10, 11]);
        assert_eq!(f.messages[2].path, PathBuf::from("new/150.c"));
        assert_eq!(f.messages[0].flags, [Flag::Seen]);
        assert_eq!((f.uidvalidity, f.next_uid), (Some(5), 12));
    }

    #[test]
    fn without_a_uidlist_files_are_numbered_from_one() {
        let files = vec![("1.x".to_string(), PathBuf::from("new/1.x"), date(1))];
        let f = number(files, None, &Keywords::default());
        assert_eq!((f.uidvalidity, f.next_uid, f.messages[0].uid), (None, 2, 1));
    }
}
