//! What a user name may be. Names become mailbox names (`user.NAME`), so `/` (the separator
//! clients see under `unixhierarchysep`), `^` (which stands for a userid's dot in internal
//! names) and LIST wildcards are refused, as are quotes, white space and controls, which no
//! client can type reliably, and so are the names ACLs reserve (`anyone`, `anonymous`, `-x`,
//! `group:x`). A dot is allowed (`john.doe`), as in Cyrus: under
//! `unixhierarchysep` such a user's INBOX is `user.john^doe`; with the `.` separator the user
//! may log in but owns no mailboxes (the mail service decides, see `mailservice::Namespace`).

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsernameError {
    #[error("user name is empty")]
    Empty,
    #[error("user name is longer than {MAX_LEN} bytes")]
    TooLong,
    #[error("character {0:?} is not allowed in a user name")]
    BadChar(char),
    #[error("{0:?} is reserved: access control lists give it another meaning")]
    Reserved(String),
}

/// Names an ACL entry could not tell from its special identifiers (RFC 4314 §2, Cyrus):
/// `anyone` (also `anybody`) and `anonymous`, in any case; and what would read as a negative
/// entry (`-fred`) or a group (`group:staff`).
fn is_reserved(name: &str) -> bool {
    ["anyone", "anybody", "anonymous"]
        .iter()
        .any(|r| name.eq_ignore_ascii_case(r))
        || name.starts_with('-')
        || name.starts_with("group:")
}

pub const MAX_LEN: usize = 255;

pub fn validate_username(name: &str) -> Result<(), UsernameError> {
    if name.is_empty() {
        return Err(UsernameError::Empty);
    }
    if name.len() > MAX_LEN {
        return Err(UsernameError::TooLong);
    }
    if is_reserved(name) {
        return Err(UsernameError::Reserved(name.to_string()));
    }
    match name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "/^*%\"\\".contains(*c))
    {
        Some(c) => Err(UsernameError::BadChar(c)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_wildcards_are_refused_but_dots_are_not() {
        assert_eq!(validate_username("a/b"), Err(UsernameError::BadChar('/')));
        assert_eq!(validate_username("a^b"), Err(UsernameError::BadChar('^')));
        assert_eq!(validate_username("a%"), Err(UsernameError::BadChar('%')));
        assert_eq!(validate_username("a\"b"), Err(UsernameError::BadChar('"')));
        assert_eq!(validate_username("john.doe"), Ok(()));
        assert_eq!(validate_username("a*"), Err(UsernameError::BadChar('*')));
        assert_eq!(validate_username("a b"), Err(UsernameError::BadChar(' ')));
        assert_eq!(validate_username(""), Err(UsernameError::Empty));
        assert_eq!(validate_username("alice_b-1+x@realm"), Ok(()));
    }

    #[test]
    fn acl_identifiers_with_a_special_meaning_are_not_user_names() {
        for reserved in ["anonymous", "Anyone", "ANYBODY", "-fred", "group:staff"] {
            assert_eq!(
                validate_username(reserved),
                Err(UsernameError::Reserved(reserved.into())),
                "{reserved}"
            );
        }
        assert_eq!(validate_username("anonymously"), Ok(()));
        assert_eq!(validate_username("fred-x"), Ok(()));
    }
}
