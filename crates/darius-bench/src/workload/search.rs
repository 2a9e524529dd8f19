//! `search`: SEARCH over the large mailbox (`--messages`, 10,000 or 100,000), the same one
//! `fetch` uses. Each client EXAMINEs it and rotates through:
//! - `search-header`: `SEARCH HEADER Message-ID "<…>"` of a random corpus message — exactly one
//!   hit expected;
//! - `search-from`: `SEARCH FROM "name"`;
//! - `search-flag`: `SEARCH FLAGGED` / `SEARCH UNSEEN` — the hit count must equal what
//!   `FETCH 1:* (FLAGS)` showed at the start (two code paths that must agree);
//! - `search-body`: `SEARCH BODY "word"` for a corpus word;
//! - `search-text`: `SEARCH TEXT "word"`;
//! - `search-body-absent`: `SEARCH BODY` for a word no message contains — zero hits, and the
//!   whole mailbox must be read to prove it (the worst case without a full-text index).

use std::sync::Arc;
use std::time::Instant;

use super::populate::{count, mailbox_name, populate};
use super::{join_all, params, record_client_error, timed, Budget, Outcome, Settings};
use crate::client::imap::{quote, ClientError, ImapClient};
use crate::client::parse::Untagged;
use crate::corpus::{self, Rng};
use crate::stats::Recorder;

pub struct SearchArgs {
    pub messages: u64,
}

/// Flag counts learnt from FETCH before searching.
#[derive(Clone, Copy, Default)]
struct FlagCounts {
    flagged: usize,
    unseen: usize,
}

pub async fn run(s: &Settings, args: &SearchArgs) -> anyhow::Result<Outcome> {
    let mailbox = mailbox_name(args.messages, s.seed);
    let (mailbox, fill) = populate(s, &mailbox, args.messages)
        .await
        .map_err(anyhow::Error::msg)?;
    let counts = flag_counts(s, &mailbox).await.map_err(anyhow::Error::msg)?;
    let budget = Arc::new(Budget::new(s));
    let start = Instant::now();
    let tasks = (0..s.clients)
        .map(|i| {
            let (s, budget, mailbox) = (s.clone(), budget.clone(), mailbox.clone());
            let messages = args.messages;
            tokio::spawn(async move { client(&s, i, &mailbox, messages, counts, &budget).await })
        })
        .collect();
    let recorder = join_all(tasks).await;
    let mut metrics = std::collections::BTreeMap::new();
    metrics.insert("fill_seconds".to_owned(), fill.as_secs_f64());
    Ok(Outcome {
        recorder,
        elapsed: start.elapsed(),
        metrics,
        params: params([
            ("clients", s.clients.to_string()),
            ("messages", args.messages.to_string()),
            ("mailbox", mailbox),
        ]),
    })
}

async fn flag_counts(s: &Settings, mailbox: &str) -> Result<FlagCounts, String> {
    let mut c = s.login(&s.user(1)).await.map_err(|e| e.to_string())?;
    count(&mut c, mailbox).await?;
    let done = c
        .command("FETCH 1:* (FLAGS)")
        .await
        .map_err(|e| e.to_string())?;
    let mut fc = FlagCounts::default();
    for u in &done.untagged {
        if let Untagged::Fetch { attrs, .. } = u {
            let flags = attrs.flags.as_deref().unwrap_or_default();
            let has = |f: &str| flags.iter().any(|x| x.eq_ignore_ascii_case(f));
            fc.flagged += usize::from(has("\\Flagged"));
            fc.unseen += usize::from(!has("\\Seen"));
        }
    }
    let _ = c.logout().await;
    Ok(fc)
}

async fn client(
    s: &Settings,
    i: u32,
    mailbox: &str,
    messages: u64,
    counts: FlagCounts,
    budget: &Budget,
) -> Recorder {
    let mut rec = Recorder::default();
    let mut rng = Rng::new(s.seed ^ u64::from(i + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let result = async {
        let mut c = s.login(&s.user(1)).await?;
        count(&mut c, mailbox)
            .await
            .map_err(ClientError::Malformed)?;
        let mut turn = u64::from(i);
        while budget.take(1) {
            one(&mut c, &mut rec, &mut rng, turn, messages, counts, s.seed).await?;
            turn += 1;
        }
        c.logout().await
    }
    .await;
    if let Err(e) = result {
        record_client_error(&mut rec, "search", &e);
    }
    rec
}

fn ascii_word(rng: &mut Rng) -> &'static str {
    loop {
        let w = rng.pick(corpus::WORDS);
        if w.is_ascii() && w.len() > 3 {
            return w;
        }
    }
}

async fn one(
    c: &mut ImapClient,
    rec: &mut Recorder,
    rng: &mut Rng,
    turn: u64,
    messages: u64,
    counts: FlagCounts,
    seed: u64,
) -> Result<(), ClientError> {
    let (op, cmd, want): (&'static str, String, Option<usize>) = match turn % 6 {
        0 => {
            let id = corpus::message_id(seed, rng.below(messages));
            (
                "search-header",
                format!("SEARCH HEADER Message-ID {}", quote(&id)),
                Some(1),
            )
        }
        1 => {
            let name = *rng.pick(&["smith", "jones", "rossi", "silva", "ivanov"]);
            ("search-from", format!("SEARCH FROM {}", quote(name)), None)
        }
        2 if rng.chance(0.5) => ("search-flag", "SEARCH FLAGGED".into(), Some(counts.flagged)),
        2 => ("search-flag", "SEARCH UNSEEN".into(), Some(counts.unseen)),
        3 => (
            "search-body",
            format!("SEARCH BODY {}", quote(ascii_word(rng))),
            None,
        ),
        4 => (
            "search-text",
            format!("SEARCH TEXT {}", quote(ascii_word(rng))),
            None,
        ),
        _ => (
            "search-body-absent",
            format!("SEARCH BODY {}", quote(corpus::ABSENT_WORD)),
            Some(0),
        ),
    };
    let Some(done) = timed(c, rec, op, &cmd).await? else {
        return Ok(());
    };
    let hits: Option<usize> = done.untagged.iter().find_map(|u| match u {
        Untagged::Search(v) => Some(v.len()),
        _ => None,
    });
    match (hits, want) {
        (None, _) => rec.error(op, "missing", format!("{cmd}: no SEARCH response")),
        (Some(h), Some(w)) if h != w => {
            rec.error(op, "wrong-result", format!("{cmd}: {h} hits, expected {w}"))
        }
        _ => {}
    }
    Ok(())
}
