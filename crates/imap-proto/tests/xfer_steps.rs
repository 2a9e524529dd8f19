//! Darius's private transfer steps (XFERPREPARE … XFERABORT): known answers, encode → parse
//! identity in both literal styles and both mailbox encodings, and the inputs refused.
#![allow(clippy::unwrap_used)]

use imap_proto::command::{AppendData, Command, Tag, TaggedCommand, XferStep};
use imap_proto::wire::LiteralStyle;
use imap_proto::{parse_command, Date, DateTime, LiteralKind, MailboxEncoding, SequenceSet};
use types::{Flag, Uid, UidValidity};

fn uid(n: u32) -> Uid {
    Uid::new(n).unwrap()
}

fn steps() -> Vec<XferStep> {
    let date = DateTime::new(Date::new(2024, 2, 29).unwrap(), (23, 59, 1), -330).unwrap();
    vec![
        XferStep::Prepare {
            mailbox: "user.ann.Été".into(),
            uidvalidity: UidValidity::new(1_700_000_000).unwrap(),
            uidnext: 10_001,
            highestmodseq: 123_456_789_012,
            partition: Some("p2".into()),
            acl: "ann\tlrswipkxtecda\tanyone\tlr\t".into(),
            special_use: vec!["\\Sent".into(), "\\Archive".into()],
        },
        XferStep::Prepare {
            mailbox: "shared.team".into(),
            uidvalidity: UidValidity::new(1).unwrap(),
            uidnext: 1,
            highestmodseq: 1,
            partition: None,
            acl: String::new(),
            special_use: Vec::new(),
        },
        XferStep::Message {
            mailbox: "user.ann".into(),
            uid: uid(42),
            internal_date: date,
            flags: vec![Flag::Seen, Flag::Keyword("$Label1".into())],
            data: AppendData::Inline {
                data: b"Subject: x\r\n\r\nbody\r\n".to_vec(),
                kind: LiteralKind::Literal,
            },
        },
        XferStep::Message {
            mailbox: "user.ann".into(),
            uid: uid(43),
            internal_date: date,
            flags: Vec::new(),
            data: AppendData::Inline {
                data: b"\r\n".to_vec(),
                kind: LiteralKind::Literal,
            },
        },
        XferStep::Flags {
            mailbox: "user.ann".into(),
            flags: vec![(uid(1), vec![Flag::Flagged]), (uid(7), Vec::new())],
        },
        XferStep::Expunge {
            mailbox: "user.ann".into(),
            uids: SequenceSet::from_numbers([3, 4, 5, 9]).unwrap(),
        },
        XferStep::Commit {
            mailbox: "user.ann".into(),
            uidnext: 10_002,
        },
        XferStep::Done {
            mailbox: "user.ann".into(),
        },
        XferStep::Abort {
            mailbox: "user.ann sp".into(),
        },
        XferStep::Sieve {
            mailbox: "user.ann".into(),
            name: "main".into(),
            active: true,
            script: b"require \"fileinto\";\r\nfileinto \"INBOX.x\";\r\n".to_vec(),
        },
        XferStep::Sieve {
            mailbox: "user.ann".into(),
            name: "vacation 2".into(),
            active: false,
            script: Vec::new(),
        },
        XferStep::Subscription {
            mailbox: "user.ann".into(),
            name: "user.ann.Sent Items".into(),
        },
        XferStep::Subscription {
            mailbox: "user.ann".into(),
            name: "shared.team".into(),
        },
    ]
}

#[test]
fn every_step_survives_encoding_and_parsing() {
    for step in steps() {
        for encoding in [MailboxEncoding::ModifiedUtf7, MailboxEncoding::Utf8] {
            for style in [LiteralStyle::NonSync, LiteralStyle::Sync] {
                let tagged = TaggedCommand {
                    tag: Tag::new("x1").unwrap(),
                    command: Command::XferStep(step.clone()),
                };
                let bytes = tagged.to_bytes(encoding, style);
                let parsed = parse_command(&bytes, encoding)
                    .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(&bytes)));
                assert_eq!(parsed, tagged, "{}", String::from_utf8_lossy(&bytes));
                assert_eq!(parsed.command.name(), step.name());
            }
        }
    }
}

#[test]
fn a_prepare_reads_as_written_by_hand() {
    let input = b"x PREPARE\r\n";
    assert!(parse_command(input, MailboxEncoding::Utf8).is_err());
    let input = b"x XFERPREPARE user.bob 77 5 900 NIL {11+}\r\nbob\tlrswipk ()\r\n";
    let parsed = parse_command(input, MailboxEncoding::Utf8).unwrap();
    assert_eq!(
        parsed.command,
        Command::XferStep(XferStep::Prepare {
            mailbox: "user.bob".into(),
            uidvalidity: UidValidity::new(77).unwrap(),
            uidnext: 5,
            highestmodseq: 900,
            partition: None,
            acl: "bob\tlrswipk".into(),
            special_use: Vec::new(),
        })
    );
}

#[test]
fn malformed_steps_are_refused() {
    for input in [
        // UIDVALIDITY and UIDs are never 0.
        "x XFERPREPARE user.a 0 1 1 NIL \"\" ()\r\n",
        "x XFERMSG user.a 0 \"01-Jan-2024 00:00:00 +0000\" () {1+}\r\nx\r\n",
        "x XFERCOMMIT user.a 0\r\n",
        // A message needs its literal, flags need a UID each.
        "x XFERMSG user.a 1 \"01-Jan-2024 00:00:00 +0000\" () \"x\"\r\n",
        "x XFERFLAGS user.a\r\n",
        "x XFERFLAGS user.a (\\Seen)\r\n",
        "x XFEREXPUNGE user.a\r\n",
        "x XFERDONE\r\n",
        "x XFERSIEVE user.a main MAYBE \"x\"\r\n",
        "x XFERSUB user.a\r\n",
        "x XFERSUB user.a b c\r\n",
    ] {
        assert!(
            parse_command(input.as_bytes(), MailboxEncoding::Utf8).is_err(),
            "{input}"
        );
    }
    let mut many = String::from("x XFERFLAGS user.a");
    for n in 1..=imap_proto::MAX_XFER_FLAGS + 1 {
        many.push_str(&format!(" {n} ()"));
    }
    many.push_str("\r\n");
    assert!(parse_command(many.as_bytes(), MailboxEncoding::Utf8).is_err());
}
