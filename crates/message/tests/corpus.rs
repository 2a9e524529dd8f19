//! Our own hand-specified corpus (tests/corpus/NAME.eml + NAME.expect; see generate.py there
//! for how each expectation was written): ENVELOPE, BODYSTRUCTURE and BODY must match exactly,
//! and `part S: LEN LINES` lines check the body span of section S.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use std::path::Path;

use message::{scan, MessageCache};

fn expectations(text: &[u8]) -> Vec<(String, Vec<u8>)> {
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|line| {
            let colon = line.iter().position(|&b| b == b':').unwrap();
            let key = String::from_utf8(line[..colon].to_vec()).unwrap();
            let value = replace(&line[colon + 2..], b"<CRLF>", b"\r\n");
            (key, value)
        })
        .collect()
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn hand_written_corpus_matches_expectations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".expect").map(str::to_owned))
        .collect();
    names.sort();
    assert!(names.len() >= 40, "corpus has only {} cases", names.len());
    let mut failures = Vec::new();
    for name in &names {
        let raw = std::fs::read(dir.join(format!("{name}.eml"))).unwrap();
        let expect = std::fs::read(dir.join(format!("{name}.expect"))).unwrap();
        let cache = scan(&raw);
        assert_eq!(
            MessageCache::from_bytes(&cache.to_bytes()).unwrap(),
            cache,
            "{name}"
        );
        for (key, want) in expectations(&expect) {
            let span;
            let ours = match key.as_str() {
                "envelope" => cache.envelope(),
                "bodystructure" => cache.bodystructure(),
                "body" => cache.body(),
                other => {
                    let section = other.strip_prefix("part ").unwrap();
                    let path: Vec<u32> = section
                        .split('.')
                        .filter(|s| !s.is_empty())
                        .map(|n| n.parse().unwrap())
                        .collect();
                    span = match cache.part(&path) {
                        Some(p) => format!("{} {}", p.body_len, p.body_lines),
                        None => "no such part".into(),
                    };
                    span.as_bytes()
                }
            };
            if ours != want.as_slice() {
                failures.push(format!(
                    "{name} {key}\n  ours: {}\n  want: {}",
                    String::from_utf8_lossy(ours),
                    String::from_utf8_lossy(&want)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
