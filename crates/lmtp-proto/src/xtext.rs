//! RFC 3461 §4 `xtext`, the encoding of the AUTH (RFC 4954 §5), ENVID and ORCPT parameter values:
//!
//! ```text
//! xtext   = *( xchar / hexchar )
//! xchar   = any ASCII CHAR between "!" (33) and "~" (126) inclusive, except for "+" and "="
//! hexchar = ASCII "+" immediately followed by two upper case hexadecimal digits
//! ```
//!
//! Decoding is liberal where it costs nothing: lower-case hex digits are accepted, and so are
//! UTF-8 characters as themselves (RFC 6531 lets parameter values carry them).

/// Decodes `xtext`; `None` if it is malformed (a bad `+XX`, `=`, space or control character) or
/// decodes to bytes that are not UTF-8.
pub fn xtext_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                let hi = hex_value(*bytes.get(i + 1)?)?;
                let lo = hex_value(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'=' => return None,
            b @ (b'!'..=b'~' | 0x80..=0xff) => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

/// Encodes `s` as `xtext`: every byte that is not an `xchar` becomes `+XX` (upper-case hex).
pub fn xtext_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(char::from(b));
        } else {
            out.push('+');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3461_examples_decode() {
        assert_eq!(xtext_decode("e+3Dmc2").as_deref(), Some("e=mc2"));
        assert_eq!(
            xtext_decode("a+2Bb@example.org").as_deref(),
            Some("a+b@example.org")
        );
        assert_eq!(xtext_decode("+2b").as_deref(), Some("+"));
        assert_eq!(xtext_decode("").as_deref(), Some(""));
    }

    #[test]
    fn malformed_xtext_is_refused() {
        for bad in ["+", "+4", "+G0", "a=b", "a b", "a\tb", "+FF"] {
            assert_eq!(xtext_decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn encode_escapes_plus_equals_space_and_non_ascii() {
        assert_eq!(xtext_encode("a+b=c d"), "a+2Bb+3Dc+20d");
        assert_eq!(xtext_encode("é"), "+C3+A9");
        assert_eq!(xtext_encode("<>"), "<>");
    }

    #[test]
    fn encode_then_decode_is_identity() {
        for s in ["", "plain", "a+b=c d\r\n", "jörg@exämple", "\u{0}"] {
            assert_eq!(xtext_decode(&xtext_encode(s)).as_deref(), Some(s));
        }
    }
}
