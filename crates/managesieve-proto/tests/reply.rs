//! The client's reader of server output: RFC 5804's example exchanges, round trips of what
//! the server side of this crate writes, reading in pieces, bounds and hostile bytes.

use managesieve_proto::{
    list_line, read_server_line, script_data, Activity, Capabilities, Item, ReplyError,
    ReplyLimits, RespCode, Response, ScriptName, ServerLine, Status,
};
use proptest::prelude::*;

/// Every line of `wire`, which must hold whole lines only.
fn lines(wire: &[u8]) -> Vec<ServerLine> {
    let limits = ReplyLimits::default();
    let mut rest = wire;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (line, used) = read_server_line(rest, &limits)
            .expect("readable")
            .expect("whole line");
        assert!(used > 0 && used <= rest.len());
        out.push(line);
        rest = rest.get(used..).unwrap_or_default();
    }
    out
}

fn string(s: &str) -> Item {
    Item::String(s.as_bytes().to_vec())
}

#[test]
fn rfc5804_greeting_and_responses_read() {
    // §1.8's first example, and responses of §1.3 and §2.
    let wire = b"\"IMPlemENTATION\" \"Example1 ManageSieved v001\"\r\n\
\"SASl\" \"DIGEST-MD5 GSSAPI\"\r\n\
\"SIeVE\" \"fileinto vacation\"\r\n\
\"StaRTTLS\"\r\n\
\"NOTIFY\" \"xmpp mailto\"\r\n\
\"MAXREdIRECTS\" \"5\"\r\n\
\"VERSION\" \"1.0\"\r\n\
OK\r\n\
NO (QUOTA/MAXSIZE) \"Quota exceeded\"\r\n\
No (NONEXISTENT) \"There is no script by that name\"\r\n\
OK (TAG {16}\r\nSTARTTLS-SYNC-42) \"Done\"\r\n\
BYE (REFERRAL \"sieve://example.com\") \"Try Remote.\"\r\n";
    let got = lines(wire);
    assert_eq!(got.len(), 12);
    assert_eq!(
        got[0],
        ServerLine::Data(vec![
            string("IMPlemENTATION"),
            string("Example1 ManageSieved v001")
        ])
    );
    assert_eq!(got[3], ServerLine::Data(vec![string("StaRTTLS")]));
    assert_eq!(got[7], ServerLine::Response(Response::ok("")));
    assert_eq!(
        got[8],
        ServerLine::Response(Response::no("Quota exceeded").with_code(RespCode::QuotaMaxSize))
    );
    assert_eq!(
        got[9],
        ServerLine::Response(
            Response::no("There is no script by that name").with_code(RespCode::NonExistent)
        )
    );
    assert_eq!(
        got[10],
        ServerLine::Response(
            Response::ok("Done").with_code(RespCode::Tag(b"STARTTLS-SYNC-42".to_vec()))
        )
    );
    assert_eq!(
        got[11],
        ServerLine::Response(
            Response::bye("Try Remote.")
                .with_code(RespCode::Referral("sieve://example.com".into()))
        )
    );
}

#[test]
fn what_the_server_side_writes_reads_back() {
    let caps = Capabilities {
        implementation: "Darius".into(),
        sasl: vec!["PLAIN".into(), "SCRAM-SHA-256".into()],
        sieve: vec!["fileinto".into(), "body".into()],
        starttls: true,
        notify: vec!["mailto".into()],
        max_redirects: Some(5),
        language: None,
        owner: Some("user1".into()),
    };
    let got = lines(&caps.to_bytes());
    assert_eq!(got.len(), 8);
    assert_eq!(
        got[1],
        ServerLine::Data(vec![string("SASL"), string("PLAIN SCRAM-SHA-256")])
    );
    let script = b"require \"fileinto\";\r\nfileinto \"a\\\"b\";\r\n";
    assert_eq!(
        lines(&script_data(script)),
        vec![ServerLine::Data(vec![Item::String(script.to_vec())])]
    );
    let name = ScriptName::try_from("quote\"d").expect("name");
    assert_eq!(
        lines(&list_line(&name, Activity::Active)),
        vec![ServerLine::Data(vec![
            string("quote\"d"),
            Item::Atom(b"ACTIVE".to_vec())
        ])]
    );
    let responses = [
        Response::ok("Logged in").with_code(RespCode::Sasl(b"v=abc".to_vec())),
        Response::no("line\r\nbreak \\ and \"quote\"").with_code(RespCode::Warnings),
        Response::bye(""),
        Response::no("x").with_code(RespCode::QuotaMaxScripts),
    ];
    for r in responses {
        assert_eq!(lines(&r.to_bytes()), vec![ServerLine::Response(r.clone())]);
    }
}

#[test]
fn escapes_bare_lf_and_unknown_codes() {
    assert_eq!(
        lines(b"NO (X-VENDOR-THING \"a\") \"say \\\"hi\\\\\"\n"),
        vec![ServerLine::Response(Response::no("say \"hi\\"))]
    );
    assert_eq!(lines(b"ok\n"), vec![ServerLine::Response(Response::ok(""))]);
}

#[test]
fn every_prefix_of_a_line_asks_for_more() {
    let wire = b"OK (SASL \"dj1hYmM=\") {5}\r\nhello\r\n";
    let limits = ReplyLimits::default();
    for cut in 0..wire.len() {
        assert_eq!(
            read_server_line(&wire[..cut], &limits),
            Ok(None),
            "prefix of {cut} bytes"
        );
    }
    let (line, used) = read_server_line(wire, &limits)
        .expect("readable")
        .expect("whole");
    assert_eq!(used, wire.len());
    assert_eq!(
        line,
        ServerLine::Response(Response::ok("hello").with_code(RespCode::Sasl(b"v=abc".to_vec())))
    );
}

#[test]
fn bounds_are_kept() {
    let limits = ReplyLimits {
        max_line: 16,
        max_literal: 4,
        max_items: 2,
    };
    assert_eq!(
        read_server_line(b"\"aaaaaaaaaaaaaaaaaaaaaaa", &limits),
        Err(ReplyError::LineTooLong)
    );
    assert_eq!(
        read_server_line(b"{5}\r\n", &limits),
        Err(ReplyError::LiteralTooLarge(5))
    );
    assert_eq!(
        read_server_line(b"{99999999999999999999999}\r\n", &ReplyLimits::default()),
        Err(ReplyError::LiteralTooLarge(u64::MAX))
    );
    assert_eq!(
        read_server_line(b"a b c\r\n", &limits),
        Err(ReplyError::TooManyItems)
    );
    // Literal octets do not count against the line.
    let big = ReplyLimits {
        max_literal: 64,
        ..limits
    };
    let wire = [&b"{40}\r\n"[..], &[b'x'; 40], b"\r\n"].concat();
    assert!(matches!(read_server_line(&wire, &big), Ok(Some(_))));
}

#[test]
fn malformed_lines_are_refused() {
    let limits = ReplyLimits::default();
    for bad in [
        &b"OK (\r\n"[..],
        b"OK (TAG \"x\"\r\n",
        b"OK \"a\" \"b\"\r\n",
        b"OK atom\r\n",
        b"\"a\" (b)\r\n",
        b"{x}\r\n",
        b"{3}x\r\n",
        b"\"a\rb\"\r\n",
        b"OK\rX",
    ] {
        assert!(
            matches!(read_server_line(bad, &limits), Err(ReplyError::Syntax(_))),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn response_statuses() {
    for (wire, status) in [
        (&b"OK\r\n"[..], Status::Ok),
        (b"no\r\n", Status::No),
        (b"Bye\r\n", Status::Bye),
    ] {
        let Some((ServerLine::Response(r), _)) =
            read_server_line(wire, &ReplyLimits::default()).expect("readable")
        else {
            panic!("not a response");
        };
        assert_eq!(r.status, status);
    }
}

proptest! {
    /// Any bytes: an answer (never a panic), and a line taken is within the input.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let limits = ReplyLimits { max_line: 64, max_literal: 128, max_items: 8 };
        if let Ok(Some((_, used))) = read_server_line(&bytes, &limits) {
            prop_assert!(used > 0 && used <= bytes.len());
        }
    }

    /// A response with any text and code reads back as written.
    #[test]
    fn responses_round_trip(text in "\\PC{0,1100}", tag in proptest::collection::vec(any::<u8>(), 0..40)) {
        let r = Response::no(&text).with_code(RespCode::Tag(tag));
        let wire = r.to_bytes();
        let (line, used) = read_server_line(&wire, &ReplyLimits::default())
            .expect("readable")
            .expect("whole");
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(line, ServerLine::Response(r));
    }
}
