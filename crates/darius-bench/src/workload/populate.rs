//! Filling the large mailbox that `fetch` and `search` measure: `bench-N-sSEED-vV` in the first
//! user's account holds corpus messages `0..N` of the seed. A mailbox that already holds exactly N
//! messages is reused (filling 100,000 messages takes minutes); one with more is deleted and made
//! again. Filling is setup, not measurement: its time is reported separately.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::append::ensure_mailbox;
use super::{personal_mailbox, Settings};
use crate::client::imap::{quote, ImapClient};
use crate::client::parse::Untagged;
use crate::corpus;

/// Parallel connections used to fill the mailbox.
const FILL_CONNECTIONS: u32 = 4;

pub fn mailbox_name(messages: u64, seed: u64) -> String {
    format!("bench-{messages}-s{seed}-v{}", corpus::VERSION)
}

/// The EXISTS count of `mailbox` (via EXAMINE).
pub async fn count(c: &mut ImapClient, mailbox: &str) -> Result<u64, String> {
    let done = c
        .command(&format!("EXAMINE {}", quote(mailbox)))
        .await
        .map_err(|e| e.to_string())?;
    if !done.is_ok() {
        return Err(format!("EXAMINE {mailbox}: {}", done.text));
    }
    done.untagged
        .iter()
        .find_map(|u| match u {
            Untagged::Exists(n) => Some(u64::from(*n)),
            _ => None,
        })
        .ok_or_else(|| format!("EXAMINE {mailbox}: no EXISTS"))
}

/// Makes sure `mailbox` of the first user holds `messages` messages; returns its full name (see
/// [`personal_mailbox`]) and the fill time.
pub async fn populate(
    s: &Settings,
    mailbox: &str,
    messages: u64,
) -> Result<(String, Duration), String> {
    let start = Instant::now();
    let user = s.user(1);
    let mut c = s.login(&user).await.map_err(|e| e.to_string())?;
    let mailbox = personal_mailbox(&mut c, mailbox)
        .await
        .map_err(|e| e.to_string())?;
    let mailbox = mailbox.as_str();
    ensure_mailbox(&mut c, mailbox).await?;
    let mut have = count(&mut c, mailbox).await?;
    if have > messages {
        let _ = c.command("UNSELECT").await;
        let _ = c.command("CLOSE").await;
        let del = c
            .command(&format!("DELETE {}", quote(mailbox)))
            .await
            .map_err(|e| e.to_string())?;
        if !del.is_ok() {
            return Err(format!("DELETE {mailbox}: {}", del.text));
        }
        ensure_mailbox(&mut c, mailbox).await?;
        have = 0;
    }
    let _ = c.logout().await;
    if have == messages {
        return Ok((mailbox.to_owned(), start.elapsed()));
    }
    eprintln!("filling {mailbox} of {user}: {have} -> {messages} messages");
    if let Some(root) = &s.fill_maildir {
        let root = root.clone();
        let (seed, mailbox_owned) = (s.seed, mailbox.to_owned());
        tokio::task::spawn_blocking(move || {
            fill_maildir(&root, &mailbox_owned, seed, have, messages)
        })
        .await
        .map_err(|e| e.to_string())??;
        // The server indexes the new files when the mailbox is next opened: part of the fill.
        let mut c = s.login(&user).await.map_err(|e| e.to_string())?;
        let now = count(&mut c, mailbox).await?;
        let _ = c.logout().await;
        if now != messages {
            return Err(format!(
                "{mailbox}: {now} messages after writing the Maildir, expected {messages}"
            ));
        }
        return Ok((mailbox.to_owned(), start.elapsed()));
    }
    let next = Arc::new(AtomicU64::new(have));
    let tasks: Vec<_> = (0..FILL_CONNECTIONS)
        .map(|_| {
            let (s, next, user) = (s.clone(), next.clone(), user.clone());
            let mailbox = mailbox.to_owned();
            tokio::spawn(async move { fill(&s, &user, &mailbox, &next, messages).await })
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok((mailbox.to_owned(), start.elapsed()))
}

async fn fill(
    s: &Settings,
    user: &str,
    mailbox: &str,
    next: &AtomicU64,
    messages: u64,
) -> Result<(), String> {
    let mut c = s.login(user).await.map_err(|e| e.to_string())?;
    loop {
        let idx = next.fetch_add(1, Ordering::Relaxed);
        if idx >= messages {
            break;
        }
        let flags = corpus::flags_for(s.seed, idx).join(" ");
        let done = c
            .append(mailbox, &flags, &corpus::message(s.seed, idx))
            .await
            .map_err(|e| e.to_string())?;
        if !done.is_ok() {
            return Err(format!("APPEND while filling: {}", done.text));
        }
        if idx % 10_000 == 9_999 {
            eprintln!("  {} messages", idx + 1);
        }
    }
    let _ = c.logout().await;
    Ok(())
}

/// Writes corpus messages `from..to` into the Maildir++ folder of `mailbox` under `root`
/// (`root/.NAME/`), by the Maildir protocol: a unique file in `tmp/`, then rename(2) into `cur/`
/// with the flags in the name (`:2,FRS`). Files get the owner of the folder, so a server that
/// runs as another user can read them. LF line ends, as Maildir keeps messages.
pub fn fill_maildir(
    root: &std::path::Path,
    mailbox: &str,
    seed: u64,
    from: u64,
    to: u64,
) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let folder = root.join(format!(".{}", mailbox.replace('/', ".")));
    let meta = std::fs::metadata(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let (uid, gid) = (meta.uid(), meta.gid());
    for sub in ["tmp", "cur", "new"] {
        let dir = folder.join(sub);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let pid = std::process::id();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for idx in from..to {
        let text = corpus::message(seed, idx);
        let mut lf = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            if text[i] == b'\r' && text.get(i + 1) == Some(&b'\n') {
                i += 1;
                continue;
            }
            lf.push(text[i]);
            i += 1;
        }
        let mut info: Vec<char> = corpus::flags_for(seed, idx)
            .iter()
            .filter_map(|f| match *f {
                "\\Flagged" => Some('F'),
                "\\Answered" => Some('R'),
                "\\Seen" => Some('S'),
                _ => None,
            })
            .collect();
        info.sort_unstable();
        let base = format!("{now}.M{idx}P{pid}.darius-bench");
        let tmp = folder.join("tmp").join(&base);
        let cur = folder
            .join("cur")
            .join(format!("{base}:2,{}", info.into_iter().collect::<String>()));
        std::fs::write(&tmp, &lf).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::os::unix::fs::chown(&tmp, Some(uid), Some(gid))
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &cur).map_err(|e| format!("{}: {e}", cur.display()))?;
        if idx % 10_000 == 9_999 {
            eprintln!("  {} messages", idx + 1);
        }
    }
    Ok(())
}

/// The corpus index of a message, read from its Message-ID (`<INDEX.hex@domain>`).
pub fn corpus_index(message: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\r\nMessage-ID: <";
    let head = &message[..message.len().min(16 * 1024)];
    let at = head.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits: Vec<u8> = head[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maildir_fill_writes_flagged_lf_files_into_cur() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(".bench-5")).unwrap();
        fill_maildir(root.path(), "bench-5", 42, 2, 5).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(root.path().join(".bench-5/cur"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names.len(), 3);
        for name in &names {
            let idx: u64 = name
                .split(".M")
                .nth(1)
                .unwrap()
                .split('P')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let (_, info) = name.split_once(":2,").unwrap();
            let has = |f: &str| corpus::flags_for(42, idx).contains(&f);
            assert_eq!(info.contains('S'), has("\\Seen"), "{name}");
            assert_eq!(info.contains('F'), has("\\Flagged"), "{name}");
            assert_eq!(info.contains('R'), has("\\Answered"), "{name}");
            let body = std::fs::read(root.path().join(".bench-5/cur").join(name)).unwrap();
            assert!(!body.contains(&b'\r'));
            assert_eq!(corpus_index(&corpus::message(42, idx)), Some(idx));
        }
        assert!(std::fs::read_dir(root.path().join(".bench-5/tmp"))
            .unwrap()
            .next()
            .is_none());
    }

    #[test]
    fn corpus_index_is_read_back_from_the_message() {
        for i in [0, 1, 77, 99_999] {
            assert_eq!(corpus_index(&corpus::message(42, i)), Some(i));
        }
        assert_eq!(corpus_index(b"Subject: x\r\n\r\nbody"), None);
        let mut cut = b"A: b\r\nMessage-ID: <12.ab@x>\r\n\r\n".to_vec();
        cut.extend_from_slice("é".repeat(9000).as_bytes());
        assert_eq!(corpus_index(&cut), Some(12));
    }
}
