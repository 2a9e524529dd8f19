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
