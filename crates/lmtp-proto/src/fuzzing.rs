//! Entry points shared by the fuzz target (`fuzz/fuzz_targets/lmtp_command.rs`) and the corpus
//! test that runs it on stable `cargo test`. Not part of the stable API.

use crate::auth::{encode_response, parse_auth_response, AuthResponse};
use crate::{
    dot_stuff, parse_command, Command, DataDecoder, DataStatus, LineFramer, LineResult, ParseError,
    MAX_COMMAND_LINE,
};

/// What the simulated session is reading.
enum Mode {
    Commands,
    Data {
        decoder: DataDecoder,
        message: Vec<u8>,
    },
    Chunk {
        remaining: u64,
    },
    /// After `AUTH mech` without an initial response: lines are SASL responses (base64 or
    /// `*`) until a cancel, a bad line, or a few exchanges.
    Auth {
        lines_left: u8,
    },
}

/// Feeds `data` through a session's codec path: lines through a [`LineFramer`], each line
/// through [`parse_command`], after DATA (or BDAT) the body through a [`DataDecoder`] (or
/// skipped), and after AUTH the response lines through [`parse_auth_response`]. The first byte picks the chunk size the input arrives in and the limits. Panics only
/// on a real bug: a panic inside the codec, a command that does not survive encode → parse, a
/// decoded body that does not survive dot-stuff → decode, or decoding that depends on where the
/// input was split.
pub fn session(data: &[u8]) {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 32) + 1;
    let max_line = if first & 0x80 == 0 {
        80
    } else {
        MAX_COMMAND_LINE
    };
    let max_message = u64::from((first >> 5) & 3) * 48;
    let mut framer = LineFramer::new(max_line);
    let mut buf = Vec::new();
    let mut mode = Mode::Commands;
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        drain(&mut framer, &mut buf, &mut mode, max_message);
    }
    whole_input(input, chunk);
}

fn drain(framer: &mut LineFramer, buf: &mut Vec<u8>, mode: &mut Mode, max_message: u64) {
    loop {
        match mode {
            Mode::Commands => match framer.take_line(buf) {
                LineResult::Line(line) => {
                    assert!(line.len() <= framer.max(), "line over the limit");
                    assert!(!line.contains(&b'\n'), "line end inside a line");
                    if let Some(next) = command(&line, max_message) {
                        *mode = next;
                    }
                }
                LineResult::TooLong => {}
                LineResult::Incomplete => return,
            },
            Mode::Data { decoder, message } => {
                let (used, status) = decoder.feed(buf, message);
                assert!(used <= buf.len(), "consumed more than was given");
                buf.drain(..used);
                match status {
                    DataStatus::Done => {
                        check_message(decoder, message, max_message);
                        *mode = Mode::Commands;
                    }
                    DataStatus::More => {
                        assert!(buf.is_empty(), "stopped early without the terminator");
                        return;
                    }
                }
            }
            Mode::Auth { lines_left } => match framer.take_line(buf) {
                LineResult::Line(line) => {
                    let done = auth_line(&line) || *lines_left == 0;
                    *lines_left = lines_left.saturating_sub(1);
                    if done {
                        *mode = Mode::Commands;
                    }
                }
                LineResult::TooLong => *mode = Mode::Commands,
                LineResult::Incomplete => return,
            },
            Mode::Chunk { remaining } => {
                let take = usize::try_from(*remaining).map_or(buf.len(), |r| r.min(buf.len()));
                buf.drain(..take);
                *remaining -= take as u64;
                if *remaining > 0 {
                    return;
                }
                *mode = Mode::Commands;
            }
        }
    }
}

/// Parses one line; returns the mode the session switches to after it, if any.
fn command(line: &[u8], max_message: u64) -> Option<Mode> {
    match parse_command(line) {
        Ok(cmd) => {
            check_round_trip(&cmd);
            match cmd {
                Command::Data => Some(Mode::Data {
                    decoder: DataDecoder::new(max_message),
                    message: Vec::new(),
                }),
                Command::Bdat { size, .. } => Some(Mode::Chunk { remaining: size }),
                Command::Auth { initial: None, .. } => Some(Mode::Auth { lines_left: 3 }),
                _ => None,
            }
        }
        Err(err) => {
            check_error(&err);
            None
        }
    }
}

/// Encode → parse must give the same command.
pub fn check_round_trip(cmd: &Command) {
    let bytes = cmd.to_bytes();
    let line = bytes
        .strip_suffix(b"\r\n")
        .unwrap_or_else(|| panic!("{cmd:?} encodes without CRLF"));
    assert!(
        !line.contains(&b'\r') && !line.contains(&b'\n'),
        "{cmd:?} encodes to more than one line"
    );
    match parse_command(line) {
        Ok(again) => assert_eq!(
            &again,
            cmd,
            "round trip through {:?}",
            String::from_utf8_lossy(line)
        ),
        Err(e) => panic!(
            "re-parse of {:?} failed: {e}",
            String::from_utf8_lossy(line)
        ),
    }
}

/// One SASL response line; true when it ends the exchange (cancelled or refused). A decoded
/// response must encode back to a line that decodes to the same bytes.
fn auth_line(line: &[u8]) -> bool {
    match parse_auth_response(line) {
        Ok(AuthResponse::Cancel) => true,
        Ok(AuthResponse::Data(data)) => {
            let mut encoded = Vec::new();
            encode_response(data.expose(), &mut encoded);
            let again = encoded.strip_suffix(b"\r\n").map(parse_auth_response);
            assert_eq!(
                again,
                Some(Ok(AuthResponse::Data(data))),
                "response round trip"
            );
            false
        }
        Err(err) => {
            check_error(&err);
            true
        }
    }
}

fn check_error(err: &ParseError) {
    assert!(matches!(err.code, 500..=502), "unexpected code in {err:?}");
    assert!(
        err.enhanced.starts_with("5."),
        "unexpected class in {err:?}"
    );
    let reply = err.reply().to_bytes();
    assert_eq!(
        reply.iter().filter(|&&b| b == b'\n').count(),
        1,
        "error reply is not one line: {err:?}"
    );
    assert!(reply.ends_with(b"\r\n"));
}

fn check_message(decoder: &DataDecoder, message: &[u8], max_message: u64) {
    assert!(
        message.len() as u64 <= max_message,
        "kept more than the limit"
    );
    assert!(decoder.size() >= message.len() as u64);
    if decoder.too_big() {
        return;
    }
    assert_eq!(decoder.size(), message.len() as u64);
    assert!(
        message.is_empty() || message.ends_with(b"\n"),
        "decoded message does not end at a line end"
    );
    let mut stuffed = Vec::new();
    dot_stuff(message, &mut stuffed);
    let mut again = DataDecoder::new(u64::MAX);
    let mut decoded = Vec::new();
    assert_eq!(
        again.feed(&stuffed, &mut decoded),
        (stuffed.len(), DataStatus::Done)
    );
    assert_eq!(decoded, message, "dot-stuff → decode changed the message");
    assert_eq!(again.saw_nul(), decoder.saw_nul());
    assert!(!again.saw_bare_lf() || decoder.saw_bare_lf());
}

/// The whole input as one command line, and as a DATA body fed whole and in chunks: the two
/// decodings must agree.
fn whole_input(input: &[u8], chunk: usize) {
    match parse_command(input) {
        Ok(cmd) => check_round_trip(&cmd),
        Err(err) => check_error(&err),
    }
    let mut whole = DataDecoder::new(u64::MAX);
    let mut whole_out = Vec::new();
    let (whole_used, whole_status) = whole.feed(input, &mut whole_out);
    let mut pieces = DataDecoder::new(u64::MAX);
    let mut pieces_out = Vec::new();
    let mut used = 0;
    let mut status = DataStatus::More;
    while used < input.len() && status == DataStatus::More {
        let end = (used + chunk).min(input.len());
        let (n, s) = pieces.feed(&input[used..end], &mut pieces_out);
        used += n;
        status = s;
    }
    assert_eq!((used, status), (whole_used, whole_status));
    assert_eq!(pieces_out, whole_out, "decoding depends on the split");
    assert_eq!(pieces.saw_bare_lf(), whole.saw_bare_lf());
    assert_eq!(pieces.saw_nul(), whole.saw_nul());
}
