//! MUPDATE strings (RFC 3656 §2: IMAP's `quoted` and `literal`), how they are written, and the
//! cursor that reads the parts of a framed message: tags and keywords (atoms), strings, and the
//! free text at the end of a status response.

/// The longest string written quoted; a longer one goes as a literal (and so does any string
/// with a byte a quoted string cannot hold), so nobody has to read very long quoted strings.
pub const MAX_QUOTED: usize = 1024;

/// Why a message did not parse. [`ParseError::text`] is what a server answers in `BAD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing but white space (Cyrus: `* BAD "Need command"`).
    #[error("empty line")]
    Empty,
    /// The tag is missing or not an atom.
    #[error("bad tag")]
    BadTag,
    /// A command or response name this codec does not know.
    #[error("unrecognized command or response")]
    Unrecognized,
    /// Fewer arguments than the command takes, or one that is not a string.
    #[error("missing arguments")]
    MissingArguments,
    /// More arguments than the command takes.
    #[error("extra arguments")]
    ExtraArguments,
    /// A quoted string that is not closed, holds a CR, LF or NUL, or escapes a character other
    /// than `"` and `\`.
    #[error("malformed quoted string")]
    BadQuoted,
    /// A literal whose header is malformed or whose octets are missing from the frame.
    #[error("malformed literal")]
    BadLiteral,
    /// A response whose form is not the one its name calls for.
    #[error("malformed response")]
    BadResponse,
}

impl ParseError {
    /// What a server says in `BAD` (Cyrus's words where it has them).
    pub fn text(self) -> &'static str {
        match self {
            ParseError::Empty => "Need command",
            ParseError::BadTag => "Invalid tag",
            ParseError::Unrecognized => "Unrecognized command",
            ParseError::MissingArguments => "Missing arguments",
            ParseError::ExtraArguments => "Extra arguments",
            ParseError::BadQuoted => "Invalid quoted string",
            ParseError::BadLiteral => "Invalid literal",
            ParseError::BadResponse => "Invalid response",
        }
    }
}

/// Whether `b` may stand in a quoted string as it is (IMAP's `QUOTED-CHAR` without the
/// escapes): any 7-bit byte but NUL, CR, LF, `"` and `\`. A tab may, and ACLs are full of them.
fn quotable(b: u8) -> bool {
    matches!(b, 0x01..=0x7f) && !matches!(b, b'\r' | b'\n' | b'"' | b'\\')
}

/// Appends `s` as a string: quoted when every byte may stand in a quoted string as it is and
/// it is at most [`MAX_QUOTED`] bytes long, else as a non-synchronizing literal (`{n+}` CRLF
/// octets), which Cyrus's `mupdate` takes from clients and itself writes to them.
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= MAX_QUOTED && s.iter().all(|&b| quotable(b)) {
        out.push(b'"');
        out.extend_from_slice(s);
        out.push(b'"');
    } else {
        out.extend_from_slice(format!("{{{}+}}\r\n", s.len()).as_bytes());
        out.extend_from_slice(s);
    }
}

/// Whether `b` may be part of an atom (a tag or a keyword): a visible ASCII character other
/// than the ones that open strings and lists.
pub(crate) fn atom_char(b: u8) -> bool {
    matches!(b, 0x21..=0x7e) && !matches!(b, b'"' | b'{' | b'(' | b')' | b'\\')
}

/// Reads one framed message (its line ends and literal octets in place) from the front.
pub(crate) struct Cursor<'a> {
    input: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Cursor<'a> {
        Cursor { input, at: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.at >= self.input.len()
    }

    /// An atom (at least one byte).
    pub(crate) fn atom(&mut self) -> Option<&'a [u8]> {
        let start = self.at;
        while self.peek().is_some_and(atom_char) {
            self.at += 1;
        }
        (self.at > start).then(|| &self.input[start..self.at])
    }

    /// One space; `false` (consuming nothing) when the next byte is not one.
    pub(crate) fn space(&mut self) -> bool {
        if self.peek() == Some(b' ') {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Whether a string starts here.
    pub(crate) fn at_string(&self) -> bool {
        matches!(self.peek(), Some(b'"' | b'{'))
    }

    /// A quoted string or a literal.
    pub(crate) fn string(&mut self) -> Result<Vec<u8>, ParseError> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => self.literal(),
            _ => Err(ParseError::MissingArguments),
        }
    }

    /// RFC 3656 §2 (IMAP's `quoted`): `"` … `"`, with `\"` and `\\` for those two.
    fn quoted(&mut self) -> Result<Vec<u8>, ParseError> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\r' | b'\n' | 0) => return Err(ParseError::BadQuoted),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => match self.input.get(self.at + 1) {
                    Some(&c @ (b'"' | b'\\')) => {
                        out.push(c);
                        self.at += 2;
                    }
                    _ => return Err(ParseError::BadQuoted),
                },
                Some(b) => {
                    out.push(b);
                    self.at += 1;
                }
            }
        }
    }

    /// `{n}` or `{n+}`, a line end, then `n` octets (the framer put them in the frame).
    fn literal(&mut self) -> Result<Vec<u8>, ParseError> {
        let rest = &self.input[self.at..];
        let close = rest
            .iter()
            .position(|&b| b == b'}')
            .ok_or(ParseError::BadLiteral)?;
        let size = parse_literal_size(&rest[1..close]).ok_or(ParseError::BadLiteral)?;
        let mut at = self.at + close + 1;
        match (self.input.get(at), self.input.get(at + 1)) {
            (Some(b'\r'), Some(b'\n')) => at += 2,
            (Some(b'\n'), _) => at += 1,
            _ => return Err(ParseError::BadLiteral),
        }
        let size = usize::try_from(size).map_err(|_| ParseError::BadLiteral)?;
        let end = at.checked_add(size).ok_or(ParseError::BadLiteral)?;
        let octets = self.input.get(at..end).ok_or(ParseError::BadLiteral)?;
        self.at = end;
        Ok(octets.to_vec())
    }

    /// What is left, unparsed.
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.input[self.at.min(self.input.len())..]
    }

    /// What is left, as the free text of a status or continuation line: a lone string is
    /// taken as its contents (Cyrus quotes its texts), anything else as it stands.
    pub(crate) fn text_bytes(&mut self) -> Vec<u8> {
        let rest = self.rest();
        let mut probe = Cursor::new(rest);
        let text = match probe.string() {
            Ok(s) if probe.at_end() => s,
            _ => rest.to_vec(),
        };
        self.at = self.input.len();
        text
    }

    /// [`Cursor::text_bytes`] as text (invalid UTF-8 replaced).
    pub(crate) fn text(&mut self) -> String {
        String::from_utf8_lossy(&self.text_bytes()).into_owned()
    }
}

/// The `n` of a literal header's `{n}` or `{n+}` (without the braces): at most 10 digits.
pub(crate) fn parse_literal_size(inner: &[u8]) -> Option<u64> {
    let digits = inner.strip_suffix(b"+").unwrap_or(inner);
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_with_tabs_goes_quoted() {
        let mut out = Vec::new();
        write_string(&mut out, b"ann\tlrswipkxtecda\t");
        assert_eq!(out, b"\"ann\tlrswipkxtecda\t\"");
    }

    #[test]
    fn quotes_backslashes_and_eight_bit_go_as_literals() {
        for s in [&b"a\"b"[..], b"a\\b", "user.é".as_bytes(), b"a\r\nb"] {
            let mut out = Vec::new();
            write_string(&mut out, s);
            let mut expect = format!("{{{}+}}\r\n", s.len()).into_bytes();
            expect.extend_from_slice(s);
            assert_eq!(out, expect);
        }
    }

    #[test]
    fn literal_sizes_are_bounded_digits() {
        assert_eq!(parse_literal_size(b"8+"), Some(8));
        assert_eq!(parse_literal_size(b"0"), Some(0));
        assert_eq!(parse_literal_size(b"9999999999"), Some(9_999_999_999));
        for bad in [&b""[..], b"+", b"-1", b"12345678901", b"1 ", b"8++"] {
            assert_eq!(parse_literal_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn quoted_strings_unescape_only_quote_and_backslash() {
        assert_eq!(
            Cursor::new(br#""a\"b\\c""#).string(),
            Ok(b"a\"b\\c".to_vec())
        );
        assert_eq!(
            Cursor::new(br#""a\nb""#).string(),
            Err(ParseError::BadQuoted)
        );
        assert_eq!(Cursor::new(b"\"open").string(), Err(ParseError::BadQuoted));
    }

    #[test]
    fn a_literal_needs_its_octets_in_the_frame() {
        assert_eq!(Cursor::new(b"{3+}\r\nabc").string(), Ok(b"abc".to_vec()));
        assert_eq!(Cursor::new(b"{3}\nabc").string(), Ok(b"abc".to_vec()));
        assert_eq!(
            Cursor::new(b"{4+}\r\nabc").string(),
            Err(ParseError::BadLiteral)
        );
        assert_eq!(
            Cursor::new(b"{3+} abc").string(),
            Err(ParseError::BadLiteral)
        );
    }
}
