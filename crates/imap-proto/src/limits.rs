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
