//! The one place syntax errors live. A [`ParseError`] already carries its reply code and RFC 3463
//! enhanced status code, so the server answers every refused line through [`ParseError::reply`].

use crate::reply::{codes, Reply};

/// A command line refused before any handler runs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code} {enhanced} {message}")]
pub struct ParseError {
    /// 500: unknown command or line garbage; 501: bad arguments; 502: a command RFC 5321 defines
    /// but LMTP here does not implement (EXPN, TURN, BURL, …).
    pub code: u16,
    /// The enhanced status code, e.g. `"5.5.2"`, `"5.5.4"`, `"5.1.3"`, `"5.1.7"`.
    pub enhanced: &'static str,
    /// Human-readable reason, used as the reply text.
    pub message: String,
}

impl ParseError {
    /// The reply the server sends for this error.
    pub fn reply(&self) -> Reply {
        Reply::new(self.code, self.enhanced, self.message.clone())
    }

    /// 500 5.5.2: an unknown verb, or a line that is not a command at all.
    pub(crate) fn garbage(message: impl Into<String>) -> Self {
        Self::with(500, codes::SYNTAX_ERROR, message)
    }

    /// 501 5.5.4: a known command with arguments it does not accept.
    pub(crate) fn arguments(message: impl Into<String>) -> Self {
        Self::with(501, codes::INVALID_ARGUMENTS, message)
    }

    /// 501 5.5.2: arguments that are not even text (invalid UTF-8).
    pub(crate) fn argument_syntax(message: impl Into<String>) -> Self {
        Self::with(501, codes::SYNTAX_ERROR, message)
    }

    /// 501 5.1.7: an unreadable reverse-path.
    pub(crate) fn sender(message: impl Into<String>) -> Self {
        Self::with(501, codes::BAD_SENDER_SYNTAX, message)
    }

    /// 501 5.1.3: an unreadable forward-path.
    pub(crate) fn recipient(message: impl Into<String>) -> Self {
        Self::with(501, codes::BAD_DESTINATION_SYNTAX, message)
    }

    /// 502 5.5.1: RFC 5321 §4.2.4, a command recognised but not implemented.
    pub(crate) fn not_implemented(verb: &str) -> Self {
        Self::with(
            502,
            codes::INVALID_COMMAND,
            format!("{verb} command not implemented"),
        )
    }

    fn with(code: u16, enhanced: &'static str, message: impl Into<String>) -> Self {
        ParseError {
            code,
            enhanced,
            message: message.into(),
        }
    }
}
