//! Command-line framing: CRLF and bare LF, partial input, the line-length limit and resync.

use lmtp_proto::{LineFramer, LineResult, MAX_COMMAND_LINE};

fn line(text: &[u8]) -> LineResult {
    LineResult::Line(text.to_vec())
}

#[test]
fn crlf_and_bare_lf_both_end_a_line() {
    let mut framer = LineFramer::new(MAX_COMMAND_LINE);
    let mut buf = b"LHLO a\r\nNOOP\nQUIT\r\n".to_vec();
    assert_eq!(framer.take_line(&mut buf), line(b"LHLO a"));
    assert_eq!(framer.take_line(&mut buf), line(b"NOOP"));
    assert_eq!(framer.take_line(&mut buf), line(b"QUIT"));
    assert_eq!(framer.take_line(&mut buf), LineResult::Incomplete);
    assert!(buf.is_empty());
}

#[test]
fn only_one_cr_is_stripped() {
    let mut framer = LineFramer::new(MAX_COMMAND_LINE);
    let mut buf = b"NOOP\r\r\n\r\n".to_vec();
    assert_eq!(framer.take_line(&mut buf), line(b"NOOP\r"));
    assert_eq!(framer.take_line(&mut buf), line(b""));
}

#[test]
fn partial_line_waits_and_leaves_the_buffer_alone() {
    let mut framer = LineFramer::new(MAX_COMMAND_LINE);
    let mut buf = b"MAIL FROM:<a@b>\r".to_vec();
    assert_eq!(framer.take_line(&mut buf), LineResult::Incomplete);
    assert_eq!(buf, b"MAIL FROM:<a@b>\r");
    buf.extend_from_slice(b"\nDATA\r\nbody");
    assert_eq!(framer.take_line(&mut buf), line(b"MAIL FROM:<a@b>"));
    assert_eq!(framer.take_line(&mut buf), line(b"DATA"));
    // What follows DATA stays for the DataDecoder.
    assert_eq!(buf, b"body");
}

#[test]
fn line_of_exactly_the_limit_is_accepted() {
    let mut framer = LineFramer::new(8);
    let mut buf = b"12345678\r".to_vec();
    assert_eq!(framer.take_line(&mut buf), LineResult::Incomplete);
    buf.push(b'\n');
    assert_eq!(framer.take_line(&mut buf), line(b"12345678"));
}

#[test]
fn complete_over_long_line_is_too_long_once() {
    let mut framer = LineFramer::new(8);
    let mut buf = b"123456789\r\nNOOP\r\n".to_vec();
    assert_eq!(framer.take_line(&mut buf), LineResult::TooLong);
    assert_eq!(framer.take_line(&mut buf), line(b"NOOP"));
}

#[test]
fn unterminated_over_long_line_is_reported_once_then_skipped_to_its_end() {
    let mut framer = LineFramer::new(8);
    let mut buf = b"123456789".to_vec();
    assert_eq!(framer.take_line(&mut buf), LineResult::TooLong);
    assert!(framer.is_discarding());
    assert!(buf.is_empty());
    buf.extend_from_slice(b"more garbage without an end");
    assert_eq!(framer.take_line(&mut buf), LineResult::Incomplete);
    assert!(buf.is_empty());
    buf.extend_from_slice(b"still\r");
    assert_eq!(framer.take_line(&mut buf), LineResult::Incomplete);
    buf.extend_from_slice(b"\nRSET\r\nQU");
    assert_eq!(framer.take_line(&mut buf), line(b"RSET"));
    assert!(!framer.is_discarding());
    assert_eq!(framer.take_line(&mut buf), LineResult::Incomplete);
    assert_eq!(buf, b"QU");
}

#[test]
fn resync_works_more_than_once() {
    let mut framer = LineFramer::new(4);
    let mut buf = Vec::new();
    for _ in 0..3 {
        buf.extend_from_slice(b"abcdefgh");
        assert_eq!(framer.take_line(&mut buf), LineResult::TooLong);
        buf.extend_from_slice(b"ij\nok\n");
        assert_eq!(framer.take_line(&mut buf), line(b"ok"));
    }
}

#[test]
fn byte_at_a_time_gives_the_same_lines() {
    let input = b"LHLO x\r\nMAIL FROM:<>\nRCPT TO:<a>\r\n";
    let mut framer = LineFramer::new(MAX_COMMAND_LINE);
    let mut buf = Vec::new();
    let mut lines = Vec::new();
    for &b in input {
        buf.push(b);
        while let LineResult::Line(l) = framer.take_line(&mut buf) {
            lines.push(l);
        }
    }
    assert_eq!(
        lines,
        vec![
            b"LHLO x".to_vec(),
            b"MAIL FROM:<>".to_vec(),
            b"RCPT TO:<a>".to_vec()
        ]
    );
}
