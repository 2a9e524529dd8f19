//! Real clients against the real `darius serve`: mbsync (isync) syncing a few thousand messages
//! both ways (also over IMAPS, and while other sessions change the mailbox), mutt in batch mode
//! copying and moving messages, and twenty (with CONDSTORE, fifty) concurrent sessions on one
//! mailbox whose views must match the server's truth (RFC 9051 §7.5.1). Programs nobody here wrote are the oracle; a
//! missing program skips its test unless DARIUS_REQUIRE_INTEROP=1 (docs/TESTING.md). The tests at
//! the end pin down, at the protocol level, the server bugs these clients revealed.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

mod common;

use common::Rng;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Barrier};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// A tiny synchronous IMAP client: tagged commands, literals read inline, untagged responses kept.
// ---------------------------------------------------------------------------------------------

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
    name: String,
}

/// One command's answer: its untagged responses (literals inline, CRLF stripped) and the tagged
/// status line.
struct Outcome {
    command: String,
    untagged: Vec<Vec<u8>>,
    status: String,
    text: String,
}

impl Outcome {
    fn ok(self) -> Outcome {
        assert_eq!(
            self.status, "OK",
            "{}: {} answered {} {}",
            self.command, self.command, self.status, self.text
        );
        self
    }

    fn parsed(&self) -> Vec<Untagged> {
        self.untagged.iter().map(|r| parse_untagged(r)).collect()
    }

    /// The UIDs of `* SEARCH`.
    fn search(&self) -> Vec<u32> {
        self.parsed()
            .into_iter()
            .flat_map(|u| match u {
                Untagged::Search(n) => n,
                _ => Vec::new(),
            })
            .collect()
    }

    /// `[APPENDUID v uid]` of a single-message APPEND.
    fn append_uid(&self) -> u32 {
        let rest = self.text.split("APPENDUID ").nth(1).unwrap();
        let uid = rest.split([' ', ']']).nth(1).unwrap();
        uid.parse().unwrap()
    }
}

impl Client {
    fn connect(port: u16, name: &str) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        let mut client = Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            tag: 0,
            name: name.to_string(),
        };
        let greeting = client.read_response();
        assert!(greeting.starts_with(b"* OK"), "greeting {greeting:?}");
        client
    }

    fn login(port: u16, user: &str, password: &str) -> Client {
        let mut client = Client::connect(port, user);
        client.run(&format!("LOGIN {user} {password}")).ok();
        client
    }

    /// One response: a line, plus each literal it announces and the line after it.
    fn read_response(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = self.reader.read_until(b'\n', &mut line).unwrap();
            assert!(n > 0, "{}: server closed the connection", self.name);
            out.extend_from_slice(&line);
            match literal_len(&line) {
                Some(len) => {
                    let start = out.len();
                    out.resize(start + len, 0);
                    self.reader.read_exact(&mut out[start..]).unwrap();
                }
                None => break,
            }
        }
        while out.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            out.pop();
        }
        out
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("t{}", self.tag)
    }

    fn run(&mut self, command: &str) -> Outcome {
        let tag = self.next_tag();
        self.writer
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .unwrap();
        self.collect(&tag, command)
    }

    /// APPEND with a non-synchronizing literal (LITERAL+, RFC 7888).
    fn append(&mut self, mailbox: &str, flags: &str, message: &[u8]) -> Outcome {
        let tag = self.next_tag();
        let mut bytes = format!(
            "{tag} APPEND {mailbox} ({flags}) {{{}+}}\r\n",
            message.len()
        )
        .into_bytes();
        bytes.extend_from_slice(message);
        bytes.extend_from_slice(b"\r\n");
        self.writer.write_all(&bytes).unwrap();
        self.collect(&tag, "APPEND")
    }

    /// IDLE for `pause`, then DONE (RFC 2177); the updates that came meanwhile are untagged.
    fn idle(&mut self, pause: Duration) -> Outcome {
        let tag = self.next_tag();
        self.writer
            .write_all(format!("{tag} IDLE\r\n").as_bytes())
            .unwrap();
        let invitation = self.read_response();
        assert!(
            invitation.starts_with(b"+"),
            "{}: IDLE answered {}",
            self.name,
            String::from_utf8_lossy(&invitation)
        );
        std::thread::sleep(pause);
        self.writer.write_all(b"DONE\r\n").unwrap();
        self.collect(&tag, "IDLE")
    }

    fn collect(&mut self, tag: &str, command: &str) -> Outcome {
        let mut untagged = Vec::new();
        loop {
            let response = self.read_response();
            if let Some(rest) = response.strip_prefix(format!("{tag} ").as_bytes()) {
                let rest = String::from_utf8_lossy(rest).to_string();
                let (status, text) = rest.split_once(' ').unwrap_or((&rest, ""));
                return Outcome {
                    command: command.to_string(),
                    untagged,
                    status: status.to_string(),
                    text: text.to_string(),
                };
            }
            assert!(
                response.starts_with(b"* "),
                "{}: unexpected response to {command}: {}",
                self.name,
                String::from_utf8_lossy(&response)
            );
            untagged.push(response);
        }
    }
}

/// `{123}` or `{123+}` closing a line.
fn literal_len(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\r\n")?.strip_suffix(b"}")?;
    let open = line.iter().rposition(|b| *b == b'{')?;
    let digits = &line[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The value grammar of FETCH responses, enough for tests (RFC 9051 §9 `msg-att`).
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Atom(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
}

impl Value {
    fn atom(&self) -> &str {
        match self {
            Value::Atom(a) => a,
            other => panic!("not an atom: {other:?}"),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Value::Bytes(b) => b,
            other => panic!("not a string: {other:?}"),
        }
    }

    fn list(&self) -> &[Value] {
        match self {
            Value::List(l) => l,
            other => panic!("not a list: {other:?}"),
        }
    }
}

fn parse_values(input: &[u8], pos: &mut usize) -> Vec<Value> {
    let mut values = Vec::new();
    while *pos < input.len() {
        match input[*pos] {
            b' ' => *pos += 1,
            b')' => {
                *pos += 1;
                return values;
            }
            b'(' => {
                *pos += 1;
                values.push(Value::List(parse_values(input, pos)));
            }
            b'"' => values.push(Value::Bytes(parse_quoted(input, pos))),
            b'{' => values.push(Value::Bytes(parse_literal(input, pos))),
            _ => values.push(Value::Atom(parse_atom(input, pos))),
        }
    }
    values
}

fn parse_quoted(input: &[u8], pos: &mut usize) -> Vec<u8> {
    let mut out = Vec::new();
    *pos += 1;
    while input[*pos] != b'"' {
        if input[*pos] == b'\\' {
            *pos += 1;
        }
        out.push(input[*pos]);
        *pos += 1;
    }
    *pos += 1;
    out
}

fn parse_literal(input: &[u8], pos: &mut usize) -> Vec<u8> {
    let close = *pos + input[*pos..].iter().position(|b| *b == b'}').unwrap();
    let len: usize = std::str::from_utf8(&input[*pos + 1..close])
        .unwrap()
        .trim_end_matches('+')
        .parse()
        .unwrap();
    let start = close + 3; // "}\r\n"
    *pos = start + len;
    input[start..start + len].to_vec()
}

/// An atom, where `[...]` may hold spaces and parentheses (`BODY[HEADER.FIELDS (A B)]`).
fn parse_atom(input: &[u8], pos: &mut usize) -> String {
    let start = *pos;
    let mut depth = 0;
    while *pos < input.len() {
        match input[*pos] {
            b'[' => depth += 1,
            b']' => depth -= 1,
            b' ' | b'(' | b')' if depth == 0 => break,
            _ => {}
        }
        *pos += 1;
    }
    String::from_utf8_lossy(&input[start..*pos]).to_string()
}

#[derive(Debug)]
enum Untagged {
    Exists(u32),
    Expunge(u32),
    Fetch(u32, BTreeMap<String, Value>),
    Search(Vec<u32>),
    Status(String),
    Other,
}

fn parse_untagged(raw: &[u8]) -> Untagged {
    let mut pos = 2;
    let words = parse_values(raw, &mut pos);
    let first = match words.first() {
        Some(Value::Atom(a)) => a.as_str(),
        _ => return Untagged::Other,
    };
    if matches!(first, "OK" | "NO" | "BAD" | "BYE") {
        return Untagged::Status(String::from_utf8_lossy(raw).to_string());
    }
    if first == "SEARCH" {
        return Untagged::Search(
            words[1..]
                .iter()
                .map(|w| w.atom().parse().unwrap())
                .collect(),
        );
    }
    let Ok(n) = first.parse::<u32>() else {
        return Untagged::Other;
    };
    match words.get(1).map(Value::atom) {
        Some("EXISTS") => Untagged::Exists(n),
        Some("EXPUNGE") => Untagged::Expunge(n),
        Some("FETCH") => {
            let items = words[2].list();
            let map = items
                .chunks(2)
                .map(|pair| (pair[0].atom().to_ascii_uppercase(), pair[1].clone()))
                .collect();
            Untagged::Fetch(n, map)
        }
        _ => Untagged::Other,
    }
}

/// `FLAGS (...)` as a sorted set of flag names.
/// The stored flags of a FETCH FLAGS value. `\Recent` is left out: it belongs to the session
/// that first reported the message (RFC 3501 §2.3.2), so two sessions' views of one mailbox
/// differ in it by design (`imap_recent.rs` tests it).
fn flag_set(value: &Value) -> BTreeSet<String> {
    value
        .list()
        .iter()
        .map(|f| f.atom().to_string())
        .filter(|f| f != "\\Recent")
        .collect()
}

/// rustls warns about every OpenSSL client that connects by IP address, as isync does: it
/// sends the address as SNI (RFC 6066 §3 says it must not; the server ignores it and goes on).
/// The test server lists `admins: admin` and creates the accounts only once it runs, so its
/// start-up rightly warns that `admin` has no account yet.
const KNOWN_CLIENT_QUIRKS: &[&str] = &[
    "Illegal SNI extension: ignoring IP address",
    "admins: no account for `admin`",
];

/// The server logged no warning, error or panic while a client drove it.
fn assert_quiet_log(server: &common::Server) {
    let log = server.log();
    let noisy: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("panicked"))
        .filter(|l| !KNOWN_CLIENT_QUIRKS.iter().any(|q| l.contains(q)))
        .collect();
    assert!(
        noisy.is_empty(),
        "the server complained:\n{}",
        noisy.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// A deterministic corpus: sizes 1–20 KB, plain, MIME multipart, 8-bit UTF-8.
// ---------------------------------------------------------------------------------------------

const WORDS: &[&str] = &[
    "mailbox",
    "sync",
    "quota",
    "partition",
    "index",
    "seen",
    "flag",
    "message",
    "server",
    "client",
    "literal",
    "sequence",
    "expunge",
    "append",
    "header",
    "body",
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "Cyrus",
    "Darius",
    "report",
    "weekly",
    "meeting",
    "agenda",
    "draft",
];
const UTF8_WORDS: &[&str] = &[
    "Grüße",
    "naïve",
    "café",
    "Ærø",
    "Ελληνικά",
    "русский",
    "日本語",
    "中文",
    "한국어",
    "ñandú",
    "Straße",
    "€uro",
    "Œuvre",
    "smörgåsbord",
];

fn text_body(rng: &mut Rng, size: usize, utf8: bool) -> String {
    let mut body = String::new();
    let mut line = String::new();
    while body.len() < size {
        let word = if utf8 && rng.below(4) == 0 {
            UTF8_WORDS[rng.below(UTF8_WORDS.len())]
        } else {
            WORDS[rng.below(WORDS.len())]
        };
        if line.len() + word.len() > 70 {
            body.push_str(&line);
            body.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    body.push_str(&line);
    body.push('\n');
    body
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i.is_multiple_of(19) {
            out.push('\n');
        }
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (k, b)| n | (u32::from(*b) << (16 - 8 * k)));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out.push('\n');
    out
}

/// Message `i` of the corpus, LF line ends (as a Maildir holds it); `i` names it everywhere.
fn corpus_message(i: usize) -> Vec<u8> {
    let mut rng = Rng::new(i as u64 + 1);
    let size = 1024 + rng.below(19 * 1024);
    let day = 1 + i % 28;
    let mut m = format!(
        "Return-Path: <sender{i}@example.org>\n\
         From: Sender {i} <sender{i}@example.org>\n\
         To: Alice <alice@example.com>\n\
         Date: Mon, {day} Apr 2024 {:02}:{:02}:00 +0200\n\
         Message-ID: <{i}.corpus@interop.darius.test>\n\
         MIME-Version: 1.0\n",
        i % 24,
        i % 60
    );
    match i % 5 {
        3 => {
            let attachment: Vec<u8> = (0..size / 2).map(|_| rng.next_u64() as u8).collect();
            m += &format!(
                "Subject: report {i} with attachment\n\
                 Content-Type: multipart/mixed; boundary=\"=_b{i}\"\n\n\
                 This is a multi-part message in MIME format.\n\n\
                 --=_b{i}\nContent-Type: text/plain; charset=us-ascii\n\n{}\n\
                 --=_b{i}\nContent-Type: application/octet-stream; name=\"data{i}.bin\"\n\
                 Content-Transfer-Encoding: base64\n\
                 Content-Disposition: attachment; filename=\"data{i}.bin\"\n\n{}\
                 --=_b{i}--\n",
                text_body(&mut rng, size / 4, false),
                base64(&attachment)
            );
        }
        4 => {
            m += &format!(
                "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_{i}?=\n\
                 Content-Type: text/plain; charset=utf-8\n\
                 Content-Transfer-Encoding: 8bit\n\n{}",
                text_body(&mut rng, size, true)
            );
        }
        _ => {
            m += &format!(
                "Subject: message {i} of the corpus\n\
                 Content-Type: text/plain; charset=us-ascii\n\n{}",
                text_body(&mut rng, size, false)
            );
        }
    }
    m.into_bytes()
}

fn crlf(lf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lf.len() + lf.len() / 40);
    for b in lf {
        if *b == b'\n' {
            out.push(b'\r');
        }
        out.push(*b);
    }
    out
}

/// Line ends as LF, so server (CRLF) and Maildir (LF) copies compare.
fn normalized(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut iter = bytes.iter().peekable();
    while let Some(b) = iter.next() {
        if *b == b'\r' && iter.peek() == Some(&&b'\n') {
            continue;
        }
        out.push(*b);
    }
    out
}

fn message_id(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    let line = text
        .lines()
        .take_while(|l| !l.is_empty())
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .unwrap_or_else(|| panic!("no Message-ID in {}", &text[..text.len().min(300)]));
    line["message-id:".len()..].trim().to_string()
}

/// A hash of the message with LF line ends and without the `X-TUID:` header mbsync adds to
/// every message it uploads (its way of finding an upload again after an interruption).
fn content_hash(bytes: &[u8]) -> u64 {
    let mut text = normalized(bytes);
    if let Some(at) = find(&text, b"\nX-TUID: ") {
        let end = at + 1 + text[at + 1..].iter().position(|b| *b == b'\n').unwrap();
        text.drain(at..end);
    }
    // DefaultHasher::new() has fixed keys: stable within and across runs.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// 1. mbsync
// ---------------------------------------------------------------------------------------------

/// Folder (Maildir name: `INBOX`, `Lists`) and Message-ID → (Maildir flag letters, content hash).
type Store = BTreeMap<(String, String), (String, u64)>;

const INBOX_COUNT: usize = 2000;
const LISTS: std::ops::Range<usize> = 5000..5040;

fn server_folder(maildir_folder: &str) -> String {
    match maildir_folder {
        "INBOX" => "INBOX".to_string(),
        other => format!("INBOX.{other}"),
    }
}

/// RFC 9051 system flags ↔ Maildir info letters (maildir(5)): sorted ASCII letters.
fn maildir_letters(flags: &BTreeSet<String>) -> String {
    let mut letters: Vec<char> = flags
        .iter()
        .filter_map(|f| match f.as_str() {
            "\\Draft" => Some('D'),
            "\\Flagged" => Some('F'),
            "\\Answered" => Some('R'),
            "\\Seen" => Some('S'),
            "\\Deleted" => Some('T'),
            _ => None,
        })
        .collect();
    letters.sort_unstable();
    letters.into_iter().collect()
}

fn initial_letters(i: usize) -> String {
    let mut s = String::new();
    if i.is_multiple_of(7) {
        s.push('F');
    }
    if i.is_multiple_of(11) {
        s.push('R');
    }
    if i.is_multiple_of(3) {
        s.push('S');
    }
    s
}

fn with_letter(letters: &str, letter: char, present: bool) -> String {
    let mut set: BTreeSet<char> = letters.chars().collect();
    if present {
        set.insert(letter);
    } else {
        set.remove(&letter);
    }
    set.into_iter().collect()
}

fn write_maildir_message(folder: &Path, sub: &str, i: usize, letters: &str) {
    for d in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(folder.join(d)).unwrap();
    }
    let name = match sub {
        "new" => format!("{}.M{i}P1.interop", 1_700_000_000 + i),
        _ => format!("{}.M{i}P1.interop:2,{letters}", 1_700_000_000 + i),
    };
    std::fs::write(folder.join(sub).join(name), corpus_message(i)).unwrap();
}

/// Every message in the Maildir tree: folder → files (path, Message-ID, letters, hash).
fn read_maildir(root: &Path) -> (Store, BTreeMap<(String, String), PathBuf>) {
    let mut store = Store::new();
    let mut paths = BTreeMap::new();
    for folder in ["INBOX", "Lists"] {
        for sub in ["cur", "new"] {
            let Ok(entries) = std::fs::read_dir(root.join(folder).join(sub)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                let letters = name.split_once(":2,").map_or("", |(_, l)| l).to_string();
                let bytes = std::fs::read(&path).unwrap();
                let key = (folder.to_string(), message_id(&bytes));
                let previous = store.insert(key.clone(), (letters, content_hash(&bytes)));
                assert!(previous.is_none(), "duplicate {key:?} in the Maildir");
                paths.insert(key, path);
            }
        }
    }
    (store, paths)
}

/// Every message on the server, and Message-ID → UID per folder.
fn read_server(port: u16) -> (Store, BTreeMap<(String, String), u32>) {
    read_folders(port, "alice", &["INBOX", "Lists"])
}

fn read_folders(
    port: u16,
    user: &str,
    folders: &[&str],
) -> (Store, BTreeMap<(String, String), u32>) {
    let mut client = Client::login(port, user, "pw");
    let mut store = Store::new();
    let mut uids = BTreeMap::new();
    for &folder in folders {
        client
            .run(&format!("EXAMINE {}", server_folder(folder)))
            .ok();
        let fetched = client.run("UID FETCH 1:* (UID FLAGS BODY.PEEK[])").ok();
        for response in fetched.parsed() {
            let Untagged::Fetch(_, items) = response else {
                continue;
            };
            let body = items["BODY[]"].bytes();
            let key = (folder.to_string(), message_id(body));
            let uid: u32 = items["UID"].atom().parse().unwrap();
            let letters = maildir_letters(&flag_set(&items["FLAGS"]));
            let previous = store.insert(key.clone(), (letters, content_hash(body)));
            assert!(previous.is_none(), "duplicate {key:?} on the server");
            uids.insert(key, uid);
        }
    }
    client.run("LOGOUT");
    (store, uids)
}

/// Where two stores differ, at most a few lines of it.
fn differences(left: &Store, right: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in left {
        match right.get(key) {
            None => out.push(format!("{key:?} only on the left {value:?}")),
            Some(other) if other != value => {
                out.push(format!("{key:?}: left {value:?}, right {other:?}"))
            }
            Some(_) => {}
        }
    }
    for key in right.keys().filter(|k| !left.contains_key(*k)) {
        out.push(format!("{key:?} only on the right"));
    }
    out
}

fn assert_same(what: &str, left: &Store, right: &Store) {
    let diff = differences(left, right);
    assert!(
        diff.is_empty(),
        "{what}: {} differences, first: {:#?}",
        diff.len(),
        &diff[..diff.len().min(10)]
    );
}

/// An .mbsyncrc (isync 1.4 syntax) syncing the whole account with the Maildir `dir/NEAR`.
fn mbsyncrc(dir: &Path, port: u16, near: &str) -> PathBuf {
    mbsyncrc_for(dir, port, near, "alice")
}

fn mbsyncrc_for(dir: &Path, port: u16, near: &str, user: &str) -> PathBuf {
    let rc = dir.join(format!("mbsyncrc-{near}"));
    let near = dir.join(near);
    std::fs::write(
        &rc,
        format!(
            "IMAPAccount darius\nHost 127.0.0.1\nPort {port}\nUser {user}\nPass pw\n\
             SSLType None\nAuthMechs LOGIN\n\n\
             IMAPStore far\nAccount darius\n\n\
             MaildirStore near\nPath {near}/\nInbox {near}/INBOX\nSubFolders Verbatim\n\n\
             Channel darius\nFar :far:\nNear :near:\nPatterns *\nCreate Both\nSync All\n\
             Expunge Both\nSyncState *\n",
            near = near.display()
        ),
    )
    .unwrap();
    rc
}

fn run_mbsync(rc: &Path, server: &common::Server) {
    let out = Command::new("mbsync")
        .arg("-c")
        .arg(rc)
        .arg("-a")
        .env("HOME", rc.parent().unwrap())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let errors: Vec<&str> = stderr
        .lines()
        .chain(stdout.lines())
        .filter(|l| l.to_ascii_lowercase().contains("error"))
        .collect();
    assert!(
        out.status.success() && errors.is_empty(),
        "mbsync: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server log\n{}",
        out.status,
        server.log()
    );
}

/// The expected store after the first sync: the generated corpus in both places.
fn corpus_model() -> Store {
    let mut model = Store::new();
    let folders = (0..INBOX_COUNT)
        .map(|i| ("INBOX", i))
        .chain(LISTS.map(|i| ("Lists", i)));
    for (folder, i) in folders {
        let message = corpus_message(i);
        let key = (folder.to_string(), message_id(&message));
        model.insert(key, (initial_letters(i), content_hash(&message)));
    }
    model
}

fn key_of(folder: &str, i: usize) -> (String, String) {
    (
        folder.to_string(),
        format!("<{i}.corpus@interop.darius.test>"),
    )
}

/// Changes on the server through IMAP, mirrored into `model`: flags set and cleared, a few
/// messages expunged (never one the Maildir side changes), new ones appended.
fn change_server(port: u16, uids: &BTreeMap<(String, String), u32>, model: &mut Store) {
    let mut client = Client::login(port, "alice", "pw");
    client.run("SELECT INBOX").ok();
    let mut deleted = Vec::new();
    for i in 0..INBOX_COUNT {
        let key = key_of("INBOX", i);
        let uid = uids[&key];
        let entry = model.get_mut(&key).unwrap();
        if server_deletes(i) {
            client
                .run(&format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"))
                .ok();
            deleted.push(uid);
            model.remove(&key);
            continue;
        }
        if maildir_deletes(i) {
            continue;
        }
        let (flag, letter, add) = match i {
            _ if i % 50 == 1 => ("\\Seen", 'S', true),
            _ if i % 60 == 2 => ("\\Flagged", 'F', true),
            _ if i.is_multiple_of(90) => ("\\Seen", 'S', false),
            _ => continue,
        };
        let sign = if add { '+' } else { '-' };
        client
            .run(&format!("UID STORE {uid} {sign}FLAGS ({flag})"))
            .ok();
        entry.0 = with_letter(&entry.0, letter, add);
    }
    let set: Vec<String> = deleted.iter().map(u32::to_string).collect();
    client.run(&format!("UID EXPUNGE {}", set.join(","))).ok();
    for i in 3000..3012 {
        let message = corpus_message(i);
        let flags = if i.is_multiple_of(2) { "\\Seen" } else { "" };
        client.append("INBOX", flags, &crlf(&message)).ok();
        let letters = if i.is_multiple_of(2) { "S" } else { "" };
        model.insert(
            ("INBOX".to_string(), message_id(&message)),
            (letters.to_string(), content_hash(&message)),
        );
    }
    client.run("LOGOUT");
}

fn server_deletes(i: usize) -> bool {
    i % 200 == 5
}

fn maildir_deletes(i: usize) -> bool {
    i % 250 == 9
}

/// Changes in the Maildir, the way a mail reader makes them: renames for flags, unlink for
/// deletion, new files in `new/` and `cur/`.
fn change_maildir(root: &Path, model: &mut Store) {
    let (_, paths) = read_maildir(root);
    for i in 0..INBOX_COUNT {
        let key = key_of("INBOX", i);
        let path = &paths[&key];
        if maildir_deletes(i) {
            std::fs::remove_file(path).unwrap();
            model.remove(&key);
            continue;
        }
        if server_deletes(i) {
            continue;
        }
        let (letter, add) = match i {
            _ if i % 40 == 7 => ('S', true),
            _ if i % 45 == 8 => ('F', true),
            _ if i.is_multiple_of(77) => ('F', false),
            _ => continue,
        };
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let (base, letters) = name.split_once(":2,").unwrap();
        let new_letters = with_letter(letters, letter, add);
        std::fs::rename(path, path.with_file_name(format!("{base}:2,{new_letters}"))).unwrap();
        let entry = model.get_mut(&key).unwrap();
        entry.0 = with_letter(&entry.0, letter, add);
    }
    for i in 4000..4012 {
        write_maildir_message(&root.join("INBOX"), "new", i, "");
        let message = corpus_message(i);
        model.insert(
            ("INBOX".to_string(), message_id(&message)),
            (String::new(), content_hash(&message)),
        );
    }
    for i in 4100..4102 {
        write_maildir_message(&root.join("Lists"), "cur", i, "S");
        let message = corpus_message(i);
        model.insert(
            ("Lists".to_string(), message_id(&message)),
            ("S".to_string(), content_hash(&message)),
        );
    }
}

#[test]
fn mbsync_two_way_sync_of_2000_messages_converges() {
    if !common::have("mbsync") {
        return;
    }
    let server = common::Server::start();
    server.add_user("alice", "pw");
    let dir = tempfile::tempdir().unwrap();
    let near = dir.path().join("near");
    for i in 0..INBOX_COUNT {
        write_maildir_message(&near.join("INBOX"), "cur", i, &initial_letters(i));
    }
    for i in LISTS {
        write_maildir_message(&near.join("Lists"), "cur", i, &initial_letters(i));
    }
    let rc = mbsyncrc(dir.path(), server.imap_port, "near");
    let mut model = corpus_model();

    run_mbsync(&rc, &server);
    let (on_server, uids) = read_server(server.imap_port);
    assert_same("server after the first sync", &model, &on_server);
    assert_same(
        "Maildir after the first sync",
        &model,
        &read_maildir(&near).0,
    );

    change_server(server.imap_port, &uids, &mut model);
    change_maildir(&near, &mut model);
    run_mbsync(&rc, &server);
    run_mbsync(&rc, &server);
    assert_same(
        "server after two-way changes",
        &model,
        &read_server(server.imap_port).0,
    );
    assert_same(
        "Maildir after two-way changes",
        &model,
        &read_maildir(&near).0,
    );

    // A fresh Maildir pulls everything: every body goes out through FETCH to mbsync's parser.
    std::fs::create_dir(dir.path().join("fresh")).unwrap();
    let fresh = mbsyncrc(dir.path(), server.imap_port, "fresh");
    run_mbsync(&fresh, &server);
    assert_same(
        "a fresh Maildir after a full download",
        &model,
        &read_maildir(&dir.path().join("fresh")).0,
    );
    assert_quiet_log(&server);
}

// ---------------------------------------------------------------------------------------------
// 2. mutt
// ---------------------------------------------------------------------------------------------

fn fetch_bodies(client: &mut Client, mailbox: &str) -> Vec<Vec<u8>> {
    client.run(&format!("EXAMINE {mailbox}")).ok();
    let fetched = client.run("FETCH 1:* (BODY.PEEK[])");
    if fetched.status != "OK" {
        return Vec::new(); // an empty mailbox: "1:*" names no message
    }
    fetched
        .parsed()
        .into_iter()
        .filter_map(|u| match u {
            Untagged::Fetch(_, items) => Some(items["BODY[]"].bytes().to_vec()),
            _ => None,
        })
        .collect()
}

/// Runs mutt on a pseudo-terminal (`script`): it insists on one even when every key is pushed.
fn run_mutt(dir: &Path, muttrc: &Path, port: u16) -> Output {
    let script = dir.join("run-mutt.sh");
    std::fs::write(
        &script,
        format!(
            "exec mutt -n -F '{}' -f imap://bob@127.0.0.1:{port}/INBOX\n",
            muttrc.display()
        ),
    )
    .unwrap();
    Command::new("timeout")
        .arg("60")
        .arg("script")
        .arg("-qec")
        .arg(format!("sh '{}'", script.display()))
        .arg("/dev/null")
        .env("HOME", dir)
        .env("TERM", "dumb")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn mutt_batch_session_copies_to_mbox_and_moves_to_a_new_folder() {
    if !common::have("mutt") || !common::have("script") {
        return;
    }
    let server = common::Server::start();
    server.add_user("bob", "pw");
    let mut client = Client::login(server.imap_port, "bob", "pw");
    for i in 0..30 {
        client.append("INBOX", "", &crlf(&corpus_message(i))).ok();
    }
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("saved.mbox");
    let muttrc = dir.path().join("muttrc");
    std::fs::write(
        &muttrc,
        format!(
            "set imap_user=bob\nset imap_pass=pw\nset folder=imap://bob@127.0.0.1:{port}/\n\
             set spoolfile=+INBOX\nset ssl_starttls=no\nset ssl_force_tls=no\n\
             set confirmappend=no\nset confirmcreate=no\nset mail_check=0\n\
             set imap_check_subscribed=no\nset header_cache=\nset message_cachedir=\n\
             set record=\nset move=no\nset wait_key=no\nset delete=yes\nset quit=yes\n\
             set mbox_type=mbox\nset tmpdir={tmp}\n\
             # `^^` is a literal `^` in a push string (a lone `^X` is Ctrl-X).\n\
             push '<tag-pattern>~s \"^^report 3 with\"<enter><tag-prefix><copy-message>{mbox}<enter>\
             <untag-pattern>~A<enter>\
             <tag-pattern>~s \"^^message 12 of\"<enter><tag-prefix><save-message>=INBOX.Archive<enter>\
             <sync-mailbox><quit>'\n",
            port = server.imap_port,
            tmp = dir.path().display(),
            mbox = mbox.display()
        ),
    )
    .unwrap();
    let out = run_mutt(dir.path(), &muttrc, server.imap_port);
    let screen = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "mutt: {}\n--- screen\n{screen}\n--- stderr\n{}\n--- server log\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );

    // The move: gone from INBOX, byte for byte in the folder mutt created.
    let moved = crlf(&corpus_message(12));
    let inbox = fetch_bodies(&mut client, "INBOX");
    assert_eq!(inbox.len(), 29, "INBOX after the move; screen:\n{screen}");
    assert!(!inbox.contains(&moved), "message 12 is still in INBOX");
    assert_eq!(
        fetch_bodies(&mut client, "INBOX.Archive"),
        vec![moved],
        "INBOX.Archive after the move"
    );

    // The copy: mutt fetched message 3 and wrote it to a local mbox unchanged.
    let saved = normalized(&std::fs::read(&mbox).unwrap());
    let original = corpus_message(3);
    let body_at = find(&original, b"\n\n").unwrap();
    assert!(saved.starts_with(b"From "), "not an mbox: {saved:?}");
    assert!(
        find(&saved, &original[body_at..]).is_some(),
        "the body of message 3 is not in the mbox"
    );
    assert_eq!(
        message_id(&saved[find(&saved, b"\n").unwrap() + 1..]),
        message_id(&original)
    );
    client.run("LOGOUT");
    assert_quiet_log(&server);
}

// ---------------------------------------------------------------------------------------------
// 3. Twenty concurrent sessions on one mailbox
// ---------------------------------------------------------------------------------------------

const SESSIONS: usize = 20;
const ITERATIONS: usize = 30;

/// One session's picture of the selected mailbox, kept only from what the server said: the
/// UID and the flags at each sequence number where they are known (RFC 9051 §7.5.1, §7.4.1).
struct Viewer {
    client: Client,
    view: Vec<Option<u32>>,
    /// Parallel to `view`.
    flags: Vec<Option<BTreeSet<String>>>,
    /// Parallel to `view`: the MODSEQ last reported (CONDSTORE sessions only).
    modseqs: Vec<Option<u64>>,
    /// The session enabled CONDSTORE: every FETCH that reports flags must carry UID and
    /// MODSEQ, and a message's MODSEQ never goes down (RFC 7162 §3.1).
    condstore: bool,
    own: BTreeSet<u32>,
    rng: Rng,
    problems: Vec<String>,
}

/// Whether EXPUNGE may arrive while a command is answered (RFC 9051 §7.5.1: not during FETCH,
/// STORE or SEARCH by sequence number).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expunges {
    Allowed,
    Forbidden,
}

impl Viewer {
    fn open(port: u16, user: &str, n: usize, condstore: bool) -> Viewer {
        let mut client = Client::login(port, user, "pw");
        client.name = format!("session {n}");
        let mut viewer = Viewer {
            client,
            view: Vec::new(),
            flags: Vec::new(),
            modseqs: Vec::new(),
            condstore,
            own: BTreeSet::new(),
            rng: Rng::new(1000 + n as u64),
            problems: Vec::new(),
        };
        if condstore {
            let selected = viewer.command("SELECT INBOX (CONDSTORE)", Expunges::Allowed);
            let highest = selected
                .untagged
                .iter()
                .any(|u| String::from_utf8_lossy(u).contains("[HIGHESTMODSEQ "));
            if !highest {
                viewer.problem("SELECT (CONDSTORE) without HIGHESTMODSEQ".into());
            }
        } else {
            viewer.command("SELECT INBOX", Expunges::Allowed);
        }
        viewer
    }

    /// The FETCH items this session asks for to learn a message: MODSEQ too under CONDSTORE.
    fn learn_items(&self) -> &'static str {
        if self.condstore {
            "UID FLAGS MODSEQ"
        } else {
            "UID FLAGS"
        }
    }

    fn problem(&mut self, what: String) {
        self.problems.push(format!("{}: {what}", self.client.name));
    }

    fn command(&mut self, command: &str, expunges: Expunges) -> Outcome {
        let outcome = self.client.run(command);
        self.absorb(&outcome, expunges);
        outcome
    }

    /// Folds one command's untagged responses into the view, in the order they arrived, and
    /// notes every protocol violation.
    fn absorb(&mut self, outcome: &Outcome, expunges: Expunges) {
        if outcome.status != "OK" {
            self.problem(format!(
                "{} → {} {}",
                outcome.command, outcome.status, outcome.text
            ));
        }
        for (raw, response) in outcome.untagged.iter().zip(outcome.parsed()) {
            let said = || {
                format!(
                    "{} during {}",
                    String::from_utf8_lossy(raw),
                    outcome.command
                )
            };
            let len = self.view.len();
            match response {
                Untagged::Exists(n) if (n as usize) < len => {
                    self.problem(format!("EXISTS shrank from {len}: {}", said()))
                }
                Untagged::Exists(n) => {
                    self.view.resize(n as usize, None);
                    self.flags.resize(n as usize, None);
                    self.modseqs.resize(n as usize, None);
                }
                Untagged::Expunge(_) if expunges == Expunges::Forbidden => {
                    self.problem(format!("EXPUNGE not allowed here: {}", said()))
                }
                Untagged::Expunge(n) if n == 0 || n as usize > len => {
                    self.problem(format!("EXPUNGE beyond {len}: {}", said()))
                }
                Untagged::Expunge(n) => {
                    self.view.remove(n as usize - 1);
                    self.flags.remove(n as usize - 1);
                    self.modseqs.remove(n as usize - 1);
                }
                Untagged::Fetch(n, _) if n == 0 || n as usize > len => {
                    self.problem(format!("FETCH beyond {len}: {}", said()))
                }
                Untagged::Fetch(n, items) => self.learn_uid(n, &items, &said),
                Untagged::Search(found) => {
                    if found.iter().any(|s| *s == 0 || *s as usize > len)
                        && !outcome.command.starts_with("UID")
                    {
                        self.problem(format!("SEARCH beyond {len}: {}", said()));
                    }
                }
                Untagged::Status(text) if !text.starts_with("* OK") => {
                    self.problem(format!("untagged {text}"))
                }
                Untagged::Status(_) | Untagged::Other => {}
            }
        }
    }

    fn learn_uid(&mut self, seq: u32, items: &BTreeMap<String, Value>, said: &dyn Fn() -> String) {
        if let Some(flags) = items.get("FLAGS") {
            self.flags[seq as usize - 1] = Some(flag_set(flags));
        }
        if self.condstore {
            self.learn_modseq(seq, items, said);
        }
        let Some(uid) = items.get("UID") else { return };
        let uid: u32 = uid.atom().parse().unwrap();
        let slot = &mut self.view[seq as usize - 1];
        match *slot {
            Some(known) if known != uid => {
                let text = format!("sequence {seq} is UID {known} here: {}", said());
                self.problem(text);
            }
            _ => *slot = Some(uid),
        }
    }

    fn learn_modseq(
        &mut self,
        seq: u32,
        items: &BTreeMap<String, Value>,
        said: &dyn Fn() -> String,
    ) {
        let modseq = items
            .get("MODSEQ")
            .and_then(|v| v.list().first())
            .and_then(|v| v.atom().parse::<u64>().ok());
        if items.contains_key("FLAGS") && (modseq.is_none() || !items.contains_key("UID")) {
            self.problem(format!("FLAGS without UID and MODSEQ: {}", said()));
        }
        let Some(modseq) = modseq else { return };
        let slot = &mut self.modseqs[seq as usize - 1];
        match *slot {
            Some(known) if known > modseq => {
                let text = format!("MODSEQ went down from {known}: {}", said());
                self.problem(text);
            }
            _ => *slot = Some(modseq),
        }
    }

    fn seq_of(&self, uid: u32) -> Option<usize> {
        self.view
            .iter()
            .position(|u| *u == Some(uid))
            .map(|i| i + 1)
    }

    /// FETCH by sequence number for every message whose UID or flags this session does not
    /// know yet.
    fn learn_unknown(&mut self) {
        let unknown = |i: &usize| self.view[*i].is_none() || self.flags[*i].is_none();
        let first = (0..self.view.len()).find(unknown);
        let last = (0..self.view.len()).rev().find(unknown);
        if let (Some(first), Some(last)) = (first, last) {
            let items = self.learn_items();
            self.command(
                &format!("FETCH {}:{} ({items})", first + 1, last + 1),
                Expunges::Forbidden,
            );
        }
    }

    fn random_own(&mut self) -> Option<u32> {
        let own: Vec<u32> = self.own.iter().copied().collect();
        (!own.is_empty()).then(|| own[self.rng.below(own.len())])
    }

    /// STORE by sequence number on one of this session's messages: the FETCH that answers it
    /// must carry the sequence number this session computed.
    fn store_by_sequence(&mut self, uid: u32) {
        let Some(seq) = self.seq_of(uid) else {
            self.problem(format!("own UID {uid} is not in the view"));
            return;
        };
        let outcome = self.command(
            &format!("STORE {seq} +FLAGS (\\Flagged)"),
            Expunges::Forbidden,
        );
        let answered = outcome.parsed().into_iter().any(|u| match u {
            Untagged::Fetch(n, items) => {
                n as usize == seq
                    && items
                        .get("FLAGS")
                        .is_some_and(|f| flag_set(f).contains("\\Flagged"))
            }
            _ => false,
        });
        if !answered || self.seq_of(uid) != Some(seq) {
            self.problem(format!(
                "STORE {seq} (UID {uid}) was not answered for that message"
            ));
        }
    }

    /// Removes one of this session's messages: EXPUNGE, UID EXPUNGE (RFC 4315) or MOVE by
    /// sequence number (RFC 6851, whose own EXPUNGE responses are part of its answer).
    fn expunge_own(&mut self, iteration: usize) {
        let Some(uid) = self.random_own() else { return };
        self.own.remove(&uid);
        if (iteration / 5) % 3 == 2 {
            let Some(seq) = self.seq_of(uid) else {
                self.problem(format!("own UID {uid} is not in the view"));
                return;
            };
            self.command(&format!("MOVE {seq} INBOX.Moved"), Expunges::Allowed);
            if self.seq_of(uid).is_some() {
                self.problem(format!("MOVE {seq} did not expunge UID {uid}"));
            }
            return;
        }
        self.command(
            &format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"),
            Expunges::Allowed,
        );
        if (iteration / 5).is_multiple_of(3) {
            self.command("EXPUNGE", Expunges::Allowed);
        } else {
            self.command(&format!("UID EXPUNGE {uid}"), Expunges::Allowed);
        }
    }

    fn iteration(&mut self, n: usize, k: usize) {
        let message = format!(
            "From: s{n}@example.org\r\nSubject: session {n} message {k}\r\n\
             Message-ID: <{n}.{k}.concurrent@darius.test>\r\n\r\n{}\r\n",
            "x".repeat(100 + self.rng.below(2000))
        );
        let outcome = self.client.append("INBOX", "", message.as_bytes());
        self.absorb(&outcome, Expunges::Allowed);
        if outcome.status == "OK" {
            self.own.insert(outcome.append_uid());
        }
        self.learn_unknown();
        if let Some(uid) = self.random_own() {
            self.store_by_sequence(uid);
        }
        if k % 3 == 1 {
            if let Some(uid) = self.random_own() {
                self.command(
                    &format!("UID STORE {uid} +FLAGS (\\Seen)"),
                    Expunges::Allowed,
                );
            }
        }
        if k % 4 == 2 {
            self.command("SEARCH UNSEEN", Expunges::Forbidden);
            let flags = if self.condstore {
                "UID FLAGS MODSEQ"
            } else {
                "FLAGS"
            };
            self.command(&format!("FETCH 1:* ({flags})"), Expunges::Forbidden);
        }
        if k % 5 == 4 {
            self.expunge_own(k);
        }
        if n % 4 == 3 {
            let outcome = self.client.idle(Duration::from_millis(20));
            self.absorb(&outcome, Expunges::Allowed);
        } else {
            self.command("NOOP", Expunges::Allowed);
        }
    }

    /// After everyone stopped: the whole view, as (UID, flags, MODSEQ under CONDSTORE) in
    /// sequence order, as the untagged FETCH responses said; none is fetched again here.
    fn final_view(&mut self) -> Vec<(u32, BTreeSet<String>, Option<u64>)> {
        self.command("NOOP", Expunges::Allowed);
        self.learn_unknown();
        let searched = self.command("UID SEARCH ALL", Expunges::Allowed).search();
        let uids: Vec<u32> = self.view.iter().map(|u| u.unwrap_or(0)).collect();
        if searched != uids {
            self.problem(format!(
                "UID SEARCH ALL {searched:?} but the view is {uids:?}"
            ));
        }
        uids.into_iter()
            .zip(self.flags.iter().map(|f| f.clone().unwrap_or_default()))
            .zip(self.modseqs.iter().copied())
            .map(|((uid, flags), modseq)| (uid, flags, modseq))
            .collect()
    }
}

#[test]
fn twenty_concurrent_sessions_keep_consistent_views_of_one_mailbox() {
    concurrent_sessions(false, SESSIONS);
}

/// The same with fifty sessions (the size of the outside stress run) and CONDSTORE on in
/// every one: each flag report carries UID and MODSEQ, no MODSEQ goes down, and every session
/// ends knowing each message's MODSEQ exactly.
#[test]
fn fifty_concurrent_condstore_sessions_keep_consistent_views_and_modseqs() {
    concurrent_sessions(true, 50);
}

fn concurrent_sessions(condstore: bool, sessions: usize) {
    let server = common::Server::start();
    server.add_user("carol", "pw");
    let port = server.imap_port;
    Client::login(port, "carol", "pw")
        .run("CREATE INBOX.Moved")
        .ok();
    let start = Arc::new(Barrier::new(sessions));
    let done = Arc::new(Barrier::new(sessions + 1));
    let checked = Arc::new(Barrier::new(sessions + 1));
    let threads: Vec<_> = (0..sessions)
        .map(|n| {
            let (start, done, checked) = (start.clone(), done.clone(), checked.clone());
            std::thread::spawn(move || {
                use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
                // A session that fails still reaches every barrier, so the failure is reported
                // (when the thread is joined) instead of leaving the others waiting forever.
                let opened = catch_unwind(|| Viewer::open(port, "carol", n, condstore));
                start.wait();
                let worked = opened.and_then(|mut viewer| {
                    catch_unwind(AssertUnwindSafe(|| {
                        for k in 0..ITERATIONS {
                            viewer.iteration(n, k);
                        }
                    }))
                    .map(|()| viewer)
                });
                done.wait();
                let viewed = worked.and_then(|mut viewer| {
                    catch_unwind(AssertUnwindSafe(|| viewer.final_view())).map(|v| (viewer, v))
                });
                checked.wait();
                let (mut viewer, view) = viewed.unwrap_or_else(|panic| resume_unwind(panic));
                viewer.client.run("LOGOUT");
                (view, viewer.own, viewer.problems)
            })
        })
        .collect();
    done.wait();
    let mut client = Client::login(port, "carol", "pw");
    client.run("EXAMINE INBOX").ok();
    let truth: Vec<(u32, BTreeSet<String>, Option<u64>)> = client
        .run("FETCH 1:* (UID FLAGS MODSEQ)")
        .ok()
        .parsed()
        .into_iter()
        .filter_map(|u| match u {
            Untagged::Fetch(_, items) => Some((
                items["UID"].atom().parse().unwrap(),
                flag_set(&items["FLAGS"]),
                condstore.then(|| items["MODSEQ"].list()[0].atom().parse().unwrap()),
            )),
            _ => None,
        })
        .collect();
    checked.wait();
    let mut own_union = BTreeSet::new();
    let mut problems = Vec::new();
    for (n, thread) in threads.into_iter().enumerate() {
        let (view, own, session_problems) = thread.join().unwrap();
        problems.extend(session_problems);
        let wrong: Vec<_> = view.iter().filter(|m| !truth.contains(m)).collect();
        if view.len() != truth.len() || !wrong.is_empty() {
            problems.push(format!(
                "session {n} sees {} messages, the server has {}; they differ at {wrong:?}",
                view.len(),
                truth.len()
            ));
        }
        own_union.extend(own);
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}\n--- server log\n{}",
        problems.len(),
        problems.join("\n"),
        server.log()
    );
    assert_eq!(
        own_union,
        truth.iter().map(|(uid, _, _)| *uid).collect(),
        "every kept message, and only those"
    );
    assert_eq!(
        truth.len(),
        sessions * ITERATIONS - sessions * (ITERATIONS / 5)
    );
    let moved = client.run("STATUS INBOX.Moved (MESSAGES)").ok();
    let moves = (0..ITERATIONS)
        .filter(|k| k % 5 == 4 && (k / 5) % 3 == 2)
        .count();
    let expected = format!("(MESSAGES {})", sessions * moves);
    assert!(
        String::from_utf8_lossy(&moved.untagged[0]).ends_with(&expected),
        "every MOVE arrived"
    );
    assert_quiet_log(&server);
}

// ---------------------------------------------------------------------------------------------
// Regressions the clients above revealed
// ---------------------------------------------------------------------------------------------

/// RFC 9051 §6.4.6: STORE without .SILENT returns the updated value, also for a message whose
/// flags it did not change (the concurrent sessions above check each STORE by its answer).
#[test]
fn store_answers_every_message_even_when_its_flags_did_not_change() {
    let server = common::Server::start();
    server.add_user("dave", "pw");
    let mut client = Client::login(server.imap_port, "dave", "pw");
    for i in 0..3 {
        client
            .append("INBOX", "\\Flagged", &crlf(&corpus_message(i)))
            .ok();
    }
    client.run("SELECT INBOX").ok();
    let answered = |outcome: &Outcome| -> Vec<(u32, BTreeSet<String>)> {
        outcome
            .parsed()
            .into_iter()
            .filter_map(|u| match u {
                Untagged::Fetch(n, items) => Some((n, flag_set(&items["FLAGS"]))),
                _ => None,
            })
            .collect()
    };
    let flagged: BTreeSet<String> = ["\\Flagged".to_string()].into();
    let store = client.run("STORE 1:3 +FLAGS (\\Flagged)").ok();
    assert_eq!(
        answered(&store),
        vec![
            (1, flagged.clone()),
            (2, flagged.clone()),
            (3, flagged.clone())
        ]
    );
    let uid_store = client.run("UID STORE 2 -FLAGS (\\Seen)").ok();
    assert_eq!(answered(&uid_store), vec![(2, flagged)]);
    assert!(String::from_utf8_lossy(&uid_store.untagged[0]).contains("UID 2"));
    let silent = client.run("STORE 1:3 +FLAGS.SILENT (\\Flagged)").ok();
    assert!(silent.untagged.is_empty());
}

/// The change feed holds 1,024 changes per mailbox; a session that sleeps through more must
/// rebuild its view from the index and still report every EXPUNGE, EXISTS and flag change.
#[test]
fn a_session_that_falls_behind_the_change_feed_catches_up() {
    let server = common::Server::start();
    server.add_user("erin", "pw");
    let port = server.imap_port;
    let mut writer = Client::login(port, "erin", "pw");
    for i in 0..40 {
        writer.append("INBOX", "", &crlf(&corpus_message(i))).ok();
    }
    let mut sleeper = Viewer::open(port, "erin", 0, false);
    sleeper.learn_unknown();
    writer.run("SELECT INBOX").ok();
    for round in 0..1100 {
        let seq = 1 + round % 40;
        writer
            .run(&format!(
                "STORE {seq} FLAGS.SILENT (\\Flagged $r{})",
                round % 50
            ))
            .ok();
    }
    writer.run("STORE 3:7 +FLAGS.SILENT (\\Deleted)").ok();
    writer.run("EXPUNGE").ok();
    for i in 40..43 {
        writer
            .append("INBOX", "\\Seen", &crlf(&corpus_message(i)))
            .ok();
    }
    sleeper.command("NOOP", Expunges::Allowed);
    let truth: Vec<(u32, BTreeSet<String>, Option<u64>)> = writer
        .run("FETCH 1:* (UID FLAGS)")
        .ok()
        .parsed()
        .into_iter()
        .filter_map(|u| match u {
            Untagged::Fetch(_, items) => Some((
                items["UID"].atom().parse().unwrap(),
                flag_set(&items["FLAGS"]),
                None,
            )),
            _ => None,
        })
        .collect();
    let seen = sleeper.final_view();
    assert!(sleeper.problems.is_empty(), "{:#?}", sleeper.problems);
    assert_eq!(seen, truth);
    assert_quiet_log(&server);
}

/// mbsync over IMAPS (RFC 8314 implicit TLS), OpenSSL checking our certificate against the
/// one the test trusts: a real TLS client, not only our own.
#[test]
fn mbsync_syncs_over_imaps_with_a_verified_certificate() {
    if !common::have("mbsync") {
        return;
    }
    let server = common::Server::start();
    server.add_user("frank", "pw");
    let dir = tempfile::tempdir().unwrap();
    let near = dir.path().join("near");
    for i in 0..5 {
        write_maildir_message(&near.join("INBOX"), "cur", i, "S");
    }
    let rc = dir.path().join("mbsyncrc");
    std::fs::write(
        &rc,
        format!(
            "IMAPAccount darius\nHost 127.0.0.1\nPort {port}\nUser frank\nPass pw\n\
             SSLType IMAPS\nCertificateFile {cert}\n\n\
             IMAPStore far\nAccount darius\n\n\
             MaildirStore near\nPath {near}/\nInbox {near}/INBOX\n\n\
             Channel darius\nFar :far:\nNear :near:\nPatterns INBOX\nSync All\n\
             SyncState *\n",
            port = server.imaps_port,
            cert = server.cert_path().display(),
            near = near.display()
        ),
    )
    .unwrap();
    run_mbsync(&rc, &server);
    let mut client = Client::login(server.imap_port, "frank", "pw");
    let bodies = fetch_bodies(&mut client, "INBOX");
    let mut ids: Vec<String> = bodies.iter().map(|b| message_id(b)).collect();
    ids.sort();
    let mut expected: Vec<String> = (0..5).map(|i| message_id(&corpus_message(i))).collect();
    expected.sort();
    assert_eq!(ids, expected);
    assert_quiet_log(&server);
}

/// mbsync 1.4 loads a mailbox with `UID FETCH 1:N (UID FLAGS)`; an unsolicited
/// `* n FETCH (UID u FLAGS ...)` for a message announced by the EXISTS in that same response
/// made it record `u` as the highest UID it had seen and never pull the messages below `u`.
/// New messages come with EXISTS only; their flags are the client's to fetch.
#[test]
fn no_unsolicited_flags_for_messages_the_client_has_not_met() {
    let server = common::Server::start();
    server.add_user("gina", "pw");
    let mut other = Client::login(server.imap_port, "gina", "pw");
    other.append("INBOX", "", &crlf(&corpus_message(0))).ok();
    let mut loader = Client::login(server.imap_port, "gina", "pw");
    loader.run("SELECT INBOX").ok();
    other.run("SELECT INBOX").ok();
    for i in 1..4 {
        other.append("INBOX", "", &crlf(&corpus_message(i))).ok();
    }
    other.run("STORE 4 +FLAGS (\\Flagged)").ok();
    other.run("STORE 1 +FLAGS (\\Seen)").ok();
    let load = loader.run("UID FETCH 1:1 (UID FLAGS)").ok();
    let fetched: BTreeSet<(u32, String)> = load
        .parsed()
        .into_iter()
        .filter_map(|u| match u {
            Untagged::Fetch(seq, items) => Some((seq, items["UID"].atom().to_string())),
            _ => None,
        })
        .collect();
    // UID 1 twice: the answer, then the \Seen another session set (a message the client knows).
    assert_eq!(
        fetched,
        [(1, "1".to_string())].into(),
        "only UID 1 was asked for or met"
    );
    assert!(load
        .parsed()
        .iter()
        .any(|u| matches!(u, Untagged::Exists(4))));
    let later = loader.run("NOOP").ok();
    assert!(later.untagged.is_empty(), "nothing left to report");
    assert_quiet_log(&server);
}

/// One session changing the mailbox while mbsync syncs it: appends, flag changes by sequence
/// number, expunges. Bounded and seeded; only the interleaving with mbsync varies.
fn churn(port: u16, user: &str, seed: usize) {
    let mut session = Viewer::open(port, user, seed, false);
    for n in 0..150 {
        let count = session.view.len();
        if count < 5 || session.rng.below(10) < 3 {
            let message = format!(
                "From: churn@example.org\r\nSubject: churn {seed}.{n}\r\n\
                 Message-ID: <{seed}.{n}.churn@darius.test>\r\n\r\nbody {n}\r\n"
            );
            let outcome = session.client.append("INBOX", "\\Seen", message.as_bytes());
            session.absorb(&outcome, Expunges::Allowed);
            continue;
        }
        let seq = 1 + session.rng.below(count);
        let sign = if session.rng.below(2) == 0 { '+' } else { '-' };
        let flag = ["\\Seen", "\\Flagged", "\\Answered", "\\Draft"][session.rng.below(4)];
        session.command(
            &format!("STORE {seq} {sign}FLAGS ({flag})"),
            Expunges::Forbidden,
        );
        if session.rng.below(20) == 0 {
            session.command(
                &format!("STORE {seq} +FLAGS (\\Deleted)"),
                Expunges::Forbidden,
            );
            session.command("EXPUNGE", Expunges::Allowed);
        }
    }
    assert!(session.problems.is_empty(), "{:#?}", session.problems);
}

/// mbsync syncing again and again while two other sessions change the mailbox, then twice more
/// when they stopped: both sides end with the same messages and flags. (Before the fix for
/// unsolicited FETCH of unmet messages, a run lost the messages below such a FETCH's UID.)
#[test]
fn mbsync_converges_while_other_sessions_change_the_mailbox() {
    if !common::have("mbsync") {
        return;
    }
    let server = common::Server::start();
    server.add_user("hugo", "pw");
    let port = server.imap_port;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("near/INBOX")).unwrap();
    let rc = mbsyncrc_for(dir.path(), port, "near", "hugo");
    run_mbsync(&rc, &server);
    let churners: Vec<_> = (0..2)
        .map(|seed| std::thread::spawn(move || churn(port, "hugo", seed)))
        .collect();
    let mut runs = 0;
    while runs < 3 || churners.iter().any(|c| !c.is_finished()) {
        run_mbsync(&rc, &server);
        runs += 1;
    }
    for c in churners {
        c.join().unwrap();
    }
    run_mbsync(&rc, &server);
    run_mbsync(&rc, &server);
    let on_server = read_folders(port, "hugo", &["INBOX"]).0;
    assert_same(
        &format!("Maildir and server after {runs} syncs under changes"),
        &on_server,
        &read_maildir(&dir.path().join("near")).0,
    );
    assert_quiet_log(&server);
}

/// RFC 9051 §2.3.1.1 and §7.1: UIDNEXT in SELECT is above every UID its one EXISTS counts. SELECT read
/// the mailbox status and its records in two steps; an APPEND in between put a message in
/// EXISTS whose UID was not below UIDNEXT, and mbsync (which loads `1:UIDNEXT-1`) skips such
/// messages for good once it learns a higher UID.
#[test]
fn select_announces_a_uidnext_above_every_message_it_counts() {
    let server = common::Server::start();
    server.add_user("ivy", "pw");
    let port = server.imap_port;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let appenders: Vec<_> = (0..2)
        .map(|n| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut client = Client::login(port, "ivy", "pw");
                let mut k = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && k < 2000 {
                    let message = format!("Subject: {n}.{k}\r\n\r\nx\r\n");
                    client.append("INBOX", "", message.as_bytes()).ok();
                    k += 1;
                }
            })
        })
        .collect();
    let mut selector = Client::login(port, "ivy", "pw");
    let mut bad = Vec::new();
    for round in 0..150 {
        let select = selector.run("SELECT INBOX").ok();
        let text: Vec<String> = select
            .untagged
            .iter()
            .map(|r| String::from_utf8_lossy(r).to_string())
            .collect();
        let uidnext: u32 = text
            .iter()
            .find_map(|l| l.strip_prefix("* OK [UIDNEXT "))
            .and_then(|l| l.split(']').next())
            .unwrap()
            .parse()
            .unwrap();
        // One EXISTS, the snapshot UIDNEXT speaks for; messages appended meanwhile are the next
        // command's news (a second EXISTS here, then a flag change of such a message during
        // mbsync's `UID FETCH 1:UIDNEXT-1`, made it skip messages).
        let exists: Vec<usize> = text
            .iter()
            .filter_map(|l| l.strip_prefix("* ")?.strip_suffix(" EXISTS")?.parse().ok())
            .collect();
        if exists.len() != 1 {
            bad.push(format!("round {round}: SELECT answered {exists:?} EXISTS"));
        }
        let counted = exists[0];
        let loaded = selector.run("UID FETCH 1:* (UID)").ok();
        let uids: Vec<u32> = loaded
            .parsed()
            .into_iter()
            .filter_map(|u| match u {
                Untagged::Fetch(_, items) => items["UID"].atom().parse().ok(),
                _ => None,
            })
            .take(counted)
            .collect();
        if uids.iter().any(|u| *u >= uidnext) {
            bad.push(format!(
                "round {round}: UIDNEXT {uidnext} but the {counted} counted go up to {:?}",
                uids.last()
            ));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for a in appenders {
        a.join().unwrap();
    }
    assert!(bad.is_empty(), "{bad:#?}");
}
