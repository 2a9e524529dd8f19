//! FETCH memory bounds over a real socket (issue 9, item 2): repeated items are answered once,
//! message bodies stream from the file through a bounded buffer, partials read only their
//! range, and the server's peak resident memory (`VmHWM` from /proc, reset before each command)
//! grows by less than [`BOUND_KIB`] however large the answer — while every byte received equals
//! the message file on disk.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

/// Peak-RSS growth allowed for one FETCH, whatever its size: the output buffer (64 KiB), one
/// read chunk, decoder state, and the allocator's and runtime's own slack.
const BOUND_KIB: u64 = 4 * 1024;

struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

/// One untagged or tagged response: its text with each literal replaced by `{N}`, and the
/// literals, each with the item label in front of it (`BODY[]<0>`, `BINARY[2]`, …).
#[derive(Debug, Default)]
struct Response {
    text: String,
    literals: Vec<(String, Vec<u8>)>,
}

impl Client {
    fn connect(server: &common::Server) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", server.imap_port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(300)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        let mut c = Client { stream, reader };
        assert!(c.response().text.starts_with("* OK"));
        let login = c.run("a", "LOGIN alice pw-alice");
        assert!(login.last().unwrap().text.starts_with("a OK"), "{login:?}");
        let select = c.run("b", "SELECT INBOX");
        assert!(
            select.last().unwrap().text.starts_with("b OK"),
            "{select:?}"
        );
        c
    }

    /// One response, literals included.
    fn response(&mut self) -> Response {
        let mut r = Response::default();
        loop {
            let mut line = Vec::new();
            self.reader.read_until(b'\n', &mut line).unwrap();
            assert!(line.ends_with(b"\r\n"), "connection closed after {r:?}");
            let text = String::from_utf8_lossy(&line[..line.len() - 2]).into_owned();
            let Some(len) = literal_len(&text) else {
                r.text.push_str(&text);
                return r;
            };
            let open = text.rfind('{').unwrap();
            let before = text[..open].trim_end_matches('~').trim_end();
            let label = label_before(before);
            let mut data = vec![0; len];
            self.reader.read_exact(&mut data).unwrap();
            r.text.push_str(&text);
            r.literals.push((label, data));
        }
    }

    /// Sends `tag command` and returns every response up to the tagged one.
    fn run(&mut self, tag: &str, command: &str) -> Vec<Response> {
        self.stream
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .unwrap();
        let mut all = Vec::new();
        loop {
            let r = self.response();
            let done = r.text.starts_with(&format!("{tag} "));
            all.push(r);
            if done {
                return all;
            }
        }
    }

    fn append(&mut self, message: &[u8]) {
        let mut cmd = format!("p APPEND INBOX {{{}+}}\r\n", message.len()).into_bytes();
        cmd.extend_from_slice(message);
        cmd.extend_from_slice(b"\r\n");
        self.stream.write_all(&cmd).unwrap();
        loop {
            let r = self.response();
            if r.text.starts_with("p ") {
                assert!(r.text.starts_with("p OK"), "{r:?}");
                return;
            }
        }
    }
}

/// The item name at the end of `text`: back to the space or `(` outside brackets, so that
/// `BODY[1.HEADER.FIELDS (A B)]` stays whole.
fn label_before(text: &str) -> String {
    let mut depth = 0;
    let start = text
        .char_indices()
        .rev()
        .find(|&(_, ch)| {
            match ch {
                ']' => depth += 1,
                '[' => depth -= 1,
                _ => {}
            }
            depth == 0 && (ch == ' ' || ch == '(')
        })
        .map_or(0, |(i, _)| i + 1);
    text[start..].to_string()
}

/// `… {N}` or `… ~{N}` at the end of a line.
fn literal_len(line: &str) -> Option<usize> {
    let rest = line.strip_suffix('}')?;
    let open = rest.rfind('{')?;
    rest[open + 1..].parse().ok()
}

/// The tagged line must be OK; returns the FETCH responses.
fn fetched(responses: Vec<Response>, tag: &str) -> Vec<Response> {
    let (last, fetches) = responses.split_last().unwrap();
    assert!(last.text.starts_with(&format!("{tag} OK")), "{last:?}");
    fetches
        .iter()
        .filter(|r| r.text.contains(" FETCH ("))
        .map(|r| Response {
            text: r.text.clone(),
            literals: r.literals.clone(),
        })
        .collect()
}

/// A server with alice, and her INBOX's message files once appended.
fn server() -> common::Server {
    let server = common::Server::start_with("maxmessagesize: 100M\n");
    server.add_user("alice", "pw-alice");
    server
}

/// Runs `command` and returns the FETCH responses and the server's peak-RSS growth in KiB.
fn measured(server: &common::Server, c: &mut Client, command: &str) -> (Vec<Response>, u64) {
    assert!(
        server.reset_peak_memory(),
        "this kernel does not let the test reset the peak-RSS mark"
    );
    let before = server.memory_kib().rss;
    let responses = c.run("f", command);
    let peak = server.memory_kib().peak;
    (fetched(responses, "f"), peak.saturating_sub(before))
}

/// The message file of `uid` in the only mailbox that has one (alice's INBOX).
fn message_file(server: &common::Server, uid: u32) -> PathBuf {
    let name = format!("{uid}.");
    let mut stack = vec![server.dir.path().join("spool")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().and_then(|n| n.to_str()) == Some(name.as_str()) {
                return p;
            }
        }
    }
    panic!("no message file {name}");
}

/// Deterministic bytes (xorshift), every value 0–255 including NUL.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Printable text lines of 76 characters, CRLF-terminated, about `len` octets.
fn text_body(seed: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 80);
    for (i, b) in noise(seed, len).into_iter().enumerate() {
        out.push(b'a' + b % 26);
        if i % 76 == 75 {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// RFC 2045 §6.8 base64 in lines of 76 characters joined by CRLF.
fn base64_lines(data: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut flat = Vec::with_capacity(data.len() / 3 * 4 + 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            flat.push(if i <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * i) & 63) as usize]
            } else {
                b'='
            });
        }
    }
    flat.chunks(76).collect::<Vec<_>>().join(&b"\r\n"[..])
}

fn assert_same(what: &str, got: &[u8], want: &[u8]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some(at) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("{what}: first difference at octet {at}");
    }
}

fn assert_bounded(what: &str, growth_kib: u64) {
    eprintln!("{what}: peak RSS grew by {growth_kib} KiB");
    assert!(
        growth_kib < BOUND_KIB,
        "{what}: peak RSS grew by {growth_kib} KiB (bound {BOUND_KIB} KiB)"
    );
}

#[test]
fn five_thousand_identical_body_items_are_answered_once_in_bounded_memory() {
    let server = server();
    let mut c = Client::connect(&server);
    let mut message = b"From: a@example.org\r\nSubject: fifty\r\n\r\n".to_vec();
    message.extend_from_slice(&text_body(1, 50 * 1024));
    c.append(&message);
    let file = std::fs::read(message_file(&server, 1)).unwrap();
    assert_same("stored file", &file, &message);

    let items = vec!["BODY.PEEK[]"; 5000].join(" ");
    let (fetches, growth) = measured(&server, &mut c, &format!("FETCH 1 ({items})"));
    assert_eq!(fetches.len(), 1, "one FETCH response");
    let literals = &fetches[0].literals;
    assert_eq!(literals.len(), 1, "BODY[] answered once, not 5000 times");
    assert_eq!(literals[0].0, "BODY[]");
    assert_same("BODY[]", &literals[0].1, &file);
    assert_bounded("FETCH 1 (BODY.PEEK[] x5000) of 50 KB", growth);
}

#[test]
fn a_fifty_megabyte_message_streams_whole_in_partials_and_decoded() {
    let server = server();
    let mut c = Client::connect(&server);
    let attachment = noise(7, 37 * 1024 * 1024);
    let encoded = base64_lines(&attachment);
    let mut message = b"From: a@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
        Content-Type: text/plain\r\n\r\nsee attachment\r\n--b\r\n\
        Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        .to_vec();
    let part2_at = message.len();
    message.extend_from_slice(&encoded);
    message.extend_from_slice(b"\r\n--b--\r\n");
    c.append(&message);
    let file = std::fs::read(message_file(&server, 1)).unwrap();
    assert_same("stored file", &file, &message);
    let header_len = message.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    drop(message);

    let cases: [(&str, &str, &[u8]); 7] = [
        ("BODY.PEEK[]", "BODY[]", &file),
        ("RFC822", "RFC822", &file),
        (
            "BODY.PEEK[]<1000000.3000000>",
            "BODY[]<1000000>",
            &file[1_000_000..4_000_000],
        ),
        (
            "BODY.PEEK[TEXT]<40000000.99999999>",
            "BODY[TEXT]<40000000>",
            &file[header_len + 40_000_000..],
        ),
        (
            "BODY.PEEK[2]",
            "BODY[2]",
            &file[part2_at..part2_at + encoded.len()],
        ),
        ("BINARY.PEEK[2]", "BINARY[2]", &attachment),
        (
            "BINARY.PEEK[2]<5.20000000>",
            // RFC 9051 §9 `msg-att-static` has no origin after `section-binary` (RFC 3516's
            // prose does); the label stays as it was.
            "BINARY[2]",
            &attachment[5..20_000_005],
        ),
    ];
    for (item, label, want) in cases {
        let (fetches, growth) = measured(&server, &mut c, &format!("FETCH 1 ({item})"));
        assert_eq!(fetches.len(), 1, "{item}");
        let literals = &fetches[0].literals;
        assert_eq!(literals.len(), 1, "{item}: {}", fetches[0].text);
        assert_eq!(literals[0].0, label, "{item}");
        assert_same(item, &literals[0].1, want);
        if label.starts_with("BINARY") {
            // The decoded attachment holds NUL: RFC 3516 literal8.
            assert!(fetches[0].text.contains(&format!("{label} ~{{")), "{item}");
        }
        assert_bounded(&format!("FETCH 1 ({item}) of 50 MB"), growth);
    }
    let (fetches, growth) = measured(&server, &mut c, "FETCH 1 (BINARY.SIZE[2] RFC822.SIZE)");
    let size = format!("BINARY.SIZE[2] {}", attachment.len());
    assert!(fetches[0].text.contains(&size), "{}", fetches[0].text);
    assert!(fetches[0]
        .text
        .contains(&format!("RFC822.SIZE {}", file.len())));
    assert_bounded("FETCH 1 (BINARY.SIZE[2]) of 50 MB", growth);
}

#[test]
fn many_one_megabyte_messages_stream_in_one_fetch_in_bounded_memory() {
    const COUNT: u64 = 64;
    let server = server();
    let mut c = Client::connect(&server);
    for i in 0..COUNT {
        let mut message =
            format!("From: a@example.org\r\nSubject: message {i}\r\n\r\n").into_bytes();
        message.extend_from_slice(&text_body(100 + i, 1024 * 1024));
        c.append(&message);
    }
    let (fetches, growth) = measured(&server, &mut c, "FETCH 1:* (UID BODY.PEEK[])");
    assert_eq!(fetches.len(), COUNT as usize);
    for (i, f) in fetches.iter().enumerate() {
        let uid = i as u32 + 1;
        assert!(
            f.text.starts_with(&format!("* {uid} FETCH (UID {uid} ")),
            "{}",
            f.text
        );
        let file = std::fs::read(message_file(&server, uid)).unwrap();
        assert_eq!(f.literals.len(), 1);
        assert_same(&format!("message {uid}"), &f.literals[0].1, &file);
    }
    assert_bounded("FETCH 1:* (BODY.PEEK[]) of 64 x 1 MB", growth);
}

/// How many times `needle` occurs in `haystack`.
fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn repeated_items_are_answered_once_and_a_read_among_peeks_sets_seen() {
    let server = server();
    let mut c = Client::connect(&server);
    c.append(b"From: a@example.org\r\nSubject: s\r\n\r\nhello world\r\n");
    let command = "FETCH 1 (UID UID FLAGS BODY.PEEK[] BODY.PEEK[] BODY[] BODY.PEEK[]<0.5> \
                   BODY.PEEK[]<0.5> BODY.PEEK[]<1.5> BINARY.PEEK[1] BINARY.PEEK[1] \
                   BINARY.SIZE[1] BINARY.SIZE[1] RFC822.SIZE RFC822.SIZE FLAGS)";
    let (fetches, _) = measured(&server, &mut c, command);
    assert_eq!(fetches.len(), 1);
    let text = &fetches[0].text;
    assert_eq!(count(text, "UID 1"), 1, "{text}");
    assert_eq!(count(text, "FLAGS ("), 1, "{text}");
    // `\Recent` too: this session reported the message's arrival first.
    assert!(
        text.contains("FLAGS (\\Seen \\Recent)"),
        "BODY[] among the PEEKs sets \\Seen: {text}"
    );
    assert_eq!(count(text, "BODY[] "), 1, "{text}");
    assert_eq!(count(text, "BODY[]<0> \"hello\""), 0, "{text}");
    assert_eq!(count(text, "BODY[]<0> "), 1, "{text}");
    assert_eq!(count(text, "BODY[]<1> "), 1, "{text}");
    assert_eq!(count(text, "BINARY[1] "), 1, "{text}");
    assert_eq!(count(text, "BINARY.SIZE[1] 13"), 1, "{text}");
    assert_eq!(count(text, "RFC822.SIZE "), 1, "{text}");
}

#[test]
fn too_many_different_items_get_bad_and_the_session_goes_on() {
    let server = server();
    let mut c = Client::connect(&server);
    c.append(b"Subject: s\r\n\r\nbody\r\n");
    let items: Vec<String> = (0..300).map(|i| format!("BODY.PEEK[]<{i}.1>")).collect();
    let reply = c.run("t", &format!("FETCH 1 ({})", items.join(" ")));
    let last = &reply.last().unwrap().text;
    assert!(
        last.starts_with("t BAD") && last.contains("Too many FETCH items"),
        "{last}"
    );
    assert!(
        !reply.iter().any(|r| r.text.contains(" FETCH (")),
        "nothing was sent"
    );
    let fine = c.run("u", &format!("FETCH 1 ({})", items[..256].join(" ")));
    assert!(fine.last().unwrap().text.starts_with("u OK"));
    assert_eq!(fine[0].text.matches("BODY[]<").count(), 256);
}

#[test]
fn rfc822_text_alone_is_the_body_without_the_header() {
    let server = server();
    let mut c = Client::connect(&server);
    c.append(b"Subject: s\r\nFrom: a@b\r\n\r\nhello body\r\n");
    let fetches = fetched(c.run("r", "FETCH 1 (RFC822.TEXT)"), "r");
    assert_eq!(
        fetches[0].literals,
        [("RFC822.TEXT".to_string(), b"hello body\r\n".to_vec())]
    );
}

/// RFC 2045 §6.7 quoted-printable of CRLF text: `=` and 8-bit octets escaped, lines broken
/// softly at 72 characters.
fn quoted_printable(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut width = 0;
        for &b in line {
            let piece = if b == b'=' || b >= 0x80 {
                format!("={b:02X}").into_bytes()
            } else {
                vec![b]
            };
            if width + piece.len() > 72 {
                out.extend_from_slice(b"=\r\n");
                width = 0;
            }
            width += piece.len();
            out.extend_from_slice(&piece);
        }
        out.extend_from_slice(b"\r\n");
    }
    out.truncate(out.len() - 2);
    out
}

/// The same MIME structure with a small or a large attachment: every section but the
/// attachment is the same octets, and the large message is read from its file.
fn structured(attachment: &[u8]) -> Vec<u8> {
    let mut m = b"From: a@example.org\r\nSubject: structure\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
        Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\
        \r\nSch=C3=B6ne Gr=C3=BC=C3=9Fe =3D 1+1\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n\
        From: inner@example.org\r\nSubject: inner\r\nX-Long: a\r\n continued\r\n\r\n\
        inner body\r\n--b\r\nContent-Type: application/octet-stream\r\n\
        Content-Transfer-Encoding: base64\r\n\r\n"
        .to_vec();
    m.extend_from_slice(&base64_lines(attachment));
    m.extend_from_slice(b"\r\n--b--\r\n");
    m
}

#[test]
fn sections_cut_from_the_file_equal_sections_cut_in_memory() {
    let server = server();
    let mut c = Client::connect(&server);
    c.append(&structured(b"tiny"));
    c.append(&structured(&noise(3, 300 * 1024)));
    let items =
        "BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[2.HEADER] \
                 BODY.PEEK[2.TEXT] BODY.PEEK[2.HEADER.FIELDS (x-long SUBJECT)] \
                 BODY.PEEK[2.HEADER.FIELDS.NOT (Subject)] BODY.PEEK[2.1] BODY.PEEK[3.MIME] \
                 BINARY.PEEK[1] BINARY.SIZE[1] BODY.PEEK[HEADER.FIELDS (From)] RFC822.HEADER \
                 BODY.PEEK[TEXT]<0.120> BODY.PEEK[1]<3.10> BINARY.PEEK[1]<2.5> BODY.PEEK[9]";
    let small = fetched(c.run("s", &format!("FETCH 1 ({items})")), "s");
    let large = fetched(c.run("l", &format!("FETCH 2 ({items})")), "l");
    assert_eq!(
        small[0].text.replacen("* 1 FETCH", "* 2 FETCH", 1),
        large[0].text,
        "the same items, quoted and literal alike"
    );
    assert_eq!(small[0].literals, large[0].literals);
    assert!(
        small[0].text.contains("BINARY.SIZE[1] 21"),
        "{}",
        small[0].text
    );
    let fields = &small[0]
        .literals
        .iter()
        .find(|l| l.0.starts_with("BODY[2.HEADER.FIELDS ("));
    assert_eq!(
        fields.unwrap().1,
        b"Subject: inner\r\nX-Long: a\r\n continued\r\n\r\n"
    );
}

#[test]
fn a_large_quoted_printable_part_is_decoded_while_it_streams() {
    let server = server();
    let mut c = Client::connect(&server);
    let mut text = Vec::new();
    for (i, b) in noise(11, 400 * 1024).into_iter().enumerate() {
        text.push(match b % 8 {
            0 => b'=',
            1 => 0xC3,
            2 => b' ',
            _ => b'a' + b % 26,
        });
        if i % 90 == 89 {
            text.extend_from_slice(b"x\r\n");
        }
    }
    text.extend_from_slice(b"x");
    let mut message = b"Subject: qp\r\nContent-Type: text/plain; charset=latin1\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        .to_vec();
    message.extend_from_slice(&quoted_printable(&text));
    message.extend_from_slice(b"\r\n");
    c.append(&message);
    let (fetches, growth) = measured(&server, &mut c, "FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])");
    let decoded = [&text[..], b"\r\n"].concat();
    let size = format!("BINARY.SIZE[1] {}", decoded.len());
    assert!(fetches[0].text.contains(&size), "{}", fetches[0].text);
    assert_same("BINARY[1]", &fetches[0].literals[0].1, &decoded);
    assert_bounded(
        "FETCH 1 (BINARY.PEEK[1]) of 400 KB quoted-printable",
        growth,
    );
}

/// A message without a blank line is all header, so the index's copy of its header block is
/// the whole message: header fetches over many of them must not load a batch of them at once.
#[test]
fn header_fetches_of_messages_that_are_all_header_stay_bounded() {
    const COUNT: u32 = 40;
    let server = server();
    let mut c = Client::connect(&server);
    for i in 0..COUNT {
        let mut message = format!("Subject: all header {i}\r\n").into_bytes();
        for (n, line) in text_body(200 + u64::from(i), 1024 * 1024)
            .split(|&b| b == b'\n')
            .filter(|l| l.len() > 1)
            .enumerate()
        {
            message.extend_from_slice(format!("X-Filler-{n}: ").as_bytes());
            message.extend_from_slice(line);
            message.push(b'\n');
        }
        c.append(&message);
    }
    let command = "FETCH 1:* (BODY.PEEK[HEADER] BODY.PEEK[HEADER.FIELDS (SUBJECT)] \
                   BODY.PEEK[HEADER.FIELDS.NOT (Subject)]<100.1000000>)";
    let (fetches, growth) = measured(&server, &mut c, command);
    assert_eq!(fetches.len(), COUNT as usize);
    for (i, f) in fetches.iter().enumerate() {
        let file = std::fs::read(message_file(&server, i as u32 + 1)).unwrap();
        let subject = format!("Subject: all header {i}\r\n");
        let rest = &file[subject.len()..];
        let [header, fields, not] = &f.literals[..] else {
            panic!("three literals: {}", f.text);
        };
        assert_eq!(header.0, "BODY[HEADER]");
        assert_same("HEADER", &header.1, &file);
        assert_eq!(fields.1, [subject.as_bytes(), b"\r\n"].concat());
        assert_eq!(not.0, "BODY[HEADER.FIELDS.NOT (Subject)]<100>");
        let not_all = [rest, b"\r\n"].concat();
        assert_same("HEADER.FIELDS.NOT", &not.1, &not_all[100..1_000_100]);
    }
    assert_bounded(
        "FETCH 1:* (BODY.PEEK[HEADER] …) of 40 x 1 MB headers",
        growth,
    );
}

/// A batch takes the index's header copies only up to a byte budget; the messages past it get
/// their header sections from their files, and both give the same octets.
#[test]
fn header_sections_are_the_same_from_the_index_and_from_the_file() {
    const COUNT: u32 = 200;
    let server = server();
    let mut c = Client::connect(&server);
    let filler = "X-Filler: ".to_string() + &"f".repeat(100) + "\r\n";
    for i in 0..COUNT {
        let message = format!(
            "From: a@example.org\r\n{}Subject: number {i}\r\n\r\nbody {i}\r\n",
            filler.repeat(100)
        );
        c.append(message.as_bytes());
    }
    let command = "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (Subject)] RFC822.HEADER \
                   BODY.PEEK[HEADER]<0.30>)";
    let fetches = fetched(c.run("h", command), "h");
    assert_eq!(fetches.len(), COUNT as usize);
    for (i, f) in fetches.iter().enumerate() {
        let file = std::fs::read(message_file(&server, i as u32 + 1)).unwrap();
        let header_len = file.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let [fields, header, start] = &f.literals[..] else {
            panic!("three literals: {}", f.text);
        };
        let subject = format!("Subject: number {i}\r\n\r\n");
        assert_eq!(fields.1, subject.as_bytes(), "{}", f.text);
        assert_same("RFC822.HEADER", &header.1, &file[..header_len]);
        assert_eq!(start.0, "BODY[HEADER]<0>");
        assert_eq!(start.1, &file[..30]);
    }
}
