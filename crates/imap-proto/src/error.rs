//! The one place syntax errors live: every reason a command is refused with `BAD` (or, for an
//! over-sized APPEND, `NO [TOOBIG]`) is a variant of [`ErrorKind`], whose `Display` is the human
//! reason the server puts in the response text.

use crate::command::Tag;
use crate::mutf7::Mutf7Error;

/// Why input was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("expected {0}")]
    Expected(&'static str),
    #[error("unknown command {0}")]
    UnknownCommand(String),
    #[error("line is longer than {max} bytes")]
    LineTooLong { max: usize },
    #[error("command is longer than {max} bytes")]
    CommandTooLong { max: usize },
    #[error("literal of {len} bytes is larger than {max}")]
    LiteralTooLarge { len: u64, max: u64 },
    /// RFC 7889: the server answers `NO [TOOBIG]` rather than `BAD`.
    #[error("message of {len} bytes is larger than the limit of {max}")]
    MessageTooBig { len: u64, max: u64 },
    #[error("literal size is not a valid number")]
    BadLiteralSize,
    #[error("non-synchronizing literal larger than 4096 bytes (LITERAL-)")]
    LiteralMinusExceeded,
    #[error("parentheses nested deeper than {max}")]
    NestingTooDeep { max: u32 },
    /// A client-controlled count past its bound (sequence-set items, section parts, ID
    /// fields).
    #[error("more than {max} {what}")]
    TooMany { what: &'static str, max: usize },
    /// A string past the length its rule allows (RFC 2971 ID fields and values).
    #[error("{what} longer than {max} octets")]
    TooLong { what: &'static str, max: usize },
    #[error("invalid modified UTF-7 mailbox name: {0}")]
    Mutf7(#[from] Mutf7Error),
    #[error("invalid flag: {0}")]
    Flag(String),
    #[error("invalid UTF-8")]
    InvalidUtf8,
    #[error("number out of range")]
    NumberOutOfRange,
    #[error("invalid base64")]
    InvalidBase64,
    #[error("unexpected characters after the end of the command")]
    Trailing,
    #[error("invalid date")]
    InvalidDate,
    #[error("NUL byte is not allowed here")]
    Nul,
    #[error("invalid tag")]
    InvalidTag,
    #[error("unknown {0}")]
    Unknown(&'static str),
    #[error("input is incomplete")]
    Incomplete,
    #[error("unexpected line while {0}")]
    UnexpectedLine(&'static str),
    /// Cyrus's UNDUMP stream broke its form (see [`crate::framer::UndumpEvent`]).
    #[error("invalid UNDUMP: {0}")]
    Undump(&'static str),
}

/// A refused command: the reason plus the tag when it could be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct ParseError {
    pub tag: Option<Tag>,
    pub kind: ErrorKind,
}

impl ParseError {
    pub fn new(tag: Option<Tag>, kind: ErrorKind) -> ParseError {
        ParseError { tag, kind }
    }

    /// True when the right answer is `NO [TOOBIG]` rather than `BAD` (RFC 7889).
    pub fn is_too_big(&self) -> bool {
        matches!(self.kind, ErrorKind::MessageTooBig { .. })
    }

    /// True when the command is well formed but names a mailbox that cannot exist: an astring
    /// that is not valid modified UTF-7 (RFC 3501 §5.1.3). The right answer is `NO`, as Cyrus
    /// and Dovecot give, not `BAD`: the client's syntax was fine, and a `BAD` makes clients
    /// such as mbsync take the session for broken.
    pub fn is_impossible_mailbox_name(&self) -> bool {
        matches!(self.kind, ErrorKind::Mutf7(_))
    }
}
