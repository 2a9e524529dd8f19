//! The entry point shared by the fuzz target (`fuzz/fuzz_targets/pop3_command.rs`) and the
//! corpus test that runs it on stable `cargo test`. Not part of the stable API.

use crate::{
    parse_auth_response, parse_command, AuthResponse, Command, DotStuffer, LineFramer, LineResult,
    Response, TopFilter, MAX_COMMAND_LINE,
};

/// Feeds `data` through a session's codec path: lines through a [`LineFramer`] (in chunks of a
/// size the first byte picks), each through [`parse_command`], after `AUTH mech` a few lines
/// through [`parse_auth_response`]; every command found must survive encode → parse, and
/// every line, taken as a message, must survive the multi-line encoders. Panics only on a bug.
pub fn session(data: &[u8]) {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 32) + 1;
    let mut framer = LineFramer::new(MAX_COMMAND_LINE);
    let mut buf = Vec::new();
    let mut auth_lines = 0u8;
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match framer.take_line(&mut buf) {
                LineResult::Line(line) => {
                    assert!(line.len() <= MAX_COMMAND_LINE, "line over the limit");
                    assert!(!line.contains(&b'\n'), "line end inside a line");
                    if auth_lines > 0 {
                        auth_lines -= 1;
                        if parse_auth_response(&line) != AuthResponse::Bad {
                            continue;
                        }
                        auth_lines = 0;
                    }
                    if let Some(Command::Auth {
                        mechanism: Some(_),
                        initial: None,
                    }) = command(&line)
                    {
                        auth_lines = 3;
                    }
                }
                LineResult::TooLong => auth_lines = 0,
                LineResult::Incomplete => break,
            }
        }
    }
    multiline(input, chunk);
}

fn command(line: &[u8]) -> Option<Command> {
    let cmd = parse_command(line).ok()?;
    let again = parse_command(&cmd.encode())
        .unwrap_or_else(|e| panic!("{cmd:?} does not parse back: {e:?}"));
    assert_eq!(again.encode(), cmd.encode(), "round trip of {cmd:?}");
    let reply = Response::err(String::from_utf8_lossy(line)).to_bytes();
    assert!(reply.len() <= crate::response::MAX_RESPONSE_LINE);
    assert_eq!(reply.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
    Some(cmd)
}

/// The encoders on the input taken as a stored message: dot-stuffing in chunks gives what it
/// gives in one piece and never leaves a lone `.` line inside; TOP gives a prefix of the message.
fn multiline(input: &[u8], chunk: usize) {
    let mut whole = Vec::new();
    let mut d = DotStuffer::new();
    d.feed(input, &mut whole);
    d.finish(&mut whole);
    let mut pieces = Vec::new();
    let mut d = DotStuffer::new();
    for piece in input.chunks(chunk) {
        d.feed(piece, &mut pieces);
    }
    d.finish(&mut pieces);
    assert_eq!(whole, pieces, "dot-stuffing depends on the chunking");
    let body = &whole[..whole.len() - 3];
    assert!(
        !body
            .split(|&b| b == b'\n')
            .any(|l| l == b"." || l == b".\r"),
        "a terminator inside the body"
    );
    let lines = u32::from(input.first().copied().unwrap_or(0) % 8);
    let mut top = Vec::new();
    let mut t = TopFilter::new(lines);
    for piece in input.chunks(chunk) {
        t.feed(piece, &mut top);
    }
    assert!(
        input.starts_with(&top),
        "TOP is not a prefix of the message"
    );
}
