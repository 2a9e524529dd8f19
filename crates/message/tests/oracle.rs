//! Differential test against Dovecot 2.3 and Cyrus 3.6 (../shared/corpus/mime, see its
//! README.md): RFC822.SIZE, ENVELOPE, BODYSTRUCTURE, BODY, BINARY.SIZE[1], and the 1.MIME and
//! TEXT<0.200> spans must equal what both servers agree on, up to case and literal-vs-quoted. Where they disagree, the table
//! `DISAGREEMENTS` says which answer we give and why.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use std::io::Write as _;
use std::path::{Path, PathBuf};

use message::{decode_body, scan};
use serde_json::Value;

const ITEMS: [&str; 7] = [
    "RFC822.SIZE",
    "ENVELOPE",
    "BODYSTRUCTURE",
    "BODY",
    "BINARY.SIZE[1]",
    // Spans: the part tree must give the same MIME header and TEXT octets.
    "BODY.PEEK[1.MIME]",
    "BODY.PEEK[TEXT]<0.200>",
];

/// Whose answer we follow where the servers differ.
enum Follow {
    Dovecot,
    Cyrus,
    /// Our own answer, normalised form (lower case, all strings quoted).
    Own(&'static str),
}

/// Cases the store never hands to the scanner.
const SKIPPED: &[(&str, &str)] = &[
    (
        "empty-message",
        "both servers refuse a 0-octet APPEND; so does our store",
    ),
    (
        "nul-byte-in-body",
        "the store rejects NUL octets (as Cyrus does) before scanning",
    ),
];

/// (case, item, whom we follow, why).
const DISAGREEMENTS: &[(&str, &str, Follow, &str)] = &[
    ("content-type-garbage", "BODYSTRUCTURE", Follow::Cyrus,
     "RFC 2045 §5.2: an invalid Content-Type means text/plain; charset=us-ascii. Dovecot sends empty type strings."),
    ("content-type-garbage", "BODY", Follow::Cyrus, "as BODYSTRUCTURE (RFC 2045 §5.2)"),
    ("duplicate-headers", "BODYSTRUCTURE", Follow::Cyrus,
     "two Content-Type fields; RFC 2045 allows one and no RFC says which wins. We let the last win, like Cyrus, and like both servers do for Subject/Message-ID in ENVELOPE."),
    ("duplicate-headers", "BODY", Follow::Cyrus, "as BODYSTRUCTURE: last field wins"),
    ("header-tabs", "ENVELOPE", Follow::Cyrus,
     "RFC 5322 §2.2.3 unfolding removes only CRLF and keeps the TABs; Dovecot rewrites them to spaces."),
    ("rfc2047-adjacent-encoded-words", "ENVELOPE", Follow::Cyrus,
     "RFC 5322 §2.2.3 unfolding keeps the folding TAB; Dovecot rewrites it to a space."),
    ("utf8-raw-subject-from", "ENVELOPE", Follow::Dovecot,
     "Cyrus munged the 8-bit header octets to 'X' when storing (munge8bit); we store and return them as sent, in literals (RFC 3501 §4.3)."),
    ("address-invalid-garbage", "ENVELOPE", Follow::Cyrus,
     "no RFC specifies error recovery; we follow Cyrus (repair an unclosed '<', drop empty list elements, 'unspecified-domain' for a missing host), never a NIL host that a client would read as a group marker."),
    ("message-rfc822-base64-encoded", "BODYSTRUCTURE", Follow::Cyrus,
     "RFC 2046 §5.1.1: the CRLF before the delimiter belongs to the delimiter, so the part is 388 octets, 4 lines (Dovecot counts the CRLF)."),
    ("message-rfc822-base64-encoded", "BODY", Follow::Cyrus, "as BODYSTRUCTURE (RFC 2046 §5.1.1)"),
    ("message-rfc822-base64-encoded", "BINARY.SIZE[1]", Follow::Own("283"),
     "RFC 3516 §4.2 / RFC 9051 §6.4.5: BINARY is the content-transfer-decoded body, and the part says base64; decoding gives 283 octets. Dovecot's 0 contradicts its BINARY[1]; Cyrus does not decode."),
    ("base64-bad-padding", "BINARY.SIZE[1]", Follow::Cyrus,
     "RFC 2045 §6.8: decoders ignore what is not in the alphabet; Dovecot refuses with [PARSE], which RFC 3516 does not define for known encodings."),
    ("base64-garbage-chars", "BINARY.SIZE[1]", Follow::Cyrus,
     "RFC 2045 §6.8: characters outside the base64 alphabet are ignored, as Cyrus does."),
    ("multipart-missing-boundary-param", "BODYSTRUCTURE",
     Follow::Own(r#"("text" "plain" ("charset" "us-ascii") nil nil "7bit" 41 5 nil nil nil nil)"#),
     "a multipart without its mandatory boundary (RFC 2046 §5.1.1) is an invalid Content-Type, so RFC 2045 §5.2 makes it text/plain; the body is then the whole 41-octet, 5-line body (Cyrus's size 0 contradicts body-fld-octets, Dovecot invents an empty part)."),
    ("multipart-missing-boundary-param", "BODY",
     Follow::Own(r#"("text" "plain" ("charset" "us-ascii") nil nil "7bit" 41 5)"#),
     "as BODYSTRUCTURE"),
    ("multipart-missing-boundary-param", "BINARY.SIZE[1]", Follow::Own("41"),
     "as BODYSTRUCTURE: part 1 is the whole 7bit body"),
    ("utf8-raw-subject-from", "BODY.PEEK[1.MIME]", Follow::Dovecot,
     "Cyrus munged 8-bit header octets (munge8bit); we keep the stored octets."),
    ("message-rfc822-empty", "BODY.PEEK[1.MIME]", Follow::Dovecot,
     "RFC 2046 §5.1.1 gives the CRLF to the delimiter, so the part header has no blank line; RFC 3501 §6.4.5 then sends no blank line (Cyrus adds one)."),
    ("multipart-missing-boundary-param", "BODY.PEEK[1.MIME]", Follow::Cyrus,
     "we treat the message as single-part text/plain (see BODYSTRUCTURE), so part 1's MIME header is the message header, as for any single-part message."),
    ("multipart-missing-boundary-param", "BODY.PEEK[TEXT]<0.200>", Follow::Dovecot,
     "RFC 3501 §6.4.5: TEXT is the body after the header whatever the MIME parse; Cyrus returns nothing."),
    ("rfc2231-out-of-order-and-gap", "BODYSTRUCTURE", Follow::Dovecot,
     "RFC 2231 §3 needs segments numbered 0..n; with a gap there is no value to join, so we leave the segments raw (sorted) as Dovecot does; Cyrus renames only *0."),
];

/// Cases one server refused at APPEND; we compare with the one that stored the message.
const ONE_SIDED: &[(&str, &str)] = &[
    ("no-blank-line-separator", "Cyrus refused the header; Dovecot treats the whole message as header (RFC 3501 §6.4.5 'no body and no blank line')."),
    ("whitespace-before-colon", "Cyrus refused the header; RFC 5322 §4.5 obs-optional allows WSP before the colon and Dovecot accepts it."),
    ("mixed-crlf-and-lf", "Cyrus refuses bare LF; the store converts LF to CRLF before scanning, as Dovecot did."),
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/mime")
}

#[test]
fn oracle_agreement() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        // Written to the stderr handle, which the test harness does not capture, so the skip
        // shows in a plain `cargo test` run (docs/TESTING.md).
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED oracle_agreement: oracle corpus {} not found",
            dir.display()
        );
        return;
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort();
    let (mut matched, mut compared, mut failures) = (0, 0, Vec::new());
    for name in &names {
        if let Some((_, why)) = SKIPPED.iter().find(|(n, _)| n == name) {
            println!("skip {name}: {why}");
            continue;
        }
        let json: Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.json"))).unwrap())
                .unwrap();
        let raw = crlf(&std::fs::read(dir.join(format!("{name}.eml"))).unwrap());
        let ours = our_answers(&raw);
        for (item, ours) in ITEMS.iter().zip(&ours) {
            let Some(want) = expected(name, item, &json) else {
                continue;
            };
            compared += 1;
            if normalise(ours.as_bytes()) == want {
                matched += 1;
            } else {
                failures.push(format!(
                    "{name} {item}\n  ours: {}\n  want: {}",
                    ours,
                    render(&want)
                ));
            }
        }
    }
    println!("oracle: {matched}/{compared} items match");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(compared > 300, "too few comparisons: {compared}");
}

/// The store converts bare LF to CRLF before scanning.
fn crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 64);
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn our_answers(raw: &[u8]) -> [String; 7] {
    let cache = scan(raw);
    let binary_size = match cache.part(&[1]).map(|p| decode_body(raw, p)) {
        Some(Ok(body)) => body.len().to_string(),
        Some(Err(e)) => format!("<REJECTED> {e}"),
        None => "<REJECTED> no part 1".into(),
    };
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let literal = |b: &[u8]| format!("{{{}}}\r\n{}", b.len(), String::from_utf8_lossy(b));
    let span = |off: u64, len: u64| &raw[off as usize..(off + len) as usize];
    let mime = match cache.part(&[1]) {
        Some(p) => literal(span(p.header_offset, p.header_len)),
        None => "<REJECTED> no part 1".into(),
    };
    let root = cache.part(&[]).unwrap();
    let text = span(root.body_offset, root.body_len.min(200));
    [
        cache.size().to_string(),
        s(cache.envelope()),
        s(cache.bodystructure()),
        s(cache.body()),
        binary_size,
        mime,
        literal(text),
    ]
}

/// The normalised value we must produce, or None when the item is not compared.
fn expected(name: &str, item: &str, json: &Value) -> Option<Vec<Tok>> {
    let get = |server: &str| json[server][item].as_str().map(str::to_owned);
    let (dovecot, cyrus) = (get("dovecot"), get("cyrus"));
    if let Some((_, _, follow, _why)) = DISAGREEMENTS
        .iter()
        .find(|(n, i, _, _)| *n == name && *i == item)
    {
        return Some(match follow {
            Follow::Dovecot => normalise(dovecot?.as_bytes()),
            Follow::Cyrus => normalise(cyrus?.as_bytes()),
            Follow::Own(v) => normalise(v.as_bytes()),
        });
    }
    if ONE_SIDED.iter().any(|(n, _)| *n == name) {
        return Some(normalise(dovecot?.as_bytes()));
    }
    let (d, c) = (normalise(dovecot?.as_bytes()), normalise(cyrus?.as_bytes()));
    let level = json["agreement_level"][item].as_str().unwrap_or("");
    if d == c {
        Some(d)
    } else if level == "default-charset-only" {
        // RFC 2045 §5.2: text without a charset is us-ascii; we send it as Dovecot does.
        Some(d)
    } else {
        panic!("{name} {item}: servers disagree ({level}) and DISAGREEMENTS has no entry");
    }
}

/// IMAP value tokens with quoting and case erased.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    Atom(Vec<u8>),
    Str(Vec<u8>),
}

fn normalise(v: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b' ' => i += 1,
            b'(' => {
                out.push(Tok::Open);
                i += 1;
            }
            b')' => {
                out.push(Tok::Close);
                i += 1;
            }
            b'"' => {
                let mut s = Vec::new();
                i += 1;
                while i < v.len() && v[i] != b'"' {
                    if v[i] == b'\\' {
                        i += 1;
                    }
                    s.push(v[i]);
                    i += 1;
                }
                i += 1;
                out.push(Tok::Str(s.to_ascii_lowercase()));
            }
            b'{' | b'~' if v[i..].contains(&b'}') => {
                let close = i + v[i..].iter().position(|&b| b == b'}').unwrap();
                let open = i + v[i..].iter().position(|&b| b == b'{').unwrap();
                let n: usize = std::str::from_utf8(&v[open + 1..close])
                    .unwrap()
                    .parse()
                    .unwrap();
                let start = close + 3; // "}\r\n"
                out.push(Tok::Str(v[start..start + n].to_ascii_lowercase()));
                i = start + n;
            }
            _ => {
                let end = v[i..]
                    .iter()
                    .position(|&b| b == b' ' || b == b'(' || b == b')')
                    .map_or(v.len(), |p| i + p);
                out.push(Tok::Atom(v[i..end].to_ascii_lowercase()));
                i = end;
            }
        }
    }
    out
}

fn render(toks: &[Tok]) -> String {
    let mut s = String::new();
    for t in toks {
        match t {
            Tok::Open => s.push('('),
            Tok::Close => s.push_str(") "),
            Tok::Atom(a) => s.push_str(&format!("{} ", String::from_utf8_lossy(a))),
            Tok::Str(a) => s.push_str(&format!("{:?} ", String::from_utf8_lossy(a))),
        }
    }
    s
}
