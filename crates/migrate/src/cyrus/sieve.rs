//! A user's Sieve scripts. Cyrus 3.x keeps each script as a message in the user's `#sieve`
//! mailbox (`Subject:` the script's name, the body its source); Cyrus 2.4 as `NAME.script`
//! files in the user's Sieve directory. Both keep the active script's compiled form linked as
//! `defaultbc` → `NAME.bc` in that directory, which names the script to activate.

use std::path::Path;

use mailstore::Store;

use super::conf::CyrusConfig;
use super::driver::ImportMode;
use super::mboxlist::{Kind, MailboxRecord};
use super::{index, read_bounded, CyrusError};

/// Largest script we read.
const MAX_SCRIPT: u64 = 1 << 20;

/// Imports `user`'s scripts and activates the one Cyrus had active; answers how many.
pub(crate) fn import_user(
    cyrus: &CyrusConfig,
    store: &Store,
    mode: ImportMode,
    user: &str,
    inbox_id: Option<&str>,
    entries: &[MailboxRecord],
) -> Result<u64, CyrusError> {
    let dirs = cyrus.sieve_dirs(user, inbox_id);
    let mut scripts: Vec<(String, Vec<u8>)> = Vec::new();
    let mut active = None;
    for dir in &dirs {
        if active.is_none() {
            active = active_name(dir);
        }
        scripts.extend(script_files(dir)?);
    }
    let sieve_box = format!("user.{user}.#sieve");
    if let Some(e) = entries
        .iter()
        .find(|e| e.kind == Kind::Sieve && e.name == sieve_box)
    {
        scripts.extend(mailbox_scripts(cyrus, e)?);
    }
    scripts.sort_by(|a, b| a.0.cmp(&b.0));
    scripts.dedup_by(|a, b| a.0 == b.0);
    if mode == ImportMode::Write {
        for (name, source) in &scripts {
            store.put_sieve_script(user, name, source, usize::MAX)?;
        }
        if let Some(name) = active.filter(|a| scripts.iter().any(|(n, _)| n == a)) {
            store.set_active_sieve_script(user, Some(&name))?;
        }
    }
    Ok(scripts.len() as u64)
}

/// The script `defaultbc` links to, by name.
fn active_name(dir: &Path) -> Option<String> {
    let target = std::fs::read_link(dir.join("defaultbc")).ok()?;
    let file = target.file_name()?.to_str()?;
    Some(file.strip_suffix(".bc").unwrap_or(file).to_string())
}

/// `NAME.script` files of a Sieve directory.
fn script_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, CyrusError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(CyrusError::io(dir, err)),
    };
    let mut out = Vec::new();
    for item in entries {
        let item = item.map_err(|err| CyrusError::io(dir, err))?;
        let file = item.file_name();
        let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".script")) else {
            continue;
        };
        out.push((name.to_string(), read_bounded(&item.path(), MAX_SCRIPT)?));
    }
    Ok(out)
}

/// Scripts stored as messages of a 3.x `#sieve` mailbox.
fn mailbox_scripts(
    cyrus: &CyrusConfig,
    e: &MailboxRecord,
) -> Result<Vec<(String, Vec<u8>)>, CyrusError> {
    let id = if e.legacy_dirs {
        None
    } else {
        e.uniqueid.as_deref()
    };
    let mut out = Vec::new();
    for dir in cyrus.mailbox_dirs(&e.partition, &e.name, id) {
        let meta = cyrus.meta_dir(&e.partition, &dir);
        let path = meta.join("cyrus.index");
        if !path.exists() {
            continue;
        }
        let ix = index::read_file(&path)?;
        for r in ix.records.iter().filter(|r| !r.is_expunged()) {
            let message = read_bounded(&dir.join(format!("{}.", r.uid)), MAX_SCRIPT)?;
            if let Some(script) = split_script(&message) {
                out.push(script);
            }
        }
        break;
    }
    Ok(out)
}

/// A `#sieve` message's script name (its `Subject:`) and source (its body).
pub fn split_script(message: &[u8]) -> Option<(String, Vec<u8>)> {
    let (head, body) = match find(message, b"\r\n\r\n") {
        Some(i) => (&message[..i], &message[i + 4..]),
        None => {
            let i = find(message, b"\n\n")?;
            (&message[..i], &message[i + 2..])
        }
    };
    let head = String::from_utf8_lossy(head);
    let subject = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("subject")
            .then(|| v.trim().to_string())
    })?;
    (!subject.is_empty()).then(|| (subject, body.to_vec()))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrus_3_6_sieve_message_gives_name_and_source() {
        let m = b"From: <carol@localhost>\r\nSubject: filing\r\nContent-Type: application/sieve; \
charset=utf-8\r\nMIME-Version: 1.0\r\n\r\nrequire [\"fileinto\"];\nkeep;\n";
        let (name, source) = split_script(m).unwrap();
        assert_eq!(name, "filing");
        assert_eq!(source, b"require [\"fileinto\"];\nkeep;\n");
        assert_eq!(split_script(b"no header end"), None);
        assert_eq!(split_script(b"X: y\r\n\r\nbody"), None);
    }
}
