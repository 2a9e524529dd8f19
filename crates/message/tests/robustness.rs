//! Bad input (docs/TESTING.md): `scan` never panics and always yields well-formed IMAP values,
//! `from_bytes(to_bytes(x)) == x`, and `from_bytes` refuses garbage without panicking.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use message::{decode_body, scan, text_for_search, MessageCache, Part};
use proptest::prelude::*;

/// Checks `v` is one balanced IMAP value: parentheses match, literals are complete, quoted
/// strings are closed and 7-bit.
fn well_formed(v: &[u8]) -> Result<(), String> {
    let (mut depth, mut i) = (0i64, 0usize);
    while i < v.len() {
        match v[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced ')' at {i}"));
                }
            }
            b'"' => {
                i += 1;
                while i < v.len() && v[i] != b'"' {
                    if v[i] == b'\\' {
                        i += 1;
                    }
                    if i >= v.len() || v[i] >= 0x80 || v[i] == b'\r' || v[i] == b'\n' {
                        return Err(format!("bad quoted string at {i}"));
                    }
                    i += 1;
                }
                if i >= v.len() {
                    return Err("unterminated quoted string".into());
                }
            }
            b'{' => {
                let close = v[i..]
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or("bad literal")?
                    + i;
                let n: usize = std::str::from_utf8(&v[i + 1..close])
                    .unwrap()
                    .parse()
                    .unwrap();
                if v.get(close + 1..close + 3) != Some(b"\r\n") || close + 3 + n > v.len() {
                    return Err(format!("truncated literal at {i}"));
                }
                i = close + 2 + n;
            }
            _ => {}
        }
        i += 1;
    }
    if depth == 0 {
        Ok(())
    } else {
        Err(format!("unbalanced: depth {depth} at end"))
    }
}

fn all_parts(p: &Part, out: &mut Vec<Part>) {
    out.push(p.clone());
    for c in &p.children {
        all_parts(c, out);
    }
    if let Some(m) = &p.message {
        all_parts(m, out);
    }
}

fn check(raw: &[u8]) {
    let cache = scan(raw);
    for v in [cache.envelope(), cache.body(), cache.bodystructure()] {
        if let Err(e) = well_formed(v) {
            panic!(
                "{e} in {:?} for input {:?}",
                String::from_utf8_lossy(v),
                raw
            );
        }
    }
    assert_eq!(MessageCache::from_bytes(&cache.to_bytes()).unwrap(), cache);
    assert_eq!(cache.size(), raw.len() as u64);
    let mut parts = Vec::new();
    all_parts(cache.part(&[]).unwrap(), &mut parts);
    for p in &parts {
        assert!(p.header_offset + p.header_len <= raw.len() as u64);
        assert!(p.body_offset + p.body_len <= raw.len() as u64);
        let _ = decode_body(raw, p);
    }
    for section in [&[1u32][..], &[1, 1], &[2, 1, 3], &[0], &[u32::MAX]] {
        let _ = cache.part(section);
    }
    let _: Vec<String> = text_for_search(raw, &cache).collect();
}

/// Byte soup biased towards MIME syntax, so mutations reach the interesting paths.
fn mime_soup() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        &b"\r\n"[..],
        b"\n",
        b"\r",
        b"--B\r",
        b"--B",
        b"--B--",
        b"Content-Type: multipart/mixed; boundary=B\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Type: multipart/digest; boundary=\"B\"\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Disposition: attachment; filename*0*=x; filename*1=y\r\n",
        b"From: \"a\\\" b\" <a@b>, g: c@d;\r\n",
        b"To: <@r:x@y\r\n",
        b"Subject: =?utf-8?q?x?=\r\n",
        b"(((",
        b"\"",
        b"\xc3\xbc",
        b"\xff",
        b" \t",
        b":",
        b";",
    ]);
    prop::collection::vec(
        prop_oneof![
            pieces.prop_map(<[u8]>::to_vec),
            prop::collection::vec(any::<u8>(), 0..8)
        ],
        0..60,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn scan_never_panics_on_random_bytes(raw in prop::collection::vec(any::<u8>(), 0..3000)) {
        check(&raw);
    }

    #[test]
    fn scan_never_panics_on_mime_soup(raw in mime_soup()) {
        check(&raw);
    }

    #[test]
    fn from_bytes_never_panics_on_garbage(b in prop::collection::vec(any::<u8>(), 0..400)) {
        let r = MessageCache::from_bytes(&b);
        if b.first() != Some(&1) {
            prop_assert!(r.is_err());
        }
    }

    #[test]
    fn from_bytes_never_panics_on_mutated_records(raw in mime_soup(), flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
        let mut b = scan(&raw).to_bytes();
        for (i, x) in flips {
            let n = b.len();
            b[i % n] ^= x;
        }
        let _ = MessageCache::from_bytes(&b);
        let full = scan(&raw).to_bytes();
        let cut = cut % full.len();
        prop_assert!(MessageCache::from_bytes(&full[..cut]).is_err());
    }
}

#[test]
fn from_bytes_refuses_obvious_garbage() {
    assert!(MessageCache::from_bytes(b"").is_err());
    assert!(MessageCache::from_bytes(b"\x01").is_err());
    assert!(MessageCache::from_bytes(b"\x02anything").is_err());
    assert!(MessageCache::from_bytes(&[
        1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
    ])
    .is_err());
    let mut trailing = scan(b"Subject: x\r\n\r\nbody\r\n").to_bytes();
    trailing.push(0);
    assert!(MessageCache::from_bytes(&trailing).is_err());
}

#[test]
fn mutated_corpus_messages_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("eml") {
            continue;
        }
        let orig = std::fs::read(&path).unwrap();
        check(&orig);
        for _ in 0..40 {
            let mut raw = orig.clone();
            for _ in 0..(next() % 8 + 1) {
                let at = (next() as usize) % (raw.len() + 1);
                match next() % 4 {
                    0 if !raw.is_empty() => {
                        let i = at.min(raw.len() - 1);
                        raw[i] = next() as u8;
                    }
                    1 => raw.insert(at, b"\r\n--"[(next() % 4) as usize]),
                    2 => raw.truncate(at),
                    _ => {
                        let end = (at + (next() % 64) as usize).min(raw.len());
                        raw.drain(at..end);
                    }
                }
            }
            check(&raw);
        }
    }
}

#[test]
fn ten_thousand_nested_multiparts_stay_bounded() {
    let mut raw = Vec::new();
    for i in 0..10_000 {
        raw.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes(),
        );
    }
    raw.extend_from_slice(b"\r\nleaf\r\n");
    check(&raw);
    let cache = scan(&raw);
    let mut depth = 0;
    let mut p = cache.part(&[]).unwrap();
    while let Some(c) = p.children.first() {
        p = c;
        depth += 1;
    }
    assert_eq!(depth, message::MAX_DEPTH);
    assert_eq!(p.content_type, "TEXT");
}

#[test]
fn bare_lf_messages_scan_like_crlf_ones() {
    let raw = b"Subject: lf\nContent-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: text/plain\n\none\n--X\n\ntwo\n--X--\n";
    let cache = scan(raw);
    assert_eq!(cache.header_len(), 12 + 42 + 1);
    let p1 = cache.part(&[1]).unwrap();
    assert_eq!((p1.body_len, p1.body_lines), (3, 0));
    let p2 = cache.part(&[2]).unwrap();
    assert_eq!(
        &raw[p2.body_offset as usize..][..p2.body_len as usize],
        b"two"
    );
}

#[test]
fn part_count_is_capped() {
    let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
    for _ in 0..25_000 {
        raw.extend_from_slice(b"--b\r\n\r\nx\r\n");
    }
    raw.extend_from_slice(b"--b--\r\n");
    let cache = scan(&raw);
    let root = cache.part(&[]).unwrap();
    assert_eq!(root.children.len(), message::MAX_PARTS - 1);
    let last = root.children.last().unwrap();
    // Delimiters past the budget (the close one too) are content of the last part.
    assert_eq!(last.body_offset + last.body_len, raw.len() as u64);
    check(&raw);
}

#[test]
fn many_parameters_stay_linear() {
    let mut ct = b"Content-Type: text/plain".to_vec();
    for i in 0..50_000 {
        ct.extend_from_slice(format!("; p{i}*0=a; q*{i}=b").as_bytes());
    }
    ct.extend_from_slice(b"\r\n\r\nbody\r\n");
    let start = std::time::Instant::now();
    let cache = scan(&ct);
    assert!(cache.bodystructure().starts_with(b"(\"TEXT\" \"PLAIN\""));
    // Generous bound: a quadratic join would take minutes here.
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}
