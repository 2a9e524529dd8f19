//! Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).
//!
//! Printable US-ASCII except `&` stands for itself, `&` is written `&-`, and every other run of
//! characters is UTF-16, base64-encoded with `,` instead of `/` and no padding, between `&` and
//! `-`. Decoding refuses every form the RFC calls out or implies as invalid: 8-bit or control
//! bytes, an unterminated shift, bad base64, left-over bits that are not zero, printable ASCII or
//! a lone surrogate inside a shift, and two adjacent shifts (non-minimal encoding).

/// Why a name is not valid modified UTF-7.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Mutf7Error {
    #[error("byte {0:#04x} outside printable US-ASCII")]
    NotPrintable(u8),
    #[error("unterminated '&' shift")]
    Unterminated,
    #[error("invalid base64 character {0:?}")]
    BadBase64(char),
    #[error("base64 run does not end on a UTF-16 boundary")]
    BadLength,
    #[error("shift encodes printable US-ASCII")]
    EncodesAscii,
    #[error("invalid UTF-16 surrogate")]
    BadSurrogate,
    #[error("adjacent shifts (non-minimal encoding)")]
    NonMinimal,
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn is_printable(c: u32) -> bool {
    (0x20..=0x7e).contains(&c)
}

/// Encodes a UTF-8 name in modified UTF-7 (always the minimal form).
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_printable(u32::from(c)) {
            flush_shift(&mut out, &mut pending);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush_shift(&mut out, &mut pending);
    out
}

fn flush_shift(out: &mut String, units: &mut Vec<u16>) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let mut bits: u32 = 0;
    let mut nbits = 0;
    for unit in units.drain(..) {
        bits = (bits << 16) | u32::from(unit);
        nbits += 16;
        while nbits >= 6 {
            nbits -= 6;
            out.push(char::from(ALPHABET[((bits >> nbits) & 0x3f) as usize]));
        }
        bits &= (1 << nbits) - 1;
    }
    if nbits > 0 {
        out.push(char::from(
            ALPHABET[((bits << (6 - nbits)) & 0x3f) as usize],
        ));
    }
    out.push('-');
}

fn base64_value(b: u8) -> Result<u32, Mutf7Error> {
    match b {
        b'A'..=b'Z' => Ok(u32::from(b - b'A')),
        b'a'..=b'z' => Ok(u32::from(b - b'a') + 26),
        b'0'..=b'9' => Ok(u32::from(b - b'0') + 52),
        b'+' => Ok(62),
        b',' => Ok(63),
        other => Err(Mutf7Error::BadBase64(char::from(other))),
    }
}

/// Decodes a modified UTF-7 name to UTF-8, refusing invalid and non-minimal forms.
pub fn decode(wire: &[u8]) -> Result<String, Mutf7Error> {
    let mut out = String::with_capacity(wire.len());
    let mut i = 0;
    let mut last_shift_end = None;
    while i < wire.len() {
        let b = wire[i];
        if !is_printable(u32::from(b)) {
            return Err(Mutf7Error::NotPrintable(b));
        }
        if b != b'&' {
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let end = wire[i + 1..]
            .iter()
            .position(|&c| c == b'-')
            .map(|p| i + 1 + p)
            .ok_or(Mutf7Error::Unterminated)?;
        if end == i + 1 {
            out.push('&');
        } else {
            if last_shift_end == Some(i) {
                return Err(Mutf7Error::NonMinimal);
            }
            decode_shift(&wire[i + 1..end], &mut out)?;
            last_shift_end = Some(end + 1);
        }
        i = end + 1;
    }
    Ok(out)
}

fn decode_shift(b64: &[u8], out: &mut String) -> Result<(), Mutf7Error> {
    let mut units = Vec::with_capacity(b64.len() * 6 / 16);
    let mut bits: u32 = 0;
    let mut nbits = 0;
    for &b in b64 {
        bits = (bits << 6) | base64_value(b)?;
        nbits += 6;
        if nbits >= 16 {
            nbits -= 16;
            units.push(((bits >> nbits) & 0xffff) as u16);
            bits &= (1 << nbits) - 1;
        }
    }
    // RFC 3501 §5.1.3 / RFC 2152: at most 5 pad bits, and they must be zero.
    if nbits >= 6 || bits != 0 {
        return Err(Mutf7Error::BadLength);
    }
    for c in char::decode_utf16(units) {
        let c = c.map_err(|_| Mutf7Error::BadSurrogate)?;
        if is_printable(u32::from(c)) {
            return Err(Mutf7Error::EncodesAscii);
        }
        out.push(c);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3501 §5.1.3's example and RFC 2152-style cases.
    const KNOWN: &[(&str, &str)] = &[
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
        ("&", "&-"),
        ("Entwürfe", "Entw&APw-rfe"),
        ("INBOX", "INBOX"),
        ("a&b", "a&-b"),
        ("😀", "&2D3eAA-"),
        ("Ω&Ω", "&A6k-&-&A6k-"),
    ];

    #[test]
    fn rfc3501_examples_encode_and_decode() {
        for (utf8, wire) in KNOWN {
            assert_eq!(encode(utf8), *wire, "encode {utf8}");
            assert_eq!(
                decode(wire.as_bytes()).as_deref(),
                Ok(*utf8),
                "decode {wire}"
            );
        }
    }

    #[test]
    fn invalid_forms_are_refused() {
        let bad: &[(&str, Mutf7Error)] = &[
            ("&U,BTFw", Mutf7Error::Unterminated),
            ("a&", Mutf7Error::Unterminated),
            ("&AGE-", Mutf7Error::EncodesAscii),
            ("&U,BTFw-&ZeVnLIqe-", Mutf7Error::NonMinimal),
            ("&U,BTF-", Mutf7Error::BadLength),
            ("&U,BTFx-", Mutf7Error::BadLength),
            ("&U/BTFw-", Mutf7Error::BadBase64('/')),
            ("&2D0-", Mutf7Error::BadSurrogate),
            ("caf\u{e9}", Mutf7Error::NotPrintable(0xc3)),
            ("a\tb", Mutf7Error::NotPrintable(b'\t')),
        ];
        for (wire, err) in bad {
            assert_eq!(decode(wire.as_bytes()), Err(*err), "{wire}");
        }
    }
}
