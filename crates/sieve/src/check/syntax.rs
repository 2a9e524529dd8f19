//! The syntax of literal argument values the checks can judge before run time: RFC 5322
//! addresses (`redirect`, vacation's `:from` and `:addresses`), time zones (RFC 5260 `:zone`),
//! header field names (RFC 5293), special-use attributes (RFC 8579), notification method URIs
//! (RFC 5435), and date-part names (RFC 5260 §4.2). Pure functions over `&str`.

/// RFC 5322 §3.2.3 `atext`, widened to every non-ASCII character as RFC 6532 §3.2 allows.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

/// RFC 5322 §3.2.3 `dot-atom-text`: atoms joined by single dots.
fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|a| !a.is_empty() && a.chars().all(is_atext))
}

/// RFC 5322 §3.2.4 `quoted-string` (without folding): `"`, then printable characters, spaces,
/// tabs or quoted pairs, then `"`.
fn is_quoted_string(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return false;
    };
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(q) if q == ' ' || q == '\t' || q.is_ascii_graphic() || !q.is_ascii() => {}
                _ => return false,
            },
            '"' => return false,
            c if c == ' ' || c == '\t' || c.is_ascii_graphic() || !c.is_ascii() => {}
            _ => return false,
        }
    }
    true
}

/// RFC 5322 §3.4.1 `domain-literal` (without folding): `[`, `dtext`, `]`.
fn is_domain_literal(s: &str) -> bool {
    s.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .is_some_and(|inner| {
            inner
                .chars()
                .all(|c| (c.is_ascii_graphic() && !"[]\\".contains(c)) || !c.is_ascii())
        })
}

/// Whether `s` is an RFC 5322 §3.4.1 `addr-spec`: `local-part "@" domain`, the local part a
/// dot-atom or a quoted string, the domain a dot-atom or a domain literal.
pub(super) fn is_addr_spec(s: &str) -> bool {
    // A domain literal may itself hold `@`, so it is split off at its `@[` first.
    let at = if s.ends_with(']') {
        s.rfind("@[")
    } else {
        s.rfind('@')
    };
    let Some(at) = at else { return false };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    (is_dot_atom(local) || is_quoted_string(local))
        && (is_dot_atom(domain) || is_domain_literal(domain))
}

/// Whether `s` is an RFC 5322 §3.4 `mailbox`: an `addr-spec`, or a display name followed by
/// an `addr-spec` in angle brackets (the display name is not judged beyond holding no `<`).
pub(super) fn is_mailbox(s: &str) -> bool {
    let s = s.trim();
    match s.strip_suffix('>').and_then(|s| s.rsplit_once('<')) {
        Some((name, addr)) => !name.contains('>') && is_addr_spec(addr),
        None => is_addr_spec(s),
    }
}

/// Whether `s` is an RFC 5260 §4.1 time zone: `+` or `-`, then four digits `hhmm` with the
/// minutes below 60.
pub(super) fn is_zone(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 5
        && (b[0] == b'+' || b[0] == b'-')
        && b[1..].iter().all(u8::is_ascii_digit)
        && b[3] < b'6'
}

/// The date parts of RFC 5260 §4.2, matched without regard to case.
pub(super) const DATE_PARTS: &[&str] = &[
    "year", "month", "day", "date", "julian", "hour", "minute", "second", "time", "iso8601",
    "std11", "zone", "weekday",
];

/// Whether `s` is an RFC 5322 §3.6.8 `field-name`: one or more printable ASCII characters other
/// than `:`.
pub(super) fn is_field_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b':')
}

/// Whether `s` is a special-use attribute as RFC 8579 §3 names them (RFC 6154 §2): `\` and an
/// IMAP atom.
pub(super) fn is_special_use(s: &str) -> bool {
    s.strip_prefix('\\').is_some_and(|atom| {
        !atom.is_empty()
            && atom
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b))
    })
}

/// The scheme of a URI (RFC 3986 §3.1: a letter, then letters, digits, `+`, `-`, `.`, ended by
/// `:`), in lower case, if `s` starts with one.
pub(super) fn uri_scheme(s: &str) -> Option<String> {
    let (scheme, _) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
        .then(|| scheme.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for good in [
            "a@example.com",
            "first.last@example.com",
            "\"john doe\"@example.com",
            "user+tag@[192.0.2.1]",
            "\"a@b\"@example.com",
            "jörg@example.de",
        ] {
            assert!(is_addr_spec(good), "{good}");
        }
        for bad in [
            "user65",
            "@example.com",
            "a@",
            "a..b@example.com",
            ".a@example.com",
            "a b@example.com",
            "a@exa mple.com",
            "a@b@c",
            "<a@example.com>",
            "",
        ] {
            assert!(!is_addr_spec(bad), "{bad}");
        }
        assert!(is_mailbox("Joe <joe@example.com>"));
        assert!(is_mailbox("<joe@example.com>"));
        assert!(is_mailbox("joe@example.com"));
        assert!(!is_mailbox("Joe <joe>"));
    }

    #[test]
    fn zones_fields_uses_schemes() {
        assert!(is_zone("+0000") && is_zone("-1000") && is_zone("+0530"));
        assert!(!is_zone("0000") && !is_zone("+000") && !is_zone("+0060") && !is_zone("UTC"));
        assert!(is_field_name("X-Spam") && !is_field_name("X Spam") && !is_field_name("a:b"));
        assert!(!is_field_name(""));
        assert!(is_special_use("\\Trash") && !is_special_use("Trash") && !is_special_use("\\"));
        assert_eq!(
            uri_scheme("mailto:a@example.com").as_deref(),
            Some("mailto")
        );
        assert_eq!(uri_scheme("XMPP:a@example.com").as_deref(), Some("xmpp"));
        assert_eq!(uri_scheme("a@example.com"), None);
        assert_eq!(uri_scheme("1x:y"), None);
    }
}
