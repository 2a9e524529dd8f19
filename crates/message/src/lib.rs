//! Protocol layer: the MIME structure scanner. Bytes of one RFC 5322 message in; the cached part
//! tree (offsets, sizes, line counts), ENVELOPE and BODYSTRUCTURE out.
//!
//! Owns: everything about the shape of a message. Must not: perform I/O or know about mailboxes.

mod cache;
mod part;

pub use cache::{CacheError, MessageCache};
pub use part::{Part, TransferEncoding};

/// Scans one message. Never panics; nesting deeper than [`MAX_DEPTH`] is treated as a leaf.
pub fn scan(raw: &[u8]) -> MessageCache {
    MessageCache::empty(raw.len() as u64)
}

/// Deepest MIME nesting the scanner descends into (Dovecot's limit is of the same order).
pub const MAX_DEPTH: usize = 100;

/// Why a part's body could not be content-transfer-decoded (RFC 3516 `UNKNOWN-CTE`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown content-transfer-encoding {0:?}")]
    UnknownEncoding(String),
    #[error("part span lies outside the message")]
    OutOfRange,
}

/// Content-transfer-decodes the body of `part` (for `BINARY[...]` / `BINARY.SIZE`).
pub fn decode_body(raw: &[u8], part: &Part) -> Result<Vec<u8>, DecodeError> {
    let _ = (raw, part);
    Err(DecodeError::OutOfRange)
}

/// Decodes RFC 2047 encoded words into UTF-8 (for SEARCH).
pub fn decode_header_value(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

/// Decoded UTF-8 text of every `text/*` part, for SEARCH BODY/TEXT.
pub fn text_for_search<'a>(
    raw: &'a [u8],
    cache: &'a MessageCache,
) -> impl Iterator<Item = String> + 'a {
    let _ = (raw, cache);
    std::iter::empty()
}

/// Parses an RFC 5322 date (with obsolete forms) into (unix seconds, offset minutes).
pub fn parse_date(value: &str) -> Option<(i64, i32)> {
    let _ = value;
    None
}
