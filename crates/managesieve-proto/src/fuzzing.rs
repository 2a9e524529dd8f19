//! The entry point shared by the fuzz target (`fuzz/fuzz_targets/managesieve_command.rs`) and
//! the corpus test that runs it on stable `cargo test`. Not part of the stable API.

use crate::{
    parse_auth_response, parse_command, AuthResponse, Command, CommandFramer, Frame, Limits,
    Response,
};

/// Small bounds, so that inputs of a few hundred bytes reach every refusal.
const LIMITS: Limits = Limits {
    max_line: 200,
    max_literal: 300,
    max_command: 400,
};

/// Feeds `data` through a session's codec path: frames through a [`CommandFramer`] (in chunks
/// of a size the first byte picks), each through [`parse_command`], after
/// `AUTHENTICATE mech` a few frames through [`parse_auth_response`]. Every frame stays within
/// the bounds, every command found survives encode → frame → parse, and a `NO` carrying the
/// frame as text is one response. Panics only on a bug.
pub fn session(data: &[u8]) {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 32) + 1;
    let mut framer = CommandFramer::new(LIMITS);
    let mut buf = Vec::new();
    let mut auth_frames = 0u8;
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match framer.take_command(&mut buf) {
                Frame::Command(frame) => {
                    assert!(frame.len() <= LIMITS.max_command, "frame over the limit");
                    if auth_frames > 0 {
                        auth_frames -= 1;
                        if parse_auth_response(&frame) != AuthResponse::Bad {
                            continue;
                        }
                        auth_frames = 0;
                    }
                    if let Some(Command::Authenticate { initial: None, .. }) = command(&frame) {
                        auth_frames = 3;
                    }
                }
                Frame::Refused(_) => auth_frames = 0,
                Frame::Incomplete => break,
            }
        }
    }
}

fn command(frame: &[u8]) -> Option<Command> {
    let cmd = parse_command(frame).ok()?;
    let mut wire = cmd.encode();
    wire.extend_from_slice(b"\r\n");
    let mut framer = CommandFramer::new(Limits {
        max_line: usize::MAX,
        max_literal: u64::MAX,
        max_command: usize::MAX,
    });
    let Frame::Command(again) = framer.take_command(&mut wire) else {
        panic!("{cmd:?} does not frame back");
    };
    assert!(wire.is_empty(), "{cmd:?} frames with bytes left over");
    let again =
        parse_command(&again).unwrap_or_else(|e| panic!("{cmd:?} does not parse back: {e:?}"));
    assert_eq!(again, cmd, "round trip");
    let reply = Response::no(&String::from_utf8_lossy(frame)).to_bytes();
    assert!(reply.ends_with(b"\r\n"));
    Some(cmd)
}
