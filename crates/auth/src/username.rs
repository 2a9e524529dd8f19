//! What a user name may be. Names become mailbox names (`user.NAME`), so the hierarchy separator
//! and LIST wildcards are refused, as are white space and controls, which no client can type
//! reliably.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsernameError {
    #[error("user name is empty")]
    Empty,
    #[error("user name is longer than {MAX_LEN} bytes")]
    TooLong,
    #[error("character {0:?} is not allowed in a user name")]
    BadChar(char),
}

pub const MAX_LEN: usize = 255;

pub fn validate_username(name: &str) -> Result<(), UsernameError> {
    if name.is_empty() {
        return Err(UsernameError::Empty);
    }
    if name.len() > MAX_LEN {
        return Err(UsernameError::TooLong);
    }
    match name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "./*%\"\\".contains(*c))
    {
        Some(c) => Err(UsernameError::BadChar(c)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_wildcards_are_refused() {
        assert_eq!(validate_username("a.b"), Err(UsernameError::BadChar('.')));
        assert_eq!(validate_username("a*"), Err(UsernameError::BadChar('*')));
        assert_eq!(validate_username("a b"), Err(UsernameError::BadChar(' ')));
        assert_eq!(validate_username(""), Err(UsernameError::Empty));
        assert_eq!(validate_username("alice_b-1+x@realm"), Ok(()));
    }
}
