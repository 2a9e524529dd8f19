//! The RFC 3501 §8 example session as a trace: the client's lines, pipelined into one framer,
//! give the expected typed commands; the server's typed responses encode to the RFC's bytes.
#![allow(clippy::unwrap_used)]

use imap_proto::command::{Command, Section, SectionText, Tag};
use imap_proto::response::{
    Code, Data, FetchFlag, FetchItem, Response, StatusKind, StatusResponse,
};
use imap_proto::{CommandFramer, Date, DateTime, FramerEvent, Limits, MailboxEncoding};
use types::{Flag, UidValidity};

const CLIENT: &str = "a001 login mrc secret\r\na002 select inbox\r\na003 fetch 12 full\r\n\
a004 fetch 12 body[header]\r\na005 store 12 +flags \\deleted\r\na006 logout\r\n";

const HEADER: &str = "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\
From: Terry Gray <gray@cac.washington.edu>\r\n\
Subject: IMAP4rev1 WG mtg summary and minutes\r\n\
To: imap@cac.washington.edu\r\n\
cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n\
Message-Id: <B27397-0100000@cac.washington.edu>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n";

const ENVELOPE: &str = "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\")";

const BODY: &str = "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)";

fn server_bytes() -> String {
    format!(
        "* OK IMAP4rev1 Service Ready\r\n\
a001 OK LOGIN completed\r\n\
* 18 EXISTS\r\n\
* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
* 2 RECENT\r\n\
* OK [UNSEEN 17] Message 17 is the first unseen message\r\n\
* OK [UIDVALIDITY 3857529045] UIDs valid\r\n\
a002 OK [READ-WRITE] SELECT completed\r\n\
* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE {ENVELOPE} BODY {BODY})\r\n\
a003 OK FETCH completed\r\n\
* 12 FETCH (BODY[HEADER] {{{}}}\r\n{HEADER})\r\n\
a004 OK FETCH completed\r\n\
* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\n\
a005 OK +FLAGS completed\r\n\
* BYE IMAP4rev1 server terminating connection\r\n\
a006 OK LOGOUT completed\r\n",
        HEADER.len()
    )
}

fn ok(tag: &str, code: Option<Code>, text: &str) -> Response {
    let mut status = StatusResponse::tagged(Tag::new(tag).unwrap(), StatusKind::Ok, text);
    status.code = code;
    Response::Status(status)
}

fn untagged(kind: StatusKind, code: Option<Code>, text: &str) -> Response {
    let mut status = StatusResponse::untagged(kind, text);
    status.code = code;
    Response::Status(status)
}

/// What the server answers to each command, in order.
fn answers(command: &Command, tag: &str) -> Vec<Response> {
    let fetch = |items| Response::Data(Data::Fetch { seq: 12, items });
    match command.name() {
        "LOGIN" => vec![ok(tag, None, "LOGIN completed")],
        "SELECT" => vec![
            Data::Exists(18).into(),
            Data::Flags(vec![
                Flag::Answered,
                Flag::Flagged,
                Flag::Deleted,
                Flag::Seen,
                Flag::Draft,
            ])
            .into(),
            Data::Recent(2).into(),
            untagged(
                StatusKind::Ok,
                Some(Code::Unseen(17)),
                "Message 17 is the first unseen message",
            ),
            untagged(
                StatusKind::Ok,
                Some(Code::UidValidity(UidValidity::new(3857529045).unwrap())),
                "UIDs valid",
            ),
            ok(tag, Some(Code::ReadWrite), "SELECT completed"),
        ],
        "FETCH" if tag == "a003" => {
            let date = DateTime::new(Date::new(1996, 7, 17).unwrap(), (2, 44, 25), -420).unwrap();
            vec![
                fetch(vec![
                    FetchItem::Flags(vec![FetchFlag::Flag(Flag::Seen)]),
                    FetchItem::InternalDate(date),
                    FetchItem::Rfc822Size(4286),
                    FetchItem::Envelope(ENVELOPE.as_bytes().to_vec()),
                    FetchItem::Body(BODY.as_bytes().to_vec()),
                ]),
                ok(tag, None, "FETCH completed"),
            ]
        }
        "FETCH" => vec![
            fetch(vec![FetchItem::BodySection {
                section: Section {
                    part: vec![],
                    text: Some(SectionText::Header),
                },
                origin: None,
                data: Some(HEADER.as_bytes().to_vec()),
            }]),
            ok(tag, None, "FETCH completed"),
        ],
        "STORE" => vec![
            fetch(vec![FetchItem::Flags(vec![
                FetchFlag::Flag(Flag::Seen),
                FetchFlag::Flag(Flag::Deleted),
            ])]),
            ok(tag, None, "+FLAGS completed"),
        ],
        "LOGOUT" => vec![
            untagged(
                StatusKind::Bye,
                None,
                "IMAP4rev1 server terminating connection",
            ),
            ok(tag, None, "LOGOUT completed"),
        ],
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn rfc3501_section8_session_round_trips() {
    let mut framer = CommandFramer::new(Limits::default());
    framer.push(CLIENT.as_bytes());
    let mut out = Vec::new();
    untagged(StatusKind::Ok, None, "IMAP4rev1 Service Ready")
        .encode(&mut out, MailboxEncoding::ModifiedUtf7);
    let mut names = Vec::new();
    while let Some(event) = framer.next_event() {
        let FramerEvent::Command(cmd) = event else {
            panic!("{event:?}")
        };
        names.push(cmd.command.name());
        for response in answers(&cmd.command, cmd.tag.as_str()) {
            response.encode(&mut out, MailboxEncoding::ModifiedUtf7);
        }
    }
    assert_eq!(
        names,
        ["LOGIN", "SELECT", "FETCH", "FETCH", "STORE", "LOGOUT"]
    );
    assert_eq!(String::from_utf8(out).unwrap(), server_bytes());
}
