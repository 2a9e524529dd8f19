//! The cached part tree: byte spans of every MIME entity and the facts FETCH needs about it.

/// `Content-Transfer-Encoding` (RFC 2045 §6.1), case-folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferEncoding {
    SevenBit,
    EightBit,
    Binary,
    Base64,
    QuotedPrintable,
    /// Any other token, lower-cased.
    Other(String),
}

/// One MIME entity. Offsets are absolute in the raw message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Start of this entity's MIME header (for the top level: the message header).
    pub header_offset: u64,
    /// Header length including the blank separator line (0 when the part has no header).
    pub header_len: u64,
    pub body_offset: u64,
    pub body_len: u64,
    /// Lines in the body (RFC 3501 body-fld-lines).
    pub body_lines: u64,
    /// Upper-case media type, e.g. `TEXT`.
    pub content_type: String,
    /// Upper-case subtype, e.g. `PLAIN`.
    pub subtype: String,
    pub encoding: TransferEncoding,
    /// The `charset` parameter, if any (as written).
    pub charset: Option<String>,
    /// Sub-parts of a multipart (empty otherwise).
    pub children: Vec<Part>,
    /// For `message/rfc822` (and `message/global`): the embedded message as an entity whose header
    /// is the embedded message header and whose body is the embedded message body.
    pub message: Option<Box<Part>>,
}

impl Part {
    pub fn is_multipart(&self) -> bool {
        self.content_type == "MULTIPART"
    }
}
