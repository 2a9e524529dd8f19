//! What the interpreter costs per delivery: the benchmark's 50-rule script
//! (`crates/darius-bench/scripts/sieve-50-rules.sieve`) run over messages shaped like the
//! load generator's corpus — one that no rule matches (all 50 tests, four body scans), one
//! a late rule files, and a multipart one with an HTML alternative and an attachment — from
//! the message bytes to the outcome, as delivery does it (view built, program run).

use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use sieve::interp::{self, Envelope, Host, IncludeLocation, MessageView, Program, RunLimits};
use sieve::Capabilities;

const SCRIPT: &[u8] = include_bytes!("../../darius-bench/scripts/sieve-50-rules.sieve");

struct BenchHost;

impl Host for BenchHost {
    fn mailbox_exists(&self, _: &str) -> bool {
        true
    }
    fn special_use_exists(&self, _: Option<&str>, _: &[String]) -> bool {
        false
    }
    fn mailbox_id_exists(&self, _: &str) -> bool {
        false
    }
    fn duplicate_seen(&self, _: &str, _: u64) -> bool {
        false
    }
    fn include(&self, _: IncludeLocation, _: &str) -> Result<Option<Arc<Program>>, String> {
        Ok(None)
    }
    fn environment(&self, _: &str) -> Option<String> {
        None
    }
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::UNIX_EPOCH
    }
}

fn text(words: usize) -> String {
    const W: [&str; 12] = [
        "meeting", "schedule", "review", "the", "draft", "attached", "please", "budget", "quarter",
        "notes", "from", "team",
    ];
    let mut s = String::new();
    for i in 0..words {
        s.push_str(W[(i * 7 + i / 5) % W.len()]);
        s.push(if i % 12 == 11 { '\n' } else { ' ' });
    }
    s.replace('\n', "\r\n")
}

fn header(subject: &str, extra: &str) -> String {
    format!(
        "Return-Path: <carol@example.com>\r\nReceived: from mx.example.com by mail.example.org\r\n \
         with ESMTP id 4F2A1; Tue, 05 Mar 2024 10:11:12 +0100\r\n\
         From: Carol Example <carol@example.com>\r\nTo: Bob <user7@example.org>\r\n\
         Subject: {subject}\r\nDate: Tue, 05 Mar 2024 10:11:12 +0100\r\n\
         Message-ID: <bench-{subject_len}@example.com>\r\nX-Mailer: Darius bench\r\n{extra}",
        subject_len = subject.len()
    )
}

fn messages() -> Vec<(&'static str, Vec<u8>)> {
    let plain = format!(
        "{}Content-Type: text/plain; charset=utf-8\r\n\r\n{}",
        header("notes from the quarter review", ""),
        text(600)
    );
    let filed = format!(
        "{}Content-Type: text/plain\r\n\r\n{}",
        header(
            "Invoice 2024-0042 for March",
            "List-Id: <billing.example.com>\r\n"
        ),
        text(300)
    );
    let multipart = format!(
        "{}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n\
         --b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{t}\r\n\
         --b2\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>{t}</p>\r\n\
         --b2--\r\n--b1\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{a}\r\n--b1--\r\n",
        header("draft budget", ""),
        t = text(400),
        a = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n".repeat(200)
    );
    vec![
        ("no_rule_matches", plain.into_bytes()),
        ("late_rule_files", filed.into_bytes()),
        ("multipart_no_match", multipart.into_bytes()),
    ]
}

fn bench_execute(c: &mut Criterion) {
    let program =
        Program::compile(SCRIPT, &Capabilities::all()).expect("the bench script compiles");
    let limits = RunLimits::default();
    let envelope = Envelope {
        from: "carol@example.com",
        to: "user7@example.org",
        auth: None,
    };
    let mut group = c.benchmark_group("sieve_50_rules");
    for (name, raw) in messages() {
        let size = raw.len() as u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut view = MessageView::new(black_box(&raw), size);
                interp::execute(&program, &mut view, &envelope, &BenchHost, &limits)
            })
        });
    }
    group.finish();
    c.bench_function("sieve_compile_50_rules", |b| {
        b.iter(|| Program::compile(black_box(SCRIPT), &Capabilities::all()))
    });
}

criterion_group!(benches, bench_execute);
criterion_main!(benches);
