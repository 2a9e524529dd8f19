//! Internal mailbox names, Cyrus style: hierarchy levels separated by `.`, a user's mailboxes
//! under `user.NAME`. Names are kept in UTF-8; the protocol crates convert to and from the wire
//! forms (modified UTF-7, the `/` separator, the INBOX alias).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The internal hierarchy separator.
pub const SEPARATOR: char = '.';

/// Cyrus's `MAX_MAILBOX_NAME`: the longest internal name in bytes.
pub const MAX_LEN: usize = 490;

/// A valid internal mailbox name such as `user.alice.Sent` or `shared.news`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MailboxName(String);

#[derive(Debug, PartialEq, Eq)]
pub enum MailboxNameError {
    Empty,
    TooLong,
    EmptyLevel,
    BadChar(char),
}

impl fmt::Display for MailboxNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailboxNameError::Empty => f.write_str("mailbox name is empty"),
            MailboxNameError::TooLong => write!(f, "mailbox name is longer than {MAX_LEN} bytes"),
            MailboxNameError::EmptyLevel => {
                f.write_str("mailbox name has an empty hierarchy level")
            }
            MailboxNameError::BadChar(c) => {
                write!(f, "character {c:?} is not allowed in a mailbox name")
            }
        }
    }
}

impl std::error::Error for MailboxNameError {}

impl MailboxName {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hierarchy levels, top first.
    pub fn levels(&self) -> impl Iterator<Item = &str> {
        self.0.split(SEPARATOR)
    }

    /// The parent, or `None` for a top-level name.
    pub fn parent(&self) -> Option<MailboxName> {
        self.0
            .rfind(SEPARATOR)
            .map(|i| MailboxName(self.0[..i].to_string()))
    }

    /// A child of this name; fails when `level` is not a valid single level.
    pub fn child(&self, level: &str) -> Result<MailboxName, MailboxNameError> {
        if level.contains(SEPARATOR) {
            return Err(MailboxNameError::BadChar(SEPARATOR));
        }
        MailboxName::try_from(format!("{}{SEPARATOR}{level}", self.0))
    }

    /// True when `self` is `other` or lies below it in the hierarchy.
    pub fn is_within(&self, other: &MailboxName) -> bool {
        self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0[other.0.len()..].starts_with(SEPARATOR))
    }

    /// `user.NAME` → `Some("NAME")` for a user's INBOX and everything below it.
    pub fn owner_user(&self) -> Option<&str> {
        let rest = self.0.strip_prefix("user.")?;
        Some(rest.split(SEPARATOR).next().unwrap_or(rest))
    }

    /// The hierarchy owner: `user.NAME` for personal mailboxes, the top level otherwise.
    pub fn hierarchy_root(&self) -> MailboxName {
        let mut levels = self.0.split(SEPARATOR);
        let top = levels.next().unwrap_or("");
        match (top, levels.next()) {
            ("user", Some(user)) => MailboxName(format!("user{SEPARATOR}{user}")),
            _ => MailboxName(top.to_string()),
        }
    }

    /// The INBOX of user `user`.
    pub fn user_inbox(user: &str) -> Result<MailboxName, MailboxNameError> {
        MailboxName::try_from(format!("user{SEPARATOR}{user}"))
    }
}

impl TryFrom<String> for MailboxName {
    type Error = MailboxNameError;

    fn try_from(name: String) -> Result<MailboxName, MailboxNameError> {
        if name.is_empty() {
            return Err(MailboxNameError::Empty);
        }
        if name.len() > MAX_LEN {
            return Err(MailboxNameError::TooLong);
        }
        if name.split(SEPARATOR).any(str::is_empty) {
            return Err(MailboxNameError::EmptyLevel);
        }
        // Wildcards would make LIST patterns ambiguous; controls and DEL are never printable.
        if let Some(c) = name
            .chars()
            .find(|c| c.is_control() || matches!(c, '*' | '%'))
        {
            return Err(MailboxNameError::BadChar(c));
        }
        Ok(MailboxName(name))
    }
}

impl TryFrom<&str> for MailboxName {
    type Error = MailboxNameError;

    fn try_from(name: &str) -> Result<MailboxName, MailboxNameError> {
        MailboxName::try_from(name.to_string())
    }
}

impl From<MailboxName> for String {
    fn from(name: MailboxName) -> String {
        name.0
    }
}

impl fmt::Display for MailboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> MailboxName {
        MailboxName::try_from(s).unwrap()
    }

    #[test]
    fn empty_levels_are_refused() {
        assert_eq!(
            MailboxName::try_from("a..b"),
            Err(MailboxNameError::EmptyLevel)
        );
        assert_eq!(
            MailboxName::try_from(".a"),
            Err(MailboxNameError::EmptyLevel)
        );
        assert_eq!(
            MailboxName::try_from("a."),
            Err(MailboxNameError::EmptyLevel)
        );
    }

    #[test]
    fn wildcards_and_controls_are_refused() {
        assert_eq!(
            MailboxName::try_from("a*"),
            Err(MailboxNameError::BadChar('*'))
        );
        assert_eq!(
            MailboxName::try_from("a\tb"),
            Err(MailboxNameError::BadChar('\t'))
        );
    }

    #[test]
    fn hierarchy_root_is_the_user_or_the_top_level() {
        assert_eq!(
            name("user.alice.Sent.2024").hierarchy_root(),
            name("user.alice")
        );
        assert_eq!(name("user.alice").hierarchy_root(), name("user.alice"));
        assert_eq!(name("shared.news.x").hierarchy_root(), name("shared"));
        assert_eq!(name("user.alice.Sent").owner_user(), Some("alice"));
        assert_eq!(name("shared").owner_user(), None);
    }

    #[test]
    fn is_within_respects_level_boundaries() {
        assert!(name("user.alice.Sent").is_within(&name("user.alice")));
        assert!(!name("user.alicia").is_within(&name("user.alice")));
        assert_eq!(name("user.alice.Sent").parent(), Some(name("user.alice")));
    }
}
