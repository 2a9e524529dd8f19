//! The per-message cache stored in the index, and its versioned binary encoding.

use crate::part::Part;

/// Why [`MessageCache::from_bytes`] refused its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    #[error("unsupported cache format version {0}")]
    Version(u8),
    #[error("cache record truncated")]
    Truncated,
    #[error("cache record malformed: {0}")]
    Malformed(&'static str),
}

/// Everything FETCH needs about one message without re-parsing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageCache {
    pub(crate) size: u64,
    pub(crate) header_len: u32,
    pub(crate) envelope: Vec<u8>,
    pub(crate) body: Vec<u8>,
    pub(crate) bodystructure: Vec<u8>,
    pub(crate) root: Part,
}

impl MessageCache {
    pub(crate) fn empty(size: u64) -> Self {
        let root = Part {
            header_offset: 0,
            header_len: 0,
            body_offset: 0,
            body_len: size,
            body_lines: 0,
            content_type: "TEXT".into(),
            subtype: "PLAIN".into(),
            encoding: crate::TransferEncoding::SevenBit,
            charset: None,
            children: Vec::new(),
            message: None,
        };
        MessageCache {
            size,
            header_len: 0,
            envelope: b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)".to_vec(),
            body: Vec::new(),
            bodystructure: Vec::new(),
            root,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        Vec::new()
    }

    pub fn from_bytes(b: &[u8]) -> Result<MessageCache, CacheError> {
        let _ = b;
        Err(CacheError::Truncated)
    }

    pub fn envelope(&self) -> &[u8] {
        &self.envelope
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub fn bodystructure(&self) -> &[u8] {
        &self.bodystructure
    }

    pub fn header_len(&self) -> u32 {
        self.header_len
    }

    /// RFC822.SIZE: octets of the whole message.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The entity for a section path (RFC 3501 §6.4.5); `[]` is the whole message.
    ///
    /// A non-multipart message body is part 1 of its message; the sub-parts of a
    /// `message/rfc822` part are numbered inside the embedded message. For a `message/rfc822`
    /// part, `HEADER`/`TEXT` are the spans of [`Part::message`]; `MIME` is the part's own header.
    pub fn part(&self, section: &[u32]) -> Option<&Part> {
        let mut cur = &self.root;
        // `at_message`: `cur` is a message (top level or embedded), not yet one of its parts.
        let mut at_message = true;
        for &n in section {
            if !at_message {
                if let Some(inner) = cur.message.as_deref() {
                    cur = inner;
                    at_message = true;
                }
            }
            if cur.is_multipart() {
                cur = cur.children.get((n as usize).checked_sub(1)?)?;
            } else if !(at_message && n == 1) {
                return None;
            }
            at_message = false;
        }
        Some(cur)
    }
}
