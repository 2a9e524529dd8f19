//! Refused command lines: each is an error with the right reply code and enhanced code, never a
//! panic. Written as a table: line, code, enhanced code.

use lmtp_proto::parse_command;

const CASES: &[(&[u8], u16, &str)] = &[
    // Not a command at all.
    (b"", 500, "5.5.2"),
    (b"   ", 500, "5.5.2"),
    (b"FOO", 500, "5.5.2"),
    (b"DATAX", 500, "5.5.2"),
    (b"MAILFROM:<a@b>", 500, "5.5.2"),
    (b"\xff\xfe", 500, "5.5.2"),
    (b"NO\0OP", 500, "5.5.2"),
    (b"NOOP\0", 500, "5.5.2"),
    (b"RSET\r", 500, "5.5.2"),
    (b"QUIT\x1b[0m", 500, "5.5.2"),
    (b"MAIL FROM:<a\x7f@b>", 500, "5.5.2"),
    // Recognised but not implemented (RFC 5321 §4.2.4).
    (b"EXPN staff", 502, "5.5.1"),
    (b"BURL imap://x LAST", 502, "5.5.1"),
    (b"AUTH", 501, "5.5.4"),
    (b"AUTH PLAIN AGJvYgBwdw== extra", 501, "5.5.4"),
    (b"AUTH PLAIN not-base64!", 501, "5.5.2"),
    (b"AUTH THIS-MECHANISM-NAME-IS-TOO-LONG", 501, "5.5.4"),
    (b"AUTH PL@IN", 501, "5.5.4"),
    (b"turn", 502, "5.5.1"),
    // Arguments missing or not allowed.
    (b"LHLO", 501, "5.5.4"),
    (b"LHLO   ", 501, "5.5.4"),
    (b"HELO", 501, "5.5.4"),
    (b"EHLO", 501, "5.5.4"),
    (b"DATA now", 501, "5.5.4"),
    (b"RSET x", 501, "5.5.4"),
    (b"QUIT please", 501, "5.5.4"),
    (b"STARTTLS x", 501, "5.5.4"),
    (b"VRFY", 501, "5.5.4"),
    (b"MAIL", 501, "5.5.4"),
    (b"MAIL TO:<a@b>", 501, "5.5.4"),
    (b"MAIL FROM:", 501, "5.5.4"),
    (b"MAIL FROM: ", 501, "5.5.4"),
    (b"MAIL FROM <a@b>", 501, "5.5.4"),
    (b"RCPT", 501, "5.5.4"),
    (b"RCPT FROM:<a@b>", 501, "5.5.4"),
    (b"RCPT TO:", 501, "5.5.4"),
    (b"BDAT", 501, "5.5.4"),
    (b"BDAT x", 501, "5.5.4"),
    (b"BDAT -1", 501, "5.5.4"),
    (b"BDAT 10 FIRST", 501, "5.5.4"),
    (b"BDAT 10 LAST x", 501, "5.5.4"),
    (b"BDAT 18446744073709551616", 501, "5.5.4"),
    // Arguments that are not text.
    (b"MAIL FROM:<\xff@b>", 501, "5.5.2"),
    (b"RCPT TO:<a@\xc3>", 501, "5.5.2"),
    // Bad reverse-path (RFC 3463 X.1.7).
    (b"MAIL FROM:<a@b", 501, "5.1.7"),
    (b"MAIL FROM:<a b@c>", 501, "5.1.7"),
    (b"MAIL FROM:<@>", 501, "5.1.7"),
    (b"MAIL FROM:<a@>", 501, "5.1.7"),
    (b"MAIL FROM:<a@b..c>", 501, "5.1.7"),
    (b"MAIL FROM:<a@.b>", 501, "5.1.7"),
    (b"MAIL FROM:<a@b.>", 501, "5.1.7"),
    (b"MAIL FROM:<\"unterminated@b>", 501, "5.1.7"),
    (b"MAIL FROM:<a@b>SIZE=10", 501, "5.1.7"),
    (b"MAIL FROM:<<a@b>>", 501, "5.1.7"),
    (b"MAIL FROM:<a@[1.2.3.4>", 501, "5.1.7"),
    (b"MAIL FROM:<a@[]>", 501, "5.1.7"),
    (b"MAIL FROM:a@b>", 501, "5.1.7"),
    // Bad forward-path (RFC 3463 X.1.3).
    (b"RCPT TO:<>", 501, "5.1.3"),
    (b"RCPT TO:<@relay>", 501, "5.1.3"),
    (b"RCPT TO:<@relay:>", 501, "5.1.3"),
    (b"RCPT TO:<@relay,bob@x>", 501, "5.1.3"),
    (b"RCPT TO:<@relay;bob@x>", 501, "5.1.3"),
    (b"RCPT TO:<bob@x", 501, "5.1.3"),
    (b"RCPT TO:<\"a\tb\"@x>", 501, "5.1.3"),
    (b"RCPT TO:<\"a\\\xc3\xa9\x01\"@x>", 500, "5.5.2"),
    (b"RCPT TO:<\"a\\", 501, "5.1.3"),
    (b"RCPT TO:<a(comment)@x>", 501, "5.1.3"),
    (b"RCPT TO:<a@x> <b@y>", 501, "5.5.4"),
    // Bad parameters.
    (b"MAIL FROM:<> SIZE", 501, "5.5.4"),
    (b"MAIL FROM:<> SIZE=", 501, "5.5.4"),
    (b"MAIL FROM:<> SIZE=ten", 501, "5.5.4"),
    (b"MAIL FROM:<> SIZE=-5", 501, "5.5.4"),
    (b"MAIL FROM:<> SIZE=99999999999999999999999", 501, "5.5.4"),
    (b"MAIL FROM:<> SIZE=1 SIZE=2", 501, "5.5.4"),
    (b"MAIL FROM:<> BODY=9BIT", 501, "5.5.4"),
    (b"MAIL FROM:<> BODY", 501, "5.5.4"),
    (b"MAIL FROM:<> AUTH=+ZZ", 501, "5.5.4"),
    (b"MAIL FROM:<> AUTH=+FF", 501, "5.5.4"),
    (b"MAIL FROM:<> SMTPUTF8=yes", 501, "5.5.4"),
    (b"MAIL FROM:<> SMTPUTF8 SMTPUTF8", 501, "5.5.4"),
    (b"MAIL FROM:<> RET=ALL", 501, "5.5.4"),
    (b"MAIL FROM:<> ENVID=a+", 501, "5.5.4"),
    (b"MAIL FROM:<> -X=1", 501, "5.5.4"),
    (b"MAIL FROM:<> X_Y=1", 501, "5.5.4"),
    (b"MAIL FROM:<> X=a=b", 501, "5.5.4"),
    (b"MAIL FROM:<> =1", 501, "5.5.4"),
    (b"RCPT TO:<a> NOTIFY=", 501, "5.5.4"),
    (b"RCPT TO:<a> NOTIFY=NEVER,SUCCESS", 501, "5.5.4"),
    (b"RCPT TO:<a> NOTIFY=SUCCESS,,DELAY", 501, "5.5.4"),
    (b"RCPT TO:<a> NOTIFY=SOMETIMES", 501, "5.5.4"),
    (b"RCPT TO:<a> ORCPT=bob@x", 501, "5.5.4"),
    (b"RCPT TO:<a> ORCPT=;bob@x", 501, "5.5.4"),
    (b"RCPT TO:<a> ORCPT=rfc822;bob+", 501, "5.5.4"),
    (b"RCPT TO:<a> ORCPT=rfc822;a ORCPT=rfc822;b", 501, "5.5.4"),
];

#[test]
fn bad_lines_get_the_right_code() {
    for &(line, code, enhanced) in CASES {
        match parse_command(line) {
            Ok(cmd) => panic!("{:?} parsed as {cmd:?}", String::from_utf8_lossy(line)),
            Err(e) => assert_eq!(
                (e.code, e.enhanced),
                (code, enhanced),
                "{:?}: {e}",
                String::from_utf8_lossy(line)
            ),
        }
    }
}

#[test]
fn error_reply_carries_code_enhanced_code_and_reason() {
    let err = parse_command(b"RCPT TO:<>").expect_err("null recipient");
    let reply = err.reply();
    assert_eq!(reply.code, 501);
    assert_eq!(reply.enhanced.as_deref(), Some("5.1.3"));
    let bytes = reply.to_bytes();
    assert!(bytes.starts_with(b"501 5.1.3 "), "{bytes:?}");
    assert!(bytes.ends_with(b"\r\n"));
    assert_eq!(err.to_string(), format!("501 5.1.3 {}", err.message));
}

#[test]
fn unknown_command_reply() {
    let err = parse_command(b"XYZZY").expect_err("unknown");
    assert_eq!(
        err.reply().to_bytes(),
        b"500 5.5.2 command not recognized\r\n"
    );
}
