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

/// RFC 5802 §7 `saslname` (also RFC 5801's `gs2-authzid`): `=2C` is `,` and `=3D` is `=`; any
/// other `=`, and a raw `,`, are invalid; not empty.
pub(crate) fn saslname(value: &str) -> Result<String, FailureReason> {
    let text = non_empty_text(value.as_bytes(), "empty saslname")?;
    if text.contains(',') {
        return Err(FailureReason::Malformed("raw ',' in a saslname"));
    }
    let mut name = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('=') {
        name.push_str(&rest[..at]);
        match rest.get(at..at + 3) {
            Some("=2C") => name.push(','),
            Some("=3D") => name.push('='),
            _ => return Err(FailureReason::Malformed("saslname encoding")),
        }
        rest = &rest[at + 3..];
    }
    name.push_str(rest);
    Ok(name)
}
