//! Reading a server's replies as an LMTP client (RFC 5321 §4.2.1): `code-text` lines until
//! `code SP text`, every line with the same code, each line and the number of lines bounded.
//! The enhanced status code (RFC 2034 §4) is split off the text when every line starts with
//! one of the reply's class, so that the [`Reply`] encodes again as the server sent it.

use lmtp_proto::{LineFramer, LineResult, Reply};

/// The longest reply line read, line end excluded. RFC 5321 §4.5.3.1.5 allows 512 octets with
/// the line end; some servers write longer texts, none this long.
const MAX_REPLY_LINE: usize = 2048;
/// The most lines one reply may have (an LHLO listing is a dozen).
const MAX_REPLY_LINES: usize = 100;

/// Why the server's output is not a reply; the connection cannot be used after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// A line past [`MAX_REPLY_LINE`].
    LineTooLong,
    /// More than [`MAX_REPLY_LINES`] lines in one reply.
    TooManyLines,
    /// A line that does not start with a reply code, or a code that changes within a reply.
    NotAReply,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Malformed::LineTooLong => "a reply line is too long",
            Malformed::TooManyLines => "a reply has too many lines",
            Malformed::NotAReply => "a line is not a reply",
        })
    }
}

/// Takes replies out of the bytes read from a server, one at a time.
pub(crate) struct ReplyReader {
    framer: LineFramer,
    /// The lines of the reply being read: its code and each line's text.
    code: Option<u16>,
    lines: Vec<String>,
}

impl ReplyReader {
    pub(crate) fn new() -> ReplyReader {
        ReplyReader {
            framer: LineFramer::new(MAX_REPLY_LINE),
            code: None,
            lines: Vec::new(),
        }
    }

    /// The next complete reply at the front of `input` (drained from it), or `None` when more
    /// bytes are needed.
    pub(crate) fn take_reply(&mut self, input: &mut Vec<u8>) -> Result<Option<Reply>, Malformed> {
        loop {
            let line = match self.framer.take_line(input) {
                LineResult::Line(line) => line,
                LineResult::Incomplete => return Ok(None),
                LineResult::TooLong => return Err(Malformed::LineTooLong),
            };
            let (code, last, text) = reply_line(&line).ok_or(Malformed::NotAReply)?;
            if self.code.is_some_and(|c| c != code) {
                return Err(Malformed::NotAReply);
            }
            if self.lines.len() >= MAX_REPLY_LINES {
                return Err(Malformed::TooManyLines);
            }
            self.code = Some(code);
            self.lines.push(text);
            if last {
                self.code = None;
                let lines = std::mem::take(&mut self.lines);
                return Ok(Some(with_enhanced_code(code, lines)));
            }
        }
    }
}

/// `Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF`
/// (RFC 5321 §4.2): the code, whether this is the last line, and the text.
fn reply_line(line: &[u8]) -> Option<(u16, bool, String)> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&digits[0]) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let (last, text) = match line.get(3) {
        None => (true, &[][..]),
        Some(b' ') => (true, &line[4..]),
        Some(b'-') => (false, &line[4..]),
        Some(_) => return None,
    };
    Some((code, last, String::from_utf8_lossy(text).into_owned()))
}

/// The reply with its enhanced status code split off when every line starts with one whose
/// class is the reply's (RFC 2034 §4; RFC 3463 §2 `class.subject.detail`).
fn with_enhanced_code(code: u16, lines: Vec<String>) -> Reply {
    let class = char::from(b'0' + u8::try_from(code / 100).unwrap_or(0));
    let first = lines.first().and_then(|l| enhanced_code(l, class));
    let shared = first.filter(|e| lines.iter().all(|l| enhanced_code(l, class) == Some(*e)));
    let Some(enhanced) = shared else {
        return Reply::multiline(code, None, lines);
    };
    let enhanced = enhanced.to_string();
    let lines = lines
        .iter()
        .map(|l| l[enhanced.len()..].trim_start_matches(' ').to_string())
        .collect();
    Reply::multiline(code, Some(&enhanced), lines)
}

/// The `class.subject.detail` code at the start of `text`, followed by a space or the end.
fn enhanced_code(text: &str, class: char) -> Option<&str> {
    let end = text.find(' ').unwrap_or(text.len());
    let candidate = &text[..end];
    let mut parts = candidate.split('.');
    let (c, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    let number = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    let ok = parts.next().is_none()
        && c.len() == 1
        && c.starts_with(class)
        && number(subject, 3)
        && number(detail, 3);
    ok.then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> Result<Vec<Reply>, Malformed> {
        let mut reader = ReplyReader::new();
        let mut input = bytes.to_vec();
        let mut out = Vec::new();
        while let Some(reply) = reader.take_reply(&mut input)? {
            out.push(reply);
        }
        Ok(out)
    }

    #[test]
    fn replies_encode_again_as_the_server_sent_them() {
        let wire: &[u8] = b"250-mail.test\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n\
            250 2.1.5 Ok\r\n452 4.2.2 Mailbox is over quota, try again later\r\n\
            550 5.1.1 Mailbox unknown\r\n220 lmtp.test LMTP Darius ready\r\n354 Go ahead\r\n";
        let replies = read_all(wire).unwrap();
        assert_eq!(replies.len(), 6);
        assert_eq!(replies[0].lines, ["mail.test", "PIPELINING", "AUTH PLAIN"]);
        assert_eq!(replies[0].enhanced, None);
        assert_eq!(replies[2].code, 452);
        assert_eq!(replies[2].enhanced.as_deref(), Some("4.2.2"));
        let again: Vec<u8> = replies.iter().flat_map(Reply::to_bytes).collect();
        assert_eq!(again, wire);
    }

    #[test]
    fn a_reply_arriving_in_pieces_is_read_once_whole() {
        let mut reader = ReplyReader::new();
        let mut input = b"250-a\r\n25".to_vec();
        assert_eq!(reader.take_reply(&mut input), Ok(None));
        input.extend_from_slice(b"0 2.0.0 b\r\n");
        let reply = reader.take_reply(&mut input).unwrap().unwrap();
        assert_eq!(reply.lines, ["a", "2.0.0 b"], "only one line has the code");
        assert_eq!(reply.enhanced, None);
        assert!(input.is_empty());
    }

    #[test]
    fn an_enhanced_code_of_another_class_stays_in_the_text() {
        let replies = read_all(b"451 5.1.1 odd\r\n250 2.1.5\r\n").unwrap();
        assert_eq!(replies[0].enhanced, None);
        assert_eq!(replies[0].lines, ["5.1.1 odd"]);
        assert_eq!(replies[1].enhanced.as_deref(), Some("2.1.5"));
        assert_eq!(replies[1].lines, [""]);
    }

    #[test]
    fn garbage_and_changing_codes_are_not_replies() {
        for bad in [
            &b"hello\r\n"[..],
            b"25\r\n",
            b"2500 x\r\n",
            b"250-a\r\n251 b\r\n",
            b"650 x\r\n",
            b"250x\r\n",
        ] {
            assert_eq!(read_all(bad), Err(Malformed::NotAReply), "{bad:?}");
        }
        let long = [b"250 ".as_slice(), &vec![b'a'; MAX_REPLY_LINE], b"\r\n"].concat();
        assert_eq!(read_all(&long), Err(Malformed::LineTooLong));
        let many = b"250-x\r\n".repeat(MAX_REPLY_LINES + 1);
        assert_eq!(read_all(&many), Err(Malformed::TooManyLines));
    }
}
