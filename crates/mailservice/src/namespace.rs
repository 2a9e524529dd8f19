//! Cyrus's standard namespace: the user's `user.NAME` is shown as `INBOX` and their other
//! mailboxes as `INBOX.x`; other users' mailboxes as `user.OTHER…`; shared mailboxes by their
//! own names. With `unixhierarchysep` clients see `/` as the separator, and a `.` typed by a
//! client is stored as `^` (Cyrus does the same, so names survive a switch of separator).
//! The alternate namespace (`altnamespace`) comes with the namespace issue.

use types::{MailboxName, MailboxNameError};

use crate::access::Identity;
use crate::error::ServiceError;

#[derive(Clone, Copy, Debug)]
pub struct Namespace {
    unix_sep: bool,
}

impl Namespace {
    pub fn new(unix_hierarchy_sep: bool) -> Namespace {
        Namespace {
            unix_sep: unix_hierarchy_sep,
        }
    }

    /// The separator clients see.
    pub fn separator(&self) -> char {
        if self.unix_sep {
            '/'
        } else {
            '.'
        }
    }

    /// RFC 2342 prefixes: personal, other users', shared.
    pub fn prefixes(&self) -> (String, String, String) {
        let sep = self.separator();
        (format!("INBOX{sep}"), format!("user{sep}"), String::new())
    }

    /// The internal name for a name a client typed.
    pub fn to_internal(
        &self,
        identity: &Identity,
        client: &str,
    ) -> Result<MailboxName, ServiceError> {
        let sep = self.separator();
        let internal: String = if self.unix_sep {
            client
                .chars()
                .map(|c| match c {
                    '.' => '^',
                    '/' => '.',
                    other => other,
                })
                .collect()
        } else {
            client.to_string()
        };
        let (first, rest) = match internal.split_once('.') {
            Some((first, rest)) => (first, Some(rest)),
            None => (internal.as_str(), None),
        };
        let name = if first.eq_ignore_ascii_case("INBOX") {
            let inbox = identity.inbox().ok_or_else(|| bad(client, sep, None))?;
            match rest {
                Some(rest) => format!("{inbox}.{rest}"),
                None => inbox.to_string(),
            }
        } else {
            internal.clone()
        };
        MailboxName::try_from(name).map_err(|e| bad(client, sep, Some(e)))
    }

    /// The name a client is shown for an internal name.
    pub fn to_client(&self, identity: &Identity, internal: &MailboxName) -> String {
        let text = match identity.inbox() {
            Some(inbox) if internal.is_within(&inbox) => {
                format!("INBOX{}", &internal.as_str()[inbox.as_str().len()..])
            }
            _ => internal.to_string(),
        };
        if self.unix_sep {
            text.chars()
                .map(|c| match c {
                    '.' => '/',
                    '^' => '.',
                    other => other,
                })
                .collect()
        } else {
            text
        }
    }
}

fn bad(client: &str, sep: char, e: Option<MailboxNameError>) -> ServiceError {
    let reason = match e {
        Some(MailboxNameError::EmptyLevel) => {
            format!("{client:?} has an empty hierarchy level (separator is {sep:?})")
        }
        Some(e) => format!("{client:?}: {e}"),
        None => format!("{client:?}: this user has no INBOX"),
    };
    ServiceError::BadName(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Identity {
        Identity::new("alice", false)
    }

    #[test]
    fn inbox_maps_to_the_users_hierarchy_in_any_case() {
        let ns = Namespace::new(false);
        assert_eq!(
            ns.to_internal(&alice(), "INBOX").unwrap().as_str(),
            "user.alice"
        );
        assert_eq!(
            ns.to_internal(&alice(), "inbox.Sent").unwrap().as_str(),
            "user.alice.Sent"
        );
        assert_eq!(
            ns.to_internal(&alice(), "user.bob.x").unwrap().as_str(),
            "user.bob.x"
        );
        assert_eq!(
            ns.to_internal(&alice(), "INBOXES").unwrap().as_str(),
            "INBOXES"
        );
    }

    #[test]
    fn internal_names_show_as_inbox_for_their_owner() {
        let ns = Namespace::new(false);
        let name = MailboxName::try_from("user.alice.Sent").unwrap();
        assert_eq!(ns.to_client(&alice(), &name), "INBOX.Sent");
        assert_eq!(
            ns.to_client(&Identity::new("admin", true), &name),
            "user.alice.Sent"
        );
    }

    #[test]
    fn unix_separator_swaps_dots_and_slashes() {
        let ns = Namespace::new(true);
        let internal = ns.to_internal(&alice(), "INBOX/a.b/c").unwrap();
        assert_eq!(internal.as_str(), "user.alice.a^b.c");
        assert_eq!(ns.to_client(&alice(), &internal), "INBOX/a.b/c");
    }

    #[test]
    fn empty_levels_are_refused_with_a_reason() {
        let ns = Namespace::new(false);
        let err = ns.to_internal(&alice(), "INBOX..x").unwrap_err();
        assert!(err.to_string().contains("empty hierarchy level"), "{err}");
    }
}
