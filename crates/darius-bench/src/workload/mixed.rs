//! `mixed`: a mail-client mix with state checking. Each client owns one mailbox (`bench-mixed`
//! in its user's account; `bench-mixed-K` when several clients share a user) and runs sessions:
//!
//! | per session | command |
//! |---|---|
//! | 1 | LOGIN |
//! | 1 | SELECT |
//! | 1 | `FETCH 1:* (UID FLAGS)` — flag resync, compared with the model (full `UID FETCH 1:*` the first time) |
//! | R × 1 | `UID FETCH last+1:* (UID FLAGS RFC822.SIZE ENVELOPE)` — new mail |
//! | R × 1 | `UID FETCH u (UID BODY.PEEK[])` or `BODY[]` (half each; the latter sets `\Seen`) |
//! | R × 1 | `UID STORE u ±FLAGS (f)` on `\Seen`, `\Flagged` or `\Answered` |
//! | R × p | `UID STORE u +FLAGS.SILENT (\Deleted)` then `EXPUNGE`, p = 0.3 (1 above `--target-size`) |
//! | R × 1 | APPEND of a corpus message with realistic flags |
//! | 1 | LOGOUT |
//!
//! R is `--rounds` (default 4). The model ([`super::mixed_model`]) tracks UIDs, flags, sizes and
//! the content of appended messages; every disagreement — BAD, unexpected NO, malformed response,
//! wrong UID, wrong flags, wrong count, a missing message, wrong content, an EXPUNGE of a message
//! without `\Deleted` — is counted as an error of its kind, and the model adopts the server's view
//! so one fault is not counted again and again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::append::ensure_mailbox;
use super::mixed_model::{norm, show, Flags, Model, Msg};
use super::{
    join_all, judge, params, personal_mailbox, record_client_error, timed, Budget, Outcome,
    Settings,
};
use crate::client::imap::{quote, ClientError, Completion, ImapClient};
use crate::client::parse::{FetchAttrs, Untagged};
use crate::corpus::{self, Rng};
use crate::stats::Recorder;

#[derive(Clone, Copy)]
pub struct MixedArgs {
    pub rounds: u32,
    pub target_size: usize,
}

struct Ctx<'a> {
    s: &'a Settings,
    args: MixedArgs,
    budget: &'a Budget,
    rec: Recorder,
    model: Model,
    rng: Rng,
    user: String,
    mailbox: String,
    next_corpus: u64,
    created: bool,
}

pub async fn run(s: &Settings, args: MixedArgs) -> Outcome {
    let budget = Arc::new(Budget::new(s));
    let start = Instant::now();
    let tasks = (0..s.clients)
        .map(|i| {
            let (s, budget) = (s.clone(), budget.clone());
            tokio::spawn(async move { client(&s, i, args, &budget).await })
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
            ("rounds", args.rounds.to_string()),
            ("target_size", args.target_size.to_string()),
        ]),
    }
}

async fn client(s: &Settings, i: u32, args: MixedArgs, budget: &Budget) -> Recorder {
    let k = i / s.users.max(1);
    let mut ctx = Ctx {
        s,
        args,
        budget,
        rec: Recorder::default(),
        model: Model::default(),
        rng: Rng::new(s.seed ^ (u64::from(i) + 1).wrapping_mul(0xD134_2543_DE82_EF95)),
        user: s.user_of_client(i),
        mailbox: if k == 0 {
            "bench-mixed".into()
        } else {
            format!("bench-mixed-{k}")
        },
        next_corpus: (u64::from(i) + 1) << 32,
        created: false,
    };
    while budget.take(0) {
        if let Err(e) = session(&mut ctx).await {
            record_client_error(&mut ctx.rec, "session", &e);
            ctx.model.reset();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    ctx.rec
}

async fn session(ctx: &mut Ctx<'_>) -> Result<(), ClientError> {
    let t = Instant::now();
    let mut c = ctx.s.connect().await?;
    let done = c.login(&ctx.user, &ctx.s.password).await?;
    if judge(&mut ctx.rec, "login", t, done).is_none() {
        tokio::time::sleep(Duration::from_millis(50)).await;
        return Ok(());
    }
    if !ctx.created {
        ctx.mailbox = personal_mailbox(&mut c, &ctx.mailbox).await?;
        if let Err(e) = ensure_mailbox(&mut c, &ctx.mailbox).await {
            ctx.rec.error("create", "no", e);
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Ok(());
        }
        ctx.created = true;
    }
    if select(&mut c, ctx).await? {
        if ctx.model.known {
            resync_flags(&mut c, ctx).await?;
        } else {
            full_sync(&mut c, ctx).await?;
        }
        for _ in 0..ctx.args.rounds {
            if !ctx.budget.take(4) {
                break;
            }
            round(&mut c, ctx).await?;
        }
    }
    let t = Instant::now();
    c.logout().await?;
    ctx.rec.ok("logout", t.elapsed());
    Ok(())
}

fn fetches(untagged: &[Untagged]) -> Vec<(u32, FetchAttrs)> {
    untagged
        .iter()
        .filter_map(|u| match u {
            Untagged::Fetch { seq, attrs } => Some((*seq, attrs.clone())),
            _ => None,
        })
        .collect()
}

/// Any EXISTS in `done` must match the model (only this client changes the mailbox).
fn check_exists(ctx: &mut Ctx<'_>, op: &'static str, done: &Completion) {
    let want = ctx.model.expected_exists();
    for u in &done.untagged {
        if let Untagged::Exists(n) = u {
            if ctx.model.known && *n as usize != want {
                ctx.rec
                    .error(op, "wrong-count", format!("EXISTS {n}, expected {want}"));
                ctx.model.reset();
                return;
            }
        }
    }
}

async fn select(c: &mut ImapClient, ctx: &mut Ctx<'_>) -> Result<bool, ClientError> {
    let cmd = format!("SELECT {}", quote(&ctx.mailbox));
    let Some(done) = timed(c, &mut ctx.rec, "select", &cmd).await? else {
        return Ok(false);
    };
    let validity = done.untagged.iter().find_map(|u| match u {
        Untagged::Status {
            code: Some(code), ..
        } if code.name == "UIDVALIDITY" => code.args.first().cloned(),
        _ => None,
    });
    if validity.is_some() && ctx.model.uidvalidity.is_some() && validity != ctx.model.uidvalidity {
        let detail = format!("{:?} became {validity:?}", ctx.model.uidvalidity);
        ctx.rec.error("select", "wrong-uidvalidity", detail);
        ctx.model.reset();
    }
    ctx.model.uidvalidity = validity;
    if !done
        .untagged
        .iter()
        .any(|u| matches!(u, Untagged::Exists(_)))
    {
        ctx.rec.error("select", "missing", "no EXISTS");
    }
    check_exists(ctx, "select", &done);
    Ok(true)
}

async fn full_sync(c: &mut ImapClient, ctx: &mut Ctx<'_>) -> Result<(), ClientError> {
    let cmd = "UID FETCH 1:* (UID FLAGS RFC822.SIZE)";
    let Some(done) = timed(c, &mut ctx.rec, "fetch-flags", cmd).await? else {
        return Ok(());
    };
    ctx.model.adopt(&fetches(&done.untagged));
    let extra = ctx.model.msgs.len().saturating_sub(ctx.args.target_size);
    if extra > ctx.args.target_size {
        let cmd = format!("STORE 1:{extra} +FLAGS.SILENT (\\Deleted)");
        if timed(c, &mut ctx.rec, "store", &cmd).await?.is_some() {
            for m in &mut ctx.model.msgs[..extra] {
                m.flags.insert("\\Deleted".into());
            }
            expunge(c, ctx).await?;
        }
    }
    Ok(())
}

async fn resync_flags(c: &mut ImapClient, ctx: &mut Ctx<'_>) -> Result<(), ClientError> {
    if ctx.model.msgs.is_empty() && ctx.model.pending.is_empty() {
        return Ok(());
    }
    let Some(done) = timed(c, &mut ctx.rec, "fetch-flags", "FETCH 1:* (UID FLAGS)").await? else {
        return Ok(());
    };
    if !ctx.model.pending.is_empty() {
        return Ok(()); // unresolved appends: the next fetch of new mail settles them
    }
    let got = fetches(&done.untagged);
    let problems = ctx.model.compare(&got);
    if !problems.is_empty() {
        for (kind, detail) in problems {
            ctx.rec.error("fetch-flags", kind, detail);
        }
        ctx.model.adopt(&got);
    }
    Ok(())
}

async fn round(c: &mut ImapClient, ctx: &mut Ctx<'_>) -> Result<(), ClientError> {
    fetch_new(c, ctx).await?;
    fetch_body(c, ctx).await?;
    store(c, ctx).await?;
    let p = if ctx.model.msgs.len() > ctx.args.target_size {
        1.0
    } else {
        0.3
    };
    if !ctx.model.msgs.is_empty() && ctx.rng.chance(p) {
        delete_one(c, ctx).await?;
    }
    append(c, ctx).await
}

async fn fetch_new(c: &mut ImapClient, ctx: &mut Ctx<'_>) -> Result<(), ClientError> {
    let from = ctx.model.envelope_upto + 1;
    let cmd = format!("UID FETCH {from}:* (UID FLAGS RFC822.SIZE ENVELOPE)");
    let Some(done) = timed(c, &mut ctx.rec, "fetch-new", &cmd).await? else {
        return Ok(());
    };
    let mut seen = 0;
    for (_, a) in fetches(&done.untagged) {
        let Some(uid) = a.uid.filter(|&u| u >= from) else {
            continue; // RFC 9051 §6.4.8: `n:*` also returns the last message when n > UIDNEXT-1
        };
        let flags = norm(a.flags.as_deref().unwrap_or_default());
        if let Some(p) = ctx.model.position(uid) {
            seen += 1;
            if !a.envelope {
                ctx.rec
                    .error("fetch-new", "missing", format!("UID {uid}: no ENVELOPE"));
            }
            let m = &ctx.model.msgs[p];
            if m.size.is_some() && a.size != m.size {
                let detail = format!("UID {uid}: size {:?}, expected {:?}", a.size, m.size);
                ctx.rec.error("fetch-new", "wrong-content", detail);
            }
        } else if uid > ctx.model.max_uid() && !ctx.model.pending.is_empty() {
            if let Some((idx, _, size)) = ctx.model.pending.pop_front() {
                let (size, corpus) = (Some(size), Some(idx));
                ctx.model.msgs.push(Msg {
                    uid,
                    flags,
                    size,
                    corpus,
                });
                seen += 1;
            }
        } else if ctx.model.known {
            ctx.rec
                .error("fetch-new", "wrong-uid", format!("unexpected UID {uid}"));
        }
    }
    let want = ctx.model.msgs.iter().filter(|m| m.uid >= from).count();
    if ctx.model.known && seen < want {
        let detail = format!("{cmd}: {seen} of {want} messages");
        ctx.rec.error("fetch-new", "missing", detail);
    }
    ctx.model.envelope_upto = ctx.model.max_uid();
    check_exists(ctx, "fetch-new", &done);
    Ok(())
}

fn pick(ctx: &mut Ctx<'_>) -> Option<usize> {
    let n = ctx.model.msgs.len() as u64;
    (n > 0).then(|| ctx.rng.below(n) as usize)
}

async fn fetch_body(c: &mut ImapClient, ctx: &mut Ctx<'_>) -> Result<(), ClientError> {
    let Some(p) = pick(ctx) else { return Ok(()) };
    let uid = ctx.model.msgs[p].uid;
    let peek = ctx.rng.chance(0.5);
    let section = if peek { "BODY.PEEK[]" } else { "BODY[]" };
    let cmd = format!("UID FETCH {uid} (UID {section})");
    let Some(done) = timed(c, &mut ctx.rec, "fetch-body", &cmd).await? else {
        return Ok(());
    };
    if !peek {
        ctx.model.msgs[p].flags.insert("\\Seen".into());
    }
    let got = fetches(&done.untagged);
    let Some(a) = got
        .iter()
        .map(|(_, a)| a)
        .find(|a| a.uid == Some(uid) && a.body.is_some())
    else {
        ctx.rec
            .error("fetch-body", "missing", format!("{cmd}: no body"));
        return Ok(());
    };
    let body = a.body.as_deref().unwrap_or_default();
    ctx.rec.bytes("fetch-body", body.len());
    if let Some(problem) = content_problem(&ctx.s.pool, &ctx.model.msgs[p], body) {
        let detail = format!("{} UID {uid}: {problem}", ctx.mailbox);
        ctx.rec.error("fetch-body", "wrong-content", detail);
    }
    let flags_seen = got
        .iter()
        .find_map(|(_, a)| a.flags.clone().filter(|_| a.uid == Some(uid)));
    if let Some(f) = flags_seen {
        check_flags(ctx, "fetch-body", p, norm(&f));
    }
    Ok(())
}

/// How `body` differs from what the model says message `m` is, if it does.
fn content_problem(pool: &corpus::Pool, m: &Msg, body: &[u8]) -> Option<String> {
    match (m.corpus, m.size) {
        (Some(idx), _) => {
            let want = pool.get(idx);
            let at = want.iter().zip(body).position(|(a, b)| a != b);
            (body != want).then(|| {
                let at = at.unwrap_or(want.len().min(body.len()));
                format!(
                    "{} bytes, corpus {idx} has {}; first difference at byte {at}",
                    body.len(),
                    want.len()
                )
            })
        }
        (None, Some(size)) => (body.len() != size as usize)
            .then(|| format!("{} bytes, RFC822.SIZE {size}", body.len())),
        (None, None) => None,
    }
}

fn check_flags(ctx: &mut Ctx<'_>, op: &'static str, p: usize, got: Flags) {
    let m = &mut ctx.model.msgs[p];
    if got != m.flags {
        let detail = format!(
            "UID {}: ({}) expected ({})",
            m.uid,
            show(&got),
            show(&m.flags)
        );
        ctx.rec.error(op, "wrong-flags", detail);
        m.flags = got;
    }
}

async fn store(c: &mut ImapClient, ctx: &mut Ctx<'_>) -> Result<(), ClientError> {
    let Some(p) = pick(ctx) else { return Ok(()) };
    let uid = ctx.model.msgs[p].uid;
    let flag = *ctx.rng.pick(&["\\Seen", "\\Flagged", "\\Answered"]);
    let add = ctx.rng.chance(0.5);
    let cmd = format!(
        "UID STORE {uid} {}FLAGS ({flag})",
        if add { "+" } else { "-" }
    );
    let Some(done) = timed(c, &mut ctx.rec, "store", &cmd).await? else {
        return Ok(());
    };
    let m = &mut ctx.model.msgs[p];
    let changed = if add {
        m.flags.insert(flag.to_owned())
    } else {
        m.flags.remove(flag)
    };
    let got = fetches(&done.untagged)
        .into_iter()
        .find_map(|(_, a)| a.flags.filter(|_| a.uid.is_none_or(|u| u == uid)));
    // RFC 9051 §6.4.6 asks for the new flags; Dovecot and Cyrus leave them out when the STORE
    // changed nothing, so only a change must be reported.
    match got {
        Some(f) => check_flags(ctx, "store", p, norm(&f)),
        None if changed => ctx
            .rec
            .error("store", "missing", format!("{cmd}: no FETCH FLAGS")),
        None => {}
    }
    check_exists(ctx, "store", &done);
    Ok(())
}

async fn delete_one(c: &mut ImapClient, ctx: &mut Ctx<'_>) -> Result<(), ClientError> {
    let Some(p) = pick(ctx) else { return Ok(()) };
    let uid = ctx.model.msgs[p].uid;
    let cmd = format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)");
    if timed(c, &mut ctx.rec, "store", &cmd).await?.is_none() {
        return Ok(());
    }
    ctx.model.msgs[p].flags.insert("\\Deleted".into());
    expunge(c, ctx).await
}

async fn expunge(c: &mut ImapClient, ctx: &mut Ctx<'_>) -> Result<(), ClientError> {
    let Some(done) = timed(c, &mut ctx.rec, "expunge", "EXPUNGE").await? else {
        return Ok(());
    };
    for u in &done.untagged {
        if let Untagged::Expunge(seq) = u {
            if let Err(e) = ctx.model.expunge(*seq) {
                ctx.rec.error("expunge", "wrong-expunge", e);
                ctx.model.reset();
                return Ok(());
            }
        }
    }
    let left = ctx
        .model
        .msgs
        .iter()
        .filter(|m| m.flags.contains("\\Deleted"))
        .count();
    if left > 0 {
        ctx.rec.error(
            "expunge",
            "not-expunged",
            format!("{left} \\Deleted messages remain"),
        );
        ctx.model.msgs.retain(|m| !m.flags.contains("\\Deleted"));
        ctx.model.known = false;
    }
    Ok(())
}

async fn append(c: &mut ImapClient, ctx: &mut Ctx<'_>) -> Result<(), ClientError> {
    let idx = ctx.next_corpus;
    ctx.next_corpus += 1;
    let msg = ctx.s.pool.get(idx);
    let flag_list = corpus::flags_for(ctx.s.seed, idx);
    let flags: Flags = flag_list.iter().map(|f| (*f).to_owned()).collect();
    let t = Instant::now();
    let done = c.append(&ctx.mailbox, &flag_list.join(" "), msg).await?;
    let code = done.code.clone();
    let Some(done) = judge(&mut ctx.rec, "append", t, done) else {
        return Ok(());
    };
    ctx.rec.bytes("append", msg.len());
    let size = msg.len() as u32;
    let uid = code
        .filter(|c| c.name == "APPENDUID")
        .and_then(|c| c.args.get(1)?.parse::<u32>().ok());
    match uid {
        Some(uid) if uid <= ctx.model.max_uid() && ctx.model.known => {
            let detail = format!("APPENDUID {uid} not above {}", ctx.model.max_uid());
            ctx.rec.error("append", "wrong-uid", detail);
            ctx.model.reset();
        }
        Some(uid) => {
            let (size, corpus) = (Some(size), Some(idx));
            ctx.model.msgs.push(Msg {
                uid,
                flags,
                size,
                corpus,
            });
        }
        None => ctx.model.pending.push_back((idx, flags, size)),
    }
    check_exists(ctx, "append", &done);
    Ok(())
}
