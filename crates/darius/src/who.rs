//! `darius who`: the sessions of the running server (Cyrus's `proc` listing), from its session
//! files `configdirectory/proc/<session-id>` (see `net::procfile`): one line per session,
//! tab-separated: session id, client host, user (`-` before login), selected mailbox (`-`
//! when none). With no server answering on its admin socket there are no sessions: files a
//! crashed server left behind are not listed (the next start removes them).

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};

use crate::reconstruct::{load, running_server};

/// Most bytes read of one session file: a host, a user and a mailbox name fit many times over.
const MAX_FILE: u64 = 16 * 1024;

/// Most sessions listed: a server's connection limits stay far below it.
const MAX_SESSIONS: usize = 100_000;

pub fn run(config_path: Option<&Path>) -> Result<()> {
    let config = load(config_path)?;
    if running_server(&config).is_none() {
        eprintln!("who: no server is running: no sessions");
        return Ok(());
    }
    let dir = config.configdirectory().join("proc");
    let mut sessions = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries.flatten() {
        if sessions.len() >= MAX_SESSIONS {
            eprintln!("who: more than {MAX_SESSIONS} sessions; the rest are not listed");
            break;
        }
        let id = entry.file_name().to_string_lossy().into_owned();
        // A session may end between the listing and the read: then it is simply gone.
        let Ok(file) = std::fs::File::open(entry.path()) else {
            continue;
        };
        let mut text = String::new();
        if file.take(MAX_FILE).read_to_string(&mut text).is_err() {
            continue;
        }
        sessions.push(session_line(&id, &text));
    }
    sessions.sort();
    for line in sessions {
        println!("{line}");
    }
    Ok(())
}

/// The listing line of session `id` whose file holds `text` (`host<TAB>user<TAB>mailbox`).
fn session_line(id: &str, text: &str) -> String {
    let mut fields = text.trim_end_matches(['\r', '\n']).split('\t');
    let mut next = || match fields.next() {
        Some(f) if !f.is_empty() => f.to_string(),
        _ => "-".to_string(),
    };
    let (host, user, mailbox) = (next(), next(), next());
    format!("{id}\t{host}\t{user}\t{mailbox}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_show_as_dashes() {
        assert_eq!(session_line("s1", "192.0.2.1\t\t\n"), "s1\t192.0.2.1\t-\t-");
        assert_eq!(
            session_line("s2", "192.0.2.1\talice\tuser.alice\n"),
            "s2\t192.0.2.1\talice\tuser.alice"
        );
        assert_eq!(session_line("s3", ""), "s3\t-\t-\t-");
    }
}
