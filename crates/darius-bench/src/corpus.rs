//! Realistic messages, made deterministically from a seed and an index (no downloads, no files):
//! message `i` of seed `s` is the same bytes on every machine and every run, so a 100,000-message
//! mailbox never has to be stored by the load generator and search results can be predicted.
//!
//! The mix (by message): ~35% text/plain (some quoted-printable UTF-8), ~30%
//! multipart/alternative (text + HTML), ~25% multipart/mixed with one or two base64 attachments,
//! ~10% forwarded message/rfc822. Sizes 2–60 KB, mode about 6 KB. RFC 2047 encoded names and
//! subjects, threads through In-Reply-To/References, dates spread over three years, Received
//! chains, mailing-list headers. CRLF line ends throughout.

use std::fmt::Write as _;

mod encode;
use encode::{base64_lines, encoded_word, quoted_printable, rfc5322_date};

/// SplitMix64: tiny, fast and fully specified, so the corpus never changes with a library version.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn triangular(&mut self, lo: f64, hi: f64, mode: f64) -> f64 {
        let u = self.unit();
        let c = (mode - lo) / (hi - lo);
        if u < c {
            lo + ((hi - lo) * (mode - lo) * u).sqrt()
        } else {
            hi - ((hi - lo) * (hi - mode) * (1.0 - u)).sqrt()
        }
    }
}

fn stream(seed: u64, salt: u64, index: u64) -> Rng {
    let mut r = Rng::new(seed ^ salt.wrapping_mul(0xA24B_AED4_963E_E407));
    let mix = r.next_u64() ^ index.wrapping_mul(0x9FB2_1C65_1E98_DF25);
    Rng::new(mix)
}

const FIRST: &[&str] = &[
    "Alice",
    "Bob",
    "Carol",
    "Dave",
    "Eve",
    "Frank",
    "Grace",
    "Heidi",
    "Ivan",
    "Judy",
    "Mallory",
    "Niaj",
    "Olivia",
    "Peggy",
    "Rupert",
    "Sybil",
    "Trent",
    "Victor",
    "Walter",
    "Jürgen",
    "Søren",
    "Zoë",
    "François",
    "Łukasz",
    "Håkon",
    "Ingrid",
];
const LAST: &[&str] = &[
    "Smith", "Jones", "Müller", "García", "Nakamura", "O'Brien", "Dubois", "Kowalski", "Rossi",
    "Andersen", "Novák", "Silva", "Ivanov",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "mail.test",
    "lists.example.edu",
];
/// Ordered roughly by frequency: words are drawn with a bias towards the front.
pub const WORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "this",
    "that",
    "from",
    "server",
    "mailbox",
    "please",
    "report",
    "meeting",
    "project",
    "review",
    "build",
    "test",
    "release",
    "schedule",
    "budget",
    "delivery",
    "index",
    "cache",
    "quota",
    "backup",
    "invoice",
    "deadline",
    "patch",
    "failure",
    "success",
    "lorem",
    "ipsum",
    "dolor",
    "amet",
    "consectetur",
    "adipiscing",
    "tempor",
    "incididunt",
    "labore",
    "magna",
    "aliqua",
    "replication",
    "sieve",
    "partition",
    "migration",
    "kernel",
    "latency",
    "throughput",
    "übermäßig",
    "naïve",
    "café",
    "résumé",
    "straße",
    "colleague",
    "quarterly",
    "forecast",
    "hardware",
    "warranty",
    "firmware",
    "pipeline",
    "workshop",
    "conference",
    "itinerary",
    "reimbursement",
    "whiteboard",
    "retrospective",
    "onboarding",
    "questionnaire",
    "kaleidoscope",
    "serendipity",
    "quintessential",
];
/// Never generated: a BODY search for it must scan everything and find nothing.
pub const ABSENT_WORD: &str = "zyzzogeton";
const SUBJECTS: &[&str] = &[
    "Quarterly report",
    "Meeting tomorrow",
    "Re: build failure",
    "Invoice #{n}",
    "Patch review: {w}",
    "Lunch?",
    "Your order {n} has shipped",
    "Weekly status",
    "Ünïcödé subject {w}",
    "[list] Discussion about {w}",
    "Server {w} down",
    "Holiday schedule",
    "Security advisory {n}",
    "Question about {w}",
];
const MAILERS: &[&str] = &[
    "Thunderbird 115.3",
    "Apple Mail (2.3731)",
    "Mutt/2.2.9",
    "Microsoft Outlook 16.0",
    "Roundcube Webmail/1.6",
];

/// The Message-ID of message `index` (also used by later messages that reply to it).
pub fn message_id(seed: u64, index: u64) -> String {
    let mut r = stream(seed, 1, index);
    let dom = r.pick(DOMAINS);
    format!("<{index}.{:012x}@{dom}>", r.next_u64() >> 16)
}

fn word(r: &mut Rng) -> &'static str {
    let n = WORDS.len() as u64;
    let i = (r.below(n) * r.below(n)) / n; // biased towards frequent words
    WORDS[i as usize]
}

fn person(r: &mut Rng) -> String {
    let (f, l) = (*r.pick(FIRST), *r.pick(LAST));
    let initial = f.chars().next().unwrap_or('x');
    let local: String = format!("{initial}{l}")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let name = format!("{f} {l}");
    let shown = if name.is_ascii() {
        if name.contains('\'') {
            format!("\"{name}\"")
        } else {
            name
        }
    } else {
        encoded_word(&name)
    };
    format!("{shown} <{local}@{}>", r.pick(DOMAINS))
}

fn subject(r: &mut Rng) -> String {
    let s = r
        .pick(SUBJECTS)
        .replace("{n}", &r.range(1000, 99999).to_string())
        .replace("{w}", word(r));
    if s.is_ascii() {
        s
    } else {
        encoded_word(&s)
    }
}

/// Text of about `bytes` bytes: paragraphs of words wrapped at 72 columns, CRLF line ends.
pub fn text_of_size(r: &mut Rng, bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 100);
    while out.len() < bytes {
        let mut line = String::new();
        for _ in 0..r.range(20, 120) {
            let w = word(r);
            if line.len() + w.len() > 70 {
                out.push_str(&line);
                out.push_str("\r\n");
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(w);
        }
        out.push_str(&line);
        out.push_str(".\r\n\r\n");
    }
    out
}

/// Message `index` of the corpus `seed`.
pub fn message(seed: u64, index: u64) -> Vec<u8> {
    let mut r = stream(seed, 2, index);
    let target = r.triangular(2048.0, 61440.0, 6000.0) as usize;
    let mut h = headers(&mut r, seed, index);
    let kind = r.unit();
    let boundary = format!("=_bench_{:016x}", r.next_u64());
    let body = if kind < 0.35 {
        plain_part(&mut r, &mut h, target)
    } else if kind < 0.65 {
        alternative(&mut r, &mut h, &boundary, target / 2)
    } else if kind < 0.90 {
        mixed(&mut r, &mut h, &boundary, target)
    } else {
        forward(&mut r, &mut h, &boundary, seed, index, target)
    };
    let mut msg = h.into_bytes();
    msg.extend_from_slice(b"\r\n");
    msg.extend_from_slice(body.as_bytes());
    msg
}

fn headers(r: &mut Rng, seed: u64, index: u64) -> String {
    let mut h = String::with_capacity(1024);
    let date = rfc5322_date(1_767_225_600 - r.below(3 * 365 * 86400) as i64);
    for hop in 0..r.range(1, 3) {
        let _ = write!(
            h,
            "Received: from mx{hop}.{} (mx{hop}.{} [192.0.2.{}])\r\n\tby mail.test with ESMTPS id {:x}\r\n\tfor <user@mail.test>; {date}\r\n",
            r.pick(DOMAINS), r.pick(DOMAINS), r.range(1, 254), r.next_u64() >> 24
        );
    }
    let from = person(r);
    let _ = write!(h, "From: {from}\r\n");
    let to: Vec<String> = (0..r.range(1, 3)).map(|_| person(r)).collect();
    let _ = write!(h, "To: {}\r\n", to.join(",\r\n "));
    if r.chance(0.3) {
        let cc: Vec<String> = (0..r.range(1, 4)).map(|_| person(r)).collect();
        let _ = write!(h, "Cc: {}\r\n", cc.join(",\r\n "));
    }
    let mut subj = subject(r);
    if index > 0 && r.chance(0.35) {
        let parent = index - 1 - r.below(index.min(200));
        let pid = message_id(seed, parent);
        let _ = write!(h, "In-Reply-To: {pid}\r\nReferences: {pid}\r\n");
        subj = format!("Re: {subj}");
    }
    let _ = write!(h, "Subject: {subj}\r\nDate: {date}\r\n");
    let _ = write!(h, "Message-ID: {}\r\n", message_id(seed, index));
    if r.chance(0.2) {
        let _ = write!(h, "List-Id: <{}.lists.example.edu>\r\n", word(r));
    }
    let _ = write!(h, "X-Mailer: {}\r\nMIME-Version: 1.0\r\n", r.pick(MAILERS));
    h
}

fn text_part_headers(r: &mut Rng, text: &str) -> (String, String) {
    if r.chance(0.4) {
        let h = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n";
        (h.to_owned(), quoted_printable(text))
    } else {
        let cte = if text.is_ascii() { "7bit" } else { "8bit" };
        let h = format!("Content-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: {cte}\r\n");
        (h, text.to_owned())
    }
}

fn plain_part(r: &mut Rng, h: &mut String, target: usize) -> String {
    let text = text_of_size(r, target.saturating_sub(h.len() + 200).max(512));
    let (ph, body) = text_part_headers(r, &text);
    h.push_str(&ph);
    body
}

fn alternative(r: &mut Rng, h: &mut String, boundary: &str, half: usize) -> String {
    let _ = write!(
        h,
        "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n"
    );
    let text = text_of_size(r, half.saturating_sub(h.len()).max(400));
    let (ph, body) = text_part_headers(r, &text);
    let html: String = text
        .split("\r\n\r\n")
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>\r\n", p.replace("\r\n", " ")))
        .collect();
    format!(
        "This is a multi-part message in MIME format.\r\n--{boundary}\r\n{ph}\r\n{body}\r\n--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<html><body>\r\n{html}</body></html>\r\n--{boundary}--\r\n"
    )
}

fn mixed(r: &mut Rng, h: &mut String, boundary: &str, target: usize) -> String {
    let _ = write!(
        h,
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n"
    );
    let text = text_of_size(r, (target / 4).max(400));
    let (ph, body) = text_part_headers(r, &text);
    let mut out = format!("--{boundary}\r\n{ph}\r\n{body}\r\n");
    let n = r.range(1, 2) as usize;
    let room = target.saturating_sub(h.len() + out.len() + 400);
    let per = (room * 3 / 4 / n).max(256);
    for _ in 0..n {
        let (ct, name) = *r.pick(&[
            ("application/pdf", "report.pdf"),
            ("image/png", "photo.png"),
            ("application/octet-stream", "data.bin"),
            ("application/zip", "archive.zip"),
        ]);
        let blob: Vec<u8> = (0..per).map(|_| r.next_u64() as u8).collect();
        let _ = write!(
            out,
            "--{boundary}\r\nContent-Type: {ct}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            base64_lines(&blob)
        );
    }
    let _ = write!(out, "--{boundary}--\r\n");
    out
}

fn forward(
    r: &mut Rng,
    h: &mut String,
    boundary: &str,
    seed: u64,
    index: u64,
    target: usize,
) -> String {
    let _ = write!(
        h,
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n"
    );
    let intro = text_of_size(r, 300);
    let date = rfc5322_date(1_767_225_600 - r.below(4 * 365 * 86400) as i64);
    let inner_text = text_of_size(r, target.saturating_sub(h.len() + 900).max(600));
    let (from, to, subj) = (person(r), person(r), subject(r));
    format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nForwarding this, see below.\r\n\r\n{intro}\r\n--{boundary}\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subj}\r\nDate: {date}\r\nMessage-ID: <fwd{index}.{seed}@mail.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{inner_text}\r\n--{boundary}--\r\n"
    )
}

/// Messages generated once before a run, so the load generator spends its time on the protocol,
/// not on making messages: message `i` of a pool is corpus message `i mod len`.
#[derive(Debug)]
pub struct Pool {
    messages: Vec<Vec<u8>>,
}

impl Pool {
    pub fn new(seed: u64, len: u64) -> Self {
        Self {
            messages: (0..len.max(1)).map(|i| message(seed, i)).collect(),
        }
    }

    pub fn get(&self, index: u64) -> &[u8] {
        &self.messages[(index % self.messages.len() as u64) as usize]
    }
}

/// A copy of `msg` whose Message-ID is made unique with `tag` (`<tag.INDEX.…>`). LMTP servers
/// may suppress duplicate deliveries by Message-ID (Cyrus's `duplicatesuppression` does by
/// default), so every delivery must carry a new one or it would be discarded, not stored.
pub fn with_unique_id(msg: &[u8], tag: &str) -> Vec<u8> {
    const KEY: &[u8] = b"\r\nMessage-ID: <";
    let mut out = Vec::with_capacity(msg.len() + tag.len() + 1);
    match msg.windows(KEY.len()).position(|w| w == KEY) {
        Some(at) => {
            out.extend_from_slice(&msg[..at + KEY.len()]);
            out.extend_from_slice(tag.as_bytes());
            out.push(b'.');
            out.extend_from_slice(&msg[at + KEY.len()..]);
        }
        None => out.extend_from_slice(msg),
    }
    out
}

/// A tag that differs between runs and deliveries: run start (ns since the epoch) and a counter.
pub fn delivery_tag(run: u128, n: u64) -> String {
    format!("{run:x}-{n}")
}

/// The flags message `index` carries when a workload appends it with "realistic" flags:
/// about 60% seen, 8% flagged, 10% answered.
pub fn flags_for(seed: u64, index: u64) -> Vec<&'static str> {
    let mut r = stream(seed, 3, index);
    let mut f = Vec::new();
    if r.chance(0.6) {
        f.push("\\Seen");
    }
    if r.chance(0.08) {
        f.push("\\Flagged");
    }
    if r.chance(0.10) {
        f.push("\\Answered");
    }
    f
}

/// Writes messages `0..count` as an mbox (LF line ends, `>From ` quoting) for other tools.
pub fn write_mbox(seed: u64, count: u64, out: &mut impl std::io::Write) -> std::io::Result<()> {
    for i in 0..count {
        let msg = message(seed, i);
        out.write_all(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n")?;
        let text = String::from_utf8_lossy(&msg).replace("\r\n", "\n");
        for line in text.split_inclusive('\n') {
            if line.trim_start_matches('>').starts_with("From ") {
                out.write_all(b">")?;
            }
            out.write_all(line.as_bytes())?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "corpus_tests.rs"]
mod tests;
