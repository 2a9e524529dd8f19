//! Malformed input and the framer's bounds: every bad command gets its own clear error, an
//! oversized line, literal or command is refused without being held, and the next command is
//! still found.

use managesieve_proto::{
    parse_command, Command, CommandFramer, Frame, FrameError, Limits, ParseError, ScriptNameError,
};

#[test]
fn malformed_commands_are_refused_with_a_reason() {
    let syntax = |why| Err(ParseError::Syntax(why));
    let cases: Vec<(&[u8], Result<Command, ParseError>)> = vec![
        (b"", Err(ParseError::Unknown)),
        (b"FROB", Err(ParseError::Unknown)),
        (b"NOOP2", Err(ParseError::Unknown)),
        (b" NOOP", Err(ParseError::Unknown)),
        (b"LOGOUT \"x\"", syntax("This command takes no arguments")),
        (b"NOOP  \"x\"", syntax("Expected a string")),
        (b"NOOP \"x\" ", syntax("Expected a string")),
        (b"NOOP \"x", syntax("Unterminated quoted string")),
        (b"NOOP \"a\\nb\"", syntax("Bad escape in quoted string")),
        (
            b"NOOP \"a\0b\"",
            syntax("Forbidden character in quoted string"),
        ),
        (b"NOOP \"\xff\"", syntax("Quoted string is not UTF-8")),
        (b"NOOP x", syntax("Expected a string")),
        (
            b"NOOP \"a\"\"b\"",
            syntax("Arguments are separated by single spaces"),
        ),
        (b"NOOP {5+}\r\nab", syntax("Bad literal")),
        (b"NOOP {x+}\r\nab", syntax("Bad literal")),
        (b"NOOP {1+}x\r\na", syntax("Bad literal")),
        (b"GETSCRIPT 12", syntax("This command needs a script name")),
        (b"GETSCRIPT", syntax("This command needs a script name")),
        (
            b"GETSCRIPT \"\"",
            Err(ParseError::BadScriptName(ScriptNameError::Empty)),
        ),
        (
            b"GETSCRIPT \"a\tb\"",
            Err(ParseError::BadScriptName(
                ScriptNameError::ForbiddenCharacter,
            )),
        ),
        (
            b"GETSCRIPT {3+}\r\na\nb",
            Err(ParseError::BadScriptName(
                ScriptNameError::ForbiddenCharacter,
            )),
        ),
        (
            b"GETSCRIPT \"a\xe2\x80\xa8b\"",
            Err(ParseError::BadScriptName(
                ScriptNameError::ForbiddenCharacter,
            )),
        ),
        (
            b"GETSCRIPT {1+}\r\n\xff",
            Err(ParseError::BadScriptName(ScriptNameError::NotUtf8)),
        ),
        (
            b"HAVESPACE \"a\" 4294967297",
            syntax("Expected a number up to 4294967296"),
        ),
        (
            b"HAVESPACE \"a\" \"5\"",
            syntax("HAVESPACE needs a script name and a size"),
        ),
        (
            b"PUTSCRIPT \"a\"",
            syntax("PUTSCRIPT needs a script name and a script"),
        ),
        (
            b"RENAMESCRIPT \"a\"",
            syntax("RENAMESCRIPT needs two script names"),
        ),
        (b"NOOP \"a\" \"b\"", syntax("NOOP takes at most one string")),
        (
            b"NOOP \"a\" \"b\" \"c\" \"d\" \"e\"",
            syntax("Too many arguments"),
        ),
        (
            b"AUTHENTICATE",
            syntax("AUTHENTICATE needs a mechanism and an optional initial response"),
        ),
        (
            b"AUTHENTICATE \"PL AIN\"",
            syntax("Bad SASL mechanism name"),
        ),
        (
            b"AUTHENTICATE \"PLAIN\" \"QJIrweAPyo6Q1T9xu\"",
            syntax("Bad base64"),
        ),
    ];
    for (frame, want) in cases {
        assert_eq!(
            parse_command(frame),
            want,
            "{}",
            String::from_utf8_lossy(frame)
        );
    }
    let long = format!("GETSCRIPT \"{}\"", "n".repeat(129));
    assert_eq!(
        parse_command(long.as_bytes()),
        Err(ParseError::BadScriptName(ScriptNameError::TooLong))
    );
    let just = format!("GETSCRIPT \"{}\"", "é".repeat(128));
    assert!(parse_command(just.as_bytes()).is_ok());
    let quoted = format!("NOOP \"{}\"", "x".repeat(1025));
    assert_eq!(
        parse_command(quoted.as_bytes()),
        syntax("Quoted string too long")
    );
}
#[test]
fn a_huge_literal_is_refused_at_its_header_and_skipped_unbuffered() {
    let limits = Limits {
        max_line: 100,
        max_literal: 1000,
        max_command: 2000,
    };
    let mut framer = CommandFramer::new(limits);
    let mut buf = b"PUTSCRIPT \"big\" {4294967296+}\r\n".to_vec();
    assert_eq!(
        framer.take_command(&mut buf),
        Frame::Refused(FrameError::LiteralTooLarge(4_294_967_296))
    );
    assert!(buf.is_empty());
    // The announced octets are dropped as they come; nothing of them stays in the buffer.
    for _ in 0..10 {
        buf.extend_from_slice(&[b'x'; 4096]);
        assert_eq!(framer.take_command(&mut buf), Frame::Incomplete);
        assert!(buf.is_empty());
    }
    let mut framer = CommandFramer::new(limits);
    let mut buf = b"CHECKSCRIPT {5+}\r\nabcde\r\nNOOP\r\n".to_vec();
    let small = Limits {
        max_literal: 4,
        ..limits
    };
    let mut strict = CommandFramer::new(small);
    let mut copy = buf.clone();
    assert_eq!(
        strict.take_command(&mut copy),
        Frame::Refused(FrameError::LiteralTooLarge(5))
    );
    assert_eq!(
        strict.take_command(&mut copy),
        Frame::Command(b"NOOP".to_vec())
    );
    assert_eq!(
        framer.take_command(&mut buf),
        Frame::Command(b"CHECKSCRIPT {5+}\r\nabcde".to_vec())
    );
    let mut sat = CommandFramer::new(limits);
    let mut buf = b"NOOP {99999999999999999999999999+}\r\n".to_vec();
    assert_eq!(
        sat.take_command(&mut buf),
        Frame::Refused(FrameError::LiteralTooLarge(u64::MAX))
    );
}

#[test]
fn long_lines_and_commands_are_refused_and_the_next_command_is_found() {
    let limits = Limits {
        max_line: 20,
        max_literal: 30,
        max_command: 40,
    };
    let mut framer = CommandFramer::new(limits);
    let mut buf = vec![b'a'; 25];
    assert_eq!(
        framer.take_command(&mut buf),
        Frame::Refused(FrameError::LineTooLong)
    );
    assert!(buf.is_empty());
    buf.extend_from_slice(b"aaaa\r\nNOOP\r\n");
    assert_eq!(
        framer.take_command(&mut buf),
        Frame::Command(b"NOOP".to_vec())
    );
    let mut buf = format!("NOOP \"{}\"\r\nLOGOUT\r\n", "b".repeat(20)).into_bytes();
    assert_eq!(
        framer.take_command(&mut buf),
        Frame::Refused(FrameError::LineTooLong)
    );
    assert_eq!(
        framer.take_command(&mut buf),
        Frame::Command(b"LOGOUT".to_vec())
    );
    let mut buf = b"PUTSCRIPT {2+}\r\nab {25+}\r\n0123456789012345678901234\r\nNOOP\r\n".to_vec();
    assert_eq!(
        framer.take_command(&mut buf),
        Frame::Refused(FrameError::CommandTooLong)
    );
    assert_eq!(
        framer.take_command(&mut buf),
        Frame::Command(b"NOOP".to_vec())
    );
    // A long line inside a command refused for its literal is not a second refusal.
    let mut buf = b"PUTSCRIPT {31+}\r\n0123456789012345678901234567890 \"".to_vec();
    buf.extend_from_slice(&[b'c'; 30]);
    buf.extend_from_slice(b"\"\r\nNOOP\r\n");
    assert_eq!(
        framer.take_command(&mut buf),
        Frame::Refused(FrameError::LiteralTooLarge(31))
    );
    assert_eq!(
        framer.take_command(&mut buf),
        Frame::Command(b"NOOP".to_vec())
    );
    let mut buf = b"PUTSCRIPT {31+}\r\n0123456789012345678901234567890 \"".to_vec();
    assert_eq!(
        framer.take_command(&mut buf),
        Frame::Refused(FrameError::LiteralTooLarge(31))
    );
    buf.extend_from_slice(&[b'c'; 30]);
    assert_eq!(framer.take_command(&mut buf), Frame::Incomplete);
    buf.extend_from_slice(b"\"\r\nNOOP\r\n");
    assert_eq!(
        framer.take_command(&mut buf),
        Frame::Command(b"NOOP".to_vec())
    );
    // A bare LF ends a line as CRLF does.
    let mut buf = b"LOGOUT\n".to_vec();
    assert_eq!(
        framer.take_command(&mut buf),
        Frame::Command(b"LOGOUT".to_vec())
    );
}
