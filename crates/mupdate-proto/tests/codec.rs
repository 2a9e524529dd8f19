//! Known answers: what Cyrus 3.6.1's `mupdate -m` (Debian's cyrus-murder) wrote and took in a
//! session recorded against it, parsed into values and written back; and the commands this
//! codec writes, as that master took them.
#![allow(clippy::unwrap_used)]

use mupdate_proto::{
    parse_command, parse_response, write_string, Banner, Capability, Command, CommandBody, Frame,
    Framer, Limits, ParseError, Response, Status, Tag, TaggedData,
};
use types::Secret;

fn tag(s: &str) -> Tag {
    Tag::try_from(s).unwrap()
}

/// Every message framed out of `wire`, which must end with a whole one.
fn frames(wire: &[u8]) -> Vec<Vec<u8>> {
    let mut framer = Framer::new(Limits::default());
    let mut buf = wire.to_vec();
    let mut out = Vec::new();
    loop {
        match framer.take(&mut buf) {
            Frame::Message(m) => out.push(m),
            Frame::Incomplete => break,
            other => panic!("{other:?}"),
        }
    }
    assert!(buf.is_empty());
    out
}

fn responses(wire: &[u8]) -> Vec<Response> {
    frames(wire)
        .iter()
        .map(|f| parse_response(f).unwrap())
        .collect()
}

#[test]
fn cyrus_greeting_is_capabilities_then_banner() {
    let wire = b"* AUTH \"PLAIN\" \"LOGIN\" \"CRAM-MD5\"\r\n* STARTTLS\r\n* COMPRESS \"DEFLATE\"\r\n\
* PARTIAL-UPDATE\r\n* OK MUPDATE \"mupmaster\" \"Cyrus IMAP\" \"3.6.1-Debian-3.6.1-4+deb12u5\" \"(master)\"\r\n";
    assert_eq!(
        responses(wire),
        vec![
            Response::Capability(Capability::Auth(vec![
                "PLAIN".into(),
                "LOGIN".into(),
                "CRAM-MD5".into()
            ])),
            Response::Capability(Capability::Starttls),
            Response::Capability(Capability::Compress(vec!["DEFLATE".into()])),
            Response::Capability(Capability::PartialUpdate),
            Response::Banner(Banner {
                server: "mupmaster".into(),
                implementation: "Cyrus IMAP".into(),
                version: "3.6.1-Debian-3.6.1-4+deb12u5".into(),
                mode: Some("(master)".into()),
            }),
        ]
    );
}

#[test]
fn cyrus_list_answers_tagged_literals() {
    let wire = b"A6 MAILBOX {8+}\r\nuser.ann {15+}\r\ndarius1!default {18+}\r\nann\tlrswipkxtecda\t\r\n\
A6 RESERVE {8+}\r\nuser.bob {15+}\r\ndarius1!default\r\nA6 MAILBOX {8+}\r\nuser.cat {7+}\r\nsrv2!p1 {0+}\r\n\r\n\
A6 OK \"list complete\"\r\n";
    assert_eq!(
        responses(wire),
        vec![
            Response::Data {
                tag: Some(tag("A6")),
                data: TaggedData::Mailbox {
                    name: b"user.ann".to_vec(),
                    location: b"darius1!default".to_vec(),
                    acl: b"ann\tlrswipkxtecda\t".to_vec(),
                },
            },
            Response::Data {
                tag: Some(tag("A6")),
                data: TaggedData::Reserve {
                    name: b"user.bob".to_vec(),
                    location: b"darius1!default".to_vec(),
                },
            },
            Response::Data {
                tag: Some(tag("A6")),
                data: TaggedData::Mailbox {
                    name: b"user.cat".to_vec(),
                    location: b"srv2!p1".to_vec(),
                    acl: Vec::new(),
                },
            },
            Response::Done {
                tag: tag("A6"),
                status: Status::Ok,
                text: "list complete".into(),
            },
        ]
    );
}

#[test]
fn cyrus_status_texts_quoted_and_bare() {
    assert_eq!(
        responses(b"A7 NO \"mailbox already exists\"\r\nS1 OK Begin TLS negotiation now\r\n"),
        vec![
            Response::Done {
                tag: tag("A7"),
                status: Status::No,
                text: "mailbox already exists".into(),
            },
            Response::Done {
                tag: tag("S1"),
                status: Status::Ok,
                text: "Begin TLS negotiation now".into(),
            },
        ]
    );
    assert_eq!(
        responses(b"* BAD \"Need command\"\r\n+ go ahead\r\n"),
        vec![
            Response::Untagged {
                status: Status::Bad,
                text: "Need command".into()
            },
            Response::Continuation(b"go ahead".to_vec()),
        ]
    );
}

#[test]
fn streamed_deletes_carry_the_update_tag() {
    assert_eq!(
        responses(b"U1 DELETE {8+}\r\nuser.eve\r\n"),
        vec![Response::Data {
            tag: Some(tag("U1")),
            data: TaggedData::Delete {
                name: b"user.eve".to_vec()
            },
        }]
    );
}

#[test]
fn untagged_data_responses_are_taken_too() {
    assert_eq!(
        responses(b"* MAILBOX \"user.ann\" \"s!p\" \"ann\tlr\t\"\r\n"),
        vec![Response::Data {
            tag: None,
            data: TaggedData::Mailbox {
                name: b"user.ann".to_vec(),
                location: b"s!p".to_vec(),
                acl: b"ann\tlr\t".to_vec(),
            },
        }]
    );
}

/// The commands as this codec writes them; each line was sent to Cyrus's mupdate master,
/// which took it (`OK`).
#[test]
fn commands_as_cyrus_took_them() {
    let cases: Vec<(CommandBody, &[u8])> = vec![
        (
            CommandBody::Authenticate {
                mechanism: "PLAIN".into(),
                initial: Some(Secret::new(b"\0mupdateadmin\0pw".to_vec())),
            },
            b"L AUTHENTICATE \"PLAIN\" \"AG11cGRhdGVhZG1pbgBwdw==\"\r\n",
        ),
        (
            CommandBody::Activate {
                name: b"user.ann".to_vec(),
                location: b"darius1!default".to_vec(),
                acl: b"ann\tlrswipkxtecda\t".to_vec(),
            },
            b"L ACTIVATE \"user.ann\" \"darius1!default\" \"ann\tlrswipkxtecda\t\"\r\n",
        ),
        (
            CommandBody::Reserve {
                name: b"user.bob".to_vec(),
                location: b"darius1!default".to_vec(),
            },
            b"L RESERVE \"user.bob\" \"darius1!default\"\r\n",
        ),
        (
            CommandBody::Find {
                name: "user.q\u{e9}".as_bytes().to_vec(),
            },
            b"L FIND {8+}\r\nuser.q\xc3\xa9\r\n",
        ),
        (
            CommandBody::List {
                prefix: Some(b"darius1!".to_vec()),
            },
            b"L LIST \"darius1!\"\r\n",
        ),
        (CommandBody::List { prefix: None }, b"L LIST\r\n"),
        (
            CommandBody::Update {
                names: vec![b"user.ann".to_vec(), b"user.eve".to_vec()],
            },
            b"L UPDATE \"user.ann\" \"user.eve\"\r\n",
        ),
        (
            CommandBody::Delete {
                name: b"user.q\"x".to_vec(),
            },
            b"L DELETE {8+}\r\nuser.q\"x\r\n",
        ),
        (CommandBody::Noop, b"L NOOP\r\n"),
        (CommandBody::Logout, b"L LOGOUT\r\n"),
    ];
    for (body, wire) in cases {
        let cmd = Command::new(tag("L"), body);
        assert_eq!(
            cmd.encode(),
            wire,
            "{}",
            String::from_utf8_lossy(&cmd.encode())
        );
        let framed = frames(wire);
        assert_eq!(framed.len(), 1);
        assert_eq!(parse_command(&framed[0]).unwrap(), cmd);
    }
}

#[test]
fn commands_parse_as_cyrus_reads_them() {
    // Lower-case names and escapes in quoted strings are taken.
    assert_eq!(
        parse_command(b"a5 find \"user.q\\\"x\"").unwrap(),
        Command::new(
            tag("a5"),
            CommandBody::Find {
                name: b"user.q\"x".to_vec()
            }
        )
    );
    // An atom where a string belongs is refused, as Cyrus refuses it.
    assert_eq!(
        parse_command(b"L5 ACTIVATE user.q srv!p \"\""),
        Err((Some(tag("L5")), ParseError::MissingArguments))
    );
    assert_eq!(
        parse_command(b"L15 NOOP extra"),
        Err((Some(tag("L15")), ParseError::ExtraArguments))
    );
    assert_eq!(
        parse_command(b"B7 FOO"),
        Err((Some(tag("B7")), ParseError::Unrecognized))
    );
    assert_eq!(parse_command(b""), Err((None, ParseError::Empty)));
    assert_eq!(
        parse_command(b"A1 AUTHENTICATE \"PLAIN\" \"not base64!\""),
        Err((Some(tag("A1")), ParseError::MissingArguments))
    );
}

#[test]
fn the_initial_response_is_redacted_in_debug_output() {
    let cmd = parse_command(b"L AUTHENTICATE \"PLAIN\" \"AG11cGRhdGVhZG1pbgBwdw==\"").unwrap();
    assert!(!format!("{cmd:?}").contains("mupdateadmin"));
}

#[test]
fn responses_written_by_a_server_read_back() {
    let all = vec![
        Response::Capability(Capability::Auth(vec!["PLAIN".into()])),
        Response::Capability(Capability::PartialUpdate),
        Response::Banner(Banner {
            server: "m".into(),
            implementation: "Darius test master".into(),
            version: "0".into(),
            mode: Some("(master)".into()),
        }),
        Response::Continuation(b"go ahead".to_vec()),
        Response::Data {
            tag: Some(tag("A1")),
            data: TaggedData::Mailbox {
                name: "user.\u{e9}".as_bytes().to_vec(),
                location: b"s!p".to_vec(),
                acl: b"a\tlr\t".to_vec(),
            },
        },
        Response::Done {
            tag: tag("A1"),
            status: Status::No,
            text: "mailbox already exists".into(),
        },
        Response::Bye("idle for too long".into()),
    ];
    let mut wire = Vec::new();
    for r in &all {
        wire.extend_from_slice(&r.encode());
    }
    assert_eq!(responses(&wire), all);
}

#[test]
fn strings_pick_their_form() {
    let mut out = Vec::new();
    write_string(&mut out, b"");
    assert_eq!(out, b"\"\"");
    let long = vec![b'a'; 1025];
    let mut out = Vec::new();
    write_string(&mut out, &long);
    assert!(out.starts_with(b"{1025+}\r\n"));
}

#[test]
fn malformed_responses_are_errors_not_panics() {
    for bad in [
        &b"A1"[..],
        b"A1 MAILBOX \"x\"",
        b"A1 MAILBOX \"x\" \"y\" \"z\" \"w\"",
        b"A1 DELETE x",
        b"* FOO bar",
        b"A1 FOO",
        b"A*B OK",
        b"A1 RESERVE {5+}\r\nab",
    ] {
        assert!(
            parse_response(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}
