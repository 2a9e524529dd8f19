//! Known-answer tests for the command parser and encoder: RFC 3501 §6 and §8, RFC 9051 §6 and
//! the extension RFCs' examples, as (bytes → value) and (bytes → canonical bytes) tables.
#![allow(clippy::unwrap_used)]

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
            mailbox: Mailbox::Other("Entwürfe".into()),
            use_attrs: vec![]
        }
    );
}

/// (input, canonical re-encoding with `{N+}` literals).
const CANONICAL: &[(&str, &str)] = &[
    ("a441 CAPABILITY\r\n", "a441 CAPABILITY\r\n"),
    ("a002 noop\r\n", "a002 NOOP\r\n"),
    ("a001 STARTTLS\r\n", "a001 STARTTLS\r\n"),
    ("A001 AUTHENTICATE GSSAPI\r\n", "A001 AUTHENTICATE GSSAPI\r\n"),
    ("A01 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n", "A01 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
    ("A01 AUTHENTICATE PLAIN =\r\n", "A01 AUTHENTICATE PLAIN =\r\n"),
    ("a001 LOGIN SMITH SESAME\r\n", "a001 LOGIN SMITH SESAME\r\n"),
    ("a001 LOGIN \"fred smith\" {4}\r\npa\"s\r\n", "a001 LOGIN \"fred smith\" \"pa\\\"s\"\r\n"),
    ("t2 ENABLE CONDSTORE QRESYNC\r\n", "t2 ENABLE CONDSTORE QRESYNC\r\n"),
    ("A142 SELECT INBOX\r\n", "A142 SELECT INBOX\r\n"),
    ("A142 SELECT inbox (CONDSTORE)\r\n", "A142 SELECT INBOX (CONDSTORE)\r\n"),
    ("A932 EXAMINE blurdybloop\r\n", "A932 EXAMINE blurdybloop\r\n"),
    ("A1 SELECT x (QRESYNC (1 2 1:5 (1:3 4:6)) X-EXT (a (b c)) Y)\r\n", "A1 SELECT x (QRESYNC (1 2 1:5 (1:3 4:6)) X-EXT (a (b c)) Y)\r\n"),
    ("A003 CREATE owatagusiam/\r\n", "A003 CREATE owatagusiam/\r\n"),
    ("t1 CREATE \"Important Messages\" (USE (\\Important))\r\n", "t1 CREATE \"Important Messages\" (USE (\\Important))\r\n"),
    ("A683 DELETE blurdybloop\r\n", "A683 DELETE blurdybloop\r\n"),
    ("A683 RENAME blurdybloop sarasoop\r\n", "A683 RENAME blurdybloop sarasoop\r\n"),
    ("A002 SUBSCRIBE #news.comp.mail.mime\r\n", "A002 SUBSCRIBE #news.comp.mail.mime\r\n"),
    ("A002 UNSUBSCRIBE #news.comp.mail.mime\r\n", "A002 UNSUBSCRIBE #news.comp.mail.mime\r\n"),
    ("A101 LIST \"\" \"\"\r\n", "A101 LIST \"\" \"\"\r\n"),
    ("A202 LIST ~/Mail/ %\r\n", "A202 LIST ~/Mail/ %\r\n"),
    ("A02 LIST (SPECIAL-USE REMOTE) \"\" *\r\n", "A02 LIST (SPECIAL-USE REMOTE) \"\" *\r\n"),
    ("A03 LIST () \"\" % RETURN (SPECIAL-USE SUBSCRIBED)\r\n", "A03 LIST \"\" % RETURN (SPECIAL-USE SUBSCRIBED)\r\n"),
    ("A002 LSUB \"#news.\" \"comp.mail.*\"\r\n", "A002 LSUB #news. comp.mail.*\r\n"),
    ("A01 NAMESPACE\r\n", "A01 NAMESPACE\r\n"),
    ("A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n", "A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n"),
    ("A042 STATUS x (SIZE DELETED HIGHESTMODSEQ APPENDLIMIT RECENT UIDVALIDITY UNSEEN)\r\n", "A042 STATUS x (SIZE DELETED HIGHESTMODSEQ APPENDLIMIT RECENT UIDVALIDITY UNSEEN)\r\n"),
    ("a IDLE\r\n", "a IDLE\r\n"),
    ("FXXZ CHECK\r\n", "FXXZ CHECK\r\n"),
    ("A341 CLOSE\r\n", "A341 CLOSE\r\n"),
    ("A342 UNSELECT\r\n", "A342 UNSELECT\r\n"),
    ("A202 EXPUNGE\r\n", "A202 EXPUNGE\r\n"),
    ("A003 UID EXPUNGE 3000:3002\r\n", "A003 UID EXPUNGE 3000:3002\r\n"),
    ("A283 SEARCH TEXT \"string not in mailbox\"\r\n", "A283 SEARCH TEXT \"string not in mailbox\"\r\n"),
    ("A1 SEARCH RETURN () UNDELETED\r\n", "A1 SEARCH RETURN () UNDELETED\r\n"),
    ("A1 UID SEARCH RETURN (SAVE) KEYWORD $Junk UNKEYWORD x LARGER 10 SMALLER 20000\r\n", "A1 UID SEARCH RETURN (SAVE) KEYWORD $Junk UNKEYWORD x LARGER 10 SMALLER 20000\r\n"),
    ("A1 SEARCH HEADER X-Foo \"\" SENTON \"5-Mar-2020\" OLDER 10 YOUNGER 5 1,3:*\r\n", "A1 SEARCH HEADER X-Foo \"\" SENTON 5-Mar-2020 OLDER 10 YOUNGER 5 1,3:*\r\n"),
    ("A1 SEARCH ANSWERED BCC x BEFORE 1-Jan-2000 BODY y CC z DELETED DRAFT FLAGGED NEW OLD ON 2-Jan-2000 RECENT SEEN SENTBEFORE 3-Jan-2000 SENTSINCE 4-Jan-2000 SUBJECT s TO t UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN ALL\r\n", "A1 SEARCH ANSWERED BCC x BEFORE 1-Jan-2000 BODY y CC z DELETED DRAFT FLAGGED NEW OLD ON 2-Jan-2000 RECENT SEEN SENTBEFORE 3-Jan-2000 SENTSINCE 4-Jan-2000 SUBJECT s TO t UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN ALL\r\n"),
    ("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n", "A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n"),
    ("A654 FETCH 1 body.peek[1.2.mime]<0.1024>\r\n", "A654 FETCH 1 (BODY.PEEK[1.2.MIME]<0.1024>)\r\n"),
    ("A1 FETCH * (BODY[3.HEADER.FIELDS.NOT (Received)] BODY[] BODY[TEXT] BODY[2] RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY UID INTERNALDATE MODSEQ)\r\n", "A1 FETCH * (BODY[3.HEADER.FIELDS.NOT (Received)] BODY[] BODY[TEXT] BODY[2] RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY UID INTERNALDATE MODSEQ)\r\n"),
    ("A1 FETCH 1 (BINARY[1.2]<0.100> BINARY.PEEK[] BINARY.SIZE[1])\r\n", "A1 FETCH 1 (BINARY[1.2]<0.100> BINARY.PEEK[] BINARY.SIZE[1])\r\n"),
    ("A1 FETCH $ ALL\r\n", "A1 FETCH $ ALL\r\n"),
    ("A1 FETCH 1:* FAST (CHANGEDSINCE 7)\r\n", "A1 FETCH 1:* FAST (CHANGEDSINCE 7)\r\n"),
    ("A999 UID FETCH 4827313:4828442 FLAGS\r\n", "A999 UID FETCH 4827313:4828442 (FLAGS)\r\n"),
    ("A003 STORE 2:4 +FLAGS (\\Deleted)\r\n", "A003 STORE 2:4 +FLAGS (\\Deleted)\r\n"),
    ("A004 STORE 1 FLAGS.SILENT \\Seen $Forwarded\r\n", "A004 STORE 1 FLAGS.SILENT (\\Seen $Forwarded)\r\n"),
    ("a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) -FLAGS.SILENT (\\Deleted)\r\n", "a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) -FLAGS.SILENT (\\Deleted)\r\n"),
    ("A003 COPY 2:4 MEETING\r\n", "A003 COPY 2:4 MEETING\r\n"),
    ("a UID COPY 1:* Trash\r\n", "a UID COPY 1:* Trash\r\n"),
    ("a MOVE 2:4 Trash\r\n", "a MOVE 2:4 Trash\r\n"),
    ("a UID MOVE 42 \"Deleted Items\"\r\n", "a UID MOVE 42 \"Deleted Items\"\r\n"),
    ("a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"os\" NIL)\r\n", "a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"os\" NIL)\r\n"),
    ("a024 ID NIL\r\n", "a024 ID NIL\r\n"),
    ("a1 SETACL INBOX/Drafts Chris +cda\r\n", "a1 SETACL INBOX/Drafts Chris +cda\r\n"),
    ("a2 GETACL INBOX\r\n", "a2 GETACL INBOX\r\n"),
    ("a3 DELETEACL user.fred anyone\r\n", "a3 DELETEACL user.fred anyone\r\n"),
    ("a4 LISTRIGHTS ~/Mail/saved smith\r\n", "a4 LISTRIGHTS ~/Mail/saved smith\r\n"),
    ("a5 MYRIGHTS INBOX\r\n", "a5 MYRIGHTS INBOX\r\n"),
    ("A003 GETQUOTAROOT INBOX\r\n", "A003 GETQUOTAROOT INBOX\r\n"),
    ("G0 GETQUOTA \"\"\r\n", "G0 GETQUOTA \"\"\r\n"),
    ("S0 SETQUOTA user.bob (storage 512 MESSAGE 10)\r\n", "S0 SETQUOTA user.bob (STORAGE 512 MESSAGE 10)\r\n"),
    ("A003 APPEND saved-messages (\\Seen) {3}\r\nabc\r\n", "A003 APPEND saved-messages (\\Seen) {3+}\r\nabc\r\n"),
];

#[test]
fn rfc_examples_reencode_canonically() {
    for (input, canonical) in CANONICAL {
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
