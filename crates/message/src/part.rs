//! The cached part tree: byte spans of every MIME entity and the facts FETCH needs about it.
//!
//! Section spans (RFC 3501 §6.4.5 / RFC 9051 §6.4.5) for a part `p` returned by
//! [`MessageCache::part`](crate::MessageCache::part):
//! - `MIME`: `p.header_offset .. + p.header_len`;
//! - the part itself (`BODY[1.2]`, `BINARY[1.2]`): `p.body_offset .. + p.body_len`;
//! - `HEADER` / `TEXT` (top level, or a `message/rfc822` part): the header and body spans of
//!   the message entity, i.e. the root for `[]` and [`Part::message`] for a part.

/// `Content-Transfer-Encoding` (RFC 2045 §6.1), case-folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferEncoding {
    SevenBit,
    EightBit,
    Binary,
    Base64,
    QuotedPrintable,
    /// Any other token, upper-cased (as sent in BODYSTRUCTURE).
    Other(String),
}

impl TransferEncoding {
    /// Classifies an (upper-cased) mechanism token.
    pub fn from_token(token: &str) -> Self {
        match token.to_ascii_uppercase().as_str() {
            "7BIT" => TransferEncoding::SevenBit,
            "8BIT" => TransferEncoding::EightBit,
            "BINARY" => TransferEncoding::Binary,
            "BASE64" => TransferEncoding::Base64,
            "QUOTED-PRINTABLE" => TransferEncoding::QuotedPrintable,
            other => TransferEncoding::Other(other.to_owned()),
        }
    }

    /// The token as sent in `body-fld-enc`.
    pub fn as_token(&self) -> &str {
        match self {
            TransferEncoding::SevenBit => "7BIT",
            TransferEncoding::EightBit => "8BIT",
            TransferEncoding::Binary => "BINARY",
            TransferEncoding::Base64 => "BASE64",
            TransferEncoding::QuotedPrintable => "QUOTED-PRINTABLE",
            TransferEncoding::Other(t) => t,
        }
    }
}

/// One MIME entity. Offsets are absolute in the raw message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Start of this entity's MIME header (for the top level: the message header).
    pub header_offset: u64,
    /// Header length including the blank separator line, if there is one (0 when the part has
    /// no header at all).
    pub header_len: u64,
    pub body_offset: u64,
    pub body_len: u64,
    /// Line ends (LF) in the body: RFC 3501 `body-fld-lines`.
    pub body_lines: u64,
    /// Upper-case media type, e.g. `TEXT`.
    pub content_type: String,
    /// Upper-case subtype, e.g. `PLAIN`.
    pub subtype: String,
    pub encoding: TransferEncoding,
    /// The `charset` parameter, if any (as written).
    pub charset: Option<String>,
    /// Sub-parts of a multipart (never empty for a multipart; empty otherwise).
    pub children: Vec<Part>,
    /// For `message/rfc822`: the embedded message as an entity whose header is the embedded
    /// message header and whose body is the embedded message body.
    pub message: Option<Box<Part>>,
}

impl Part {
    pub fn is_multipart(&self) -> bool {
        self.content_type == "MULTIPART"
    }

    /// `message/rfc822`, whose body is an embedded message.
    pub fn is_message(&self) -> bool {
        self.content_type == "MESSAGE" && self.subtype == "RFC822"
    }

    /// The empty text/plain part both reference servers report for a multipart without any
    /// delimiter line.
    pub(crate) fn empty_text(at: u64) -> Part {
        Part {
            header_offset: at,
            header_len: 0,
            body_offset: at,
            body_len: 0,
            body_lines: 0,
            content_type: "TEXT".into(),
            subtype: "PLAIN".into(),
            encoding: TransferEncoding::SevenBit,
            charset: None,
            children: Vec::new(),
            message: None,
        }
    }
}
