//! Wire-level character classes (RFC 9051 §9) and the choice between atom, quoted string,
//! literal and literal8 when writing a string — shared by the command and response encoders.

/// `ATOM-CHAR`: any CHAR except atom-specials `( ) { SP CTL % * " \ ]`.
pub fn is_atom_char(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
        && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// `ASTRING-CHAR = ATOM-CHAR / resp-specials`.
pub fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// `list-char = ATOM-CHAR / list-wildcards / resp-specials`.
pub fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

/// Whether 8-bit text may travel in quoted strings (RFC 9051 `QUOTED-CHAR` allows UTF-8; RFC
/// 3501 does not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextMode {
    Ascii,
    Utf8,
}

/// How the command encoder writes literals: `{N}` needs a `+` from the server before the data;
/// `{N+}` (RFC 7888) does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralStyle {
    Sync,
    NonSync,
}

/// Longest string we write quoted; longer ones go as literals.
const MAX_QUOTED: usize = 1024;

fn is_quotable(data: &[u8], mode: TextMode) -> bool {
    if data.len() > MAX_QUOTED {
        return false;
    }
    let ascii_ok = data
        .iter()
        .all(|&b| (0x20..=0x7e).contains(&b) || b >= 0x80);
    match mode {
        TextMode::Ascii => ascii_ok && data.is_ascii(),
        TextMode::Utf8 => ascii_ok && std::str::from_utf8(data).is_ok(),
    }
}

/// Writes `quoted`, escaping `"` and `\`. The caller guarantees the bytes are quotable
/// (no CR, LF or NUL; 8-bit only where UTF-8 is allowed).
pub fn write_quoted(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'"');
    for &b in data {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Writes the header of a literal for `data`: `{N}` CRLF, or `~{N}` CRLF (literal8) when the
/// data holds NUL.
pub fn write_literal_header(out: &mut Vec<u8>, data: &[u8], style: LiteralStyle) {
    if data.contains(&0) {
        out.push(b'~');
    }
    out.push(b'{');
    out.extend_from_slice(data.len().to_string().as_bytes());
    if style == LiteralStyle::NonSync {
        out.push(b'+');
    }
    out.extend_from_slice(b"}\r\n");
}

/// Writes `literal` (`{N}` CRLF data), or `literal8` (`~{N}`) when the data holds NUL.
pub fn write_literal(out: &mut Vec<u8>, data: &[u8], style: LiteralStyle) {
    write_literal_header(out, data, style);
    out.extend_from_slice(data);
}

/// Writes `string`: quoted when every byte allows it, otherwise a literal.
pub fn write_string(out: &mut Vec<u8>, data: &[u8], mode: TextMode, style: LiteralStyle) {
    if is_quotable(data, mode) {
        write_quoted(out, data);
    } else {
        write_literal(out, data, style);
    }
}

/// Writes `astring`: an atom when possible (never the atom `NIL`, to stay unambiguous), else a
/// string.
pub fn write_astring(out: &mut Vec<u8>, data: &[u8], mode: TextMode, style: LiteralStyle) {
    let atom = !data.is_empty()
        && data.iter().all(|&b| is_astring_char(b))
        && !data.eq_ignore_ascii_case(b"NIL");
    if atom {
        out.extend_from_slice(data);
    } else {
        write_string(out, data, mode, style);
    }
}

/// Writes `nstring` (`NIL` or string; literal8 when the data holds NUL).
pub fn write_nstring(out: &mut Vec<u8>, data: Option<&[u8]>, mode: TextMode) {
    match data {
        None => out.extend_from_slice(b"NIL"),
        Some(d) => write_string(out, d, mode, LiteralStyle::Sync),
    }
}

/// Writes `text` (RFC 9051 `1*TEXT-CHAR`): CR, LF and NUL, which would break the line, become
/// spaces; outside UTF-8 mode (RFC 3501 `TEXT-CHAR` is 7-bit) each non-ASCII character becomes
/// `?`.
pub fn write_text(out: &mut Vec<u8>, text: &str, mode: TextMode) {
    for c in text.chars() {
        match c {
            '\r' | '\n' | '\0' => out.push(b' '),
            c if c.is_ascii() => out.push(c as u8),
            _ if mode == TextMode::Ascii => out.push(b'?'),
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(data: &[u8], mode: TextMode) -> Vec<u8> {
        let mut out = Vec::new();
        write_astring(&mut out, data, mode, LiteralStyle::Sync);
        out
    }

    #[test]
    fn strings_choose_atom_quoted_literal_and_literal8() {
        assert_eq!(s(b"INBOX", TextMode::Ascii), b"INBOX");
        assert_eq!(s(b"a b", TextMode::Ascii), b"\"a b\"");
        assert_eq!(s(b"", TextMode::Ascii), b"\"\"");
        assert_eq!(s(b"nil", TextMode::Ascii), b"\"nil\"");
        assert_eq!(
            s(b"say \"hi\"\\", TextMode::Ascii),
            b"\"say \\\"hi\\\"\\\\\""
        );
        assert_eq!(s(b"a\r\nb", TextMode::Ascii), b"{4}\r\na\r\nb");
        assert_eq!(s("é".as_bytes(), TextMode::Ascii), b"{2}\r\n\xc3\xa9");
        assert_eq!(s("é x".as_bytes(), TextMode::Utf8), "\"é x\"".as_bytes());
        assert_eq!(s(b"a\0b", TextMode::Ascii), b"~{3}\r\na\0b");
    }
}
