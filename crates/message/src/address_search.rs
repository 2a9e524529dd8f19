//! The parsed form of an address field that SEARCH FROM/TO/CC/BCC compare besides the field as
//! written (RFC 3501 §6.4.4 asks for a substring of the field; a client searching for
//! `user@domain.org` means the address, however the field spells it).
//!
//! Each mailbox reads `name <local@domain>` (`<local@domain>` without a name), a group
//! `name: members;`, items joined by `, `: comments and folding white space are gone (RFC 5322
//! §3.4 CFWS, with the obsolete forms of §4.4 the parser accepts: spaces around `.` and `@`,
//! routes, empty list elements) and quoted strings are unquoted. So
//! `<user-from (comment)@ (comment) domain.org>` reads `<user-from@domain.org>`. Cyrus (its
//! cached search addresses) and Dovecot (its normalised address header search) match a form of
//! this shape too.
//!
//! Most fields are written in that form already (`Name <user@domain>`); for them the form is not
//! built at all, so a header search pays one pass over the field, not a parse.

use crate::address::{is_word_byte, parse_list, MISSING_DOMAIN};

/// The search form of an address-list field value (unfolded or not), or `None` when the value
/// already reads exactly as its form, so comparing the form could find nothing new.
///
/// RFC 2047 encoded words are taken as they are: SEARCH passes the value it has already
/// decoded, so display names compare decoded without a second decoding (which would cost as
/// much as the parse).
pub fn address_search_form(value: &str) -> Option<String> {
    if is_search_form(value.as_bytes()) {
        return None;
    }
    Some(search_form(value.as_bytes()))
}

/// The search form, always built (see the module documentation).
pub(crate) fn search_form(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    // What goes before the next item: nothing first, ", " between items, " " after a group's
    // colon.
    let mut sep = "";
    for a in parse_list(value) {
        match (&a.host, &a.mailbox) {
            (None, Some(group)) => {
                out.push_str(sep);
                out.push_str(&String::from_utf8_lossy(group));
                out.push(':');
                sep = " ";
            }
            (None, None) => {
                out.push(';');
                sep = ", ";
            }
            (Some(host), mailbox) => {
                out.push_str(sep);
                if let Some(name) = &a.name {
                    out.push_str(&String::from_utf8_lossy(name));
                    out.push(' ');
                }
                out.push('<');
                if let Some(adl) = &a.adl {
                    out.push_str(&String::from_utf8_lossy(adl));
                    out.push(':');
                }
                out.push_str(&String::from_utf8_lossy(
                    mailbox.as_deref().unwrap_or_default(),
                ));
                if host != MISSING_DOMAIN {
                    out.push('@');
                    out.push_str(&String::from_utf8_lossy(host));
                }
                out.push('>');
                sep = ", ";
            }
        }
    }
    out
}

/// Whether `value` is already its own search form: one or more `[phrase ]<address>` items
/// joined by `, `, the phrase words of word octets separated by single spaces, the address of
/// word octets and `@` without a trailing `@`, nothing before or after. One pass, no allocation;
/// the property test below checks that [`search_form`] gives such a value back unchanged.
fn is_search_form(value: &[u8]) -> bool {
    let word = |b: &u8| is_word_byte(*b);
    let mut rest = value;
    loop {
        let Some(lt) = rest.iter().position(|&b| b == b'<') else {
            return false;
        };
        let phrase = &rest[..lt];
        if !phrase.is_empty() {
            let Some(words) = phrase.strip_suffix(b" ") else {
                return false;
            };
            if !words
                .split(|&b| b == b' ')
                .all(|w| !w.is_empty() && w.iter().all(word))
            {
                return false;
            }
        }
        let tail = &rest[lt + 1..];
        let Some(gt) = tail.iter().position(|&b| b == b'>') else {
            return false;
        };
        let address = &tail[..gt];
        if address.last() == Some(&b'@') || !address.iter().all(|b| *b == b'@' || word(b)) {
            return false;
        }
        rest = &tail[gt + 1..];
        if rest.is_empty() {
            return true;
        }
        let Some(next) = rest.strip_prefix(b", ") else {
            return false;
        };
        rest = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn comments_spacing_and_quotes_are_gone() {
        let cases: [(&str, &str); 7] = [
            (
                "<user-from (comment)@ (comment) domain.org>",
                "<user-from@domain.org>",
            ),
            (
                "(leading) bob (x) @ (y) example.net (trailing), <carol(c)@example.com>",
                "trailing <bob@example.net>, <carol@example.com>",
            ),
            // RFC 5322 §4.4 obs-local-part and obs-domain.
            ("john . doe @ example . org", "<john.doe@example.org>"),
            ("Bob\r\n <bob@\r\n example.net>", "Bob <bob@example.net>"),
            (
                "Andr\u{e9}  P\u{e9}rez <andre @ example.fr>",
                "Andr\u{e9} P\u{e9}rez <andre@example.fr>",
            ),
            ("\"Doe, John\" <jd@x.org>", "Doe, John <jd@x.org>"),
            (
                "=?iso-8859-1?Q?Andr=E9?=  <andre@example.fr>",
                "=?iso-8859-1?Q?Andr=E9?= <andre@example.fr>",
            ),
        ];
        for (value, form) in cases {
            assert_eq!(address_search_form(value).as_deref(), Some(form), "{value}");
        }
    }

    #[test]
    fn groups_routes_bare_and_missing_domains() {
        let cases: [(&str, &str); 5] = [
            (
                "Team Blue: \"Bob B.\" <bob@example.net>, carol@example.com; , dave@example.com",
                "Team Blue: Bob B. <bob@example.net>, <carol@example.com>;, <dave@example.com>",
            ),
            ("Nobody:;", "Nobody:;"),
            ("<@a.net,@b.net:joe@c.net>", "<@a.net,@b.net:joe@c.net>"),
            ("joe", "<joe>"),
            (",, ,", ""),
        ];
        for (value, form) in cases {
            assert_eq!(address_search_form(value).as_deref(), Some(form), "{value}");
        }
    }

    #[test]
    fn a_value_in_search_form_is_not_parsed_again() {
        for value in [
            "Walter Jones <wjones@example.com>",
            "<a@b>",
            "J. R. R. T\u{f6}lkien <jrrt@x.org>, <b@c>",
            "<@x>",
            "<a@b@c>",
            "<>",
            "=?iso-8859-1?Q?Andr=E9?= <andre@example.fr>",
        ] {
            assert!(is_search_form(value.as_bytes()), "{value}");
            assert_eq!(search_form(value.as_bytes()), value);
            assert_eq!(address_search_form(value), None);
        }
        for value in [
            "a@b",
            "Walter  Jones <w@x>",
            " W <w@x>",
            "W<w@x>",
            "<w@x> ",
            "<w@x>,<y@z>",
            "<w@>",
            "<w @x>",
            "\"W\" <w@x>",
            "W <w@x>, ",
            "",
        ] {
            assert!(!is_search_form(value.as_bytes()), "{value:?}");
        }
    }

    /// Values built from the octets that matter to the parser, and values shaped like the
    /// search form with some of those octets mixed in (about a third of all values are their
    /// own form).
    fn value() -> impl Strategy<Value = String> {
        let atom = prop::sample::select(vec![
            "a", "b", "x.y", "\u{e9}", " ", "  ", "<", ">", "@", ",", ", ", "(", ")", "\"", ":",
            ";", "\\", "[", "]", "\t", "\r\n ", "=?", ".",
        ]);
        let soup = prop::collection::vec(atom.clone(), 0..12).prop_map(|v| v.concat());
        let clean = prop::sample::select(vec!["a", "b", "x.y", "\u{e9}", "=?", "."]);
        let piece = prop_oneof![12 => clean, 1 => atom];
        let word = prop::collection::vec(piece, 1..3).prop_map(|v| v.concat());
        let item = (
            prop::collection::vec(word.clone(), 0..3),
            word.clone(),
            word,
        )
            .prop_map(|(phrase, local, domain)| {
                let phrase = phrase.join(" ");
                let sep = if phrase.is_empty() { "" } else { " " };
                format!("{phrase}{sep}<{local}@{domain}>")
            });
        let shaped = prop::collection::vec(item, 1..3).prop_map(|v| v.join(", "));
        prop_oneof![soup, shaped]
    }

    proptest! {
        #[test]
        fn only_values_that_are_their_own_form_skip_the_parse(v in value()) {
            if is_search_form(v.as_bytes()) {
                prop_assert_eq!(search_form(v.as_bytes()), v);
            }
        }
    }
}
