//! Whole-session fuzzing over real sockets: many sessions of valid, mutated, random and hostile
//! commands (deterministic from a seed) against one server. The server must never panic, hang
//! or stop serving: at the end a fresh session still logs in, appends, fetches and searches,
//! and the log holds no panic. Set DARIUS_FUZZ_SESSIONS for a longer run.
//!
//! The hostile shapes are those that once took a server down or stalled it (issue 9): runs of
//! wildcards in LIST and LSUB patterns, sequence sets of thousands of ranges, repeated FETCH
//! items, huge and chained literals, unparenthesised `OR`/`NOT` chains, long ID lists and long
//! section paths, QRESYNC known-UID sets and VANISHED fetches of thousands of ranges, each at
//! random sizes up to and past their bounds.
#![allow(clippy::unwrap_used)]

mod common;

use common::{drain, Rng};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const COMMANDS: &[&[u8]] = &[
    b"LOGIN alice pw-alice",
    b"AUTHENTICATE PLAIN AGFsaWNlAHB3LWFsaWNl",
    b"SELECT INBOX",
    b"EXAMINE INBOX",
    b"CREATE INBOX.f",
    b"DELETE INBOX.f",
    b"RENAME INBOX.f INBOX.g",
    b"LIST \"\" *",
    b"LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% INBOX.*) RETURN (CHILDREN STATUS (MESSAGES SIZE))",
    b"LSUB \"\" %",
    b"STATUS INBOX (MESSAGES UIDNEXT UNSEEN SIZE DELETED)",
    b"APPEND INBOX (\\Seen) {24+}\r\nSubject: fuzz\r\n\r\nbody\r\n",
    b"APPEND INBOX {1+}\r\nx",
    b"APPEND INBOX {24+}\r\nSubject: cr\r\n\r\na\rb\r\r\n\rc\r",
    b"SEARCH FROM \"a@b\" CC \"<x (c)@ y>\"",
    b"FETCH 1:* (FLAGS UID ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
    b"FETCH * (BODY[1.MIME] BODY[TEXT]<2.3> BINARY[1] BINARY.SIZE[1] RFC822)",
    b"UID FETCH 1:* FAST",
    b"STORE 1:* +FLAGS (\\Deleted $Fuzz)",
    b"UID STORE 1:* -FLAGS.SILENT (\\Deleted)",
    b"SEARCH OR (FROM a TO b) NOT (SUBJECT fuzz) BODY x",
    b"UID SEARCH RETURN (MIN MAX COUNT SAVE) CHARSET UTF-8 TEXT body",
    b"SEARCH $ 1:3 UNDELETED SINCE 1-Jan-2020",
    b"COPY 1:2 INBOX.f",
    b"MOVE 1 INBOX.g",
    b"EXPUNGE",
    b"UID EXPUNGE 1:5",
    b"IDLE\r\nDONE",
    b"NOOP",
    b"CHECK",
    b"CLOSE",
    b"UNSELECT",
    b"NAMESPACE",
    b"ENABLE IMAP4rev2",
    b"ENABLE CONDSTORE QRESYNC",
    b"SELECT INBOX (CONDSTORE)",
    b"SELECT INBOX (QRESYNC (1 1 1:* (1:2 3:4)))",
    b"EXAMINE INBOX (QRESYNC (4294967295 18446744073709551615 1,3:*))",
    b"UID FETCH 1:* (FLAGS MODSEQ) (CHANGEDSINCE 1 VANISHED)",
    b"FETCH 1:* (FLAGS) (CHANGEDSINCE 0)",
    b"STORE 1:* (UNCHANGEDSINCE 2) +FLAGS.SILENT ($Fuzz)",
    b"SEARCH MODSEQ \"/flags/\\\\seen\" all 1",
    b"STATUS INBOX (HIGHESTMODSEQ)",
    b"ID (\"name\" \"fuzz\")",
    b"CAPABILITY",
    b"SUBSCRIBE INBOX",
    b"STARTTLS",
];

/// Items for the repeated-items shape (issue 9): FETCH of the same items thousands of times,
/// mixed with distinct partials, so merging and the item cap are exercised.
const FETCH_ITEMS: &[&str] = &[
    "BODY.PEEK[]",
    "BODY[]",
    "BINARY.PEEK[1]",
    "BINARY.SIZE[1]",
    "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]",
    "BODY.PEEK[TEXT]<0.5>",
    "RFC822",
    "UID",
];

fn repeated_items(rng: &mut Rng) -> Vec<u8> {
    let items: Vec<String> = (0..=rng.below(3000))
        .map(|_| match rng.below(4) {
            0 => format!("BODY.PEEK[]<{}.{}>", rng.below(400), rng.below(100)),
            _ => FETCH_ITEMS[rng.below(FETCH_ITEMS.len())].to_string(),
        })
        .collect();
    format!("FETCH 1:* ({})", items.join(" ")).into_bytes()
}

const NOISE: &[u8] = b"(){}[]<>\"\\*%$+-~\r\n\0 .:0123456789AZaz\x80\xff";

fn mutate(rng: &mut Rng, command: &[u8]) -> Vec<u8> {
    let mut bytes = command.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 if at < bytes.len() => {
                bytes.remove(at);
            }
            1 if at < bytes.len() => bytes[at] = NOISE[rng.below(NOISE.len())],
            2 => bytes.splice(at..at, b"{99}".iter().copied()).for_each(drop),
            _ => bytes.insert(at, NOISE[rng.below(NOISE.len())]),
        }
    }
    bytes
}

/// `piece` repeated a random number of times up to `max`, joined by `sep`.
fn repeated(rng: &mut Rng, piece: &str, sep: &str, max: usize) -> String {
    vec![piece; 1 + rng.below(max)].join(sep)
}

/// A command of a shape that drives recursion, per-item work or buffering.
fn hostile(rng: &mut Rng) -> Vec<u8> {
    let pick = rng.below(4);
    let text = match rng.below(10) {
        0 => {
            let piece = ["*", "%", "*%", "a*"][pick];
            format!("LIST \"\" {}", repeated(rng, piece, "", 40_000))
        }
        1 => format!("LSUB \"{}\" x%", repeated(rng, "*", "", 3_000)),
        2 => {
            let uid = ["", "UID "][pick % 2];
            format!("{uid}FETCH {} (UID)", repeated(rng, "1:*", ",", 17_000))
        }
        3 => {
            let item = ["BODY.PEEK[]", "RFC822.SIZE", "BINARY.PEEK[1]<0.9>", "FLAGS"][pick];
            format!("FETCH 1:* ({})", repeated(rng, item, " ", 300))
        }
        4 => {
            let ors = repeated(rng, "OR ", "", 20_000);
            format!("SEARCH {ors}{}", repeated(rng, "ALL", " ", 200))
        }
        5 => {
            let not = ["NOT ", "NOT (OR SEEN "][pick % 2];
            format!("SEARCH {}ALL", repeated(rng, not, "", 20_000))
        }
        6 => {
            let pairs: Vec<String> = (0..rng.below(40))
                .map(|i| format!("\"k{i}\" \"{}\"", "v".repeat(rng.below(1_100))))
                .collect();
            format!("ID ({})", pairs.join(" "))
        }
        7 if pick == 0 => format!(
            "SELECT INBOX (QRESYNC (1 1 {}))",
            repeated(rng, "1:4294967295", ",", 17_000)
        ),
        7 if pick == 1 => format!(
            "UID FETCH {} (FLAGS) (CHANGEDSINCE 1 VANISHED)",
            repeated(rng, "2:9,11", ",", 17_000)
        ),
        7 => format!("FETCH 1 BODY.PEEK[{}]", repeated(rng, "1", ".", 5_000)),
        8 => {
            // Chained literals, announced and sent, of up to 70,000 bytes each.
            let mut chain = String::from("LOGIN");
            for _ in 0..1 + rng.below(4) {
                let len = rng.below(70_000);
                chain.push_str(&format!(" {{{len}+}}\r\n{}", "x".repeat(len)));
            }
            chain
        }
        _ => {
            let len = [9_999_999_999u64, 1 << 40, 123_456_789, 70_000][pick];
            format!("APPEND INBOX {{{len}+}}")
        }
    };
    text.into_bytes()
}

fn one_line(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut line = format!("f{n} ").into_bytes();
    match rng.below(13) {
        0..=5 => line.extend_from_slice(COMMANDS[rng.below(COMMANDS.len())]),
        6 => line.extend(repeated_items(rng)),
        7..=9 => {
            let command = COMMANDS[rng.below(COMMANDS.len())];
            line.extend(mutate(rng, command));
        }
        10 => line.extend((0..rng.below(200)).map(|_| NOISE[rng.below(NOISE.len())])),
        _ => line.extend(hostile(rng)),
    }
    line.extend_from_slice(b"\r\n");
    line
}

#[test]
fn random_sessions_never_break_the_server() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let sessions: usize = std::env::var("DARIUS_FUZZ_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let mut rng = Rng::new(1);
    for _ in 0..sessions {
        let mut stream = TcpStream::connect(("127.0.0.1", server.imap_port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(30)))
            .unwrap();
        for n in 0..(5 + rng.below(25)) {
            if stream.write_all(&one_line(&mut rng, n)).is_err() || !drain(&mut stream) {
                break;
            }
        }
    }
    let mut check = TcpStream::connect(("127.0.0.1", server.imap_port)).unwrap();
    check
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    check
        .write_all(b"a LOGIN alice pw-alice\r\nb SELECT INBOX\r\nc APPEND INBOX {3+}\r\nx\r\n\r\nd UID SEARCH ALL\r\ne LOGOUT\r\n")
        .unwrap();
    let mut reply = String::new();
    let _ = check.read_to_string(&mut reply);
    for tag in ["a OK", "b OK", "c OK", "d OK", "e OK"] {
        assert!(
            reply.contains(tag),
            "server no longer serves properly: {reply}"
        );
    }
    let log = server.log();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
}
