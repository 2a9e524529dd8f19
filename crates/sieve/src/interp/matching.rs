//! Comparators (RFC 4790, RFC 5228 §2.7.3), match types (`:is`, `:contains`, `:matches`,
//! `:regex`, relational `:value`/`:count` of RFC 5231) and address parts (RFC 5228 §2.7.4,
//! RFC 5233).
//!
//! Every match is worst-case polynomial: `:matches` places the literal segments between `*`s
//! at their leftmost possible positions (no backtracking), `:regex` uses the `regex` crate
//! (finite automata, bounded compiled size). The work done is charged to the caller's step
//! counter so that a hostile script cannot hold a delivery.

// The executor (exec.rs) is the caller of this module; until it is filled in, parts of the
// interface are only reached from the tests.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::ops::Range;

/// Most compiled regular expressions one [`Matcher`] keeps; past it the cache starts afresh.
pub const MAX_CACHED_REGEXES: usize = 64;

/// Bound on the compiled size of one regular expression and on its lazy DFA cache, in bytes
/// (a pattern that needs more is a run-time error).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Most match variables a `:regex` match sets (`${0}`…`${9}`, RFC 5229 §3.2).
pub const MAX_REGEX_CAPTURES: usize = 10;

/// A comparator (RFC 4790).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Octet,
    AsciiCasemap,
    AsciiNumeric,
}

impl Comparator {
    /// The comparator a `:comparator` string names, `None` if unknown.
    pub fn from_name(name: &str) -> Option<Comparator> {
        // RFC 4790 §3.1: comparator names are case-insensitive.
        match name.to_ascii_lowercase().as_str() {
            "i;octet" => Some(Comparator::Octet),
            "i;ascii-casemap" => Some(Comparator::AsciiCasemap),
            "i;ascii-numeric" => Some(Comparator::AsciiNumeric),
            _ => None,
        }
    }

    /// The ordering of `a` and `b` under this comparator (RFC 4790 §9).
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Comparator::Octet => a.as_bytes().cmp(b.as_bytes()),
            // RFC 4790 §9.2: both strings upper-cased (ASCII letters only), then as octets.
            Comparator::AsciiCasemap => a
                .bytes()
                .map(|c| c.to_ascii_uppercase())
                .cmp(b.bytes().map(|c| c.to_ascii_uppercase())),
            Comparator::AsciiNumeric => compare_numeric(a, b),
        }
    }

    /// Whether two characters are equal under this comparator (substring operations).
    fn char_eq(self, a: char, b: char) -> bool {
        match self {
            Comparator::AsciiCasemap => a.eq_ignore_ascii_case(&b),
            Comparator::Octet | Comparator::AsciiNumeric => a == b,
        }
    }
}

/// RFC 4790 §9.1 `i;ascii-numeric`: the value of a string is the number its leading digits
/// spell; a string without a leading digit is positive infinity, equal only to another such.
/// Digit strings of any length are compared without converting them to a machine integer.
fn compare_numeric(a: &str, b: &str) -> Ordering {
    match (leading_number(a), leading_number(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
    }
}

/// The leading digits of `s` without leading zeros (`""` for zero), `None` without a digit.
fn leading_number(s: &str) -> Option<&str> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let number = s.get(..digits).filter(|d| !d.is_empty())?;
    Some(number.trim_start_matches('0'))
}

/// A relational operator (RFC 5231 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Relation {
    /// The relation `gt`, `ge`, … names (any case), `None` otherwise.
    pub fn from_name(name: &str) -> Option<Relation> {
        match name.to_ascii_lowercase().as_str() {
            "gt" => Some(Relation::Gt),
            "ge" => Some(Relation::Ge),
            "lt" => Some(Relation::Lt),
            "le" => Some(Relation::Le),
            "eq" => Some(Relation::Eq),
            "ne" => Some(Relation::Ne),
            _ => None,
        }
    }

    /// Whether an ordering of value against key satisfies this relation.
    pub fn holds(self, ordering: Ordering) -> bool {
        match self {
            Relation::Gt => ordering == Ordering::Greater,
            Relation::Ge => ordering != Ordering::Less,
            Relation::Lt => ordering == Ordering::Less,
            Relation::Le => ordering != Ordering::Greater,
            Relation::Eq => ordering == Ordering::Equal,
            Relation::Ne => ordering != Ordering::Equal,
        }
    }
}

/// A match type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    Is,
    Contains,
    Matches,
    Regex,
    Value(Relation),
    Count(Relation),
}

/// An address part (RFC 5228 §2.7.4, `:user`/`:detail` of RFC 5233).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPart {
    All,
    LocalPart,
    Domain,
    User,
    Detail,
}

/// Matches values against keys, keeping compiled regular expressions between calls (at most
/// [`MAX_CACHED_REGEXES`]).
#[derive(Debug, Default)]
pub struct Matcher {
    /// Compiled `:regex` keys by (pattern, case-insensitive).
    regexes: HashMap<(String, bool), regex::Regex>,
}

impl Matcher {
    /// Whether `value` matches `key` under `comparator` and `match_type` (not `:count`, which
    /// [`count_matches`] answers). With `captures`, a successful `:matches` or `:regex` fills
    /// it with the match variables `${0}`, `${1}`, … (RFC 5229 §3.2). `steps` is charged
    /// with the work done; `Err` says why the match cannot be made (a bad regular
    /// expression, or `i;ascii-numeric` with a substring match type, RFC 4790 §9.1), which is
    /// a run-time error. Captures are left alone when the match fails (RFC 5229 §3.2). Given
    /// `:count` anyway, it answers for one value.
    pub fn matches(
        &mut self,
        comparator: Comparator,
        match_type: MatchType,
        value: &str,
        key: &str,
        captures: Option<&mut Vec<String>>,
        steps: &mut u64,
    ) -> Result<bool, String> {
        *steps = steps.saturating_add(1);
        match match_type {
            MatchType::Is => {
                charge(steps, value.len().min(key.len()));
                Ok(comparator.compare(value, key) == Ordering::Equal)
            }
            MatchType::Value(relation) => {
                charge(steps, value.len().min(key.len()));
                Ok(relation.holds(comparator.compare(value, key)))
            }
            MatchType::Count(relation) => Ok(count_matches(comparator, relation, 1, key)),
            MatchType::Contains => {
                no_substrings(comparator, ":contains")?;
                charge(steps, value.len().saturating_add(key.len()));
                Ok(contains(comparator, value, key))
            }
            MatchType::Matches => {
                no_substrings(comparator, ":matches")?;
                let found = wildcard_match(comparator, value, key, steps);
                if let (Some(spans), Some(out)) = (&found, captures) {
                    out.clear();
                    out.push(value.to_owned());
                    out.extend(
                        spans
                            .iter()
                            .map(|r| value.get(r.clone()).unwrap_or("").to_owned()),
                    );
                }
                Ok(found.is_some())
            }
            MatchType::Regex => {
                no_substrings(comparator, ":regex")?;
                self.regex_match(comparator, value, key, captures, steps)
            }
        }
    }

    /// `:regex` (draft-ietf-sieve-regex): the key in the `regex` crate's syntax, which reads
    /// POSIX extended expressions as they are; under `i;ascii-casemap` case-insensitive (the
    /// `regex` crate folds by Unicode simple case folding, so non-ASCII letters fold too).
    /// `${0}` is the whole match, `${1}`… the groups, unset groups empty.
    fn regex_match(
        &mut self,
        comparator: Comparator,
        value: &str,
        key: &str,
        captures: Option<&mut Vec<String>>,
        steps: &mut u64,
    ) -> Result<bool, String> {
        let insensitive = comparator == Comparator::AsciiCasemap;
        let cache_key = (key.to_owned(), insensitive);
        if !self.regexes.contains_key(&cache_key) {
            charge(steps, key.len().saturating_mul(16));
            let compiled = regex::RegexBuilder::new(key)
                .case_insensitive(insensitive)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| format!("bad regular expression {key:?}: {e}"))?;
            if self.regexes.len() >= MAX_CACHED_REGEXES {
                self.regexes.clear();
            }
            self.regexes.insert(cache_key.clone(), compiled);
        }
        let Some(re) = self.regexes.get(&cache_key) else {
            return Ok(false);
        };
        charge(steps, value.len());
        match captures {
            None => Ok(re.is_match(value)),
            Some(out) => match re.captures(value) {
                None => Ok(false),
                Some(caps) => {
                    out.clear();
                    out.extend(
                        caps.iter()
                            .take(MAX_REGEX_CAPTURES)
                            .map(|m| m.map_or_else(String::new, |m| m.as_str().to_owned())),
                    );
                    Ok(true)
                }
            },
        }
    }
}

/// Adds `n` to the step counter without overflowing.
fn charge(steps: &mut u64, n: usize) {
    *steps = steps.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
}

/// RFC 4790 §9.1: `i;ascii-numeric` offers equality and ordering only, no substring match.
fn no_substrings(comparator: Comparator, match_type: &str) -> Result<(), String> {
    if comparator == Comparator::AsciiNumeric {
        Err(format!(
            "comparator i;ascii-numeric does not support {match_type}"
        ))
    } else {
        Ok(())
    }
}

/// `:contains`: whether `key` occurs in `value` (the empty key is in every value).
fn contains(comparator: Comparator, value: &str, key: &str) -> bool {
    match comparator {
        Comparator::AsciiCasemap => contains_ignoring_ascii_case(value.as_bytes(), key.as_bytes()),
        Comparator::Octet | Comparator::AsciiNumeric => value.contains(key),
    }
}

/// Whether `needle` occurs in `hay`, ASCII letters compared without case; no copy of either
/// (a `body :contains` must not lower-case a whole message per key). Byte-wise is exact for
/// UTF-8: folding touches ASCII bytes only, and no byte of a multi-byte character is ASCII.
fn contains_ignoring_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    let Some(last_start) = hay.len().checked_sub(needle.len()) else {
        return false;
    };
    let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut from = 0;
    while from <= last_start {
        let Some(window) = hay.get(from..=last_start) else {
            return false;
        };
        let Some(at) = memchr::memchr2(lower, upper, window).map(|i| from + i) else {
            return false;
        };
        if hay
            .get(at..at + needle.len())
            .is_some_and(|candidate| candidate.eq_ignore_ascii_case(needle))
        {
            return true;
        }
        from = at + 1;
    }
    false
}

/// One element of a `:matches` pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
    Literal(char),
}

/// RFC 5228 §2.7.1: `*` and `?` are wildcards, `\` makes the next character literal (a
/// trailing `\` stands for itself).
fn tokenize(key: &str) -> Vec<Token> {
    let mut out = Vec::with_capacity(key.len());
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' => Token::Star,
            '?' => Token::One,
            '\\' => Token::Literal(chars.next().unwrap_or('\\')),
            other => Token::Literal(other),
        });
    }
    out
}

/// `:matches`. On success, the byte ranges of `value` each wildcard took, in pattern order.
///
/// When several splits are possible, RFC 5229 §3.2 wants each wildcard, from the left, to
/// take as little as it can. The pattern is cut at its `*`s into segments of literals and
/// `?`s: the first segment must match at the start, the last at the end, and each segment in
/// between is placed at its leftmost position after the previous one. Leftmost placement
/// never prevents a later segment from matching (the rest of the value only grows), and it
/// makes every `*` from the left as short as possible. Cost: at most one comparison per
/// (value position, pattern character) pair, charged to `steps`; memory: the pattern only.
fn wildcard_match(
    comparator: Comparator,
    value: &str,
    key: &str,
    steps: &mut u64,
) -> Option<Vec<Range<usize>>> {
    let tokens = tokenize(key);
    let segments: Vec<&[Token]> = tokens.split(|t| *t == Token::Star).collect();
    let (first, rest) = segments.split_first()?;
    let mut spans = Vec::new();
    let Some((last, middle)) = rest.split_last() else {
        // No `*`: the single segment must cover the whole value.
        if segment_at(comparator, value, first, 0, steps)? != value.len() {
            return None;
        }
        one_spans(value, first, 0, &mut spans);
        return Some(spans);
    };
    let mut pos = segment_at(comparator, value, first, 0, steps)?;
    one_spans(value, first, 0, &mut spans);
    charge(steps, last.len());
    let tail_start = match last.len().checked_sub(1) {
        None => value.len(),
        Some(k) => value.char_indices().rev().nth(k)?.0,
    };
    if tail_start < pos || segment_at(comparator, value, last, tail_start, steps)? != value.len() {
        return None;
    }
    for seg in middle {
        let star_start = pos;
        let mut at = pos;
        let end = loop {
            if at > tail_start {
                return None;
            }
            match segment_at(comparator, value, seg, at, steps) {
                Some(end) if end <= tail_start => break end,
                _ => at += value.get(at..)?.chars().next()?.len_utf8(),
            }
        };
        spans.push(star_start..at);
        one_spans(value, seg, at, &mut spans);
        pos = end;
    }
    spans.push(pos..tail_start);
    one_spans(value, last, tail_start, &mut spans);
    Some(spans)
}

/// Whether the `*`-free `segment` matches `value` at byte offset `at`: the byte offset just
/// past the match.
fn segment_at(
    comparator: Comparator,
    value: &str,
    segment: &[Token],
    at: usize,
    steps: &mut u64,
) -> Option<usize> {
    charge(steps, segment.len().max(1));
    let mut end = at;
    let mut chars = value.get(at..)?.chars();
    for token in segment {
        let c = chars.next()?;
        if let Token::Literal(l) = token {
            if !comparator.char_eq(*l, c) {
                return None;
            }
        }
        end += c.len_utf8();
    }
    Some(end)
}

/// Appends the byte ranges the `?`s of `segment`, matched at `at`, took.
fn one_spans(value: &str, segment: &[Token], at: usize, spans: &mut Vec<Range<usize>>) {
    let chars = value.get(at..).unwrap_or_default().char_indices();
    for (token, (i, c)) in segment.iter().zip(chars) {
        if *token == Token::One {
            spans.push(at + i..at + i + c.len_utf8());
        }
    }
}

/// `:count` (RFC 5231 §4.2): whether `count` (the number of values) stands in `relation` to
/// the number `key` under `comparator` (`i;ascii-numeric` in practice).
pub fn count_matches(comparator: Comparator, relation: Relation, count: usize, key: &str) -> bool {
    relation.holds(comparator.compare(&count.to_string(), key))
}

/// The part of `address` (an addr-spec `local@domain`, or a bare local part) that `part`
/// selects; `None` when it has no such part (`:detail` without a separator, RFC 5233 §4).
/// The domain is the text after the last `@` (a quoted local part may hold `@`), compared as
/// given; a bare local part has no domain. `:user`/`:detail` split the local part at the
/// first `separator`.
pub fn address_part(address: &str, part: AddressPart, separator: char) -> Option<String> {
    let (local, domain) = match address.rfind('@') {
        Some(at) => (address.get(..at)?, address.get(at + 1..)),
        None => (address, None),
    };
    match part {
        AddressPart::All => Some(address.to_owned()),
        AddressPart::LocalPart => Some(local.to_owned()),
        AddressPart::Domain => domain.map(str::to_owned),
        AddressPart::User => Some(
            local
                .split_once(separator)
                .map_or(local, |(user, _)| user)
                .to_owned(),
        ),
        AddressPart::Detail => local
            .split_once(separator)
            .map(|(_, detail)| detail.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(comparator: Comparator, mt: MatchType, value: &str, key: &str) -> bool {
        let mut steps = 0;
        Matcher::default()
            .matches(comparator, mt, value, key, None, &mut steps)
            .unwrap_or(false)
    }

    fn caps(value: &str, key: &str) -> Option<Vec<String>> {
        let mut steps = 0;
        let mut out = Vec::new();
        let ok = Matcher::default()
            .matches(
                Comparator::AsciiCasemap,
                MatchType::Matches,
                value,
                key,
                Some(&mut out),
                &mut steps,
            )
            .ok()?;
        ok.then_some(out)
    }

    #[test]
    fn comparator_names_are_case_insensitive() {
        assert_eq!(Comparator::from_name("I;OCTET"), Some(Comparator::Octet));
        assert_eq!(
            Comparator::from_name("i;ascii-numeric"),
            Some(Comparator::AsciiNumeric)
        );
        assert_eq!(Comparator::from_name("i;unicode-casemap"), None);
        assert_eq!(Relation::from_name("GE"), Some(Relation::Ge));
        assert_eq!(Relation::from_name("gte"), None);
    }

    #[test]
    fn casemap_folds_ascii_letters_only() {
        let c = Comparator::AsciiCasemap;
        assert!(m(c, MatchType::Is, "Hello", "hELLO"));
        assert!(!m(c, MatchType::Is, "É", "é"));
        assert!(!m(Comparator::Octet, MatchType::Is, "Hello", "hello"));
        assert!(m(c, MatchType::Contains, "Frobnitz Inc", "NITZ"));
        assert!(!m(
            Comparator::Octet,
            MatchType::Contains,
            "Frobnitz",
            "NITZ"
        ));
        assert!(m(c, MatchType::Contains, "anything", ""));
    }

    #[test]
    fn numeric_values_come_from_leading_digits() {
        let n = Comparator::AsciiNumeric;
        assert_eq!(n.compare("0042abc", "42"), Ordering::Equal);
        assert_eq!(n.compare("abc", "xyz"), Ordering::Equal);
        assert_eq!(
            n.compare("abc", "99999999999999999999999999"),
            Ordering::Greater
        );
        assert_eq!(
            n.compare(
                "123456789012345678901234567890",
                "123456789012345678901234567891"
            ),
            Ordering::Less
        );
        assert_eq!(n.compare("0", ""), Ordering::Less);
        assert!(m(n, MatchType::Value(Relation::Gt), "10", "9"));
        assert!(!m(
            Comparator::Octet,
            MatchType::Value(Relation::Gt),
            "10",
            "9"
        ));
        let mut steps = 0;
        assert!(Matcher::default()
            .matches(n, MatchType::Contains, "1", "1", None, &mut steps)
            .is_err());
    }

    #[test]
    fn count_compares_the_number_of_values() {
        assert!(count_matches(
            Comparator::AsciiNumeric,
            Relation::Ge,
            3,
            "2"
        ));
        assert!(!count_matches(
            Comparator::AsciiNumeric,
            Relation::Lt,
            3,
            "2"
        ));
        assert!(count_matches(
            Comparator::AsciiNumeric,
            Relation::Eq,
            0,
            "0"
        ));
        assert!(count_matches(
            Comparator::AsciiNumeric,
            Relation::Lt,
            12,
            "x"
        ));
    }

    #[test]
    fn wildcards_and_escapes() {
        let c = Comparator::AsciiCasemap;
        assert!(m(c, MatchType::Matches, "MAKE MONEY FAST", "*money*"));
        assert!(m(c, MatchType::Matches, "abc", "a?c"));
        assert!(!m(c, MatchType::Matches, "abbc", "a?c"));
        assert!(m(c, MatchType::Matches, "a*b", "a\\*b"));
        assert!(!m(c, MatchType::Matches, "axb", "a\\*b"));
        assert!(m(c, MatchType::Matches, "a?", "a\\?"));
        assert!(m(c, MatchType::Matches, "", "*"));
        assert!(!m(c, MatchType::Matches, "", "?"));
        assert!(m(c, MatchType::Matches, "é", "?"));
        assert!(m(c, MatchType::Matches, "abab", "*ab"));
        assert!(!m(c, MatchType::Matches, "aba", "ab*ba"));
        assert!(m(c, MatchType::Matches, "abba", "ab*ba"));
    }

    #[test]
    fn match_variables_follow_rfc5229() {
        // RFC 5229 §3.2 examples.
        assert_eq!(
            caps("[acme-users] [fwd] version 1.0 is out", "[*] *"),
            Some(vec![
                "[acme-users] [fwd] version 1.0 is out".to_owned(),
                "acme-users".to_owned(),
                "[fwd] version 1.0 is out".to_owned()
            ])
        );
        assert_eq!(
            caps("coyote@ACME.Example.com", "coyote@**.com"),
            Some(vec![
                "coyote@ACME.Example.com".to_owned(),
                String::new(),
                "ACME.Example".to_owned()
            ])
        );
        assert_eq!(
            caps("a.b.c", "*.*"),
            Some(vec!["a.b.c".into(), "a".into(), "b.c".into()])
        );
        assert_eq!(
            caps("xyz", "?*?"),
            Some(vec!["xyz".into(), "x".into(), "y".into(), "z".into()])
        );
        assert_eq!(caps("abc", "a*d"), None);
    }

    #[test]
    fn regex_captures_and_case() {
        let mut steps = 0;
        let mut out = Vec::new();
        let mut matcher = Matcher::default();
        let ok = matcher.matches(
            Comparator::AsciiCasemap,
            MatchType::Regex,
            "Subject: HELLO world",
            "hello (w(or)ld)?",
            Some(&mut out),
            &mut steps,
        );
        assert_eq!(ok, Ok(true));
        assert_eq!(out, vec!["HELLO world", "world", "or"]);
        assert_eq!(
            matcher.matches(
                Comparator::Octet,
                MatchType::Regex,
                "HELLO",
                "hello",
                None,
                &mut steps
            ),
            Ok(false)
        );
        assert!(matcher
            .matches(
                Comparator::Octet,
                MatchType::Regex,
                "x",
                "(unclosed",
                None,
                &mut steps
            )
            .is_err());
        assert!(matcher
            .matches(
                Comparator::Octet,
                MatchType::Regex,
                "x",
                "a{1000}{1000}{1000}",
                None,
                &mut steps
            )
            .is_err());
        for i in 0..(MAX_CACHED_REGEXES * 2) {
            let key = format!("^{i}$");
            let r = matcher.matches(
                Comparator::Octet,
                MatchType::Regex,
                &i.to_string(),
                &key,
                None,
                &mut steps,
            );
            assert_eq!(r, Ok(true));
        }
        assert!(matcher.regexes.len() <= MAX_CACHED_REGEXES);
    }

    #[test]
    fn address_parts_with_subaddress() {
        let a = "ken+sieve@example.org";
        assert_eq!(address_part(a, AddressPart::All, '+').as_deref(), Some(a));
        assert_eq!(
            address_part(a, AddressPart::LocalPart, '+').as_deref(),
            Some("ken+sieve")
        );
        assert_eq!(
            address_part(a, AddressPart::Domain, '+').as_deref(),
            Some("example.org")
        );
        assert_eq!(
            address_part(a, AddressPart::User, '+').as_deref(),
            Some("ken")
        );
        assert_eq!(
            address_part(a, AddressPart::Detail, '+').as_deref(),
            Some("sieve")
        );
        assert_eq!(address_part("ken@x", AddressPart::Detail, '+'), None);
        assert_eq!(
            address_part("ken@x", AddressPart::User, '+').as_deref(),
            Some("ken")
        );
        assert_eq!(
            address_part("ken+@x", AddressPart::Detail, '+').as_deref(),
            Some("")
        );
        assert_eq!(
            address_part("a+b+c@x", AddressPart::Detail, '+').as_deref(),
            Some("b+c")
        );
        assert_eq!(
            address_part("a-b@x", AddressPart::User, '-').as_deref(),
            Some("a")
        );
        assert_eq!(address_part("root", AddressPart::Domain, '+'), None);
        assert_eq!(
            address_part("root", AddressPart::LocalPart, '+').as_deref(),
            Some("root")
        );
    }

    /// A reference `:matches` by exhaustive recursion, for short inputs only.
    fn reference(tokens: &[Token], value: &[char]) -> bool {
        match tokens.split_first() {
            None => value.is_empty(),
            Some((Token::Star, rest)) => (0..=value.len()).any(|i| reference(rest, &value[i..])),
            Some((Token::One, rest)) => !value.is_empty() && reference(rest, &value[1..]),
            Some((Token::Literal(c), rest)) => {
                value.first() == Some(c) && reference(rest, &value[1..])
            }
        }
    }

    #[test]
    fn contains_without_case_finds_what_lower_casing_finds() {
        for (hay, needle, want) in [
            ("Hello World", "WORLD", true),
            ("Hello World", "world!", false),
            ("", "", true),
            ("abc", "", true),
            ("ab", "abc", false),
            ("xXyY", "xy", true),
            ("caf\u{e9} Cr\u{e8}me", "CR\u{e8}ME", true),
            ("caf\u{e9}", "CAF\u{c9}", false),
        ] {
            assert_eq!(
                contains_ignoring_ascii_case(hay.as_bytes(), needle.as_bytes()),
                want,
                "{hay:?} {needle:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn contains_without_case_agrees_with_lower_casing(
            hay in "[aAbB\u{e9}x]{0,24}",
            needle in "[aAbB\u{e9}]{0,4}",
        ) {
            prop_assert_eq!(
                contains_ignoring_ascii_case(hay.as_bytes(), needle.as_bytes()),
                hay.to_ascii_lowercase().contains(&needle.to_ascii_lowercase())
            );
        }
    }

    proptest! {
        #[test]
        fn matches_never_panics_and_steps_stay_bounded(
            value in "[ab*?\\\\é]{0,40}",
            key in "[ab*?\\\\é]{0,12}",
        ) {
            let mut steps = 0;
            let mut out = Vec::new();
            let r = Matcher::default().matches(
                Comparator::Octet, MatchType::Matches, &value, &key, Some(&mut out), &mut steps,
            );
            prop_assert!(r.is_ok());
            let (v, k) = (value.chars().count() as u64, key.chars().count() as u64);
            prop_assert!(steps <= 4 * (v + 2) * (k + 2), "steps {} for {} x {}", steps, v, k);
            let chars: Vec<char> = value.chars().collect();
            prop_assert_eq!(r == Ok(true), reference(&tokenize(&key), &chars));
            if r == Ok(true) {
                prop_assert_eq!(out.first(), Some(&value));
            }
        }

        #[test]
        fn hostile_star_patterns_are_cheap(n in 1usize..200) {
            let value = "a".repeat(n * 10);
            let key = format!("{}b", "*a".repeat(n));
            let mut steps = 0;
            let r = Matcher::default().matches(
                Comparator::Octet, MatchType::Matches, &value, &key, None, &mut steps,
            );
            prop_assert_eq!(r, Ok(false));
            prop_assert!(steps <= 4 * (value.len() as u64 + 2) * (key.len() as u64 + 2));
        }
    }
}
