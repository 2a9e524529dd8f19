//! The encodings a realistic message needs: base64 (RFC 2045 §6.8), quoted-printable
//! (RFC 2045 §6.7), RFC 2047 encoded words and RFC 5322 dates.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Base64 in lines of 76 characters, each ending in CRLF.
pub fn base64_lines(data: &[u8]) -> String {
    let flat = base64(data);
    let mut out = String::with_capacity(flat.len() + flat.len() / 38 + 2);
    for line in flat.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push_str("\r\n");
    }
    out
}

/// `=?utf-8?B?…?=`
pub fn encoded_word(text: &str) -> String {
    format!("=?utf-8?B?{}?=", base64(text.as_bytes()))
}

/// Quoted-printable of CRLF-separated text, lines of at most 76 characters (soft breaks `=`).
pub fn quoted_printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 11 / 10);
    for line in text.split("\r\n") {
        let mut col = 0;
        let bytes = line.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            let literal = (b == b' ' && !last) || (b.is_ascii_graphic() && b != b'=');
            let piece = if literal {
                (b as char).to_string()
            } else {
                format!("={b:02X}")
            };
            if col + piece.len() > 75 {
                out.push_str("=\r\n");
                col = 0;
            }
            col += piece.len();
            out.push_str(&piece);
        }
        out.push_str("\r\n");
    }
    // `split` yields a last empty piece after a final CRLF: drop its extra CRLF.
    if text.ends_with("\r\n") {
        out.truncate(out.len() - 2);
    }
    out
}

pub(crate) use types::civil::rfc5322_date;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_767_225_600),
            "Thu, 01 Jan 2026 00:00:00 +0000"
        );
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn quoted_printable_escapes_and_wraps() {
        let qp = quoted_printable("café = ok \r\n");
        assert_eq!(qp, "caf=C3=A9 =3D ok=20\r\n");
        let long = "x".repeat(200);
        assert!(quoted_printable(&long).lines().all(|l| l.len() <= 76));
    }
}
