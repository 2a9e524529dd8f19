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

    /// Where the local part starts: after `DOMAIN!` for a name of a virtual domain, else 0.
    fn local_start(&self) -> usize {
        domain_end(&self.0).map_or(0, |i| i + 1)
    }

    /// The virtual domain of `example.com!user.alice` (`example.com`); `None` for a name of
    /// the default domain (no `!`, or what precedes it is not a domain name).
    pub fn domain(&self) -> Option<&str> {
        domain_end(&self.0).map(|i| &self.0[..i])
    }

    /// The name within its domain: `user.alice` for `example.com!user.alice`; empty for a
    /// domain's root `example.com!`.
    pub fn local(&self) -> &str {
        &self.0[self.local_start()..]
    }

    /// Whether this is a whole domain, `example.com!`: a quota root, never a mailbox.
    pub fn is_domain_root(&self) -> bool {
        self.domain().is_some() && self.local().is_empty()
    }

    /// The root of a domain, `example.com!`, as a quota root names it; `None` when `domain`
    /// is not a domain name.
    pub fn domain_root(domain: &str) -> Option<MailboxName> {
        crate::domain::is_domain_name(domain).then(|| MailboxName(format!("{domain}!")))
    }

    /// `local` (a name of the default domain) placed in `domain`; `None` keeps it as it is.
    /// A name holding a `!` has no place in a domain.
    pub fn in_domain(&self, domain: Option<&str>) -> Result<MailboxName, MailboxNameError> {
        match domain {
            None => Ok(self.clone()),
            Some(_) if self.local().contains('!') => Err(MailboxNameError::BadChar('!')),
            Some(d) => MailboxName::try_from(format!("{d}!{}", self.local())),
        }
    }

    /// The same name without its domain (a name of the default domain).
    pub fn without_domain(&self) -> Option<MailboxName> {
        (!self.local().is_empty()).then(|| MailboxName(self.local().to_string()))
    }

    /// What every name strictly below this one starts with: `NAME.`, or `example.com!` for a
    /// domain's root.
    pub fn below_prefix(&self) -> String {
        if self.is_domain_root() {
            self.0.clone()
        } else {
            format!("{}{SEPARATOR}", self.0)
        }
    }

    /// The hierarchy levels of the local part, top first.
    pub fn levels(&self) -> impl Iterator<Item = &str> {
        self.local().split(SEPARATOR).filter(|l| !l.is_empty())
    }

    /// The parent within the domain, or `None` for a top-level name (and a domain's root).
    pub fn parent(&self) -> Option<MailboxName> {
        let start = self.local_start();
        self.0[start..]
            .rfind(SEPARATOR)
            .map(|i| MailboxName(self.0[..start + i].to_string()))
    }

    /// A child of this name; fails when `level` is not a valid single level.
    pub fn child(&self, level: &str) -> Result<MailboxName, MailboxNameError> {
        if level.contains(SEPARATOR) {
            return Err(MailboxNameError::BadChar(SEPARATOR));
        }
        MailboxName::try_from(format!("{}{level}", self.below_prefix()))
    }

    /// True when `self` is `other` or lies below it in the hierarchy (everything of a domain
    /// lies below its root `example.com!`).
    pub fn is_within(&self, other: &MailboxName) -> bool {
        self.domain() == other.domain()
            && (self.0 == other.0 || self.0.starts_with(&other.below_prefix()))
    }

    /// `user.NAME` → `Some("NAME")` for a user's INBOX and everything below it, in any domain
    /// (the level as stored: the userid is [`crate::Domains::qualify`]'d with [`Self::domain`]).
    pub fn owner_user(&self) -> Option<&str> {
        let rest = self.local().strip_prefix("user.")?;
        Some(rest.split(SEPARATOR).next().unwrap_or(rest))
    }

    /// The hierarchy owner: `user.NAME` for personal mailboxes, the top level otherwise (with
    /// the domain, if any); a domain's root is its own.
    pub fn hierarchy_root(&self) -> MailboxName {
        let start = self.local_start();
        let mut levels = self.0[start..].split(SEPARATOR);
        let top = levels.next().unwrap_or("");
        let prefix = &self.0[..start];
        match (top, levels.next()) {
            ("user", Some(user)) => MailboxName(format!("{prefix}user{SEPARATOR}{user}")),
            _ => MailboxName(format!("{prefix}{top}")),
        }
    }

    /// The INBOX of user `user` (in the default domain).
    pub fn user_inbox(user: &str) -> Result<MailboxName, MailboxNameError> {
        MailboxName::try_from(format!("user{SEPARATOR}{user}"))
    }
}

/// The index of the `!` ending a name's domain: the only `!`, when what precedes it is a
/// domain name. A name whose `!` follows anything else, or that holds a second one (a name
/// stored before virtual domains existed), has no domain and stays an ordinary name.
fn domain_end(name: &str) -> Option<usize> {
    let i = name.find('!')?;
    (crate::domain::is_domain_name(&name[..i]) && !name[i + 1..].contains('!')).then_some(i)
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
        // A domain's root (`example.com!`) has no levels; any other name no empty one.
        let empty_level = match domain_end(&name) {
            Some(i) => {
                let local = &name[i + 1..];
                !local.is_empty() && local.split(SEPARATOR).any(str::is_empty)
            }
            None => name.split(SEPARATOR).any(str::is_empty),
        };
        if empty_level {
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
    fn names_of_a_domain_keep_it_through_the_hierarchy() {
        let n = name("example.com!user.alice.Sent");
        assert_eq!(n.domain(), Some("example.com"));
        assert_eq!(n.local(), "user.alice.Sent");
        assert_eq!(n.owner_user(), Some("alice"));
        assert_eq!(n.hierarchy_root(), name("example.com!user.alice"));
        assert_eq!(n.parent(), Some(name("example.com!user.alice")));
        assert_eq!(name("example.com!shared").parent(), None);
        assert_eq!(
            name("example.com!shared.news").hierarchy_root(),
            name("example.com!shared")
        );
        assert_eq!(n.levels().collect::<Vec<_>>(), ["user", "alice", "Sent"]);
        let root = MailboxName::domain_root("example.com").unwrap();
        assert!(root.is_domain_root() && root.parent().is_none());
        assert!(n.is_within(&root));
        assert!(!name("example.comx!user.a").is_within(&root));
        assert!(!name("user.alice").is_within(&root));
        assert!(!n.is_within(&name("example")));
        assert_eq!(root.child("shared").unwrap(), name("example.com!shared"));
        assert_eq!(
            name("user.alice").in_domain(Some("x.org")).unwrap(),
            name("x.org!user.alice")
        );
        assert_eq!(n.without_domain(), Some(name("user.alice.Sent")));
        // What is not a domain name before the `!` leaves an ordinary name.
        assert_eq!(name("a b!c").domain(), None);
        assert_eq!(name("a b!c").local(), "a b!c");
        assert_eq!(name("a!b!c").domain(), None, "a second `!`: no domain");
        assert_eq!(
            name("a b!c").in_domain(Some("x.org")),
            Err(MailboxNameError::BadChar('!'))
        );
        assert_eq!(
            MailboxName::try_from("example.com!.x"),
            Err(MailboxNameError::EmptyLevel)
        );
        assert_eq!(
            MailboxName::try_from("example.com!x."),
            Err(MailboxNameError::EmptyLevel)
        );
    }

    proptest::proptest! {
        /// Whatever a name holds (dots, a `!`, `@`, domain-like text), a valid one keeps its
        /// domain through the hierarchy and lies within its parent, its owner and its domain.
        /// (A name with two `!` is an ordinary name from before domains; its parents may read
        /// as a domain's, so it is not generated here.)
        #[test]
        fn a_valid_name_stays_in_its_domain_through_the_hierarchy(
            text in "[a-c.@-]{0,8}(![a-c.@-]{0,8})?"
        ) {
            if let Ok(name) = MailboxName::try_from(text.as_str()) {
                let root = name.hierarchy_root();
                proptest::prop_assert!(name.is_within(&root), "{} in {}", name, root);
                proptest::prop_assert_eq!(root.domain(), name.domain());
                if let Some(parent) = name.parent() {
                    proptest::prop_assert!(name.is_within(&parent));
                    proptest::prop_assert_eq!(parent.domain(), name.domain());
                }
                if let Some(domain) = name.domain() {
                    let whole = MailboxName::domain_root(domain).unwrap();
                    proptest::prop_assert!(name.is_within(&whole));
                    if let Some(local) = name.without_domain() {
                        proptest::prop_assert_eq!(local.in_domain(Some(domain)).unwrap(), name.clone());
                        proptest::prop_assert!(!name.is_within(&local) || local == name);
                    }
                }
            }
        }
    }

    #[test]
    fn is_within_respects_level_boundaries() {
        assert!(name("user.alice.Sent").is_within(&name("user.alice")));
        assert!(!name("user.alicia").is_within(&name("user.alice")));
        assert_eq!(name("user.alice.Sent").parent(), Some(name("user.alice")));
    }
}
