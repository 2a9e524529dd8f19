//! `resync`: how fast a client that was away catches up with a large mailbox (default 10,000
//! messages) in which 1% of the messages changed, with QRESYNC (RFC 7162 §3.2.5) and without.
//!
//! The first user's `bench-resync-N-sSEED-vV` is filled once (as `fetch` fills its mailbox) and
//! reused; every iteration leaves it the same size. Each iteration, one session after the other:
//! 1. `change`: `ENABLE QRESYNC`, `SELECT` — its UIDVALIDITY and HIGHESTMODSEQ are what a
//!    client that was here before has cached — then `UID FETCH 1:* (FLAGS)` to know the
//!    messages, toggles `\Flagged` on `--changes` − `--expunges` random messages, marks
//!    `--expunges` others `\Deleted` and `UID EXPUNGE`s them, and APPENDs as many new messages;
//! 2. `qresync` (timed): a fresh session, logged in before the clock starts, sends
//!    `ENABLE QRESYNC` and `SELECT box (QRESYNC (uidvalidity modseq))` and reads to the tagged
//!    OK;
//! 3. `full-fetch` (timed): a fresh session sends `SELECT box` and `UID FETCH 1:* (FLAGS)`, the
//!    resync of a client without QRESYNC.
//!
//! Checked: the QRESYNC SELECT reports exactly the changes — `VANISHED (EARLIER)` covering every
//! expunged UID and no UID still in the mailbox, a FETCH with the new flags for every toggled
//! message and every appended one, and none for a message that did not change; the full fetch
//! returns every message once with the toggled flags. RFC 7162 lets `VANISHED (EARLIER)` name UIDs
//! expunged before the cached mod-sequence (a server need not remember when each was expunged):
//! those are counted (`vanished_extra_uids`), not errors. Figures: latency percentiles and
//! response bytes of both resyncs, and the ratio full-fetch/QRESYNC of their medians.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::populate::populate;
use super::{params, Outcome, Settings};
use crate::client::imap::{quote, ClientError, Completion, ImapClient};
use crate::client::parse::Untagged;
use crate::corpus::{self, Rng};
use crate::stats::{percentile, Recorder};

pub struct ResyncArgs {
    pub messages: u64,
    pub iterations: u32,
    /// Messages changed per iteration (default 1% of `messages`).
    pub changes: Option<u64>,
    /// Of those, how many are expunged and replaced by new ones (default a tenth).
    pub expunges: Option<u64>,
}

/// How many messages one iteration changes, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub toggles: usize,
    pub expunges: usize,
}

impl Plan {
    pub fn new(messages: u64, changes: Option<u64>, expunges: Option<u64>) -> Self {
        let changes = changes.unwrap_or(messages / 100).clamp(1, messages.max(1));
        let expunges = expunges.unwrap_or(changes / 10).min(changes);
        let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        Self {
            toggles: n(changes - expunges),
            expunges: n(expunges),
        }
    }
}

pub fn mailbox_name(messages: u64, seed: u64) -> String {
    format!("bench-resync-{messages}-s{seed}-v{}", corpus::VERSION)
}

/// What one iteration's changer did: the state a QRESYNC client had cached before it, and what a
/// correct resync must report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    pub uidvalidity: u32,
    pub modseq: u64,
    /// Toggled messages, with whether they carry `\Flagged` afterwards.
    pub toggled: BTreeMap<u32, bool>,
    pub expunged: BTreeSet<u32>,
    pub appended: BTreeSet<u32>,
    /// The mailbox's UIDs after the change.
    pub live: BTreeSet<u32>,
}

/// A failed step: an error kind for the report and what happened.
#[derive(Debug)]
struct Failed {
    kind: &'static str,
    detail: String,
}

impl From<ClientError> for Failed {
    fn from(e: ClientError) -> Self {
        Self {
            kind: e.kind(),
            detail: e.to_string(),
        }
    }
}

/// Runs `command`; a NO or BAD is a failure of kind `no`/`bad`.
async fn must(c: &mut ImapClient, command: &str) -> Result<Completion, Failed> {
    let done = c.command(command).await?;
    if done.is_ok() {
        return Ok(done);
    }
    let kind = match done.status {
        crate::client::parse::Status::No => "no",
        _ => "bad",
    };
    Err(Failed {
        kind,
        detail: format!("{command}: {}", done.text),
    })
}

/// The figures the timed sessions collect.
#[derive(Default)]
struct Tally {
    qresync_us: Vec<u64>,
    qresync_bytes: Vec<u64>,
    full_us: Vec<u64>,
    full_bytes: Vec<u64>,
    vanished_extra: u64,
}

pub async fn run(s: &Settings, args: &ResyncArgs) -> anyhow::Result<Outcome> {
    let name = mailbox_name(args.messages, s.seed);
    let (mailbox, fill) = populate(s, &name, args.messages)
        .await
        .map_err(anyhow::Error::msg)?;
    let plan = Plan::new(args.messages, args.changes, args.expunges);
    {
        let mut c = s.login(&s.user(1)).await?;
        for cap in ["QRESYNC", "UIDPLUS"] {
            anyhow::ensure!(c.has_cap(cap), "the server does not offer {cap}");
        }
        let _ = c.logout().await;
    }
    let mut rec = Recorder::default();
    let mut tally = Tally::default();
    let mut rng = Rng::new(s.seed ^ 0x7E5C_0DE5);
    let mut next_message = 0u64;
    let start = Instant::now();
    for _ in 0..args.iterations {
        if s.abort.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let step = iteration(s, &mailbox, plan, &mut rng, &mut next_message, &mut rec);
        if let Err(f) = step.await.map(|t| tally.add(t)) {
            rec.error("resync", f.kind, f.detail);
        }
    }
    let elapsed = start.elapsed();
    let mut metrics = tally.metrics();
    metrics.insert("fill_seconds".to_owned(), fill.as_secs_f64());
    Ok(Outcome {
        recorder: rec,
        elapsed,
        metrics,
        params: params([
            ("messages", args.messages.to_string()),
            ("iterations", args.iterations.to_string()),
            ("flag_changes", plan.toggles.to_string()),
            ("expunges", plan.expunges.to_string()),
            ("mailbox", mailbox),
        ]),
    })
}

/// One iteration's timed figures: time and response bytes of each resync.
struct Timed {
    qresync: (Duration, u64),
    vanished_extra: u64,
    full: (Duration, u64),
}

impl Tally {
    fn add(&mut self, t: Timed) {
        let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.qresync_us.push(us(t.qresync.0));
        self.qresync_bytes.push(t.qresync.1);
        self.full_us.push(us(t.full.0));
        self.full_bytes.push(t.full.1);
        self.vanished_extra += t.vanished_extra;
    }

    fn metrics(mut self) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        if self.qresync_us.is_empty() {
            return m;
        }
        for v in [
            &mut self.qresync_us,
            &mut self.qresync_bytes,
            &mut self.full_us,
            &mut self.full_bytes,
        ] {
            v.sort_unstable();
        }
        let ms = |v: &[u64], p: f64| percentile(v, p) as f64 / 1000.0;
        let (a, b) = (ms(&self.qresync_us, 50.0), ms(&self.full_us, 50.0));
        m.insert("qresync_p50_ms".into(), a);
        m.insert("qresync_p95_ms".into(), ms(&self.qresync_us, 95.0));
        m.insert("full_fetch_p50_ms".into(), b);
        m.insert("full_fetch_p95_ms".into(), ms(&self.full_us, 95.0));
        if a > 0.0 {
            m.insert("full_over_qresync".into(), b / a);
        }
        m.insert(
            "qresync_bytes".into(),
            percentile(&self.qresync_bytes, 50.0) as f64,
        );
        m.insert(
            "full_fetch_bytes".into(),
            percentile(&self.full_bytes, 50.0) as f64,
        );
        m.insert("vanished_extra_uids".into(), self.vanished_extra as f64);
        m
    }
}

async fn iteration(
    s: &Settings,
    mailbox: &str,
    plan: Plan,
    rng: &mut Rng,
    next_message: &mut u64,
    rec: &mut Recorder,
) -> Result<Timed, Failed> {
    let t = Instant::now();
    let change = change(s, mailbox, plan, rng, next_message).await?;
    rec.ok("change", t.elapsed());

    let (took, bytes, untagged) = qresync(s, mailbox, &change).await?;
    rec.ok("qresync", took);
    rec.bytes("qresync", usize::try_from(bytes).unwrap_or(usize::MAX));
    let check = check_qresync(&change, &untagged);
    for (kind, detail) in check.errors {
        rec.error("qresync", kind, detail);
    }

    let (full_took, full_bytes, untagged) = full_fetch(s, mailbox).await?;
    rec.ok("full-fetch", full_took);
    rec.bytes(
        "full-fetch",
        usize::try_from(full_bytes).unwrap_or(usize::MAX),
    );
    for (kind, detail) in check_full(&change, &untagged) {
        rec.error("full-fetch", kind, detail);
    }
    Ok(Timed {
        qresync: (took, bytes),
        vanished_extra: check.vanished_extra,
        full: (full_took, full_bytes),
    })
}

/// The argument of response code `name` in the untagged responses, parsed.
fn code_arg<T: std::str::FromStr>(untagged: &[Untagged], name: &str) -> Option<T> {
    untagged.iter().find_map(|u| match u {
        Untagged::Status {
            code: Some(code), ..
        } if code.name == name => code.args.first()?.parse().ok(),
        _ => None,
    })
}

/// `(uid, has \Flagged)` of every FETCH response with a UID and FLAGS.
fn fetched_flags(untagged: &[Untagged]) -> impl Iterator<Item = (u32, bool)> + '_ {
    untagged.iter().filter_map(|u| match u {
        Untagged::Fetch { attrs, .. } => Some((
            attrs.uid?,
            attrs
                .flags
                .as_ref()?
                .iter()
                .any(|f| f.eq_ignore_ascii_case("\\Flagged")),
        )),
        _ => None,
    })
}

/// The changer session (see the module comment).
async fn change(
    s: &Settings,
    mailbox: &str,
    plan: Plan,
    rng: &mut Rng,
    next_message: &mut u64,
) -> Result<Change, Failed> {
    let mut c = s.login(&s.user(1)).await?;
    must(&mut c, "ENABLE QRESYNC").await?;
    let sel = must(&mut c, &format!("SELECT {}", quote(mailbox))).await?;
    let missing = |what: &str| Failed {
        kind: "missing",
        detail: format!("SELECT {mailbox}: no {what}"),
    };
    let uidvalidity =
        code_arg(&sel.untagged, "UIDVALIDITY").ok_or_else(|| missing("UIDVALIDITY"))?;
    let modseq =
        code_arg(&sel.untagged, "HIGHESTMODSEQ").ok_or_else(|| missing("HIGHESTMODSEQ"))?;
    let all = must(&mut c, "UID FETCH 1:* (FLAGS)").await?;
    let flagged: BTreeMap<u32, bool> = fetched_flags(&all.untagged).collect();
    let mut uids: Vec<u32> = flagged.keys().copied().collect();
    let n = (plan.toggles + plan.expunges).min(uids.len());
    for i in 0..n {
        let j = i + rng.below((uids.len() - i) as u64) as usize;
        uids.swap(i, j);
    }
    let (gone, toggle) = uids[..n].split_at(plan.expunges.min(n));
    let mut ch = Change {
        uidvalidity,
        modseq,
        toggled: toggle
            .iter()
            .map(|u| (*u, !flagged.get(u).copied().unwrap_or_default()))
            .collect(),
        expunged: gone.iter().copied().collect(),
        ..Change::default()
    };
    let on: Vec<u32> = ch.toggled.iter().filter(|e| *e.1).map(|e| *e.0).collect();
    let off: Vec<u32> = ch.toggled.iter().filter(|e| !*e.1).map(|e| *e.0).collect();
    for (set, op) in [(&on, '+'), (&off, '-')] {
        if !set.is_empty() {
            let cmd = format!("UID STORE {} {op}FLAGS.SILENT (\\Flagged)", uid_set(set));
            must(&mut c, &cmd).await?;
        }
    }
    if !gone.is_empty() {
        let set = uid_set(gone);
        must(
            &mut c,
            &format!("UID STORE {set} +FLAGS.SILENT (\\Deleted)"),
        )
        .await?;
        must(&mut c, &format!("UID EXPUNGE {set}")).await?;
    }
    for _ in 0..gone.len() {
        let done = c.append(mailbox, "", s.pool.get(*next_message)).await?;
        *next_message += 1;
        let uid = done
            .code
            .as_ref()
            .filter(|code| done.is_ok() && code.name == "APPENDUID")
            .and_then(|code| code.args.get(1)?.parse().ok());
        let Some(uid) = uid else {
            return Err(Failed {
                kind: "missing",
                detail: format!("APPEND: no APPENDUID ({:?} {})", done.status, done.text),
            });
        };
        ch.appended.insert(uid);
    }
    let _ = c.logout().await;
    ch.live = flagged
        .keys()
        .copied()
        .filter(|u| !ch.expunged.contains(u))
        .collect();
    ch.live.extend(ch.appended.iter().copied());
    Ok(ch)
}

/// Timed: `ENABLE QRESYNC` + `SELECT box (QRESYNC (uidvalidity modseq))` on a fresh session.
async fn qresync(
    s: &Settings,
    mailbox: &str,
    ch: &Change,
) -> Result<(Duration, u64, Vec<Untagged>), Failed> {
    let mut c = s.login(&s.user(1)).await?;
    let before = c.received();
    let t = Instant::now();
    let mut untagged = must(&mut c, "ENABLE QRESYNC").await?.untagged;
    let cmd = format!(
        "SELECT {} (QRESYNC ({} {}))",
        quote(mailbox),
        ch.uidvalidity,
        ch.modseq
    );
    untagged.extend(must(&mut c, &cmd).await?.untagged);
    let took = t.elapsed();
    let bytes = c.received() - before;
    let _ = c.logout().await;
    Ok((took, bytes, untagged))
}

/// Timed: `SELECT box` + `UID FETCH 1:* (FLAGS)` on a fresh session.
async fn full_fetch(s: &Settings, mailbox: &str) -> Result<(Duration, u64, Vec<Untagged>), Failed> {
    let mut c = s.login(&s.user(1)).await?;
    let before = c.received();
    let t = Instant::now();
    let mut untagged = must(&mut c, &format!("SELECT {}", quote(mailbox)))
        .await?
        .untagged;
    untagged.extend(must(&mut c, "UID FETCH 1:* (FLAGS)").await?.untagged);
    let took = t.elapsed();
    let bytes = c.received() - before;
    let _ = c.logout().await;
    Ok((took, bytes, untagged))
}

/// What a QRESYNC SELECT got wrong, and how many UIDs it reported vanished beyond the change.
#[derive(Debug, Default, PartialEq)]
pub struct QresyncCheck {
    pub errors: Vec<(&'static str, String)>,
    pub vanished_extra: u64,
}

/// Checks a QRESYNC SELECT's untagged responses against the change (see the module comment).
pub fn check_qresync(ch: &Change, untagged: &[Untagged]) -> QresyncCheck {
    let mut errors = Vec::new();
    let mut err = |kind: &'static str, detail: String| errors.push((kind, detail));
    if let Some(uv) = code_arg::<u32>(untagged, "UIDVALIDITY").filter(|v| *v != ch.uidvalidity) {
        err(
            "wrong-uidvalidity",
            format!("{uv}, cached {}", ch.uidvalidity),
        );
    }
    let mut ranges = Vec::new();
    for u in untagged {
        if let Untagged::Vanished { earlier, uids } = u {
            if !earlier {
                err(
                    "wrong-vanished",
                    "VANISHED without (EARLIER) in SELECT".into(),
                );
            }
            ranges.extend_from_slice(uids);
        }
    }
    let ranges = merge(ranges);
    // `ranges` is sorted and disjoint: the candidate is the last range starting at or below.
    let covered = |uid: &u32| {
        let i = ranges.partition_point(|(lo, _)| lo <= uid);
        i > 0 && ranges[i - 1].1 >= *uid
    };
    let unreported = ch.expunged.iter().filter(|u| !covered(u)).count();
    if unreported > 0 {
        err(
            "missing",
            format!("{unreported} expunged UIDs not in VANISHED"),
        );
    }
    let alive: Vec<&u32> = ch.live.iter().filter(|u| covered(u)).take(3).collect();
    if !alive.is_empty() {
        err(
            "wrong-vanished",
            format!("VANISHED names UIDs still here: {alive:?}"),
        );
    }
    let total: u64 = ranges.iter().map(|(lo, hi)| u64::from(hi - lo) + 1).sum();
    let live_named = ch.live.iter().filter(|u| covered(u)).count() as u64;
    let expunged_named = (ch.expunged.len() - unreported) as u64;
    let vanished_extra = total.saturating_sub(live_named + expunged_named);

    let mut seen = BTreeSet::new();
    for u in untagged {
        let Untagged::Fetch { seq, attrs } = u else {
            continue;
        };
        let (Some(uid), Some(_)) = (attrs.uid, &attrs.flags) else {
            err(
                "missing",
                format!("FETCH of message {seq} without UID or FLAGS"),
            );
            continue;
        };
        if !ch.toggled.contains_key(&uid) && !ch.appended.contains(&uid) {
            err(
                "wrong-count",
                format!("FETCH of UID {uid}, which did not change"),
            );
        }
        seen.insert(uid);
    }
    for (uid, flagged) in fetched_flags(untagged) {
        if ch.toggled.get(&uid).is_some_and(|want| *want != flagged) {
            err(
                "wrong-flags",
                format!("UID {uid}: \\Flagged {flagged}, stored {}", !flagged),
            );
        }
    }
    let expected = ch.toggled.keys().chain(&ch.appended);
    let unfetched = expected.filter(|u| !seen.contains(u)).count();
    if unfetched > 0 {
        err(
            "missing",
            format!("{unfetched} changed messages without a FETCH"),
        );
    }
    check_exists(ch, untagged, &mut err);
    QresyncCheck {
        errors,
        vanished_extra,
    }
}

fn check_exists(ch: &Change, untagged: &[Untagged], err: &mut impl FnMut(&'static str, String)) {
    let exists = untagged.iter().rev().find_map(|u| match u {
        Untagged::Exists(n) => Some(*n as usize),
        _ => None,
    });
    if exists != Some(ch.live.len()) {
        err(
            "wrong-count",
            format!("EXISTS {exists:?}, expected {}", ch.live.len()),
        );
    }
}

/// Checks a full `UID FETCH 1:* (FLAGS)`: every message once, the toggled flags as stored.
pub fn check_full(ch: &Change, untagged: &[Untagged]) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    let mut err = |kind: &'static str, detail: String| errors.push((kind, detail));
    check_exists(ch, untagged, &mut err);
    let mut seen = BTreeSet::new();
    for (uid, flagged) in fetched_flags(untagged) {
        if !seen.insert(uid) || !ch.live.contains(&uid) {
            err(
                "wrong-uid",
                format!("UID {uid} twice or not in the mailbox"),
            );
        }
        if ch.toggled.get(&uid).is_some_and(|want| *want != flagged) {
            err(
                "wrong-flags",
                format!("UID {uid}: \\Flagged {flagged}, stored {}", !flagged),
            );
        }
    }
    if seen.len() != ch.live.len() {
        err(
            "wrong-count",
            format!(
                "{} messages fetched, {} in the mailbox",
                seen.len(),
                ch.live.len()
            ),
        );
    }
    errors
}

/// Sorted, overlapping or adjacent ranges joined.
fn merge(mut ranges: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    ranges.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if u64::from(lo) <= u64::from(last.1) + 1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// A UID set in compact form (`3:5,9`); `uids` need not be sorted.
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let ranges = merge(sorted.into_iter().map(|u| (u, u)).collect());
    let parts: Vec<String> = ranges
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}:{hi}")
            }
        })
        .collect();
    parts.join(",")
}

#[cfg(test)]
#[path = "resync_tests.rs"]
mod tests;
