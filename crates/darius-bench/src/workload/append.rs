//! `append`: every client APPENDs corpus messages (2–60 KB, MIME mix, realistic flags) to its
//! user's mailbox as fast as the server takes them, one command at a time per connection.
//!
//! Checked: every APPEND answers OK; with UIDPLUS, the APPENDUID's UID rises strictly and its
//! UIDVALIDITY stays the same within a connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::{join_all, params, personal_mailbox, record_client_error, Budget, Outcome, Settings};
use crate::client::imap::{quote, ImapClient};
use crate::corpus;
use crate::stats::Recorder;

pub struct AppendArgs {
    pub mailbox: String,
}

pub async fn run(s: &Settings, args: &AppendArgs) -> Outcome {
    let budget = Arc::new(Budget::new(s));
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks = (0..s.clients)
        .map(|i| {
            let (s, budget, counter) = (s.clone(), budget.clone(), counter.clone());
            let mailbox = args.mailbox.clone();
            tokio::spawn(async move { client(&s, i, &mailbox, &budget, &counter).await })
        })
        .collect();
    let recorder = join_all(tasks).await;
    Outcome {
        recorder,
        elapsed: start.elapsed(),
        metrics: Default::default(),
        params: params([
            ("clients", s.clients.to_string()),
            ("users", s.users.to_string()),
            ("mailbox", args.mailbox.clone()),
        ]),
    }
}

/// Creates `mailbox` unless it is INBOX; "already exists" is fine.
pub async fn ensure_mailbox(c: &mut ImapClient, mailbox: &str) -> Result<(), String> {
    if mailbox.eq_ignore_ascii_case("INBOX") {
        return Ok(());
    }
    let done = c
        .command(&format!("CREATE {}", quote(mailbox)))
        .await
        .map_err(|e| e.to_string())?;
    if done.is_ok()
        || done
            .code
            .as_ref()
            .is_some_and(|c| c.name == "ALREADYEXISTS")
    {
        return Ok(());
    }
    // Servers without RFC 5530 codes say it in words; SELECT settles whether it exists.
    let sel = c
        .command(&format!("EXAMINE {}", quote(mailbox)))
        .await
        .map_err(|e| e.to_string())?;
    if sel.is_ok() {
        Ok(())
    } else {
        Err(format!("cannot create {mailbox}: {}", done.text))
    }
}

async fn client(
    s: &Settings,
    i: u32,
    mailbox: &str,
    budget: &Budget,
    counter: &AtomicU64,
) -> Recorder {
    let mut rec = Recorder::default();
    let user = s.user_of_client(i);
    let mut c = match s.login(&user).await {
        Ok(c) => c,
        Err(e) => {
            record_client_error(&mut rec, "login", &e);
            return rec;
        }
    };
    let mailbox = match personal_mailbox(&mut c, mailbox).await {
        Ok(m) => m,
        Err(e) => {
            record_client_error(&mut rec, "namespace", &e);
            return rec;
        }
    };
    let mailbox = mailbox.as_str();
    if let Err(e) = ensure_mailbox(&mut c, mailbox).await {
        rec.error("create", "no", e);
        return rec;
    }
    let mut last: Option<(String, u32)> = None;
    while budget.take(1) {
        let idx = counter.fetch_add(1, Ordering::Relaxed);
        let msg = s.pool.get(idx);
        let flags = corpus::flags_for(s.seed, idx).join(" ");
        let t = Instant::now();
        let done = match c.append(mailbox, &flags, msg).await {
            Ok(d) => d,
            Err(e) => {
                record_client_error(&mut rec, "append", &e);
                return rec;
            }
        };
        let code = done.code.clone();
        if super::judge(&mut rec, "append", t, done).is_none() {
            continue;
        }
        rec.bytes("append", msg.len());
        check_appenduid(&mut rec, code.as_ref(), &mut last);
    }
    let _ = c.logout().await;
    rec
}

/// RFC 4315 §3: APPENDUID carries the mailbox's UIDVALIDITY and the new UID.
fn check_appenduid(
    rec: &mut Recorder,
    code: Option<&crate::client::parse::Code>,
    last: &mut Option<(String, u32)>,
) {
    let Some(code) = code.filter(|c| c.name == "APPENDUID") else {
        return;
    };
    let (Some(v), Some(uid)) = (
        code.args.first(),
        code.args.get(1).and_then(|u| u.parse::<u32>().ok()),
    ) else {
        rec.error("append", "malformed", format!("APPENDUID {:?}", code.args));
        return;
    };
    if let Some((lv, luid)) = last {
        if lv != v {
            rec.error(
                "append",
                "wrong-uid",
                format!("UIDVALIDITY {lv} became {v}"),
            );
        } else if uid <= *luid {
            rec.error("append", "wrong-uid", format!("UID {uid} after {luid}"));
        }
    }
    *last = Some((v.clone(), uid));
}
