//! `fetch`: reading a large mailbox (default 10,000 messages). Every client EXAMINEs the first
//! user's `bench-N-sSEED-vV` mailbox and alternates two commands:
//! - `fetch-meta`: `FETCH a:b (UID FLAGS ENVELOPE BODYSTRUCTURE)` for a random window of
//!   `--batch` messages (what a client does to list a folder);
//! - `fetch-body`: `FETCH n (UID BODY.PEEK[])` of a random message (opening one).
//!
//! Checked: the window returns exactly one FETCH per message with every item present; the body
//! is byte-for-byte the corpus message its Message-ID names.

use std::sync::Arc;
use std::time::Instant;

use super::populate::{corpus_index, count, mailbox_name, populate};
use super::{join_all, params, record_client_error, timed, Budget, Outcome, Settings};
use crate::client::imap::{ClientError, ImapClient};
use crate::client::parse::{FetchAttrs, Untagged};
use crate::corpus::{self, Rng};
use crate::stats::Recorder;

pub struct FetchArgs {
    pub messages: u64,
    pub batch: u32,
}

pub async fn run(s: &Settings, args: &FetchArgs) -> anyhow::Result<Outcome> {
    let mailbox = mailbox_name(args.messages, s.seed);
    let (mailbox, fill) = populate(s, &mailbox, args.messages)
        .await
        .map_err(anyhow::Error::msg)?;
    let budget = Arc::new(Budget::new(s));
    let start = Instant::now();
    let tasks = (0..s.clients)
        .map(|i| {
            let (s, budget, mailbox) = (s.clone(), budget.clone(), mailbox.clone());
            let batch = args.batch;
            tokio::spawn(async move { client(&s, i, &mailbox, batch, &budget).await })
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
            ("batch", args.batch.to_string()),
            ("mailbox", mailbox),
        ]),
    })
}

async fn client(s: &Settings, i: u32, mailbox: &str, batch: u32, budget: &Budget) -> Recorder {
    let mut rec = Recorder::default();
    let mut rng = Rng::new(s.seed ^ u64::from(i).wrapping_mul(0x51_7CC1_B727_220A));
    let result = async {
        let mut c = s.login(&s.user(1)).await?;
        let exists = count(&mut c, mailbox)
            .await
            .map_err(ClientError::Malformed)?;
        let exists = u32::try_from(exists).unwrap_or(u32::MAX).max(1);
        while budget.take(1) {
            meta(&mut c, &mut rec, &mut rng, exists, batch).await?;
            if !budget.take(1) {
                break;
            }
            body(&mut c, &mut rec, &mut rng, exists, s.seed).await?;
        }
        c.logout().await
    }
    .await;
    if let Err(e) = result {
        record_client_error(&mut rec, "fetch", &e);
    }
    rec
}

fn fetches(untagged: &[Untagged]) -> impl Iterator<Item = (u32, &FetchAttrs)> {
    untagged.iter().filter_map(|u| match u {
        Untagged::Fetch { seq, attrs } => Some((*seq, attrs)),
        _ => None,
    })
}

async fn meta(
    c: &mut ImapClient,
    rec: &mut Recorder,
    rng: &mut Rng,
    exists: u32,
    batch: u32,
) -> Result<(), ClientError> {
    let first = 1 + rng.below(u64::from(exists.saturating_sub(batch).max(1))) as u32;
    let last = (first + batch - 1).min(exists);
    let cmd = format!("FETCH {first}:{last} (UID FLAGS ENVELOPE BODYSTRUCTURE)");
    let Some(done) = timed(c, rec, "fetch-meta", &cmd).await? else {
        return Ok(());
    };
    let mut seen = 0;
    for (seq, a) in fetches(&done.untagged) {
        if a.uid.is_none() || a.flags.is_none() || !a.envelope || !a.bodystructure {
            rec.error(
                "fetch-meta",
                "missing",
                format!("message {seq}: items missing"),
            );
        }
        if (first..=last).contains(&seq) {
            seen += 1;
        }
    }
    if seen != last - first + 1 {
        let want = last - first + 1;
        rec.error(
            "fetch-meta",
            "missing",
            format!("{cmd}: {seen} of {want} messages"),
        );
    }
    Ok(())
}

async fn body(
    c: &mut ImapClient,
    rec: &mut Recorder,
    rng: &mut Rng,
    exists: u32,
    seed: u64,
) -> Result<(), ClientError> {
    let seq = 1 + rng.below(u64::from(exists)) as u32;
    let cmd = format!("FETCH {seq} (UID BODY.PEEK[])");
    let Some(done) = timed(c, rec, "fetch-body", &cmd).await? else {
        return Ok(());
    };
    let Some(body) =
        fetches(&done.untagged).find_map(|(n, a)| a.body.as_ref().filter(|_| n == seq))
    else {
        rec.error("fetch-body", "missing", format!("{cmd}: no body"));
        return Ok(());
    };
    rec.bytes("fetch-body", body.len());
    match corpus_index(body) {
        Some(idx) if *body == corpus::message(seed, idx) => {}
        Some(idx) => rec.error(
            "fetch-body",
            "wrong-content",
            format!("{cmd}: corpus {idx}"),
        ),
        None => rec.error("fetch-body", "wrong-content", format!("{cmd}: not ours")),
    }
    Ok(())
}
