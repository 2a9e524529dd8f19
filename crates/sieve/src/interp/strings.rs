//! Strings at run time: variable expansion (RFC 5229 §3), `set` modifiers (RFC 5229 §4.1,
//! `:encodeurl` of RFC 5435 §6, `:quoteregex` of the regex draft), encoded characters (RFC 5228
//! §2.4.2.4) and date parts (RFC 5260 §4).

// The executor (exec.rs) is the caller of this module; until it is filled in, parts of the
// interface are only reached from the tests.

use time::{OffsetDateTime, UtcOffset};

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
        match tag {
            "lower" => Some(Modifier::Lower),
            "upper" => Some(Modifier::Upper),
            "lowerfirst" => Some(Modifier::LowerFirst),
            "upperfirst" => Some(Modifier::UpperFirst),
            "quotewildcard" => Some(Modifier::QuoteWildcard),
            "quoteregex" => Some(Modifier::QuoteRegex),
            "length" => Some(Modifier::Length),
            "encodeurl" => Some(Modifier::EncodeUrl),
            _ => None,
        }
    }

    /// RFC 5229 §4.1 precedence (higher applies first); `:encodeurl` is 15 (RFC 5435 §6) and
    /// `:quoteregex` 20 (the regex draft).
    pub fn precedence(self) -> u8 {
        match self {
            Modifier::Lower | Modifier::Upper => 40,
            Modifier::LowerFirst | Modifier::UpperFirst => 30,
            Modifier::QuoteWildcard | Modifier::QuoteRegex => 20,
            Modifier::EncodeUrl => 15,
            Modifier::Length => 10,
        }
    }

    fn apply(self, value: &str) -> String {
        match self {
            Modifier::Lower => value.to_lowercase(),
            Modifier::Upper => value.to_uppercase(),
            Modifier::LowerFirst => map_first(value, |c| c.to_lowercase().collect()),
            Modifier::UpperFirst => map_first(value, |c| c.to_uppercase().collect()),
            Modifier::QuoteWildcard => quote(value, "*?\\"),
            Modifier::QuoteRegex => quote(value, "\\.*+?[](){}^$|"),
            Modifier::Length => value.chars().count().to_string(),
            Modifier::EncodeUrl => encode_url(value),
        }
    }
}

fn map_first(value: &str, f: impl Fn(char) -> String) -> String {
    let mut chars = value.chars();
    match chars.next() {
        Some(c) => f(c) + chars.as_str(),
        None => String::new(),
    }
}

fn quote(value: &str, specials: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if specials.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// RFC 5435 §6: percent-encodes every octet of the UTF-8 form except the URI unreserved
/// characters (RFC 3986 §2.3).
fn encode_url(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Applies `modifiers` to `value` in RFC 5229 §4.1's order of precedence, whatever order they
/// were written in.
pub fn apply_modifiers(value: &str, modifiers: &[Modifier]) -> String {
    let mut ordered = modifiers.to_vec();
    ordered.sort_by_key(|m| std::cmp::Reverse(m.precedence()));
    ordered
        .into_iter()
        .fold(value.to_owned(), |acc, m| m.apply(&acc))
}

/// Expands `${name}` references in `text` (RFC 5229 §3): `lookup` gives a variable's value
/// (`None`: unknown, which expands to the empty string); match variables are the names
/// `0`…`9`… and namespaced names like `envelope.from` are passed through whole. A reference
/// that is not well formed is left as written. The result is cut at `max_len` bytes (on a
/// character boundary).
///
/// Names are case-insensitive (RFC 5229 §3): `lookup` receives them lower-cased.
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>, max_len: usize) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        push_bounded(&mut out, rest.get(..start).unwrap_or(""), max_len);
        let after = rest.get(start + 2..).unwrap_or("");
        match reference_name(after) {
            Some(name) => {
                let value = lookup(&name.to_ascii_lowercase()).unwrap_or_default();
                push_bounded(&mut out, &value, max_len);
                rest = after.get(name.len() + 1..).unwrap_or("");
            }
            None => {
                // Not a reference: keep "$" and look again from the "{".
                push_bounded(&mut out, "$", max_len);
                rest = rest.get(start + 1..).unwrap_or("");
            }
        }
        if out.len() >= max_len {
            return out;
        }
    }
    push_bounded(&mut out, rest, max_len);
    out
}

/// The name of a well-formed reference at the start of `s` (just after `${`), if `s` holds
/// one followed by `}`: RFC 5229 §3 `num-variable` (digits) or identifiers joined by dots
/// (`namespace` and `variable-name`).
fn reference_name(s: &str) -> Option<&str> {
    let end = s.find('}')?;
    let name = s.get(..end)?;
    if name.is_empty() {
        return None;
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Some(name);
    }
    let identifier = |part: &str| {
        part.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    name.split('.').all(identifier).then_some(name)
}

/// Appends as much of `piece` as fits in `max_len` bytes, cutting on a character boundary.
fn push_bounded(out: &mut String, piece: &str, max_len: usize) {
    let room = max_len.saturating_sub(out.len());
    if piece.len() <= room {
        out.push_str(piece);
        return;
    }
    let mut cut = room;
    while !piece.is_char_boundary(cut) {
        cut -= 1;
    }
    out.push_str(piece.get(..cut).unwrap_or(""));
}

/// Decodes `${hex:…}` and `${unicode:…}` (RFC 5228 §2.4.2.4, extension `encoded-character`);
/// malformed encodings are left as written.
///
/// One encoding may hold several values separated by blanks (`${hex: 40 41}` is "@A"). A
/// `${hex:…}` whose octets are not UTF-8, and a `${unicode:…}` value that is a surrogate or
/// above U+10FFFF, are malformed.
pub fn decode_encoded_characters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(rest.get(..start).unwrap_or(""));
        let after = rest.get(start + 2..).unwrap_or("");
        match decode_one(after) {
            Some((decoded, used)) => {
                out.push_str(&decoded);
                rest = after.get(used..).unwrap_or("");
            }
            None => {
                out.push('$');
                rest = rest.get(start + 1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes one encoding at the start of `s` (just after `${`): the text and the bytes of `s`
/// it used, through the closing `}`.
fn decode_one(s: &str) -> Option<(String, usize)> {
    let colon = s.find(':')?;
    let kind = s.get(..colon)?.to_ascii_lowercase();
    let body_start = colon + 1;
    let end = body_start + s.get(body_start..)?.find('}')?;
    let body = s.get(body_start..end)?;
    let values: Vec<&str> = body
        .split([' ', '\t', '\r', '\n'])
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty()
        || values
            .iter()
            .any(|v| !v.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return None;
    }
    let decoded = match kind.as_str() {
        "hex" => {
            let bytes = values
                .iter()
                .map(|v| {
                    (v.len() <= 2)
                        .then(|| u8::from_str_radix(v, 16).ok())
                        .flatten()
                })
                .collect::<Option<Vec<u8>>>()?;
            String::from_utf8(bytes).ok()?
        }
        "unicode" => values
            .iter()
            .map(|v| {
                let v = v.trim_start_matches('0');
                if v.len() > 6 {
                    return None;
                }
                char::from_u32(u32::from_str_radix(if v.is_empty() { "0" } else { v }, 16).ok()?)
            })
            .collect::<Option<String>>()?,
        _ => return None,
    };
    Some((decoded, end + 1))
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The `date-part` of `at` (RFC 5260 §4.3: `year`, `month`, `day`, `date`, `julian`, `hour`,
/// `minute`, `second`, `time`, `iso8601`, `std11`, `zone`, `weekday`), `None` for an unknown
/// part. Part names are case-insensitive. `julian` is the Modified Julian Day (days since
/// 1858-11-17); `iso8601` is `2009-08-12T14:08:30-07:00`; `std11` the RFC 5322 form
/// `Wed, 12 Aug 2009 14:08:30 -0700`; `weekday` 0 for Sunday.
pub fn date_part(at: OffsetDateTime, part: &str) -> Option<String> {
    let (h, m, s) = (at.hour(), at.minute(), at.second());
    let date = format!(
        "{:04}-{:02}-{:02}",
        at.year(),
        u8::from(at.month()),
        at.day()
    );
    let time = format!("{h:02}:{m:02}:{s:02}");
    Some(match part.to_ascii_lowercase().as_str() {
        "year" => format!("{:04}", at.year()),
        "month" => format!("{:02}", u8::from(at.month())),
        "day" => format!("{:02}", at.day()),
        "date" => date,
        // The Julian day number counts from noon; 1858-11-17 is day 2 400 001.
        "julian" => (i64::from(at.date().to_julian_day()) - 2_400_001).to_string(),
        "hour" => format!("{h:02}"),
        "minute" => format!("{m:02}"),
        "second" => format!("{s:02}"),
        "time" => time,
        "iso8601" => format!("{date}T{time}{}", zone(at.offset(), ":")),
        "std11" => format!(
            "{}, {:02} {} {:04} {time} {}",
            WEEKDAYS
                .get(usize::from(at.weekday().number_days_from_sunday()))
                .unwrap_or(&"Sun"),
            at.day(),
            MONTHS
                .get(usize::from(u8::from(at.month())).saturating_sub(1))
                .unwrap_or(&"Jan"),
            at.year(),
            zone(at.offset(), "")
        ),
        "zone" => zone(at.offset(), ""),
        "weekday" => at.weekday().number_days_from_sunday().to_string(),
        _ => return None,
    })
}

/// `+hhmm` (or `+hh:mm` with `separator` ":").
fn zone(offset: UtcOffset, separator: &str) -> String {
    let total = offset.whole_minutes();
    let sign = if total < 0 { '-' } else { '+' };
    let total = total.unsigned_abs();
    format!("{sign}{:02}{separator}{:02}", total / 60, total % 60)
}

/// A `:zone` argument (`+hhmm` / `-hhmm`, RFC 5260 §4.2).
pub fn parse_zone(zone: &str) -> Option<UtcOffset> {
    let bytes = zone.as_bytes();
    if bytes.len() != 5 || !bytes.iter().skip(1).all(u8::is_ascii_digit) {
        return None;
    }
    let sign: i8 = match bytes.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours: i8 = zone.get(1..3)?.parse().ok()?;
    let minutes: i8 = zone.get(3..5)?.parse().ok()?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

/// A date header field's value (RFC 5322 date-time, obsolete forms tolerated), `None` when it
/// cannot be read (RFC 5260 §4: then the test is false). The result keeps the field's zone.
pub fn parse_date_header(value: &str) -> Option<OffsetDateTime> {
    let (seconds, offset_minutes) = message::parse_date(value)?;
    let offset = UtcOffset::from_whole_seconds(offset_minutes.checked_mul(60)?).ok()?;
    Some(
        OffsetDateTime::from_unix_timestamp(seconds)
            .ok()?
            .to_offset(offset),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    proptest! {
        #[test]
        fn hostile_strings_never_panic(text in "[${}:.a-zA-Z0-9 éx]{0,60}", max in 0usize..40) {
            let out = expand(&text, &|n| Some(n.repeat(3)), max);
            prop_assert!(out.len() <= max);
            let _ = decode_encoded_characters(&text);
            let _ = parse_zone(&text);
            let _ = parse_date_header(&text);
            let modifiers = [Modifier::Lower, Modifier::UpperFirst, Modifier::QuoteRegex,
                Modifier::EncodeUrl, Modifier::Length];
            let _ = apply_modifiers(&text, &modifiers);
        }
    }

    #[test]
    fn modifiers_apply_by_precedence() {
        use Modifier::*;
        // RFC 5229 §4.1 examples.
        assert_eq!(apply_modifiers("juMBlEd lETteRS", &[Length]), "15");
        assert_eq!(
            apply_modifiers("juMBlEd lETteRS", &[Lower]),
            "jumbled letters"
        );
        assert_eq!(
            apply_modifiers("juMBlEd lETteRS", &[UpperFirst]),
            "JuMBlEd lETteRS"
        );
        assert_eq!(
            apply_modifiers("juMBlEd lETteRS", &[UpperFirst, Lower]),
            "Jumbled letters"
        );
        assert_eq!(apply_modifiers("j?M*lEd", &[QuoteWildcard]), "j\\?M\\*lEd");
        assert_eq!(apply_modifiers("a*b", &[Length, QuoteWildcard]), "4");
        assert_eq!(apply_modifiers("ÉTÉ", &[Lower, Length]), "3");
        assert_eq!(apply_modifiers("a.b(c)", &[QuoteRegex]), "a\\.b\\(c\\)");
        assert_eq!(
            apply_modifiers("a b&ü", &[EncodeUrl, Upper]),
            "A%20B%26%C3%9C"
        );
        assert_eq!(Modifier::from_tag("encodeurl"), Some(EncodeUrl));
        assert_eq!(Modifier::from_tag("bogus"), None);
    }

    fn vars(name: &str) -> Option<String> {
        match name {
            "company" => Some("ACME".into()),
            "1" => Some("one".into()),
            "envelope.from" => Some("a@b".into()),
            _ => None,
        }
    }

    #[test]
    fn expansion_follows_rfc5229() {
        let e = |t: &str| expand(t, &vars, 1000);
        // RFC 5229 §3 examples.
        assert_eq!(e("${company}"), "ACME");
        assert_eq!(e("${BAD${Company}"), "${BADACME");
        assert_eq!(
            e("${President, ${Company} Inc.}"),
            "${President, ACME Inc.}"
        );
        assert_eq!(e("${unknown}x"), "x");
        assert_eq!(e("${1} ${ENVELOPE.From}"), "one a@b");
        assert_eq!(e("${}${1a}${a..b}${.a}$"), "${}${1a}${a..b}${.a}$");
        assert_eq!(e("${company"), "${company");
        assert_eq!(expand("ab${company}cd", &vars, 4), "abAC");
        assert_eq!(expand("éé", &vars, 3), "é");
    }

    #[test]
    fn encoded_characters_decode() {
        // RFC 5228 §2.4.2.4 examples.
        assert_eq!(decode_encoded_characters("${hex:24 24}"), "$$");
        assert_eq!(decode_encoded_characters("${hex: 40 41}"), "@A");
        assert_eq!(decode_encoded_characters("${HEX:40}${unicode:40}"), "@@");
        assert_eq!(decode_encoded_characters("${unicode:1F600 e9}"), "😀é");
        assert_eq!(decode_encoded_characters("${hex:C3 A9}"), "é");
        for literal in [
            "${hex:}",
            "${hex:123}",
            "${hex:zz}",
            "${hex:ff}",
            "${unicode:D800}",
            "${unicode:110000}",
            "${other:40}",
            "${hex:40",
        ] {
            assert_eq!(decode_encoded_characters(literal), literal);
        }
        assert_eq!(decode_encoded_characters("$${hex:41}"), "$A");
    }

    #[test]
    fn date_parts_have_rfc5260_formats() {
        let at = datetime!(2009-08-12 14:08:30 -07:00);
        let p = |part| date_part(at, part).unwrap_or_default();
        assert_eq!(p("year"), "2009");
        assert_eq!(p("month"), "08");
        assert_eq!(p("day"), "12");
        assert_eq!(p("date"), "2009-08-12");
        assert_eq!(p("julian"), "55055");
        assert_eq!(p("hour"), "14");
        assert_eq!(p("minute"), "08");
        assert_eq!(p("second"), "30");
        assert_eq!(p("time"), "14:08:30");
        assert_eq!(p("iso8601"), "2009-08-12T14:08:30-07:00");
        assert_eq!(p("std11"), "Wed, 12 Aug 2009 14:08:30 -0700");
        assert_eq!(p("zone"), "-0700");
        assert_eq!(p("weekday"), "3");
        assert_eq!(p("YEAR"), "2009");
        assert_eq!(date_part(at, "fortnight"), None);
        assert_eq!(
            date_part(datetime!(1858-11-17 00:00 UTC), "julian").as_deref(),
            Some("0")
        );
    }

    #[test]
    fn zones_and_date_fields() {
        assert_eq!(parse_zone("+0530"), UtcOffset::from_hms(5, 30, 0).ok());
        assert_eq!(parse_zone("-0700"), UtcOffset::from_hms(-7, 0, 0).ok());
        for bad in ["0700", "+070", "+2500", "+0060", "+07:00", "x"] {
            assert_eq!(parse_zone(bad), None, "{bad}");
        }
        let d = parse_date_header("Wed, 12 Aug 2009 14:08:30 -0700");
        assert_eq!(d, Some(datetime!(2009-08-12 14:08:30 -07:00)));
        assert_eq!(d.map(|d| d.offset().whole_minutes()), Some(-7 * 60));
        assert_eq!(parse_date_header("not a date"), None);
    }
}
