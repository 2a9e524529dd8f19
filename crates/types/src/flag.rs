//! Message flags: the system flags of RFC 9051 §2.3.2 and keywords.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A message flag. Keywords are atoms (RFC 9051 §9 `flag-keyword`), compared case-insensitively
/// as IMAP requires but stored with the spelling first seen.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Flag {
    Seen,
    Answered,
    Flagged,
    Deleted,
    Draft,
    Keyword(String),
}

#[derive(Debug, PartialEq, Eq)]
pub enum FlagError {
    Empty,
    BadChar(char),
    SystemFlagUnknown(String),
    TooLong,
}

impl fmt::Display for FlagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagError::Empty => f.write_str("empty flag"),
            FlagError::BadChar(c) => write!(f, "character {c:?} is not allowed in a flag"),
            FlagError::SystemFlagUnknown(s) => write!(f, "unknown system flag {s}"),
            FlagError::TooLong => f.write_str("flag is too long"),
        }
    }
}

impl std::error::Error for FlagError {}

/// Longest keyword we accept; Cyrus and Dovecot both cap keyword length well below this.
pub const MAX_KEYWORD_LEN: usize = 250;

impl Flag {
    /// Parses a flag as written by a client: `\Seen` etc. (case-insensitive), or a keyword atom.
    /// `\Recent` is not a storable flag and is refused here.
    pub fn parse(text: &str) -> Result<Flag, FlagError> {
        if text.is_empty() {
            return Err(FlagError::Empty);
        }
        if let Some(name) = text.strip_prefix('\\') {
            return match name.to_ascii_lowercase().as_str() {
                "seen" => Ok(Flag::Seen),
                "answered" => Ok(Flag::Answered),
                "flagged" => Ok(Flag::Flagged),
                "deleted" => Ok(Flag::Deleted),
                "draft" => Ok(Flag::Draft),
                _ => Err(FlagError::SystemFlagUnknown(text.to_string())),
            };
        }
        if text.len() > MAX_KEYWORD_LEN {
            return Err(FlagError::TooLong);
        }
        // RFC 9051 §9: atom-char excludes atom-specials ( ) { SP CTL % * " \ ]
        if let Some(c) = text.chars().find(|c| !is_atom_char(*c)) {
            return Err(FlagError::BadChar(c));
        }
        Ok(Flag::Keyword(text.to_string()))
    }

    pub fn is_system(&self) -> bool {
        !matches!(self, Flag::Keyword(_))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Flag::Seen => "\\Seen",
            Flag::Answered => "\\Answered",
            Flag::Flagged => "\\Flagged",
            Flag::Deleted => "\\Deleted",
            Flag::Draft => "\\Draft",
            Flag::Keyword(k) => k,
        }
    }
}

fn is_atom_char(c: char) -> bool {
    c.is_ascii() && !c.is_ascii_control() && !"(){ %*\"\\]".contains(c)
}

impl PartialEq for Flag {
    fn eq(&self, other: &Flag) -> bool {
        match (self, other) {
            (Flag::Keyword(a), Flag::Keyword(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl Eq for Flag {}

impl std::hash::Hash for Flag {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Flag::Keyword(k) => {
                5u8.hash(state);
                for b in k.bytes() {
                    b.to_ascii_lowercase().hash(state);
                }
            }
            other => std::mem::discriminant(other).hash(state),
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_flags_parse_case_insensitively() {
        assert_eq!(Flag::parse("\\SEEN").ok(), Some(Flag::Seen));
        assert_eq!(Flag::parse("\\draft").ok(), Some(Flag::Draft));
    }

    #[test]
    fn recent_is_not_storable() {
        assert!(matches!(
            Flag::parse("\\Recent"),
            Err(FlagError::SystemFlagUnknown(_))
        ));
    }

    #[test]
    fn keywords_compare_case_insensitively() {
        assert_eq!(Flag::parse("$Junk").ok(), Flag::parse("$junk").ok());
    }

    #[test]
    fn keywords_refuse_atom_specials() {
        assert!(matches!(Flag::parse("a b"), Err(FlagError::BadChar(' '))));
        assert!(matches!(Flag::parse("a]"), Err(FlagError::BadChar(']'))));
    }
}
