//! The POP3 codec against RFC 1939, RFC 2449 and RFC 5034: what parses into what, what is
//! refused, and the bytes of responses and multi-line bodies.

use pop3_proto::{
    parse_auth_response, parse_command, uidl, AuthResponse, Command, DotStuffer, ParseError,
    RespCode, Response, TopFilter,
};

fn parsed(line: &str) -> Command {
    parse_command(line.as_bytes()).unwrap_or_else(|e| panic!("{line:?}: {e:?}"))
}

fn refused(line: &[u8]) -> ParseError {
    match parse_command(line) {
        Ok(c) => panic!("{:?} parsed as {c:?}", String::from_utf8_lossy(line)),
        Err(e) => e,
    }
}

#[test]
fn every_command_parses_in_any_case_and_encodes_back() {
    let cases = [
        ("user bob", "USER bob"),
        ("PASS a b  c", "PASS a b  c"),
        (
            "APOP bob C4C9334BAC560ECC979E58001B3E22FB",
            "APOP bob c4c9334bac560ecc979e58001b3e22fb",
        ),
        ("auth", "AUTH"),
        ("AUTH plain", "AUTH PLAIN"),
        ("AUTH PLAIN AGJvYgBwdw==", "AUTH PLAIN AGJvYgBwdw=="),
        ("AUTH PLAIN =", "AUTH PLAIN ="),
        ("capa", "CAPA"),
        ("Stls", "STLS"),
        ("STAT", "STAT"),
        ("LIST", "LIST"),
        ("LIST 7", "LIST 7"),
        ("uidl", "UIDL"),
        ("UIDL 1", "UIDL 1"),
        ("RETR 4294967295", "RETR 4294967295"),
        ("top 2 0", "TOP 2 0"),
        ("DELE 3", "DELE 3"),
        ("NOOP", "NOOP"),
        ("rset", "RSET"),
        ("QUIT", "QUIT"),
    ];
    for (line, encoded) in cases {
        let c = parsed(line);
        assert_eq!(String::from_utf8(c.encode()).unwrap(), encoded, "{line}");
        let again = parsed(encoded);
        assert_eq!(again.encode(), c.encode());
    }
    match parsed("PASS  leading space") {
        Command::Pass { password } => assert_eq!(password.expose(), " leading space"),
        other => panic!("{other:?}"),
    }
    assert!(
        !format!("{:?}", parsed("PASS hunter2")).contains("hunter2"),
        "a password never shows in a log line"
    );
    match parsed("AUTH PLAIN AGJvYgBwdw==") {
        Command::Auth {
            initial: Some(d), ..
        } => {
            assert_eq!(d.expose(), b"\0bob\0pw");
            assert!(!format!("{d:?}").contains("bob"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_commands_are_refused_with_a_reason() {
    for line in [
        &b"FOO"[..],
        b"XY",
        b"QUITS",
        b"",
        b" QUIT",
        b"RE TR 1",
        b"\xff\xfe",
    ] {
        let e = refused(line);
        assert!(!e.text().is_empty());
    }
    assert_eq!(refused(b"FROB 1"), ParseError::Unknown);
    for line in [
        &b"QUIT now"[..],
        b"STAT ",
        b"LIST 0",
        b"LIST -1",
        b"LIST +1",
        b"LIST 1 2",
        b"LIST  1",
        b"RETR",
        b"RETR 4294967296",
        b"RETR 99999999999",
        b"DELE x",
        b"TOP 1",
        b"TOP 1 -1",
        b"TOP 0 1",
        b"USER",
        b"USER a b",
        b"USER aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        b"USER a\tb",
        b"PASS",
        b"PASS ",
        b"PASS a\x00b",
        b"APOP bob 123",
        b"APOP bob zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        b"AUTH PLAIN !!!",
        b"AUTH PL*AIN",
        b"AUTH PLAIN a b",
        b"AUTH PLAIN ",
        b"AUTH AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        assert!(
            matches!(refused(line), ParseError::Syntax(_)),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn sasl_response_lines_are_base64_the_empty_marker_or_a_cancel() {
    assert_eq!(parse_auth_response(b"*"), AuthResponse::Cancel);
    for empty in [&b"="[..], b""] {
        match parse_auth_response(empty) {
            AuthResponse::Data(d) => assert!(d.expose().is_empty()),
            other => panic!("{other:?}"),
        }
    }
    match parse_auth_response(b"dGVzdA==") {
        AuthResponse::Data(d) => assert_eq!(d.expose(), b"test"),
        other => panic!("{other:?}"),
    }
    for bad in [&b"dGVzdA"[..], b"not base64!", b"**"] {
        assert_eq!(parse_auth_response(bad), AuthResponse::Bad, "{bad:?}");
    }
}

#[test]
fn status_lines_carry_codes_stay_one_line_and_within_512_octets() {
    assert_eq!(
        Response::ok("maildrop locked").to_bytes(),
        b"+OK maildrop locked\r\n"
    );
    assert_eq!(Response::ok("").to_bytes(), b"+OK\r\n");
    assert_eq!(
        Response::err("Mailbox locked by another session")
            .with_code(RespCode::InUse)
            .to_bytes(),
        b"-ERR [IN-USE] Mailbox locked by another session\r\n"
    );
    for (code, name) in [
        (RespCode::LoginDelay, "LOGIN-DELAY"),
        (RespCode::SysTemp, "SYS/TEMP"),
        (RespCode::SysPerm, "SYS/PERM"),
        (RespCode::Auth, "AUTH"),
    ] {
        let line = Response::err("x").with_code(code).to_bytes();
        assert_eq!(line, format!("-ERR [{name}] x\r\n").into_bytes());
    }
    let evil = Response::err("no such user a\r\n+OK fake").to_bytes();
    assert_eq!(evil, b"-ERR no such user a  +OK fake\r\n");
    let long = Response::err("é".repeat(600)).to_bytes();
    assert!(
        long.len() <= 512 && long.ends_with(b"\r\n"),
        "{}",
        long.len()
    );
    assert!(
        std::str::from_utf8(&long).is_ok(),
        "never cut inside a character"
    );
}

fn stuffed(chunks: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut d = DotStuffer::new();
    for c in chunks {
        d.feed(c, &mut out);
    }
    d.finish(&mut out);
    out
}

#[test]
fn bodies_are_dot_stuffed_across_chunks_and_terminated() {
    assert_eq!(
        stuffed(&[b".a\r\nb\r\n..c\r\n"]),
        b"..a\r\nb\r\n...c\r\n.\r\n"
    );
    assert_eq!(stuffed(&[b"x\r", b"\n.", b"y\r\n"]), b"x\r\n..y\r\n.\r\n");
    assert_eq!(stuffed(&[b"no end"]), b"no end\r\n.\r\n");
    assert_eq!(stuffed(&[]), b".\r\n");
    assert_eq!(stuffed(&[b".\r\n"]), b"..\r\n.\r\n");
}

fn top(message: &[u8], lines: u32, chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut t = TopFilter::new(lines);
    for piece in message.chunks(chunk) {
        t.feed(piece, &mut out);
    }
    out
}

#[test]
fn top_sends_the_header_the_blank_line_and_n_body_lines_whatever_the_chunks() {
    let m = b"Subject: s\r\nFrom: f\r\n\r\none\r\ntwo\r\nthree\r\n";
    for chunk in [1, 2, 3, 7, 100] {
        assert_eq!(
            top(m, 0, chunk),
            b"Subject: s\r\nFrom: f\r\n\r\n",
            "chunk {chunk}"
        );
        assert_eq!(
            top(m, 2, chunk),
            b"Subject: s\r\nFrom: f\r\n\r\none\r\ntwo\r\n"
        );
        assert_eq!(top(m, 9, chunk), m.to_vec(), "more lines than the body has");
    }
    let no_body = b"Subject: s\r\n";
    assert_eq!(top(no_body, 3, 1), no_body.to_vec());
    let mut t = TopFilter::new(0);
    let mut out = Vec::new();
    t.feed(b"A: b\r\n\r\nbody", &mut out);
    assert!(
        t.is_done(),
        "the reader may stop once TOP has what it needs"
    );
}

#[test]
fn uidl_is_uidvalidity_dot_uid_printable_and_short() {
    assert_eq!(uidl(1_796_569_938, 42), "1796569938.42");
    let longest = uidl(u32::MAX, u32::MAX);
    assert!(longest.len() <= 70 && longest.bytes().all(|b| (0x21..=0x7e).contains(&b)));
}

/// Dot-stuffing by the RFC's definition, a byte at a time: `DotStuffer`'s
/// line-at-a-time copying must match whatever the chunking.
fn stuffed_by_definition(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut line_start = true;
    for &b in body {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    if !line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

proptest::proptest! {
    #[test]
    fn stuffing_does_not_depend_on_the_chunks(
        body in proptest::collection::vec(proptest::sample::select(b".\r\nab".to_vec()), 0..200),
        cuts in proptest::collection::vec(0usize..200, 0..8),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c <= body.len()).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut from = 0;
        for cut in cuts {
            chunks.push(&body[from..cut]);
            from = cut;
        }
        chunks.push(&body[from..]);
        proptest::prop_assert_eq!(stuffed(&chunks), stuffed_by_definition(&body));
    }
}
