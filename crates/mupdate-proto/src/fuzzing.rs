//! The entry point shared by the fuzz target (`fuzz/fuzz_targets/mupdate.rs`) and the tests
//! that run it on stable `cargo test` (the committed corpus, random bytes, mutations). Not
//! part of the stable API.

use crate::{parse_command, parse_response, Frame, Framer, Limits};

/// Small bounds, so that inputs of a few hundred bytes reach every refusal.
const LIMITS: Limits = Limits {
    max_line: 200,
    max_literal: 300,
    max_message: 400,
};

/// How far an input got: messages framed, and how many of them parsed as a command and as a
/// response (so a corpus test can tell that its inputs reach the parsers).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reached {
    pub messages: usize,
    pub commands: usize,
    pub responses: usize,
}

/// Feeds `data` through the codec, in chunks of a size the first byte picks: framed, each
/// frame parsed as a command and as a response. Every frame stays within the bounds, and every
/// command or response found survives encode → frame → parse unchanged. Panics only on a bug.
pub fn session(data: &[u8]) -> Reached {
    let mut reached = Reached::default();
    let Some((&first, input)) = data.split_first() else {
        return reached;
    };
    let chunk = usize::from(first % 32) + 1;
    let mut framer = Framer::new(LIMITS);
    let mut buf = Vec::new();
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match framer.take(&mut buf) {
                Frame::Message(frame) => {
                    assert!(frame.len() <= LIMITS.max_message, "frame over the limit");
                    reached.messages += 1;
                    reached.commands += usize::from(round_trip_command(&frame));
                    reached.responses += usize::from(round_trip_response(&frame));
                }
                Frame::LiteralWanted | Frame::Refused(_) => {}
                Frame::Incomplete => break,
            }
        }
    }
    reached
}

/// Frames `wire` (one whole message) without bounds.
fn frame_again(wire: &mut Vec<u8>) -> Vec<u8> {
    let mut framer = Framer::new(Limits {
        max_line: usize::MAX,
        max_literal: u64::MAX,
        max_message: usize::MAX,
    });
    loop {
        match framer.take(wire) {
            Frame::Message(frame) => {
                assert!(wire.is_empty(), "bytes left over after the message");
                return frame;
            }
            Frame::LiteralWanted => {}
            other => panic!("an encoded message does not frame back: {other:?}"),
        }
    }
}

/// Whether `frame` parsed as a command (which then round-trips).
fn round_trip_command(frame: &[u8]) -> bool {
    let Ok(cmd) = parse_command(frame) else {
        return false;
    };
    let again = frame_again(&mut cmd.encode());
    let again =
        parse_command(&again).unwrap_or_else(|e| panic!("{cmd:?} does not parse back: {e:?}"));
    assert_eq!(again, cmd, "command round trip");
    true
}

/// Whether `frame` parsed as a response (which then round-trips).
fn round_trip_response(frame: &[u8]) -> bool {
    let Ok(response) = parse_response(frame) else {
        return false;
    };
    let again = frame_again(&mut response.encode());
    let again = parse_response(&again)
        .unwrap_or_else(|e| panic!("{response:?} does not parse back: {e:?}"));
    assert_eq!(again, response, "response round trip");
    true
}
