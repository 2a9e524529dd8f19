use super::*;

fn untagged(line: &str) -> Untagged {
    match parse_response(line.as_bytes()) {
        Ok(Response::Untagged(u)) => u,
        other => panic!("not untagged: {other:?}"),
    }
}

#[test]
fn exists_expunge_recent() {
    assert_eq!(untagged("* 23 EXISTS\r\n"), Untagged::Exists(23));
    assert_eq!(untagged("* 5 EXPUNGE\r\n"), Untagged::Expunge(5));
    assert_eq!(untagged("* 0 RECENT\r\n"), Untagged::Recent(0));
}

#[test]
fn tagged_ok_with_appenduid_code() {
    let r = parse_response(b"A7 OK [APPENDUID 1706 42] APPEND completed\r\n").unwrap();
    let Response::Tagged {
        tag,
        status,
        code,
        text,
    } = r
    else {
        panic!("not tagged")
    };
    assert_eq!(tag, "A7");
    assert_eq!(status, Status::Ok);
    let code = code.unwrap();
    assert_eq!(code.name, "APPENDUID");
    assert_eq!(code.args, vec!["1706", "42"]);
    assert_eq!(text, "APPEND completed");
}

#[test]
fn tagged_no_and_bad() {
    for (line, want) in [
        ("a1 NO nope\r\n", Status::No),
        ("a1 BAD huh\r\n", Status::Bad),
    ] {
        match parse_response(line.as_bytes()).unwrap() {
            Response::Tagged { status, .. } => assert_eq!(status, want),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn tagged_with_unknown_status_is_malformed() {
    assert!(parse_response(b"a1 MAYBE later\r\n").is_err());
}

#[test]
fn permanentflags_code_keeps_its_list() {
    let u = untagged("* OK [PERMANENTFLAGS (\\Answered \\Seen \\*)] Limited\r\n");
    let Untagged::Status { code, .. } = u else {
        panic!()
    };
    assert_eq!(code.unwrap().name, "PERMANENTFLAGS");
}

#[test]
fn fetch_uid_flags_size() {
    let u = untagged("* 12 FETCH (FLAGS (\\Seen \\Flagged $Label1) UID 4827 RFC822.SIZE 4423)\r\n");
    let Untagged::Fetch { seq, attrs } = u else {
        panic!()
    };
    assert_eq!(seq, 12);
    assert_eq!(attrs.uid, Some(4827));
    assert_eq!(attrs.size, Some(4423));
    assert_eq!(attrs.flags.unwrap(), vec!["\\Seen", "\\Flagged", "$Label1"]);
}

#[test]
fn fetch_body_literal_and_envelope() {
    let line = "* 1 FETCH (UID 7 ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" \"Hi (there)\" \
                ((\"Fred\" NIL \"fred\" \"example.com\")) NIL NIL NIL NIL NIL NIL \"<b27@x>\") \
                BODY[] {11}\r\nhello\r\nworl FLAGS ())\r\n";
    let Untagged::Fetch { attrs, .. } = untagged(line) else {
        panic!()
    };
    assert_eq!(attrs.uid, Some(7));
    assert!(attrs.envelope);
    assert_eq!(attrs.body.as_deref(), Some(&b"hello\r\nworl"[..]));
    assert_eq!(attrs.flags, Some(vec![]));
}

#[test]
fn fetch_section_with_header_list_in_brackets() {
    let line = "* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)]<0> {4}\r\nab\r\n UID 9)\r\n";
    let Untagged::Fetch { attrs, .. } = untagged(line) else {
        panic!()
    };
    assert_eq!(attrs.body.as_deref(), Some(&b"ab\r\n"[..]));
    assert_eq!(attrs.uid, Some(9));
}

#[test]
fn fetch_bodystructure_is_recognised() {
    let line = "* 2 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \
                \"7bit\" 3028 92) UID 2)\r\n";
    let Untagged::Fetch { attrs, .. } = untagged(line) else {
        panic!()
    };
    assert!(attrs.bodystructure);
}

#[test]
fn fetch_uid_of_wrong_type_is_malformed() {
    assert!(parse_response(b"* 1 FETCH (UID \"x\")\r\n").is_err());
    assert!(parse_response(b"* 1 FETCH (UID 3\r\n").is_err());
}

#[test]
fn search_with_and_without_results() {
    assert_eq!(
        untagged("* SEARCH 2 84 882\r\n"),
        Untagged::Search(vec![2, 84, 882])
    );
    assert_eq!(untagged("* SEARCH\r\n"), Untagged::Search(vec![]));
    assert_eq!(
        untagged("* SEARCH 4 5 (MODSEQ 917162500)\r\n"),
        Untagged::Search(vec![4, 5])
    );
}

#[test]
fn capability_list() {
    assert_eq!(
        untagged("* CAPABILITY IMAP4rev1 LITERAL+ IDLE\r\n"),
        Untagged::Capability(vec!["IMAP4rev1".into(), "LITERAL+".into(), "IDLE".into()])
    );
}

#[test]
fn continuation() {
    assert_eq!(
        parse_response(b"+ idling\r\n").unwrap(),
        Response::Continuation("idling".into())
    );
}

#[test]
fn quoted_escapes() {
    let line =
        "* 1 FETCH (ENVELOPE (NIL \"a \\\"q\\\" \\\\ b\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n";
    let Untagged::Fetch { attrs, .. } = untagged(line) else {
        panic!()
    };
    assert!(attrs.envelope);
}

#[test]
fn literal_announcement_at_line_end() {
    assert_eq!(
        literal_announced(b"* 1 FETCH (BODY[] {1234}\r\n"),
        Some(1234)
    );
    assert_eq!(literal_announced(b"a APPEND x {12+}\r\n"), Some(12));
    assert_eq!(literal_announced(b"* OK {not}\r\n"), None);
    assert_eq!(literal_announced(b"* OK fine\r\n"), None);
    assert_eq!(literal_announced(b"* OK {}\r\n"), None);
}

#[test]
fn short_literal_is_malformed_not_a_panic() {
    assert!(parse_response(b"* 1 FETCH (BODY[] {50}\r\nabc)\r\n").is_err());
}

#[test]
fn namespace_personal_and_shared_prefixes() {
    let ns = |personal: Option<&str>, shared: Option<&str>| Untagged::Namespace {
        personal: personal.map(str::to_owned),
        shared: shared.map(str::to_owned),
    };
    assert_eq!(
        untagged("* NAMESPACE ((\"INBOX.\" \".\")) ((\"user.\" \".\")) ((\"\" \".\"))\r\n"),
        ns(Some("INBOX."), Some(""))
    );
    assert_eq!(
        untagged("* NAMESPACE ((\"\" \"/\")) NIL ((\"Public/\" \"/\"))\r\n"),
        ns(Some(""), Some("Public/"))
    );
    assert_eq!(
        untagged("* NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" \"/\")) ((\"Shared Folders/\" \"/\"))\r\n"),
        ns(Some(""), Some("Shared Folders/"))
    );
    assert_eq!(untagged("* NAMESPACE NIL NIL NIL\r\n"), ns(None, None));
}

#[test]
fn list_responses_with_quoted_atom_and_literal_names() {
    assert_eq!(
        untagged("* LIST (\\HasNoChildren \\Noselect) \".\" INBOX.bench-list-7\r\n"),
        Untagged::List {
            attributes: vec!["\\HasNoChildren".into(), "\\Noselect".into()],
            delimiter: Some('.'),
            name: "INBOX.bench-list-7".into(),
        }
    );
    assert_eq!(
        untagged("* LIST () \"/\" \"Shared Folders/bench shared\"\r\n"),
        Untagged::List {
            attributes: vec![],
            delimiter: Some('/'),
            name: "Shared Folders/bench shared".into(),
        }
    );
    assert_eq!(
        untagged("* LIST (\\Noinferiors) NIL {4}\r\nab\"c (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"),
        Untagged::List {
            attributes: vec!["\\Noinferiors".into()],
            delimiter: None,
            name: "ab\"c".into(),
        }
    );
    assert!(parse_response(b"* LIST \"/\" INBOX\r\n").is_err());
}

#[test]
fn status_data_items() {
    assert_eq!(
        untagged("* STATUS \"Public/bench-shared-3\" (MESSAGES 12 UNSEEN 4)\r\n"),
        Untagged::StatusData {
            name: "Public/bench-shared-3".into(),
            items: vec![("MESSAGES".into(), 12), ("UNSEEN".into(), 4)],
        }
    );
    assert_eq!(
        untagged("* STATUS INBOX (messages 0)\r\n"),
        Untagged::StatusData {
            name: "INBOX".into(),
            items: vec![("MESSAGES".into(), 0)],
        }
    );
}

#[test]
fn vanished_earlier_keeps_its_ranges_unexpanded() {
    assert_eq!(
        untagged("* VANISHED (EARLIER) 300:310,405,411:409,1:4294967295\r\n"),
        Untagged::Vanished {
            earlier: true,
            uids: vec![(300, 310), (405, 405), (409, 411), (1, u32::MAX)],
        }
    );
    assert_eq!(
        untagged("* vanished 7\r\n"),
        Untagged::Vanished {
            earlier: false,
            uids: vec![(7, 7)],
        }
    );
}

#[test]
fn vanished_without_a_valid_uid_set_is_malformed() {
    for line in [
        "* VANISHED (EARLIER)\r\n",
        "* VANISHED 0:4\r\n",
        "* VANISHED 3:*\r\n",
        "* VANISHED 1,,2\r\n",
        "* VANISHED (LATER) 4\r\n",
    ] {
        assert!(parse_response(line.as_bytes()).is_err(), "{line}");
    }
}

#[test]
fn highestmodseq_is_a_response_code() {
    let u = untagged("* OK [HIGHESTMODSEQ 715194045007] Highest\r\n");
    let Untagged::Status { code, .. } = u else {
        panic!("{u:?}")
    };
    let code = code.unwrap();
    assert_eq!(code.name, "HIGHESTMODSEQ");
    assert_eq!(code.args, vec!["715194045007"]);
}

#[test]
fn fetch_modseq_is_read() {
    let u = untagged("* 3 FETCH (UID 12 MODSEQ (65402) FLAGS (\\Seen $Bench))\r\n");
    let Untagged::Fetch { seq, attrs } = u else {
        panic!("{u:?}")
    };
    assert_eq!(seq, 3);
    assert_eq!(attrs.uid, Some(12));
    assert_eq!(attrs.modseq, Some(65402));
    assert_eq!(attrs.flags.unwrap(), vec!["\\Seen", "$Bench"]);
    assert!(parse_response(b"* 3 FETCH (UID 12 MODSEQ 65402)\r\n").is_err());
}

#[test]
fn quota_response_resources() {
    assert_eq!(
        untagged("* QUOTA \"user.bench1\" (STORAGE 10 1000000000 message 2 1000000000)\r\n"),
        Untagged::Quota {
            root: "user.bench1".into(),
            resources: vec![
                QuotaResource {
                    name: "STORAGE".into(),
                    usage: 10,
                    limit: 1_000_000_000,
                },
                QuotaResource {
                    name: "MESSAGE".into(),
                    usage: 2,
                    limit: 1_000_000_000,
                },
            ],
        }
    );
    assert_eq!(
        untagged("* QUOTA INBOX ()\r\n"),
        Untagged::Quota {
            root: "INBOX".into(),
            resources: vec![],
        }
    );
}

#[test]
fn malformed_quota_responses_are_refused() {
    for line in [
        "* QUOTA user.x (STORAGE 10)\r\n",
        "* QUOTA user.x (STORAGE ten 100)\r\n",
        "* QUOTA user.x (10 STORAGE 100)\r\n",
        "* QUOTA user.x STORAGE 10 100\r\n",
        "* QUOTA (STORAGE 1 2)\r\n",
    ] {
        assert!(parse_response(line.as_bytes()).is_err(), "{line}");
    }
}

proptest::proptest! {
    /// Every well-formed QUOTA response reads back as sent, whatever the root's quoting and the
    /// number of resources.
    #[test]
    fn quota_responses_read_back(
        root in "[a-zA-Z0-9._/ -]{1,40}",
        resources in proptest::collection::vec(("[A-Z][A-Z-]{0,15}", proptest::prelude::any::<u64>(), proptest::prelude::any::<u64>()), 0..8),
    ) {
        let list: Vec<String> = resources
            .iter()
            .map(|(n, u, l)| format!("{n} {u} {l}"))
            .collect();
        let line = format!("* QUOTA {} ({})\r\n", crate::client::imap::quote(&root), list.join(" "));
        let want = Untagged::Quota {
            root,
            resources: resources
                .into_iter()
                .map(|(name, usage, limit)| QuotaResource { name, usage, limit })
                .collect(),
        };
        proptest::prop_assert_eq!(untagged(&line), want);
    }

    /// Arbitrary bytes after `* QUOTA ` are parsed or refused, never a panic.
    #[test]
    fn quota_garbage_never_panics(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        let mut line = b"* QUOTA ".to_vec();
        line.extend_from_slice(&tail);
        line.extend_from_slice(b"\r\n");
        let _ = parse_response(&line);
    }
}
