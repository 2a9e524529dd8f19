//! Entry points shared by the fuzz targets (`fuzz/fuzz_targets/`) and the corpus tests that run
//! them on stable `cargo test`. Not part of the stable API.

use crate::command::{AppendData, Command, TaggedCommand};
use crate::framer::{
    CommandFramer, ContinuationSent, FramerEvent, FramerMode, LiteralSync, SpoolRef,
};
use crate::limits::{Limits, MailboxEncoding};
use crate::wire::LiteralStyle;
use crate::{mutf7, parse_command};

fn fuzz_limits() -> Limits {
    Limits {
        max_line: 2048,
        max_literal: 2048,
        max_append_literal: 8192,
        max_command: 16 * 1024,
        max_discard: 8192,
        ..Limits::default()
    }
}

/// Feeds `data` to a framer in chunks whose size the first byte picks, acting on every event as
/// a session would, and checks that every command it yields survives encode → parse unchanged.
/// Panics only on a real bug (a round-trip mismatch, or a panic inside the codec).
pub fn framer_and_parser(data: &[u8]) {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 64) + 1;
    let encoding = if first & 0x80 == 0 {
        MailboxEncoding::ModifiedUtf7
    } else {
        MailboxEncoding::Utf8
    };
    let mut framer = CommandFramer::new(fuzz_limits());
    framer.set_mailbox_encoding(encoding);
    let mut next_spool = 0;
    for piece in input.chunks(chunk) {
        framer.push(piece);
        while let Some(event) = framer.next_event() {
            match event {
                FramerEvent::MessageEnd => {
                    next_spool += 1;
                    let _ = framer.message_literal_done(SpoolRef(next_spool));
                }
                FramerEvent::Command(cmd) => {
                    follow_mode(&mut framer, &cmd.command);
                    check_round_trip(&cmd, encoding);
                }
                FramerEvent::MessageLiteral { len, sync, .. } if len % 3 == 1 => {
                    // Exercise the refusal path too (a quota or TRYCREATE refusal).
                    let sent = match sync {
                        LiteralSync::Sync => ContinuationSent::No,
                        LiteralSync::NonSync => ContinuationSent::Yes,
                    };
                    let _ = framer.refuse_message_literal(sent);
                }
                FramerEvent::Fatal(_) => return,
                FramerEvent::Bad(_)
                | FramerEvent::NeedContinuation
                | FramerEvent::MessageLiteral { .. }
                | FramerEvent::MessageData(_)
                | FramerEvent::IdleDone
                | FramerEvent::AuthResponse(_)
                | FramerEvent::AuthCancel
                | FramerEvent::SpoolAbandoned(_) => {}
            }
        }
    }
    whole_input(input, encoding);
}

fn follow_mode(framer: &mut CommandFramer, command: &Command) {
    match command {
        Command::Idle => framer.set_mode(FramerMode::Idle),
        Command::Authenticate {
            initial_response: None,
            ..
        } => {
            framer.set_mode(FramerMode::Authenticate);
        }
        _ => {}
    }
}

/// Encode → parse must give the same command (spooled APPEND data has no bytes to re-send).
pub fn check_round_trip(cmd: &TaggedCommand, encoding: MailboxEncoding) {
    if let Command::Append { messages, .. } = &cmd.command {
        if messages
            .iter()
            .any(|m| matches!(m.data, AppendData::Spooled { .. }))
        {
            return;
        }
    }
    let bytes = cmd.to_bytes(encoding, LiteralStyle::NonSync);
    match parse_command(&bytes, encoding) {
        Ok(again) => assert_eq!(
            &again,
            cmd,
            "round trip through {:?}",
            String::from_utf8_lossy(&bytes)
        ),
        Err(e) => panic!(
            "re-parse of {:?} failed: {e}",
            String::from_utf8_lossy(&bytes)
        ),
    }
}

fn whole_input(input: &[u8], encoding: MailboxEncoding) {
    if let Ok(cmd) = parse_command(input, encoding) {
        check_round_trip(&cmd, encoding);
    }
    check_response(input, encoding);
    if let Ok(name) = mutf7::decode(input) {
        assert_eq!(
            mutf7::encode(&name).as_bytes(),
            input,
            "mUTF-7 is not minimal"
        );
    }
}

/// Any parsed response re-encodes to bytes that parse to a fixed point (the first encode may
/// normalise text, e.g. an empty status text).
fn check_response(input: &[u8], encoding: MailboxEncoding) {
    let Some(len) = crate::response_len(input) else {
        return;
    };
    let Ok(first) = crate::parse_response(&input[..len], encoding) else {
        return;
    };
    let second = crate::parse_response(&first.to_bytes(encoding), encoding);
    let second = second.unwrap_or_else(|e| panic!("re-parse of {first:?} failed: {e}"));
    let third = crate::parse_response(&second.to_bytes(encoding), encoding);
    assert_eq!(
        third.as_ref().ok(),
        Some(&second),
        "response encoding is not stable"
    );
}
