//! Differential tests against imap-codec (DESIGN.md §5: a dev-dependency oracle only).
//!
//! Commands: for every input in the table, both parsers must agree on accepting or rejecting it,
//! and when both accept, imap-codec's re-encoding of its value must parse (with ours) to the
//! same value we got from the original bytes. Inputs only one side supports are listed with the
//! reason. Responses: everything our encoder emits in the known-answer table must parse with
//! imap-codec's response parser, consuming exactly the bytes we wrote.
#![allow(clippy::unwrap_used)]

mod support;

use imap_codec::decode::Decoder;
use imap_codec::encode::Encoder;
use imap_codec::{CommandCodec, GreetingCodec, ResponseCodec};
use imap_proto::response::{Data, Response, StatusKind, StatusResponse};
use imap_proto::{parse_command, MailboxEncoding};

fn theirs(input: &[u8]) -> Option<Vec<u8>> {
    match CommandCodec::default().decode(input) {
        Ok(([], cmd)) => Some(CommandCodec::default().encode(&cmd).dump()),
        Ok(_) | Err(_) => None,
    }
}

fn ours_accepts(input: &[u8]) -> bool {
    parse_command(input, MailboxEncoding::ModifiedUtf7).is_ok()
}

/// Commands imap-codec 2.0.0-alpha.10 does not know or parses differently, and why.
const ONLY_OURS: &[(&str, &str)] = &[
    (
        "4 SETQUOTA user.dave (STORAGE 1000 )\r\n",
        "a space before `)`, as Cyrus's cyradm sends SETQUOTA",
    ),
    (
        "A1 SELECT x (QRESYNC (1 2 1:5 (1:3 4:6)) X-EXT (a (b c)) Y)\r\n",
        "generic RFC 4466 select-param",
    ),
    (
        "t1 CREATE \"Important Messages\" (USE (\\Important))\r\n",
        "RFC 6154 CREATE USE",
    ),
    (
        "A02 LIST (SPECIAL-USE REMOTE) \"\" *\r\n",
        "RFC 6154 / RFC 5258 selection options",
    ),
    (
        "A03 LIST () \"\" % RETURN (SPECIAL-USE SUBSCRIBED)\r\n",
        "RFC 6154 SPECIAL-USE return option",
    ),
    (
        "A042 STATUS x (SIZE DELETED HIGHESTMODSEQ APPENDLIMIT RECENT UIDVALIDITY UNSEEN)\r\n",
        "RFC 9051 DELETED, RFC 7889 APPENDLIMIT",
    ),
    ("A1 SEARCH RETURN () UNDELETED\r\n", "RFC 4731 ESEARCH"),
    (
        "A1 UID SEARCH RETURN (SAVE) KEYWORD $Junk UNKEYWORD x LARGER 10 SMALLER 20000\r\n",
        "RFC 5182 SEARCHRES",
    ),
    ("A1 FETCH $ ALL\r\n", "RFC 5182 `$`"),
    ("a1 SETACL INBOX/Drafts Chris +cda\r\n", "RFC 4314 ACL"),
    ("a2 GETACL INBOX\r\n", "RFC 4314 ACL"),
    ("a3 DELETEACL user.fred anyone\r\n", "RFC 4314 ACL"),
    ("a4 LISTRIGHTS ~/Mail/saved smith\r\n", "RFC 4314 ACL"),
    ("a5 MYRIGHTS INBOX\r\n", "RFC 4314 ACL"),
    ("a CREATE user.bob.Archive archive2\r\n", "Cyrus CREATE partition"),
    ("a CREATE Sent \"\" (USE (\\Sent))\r\n", "Cyrus CREATE partition, RFC 6154 USE"),
    ("a RENAME user.bob user.robert p2\r\n", "Cyrus RENAME partition"),
    ("a RECONSTRUCT user.bob RECURSIVE\r\n", "Cyrus RECONSTRUCT"),
    ("a RECONSTRUCT user.bob\r\n", "Cyrus RECONSTRUCT"),
    ("a XFER user.bob backend2 default\r\n", "Cyrus XFER"),
    ("a UNAUTHENTICATE\r\n", "RFC 8437 UNAUTHENTICATE"),
    ("a APPEND x \"7-Mar-2024 10:00:00 +0100\" {1}\r\nx\r\n", "lenient single-digit day in date-time"),
    ("a GETMETADATA INBOX (DEPTH 1) (/shared /private)\r\n", "Cyrus's options-after-mailbox GETMETADATA"),
    ("a GETMETADATA \"\" /shared/comment\r\n", "RFC 5464 METADATA (feature not enabled)"),
    ("a GETMETADATA (MAXSIZE 1024 DEPTH infinity) INBOX (/private/comment /shared/comment)\r\n", "RFC 5464 METADATA (feature not enabled)"),
    ("a SETMETADATA INBOX (/private/comment {34}\r\nMy new comment across two lines.\r\n /shared/x NIL /shared/y ~{3}\r\nabc)\r\n", "RFC 5464 METADATA (feature not enabled)"),
];

/// Inputs we refuse on purpose although imap-codec accepts them, and why.
const ONLY_THEIRS: &[(&str, &str)] = &[(
    "a STORE 1 +FLAGS (\\Recent)\r\n",
    "RFC 3501 §2.3.2: \\Recent cannot be stored; types::Flag refuses it",
)];

/// Inputs both must refuse.
const BOTH_REFUSE: &[&str] = &[
    "a1 BLURDYBLOOP\r\n",
    "a NOOP extra\r\n",
    "+x NOOP\r\n",
    "a FETCH 0 FLAGS\r\n",
    "a SEARCH SINCE 30-Feb-2020\r\n",
    "a LOGIN \"a\0b\" c\r\n",
    "a SELECT\r\n",
    "a FETCH 1 BODY[HEADER.FIELDS]\r\n",
    "a SEARCH\r\n",
    "a LIST \"\"\r\n",
    "a UID\r\n",
];

#[test]
fn both_parsers_agree_on_rfc_example_commands() {
    let mut disagreements = Vec::new();
    for (input, _) in support::commands::CANONICAL {
        let ours = parse_command(input.as_bytes(), MailboxEncoding::ModifiedUtf7).unwrap();
        let listed = ONLY_OURS.iter().any(|(i, _)| i == input);
        match theirs(input.as_bytes()) {
            Some(reencoded) => {
                assert!(
                    !listed,
                    "{input:?} is listed as ours-only but imap-codec accepts it"
                );
                let again = parse_command(&reencoded, MailboxEncoding::ModifiedUtf7);
                assert_eq!(
                    again.as_ref().ok(),
                    Some(&ours),
                    "values differ for {input:?} (theirs: {:?})",
                    String::from_utf8_lossy(&reencoded)
                );
            }
            None if listed => {}
            None => disagreements.push(*input),
        }
    }
    assert!(
        disagreements.is_empty(),
        "imap-codec refuses: {disagreements:#?}"
    );
}

#[test]
fn both_parsers_refuse_the_same_bad_commands() {
    for input in BOTH_REFUSE {
        assert!(!ours_accepts(input.as_bytes()), "we accept {input:?}");
        assert!(
            theirs(input.as_bytes()).is_none(),
            "imap-codec accepts {input:?}"
        );
    }
    for (input, why) in ONLY_THEIRS {
        assert!(!ours_accepts(input.as_bytes()), "{input:?}: {why}");
        assert!(
            theirs(input.as_bytes()).is_some(),
            "{input:?} no longer accepted by imap-codec"
        );
    }
}

#[test]
fn every_encoded_response_reparses_with_imap_codec() {
    let mut failures = Vec::new();
    for (response, _) in support::responses::table() {
        if imap_codec_lacks(&response) {
            continue;
        }
        let bytes = response.to_bytes(MailboxEncoding::ModifiedUtf7);
        if let Response::Status(StatusResponse {
            kind: StatusKind::PreAuth,
            ..
        }) = response
        {
            assert!(GreetingCodec::default()
                .decode(&bytes)
                .is_ok_and(|(rest, _)| rest.is_empty()));
            continue;
        }
        match ResponseCodec::default().decode(&bytes) {
            Ok(([], _)) => {}
            other => failures.push(format!(
                "{:?}: {:?}",
                String::from_utf8_lossy(&bytes),
                other.map(|(r, _)| r.len())
            )),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Responses of extensions imap-codec 2.0.0-alpha.10 does not parse: ESEARCH (RFC 4731), the
/// ACL responses (RFC 4314) and LIST's extended items (RFC 5258 `mbox-list-extended`).
fn imap_codec_lacks(response: &Response) -> bool {
    match response {
        Response::Data(Data::ESearch { .. })
        | Response::Data(Data::Acl { .. })
        | Response::Data(Data::ListRights { .. })
        | Response::Data(Data::MyRights { .. })
        | Response::Data(Data::Metadata { .. })
        | Response::Data(Data::MetadataChanged { .. }) => true,
        Response::Data(Data::List(item)) => !item.extended.is_empty(),
        _ => false,
    }
}

mod mutations {
    use super::*;
    use proptest::prelude::*;

    /// Table commands with a few bytes changed: when both parsers accept the result, they
    /// must agree on its value.
    fn mutated() -> impl Strategy<Value = Vec<u8>> {
        let inputs: Vec<Vec<u8>> = support::commands::CANONICAL
            .iter()
            .map(|(i, _)| i.as_bytes().to_vec())
            .collect();
        let edit = (
            any::<prop::sample::Index>(),
            prop::sample::select(b" ()[]<>{}\"\\*%$:,.0123456789aAzZ+-~\r\n\x00\xc3".to_vec()),
            0u8..3,
        );
        (
            prop::sample::select(inputs),
            prop::collection::vec(edit, 1..4),
        )
            .prop_map(|(mut data, edits)| {
                for (at, byte, op) in edits {
                    let i = at.index(data.len().saturating_sub(2) + 1);
                    match op {
                        0 if i < data.len() => data[i] = byte,
                        1 if i < data.len() => {
                            data.remove(i);
                        }
                        _ => data.insert(i, byte),
                    }
                }
                data
            })
    }

    proptest! {
        #[test]
        fn where_both_accept_they_agree(input in mutated()) {
            let ours = parse_command(&input, MailboxEncoding::ModifiedUtf7);
            if let (Ok(ours), Some(reencoded)) = (ours, theirs(&input)) {
                let again = parse_command(&reencoded, MailboxEncoding::ModifiedUtf7);
                prop_assert_eq!(again.as_ref().ok(), Some(&ours), "input {:?}, theirs {:?}", String::from_utf8_lossy(&input), String::from_utf8_lossy(&reencoded));
            }
        }
    }
}
