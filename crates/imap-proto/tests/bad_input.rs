//! Bad input (docs/TESTING.md): every case ends in one clean error naming the tag when it could be
//! read — never a panic, a hang or unbounded buffering.
#![allow(clippy::unwrap_used)]

use imap_proto::framer::{CommandFramer, FramerEvent};
use imap_proto::mutf7::Mutf7Error;
use imap_proto::{parse_command, ErrorKind, Limits, MailboxEncoding, ParseError};

fn err(input: &[u8]) -> ParseError {
    parse_command(input, MailboxEncoding::ModifiedUtf7).unwrap_err()
}

fn events(input: &[u8]) -> Vec<FramerEvent> {
    let mut framer = CommandFramer::new(Limits::default());
    framer.push(input);
    std::iter::from_fn(|| framer.next_event()).collect()
}

#[test]
fn gibberish_instead_of_command_is_bad_with_tag() {
    let e = err(b"a1 BLURDYBLOOP\r\n");
    assert_eq!(e.tag.unwrap().as_str(), "a1");
    assert_eq!(e.kind, ErrorKind::UnknownCommand("BLURDYBLOOP".into()));
    assert_eq!(err(b"+x NOOP\r\n").tag, None);
    assert_eq!(err(b"\r\n").kind, ErrorKind::InvalidTag);
    assert_eq!(err(b"a NOOP extra\r\n").kind, ErrorKind::Trailing);
    assert_eq!(err(b"a NOOP").kind, ErrorKind::Incomplete);
}

#[test]
fn deep_parenthesis_nesting_is_refused_without_recursion_blowup() {
    let deep = [
        b"a SEARCH ".as_slice(),
        &[b'('; 30_000],
        b"ALL",
        &[b')'; 30_000],
        b"\r\n",
    ]
    .concat();
    assert_eq!(err(&deep).kind, ErrorKind::NestingTooDeep { max: 64 });
    let nots = [b"a SEARCH ".as_slice(), &b"NOT ".repeat(10_000), b"ALL\r\n"].concat();
    assert_eq!(err(&nots).kind, ErrorKind::NestingTooDeep { max: 64 });
    let ext = [b"a SELECT x (X ".as_slice(), &[b'('; 1000], b"\r\n"].concat();
    assert!(matches!(err(&ext).kind, ErrorKind::NestingTooDeep { .. }));
}

#[test]
fn invalid_modified_utf7_names_are_refused() {
    assert_eq!(
        err(b"a SELECT &Jjo\r\n").kind,
        ErrorKind::Mutf7(Mutf7Error::Unterminated)
    );
    assert_eq!(
        err(b"a SELECT &AGE-\r\n").kind,
        ErrorKind::Mutf7(Mutf7Error::EncodesAscii)
    );
    assert_eq!(
        err(b"a SELECT \"caf\xc3\xa9\"\r\n").kind,
        ErrorKind::Mutf7(Mutf7Error::NotPrintable(0xc3))
    );
    assert_eq!(
        err(b"a SELECT &U,BTFw-&ZeVnLIqe-\r\n").kind,
        ErrorKind::Mutf7(Mutf7Error::NonMinimal)
    );
}

#[test]
fn invalid_utf8_and_8bit_atoms_are_refused_in_utf8_mode() {
    let e = parse_command(b"a SELECT \"\xff\"\r\n", MailboxEncoding::Utf8).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidUtf8);
    assert!(parse_command("a SELECT Entwürfe\r\n".as_bytes(), MailboxEncoding::Utf8).is_err());
}

#[test]
fn nul_bytes_are_refused() {
    assert_eq!(err(b"a LOGIN \"a\0b\" c\r\n").kind, ErrorKind::Nul);
    assert_eq!(err(b"a LOGIN {3}\r\na\0b c\r\n").kind, ErrorKind::Nul);
    assert!(err(b"a NO\0OP\r\n").tag.is_some());
}

#[test]
fn bad_literal_sizes_are_refused() {
    let ev = events(b"a LOGIN {99999999999999999999}\r\nb NOOP\r\n");
    assert!(matches!(&ev[0], FramerEvent::Bad(e) if e.kind == ErrorKind::BadLiteralSize));
    assert!(matches!(&ev[1], FramerEvent::Command(_)));
    let ev = events(b"a LOGIN {-5}\r\nb NOOP\r\n");
    assert!(matches!(&ev[0], FramerEvent::Bad(e) if e.tag.is_some()));
    assert!(matches!(&ev[1], FramerEvent::Command(_)));
    assert_eq!(err(b"a LOGIN {10}\r\nabc").kind, ErrorKind::Incomplete);
}

#[test]
fn pipelined_garbage_resynchronises_at_each_line() {
    let ev = events(b"\x07\xff\xfe)(*&^%$#@!\r\n}{~{\r\n+ x\r\n* y\r\na NOOP\r\n");
    let bad = ev
        .iter()
        .filter(|e| matches!(e, FramerEvent::Bad(_)))
        .count();
    assert_eq!(bad, 4);
    assert!(matches!(ev.last(), Some(FramerEvent::Command(c)) if c.tag.as_str() == "a"));
}

#[test]
fn bad_dates_flags_and_numbers_are_refused() {
    assert_eq!(
        err(b"a SEARCH SINCE 30-Feb-2020\r\n").kind,
        ErrorKind::InvalidDate
    );
    assert_eq!(
        err(b"a SEARCH SINCE 1-Foo-2020\r\n").kind,
        ErrorKind::InvalidDate
    );
    assert!(matches!(
        err(b"a STORE 1 +FLAGS (\\Recent)\r\n").kind,
        ErrorKind::Flag(_)
    ));
    assert_eq!(
        err(b"a FETCH 0 FLAGS\r\n").kind,
        ErrorKind::NumberOutOfRange
    );
    assert_eq!(
        err(b"a FETCH 4294967296 FLAGS\r\n").kind,
        ErrorKind::NumberOutOfRange
    );
    assert_eq!(
        err(b"a APPEND x \"31-Dec-1999 25:00:00 +0000\" {1}\r\nx\r\n").kind,
        ErrorKind::InvalidDate
    );
    assert_eq!(
        err(b"a AUTHENTICATE PLAIN !!\r\n").kind,
        ErrorKind::InvalidBase64
    );
    assert_eq!(
        err(b"a AUTHENTICATE PLAIN AGJ\r\n").kind,
        ErrorKind::InvalidBase64
    );
}

#[test]
fn refusals_become_one_response_each() {
    use imap_proto::response::Response;
    let bytes =
        |e: ParseError| Response::Status(e.to_response()).to_bytes(MailboxEncoding::ModifiedUtf7);
    assert_eq!(
        bytes(err(b"a1 BLURDYBLOOP\r\n")),
        b"a1 BAD unknown command BLURDYBLOOP\r\n"
    );
    assert_eq!(bytes(err(b"+\r\n")), b"* BAD invalid tag\r\n");
    let ev = events(b"a APPEND INBOX {999999999999}\r\n");
    let FramerEvent::Bad(e) = &ev[0] else {
        panic!()
    };
    assert_eq!(
        bytes(e.clone()),
        b"a NO [TOOBIG] message of 999999999999 bytes is larger than the limit of 104857600\r\n"
    );
}

#[test]
fn client_controlled_counts_are_bounded() {
    use imap_proto::limits::{MAX_SECTION_PARTS, MAX_SEQUENCE_ITEMS};
    let items = format!(
        "a FETCH {} FLAGS\r\n",
        vec!["1"; MAX_SEQUENCE_ITEMS + 1].join(",")
    );
    assert_eq!(
        err(items.as_bytes()).kind,
        ErrorKind::TooMany {
            what: "items in a sequence set",
            max: MAX_SEQUENCE_ITEMS
        }
    );
    let at_limit = format!(
        "a FETCH {} FLAGS\r\n",
        vec!["1:*"; MAX_SEQUENCE_ITEMS].join(",")
    );
    assert!(parse_command(at_limit.as_bytes(), MailboxEncoding::Utf8).is_ok());
    let path = vec!["1"; MAX_SECTION_PARTS + 1].join(".");
    let e = err(format!("a FETCH 1 BODY[{path}]\r\n").as_bytes());
    assert!(matches!(
        e.kind,
        ErrorKind::TooMany {
            what: "part numbers in a section",
            ..
        }
    ));
    let path = vec!["2"; MAX_SECTION_PARTS].join(".");
    assert!(parse_command(
        format!("a FETCH 1 BINARY[{path}]\r\n").as_bytes(),
        MailboxEncoding::Utf8
    )
    .is_ok());
}

/// RFC 2971 §3.3: 30 pairs, names up to 30 octets, values up to 1024 octets.
#[test]
fn id_fields_are_bounded_as_rfc_2971_says() {
    let pairs = |n: usize| {
        (0..n)
            .map(|i| format!("\"k{i}\" \"v\""))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(parse_command(
        format!("a ID ({})\r\n", pairs(30)).as_bytes(),
        MailboxEncoding::Utf8
    )
    .is_ok());
    assert_eq!(
        err(format!("a ID ({})\r\n", pairs(31)).as_bytes()).kind,
        ErrorKind::TooMany {
            what: "ID fields",
            max: 30
        }
    );
    let long_name = format!("a ID (\"{}\" NIL)\r\n", "n".repeat(31));
    assert_eq!(
        err(long_name.as_bytes()).kind,
        ErrorKind::TooLong {
            what: "ID field name",
            max: 30
        }
    );
    let long_value = format!("a ID (\"name\" {{1025}}\r\n{})\r\n", "v".repeat(1025));
    assert_eq!(
        err(long_value.as_bytes()).kind,
        ErrorKind::TooLong {
            what: "ID value",
            max: 1024
        }
    );
    let max_value = format!("a ID (\"name\" {{1024}}\r\n{})\r\n", "v".repeat(1024));
    assert!(parse_command(max_value.as_bytes(), MailboxEncoding::Utf8).is_ok());
}

/// Before login the framer buffers at most a small command, and a refused non-synchronising
/// literal past the allowance closes the connection instead of being read.
#[test]
fn before_login_literals_and_commands_get_a_small_allowance() {
    use imap_proto::limits::{PRELOGIN_LINE, PRELOGIN_LITERAL};
    let limits = Limits::default().before_login();
    assert_eq!(limits.max_literal, PRELOGIN_LITERAL);
    assert_eq!(limits.max_command, PRELOGIN_LINE);
    let mut framer = CommandFramer::new(limits.clone());
    framer.push(b"a LOGIN {10000}\r\n");
    let ev: Vec<_> = std::iter::from_fn(|| framer.next_event()).collect();
    assert!(
        matches!(&ev[..], [FramerEvent::Bad(e)] if matches!(e.kind, ErrorKind::LiteralTooLarge { .. })),
        "{ev:?}"
    );
    framer.push(b"b LOGIN {65536+}\r\n");
    let ev: Vec<_> = std::iter::from_fn(|| framer.next_event()).collect();
    assert!(matches!(ev.last(), Some(FramerEvent::Fatal(_))), "{ev:?}");
    // Chained literals each within the allowance still stop at the command allowance.
    let mut framer = CommandFramer::new(limits.clone());
    let chunk = format!("{{8000+}}\r\n{}", "x".repeat(8000));
    framer.push(format!("c LOGIN {chunk} {chunk} {chunk}\r\n").as_bytes());
    let ev: Vec<_> = std::iter::from_fn(|| framer.next_event()).collect();
    assert!(
        ev.iter().any(|e| matches!(e, FramerEvent::Bad(e) if matches!(e.kind, ErrorKind::CommandTooLong { .. }))),
        "{ev:?}"
    );
    let mut framer = CommandFramer::new(limits);
    framer.push(b"d APPEND INBOX {100000000+}\r\n");
    let ev: Vec<_> = std::iter::from_fn(|| framer.next_event()).collect();
    assert!(
        matches!(ev.last(), Some(FramerEvent::Fatal(_))),
        "no 100 MB read before login: {ev:?}"
    );
    // A configured limit smaller than the allowance stays.
    let small = Limits {
        max_line: 2048,
        ..Limits::default()
    }
    .before_login();
    assert_eq!(small.max_line, 2048);
}
