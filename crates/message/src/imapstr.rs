//! IMAP string output (RFC 3501 §4.3 / RFC 9051 §4.3): quoted where allowed, a literal
//! otherwise, `NIL` for absent values.

/// Longest value we send quoted; longer ones go as literals (both reference servers do so).
const MAX_QUOTED: usize = 1024;

/// Appends `s` as an IMAP `string`.
pub(crate) fn string(out: &mut Vec<u8>, s: &[u8]) {
    // RFC 3501 §9: QUOTED-CHAR is any TEXT-CHAR (7-bit, not CR/LF/NUL); anything else needs a
    // literal.
    let needs_literal = s.len() > MAX_QUOTED
        || s.iter()
            .any(|&b| b == 0 || b == b'\r' || b == b'\n' || b >= 0x80);
    if needs_literal {
        out.push(b'{');
        out.extend_from_slice(s.len().to_string().as_bytes());
        out.extend_from_slice(b"}\r\n");
        out.extend_from_slice(s);
    } else {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    }
}

/// Appends `s` as an IMAP `nstring`: `NIL` when absent.
pub(crate) fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"NIL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        string(&mut out, v);
        out
    }

    #[test]
    fn quoted_specials_are_escaped() {
        assert_eq!(s(b"a\"b\\c"), b"\"a\\\"b\\\\c\"");
        assert_eq!(s(b"tab\there"), b"\"tab\there\"");
    }

    #[test]
    fn eight_bit_and_crlf_become_literals() {
        assert_eq!(s("ü".as_bytes()), b"{2}\r\n\xc3\xbc");
        assert_eq!(s(b"a\r\nb"), b"{4}\r\na\r\nb");
    }
}
