//! Every command form parses to the expected value, including odd spacing and case, parameters,
//! quoted local parts and source routes; and every parsed command survives encode → parse.

use lmtp_proto::{parse_command, Address, Body, Command, MailParams, RcptParams};

fn parse(line: &str) -> Command {
    let cmd = parse_command(line.as_bytes()).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    lmtp_proto::fuzzing::check_round_trip(&cmd);
    cmd
}

fn addr(local: &str, domain: Option<&str>) -> Address {
    Address {
        local: local.to_owned(),
        domain: domain.map(str::to_owned),
    }
}

fn mail_from(line: &str) -> (Option<Address>, MailParams) {
    match parse(line) {
        Command::Mail {
            reverse_path,
            params,
        } => (reverse_path, params),
        other => panic!("{line:?} parsed as {other:?}"),
    }
}

fn rcpt_to(line: &str) -> (Address, RcptParams) {
    match parse(line) {
        Command::Rcpt {
            forward_path,
            params,
        } => (forward_path, params),
        other => panic!("{line:?} parsed as {other:?}"),
    }
}

#[test]
fn simple_verbs_in_any_case_with_trailing_space() {
    let cases = [
        ("DATA", Command::Data),
        ("data", Command::Data),
        ("DaTa  ", Command::Data),
        ("RSET", Command::Rset),
        ("NOOP", Command::Noop),
        ("noop anything at all", Command::Noop),
        ("QUIT", Command::Quit),
        ("quit\t", Command::Quit),
        ("STARTTLS", Command::StartTls),
        ("starttls", Command::StartTls),
        ("HELP", Command::Help),
        ("HELP MAIL", Command::Help),
        ("  RSET", Command::Rset),
    ];
    for (line, expected) in cases {
        assert_eq!(parse(line), expected, "{line:?}");
    }
}

#[test]
fn greetings_keep_the_domain_as_sent() {
    let domain = |d: &str| d.to_owned();
    assert_eq!(
        parse("LHLO mx.Example.org"),
        Command::Lhlo {
            domain: domain("mx.Example.org")
        }
    );
    assert_eq!(
        parse("lhlo   [192.0.2.1]  "),
        Command::Lhlo {
            domain: domain("[192.0.2.1]")
        }
    );
    assert_eq!(
        parse("HELO client"),
        Command::Helo {
            domain: domain("client")
        }
    );
    assert_eq!(
        parse("ehlo client.example"),
        Command::Ehlo {
            domain: domain("client.example")
        }
    );
}

#[test]
fn mail_from_null_path_and_spacing_variants() {
    for line in [
        "MAIL FROM:<>",
        "mail from:<>",
        "MAIL FROM: <>",
        "MAIL  FROM:<>  ",
        "MAIL\tFROM:\t<>",
    ] {
        assert_eq!(mail_from(line), (None, MailParams::default()), "{line:?}");
    }
}

#[test]
fn mail_from_address_with_and_without_space_after_colon() {
    let expected = Some(addr("Alice", Some("Example.ORG")));
    assert_eq!(mail_from("MAIL FROM:<Alice@Example.ORG>").0, expected);
    assert_eq!(mail_from("MAIL FROM: <Alice@Example.ORG>").0, expected);
    assert_eq!(mail_from("MAIL FROM:Alice@Example.ORG").0, expected);
}

#[test]
fn mail_parameters_known_and_unknown() {
    let (path, params) = mail_from(
        "MAIL FROM:<a@b> size=1024 BODY=8bitmime AUTH=joe+2Bspam@example.org SMTPUTF8 \
         ENVID=QQ314159+3D RET=hdrs XFOO X-BAR=Baz",
    );
    assert_eq!(path, Some(addr("a", Some("b"))));
    assert_eq!(
        params,
        MailParams {
            size: Some(1024),
            body: Some(Body::EightBitMime),
            auth: Some("joe+spam@example.org".to_owned()),
            smtputf8: true,
            envid: Some("QQ314159=".to_owned()),
            ret: Some("HDRS".to_owned()),
            other: vec![
                ("XFOO".to_owned(), None),
                ("X-BAR".to_owned(), Some("Baz".to_owned())),
            ],
        }
    );
}

#[test]
fn mail_body_values() {
    for (value, body) in [
        ("7BIT", Body::SevenBit),
        ("8BITMIME", Body::EightBitMime),
        ("binarymime", Body::BinaryMime),
    ] {
        let (_, params) = mail_from(&format!("MAIL FROM:<> BODY={value}"));
        assert_eq!(params.body, Some(body), "{value}");
    }
}

#[test]
fn mail_auth_unknown_submitter_is_kept_as_angle_brackets() {
    let (_, params) = mail_from("MAIL FROM:<a@b> AUTH=<>");
    assert_eq!(params.auth.as_deref(), Some("<>"));
}

#[test]
fn rcpt_to_forms() {
    let cases = [
        (
            "RCPT TO:<bob@example.org>",
            addr("bob", Some("example.org")),
        ),
        (
            "rcpt to:<bob@example.org>",
            addr("bob", Some("example.org")),
        ),
        (
            "RCPT TO: <bob@example.org>",
            addr("bob", Some("example.org")),
        ),
        ("RCPT TO:bob@example.org", addr("bob", Some("example.org"))),
        // Cyrus's deliver sends bare local parts.
        ("RCPT TO:<bob>", addr("bob", None)),
        ("RCPT TO:<bob+folder>", addr("bob+folder", None)),
        ("RCPT TO:<Postmaster>", addr("Postmaster", None)),
        (
            "RCPT TO:<postmaster@Example.org>",
            addr("postmaster", Some("Example.org")),
        ),
        (
            "RCPT TO:<user@[192.0.2.1]>",
            addr("user", Some("[192.0.2.1]")),
        ),
        (
            "RCPT TO:<user@[IPv6:2001:db8::1]>",
            addr("user", Some("[IPv6:2001:db8::1]")),
        ),
        ("RCPT TO:<a.b.c@d.e>", addr("a.b.c", Some("d.e"))),
        ("RCPT TO:<a..b.@d>", addr("a..b.", Some("d"))),
        (
            "RCPT TO:<o'brien@example.org>",
            addr("o'brien", Some("example.org")),
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(rcpt_to(line), (expected, RcptParams::default()), "{line:?}");
    }
}

#[test]
fn quoted_local_parts_are_decoded() {
    let cases = [
        (r#"RCPT TO:<"john doe"@example.org>"#, "john doe"),
        (r#"RCPT TO:<"a\"b"@example.org>"#, "a\"b"),
        (r#"RCPT TO:<"a\\b"@example.org>"#, "a\\b"),
        (r#"RCPT TO:<"a@b"@example.org>"#, "a@b"),
        (r#"RCPT TO:<"plain"@example.org>"#, "plain"),
        (r#"RCPT TO:<""@example.org>"#, ""),
    ];
    for (line, local) in cases {
        assert_eq!(
            rcpt_to(line).0,
            addr(local, Some("example.org")),
            "{line:?}"
        );
    }
}

#[test]
fn source_routes_are_accepted_and_dropped() {
    assert_eq!(
        rcpt_to("RCPT TO:<@relay.example:bob@example.org>").0,
        addr("bob", Some("example.org"))
    );
    assert_eq!(
        rcpt_to("RCPT TO:<@a.example,@b.example:bob@example.org>").0,
        addr("bob", Some("example.org"))
    );
    assert_eq!(
        mail_from("MAIL FROM:<@a,@[192.0.2.7]:alice@example.org>").0,
        Some(addr("alice", Some("example.org")))
    );
}

#[test]
fn utf8_addresses_are_accepted() {
    assert_eq!(
        rcpt_to("RCPT TO:<jörg@exämple.de>").0,
        addr("jörg", Some("exämple.de"))
    );
    let (path, params) = mail_from("MAIL FROM:<用户@例子.广告> SMTPUTF8");
    assert_eq!(path, Some(addr("用户", Some("例子.广告"))));
    assert!(params.smtputf8);
    assert_eq!(
        rcpt_to(r#"RCPT TO:<"ünï code"@x>"#).0,
        addr("ünï code", Some("x"))
    );
}

#[test]
fn rcpt_parameters() {
    let (_, params) = rcpt_to(
        "RCPT TO:<bob@example.org> NOTIFY=success,Delay ORCPT=rfc822;Bob+2Bx@example.org X-Y",
    );
    assert_eq!(
        params,
        RcptParams {
            notify: Some("SUCCESS,DELAY".to_owned()),
            orcpt: Some("rfc822;Bob+x@example.org".to_owned()),
            other: vec![("X-Y".to_owned(), None)],
        }
    );
    let (_, params) = rcpt_to("RCPT TO:<bob> notify=never");
    assert_eq!(params.notify.as_deref(), Some("NEVER"));
}

#[test]
fn bdat_forms() {
    assert_eq!(
        parse("BDAT 0"),
        Command::Bdat {
            size: 0,
            last: false
        }
    );
    assert_eq!(
        parse("bdat 86 last"),
        Command::Bdat {
            size: 86,
            last: true
        }
    );
    assert_eq!(
        parse("BDAT  18446744073709551615  LAST "),
        Command::Bdat {
            size: u64::MAX,
            last: true
        }
    );
}

#[test]
fn auth_forms_decode_the_initial_response() {
    use lmtp_proto::SaslData;
    let auth = |mechanism: &str, initial: Option<&[u8]>| Command::Auth {
        mechanism: mechanism.to_owned(),
        initial: initial.map(|i| SaslData::new(i.to_vec())),
    };
    assert_eq!(parse("AUTH PLAIN"), auth("PLAIN", None));
    assert_eq!(parse("auth scram-sha-256"), auth("SCRAM-SHA-256", None));
    assert_eq!(
        parse("AUTH PLAIN AGJvYgBwdw=="),
        auth("PLAIN", Some(b"\0bob\0pw"))
    );
    // RFC 4954 §4: "=" is an empty initial response.
    assert_eq!(parse("AUTH EXTERNAL ="), auth("EXTERNAL", Some(b"")));
    assert_eq!(
        auth("PLAIN", Some(b"")).to_bytes(),
        b"AUTH PLAIN =\r\n".to_vec()
    );
    assert_eq!(
        auth("LOGIN", Some(b"bob")).to_bytes(),
        b"AUTH LOGIN Ym9i\r\n".to_vec()
    );
}

#[test]
fn vrfy_keeps_its_argument() {
    assert_eq!(
        parse("VRFY  <bob@example.org> "),
        Command::Vrfy {
            arg: "<bob@example.org>".to_owned()
        }
    );
    assert_eq!(
        parse("vrfy Bob Smith"),
        Command::Vrfy {
            arg: "Bob Smith".to_owned()
        }
    );
}

#[test]
fn address_string_form_quotes_only_when_needed() {
    let cases = [
        (addr("bob", Some("example.org")), "bob@example.org"),
        (addr("Postmaster", None), "Postmaster"),
        (addr("a.b", Some("c")), "a.b@c"),
        (addr("john doe", Some("x")), "\"john doe\"@x"),
        (addr("a..b", Some("x")), "\"a..b\"@x"),
        (addr("a\"b\\c", None), "\"a\\\"b\\\\c\""),
        (addr("", Some("x")), "\"\"@x"),
        (addr("jörg", Some("x")), "jörg@x"),
    ];
    for (address, text) in cases {
        assert_eq!(address.to_string_form(), text);
        assert_eq!(address.to_string(), text);
    }
}

#[test]
fn encoder_writes_canonical_lines() {
    let cmd = Command::Mail {
        reverse_path: Some(addr("a b", Some("x.org"))),
        params: MailParams {
            size: Some(10),
            body: Some(Body::BinaryMime),
            auth: Some("x+y=z".to_owned()),
            smtputf8: true,
            envid: None,
            ret: Some("FULL".to_owned()),
            other: vec![("XA".to_owned(), Some("1".to_owned()))],
        },
    };
    assert_eq!(
        cmd.to_bytes(),
        b"MAIL FROM:<\"a b\"@x.org> SIZE=10 BODY=BINARYMIME AUTH=x+2By+3Dz SMTPUTF8 RET=FULL XA=1\r\n"
    );
    let null = Command::Mail {
        reverse_path: None,
        params: MailParams::default(),
    };
    assert_eq!(null.to_bytes(), b"MAIL FROM:<>\r\n");
    let rcpt = Command::Rcpt {
        forward_path: addr("bob", None),
        params: RcptParams {
            notify: Some("NEVER".to_owned()),
            orcpt: Some("rfc822;b b@x".to_owned()),
            other: vec![],
        },
    };
    assert_eq!(
        rcpt.to_bytes(),
        b"RCPT TO:<bob> NOTIFY=NEVER ORCPT=rfc822;b+20b@x\r\n"
    );
    assert_eq!(
        Command::Bdat {
            size: 5,
            last: true
        }
        .to_bytes(),
        b"BDAT 5 LAST\r\n"
    );
    assert_eq!(Command::StartTls.to_bytes(), b"STARTTLS\r\n");
}
