//! Known-answer tests for the command parser and encoder: RFC 3501 §6 and §8, RFC 9051 §6 and
//! the extension RFCs' examples, as (bytes → value) and (bytes → canonical bytes) tables.
#![allow(clippy::unwrap_used)]

mod support;

use std::num::NonZeroU32;

use imap_proto::command::{
    Addressing, AppendData, AppendMessage, Command, Fetch, FetchAttr, FetchItems, FetchMacro, List,
    ListReturnOption, ListSelectOption, Mailbox, PeekMode, Search, SearchKey, SearchReturn,
    Section, SectionText, SelectParam, StatusItem, Store, StoreAction, StoreSilence,
};
use imap_proto::wire::LiteralStyle;
use imap_proto::{
    parse_command, Date, DateTime, LiteralKind, MailboxEncoding, SeqNumber, SequenceItem,
    SequenceSet,
};
use types::{Flag, ModSeq, Secret, UidValidity};

fn parse(input: &str) -> Command {
    parse_command(input.as_bytes(), MailboxEncoding::ModifiedUtf7)
        .unwrap_or_else(|e| panic!("{input:?}: {e}"))
        .command
}

fn n(v: u32) -> SeqNumber {
    SeqNumber::Value(NonZeroU32::new(v).unwrap())
}

fn range(a: u32, b: u32) -> SequenceSet {
    SequenceSet::Items(vec![SequenceItem::Range(n(a), n(b))])
}

fn one(v: u32) -> SequenceSet {
    SequenceSet::Items(vec![SequenceItem::Single(n(v))])
}

#[test]
fn rfc3501_section8_session_parses_to_values() {
    assert_eq!(
        parse("a001 login mrc secret\r\n"),
        Command::Login {
            username: "mrc".into(),
            password: Secret::new("secret".into())
        }
    );
    assert_eq!(
        parse("a002 select inbox\r\n"),
        Command::Select {
            mailbox: Mailbox::Inbox,
            params: vec![]
        }
    );
    let fetch = |items| {
        Command::Fetch(Fetch {
            addressing: Addressing::Sequence,
            set: one(12),
            items,
            changed_since: None,
            vanished: false,
        })
    };
    assert_eq!(
        parse("a003 fetch 12 full\r\n"),
        fetch(FetchItems::Macro(FetchMacro::Full))
    );
    assert_eq!(
        parse("a004 fetch 12 body[header]\r\n"),
        fetch(FetchItems::Attrs(vec![FetchAttr::BodySection {
            peek: PeekMode::Read,
            section: Section {
                part: vec![],
                text: Some(SectionText::Header)
            },
            partial: None,
        }]))
    );
    assert_eq!(
        parse("a005 store 12 +flags \\deleted\r\n"),
        Command::Store(Store {
            addressing: Addressing::Sequence,
            set: one(12),
            unchanged_since: None,
            action: StoreAction::Add,
            silence: StoreSilence::Report,
            flags: vec![Flag::Deleted],
        })
    );
    assert_eq!(parse("a006 logout\r\n"), Command::Logout);
}

#[test]
fn rfc3501_search_example_parses_to_keys() {
    let date = Date::new(1994, 2, 1).unwrap();
    assert_eq!(
        parse("A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n"),
        Command::Search(Search {
            addressing: Addressing::Sequence,
            return_options: Some(vec![SearchReturn::Min, SearchReturn::Count]),
            charset: None,
            criteria: vec![
                SearchKey::Flagged,
                SearchKey::Since(date),
                SearchKey::Not(Box::new(SearchKey::From(b"Smith".to_vec()))),
            ],
        })
    );
    let Command::Search(s) = parse("A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX\r\n") else {
        panic!()
    };
    assert_eq!(s.charset.as_deref(), Some("UTF-8"));
    assert_eq!(s.criteria, vec![SearchKey::Text(b"XXXXXX".to_vec())]);
    let Command::Search(s) = parse(
        "a UID SEARCH OR (1:3 $) NOT (UID 5:* SEEN) MODSEQ \"/flags/\\\\draft\" all 620162338\r\n",
    ) else {
        panic!()
    };
    assert_eq!(s.addressing, Addressing::Uid);
    assert_eq!(s.criteria.len(), 2, "OR takes two keys");
    assert_eq!(
        s.criteria[1],
        SearchKey::ModSeq {
            entry: Some(("/flags/\\draft".into(), "all".into())),
            mod_seq: 620162338
        }
    );
}

#[test]
fn append_with_flags_date_and_multiappend() {
    let msg = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\r\nHello\r\n";
    let input = format!(
        "A003 APPEND saved-messages (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {{{}}}\r\n{msg} ~{{3}}\r\na\0b\r\n",
        msg.len()
    );
    let Command::Append { mailbox, messages } = parse(&input) else {
        panic!()
    };
    assert_eq!(mailbox, Mailbox::Other("saved-messages".into()));
    let dt = DateTime::new(Date::new(1994, 2, 7).unwrap(), (21, 52, 25), -480).unwrap();
    assert_eq!(
        messages,
        vec![
            AppendMessage {
                flags: vec![Flag::Seen],
                date_time: Some(dt),
                data: AppendData::Inline {
                    data: msg.as_bytes().to_vec(),
                    kind: LiteralKind::Literal
                },
            },
            AppendMessage {
                flags: vec![],
                date_time: None,
                data: AppendData::Inline {
                    data: b"a\0b".to_vec(),
                    kind: LiteralKind::Literal8
                },
            },
        ]
    );
}

/// A proxy writes `tag APPEND mailbox`, then each message's header and bytes, then CRLF:
/// the pieces make the same command as the encoder writes whole.
#[test]
fn append_headers_piece_together_into_the_encoded_command() {
    let dt = DateTime::new(Date::new(1994, 2, 7).unwrap(), (21, 52, 25), -480).unwrap();
    let messages = vec![
        AppendMessage {
            flags: vec![Flag::Seen, Flag::Keyword("$Junk".into())],
            date_time: Some(dt),
            data: AppendData::Inline {
                data: b"Subject: a\r\n\r\nx\r\n".to_vec(),
                kind: LiteralKind::Literal,
            },
        },
        AppendMessage {
            flags: vec![],
            date_time: None,
            data: AppendData::Inline {
                data: b"a\0b".to_vec(),
                kind: LiteralKind::Literal8,
            },
        },
    ];
    for style in [LiteralStyle::Sync, LiteralStyle::NonSync] {
        let whole = imap_proto::TaggedCommand {
            tag: imap_proto::Tag::new("P1").unwrap(),
            command: Command::Append {
                mailbox: Mailbox::Other("Sent".into()),
                messages: messages.clone(),
            },
        }
        .to_bytes(MailboxEncoding::ModifiedUtf7, style);
        let mut pieces = b"P1 APPEND Sent".to_vec();
        for message in &messages {
            message.encode_header(&mut pieces, style);
            if let AppendData::Inline { data, .. } = &message.data {
                pieces.extend_from_slice(data);
            }
        }
        pieces.extend_from_slice(b"\r\n");
        assert_eq!(
            String::from_utf8_lossy(&pieces),
            String::from_utf8_lossy(&whole)
        );
    }
}

#[test]
fn condstore_qresync_and_list_extended_parse_to_values() {
    assert_eq!(
        parse("A03 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n"),
        Command::Select {
            mailbox: Mailbox::Inbox,
            params: vec![SelectParam::QResync {
                uid_validity: UidValidity::new(67890007).unwrap(),
                mod_seq: ModSeq::new(20050715194045000).unwrap(),
                known_uids: Some(SequenceSet::Items(vec![
                    SequenceItem::Single(n(41)),
                    SequenceItem::Range(n(43), n(211)),
                    SequenceItem::Range(n(214), n(541)),
                ])),
                seq_match: None,
            }],
        }
    );
    assert_eq!(
        parse("A01 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% \"Other Users/*\") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n"),
        Command::List(List {
            selection: vec![ListSelectOption::Subscribed, ListSelectOption::RecursiveMatch],
            reference: String::new(),
            patterns: vec!["%".into(), "Other Users/*".into()],
            return_options: vec![
                ListReturnOption::Children,
                ListReturnOption::Status(vec![StatusItem::Messages, StatusItem::Unseen]),
            ],
        })
    );
    let Command::Fetch(f) =
        parse("s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n")
    else {
        panic!()
    };
    assert_eq!(
        (f.set, f.changed_since, f.vanished),
        (range(300, 500), Some(12345), true)
    );
}

#[test]
fn mailbox_names_are_decoded_from_modified_utf7() {
    assert_eq!(
        parse("a CREATE ~peter/mail/&U,BTFw-/&ZeVnLIqe-\r\n"),
        Command::Create {
            partition: None,
            mailbox: Mailbox::Other("~peter/mail/台北/日本語".into()),
            use_attrs: vec![]
        }
    );
    let utf8 = parse_command(
        "a CREATE \"Entwürfe\"\r\n".as_bytes(),
        MailboxEncoding::Utf8,
    )
    .unwrap();
    assert_eq!(
        utf8.command,
        Command::Create {
            partition: None,
            mailbox: Mailbox::Other("Entwürfe".into()),
            use_attrs: vec![]
        }
    );
}

#[test]
fn rfc_examples_reencode_canonically() {
    for (input, canonical) in support::commands::CANONICAL {
        let parsed = parse_command(input.as_bytes(), MailboxEncoding::ModifiedUtf7)
            .unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let bytes = parsed.to_bytes(MailboxEncoding::ModifiedUtf7, LiteralStyle::NonSync);
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            *canonical,
            "from {input:?}"
        );
        let again = parse_command(&bytes, MailboxEncoding::ModifiedUtf7).unwrap();
        assert_eq!(again, parsed, "re-parse of {canonical:?}");
    }
}

#[test]
fn sync_segments_split_after_each_literal_header() {
    let cmd = parse_command(
        b"a APPEND \"a\\\\b\" {3}\r\nx\r\n {2}\r\nyz\r\n",
        MailboxEncoding::ModifiedUtf7,
    )
    .unwrap();
    let segments = cmd.to_sync_segments(MailboxEncoding::ModifiedUtf7);
    let text: Vec<String> = segments
        .iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    assert_eq!(
        text,
        ["a APPEND \"a\\\\b\" {3}\r\n", "x\r\n {2}\r\n", "yz\r\n"]
    );
    let noop = parse_command(b"a NOOP\r\n", MailboxEncoding::ModifiedUtf7).unwrap();
    assert_eq!(
        noop.to_sync_segments(MailboxEncoding::Utf8),
        vec![b"a NOOP\r\n".to_vec()]
    );
}

#[test]
fn rfc2193_rlist_and_rlsub_parse_and_encode() {
    assert_eq!(
        parse("A001 RLIST \"\" \"*\"\r\n"),
        Command::Rlist {
            reference: String::new(),
            pattern: "*".into()
        }
    );
    assert_eq!(
        parse("a2 rlsub \"\" user.%\r\n"),
        Command::Rlsub {
            reference: String::new(),
            pattern: "user.%".into()
        }
    );
    let tagged =
        imap_proto::parse_command(b"A3 RLIST \"\" foo\r\n", MailboxEncoding::ModifiedUtf7).unwrap();
    assert_eq!(
        tagged.to_bytes(MailboxEncoding::ModifiedUtf7, LiteralStyle::Sync),
        b"A3 RLIST \"\" foo\r\n"
    );
    assert!(parse_command(b"A4 RLIST \"\"\r\n", MailboxEncoding::ModifiedUtf7).is_err());
}
