//! Bounded, UTF-8 fields of a response.

use crate::{FailureReason, MAX_FIELD_LEN};

/// A field as UTF-8 text: at most [`MAX_FIELD_LEN`] bytes, no NUL.
pub(crate) fn text(bytes: &[u8]) -> Result<&str, FailureReason> {
    if bytes.len() > MAX_FIELD_LEN {
        return Err(FailureReason::TooLong);
    }
    if bytes.contains(&0) {
        return Err(FailureReason::Malformed("NUL in a field"));
    }
    std::str::from_utf8(bytes).map_err(|_| FailureReason::NotUtf8)
}

/// Like [`text`], and not empty.
pub(crate) fn non_empty_text<'a>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<&'a str, FailureReason> {
    let value = text(bytes)?;
    if value.is_empty() {
        return Err(FailureReason::Malformed(what));
    }
    Ok(value)
}

/// An optional authorization identity: empty means none.
pub(crate) fn authzid(bytes: &[u8]) -> Result<Option<String>, FailureReason> {
    let value = text(bytes)?;
    Ok((!value.is_empty()).then(|| value.to_string()))
}
