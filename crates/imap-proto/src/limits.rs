//! Resource limits and per-connection parse options the framer and parser enforce.

/// Which non-synchronising literal extension we advertise (RFC 7888).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralPlusMode {
    /// `LITERAL+`: `{N+}` of any size the other limits allow.
    LiteralPlus,
    /// `LITERAL-`: `{N+}` only up to 4096 bytes (RFC 7888 §4).
    LiteralMinus,
}

/// How mailbox names travel on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailboxEncoding {
    /// RFC 3501 §5.1.3 modified UTF-7 (IMAP4rev1 without UTF8=ACCEPT).
    ModifiedUtf7,
    /// RFC 9051 / RFC 6855: mailbox names are UTF-8 on the wire.
    Utf8,
}

/// Limits for one connection. Every byte the framer buffers is bounded by these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest line (between literals) in bytes, CRLF included.
    pub max_line: usize,
    /// Largest literal that is not an APPEND message (buffered in memory).
    pub max_literal: u64,
    /// Largest APPEND message literal (Cyrus `maxmessagesize`); streamed, never buffered.
    pub max_append_literal: u64,
    /// Largest whole command held in memory (lines plus buffered literals).
    pub max_command: usize,
    /// Deepest parenthesis nesting the parser follows (SEARCH, LIST options, ext values).
    pub max_nesting: u32,
    /// Which `{N+}` rule applies.
    pub literal_plus: LiteralPlusMode,
    /// A refused non-synchronising literal up to this size is read and thrown away; a larger
    /// one ends the connection ([`crate::FramerEvent::Fatal`]) — RFC 7888 §4 allows either.
    pub max_discard: u64,
}

/// RFC 7888 §4: the LITERAL- ceiling for non-synchronising literals.
pub const LITERAL_MINUS_MAX: u64 = 4096;

/// Most items one sequence set may hold. The line limit already bounds them (64 KiB of `1,`
/// is 32,768); this keeps the bound where a larger `maxline` cannot lift it. A client that
/// names many scattered UIDs stays far below (16,384 six-digit UIDs need 112 KiB).
pub const MAX_SEQUENCE_ITEMS: usize = 16_384;

/// Most part numbers in one section (`BODY[1.2.3…]`). The MIME scanner nests at most 100
/// levels, each a multipart and an embedded message, so deeper paths name nothing.
pub const MAX_SECTION_PARTS: usize = 256;

/// RFC 2971 §3.3: at most 30 ID field-value pairs, field names up to 30 octets, values up to
/// 1024 octets. The parser refuses more, so what a server logs of a client's ID stays small.
pub const ID_MAX_FIELDS: usize = 30;
pub const ID_MAX_FIELD_LEN: usize = 30;
pub const ID_MAX_VALUE_LEN: usize = 1024;

/// Before authentication a client needs room for LOGIN with a long password and an
/// AUTHENTICATE exchange (a Kerberos token in base64 is a few KiB), nothing more: these are
/// the allowances then (line and whole command, and any one literal).
pub const PRELOGIN_LINE: usize = 16 * 1024;
pub const PRELOGIN_LITERAL: u64 = 8 * 1024;

impl Limits {
    /// The limits before authentication: each no larger than the configured one nor than
    /// [`PRELOGIN_LINE`] / [`PRELOGIN_LITERAL`]. A refused non-synchronising literal past the
    /// literal allowance ends the connection instead of being read and thrown away, so an
    /// unauthenticated client can neither make the framer buffer much nor keep it reading.
    pub fn before_login(&self) -> Limits {
        let literal = self.max_literal.min(PRELOGIN_LITERAL);
        Limits {
            max_line: self.max_line.min(PRELOGIN_LINE),
            max_literal: literal,
            max_append_literal: self.max_append_literal.min(PRELOGIN_LITERAL),
            max_command: self.max_command.min(PRELOGIN_LINE),
            max_nesting: self.max_nesting,
            literal_plus: self.literal_plus,
            max_discard: self.max_discard.min(PRELOGIN_LITERAL),
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_line: 64 * 1024,
            max_literal: 64 * 1024,
            max_append_literal: 100 * 1024 * 1024,
            max_command: 1024 * 1024,
            max_nesting: 64,
            literal_plus: LiteralPlusMode::LiteralPlus,
            max_discard: 16 * 1024 * 1024,
        }
    }
}
