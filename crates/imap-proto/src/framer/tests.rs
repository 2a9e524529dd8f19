//! Framer behaviour: literals of every kind, streaming of APPEND messages, limits and
//! resynchronisation, IDLE and AUTHENTICATE line modes.

use super::*;
use crate::command::{AppendData, Command, Mailbox, Tag};
use crate::error::ErrorKind;
use crate::limits::LiteralPlusMode;

fn small_limits() -> Limits {
    Limits {
        max_line: 100,
        max_literal: 50,
        max_append_literal: 1000,
        max_command: 400,
        max_discard: 2000,
        ..Limits::default()
    }
}

/// Feeds `input` in one go and collects events, answering message literals with spool refs
/// numbered from 1 (their data is concatenated into the returned vector).
fn run(framer: &mut CommandFramer, input: &[u8]) -> (Vec<FramerEvent>, Vec<u8>) {
    framer.push(input);
    let mut events = Vec::new();
    let mut spooled = Vec::new();
    let mut next_ref = 1;
    while let Some(event) = framer.next_event() {
        match &event {
            FramerEvent::MessageData(d) => spooled.extend_from_slice(d),
            FramerEvent::MessageEnd => {
                framer.message_literal_done(SpoolRef(next_ref)).unwrap();
                next_ref += 1;
            }
            _ => {}
        }
        events.push(event);
    }
    (events, spooled)
}

fn commands(events: &[FramerEvent]) -> Vec<&Command> {
    events
        .iter()
        .filter_map(|e| match e {
            FramerEvent::Command(c) => Some(&c.command),
            _ => None,
        })
        .collect()
}

fn bad_kinds(events: &[FramerEvent]) -> Vec<&ErrorKind> {
    events
        .iter()
        .filter_map(|e| match e {
            FramerEvent::Bad(err) => Some(&err.kind),
            _ => None,
        })
        .collect()
}

#[test]
fn command_split_byte_by_byte_is_assembled() {
    let mut framer = CommandFramer::new(Limits::default());
    let input = b"a1 NOOP\r\na2 LOGIN {3}\r\nbob pw\r\n";
    let mut events = Vec::new();
    for b in input {
        framer.push(&[*b]);
        while let Some(e) = framer.next_event() {
            events.push(e);
        }
    }
    assert_eq!(events.len(), 3);
    assert_eq!(events[1], FramerEvent::NeedContinuation);
    assert!(matches!(&events[2], FramerEvent::Command(c) if c.command.name() == "LOGIN"));
}

#[test]
fn pipelined_commands_empty_lines_and_bare_lf() {
    let mut framer = CommandFramer::new(Limits::default());
    let (events, _) = run(&mut framer, b"\r\na NOOP\r\n\r\nb CHECK\nc LOGOUT\r\n");
    assert_eq!(
        commands(&events),
        vec![&Command::Noop, &Command::Check, &Command::Logout]
    );
}

#[test]
fn append_message_literal_is_streamed_not_buffered() {
    let mut framer = CommandFramer::new(small_limits());
    let (events, data) = run(&mut framer, b"A1 APPEND {5}\r\nDraft (\\Seen) {600}\r\n");
    assert_eq!(events[0], FramerEvent::NeedContinuation);
    assert_eq!(
        events[1],
        FramerEvent::MessageLiteral {
            tag: Tag::new("A1").unwrap(),
            mailbox: Mailbox::Other("Draft".into()),
            command: MessageCommand::Append,
            len: 600,
            kind: LiteralKind::Literal,
            sync: LiteralSync::Sync,
        }
    );
    assert!(data.is_empty());
    let body = vec![b'x'; 600];
    let (events, data) = run(&mut framer, &body[..300]);
    assert_eq!(events.len(), 1);
    let (more, rest) = run(
        &mut framer,
        &[&body[300..], b" ~{2+}\r\nhi\r\n".as_slice()].concat(),
    );
    assert_eq!([data, rest].concat(), [body.as_slice(), b"hi"].concat());
    let Some(FramerEvent::Command(cmd)) = more.last() else {
        panic!("{more:?}")
    };
    let Command::Append { mailbox, messages } = &cmd.command else {
        panic!()
    };
    assert_eq!(mailbox, &Mailbox::Other("Draft".into()));
    assert_eq!(
        messages[0].data,
        AppendData::Spooled {
            spool: SpoolRef(1),
            len: 600,
            kind: LiteralKind::Literal
        }
    );
    assert_eq!(
        messages[1].data,
        AppendData::Spooled {
            spool: SpoolRef(2),
            len: 2,
            kind: LiteralKind::Literal8
        }
    );
    assert!(framer.buffered() == 0);
}

/// Darius's XFERMSG carries a message as APPEND does: streamed, and the command arrives
/// with the spool reference; the mailbox is an internal name, not decoded as modified UTF-7.
#[test]
fn xfermsg_literal_is_streamed_as_a_message() {
    let mut framer = CommandFramer::new(small_limits());
    let input =
        b"x1 XFERMSG user.ann&AOk- 42 \"01-Jan-2024 10:00:00 +0100\" (\\Seen $Junk) {600+}\r\n";
    let (events, _) = run(&mut framer, input);
    assert_eq!(
        events[0],
        FramerEvent::MessageLiteral {
            tag: Tag::new("x1").unwrap(),
            mailbox: Mailbox::Other("user.ann&AOk-".into()),
            command: MessageCommand::XferMessage,
            len: 600,
            kind: LiteralKind::Literal,
            sync: LiteralSync::NonSync,
        }
    );
    let body = vec![b'x'; 600];
    let (events, data) = run(&mut framer, &[body.as_slice(), b"\r\n"].concat());
    assert_eq!(data, body);
    let Some(FramerEvent::Command(cmd)) = events.last() else {
        panic!("{events:?}")
    };
    let Command::XferStep(crate::command::XferStep::Message {
        mailbox, uid, data, ..
    }) = &cmd.command
    else {
        panic!("{cmd:?}")
    };
    assert_eq!((mailbox.as_str(), uid.get()), ("user.ann&AOk-", 42));
    assert_eq!(
        data,
        &AppendData::Spooled {
            spool: SpoolRef(1),
            len: 600,
            kind: LiteralKind::Literal
        }
    );
    // A small literal of another XFER step is an ordinary one.
    let (events, _) = run(
        &mut framer,
        b"x2 XFERPREPARE user.ann 7 1 1 NIL {4+}\r\na\tlr ()\r\n",
    );
    assert!(
        matches!(events.last(), Some(FramerEvent::Command(_))),
        "{events:?}"
    );
}

#[test]
fn refused_sync_message_literal_expects_no_data() {
    let mut framer = CommandFramer::new(small_limits());
    framer.push(b"a APPEND Nope {10}\r\nb NOOP\r\n");
    assert!(matches!(
        framer.next_event(),
        Some(FramerEvent::MessageLiteral { .. })
    ));
    framer.refuse_message_literal(ContinuationSent::No).unwrap();
    let rest: Vec<_> = std::iter::from_fn(|| framer.next_event()).collect();
    assert_eq!(commands(&rest), vec![&Command::Noop]);
}

#[test]
fn refused_multiappend_discards_data_and_abandons_earlier_spools() {
    let mut framer = CommandFramer::new(small_limits());
    framer.push(b"a APPEND Box {2+}\r\nhi {10+}\r\n0123456789 {1+}\r\nx\r\nb NOOP\r\n");
    let mut events = Vec::new();
    while let Some(event) = framer.next_event() {
        match &event {
            FramerEvent::MessageEnd => framer.message_literal_done(SpoolRef(1)).unwrap(),
            FramerEvent::MessageLiteral { len: 10, .. } => {
                framer.refuse_message_literal(ContinuationSent::No).unwrap();
            }
            _ => {}
        }
        events.push(event);
    }
    assert!(events.contains(&FramerEvent::SpoolAbandoned(vec![SpoolRef(1)])));
    assert_eq!(commands(&events), vec![&Command::Noop]);
}

#[test]
fn bad_command_after_spooled_message_abandons_the_spool() {
    let mut framer = CommandFramer::new(small_limits());
    let (events, _) = run(&mut framer, b"a APPEND Box {2+}\r\nhi garbage\r\n");
    assert!(matches!(&events[events.len() - 2], FramerEvent::Bad(_)));
    assert_eq!(
        events.last(),
        Some(&FramerEvent::SpoolAbandoned(vec![SpoolRef(1)]))
    );
}

#[test]
fn starttls_discards_pipelined_plaintext() {
    let mut framer = CommandFramer::new(Limits::default());
    framer.push(b"a STARTTLS\r\nb LOGIN evil injected\r\n");
    assert!(matches!(framer.next_event(), Some(FramerEvent::Command(_))));
    assert_eq!(framer.discard_input(), b"b LOGIN evil injected\r\n".len());
    assert_eq!(framer.next_event(), None);
}

#[test]
fn oversized_sync_literal_is_refused_without_expecting_data() {
    let mut framer = CommandFramer::new(small_limits());
    let (events, _) = run(&mut framer, b"a LOGIN {51}\r\nb NOOP\r\n");
    assert_eq!(
        bad_kinds(&events),
        vec![&ErrorKind::LiteralTooLarge { len: 51, max: 50 }]
    );
    assert!(
        matches!(&events[0], FramerEvent::Bad(e) if e.tag.as_ref().map(|t| t.as_str()) == Some("a"))
    );
    assert_eq!(commands(&events), vec![&Command::Noop]);
}

#[test]
fn oversized_append_is_too_big_not_bad() {
    let mut framer = CommandFramer::new(small_limits());
    let (events, _) = run(&mut framer, b"a APPEND INBOX {1001}\r\n");
    assert!(matches!(&events[..], [FramerEvent::Bad(e)] if e.is_too_big()));
}

/// An APPEND to a name that is not modified UTF-7 is refused when its literal is announced:
/// a synchronising literal gets no continuation, a non-synchronising one (larger than a
/// buffered literal may be) is read and dropped with its command.
#[test]
fn append_to_an_undecodable_mailbox_is_refused_before_its_message() {
    let mut framer = CommandFramer::new(small_limits());
    let (events, _) = run(&mut framer, b"a APPEND &Jjo {200}\r\nb NOOP\r\n");
    assert!(
        matches!(&events[0], FramerEvent::Bad(e) if e.is_impossible_mailbox_name()),
        "{events:?}"
    );
    assert!(!events.contains(&FramerEvent::NeedContinuation));
    assert_eq!(commands(&events), vec![&Command::Noop]);
    let mut input = b"c APPEND &AGE- (\\Seen) {200+}\r\n".to_vec();
    input.extend_from_slice(&[b'm'; 200]);
    input.extend_from_slice(b"\r\nd NOOP\r\n");
    let (events, spooled) = run(&mut framer, &input);
    assert!(matches!(&events[0], FramerEvent::Bad(e) if e.is_impossible_mailbox_name()));
    assert!(spooled.is_empty(), "the message is not streamed");
    assert_eq!(commands(&events), vec![&Command::Noop]);
}

#[test]
fn oversized_nonsync_literal_is_discarded_with_its_command() {
    let mut framer = CommandFramer::new(small_limits());
    let mut input = b"a LOGIN {60+}\r\n".to_vec();
    input.extend_from_slice(&[b'p'; 60]);
    input.extend_from_slice(b" {3+}\r\nxyz\r\nb NOOP\r\n");
    let (events, _) = run(&mut framer, &input);
    assert_eq!(bad_kinds(&events).len(), 1);
    assert_eq!(commands(&events), vec![&Command::Noop]);
}

#[test]
fn huge_nonsync_literal_is_fatal() {
    let mut framer = CommandFramer::new(small_limits());
    let (events, _) = run(&mut framer, b"a LOGIN {99999999999+}\r\nb NOOP\r\n");
    assert!(matches!(events.last(), Some(FramerEvent::Fatal(_))));
    assert_eq!(commands(&events).len(), 0);
    let (events, _) = run(
        &mut CommandFramer::new(small_limits()),
        b"a X {999999999999999999999+}\r\n",
    );
    assert!(matches!(events.last(), Some(FramerEvent::Fatal(_))));
}

#[test]
fn literal_minus_limits_nonsync_literals_to_4096() {
    let limits = Limits {
        literal_plus: LiteralPlusMode::LiteralMinus,
        ..Limits::default()
    };
    let mut framer = CommandFramer::new(limits);
    let mut input = b"a APPEND INBOX {4097+}\r\n".to_vec();
    input.extend_from_slice(&[b'm'; 4097]);
    input.extend_from_slice(b"\r\nb NOOP\r\n");
    let (events, _) = run(&mut framer, &input);
    assert_eq!(bad_kinds(&events), vec![&ErrorKind::LiteralMinusExceeded]);
    assert_eq!(commands(&events), vec![&Command::Noop]);
}

#[test]
fn overlong_line_is_refused_and_framer_resynchronises() {
    let mut framer = CommandFramer::new(small_limits());
    let mut input = b"t1 SEARCH ".to_vec();
    input.extend_from_slice(&[b'A'; 200]);
    let (events, _) = run(&mut framer, &input);
    assert_eq!(
        bad_kinds(&events),
        vec![&ErrorKind::LineTooLong { max: 100 }]
    );
    assert!(
        matches!(&events[0], FramerEvent::Bad(e) if e.tag.as_ref().map(|t| t.as_str()) == Some("t1"))
    );
    let (events, _) = run(&mut framer, b"AAAA\r\nt2 NOOP\r\n");
    assert_eq!(commands(&events), vec![&Command::Noop]);
}

#[test]
fn idle_reads_done_then_commands() {
    let mut framer = CommandFramer::new(Limits::default());
    let (events, _) = run(&mut framer, b"a IDLE\r\n");
    assert_eq!(commands(&events), vec![&Command::Idle]);
    framer.set_mode(FramerMode::Idle);
    let (events, _) = run(&mut framer, b"nonsense\r\ndone\r\nb NOOP\r\n");
    assert!(matches!(events[0], FramerEvent::Bad(_)));
    assert_eq!(events[1], FramerEvent::IdleDone);
    assert_eq!(commands(&events), vec![&Command::Noop]);
}

#[test]
fn authenticate_lines_and_cancel() {
    let mut framer = CommandFramer::new(Limits::default());
    framer.set_mode(FramerMode::Authenticate);
    let (events, _) = run(&mut framer, b"AGJvYgBwdw==\r\n\r\n!!\r\n*\r\na NOOP\r\n");
    assert!(matches!(&events[0], FramerEvent::AuthResponse(s) if s.expose() == b"\0bob\0pw"));
    assert!(matches!(&events[1], FramerEvent::AuthResponse(s) if s.expose().is_empty()));
    assert!(matches!(&events[2], FramerEvent::Bad(e) if e.kind == ErrorKind::InvalidBase64));
    assert_eq!(events[3], FramerEvent::AuthCancel);
    assert_eq!(commands(&events), vec![&Command::Noop]);
}

#[test]
fn message_literal_done_without_literal_is_misuse() {
    let mut framer = CommandFramer::new(Limits::default());
    assert_eq!(
        framer.message_literal_done(SpoolRef(1)),
        Err(NoMessageLiteral)
    );
}

#[test]
fn complete_overlong_line_does_not_swallow_the_next_command() {
    let mut framer = CommandFramer::new(small_limits());
    let input = [b"t1 SEARCH ".as_slice(), &[b'A'; 200], b"\r\nt2 NOOP\r\n"].concat();
    framer.push(&input[..150]);
    framer.push(&input[150..]);
    let events: Vec<_> = std::iter::from_fn(|| framer.next_event()).collect();
    assert_eq!(
        bad_kinds(&events),
        vec![&ErrorKind::LineTooLong { max: 100 }]
    );
    assert_eq!(commands(&events), vec![&Command::Noop]);
    let mut framer = CommandFramer::new(Limits {
        max_line: 300,
        ..small_limits()
    });
    let long = [b"t1 SEARCH ".as_slice(), &[b'A'; 250], b"\r\nt2 NOOP\r\n"].concat();
    let (events, _) = run(&mut CommandFramer::new(small_limits()), &long);
    assert_eq!(commands(&events), vec![&Command::Noop]);
    let (events, _) = run(&mut framer, &long);
    assert_eq!(events.len(), 2, "{events:?}");
}

#[test]
fn refused_second_message_abandons_the_first() {
    let mut framer = CommandFramer::new(small_limits());
    let (events, _) = run(&mut framer, b"a APPEND Box {2+}\r\nhi {5000}\r\nb NOOP\r\n");
    assert!(matches!(&events[events.len() - 3], FramerEvent::Bad(e) if e.is_too_big()));
    assert_eq!(
        events[events.len() - 2],
        FramerEvent::SpoolAbandoned(vec![SpoolRef(1)])
    );
    assert_eq!(commands(&events), vec![&Command::Noop]);
}

#[test]
fn message_refused_after_its_end_drops_the_rest_of_the_command() {
    let mut framer = CommandFramer::new(small_limits());
    framer.push(b"a APPEND Box {2+}\r\nhi {3+}\r\nabc\r\nb NOOP\r\n");
    let mut events = Vec::new();
    while let Some(event) = framer.next_event() {
        if event == FramerEvent::MessageEnd {
            framer
                .refuse_message_literal(ContinuationSent::Yes)
                .unwrap();
        }
        events.push(event);
    }
    assert_eq!(commands(&events), vec![&Command::Noop]);
    assert!(!events.iter().any(|e| matches!(e, FramerEvent::Bad(_))));
}

#[test]
fn closed_framer_ignores_further_input() {
    let mut framer = CommandFramer::new(small_limits());
    let (events, _) = run(&mut framer, b"a X {99999999999+}\r\n");
    assert!(matches!(events.last(), Some(FramerEvent::Fatal(_))));
    framer.push(&[b'x'; 10_000]);
    assert_eq!(framer.buffered(), 0);
    assert_eq!(framer.next_event(), None);
}

#[test]
fn idle_memory_is_released_only_when_nothing_is_pending() {
    let mut framer = CommandFramer::new(Limits::default());
    framer.push(format!("a NOOP {}", "x".repeat(50_000)).as_bytes());
    while framer.next_event().is_some() {}
    // The line has no end yet: it must be kept.
    framer.release_idle_memory();
    assert!(framer.buffered() > 50_000);
    framer.push(b"\r\n");
    let mut events = Vec::new();
    while let Some(e) = framer.next_event() {
        events.push(e);
    }
    assert_eq!(events.len(), 1, "{events:?}");
    framer.release_idle_memory();
    assert_eq!(framer.buffered(), 0);
    assert!(framer.input.capacity() <= IDLE_BUFFER && framer.command.capacity() <= IDLE_BUFFER);
    // And it still frames the next command.
    framer.push(b"b NOOP\r\n");
    assert!(matches!(framer.next_event(), Some(FramerEvent::Command(_))));
}
