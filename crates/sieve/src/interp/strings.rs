//! Strings at run time: variable expansion (RFC 5229 §3), `set` modifiers (RFC 5229 §4.1,
//! `:encodeurl` of RFC 5435 §6, `:quoteregex` of the regex draft), encoded characters (RFC 5228
//! §2.4.2.4) and date parts (RFC 5260 §4). SKELETON: signatures fixed, bodies to be written.

/// A `set` modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    Lower,
    Upper,
    LowerFirst,
    UpperFirst,
    QuoteWildcard,
    QuoteRegex,
    Length,
    EncodeUrl,
}

impl Modifier {
    /// The modifier a tag (without colon, lower case) names.
    pub fn from_tag(tag: &str) -> Option<Modifier> {
        let _ = tag;
        unimplemented!("skeleton")
    }
}

/// Applies `modifiers` to `value` in RFC 5229 §4.1's order of precedence, whatever order they
/// were written in.
pub fn apply_modifiers(value: &str, modifiers: &[Modifier]) -> String {
    let _ = (value, modifiers);
    unimplemented!("skeleton")
}

/// Expands `${name}` references in `text` (RFC 5229 §3): `lookup` gives a variable's value
/// (`None`: unknown, which expands to the empty string); match variables are the names
/// `0`…`9`… and namespaced names like `envelope.from` are passed through whole. A reference
/// that is not well formed is left as written. The result is cut at `max_len` bytes (on a
/// character boundary).
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>, max_len: usize) -> String {
    let _ = (text, lookup, max_len);
    unimplemented!("skeleton")
}

/// Decodes `${hex:…}` and `${unicode:…}` (RFC 5228 §2.4.2.4, extension `encoded-character`);
/// malformed encodings are left as written.
pub fn decode_encoded_characters(text: &str) -> String {
    let _ = text;
    unimplemented!("skeleton")
}

/// The `date-part` of `at` (RFC 5260 §4.3: `year`, `month`, `day`, `date`, `julian`, `hour`,
/// `minute`, `second`, `time`, `iso8601`, `std11`, `zone`, `weekday`), `None` for an unknown
/// part.
pub fn date_part(at: time::OffsetDateTime, part: &str) -> Option<String> {
    let _ = (at, part);
    unimplemented!("skeleton")
}

/// A `:zone` argument (`+hhmm` / `-hhmm`, RFC 5260 §4.2).
pub fn parse_zone(zone: &str) -> Option<time::UtcOffset> {
    let _ = zone;
    unimplemented!("skeleton")
}

/// A date header field's value (RFC 5322 date-time, obsolete forms tolerated), `None` when it
/// cannot be read (RFC 5260 §4: then the test is false).
pub fn parse_date_header(value: &str) -> Option<time::OffsetDateTime> {
    let _ = value;
    unimplemented!("skeleton")
}
