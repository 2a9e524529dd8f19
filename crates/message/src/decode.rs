//! Content-transfer decoding (RFC 2045 §6.7, §6.8) for BINARY (RFC 3516), RFC 2047 header
//! decoding and charset conversion for SEARCH.
//!
//! Decoding is lenient as RFC 2045 asks of decoders: base64 ignores characters outside its
//! alphabet (and stray `=`), quoted-printable keeps malformed `=` sequences literally. Only an
//! unknown mechanism is an error (IMAP answers `[UNKNOWN-CTE]`).

use crate::cache::MessageCache;
use crate::part::{Part, TransferEncoding};

/// Why a part's body could not be content-transfer-decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// RFC 3516 §4.2 `UNKNOWN-CTE`.
    #[error("unknown content-transfer-encoding {0:?}")]
    UnknownEncoding(String),
    /// The part does not lie within `raw` (a cache that does not belong to the message).
    #[error("part span lies outside the message")]
    OutOfRange,
}

/// Content-transfer-decodes the body of `part` (for `BINARY[...]` / `BINARY.SIZE`).
pub fn decode_body(raw: &[u8], part: &Part) -> Result<Vec<u8>, DecodeError> {
    let start = usize::try_from(part.body_offset).map_err(|_| DecodeError::OutOfRange)?;
    let len = usize::try_from(part.body_len).map_err(|_| DecodeError::OutOfRange)?;
    let end = start.checked_add(len).ok_or(DecodeError::OutOfRange)?;
    let body = raw.get(start..end).ok_or(DecodeError::OutOfRange)?;
    match &part.encoding {
        TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary => {
            Ok(body.to_vec())
        }
        TransferEncoding::Base64 => Ok(base64(body)),
        TransferEncoding::QuotedPrintable => Ok(quoted_printable(body)),
        TransferEncoding::Other(t) => Err(DecodeError::UnknownEncoding(t.clone())),
    }
}

/// RFC 2045 §6.8, leniently: every non-alphabet octet (including `=`) is skipped and a trailing
/// partial quantum is dropped, as Cyrus does.
fn base64(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in body {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// RFC 2045 §6.7: `=XX` escapes, soft line breaks, transport whitespace before a line end removed.
fn quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut pos = 0;
    while pos < body.len() {
        let end = crate::header::line_end(body, pos);
        let line = &body[pos..end];
        let (content, eol) = match line.strip_suffix(b"\r\n") {
            Some(c) => (c, &b"\r\n"[..]),
            None => match line.strip_suffix(b"\n") {
                Some(c) => (c, &b"\n"[..]),
                None => (line, &b""[..]),
            },
        };
        let content = crate::header::trim_wsp_end(content);
        let (content, soft) = match content.strip_suffix(b"=") {
            Some(c) => (c, true),
            None => (content, false),
        };
        let mut i = 0;
        while i < content.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if content[i] == b'=' {
                if let (Some(h), Some(l)) = (
                    content.get(i + 1).and_then(|&b| hex(b)),
                    content.get(i + 2).and_then(|&b| hex(b)),
                ) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
            }
            out.push(content[i]);
            i += 1;
        }
        if !soft {
            out.extend_from_slice(eol);
        }
        pos = end;
    }
    out
}

/// Decodes RFC 2047 encoded words (and unfolds) into UTF-8, for SEARCH.
pub fn decode_header_value(raw: &[u8]) -> String {
    let mut line = b"X: ".to_vec();
    line.extend_from_slice(raw);
    match mailparse::parse_header(&line) {
        Ok((header, _)) => header.get_value(),
        Err(_) => String::from_utf8_lossy(raw).into_owned(),
    }
}

/// Decoded UTF-8 text of every `text/*` part (including inside embedded messages), for SEARCH
/// BODY/TEXT. Undecodable parts are searched as they are stored.
pub fn text_for_search<'a>(
    raw: &'a [u8],
    cache: &'a MessageCache,
) -> impl Iterator<Item = String> + 'a {
    let mut leaves = Vec::new();
    if let Some(root) = cache.part(&[]) {
        text_leaves(root, &mut leaves);
    }
    leaves.into_iter().map(move |part| {
        let bytes = decode_body(raw, part).unwrap_or_else(|_| {
            let start = (part.body_offset as usize).min(raw.len());
            let end = start.saturating_add(part.body_len as usize).min(raw.len());
            raw[start..end].to_vec()
        });
        to_utf8(&bytes, part.charset.as_deref())
    })
}

fn text_leaves<'a>(part: &'a Part, out: &mut Vec<&'a Part>) {
    if let Some(inner) = part.message.as_deref() {
        text_leaves(inner, out);
    } else if part.is_multipart() {
        for c in &part.children {
            text_leaves(c, out);
        }
    } else if part.content_type == "TEXT" {
        out.push(part);
    }
}

/// Converts `bytes` from `charset` (default us-ascii, read as UTF-8 since that is its superset
/// in practice) with `encoding_rs`; unknown charsets are read as lossy UTF-8.
fn to_utf8(bytes: &[u8], charset: Option<&str>) -> String {
    let encoding = charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.trim().as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(bytes);
    text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_skips_garbage_like_cyrus() {
        assert_eq!(base64(b"SGVsbG8gd29ybGQ\r\nSGk=SGk\r\n").len(), 15);
        assert_eq!(base64(b"SGVs bG8*\r\nIHdv!cmxk\r\nCg==\r\n").len(), 12);
        assert_eq!(base64(b"SGVs\r\nbG8g\r\nd29y bGQK"), b"Hello world\n");
    }

    #[test]
    fn quoted_printable_soft_breaks_and_escapes() {
        assert_eq!(
            quoted_printable(b"a=\r\nb=3D=20 \r\nc=E9=\r\n"),
            b"ab= \r\nc\xe9"
        );
        assert_eq!(quoted_printable(b"bad=ZZ=\n"), b"bad=ZZ");
    }

    #[test]
    fn encoded_words_decode() {
        assert_eq!(
            decode_header_value(b"=?iso-8859-1?Q?d=E9j=E0?= vu"),
            "déjà vu"
        );
        assert_eq!(decode_header_value(b"=?utf-8?B?w7xiZXI=?="), "über");
    }
}
