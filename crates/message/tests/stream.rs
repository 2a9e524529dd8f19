//! `StreamScan` (the message fed in pieces, never held whole) must give exactly what `scan`
//! gives for the whole message: the same cache bytes (ENVELOPE, BODY, BODYSTRUCTURE, every
//! part's offsets, sizes and line counts) and the same top-level header section, whatever the
//! pieces. Checked on both corpora and on random MIME messages built to stress what the
//! streaming scanner leaves out: delimiter-like lines of unknown, prefix and later-declared
//! boundaries, nested message/rfc822, multipart/digest defaults, header sections ended by a
//! delimiter, bare LF, CR at piece ends, missing close delimiters, unterminated last lines.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use std::path::{Path, PathBuf};

use message::{scan, StreamScan};
use proptest::prelude::*;

fn streamed(raw: &[u8], cuts: &[usize]) -> message::Scanned {
    let mut s = StreamScan::new();
    let mut at = 0;
    for &c in cuts {
        let c = c.min(raw.len()).max(at);
        s.feed(&raw[at..c]);
        at = c;
    }
    s.feed(&raw[at..]);
    s.finish()
}

fn assert_same(raw: &[u8], cuts: &[usize], what: &str) {
    let whole = scan(raw);
    let got = streamed(raw, cuts);
    assert!(got.complete, "{what}: structure within the budget");
    assert_eq!(got.cache, whole, "{what}: cuts {cuts:?}");
    assert_eq!(got.cache.to_bytes(), whole.to_bytes(), "{what}");
    let header_len = whole.header_len() as usize;
    assert!(got.header_complete, "{what}");
    assert_eq!(got.header, &raw[..header_len], "{what}: header section");
}

fn every_cut_pattern(raw: &[u8], what: &str) {
    for step in [1, 2, 3, 7, 64, 4096] {
        let cuts: Vec<usize> = (step..raw.len()).step_by(step).collect();
        assert_same(raw, &cuts, &format!("{what} in pieces of {step}"));
    }
    assert_same(raw, &[], what);
}

fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    out.sort();
    out
}

#[test]
fn both_corpora_scan_the_same_streamed() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = eml_files(&here.join("tests/corpus"));
    assert!(files.len() >= 40, "own corpus missing");
    // The shared oracle corpus lives beside the repository (or beside the worktrees).
    for shared in [
        "../../../shared/corpus/mime",
        "../../../../shared/corpus/mime",
    ] {
        files.extend(eml_files(&here.join(shared)));
    }
    for f in &files {
        let raw = std::fs::read(f).unwrap();
        every_cut_pattern(&raw, &f.display().to_string());
    }
}

/// A small xorshift generator, so a failing case is reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Boundaries that are prefixes of each other, and one that is long.
const BOUNDARIES: [&str; 5] = [
    "b",
    "b1",
    "b--x",
    "outer boundary",
    "=_long_0123456789abcdef",
];

struct Gen {
    rng: Rng,
    out: Vec<u8>,
    lf_only: bool,
}

impl Gen {
    fn eol(&mut self) {
        match self.rng.below(40) {
            _ if self.lf_only => self.out.extend_from_slice(b"\n"),
            0 | 1 => self.out.extend_from_slice(b"\n"),
            // A bare CR before the line end (the store keeps bare CRs as sent).
            2 => self.out.extend_from_slice(b"\r\r\n"),
            _ => self.out.extend_from_slice(b"\r\n"),
        }
    }
    fn line(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
        self.eol();
    }
    fn body_line(&mut self) {
        let b = self.rng.pick(&BOUNDARIES);
        let text = match self.rng.below(15) {
            // Bare CRs: inside a line, before a boundary-looking text, after a boundary.
            12 => "text\rmore\r".into(),
            13 => format!("\r--{b}"),
            14 => format!("--{b}\rjunk"),
            0 => format!("--{b}"),
            1 => format!("--{b}--"),
            2 => format!("--{b} padding"),
            3 => format!("--{b}x"),
            4 => String::new(),
            5 => "-- ".into(),
            6 => "x".repeat(self.rng.below(3000) as usize),
            7 => "Content-Type: multipart/mixed; boundary=b".into(),
            8 => "From: someone rfc822 digest".into(),
            _ => format!("text {}", self.rng.next()),
        };
        self.line(&text);
    }
    fn header(&mut self, ct: Option<String>) {
        for _ in 0..self.rng.below(3) {
            let name = self.rng.pick(&["Subject", "From", "X-Junk", "Content-ID"]);
            let value = format!("{name}: value {}", self.rng.below(1000));
            self.line(&value);
            if self.rng.below(4) == 0 {
                self.line("\tfolded rfc822 continuation");
            }
        }
        if let Some(ct) = ct {
            self.line(&format!("Content-Type: {ct}"));
        }
        if self.rng.below(15) != 0 {
            self.eol(); // the blank line; sometimes missing
        }
    }
    fn entity(&mut self, depth: u32) {
        let kind = if depth > 3 { 9 } else { self.rng.below(10) };
        match kind {
            0..=3 => {
                let b = self.rng.pick(&BOUNDARIES);
                let sub = self.rng.pick(&["mixed", "alternative", "digest"]);
                let quoted = if b.contains(' ') || b.contains('=') {
                    format!("\"{b}\"")
                } else {
                    b.to_string()
                };
                self.header(Some(format!("multipart/{sub}; boundary={quoted}")));
                self.multipart_body(b, depth);
            }
            4 | 5 => {
                self.header(Some("message/rfc822".into()));
                self.entity(depth + 1);
            }
            6 => {
                self.header(None);
                self.entity(depth + 1);
            }
            _ => {
                let ct = ["text/plain; charset=utf-8".to_string(), "text/html".into()];
                let ct = self
                    .rng
                    .below(3)
                    .try_into()
                    .ok()
                    .and_then(|i: usize| ct.get(i).cloned());
                self.header(ct);
                for _ in 0..self.rng.below(6) {
                    self.body_line();
                }
            }
        }
    }
    fn multipart_body(&mut self, b: &str, depth: u32) {
        for _ in 0..self.rng.below(3) {
            self.body_line();
        }
        for _ in 0..1 + self.rng.below(3) {
            let pad = if self.rng.below(4) == 0 { " \t" } else { "" };
            self.line(&format!("--{b}{pad}"));
            self.entity(depth + 1);
        }
        if self.rng.below(5) != 0 {
            self.line(&format!("--{b}--"));
        }
        for _ in 0..self.rng.below(3) {
            self.body_line();
        }
    }
}

fn random_message(seed: u64) -> Vec<u8> {
    let mut g = Gen {
        rng: Rng(seed | 1),
        out: Vec::new(),
        lf_only: seed.is_multiple_of(7),
    };
    g.entity(0);
    if seed.is_multiple_of(5) {
        // An unterminated last line.
        while g.out.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            g.out.pop();
        }
        g.out.extend_from_slice(b"tail");
    }
    g.out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn random_messages_scan_the_same_streamed(
        seed in any::<u64>(),
        cuts in proptest::collection::vec(0usize..4000, 0..12),
    ) {
        let raw = random_message(seed);
        let mut cuts = cuts;
        cuts.sort_unstable();
        assert_same(&raw, &cuts, &format!("seed {seed}"));
    }
}

#[test]
fn structure_past_the_budget_is_ignored_but_memory_stays_bounded_and_sizes_right() {
    // A header section larger than the budget, then a body: fields past the budget are not
    // read, but the message's size, header length and line count are still exact.
    let mut raw = Vec::new();
    let filler = format!("X-Filler: {}\r\n", "y".repeat(990));
    while raw.len() < message::STREAM_SCAN_BUDGET + 4096 {
        raw.extend_from_slice(filler.as_bytes());
    }
    raw.extend_from_slice(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n");
    let header_len = raw.len();
    raw.extend_from_slice(b"--b\r\n\r\npart\r\n--b--\r\n");
    let got = streamed(&raw, &[100, 5000, 70_000]);
    assert!(!got.complete && !got.header_complete);
    assert!(got.header.len() <= message::STREAM_SCAN_BUDGET);
    assert_eq!(got.header, &raw[..got.header.len()], "a true prefix");
    assert_eq!(got.cache.size(), raw.len() as u64);
    assert_eq!(got.cache.header_len() as usize, header_len);
    let whole = scan(&raw);
    assert_eq!(
        got.cache.part(&[]).unwrap().body_lines,
        whole.part(&[]).unwrap().body_lines
    );
}

#[test]
fn a_large_plain_message_keeps_only_its_header() {
    let mut s = StreamScan::new();
    s.feed(b"Subject: big\r\n\r\n");
    let line = [b'a'; 1000];
    let mut total = 16;
    for _ in 0..50_000 {
        s.feed(&line);
        s.feed(b"\r\n");
        total += 1002;
    }
    let got = s.finish();
    assert!(got.complete);
    assert_eq!(got.header, b"Subject: big\r\n\r\n");
    assert_eq!(got.cache.size(), total);
    assert_eq!(got.cache.part(&[]).unwrap().body_lines, 50_000);
}
