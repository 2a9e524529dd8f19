//! Protocol layer: the MIME structure scanner. Bytes of one RFC 5322 message in; the cached part
//! tree (offsets, sizes, line counts), ENVELOPE, BODY and BODYSTRUCTURE out, plus the decoding
//! helpers FETCH BINARY and SEARCH need.
//!
//! Owns: everything about the shape of a message. Must not: perform I/O or know about mailboxes.
//! Input is untrusted: nothing here panics on any byte sequence, and nesting is bounded by
//! [`MAX_DEPTH`]. Messages are expected with CRLF line ends (the store normalises them) but
//! bare LF is tolerated. A bare CR (kept by the store as sent) is an ordinary octet, never a
//! line end: lines are counted and split at LF only.

mod address;
mod address_search;
mod bodystructure;
mod cache;
mod date;
mod decode;
mod envelope;
mod header;
mod imapstr;
mod params;
mod part;
mod scan;
mod stream;
mod transfer;

pub use address::{parse_list as parse_address_list, Address, MISSING_DOMAIN};
pub use address_search::address_search_form;
pub use cache::{CacheError, MessageCache, SectionSpans};
pub use date::parse_date;
pub use decode::{
    decode_body, decode_header_value, text_for_search, text_in_charset, to_utf8, DecodeError,
};
pub use header::{fields as header_fields, header_len, unfold, Field};
pub use part::{Part, TransferEncoding};
pub use stream::{Scanned, StreamScan, MAX_BOUNDARY, STREAM_SCAN_BUDGET};
pub use transfer::{Decoder, MAX_QP_PENDING};

/// Deepest MIME nesting (multipart or message/rfc822 levels) the scanner descends into; deeper
/// containers are reported as text/plain leaves.
pub const MAX_DEPTH: usize = 100;

/// Most MIME entities one message may have (Dovecot's default limit too); past it, further
/// delimiters are ignored and containers are reported as text/plain leaves.
pub const MAX_PARTS: usize = 10_000;

/// Scans one message. Never panics.
pub fn scan(raw: &[u8]) -> MessageCache {
    MessageCache::build(raw)
}

/// The MIME tree of one message alone, as [`scan`] finds it, without the IMAP ENVELOPE and
/// BODYSTRUCTURE texts a [`MessageCache`] also writes: for readers that only walk the parts
/// (Sieve's `body` test). Never panics.
pub fn structure(raw: &[u8]) -> Part {
    scan::entity(raw, 0, raw.len(), 0, scan::DefaultType::TextPlain)
}
