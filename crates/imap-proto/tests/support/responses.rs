//! (response value, expected bytes) pairs from the RFC examples.

use imap_proto::command::{Addressing, Mailbox, Section, SectionText, StatusItem, Tag};
use imap_proto::response::{
    Code, Continue, Data, ESearchItem, FetchFlag, FetchItem, ListExtItem, ListItem, MailboxAttr,
    NamespaceDesc, PermanentFlag, QuotaResource, Response, StatusKind, StatusResponse, ThreadNode,
    Vanished,
};
use imap_proto::{Date, DateTime, SequenceSet};
use types::{Flag, ModSeq, Uid, UidValidity};

fn tag(t: &str) -> Tag {
    Tag::new(t).unwrap()
}

fn untagged(kind: StatusKind, code: Option<Code>, text: &str) -> Response {
    let mut r = StatusResponse::untagged(kind, text);
    r.code = code;
    Response::Status(r)
}

fn tagged(t: &str, kind: StatusKind, code: Option<Code>, text: &str) -> Response {
    let mut r = StatusResponse::tagged(tag(t), kind, text);
    r.code = code;
    Response::Status(r)
}

fn data(d: Data) -> Response {
    Response::Data(d)
}

fn set(numbers: &[u32]) -> SequenceSet {
    SequenceSet::from_numbers(numbers.iter().copied()).unwrap()
}

fn ns(prefix: &str, delim: char) -> NamespaceDesc {
    NamespaceDesc {
        prefix: prefix.into(),
        delimiter: Some(delim),
    }
}

fn status_responses() -> Vec<(Response, &'static [u8])> {
    use StatusKind::*;
    vec![
        (
            untagged(Ok, None, "IMAP4rev1 Service Ready"),
            b"* OK IMAP4rev1 Service Ready\r\n",
        ),
        (
            tagged("a001", Ok, None, "LOGIN completed"),
            b"a001 OK LOGIN completed\r\n",
        ),
        (
            untagged(
                Ok,
                Some(Code::Unseen(17)),
                "Message 17 is the first unseen message",
            ),
            b"* OK [UNSEEN 17] Message 17 is the first unseen message\r\n",
        ),
        (
            untagged(
                Ok,
                Some(Code::UidValidity(UidValidity::new(3857529045).unwrap())),
                "UIDs valid",
            ),
            b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
        ),
        (
            untagged(
                Ok,
                Some(Code::UidNext(Uid::new(4392).unwrap())),
                "Predicted next UID",
            ),
            b"* OK [UIDNEXT 4392] Predicted next UID\r\n",
        ),
        (
            tagged("a002", Ok, Some(Code::ReadWrite), "SELECT completed"),
            b"a002 OK [READ-WRITE] SELECT completed\r\n",
        ),
        (
            tagged("A932", Ok, Some(Code::ReadOnly), "EXAMINE completed"),
            b"A932 OK [READ-ONLY] EXAMINE completed\r\n",
        ),
        (
            untagged(
                Ok,
                Some(Code::PermanentFlags(vec![
                    PermanentFlag::Flag(Flag::Deleted),
                    PermanentFlag::Flag(Flag::Seen),
                    PermanentFlag::Wildcard,
                ])),
                "Limited",
            ),
            b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
        ),
        (
            untagged(Bye, None, "IMAP4rev1 server terminating connection"),
            b"* BYE IMAP4rev1 server terminating connection\r\n",
        ),
        (
            untagged(PreAuth, None, "IMAP4rev1 server logged in as Smith"),
            b"* PREAUTH IMAP4rev1 server logged in as Smith\r\n",
        ),
        (
            untagged(Ok, Some(Code::Alert), "System shutdown in 10 minutes"),
            b"* OK [ALERT] System shutdown in 10 minutes\r\n",
        ),
        (
            tagged("A044", Bad, None, "No such command as \"BLURDYBLOOP\""),
            b"A044 BAD No such command as \"BLURDYBLOOP\"\r\n",
        ),
        (
            untagged(Bad, None, "line\r\nbreak"),
            b"* BAD line  break\r\n",
        ),
        (
            tagged("A003", No, Some(Code::TryCreate), ""),
            b"A003 NO [TRYCREATE] failed\r\n",
        ),
        (
            tagged(
                "A003",
                Ok,
                Some(Code::AppendUid {
                    uid_validity: UidValidity::new(38505).unwrap(),
                    uids: set(&[3955]),
                }),
                "APPEND completed",
            ),
            b"A003 OK [APPENDUID 38505 3955] APPEND completed\r\n",
        ),
        (
            tagged(
                "A004",
                Ok,
                Some(Code::CopyUid {
                    uid_validity: UidValidity::new(38505).unwrap(),
                    source: set(&[304, 319, 320]),
                    destination: set(&[3956, 3957, 3958]),
                }),
                "Done",
            ),
            b"A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
        ),
        (
            untagged(
                Ok,
                Some(Code::HighestModSeq(ModSeq::new(715194045007).unwrap())),
                "Highest",
            ),
            b"* OK [HIGHESTMODSEQ 715194045007] Highest\r\n",
        ),
        (
            tagged(
                "a103",
                Ok,
                Some(Code::Modified(set(&[7, 9]))),
                "Conditional STORE failed",
            ),
            b"a103 OK [MODIFIED 7,9] Conditional STORE failed\r\n",
        ),
        (
            untagged(Ok, Some(Code::Closed), "Previous mailbox closed"),
            b"* OK [CLOSED] Previous mailbox closed\r\n",
        ),
        (
            tagged("a", No, Some(Code::NoPerm), "Access denied"),
            b"a NO [NOPERM] Access denied\r\n",
        ),
        (
            tagged("a", No, Some(Code::OverQuota), "Quota exceeded"),
            b"a NO [OVERQUOTA] Quota exceeded\r\n",
        ),
        (
            tagged("a", No, Some(Code::TooBig), "Message too large"),
            b"a NO [TOOBIG] Message too large\r\n",
        ),
        (
            tagged("a", No, Some(Code::UnknownCte), "Can't decode"),
            b"a NO [UNKNOWN-CTE] Can't decode\r\n",
        ),
        (
            tagged("a", No, Some(Code::CompressionActive), "DEFLATE active"),
            b"a NO [COMPRESSIONACTIVE] DEFLATE active\r\n",
        ),
        (
            tagged("a", Ok, Some(Code::MetadataLongEntries(2199)), "done"),
            b"a OK [METADATA LONGENTRIES 2199] done\r\n",
        ),
        (
            tagged("a", No, Some(Code::MetadataTooMany), "Too many"),
            b"a NO [METADATA TOOMANY] Too many\r\n",
        ),
        (
            tagged("a", No, Some(Code::AlreadyExists), "Mailbox exists"),
            b"a NO [ALREADYEXISTS] Mailbox exists\r\n",
        ),
        (
            tagged("a", No, Some(Code::NonExistent), "No such mailbox"),
            b"a NO [NONEXISTENT] No such mailbox\r\n",
        ),
        (
            tagged(
                "a",
                No,
                Some(Code::AuthenticationFailed),
                "Authentication failed",
            ),
            b"a NO [AUTHENTICATIONFAILED] Authentication failed\r\n",
        ),
        (
            tagged(
                "a",
                No,
                Some(Code::BadCharset(vec!["UTF-8".into(), "US-ASCII".into()])),
                "charset",
            ),
            b"a NO [BADCHARSET (UTF-8 US-ASCII)] charset\r\n",
        ),
        (
            untagged(
                Ok,
                Some(Code::Capability(vec![
                    "IMAP4rev1".into(),
                    "LITERAL+".into(),
                ])),
                "ready",
            ),
            b"* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n",
        ),
        (
            Response::Continue(Continue::Text {
                code: None,
                text: "Ready for additional command text".into(),
            }),
            b"+ Ready for additional command text\r\n",
        ),
        (
            Response::Continue(Continue::Base64(b"test".to_vec())),
            b"+ dGVzdA==\r\n",
        ),
    ]
}

fn data_responses() -> Vec<(Response, &'static [u8])> {
    let list = |attributes, delimiter, mailbox, extended| ListItem {
        attributes,
        delimiter,
        mailbox,
        extended,
    };
    vec![
        (data(Data::Capability(vec!["IMAP4rev1".into(), "STARTTLS".into(), "AUTH=GSSAPI".into(), "LOGINDISABLED".into()])), b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n"),
        (data(Data::Enabled(vec!["CONDSTORE".into()])), b"* ENABLED CONDSTORE\r\n"),
        (data(Data::Exists(18)), b"* 18 EXISTS\r\n"),
        (data(Data::Recent(2)), b"* 2 RECENT\r\n"),
        (data(Data::Expunge(22)), b"* 22 EXPUNGE\r\n"),
        (data(Data::Flags(vec![Flag::Answered, Flag::Flagged, Flag::Deleted, Flag::Seen, Flag::Draft])), b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"),
        (data(Data::List(list(vec![MailboxAttr::NoSelect], Some('/'), Mailbox::Other("~/Mail/foo".into()), vec![]))), b"* LIST (\\Noselect) \"/\" ~/Mail/foo\r\n"),
        (data(Data::List(list(vec![], Some('/'), Mailbox::Other("Foo".into()), vec![ListExtItem::ChildInfo(vec!["SUBSCRIBED".into()])]))), b"* LIST () \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"),
        (data(Data::List(list(vec![MailboxAttr::Sent, MailboxAttr::HasNoChildren], Some('.'), Mailbox::Other("Sent Items".into()), vec![]))), b"* LIST (\\Sent \\HasNoChildren) \".\" \"Sent Items\"\r\n"),
        (data(Data::List(list(vec![], None, Mailbox::Inbox, vec![]))), b"* LIST () NIL INBOX\r\n"),
        (data(Data::List(ListItem { attributes: vec![], delimiter: Some('/'), mailbox: Mailbox::Other("NewName".into()), extended: vec![ListExtItem::OldName(Mailbox::Other("OldMailbox".into()))] })), b"* LIST () \"/\" NewName (\"OLDNAME\" (OldMailbox))\r\n"),
        (data(Data::List(ListItem { attributes: vec![MailboxAttr::NonExistent, MailboxAttr::Subscribed], delimiter: Some('/'), mailbox: Mailbox::Other("Fruit/Peach".into()), extended: vec![] })), b"* LIST (\\NonExistent \\Subscribed) \"/\" Fruit/Peach\r\n"),
        (data(Data::Status { mailbox: Mailbox::Other("blurdybloop".into()), items: vec![(StatusItem::Messages, 231), (StatusItem::UidNext, 44292), (StatusItem::Deleted, 3), (StatusItem::Size, 1_000_000), (StatusItem::HighestModSeq, 7011231777)] }), b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292 DELETED 3 SIZE 1000000 HIGHESTMODSEQ 7011231777)\r\n"),
        (data(Data::Status { mailbox: Mailbox::Other("Entwürfe".into()), items: vec![] }), b"* STATUS Entw&APw-rfe ()\r\n"),
        (data(Data::ESearch { tag: None, addressing: Addressing::Uid, items: vec![ESearchItem::Count(0)] }), b"* ESEARCH UID COUNT 0\r\n"),
        (data(Data::ESearch { tag: Some(tag("a")), addressing: Addressing::Sequence, items: vec![ESearchItem::Max(9), ESearchItem::ModSeq(ModSeq::new(5).unwrap())] }), b"* ESEARCH (TAG \"a\") MAX 9 MODSEQ 5\r\n"),
        (data(Data::List(list(vec![], Some('\\'), Mailbox::Other("a\\b".into()), vec![]))), b"* LIST () \"\\\\\" \"a\\\\b\"\r\n"),
        (data(Data::Lsub(list(vec![], Some('.'), Mailbox::Other("#news.comp.mail.misc".into()), vec![]))), b"* LSUB () \".\" #news.comp.mail.misc\r\n"),
        (data(Data::Status { mailbox: Mailbox::Other("blurdybloop".into()), items: vec![(StatusItem::Messages, 231), (StatusItem::UidNext, 44292)] }), b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"),
        (data(Data::Search { numbers: vec![2, 3, 6], mod_seq: None }), b"* SEARCH 2 3 6\r\n"),
        (data(Data::Search { numbers: vec![], mod_seq: None }), b"* SEARCH\r\n"),
        (data(Data::Search { numbers: vec![2, 5], mod_seq: ModSeq::new(917162500) }), b"* SEARCH 2 5 (MODSEQ 917162500)\r\n"),
        (data(Data::ESearch { tag: Some(tag("A282")), addressing: Addressing::Sequence, items: vec![ESearchItem::Min(2), ESearchItem::Count(3)] }), b"* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n"),
        (data(Data::ESearch { tag: Some(tag("A285")), addressing: Addressing::Uid, items: vec![ESearchItem::Min(7), ESearchItem::Max(3800)] }), b"* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800\r\n"),
        (data(Data::ESearch { tag: Some(tag("A286")), addressing: Addressing::Sequence, items: vec![ESearchItem::All(set(&[1, 2, 3, 5, 17]))] }), b"* ESEARCH (TAG \"A286\") ALL 1:3,5,17\r\n"),
        (data(Data::Namespace { personal: Some(vec![ns("", '/')]), other: Some(vec![ns("~", '/')]), shared: Some(vec![ns("#shared/", '/'), ns("#news.", '.')]) }), b"* NAMESPACE ((\"\" \"/\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\")(\"#news.\" \".\"))\r\n"),
        (data(Data::Namespace { personal: Some(vec![ns("INBOX.", '.')]), other: None, shared: None }), b"* NAMESPACE ((\"INBOX.\" \".\")) NIL NIL\r\n"),
        (data(Data::Id(Some(vec![("name".into(), Some("Cyrus".into())), ("version".into(), Some("1.5".into())), ("os".into(), None)]))), b"* ID (\"name\" \"Cyrus\" \"version\" \"1.5\" \"os\" NIL)\r\n"),
        (data(Data::Id(None)), b"* ID NIL\r\n"),
        (data(Data::Vanished { mode: Vanished::Earlier, uids: set(&[41, 43, 44, 45]) }), b"* VANISHED (EARLIER) 41,43:45\r\n"),
        (data(Data::Vanished { mode: Vanished::Now, uids: set(&[405]) }), b"* VANISHED 405\r\n"),
        (data(Data::Acl { mailbox: Mailbox::Other("INBOX/Drafts".into()), entries: vec![("Fred".into(), "rwipslxetad".into()), ("Chris".into(), "lrswi".into())] }), b"* ACL INBOX/Drafts Fred rwipslxetad Chris lrswi\r\n"),
        (data(Data::ListRights { mailbox: Mailbox::Other("~/Mail/saved".into()), identifier: "smith".into(), required: "la".into(), optional: vec!["r".into(), "swicdkxte".into()] }), b"* LISTRIGHTS ~/Mail/saved smith la r swicdkxte\r\n"),
        (data(Data::MyRights { mailbox: Mailbox::Inbox, rights: "rwiptsldaex".into() }), b"* MYRIGHTS INBOX rwiptsldaex\r\n"),
        (data(Data::Quota { root: String::new(), resources: vec![QuotaResource { name: "STORAGE".into(), usage: 10, limit: 512 }] }), b"* QUOTA \"\" (STORAGE 10 512)\r\n"),
        (data(Data::QuotaRoot { mailbox: Mailbox::Inbox, roots: vec![String::new()] }), b"* QUOTAROOT INBOX \"\"\r\n"),
        (data(Data::Metadata { mailbox: Mailbox::Other(String::new()), entries: vec![("/shared/comment".into(), Some(b"Shared comment".to_vec())), ("/private/x".into(), None)] }), b"* METADATA \"\" (/shared/comment \"Shared comment\" /private/x NIL)\r\n"),
        (data(Data::MetadataChanged { mailbox: Mailbox::Inbox, entries: vec!["/shared/comment".into(), "/private/comment".into()] }), b"* METADATA INBOX /shared/comment /private/comment\r\n"),
    ]
}

fn sort_thread_responses() -> Vec<(Response, &'static [u8])> {
    let leaf = |n| ThreadNode {
        message: Some(n),
        children: vec![],
    };
    let node = |n, children| ThreadNode {
        message: Some(n),
        children,
    };
    vec![
        (
            data(Data::Sort {
                numbers: vec![2, 84, 882],
                mod_seq: None,
            }),
            b"* SORT 2 84 882\r\n",
        ),
        (
            data(Data::Sort {
                numbers: vec![],
                mod_seq: None,
            }),
            b"* SORT\r\n",
        ),
        (data(Data::Thread(vec![])), b"* THREAD\r\n"),
        (
            data(Data::Thread(vec![
                leaf(2),
                node(
                    3,
                    vec![node(
                        6,
                        vec![
                            node(4, vec![leaf(23)]),
                            node(44, vec![node(7, vec![leaf(96)])]),
                        ],
                    )],
                ),
                ThreadNode {
                    message: None,
                    children: vec![leaf(8), leaf(9)],
                },
            ])),
            b"* THREAD (2)(3 6 (4 23)(44 7 96))((8)(9))\r\n",
        ),
    ]
}

fn fetch_responses() -> Vec<(Response, &'static [u8])> {
    let fetch = |seq, items| data(Data::Fetch { seq, items });
    let date = DateTime::new(Date::new(1996, 7, 17).unwrap(), (2, 44, 25), -420).unwrap();
    let header = Section {
        part: vec![],
        text: Some(SectionText::Header),
    };
    vec![
        (fetch(12, vec![FetchItem::Flags(vec![FetchFlag::Flag(Flag::Seen)]), FetchItem::InternalDate(date), FetchItem::Rfc822Size(4286)]), b"* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286)\r\n"),
        (fetch(12, vec![FetchItem::BodySection { section: header, origin: None, data: Some(b"Subject: hi\r\n\r\n".to_vec()) }]), b"* 12 FETCH (BODY[HEADER] {15}\r\nSubject: hi\r\n\r\n)\r\n"),
        (fetch(12, vec![FetchItem::Flags(vec![FetchFlag::Flag(Flag::Seen), FetchFlag::Flag(Flag::Deleted)])]), b"* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\n"),
        (fetch(1, vec![FetchItem::Flags(vec![FetchFlag::Recent])]), b"* 1 FETCH (FLAGS (\\Recent))\r\n"),
        (fetch(1, vec![FetchItem::Uid(Uid::new(4).unwrap()), FetchItem::ModSeq(ModSeq::new(12121231000).unwrap())]), b"* 1 FETCH (UID 4 MODSEQ (12121231000))\r\n"),
        (fetch(2, vec![FetchItem::BodySection { section: Section { part: vec![1, 2], text: Some(SectionText::HeaderFields(vec!["DATE".into(), "FROM".into()])) }, origin: Some(0), data: None }]), b"* 2 FETCH (BODY[1.2.HEADER.FIELDS (DATE FROM)]<0> NIL)\r\n"),
        (fetch(3, vec![FetchItem::BodySection { section: Section::default(), origin: None, data: Some(b"short".to_vec()) }]), b"* 3 FETCH (BODY[] \"short\")\r\n"),
        (fetch(1, vec![FetchItem::Binary { part: vec![1], data: Some(b"a\0b".to_vec()) }]), b"* 1 FETCH (BINARY[1] ~{3}\r\na\0b)\r\n"),
        (fetch(1, vec![FetchItem::BinarySize { part: vec![1], size: 2659 }]), b"* 1 FETCH (BINARY.SIZE[1] 2659)\r\n"),
        (fetch(1, vec![FetchItem::Envelope(b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)".to_vec())]), b"* 1 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))\r\n"),
        (fetch(1, vec![FetchItem::BodyStructure(b"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)".to_vec())]), b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n"),
        (fetch(1, vec![FetchItem::Rfc822Size(44827), FetchItem::Rfc822Header(Some(b"a".to_vec()))]), b"* 1 FETCH (RFC822.SIZE 44827 RFC822.HEADER \"a\")\r\n"),
    ]
}

/// Every (response, bytes) pair.
pub fn table() -> Vec<(Response, Vec<u8>)> {
    status_responses()
        .into_iter()
        .chain(data_responses())
        .chain(sort_thread_responses())
        .chain(fetch_responses())
        .map(|(r, b)| (r, b.to_vec()))
        .collect()
}
