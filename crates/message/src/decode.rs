//! Content-transfer decoding (RFC 2045 §6.7, §6.8) for BINARY (RFC 3516), RFC 2047 header
//! decoding and charset conversion for SEARCH.
//!
//! Transfer decoding itself is [`crate::Decoder`] (streaming, lenient as RFC 2045 asks); here it
//! is applied to a whole part in memory. Only an unknown mechanism is an error (IMAP answers
//! `[UNKNOWN-CTE]`).

use crate::cache::MessageCache;
use crate::part::Part;
use crate::transfer::Decoder;

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
    let mut decoder = Decoder::new(&part.encoding)?;
    let mut out = Vec::with_capacity(body.len());
    decoder.feed(body, &mut out);
    decoder.finish(&mut out);
    Ok(out)
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
pub fn to_utf8(bytes: &[u8], charset: Option<&str>) -> String {
    text_in_charset(bytes, charset).into_owned()
}

/// [`to_utf8`] borrowing `bytes` when they are already valid UTF-8 in a UTF-8 (or ASCII, or
/// unknown) charset, so that a reader of plain text copies nothing.
pub fn text_in_charset<'a>(bytes: &'a [u8], charset: Option<&str>) -> std::borrow::Cow<'a, str> {
    let encoding = charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.trim().as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(bytes);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words_decode() {
        assert_eq!(
            decode_header_value(b"=?iso-8859-1?Q?d=E9j=E0?= vu"),
            "déjà vu"
        );
        assert_eq!(decode_header_value(b"=?utf-8?B?w7xiZXI=?="), "über");
    }
}
