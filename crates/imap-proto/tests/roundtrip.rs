//! Property tests: encode → parse is the identity for generated commands (in both mailbox
//! encodings), for modified UTF-7, and our encoded FETCH bodies re-parse with imap-codec.
#![allow(clippy::unwrap_used)]

use std::num::NonZeroU32;

use imap_codec::decode::Decoder;
use imap_codec::ResponseCodec;
use imap_proto::command::{
    Addressing, AppendData, AppendMessage, Command, Fetch, FetchAttr, FetchItems, FetchMacro, List,
    ListReturnOption, ListSelectOption, Mailbox, MetadataDepth, MetadataOptions, PeekMode,
    Recursion, Search, SearchKey, SearchReturn, Section, SectionText, Sort, SortCriterion, SortKey,
    SortOrder, StatusItem, Store, StoreAction, StoreSilence, Tag, TaggedCommand, Thread,
    ThreadAlgorithm,
};
use imap_proto::response::{Data, FetchItem, Response};
use imap_proto::wire::LiteralStyle;
use imap_proto::{
    mutf7, parse_command, Date, DateTime, LiteralKind, MailboxEncoding, SeqNumber, SequenceItem,
    SequenceSet,
};
use proptest::prelude::*;
use types::{Flag, Secret};

fn tag() -> impl Strategy<Value = Tag> {
    "[A-Za-z0-9.]{1,8}".prop_map(|t| Tag::new(&t).unwrap())
}

fn text() -> impl Strategy<Value = String> {
    "[^\x00]{0,12}"
}

/// An RFC 2971 ID field name: at most 30 octets (§3.3), so at most 7 characters of up to 4
/// octets each; longer names are refused by the parser and have their own bad-input tests.
fn id_field() -> impl Strategy<Value = String> {
    "[^\x00]{0,7}"
}

fn mailbox() -> impl Strategy<Value = Mailbox> {
    prop_oneof![Just(Mailbox::Inbox), text().prop_map(Mailbox::from_name)]
}

fn seq_number() -> impl Strategy<Value = SeqNumber> {
    prop_oneof![
        Just(SeqNumber::Largest),
        (1u32..).prop_map(|n| SeqNumber::Value(NonZeroU32::new(n).unwrap())),
    ]
}

fn sequence_set() -> impl Strategy<Value = SequenceSet> {
    let item = prop_oneof![
        seq_number().prop_map(SequenceItem::Single),
        (seq_number(), seq_number()).prop_map(|(a, b)| SequenceItem::Range(a, b)),
    ];
    prop_oneof![
        1 => Just(SequenceSet::Saved),
        9 => prop::collection::vec(item, 1..4).prop_map(SequenceSet::Items),
    ]
}

fn flag() -> impl Strategy<Value = Flag> {
    prop_oneof![
        Just(Flag::Seen),
        Just(Flag::Answered),
        Just(Flag::Flagged),
        Just(Flag::Deleted),
        Just(Flag::Draft),
        "[A-Za-z$][A-Za-z0-9_$-]{0,8}".prop_map(|k| Flag::parse(&k).unwrap()),
    ]
}

fn date() -> impl Strategy<Value = Date> {
    (1900u16..2100, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap())
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8.., 0..16)
}

fn search_key() -> impl Strategy<Value = SearchKey> {
    let leaf = prop_oneof![
        Just(SearchKey::All),
        Just(SearchKey::Seen),
        Just(SearchKey::Unanswered),
        Just(SearchKey::New),
        bytes().prop_map(SearchKey::Subject),
        bytes().prop_map(SearchKey::Body),
        (bytes(), bytes()).prop_map(|(f, v)| SearchKey::Header(f, v)),
        date().prop_map(SearchKey::Since),
        date().prop_map(SearchKey::SentBefore),
        any::<u32>().prop_map(|n| SearchKey::Larger(u64::from(n))),
        sequence_set().prop_map(SearchKey::Uid),
        sequence_set().prop_map(SearchKey::SequenceSet),
        "[A-Za-z][A-Za-z0-9]{0,6}".prop_map(SearchKey::Keyword),
        (1u64..1 << 40).prop_map(|m| SearchKey::ModSeq {
            entry: None,
            mod_seq: m
        }),
        (1u32..1000).prop_map(SearchKey::Younger),
    ];
    leaf.prop_recursive(4, 16, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| SearchKey::Not(Box::new(k))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| SearchKey::Or(Box::new(a), Box::new(b))),
            prop::collection::vec(inner, 1..3).prop_map(SearchKey::And),
        ]
    })
}

fn addressing() -> impl Strategy<Value = Addressing> {
    prop_oneof![Just(Addressing::Sequence), Just(Addressing::Uid)]
}

fn section() -> impl Strategy<Value = Section> {
    let fields = prop::collection::vec("[A-Za-z-]{1,10}", 1..3);
    let text = prop_oneof![
        Just(None),
        Just(Some(SectionText::Header)),
        Just(Some(SectionText::Text)),
        fields
            .clone()
            .prop_map(|f| Some(SectionText::HeaderFields(f))),
        fields.prop_map(|f| Some(SectionText::HeaderFieldsNot(f))),
    ];
    (prop::collection::vec(1u32..20, 0..3), text, any::<bool>()).prop_map(|(part, text, mime)| {
        let text = if mime && !part.is_empty() {
            Some(SectionText::Mime)
        } else {
            text
        };
        Section { part, text }
    })
}

fn fetch_attr() -> impl Strategy<Value = FetchAttr> {
    let partial = prop::option::of((any::<u32>(), 1u32..));
    let peek = prop_oneof![Just(PeekMode::Read), Just(PeekMode::Peek)];
    prop_oneof![
        Just(FetchAttr::Envelope),
        Just(FetchAttr::Flags),
        Just(FetchAttr::Rfc822Size),
        Just(FetchAttr::BodyStructure),
        Just(FetchAttr::Body),
        Just(FetchAttr::Uid),
        Just(FetchAttr::ModSeq),
        (peek.clone(), section(), partial.clone()).prop_map(|(peek, section, partial)| {
            FetchAttr::BodySection {
                peek,
                section,
                partial,
            }
        }),
        (peek, prop::collection::vec(1u32..9, 0..3), partial).prop_map(|(peek, part, partial)| {
            FetchAttr::Binary {
                peek,
                part,
                partial,
            }
        }),
    ]
}

fn fetch() -> impl Strategy<Value = Command> {
    let items = prop_oneof![
        Just(FetchItems::Macro(FetchMacro::All)),
        Just(FetchItems::Macro(FetchMacro::Fast)),
        prop::collection::vec(fetch_attr(), 1..5).prop_map(FetchItems::Attrs),
    ];
    (
        addressing(),
        sequence_set(),
        items,
        prop::option::of(1u64..1 << 50),
    )
        .prop_map(|(addressing, set, items, changed_since)| {
            let vanished = addressing == Addressing::Uid && changed_since.is_some();
            Command::Fetch(Fetch {
                addressing,
                set,
                items,
                changed_since,
                vanished,
            })
        })
}

fn search() -> impl Strategy<Value = Command> {
    let ret = prop::option::of(prop::collection::vec(
        prop_oneof![
            Just(SearchReturn::Min),
            Just(SearchReturn::Count),
            Just(SearchReturn::Save)
        ],
        0..3,
    ));
    let charset = prop::option::of(Just("UTF-8".to_string()));
    (
        addressing(),
        ret,
        charset,
        prop::collection::vec(search_key(), 1..4),
    )
        .prop_map(|(addressing, return_options, charset, criteria)| {
            Command::Search(Search {
                addressing,
                return_options,
                charset,
                criteria,
            })
        })
}

fn sort_thread() -> impl Strategy<Value = Command> {
    let criterion =
        (prop::sample::select(SortKey::ALL.to_vec()), any::<bool>()).prop_map(|(key, rev)| {
            let order = if rev {
                SortOrder::Descending
            } else {
                SortOrder::Ascending
            };
            SortCriterion { order, key }
        });
    let charset = prop::sample::select(vec!["UTF-8".to_string(), "us-ascii".into(), "x y".into()]);
    let keys = || prop::collection::vec(search_key(), 1..3);
    let algorithm = prop_oneof![
        Just(ThreadAlgorithm::OrderedSubject),
        Just(ThreadAlgorithm::References),
        Just(ThreadAlgorithm::Other("REFS".into())),
    ];
    prop_oneof![
        (
            addressing(),
            prop::collection::vec(criterion, 1..4),
            charset.clone(),
            keys()
        )
            .prop_map(|(addressing, criteria, charset, search)| {
                Command::Sort(Sort {
                    addressing,
                    criteria,
                    charset,
                    search,
                })
            }),
        (addressing(), algorithm, charset, keys()).prop_map(
            |(addressing, algorithm, charset, search)| {
                Command::Thread(Thread {
                    addressing,
                    algorithm,
                    charset,
                    search,
                })
            }
        ),
    ]
}

fn store() -> impl Strategy<Value = Command> {
    let action = prop_oneof![
        Just(StoreAction::Add),
        Just(StoreAction::Remove),
        Just(StoreAction::Replace)
    ];
    let silence = prop_oneof![Just(StoreSilence::Silent), Just(StoreSilence::Report)];
    (
        addressing(),
        sequence_set(),
        prop::option::of(any::<u32>()),
        action,
        silence,
        prop::collection::vec(flag(), 0..4),
    )
        .prop_map(|(addressing, set, since, action, silence, flags)| {
            let unchanged_since = since.map(u64::from);
            Command::Store(Store {
                addressing,
                set,
                unchanged_since,
                action,
                silence,
                flags,
            })
        })
}

fn append() -> impl Strategy<Value = Command> {
    let dt = (date(), 0u8..24, 0u8..60, -720i16..720)
        .prop_map(|(d, h, m, z)| DateTime::new(d, (h, m, 7), z).unwrap());
    let data = prop_oneof![
        bytes().prop_map(|data| AppendData::Inline {
            data,
            kind: LiteralKind::Literal
        }),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(|data| AppendData::Inline {
            data,
            kind: LiteralKind::Literal8
        }),
    ];
    let message = (
        prop::collection::vec(flag(), 0..3),
        prop::option::of(dt),
        data,
    )
        .prop_map(|(flags, date_time, data)| AppendMessage {
            flags,
            date_time,
            data,
        });
    (mailbox(), prop::collection::vec(message, 1..3))
        .prop_map(|(mailbox, messages)| Command::Append { mailbox, messages })
}

fn list() -> impl Strategy<Value = Command> {
    let select = prop::collection::vec(
        prop_oneof![
            Just(ListSelectOption::Subscribed),
            Just(ListSelectOption::RecursiveMatch),
            Just(ListSelectOption::SpecialUse)
        ],
        0..3,
    );
    let ret = prop::collection::vec(
        prop_oneof![
            Just(ListReturnOption::Children),
            Just(ListReturnOption::MyRights),
            Just(ListReturnOption::Subscribed),
            prop::collection::vec(prop::sample::select(StatusItem::ALL.to_vec()), 1..4)
                .prop_map(ListReturnOption::Status),
        ],
        0..3,
    );
    (select, text(), prop::collection::vec(text(), 1..3), ret).prop_map(
        |(selection, reference, patterns, return_options)| {
            Command::List(List {
                selection,
                reference,
                patterns,
                return_options,
            })
        },
    )
}

fn simple() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(Command::Capability),
        Just(Command::Noop),
        Just(Command::Idle),
        Just(Command::Namespace),
        Just(Command::Unselect),
        (text(), text()).prop_map(|(u, p)| Command::Login {
            username: u,
            password: Secret::new(p)
        }),
        (
            mailbox(),
            prop::collection::vec(Just("\\Sent".to_string()), 0..2)
        )
            .prop_map(|(mailbox, use_attrs)| Command::Create {
                mailbox,
                partition: None,
                use_attrs
            }),
        (
            mailbox(),
            "[a-z0-9]{1,8}",
            prop::option::of("[a-z0-9]{1,8}")
        )
            .prop_map(|(mailbox, server, partition)| Command::Xfer {
                mailbox,
                server,
                partition
            }),
        mailbox().prop_map(|mailbox| Command::Reconstruct {
            mailbox,
            recursion: Recursion::Recursive
        }),
        (mailbox(), mailbox(), prop::option::of(text())).prop_map(|(from, to, partition)| {
            Command::Rename {
                from,
                to,
                partition,
            }
        }),
        (
            mailbox(),
            prop::collection::vec(prop::sample::select(StatusItem::ALL.to_vec()), 1..5)
        )
            .prop_map(|(mailbox, items)| Command::Status { mailbox, items }),
        (addressing(), sequence_set(), mailbox()).prop_map(|(addressing, set, mailbox)| {
            Command::Move {
                addressing,
                set,
                mailbox,
            }
        }),
        sequence_set().prop_map(Command::UidExpunge),
        (mailbox(), text(), "[a-z+-]{1,8}").prop_map(|(mailbox, identifier, rights)| {
            Command::SetAcl {
                mailbox,
                identifier,
                rights,
            }
        }),
        prop::option::of(prop::collection::vec(
            (id_field(), prop::option::of(text())),
            0..3
        ))
        .prop_map(Command::Id),
        (
            mailbox(),
            prop::collection::vec(("/[a-z/]{1,10}", prop::option::of(bytes())), 1..3)
        )
            .prop_map(|(mailbox, entries)| Command::SetMetadata { mailbox, entries }),
        (
            mailbox(),
            prop::option::of(any::<u32>()),
            prop::collection::vec("/[a-z/]{1,10}", 1..3)
        )
            .prop_map(|(mailbox, max_size, entries)| {
                let options = MetadataOptions {
                    max_size,
                    depth: Some(MetadataDepth::One),
                };
                Command::GetMetadata {
                    mailbox,
                    options,
                    entries,
                }
            }),
    ]
}

fn command() -> impl Strategy<Value = TaggedCommand> {
    let command = prop_oneof![
        simple(),
        fetch(),
        search(),
        sort_thread(),
        store(),
        append(),
        list()
    ];
    (tag(), command).prop_map(|(tag, command)| TaggedCommand { tag, command })
}

fn encodings() -> impl Strategy<Value = MailboxEncoding> {
    prop_oneof![
        Just(MailboxEncoding::ModifiedUtf7),
        Just(MailboxEncoding::Utf8)
    ]
}

proptest! {
    #[test]
    fn command_encode_then_parse_is_identity(cmd in command(), encoding in encodings()) {
        for style in [LiteralStyle::Sync, LiteralStyle::NonSync] {
            let bytes = cmd.to_bytes(encoding, style);
            let parsed = parse_command(&bytes, encoding);
            prop_assert_eq!(parsed.as_ref().ok(), Some(&cmd), "{:?}", String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn sync_segments_concatenate_to_the_command(cmd in command(), encoding in encodings()) {
        let segments = cmd.to_sync_segments(encoding);
        prop_assert_eq!(segments.concat(), cmd.to_bytes(encoding, LiteralStyle::Sync));
        for segment in &segments[..segments.len() - 1] {
            prop_assert!(segment.ends_with(b"}\r\n"), "segment must end with a literal header");
        }
    }

    #[test]
    fn mutf7_encode_then_decode_is_identity(name in any::<String>()) {
        let wire = mutf7::encode(&name);
        prop_assert!(wire.bytes().all(|b| (0x20..0x7f).contains(&b)));
        prop_assert_eq!(mutf7::decode(wire.as_bytes()), Ok(name));
    }

    #[test]
    fn mutf7_decode_accepts_only_minimal_forms(wire in "[ -~]{0,16}") {
        if let Ok(name) = mutf7::decode(wire.as_bytes()) {
            prop_assert_eq!(mutf7::encode(&name), wire);
        }
    }

    #[test]
    fn fetch_bodies_reparse_with_imap_codec(data in prop::collection::vec(1u8.., 0..300), seq in 1u32..) {
        let response = Response::Data(Data::Fetch {
            seq,
            items: vec![FetchItem::BodySection { section: Section::default(), origin: None, data: Some(data) }],
        });
        let bytes = response.to_bytes(MailboxEncoding::ModifiedUtf7);
        let parsed = ResponseCodec::default().decode(&bytes);
        prop_assert!(matches!(parsed, Ok((rest, _)) if rest.is_empty()), "{:?}", String::from_utf8_lossy(&bytes));
    }
}
