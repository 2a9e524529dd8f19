//! RFC 5322 §3.4 address lists, leniently, into the RFC 3501 §7.4.2 / RFC 9051 §7.5.2 ENVELOPE
//! address structure `(name adl mailbox host)`, with group start/end markers.
//!
//! Error recovery is not specified by any RFC; we follow Cyrus: empty list elements are dropped,
//! an unclosed `<` runs to the end, a missing domain becomes `unspecified-domain` (a NIL host
//! would mean "group marker" to the client).

use crate::params::{comment_end, quoted};

/// One ENVELOPE address; `host == None` marks a group (start when `mailbox` is set, end when not).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// The display name (phrase, or the last comment of a bare addr-spec).
    pub name: Option<Vec<u8>>,
    /// The obsolete source route (`@a,@b`), if any.
    pub adl: Option<Vec<u8>>,
    /// The local part, unquoted; for a group start, the group's name.
    pub mailbox: Option<Vec<u8>>,
    /// The domain ([`MISSING_DOMAIN`] when the address had none); `None` for group markers.
    pub host: Option<Vec<u8>>,
}

/// The host an address without a domain gets (a NIL host would mean "group marker").
pub const MISSING_DOMAIN: &[u8] = b"unspecified-domain";

/// Whether an octet belongs to a word (an atom, or a dot-atom: `.` is part of a word here):
/// anything but white space and the specials that end one. A table, since SEARCH asks this of
/// every octet of every address field it reads.
pub(crate) fn is_word_byte(b: u8) -> bool {
    const WORD_END: &[u8] = b" \t\r\n()<>@,;:\\\"[]";
    const TABLE: [bool; 256] = {
        let mut table = [true; 256];
        let mut i = 0;
        while i < WORD_END.len() {
            table[WORD_END[i] as usize] = false;
            i += 1;
        }
        table
    };
    TABLE[usize::from(b)]
}

#[derive(Debug, Clone)]
enum Tok<'a> {
    Word(&'a [u8]),
    /// A quoted string: raw form (with quotes) and unescaped text.
    Quoted(&'a [u8], Vec<u8>),
    /// Inner text of a comment.
    Comment(&'a [u8]),
    /// A domain literal `[...]`, raw.
    Literal(&'a [u8]),
    Special(u8),
}

/// Parses an (unfolded) address-list field value, leniently (never fails).
pub fn parse_list(value: &[u8]) -> Vec<Address> {
    let mut out = Vec::new();
    let mut current: Vec<Tok<'_>> = Vec::new();
    let (mut in_angle, mut in_group) = (false, false);
    for tok in tokenize(value) {
        match tok {
            Tok::Special(b'<') => {
                in_angle = true;
                current.push(tok);
            }
            Tok::Special(b'>') => {
                in_angle = false;
                current.push(tok);
            }
            Tok::Special(b':') if !in_angle && !in_group => {
                let name = phrase(&current).unwrap_or_default();
                out.push(Address {
                    mailbox: Some(name),
                    ..Address::default()
                });
                in_group = true;
                current.clear();
            }
            Tok::Special(b';') if !in_angle => {
                flush(&mut current, &mut out);
                if in_group {
                    out.push(Address::default());
                    in_group = false;
                }
            }
            Tok::Special(b',') if !in_angle => flush(&mut current, &mut out),
            tok => current.push(tok),
        }
    }
    flush(&mut current, &mut out);
    if in_group {
        out.push(Address::default());
    }
    out
}

fn flush(tokens: &mut Vec<Tok<'_>>, out: &mut Vec<Address>) {
    let meaningful = tokens
        .iter()
        .any(|t| !matches!(t, Tok::Comment(_) | Tok::Special(b'>')));
    if meaningful {
        out.push(mailbox(tokens));
    }
    tokens.clear();
}

/// RFC 5322 §3.4 `mailbox = name-addr / addr-spec`.
fn mailbox(tokens: &[Tok<'_>]) -> Address {
    if let Some(lt) = tokens.iter().position(|t| matches!(t, Tok::Special(b'<'))) {
        let rest = &tokens[lt + 1..];
        let gt = rest
            .iter()
            .position(|t| matches!(t, Tok::Special(b'>')))
            .unwrap_or(rest.len());
        let angle = &rest[..gt];
        // RFC 5322 §4.4 obs-route: "@a,@b:" before the addr-spec.
        let (adl, spec) = match angle.iter().position(|t| matches!(t, Tok::Special(b':'))) {
            Some(colon) if matches!(angle.first(), Some(Tok::Special(b'@'))) => {
                (Some(concat(&angle[..colon])), &angle[colon + 1..])
            }
            _ => (None, angle),
        };
        let (mailbox, host) = addr_spec(spec);
        Address {
            name: phrase(&tokens[..lt]),
            adl,
            mailbox: Some(mailbox),
            host: Some(host),
        }
    } else {
        let name = tokens.iter().rev().find_map(|t| match t {
            Tok::Comment(c) => Some(c.to_vec()),
            _ => None,
        });
        let (mailbox, host) = addr_spec(tokens);
        Address {
            name,
            adl: None,
            mailbox: Some(mailbox),
            host: Some(host),
        }
    }
}

/// `local-part "@" domain`; everything after the first `@` is the domain (as Cyrus does).
fn addr_spec(tokens: &[Tok<'_>]) -> (Vec<u8>, Vec<u8>) {
    match tokens.iter().position(|t| matches!(t, Tok::Special(b'@'))) {
        Some(at) => {
            let host = concat(&tokens[at + 1..]);
            let host = if host.is_empty() {
                MISSING_DOMAIN.to_vec()
            } else {
                host
            };
            (local_part(&tokens[..at]), host)
        }
        None => (local_part(tokens), MISSING_DOMAIN.to_vec()),
    }
}

/// RFC 5322 §3.4.1 local-part with quoted strings unquoted, as Dovecot's parser stores it (the
/// client re-quotes when it rebuilds the address).
fn local_part(tokens: &[Tok<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in tokens {
        match t {
            Tok::Quoted(_, text) => out.extend_from_slice(text),
            other => out.extend_from_slice(&concat(std::slice::from_ref(other))),
        }
    }
    out
}

/// The display name: words and quoted strings joined by one space; `None` when empty.
fn phrase(tokens: &[Tok<'_>]) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    for t in tokens {
        let word: &[u8] = match t {
            Tok::Word(w) => w,
            Tok::Quoted(_, text) => text,
            Tok::Literal(l) => l,
            Tok::Special(b'.') => b".",
            _ => continue,
        };
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(word);
    }
    (!out.is_empty()).then_some(out)
}

/// Raw concatenation without comments or whitespace (local parts, domains, routes).
fn concat(tokens: &[Tok<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in tokens {
        match t {
            Tok::Word(w) | Tok::Literal(w) | Tok::Quoted(w, _) => out.extend_from_slice(w),
            Tok::Special(b) => out.push(*b),
            Tok::Comment(_) => {}
        }
    }
    out
}

fn tokenize(s: &[u8]) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < s.len() {
        let b = s[pos];
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            b'(' => {
                let end = comment_end(s, pos);
                let inner_end = if s.get(end.wrapping_sub(1)) == Some(&b')') {
                    end - 1
                } else {
                    end
                };
                out.push(Tok::Comment(&s[pos + 1..inner_end.max(pos + 1)]));
                pos = end;
            }
            b'"' => {
                let (text, end) = quoted(s, pos + 1);
                out.push(Tok::Quoted(&s[pos..end], text));
                pos = end;
            }
            b'[' => {
                let end = s[pos..]
                    .iter()
                    .position(|&c| c == b']')
                    .map_or(s.len(), |i| pos + i + 1);
                out.push(Tok::Literal(&s[pos..end]));
                pos = end;
            }
            b'<' | b'>' | b'@' | b',' | b';' | b':' | b')' | b']' | b'\\' => {
                out.push(Tok::Special(b));
                pos += 1;
            }
            _ => {
                let len = s[pos..]
                    .iter()
                    .position(|&c| !is_word_byte(c))
                    .unwrap_or(s.len() - pos);
                out.push(Tok::Word(&s[pos..pos + len]));
                pos += len;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(name: Option<&str>, mailbox: &str, host: &str) -> Address {
        Address {
            name: name.map(|n| n.as_bytes().to_vec()),
            adl: None,
            mailbox: Some(mailbox.as_bytes().to_vec()),
            host: Some(host.as_bytes().to_vec()),
        }
    }

    #[test]
    fn comments_give_the_name_of_a_bare_addr_spec() {
        let l =
            parse_list(b"(leading) bob (x) @ (y) example.net (trailing), <carol(c)@example.com>");
        assert_eq!(
            l,
            vec![
                addr(Some("trailing"), "bob", "example.net"),
                addr(None, "carol", "example.com")
            ]
        );
        let l = parse_list(b"john@example.com (John (the) Doe)");
        assert_eq!(l, vec![addr(Some("John (the) Doe"), "john", "example.com")]);
    }

    #[test]
    fn groups_have_start_and_end_markers() {
        let l = parse_list(b"Team: \"Bob B.\" <bob@x.net>; , dave@y.com");
        assert_eq!(l.len(), 4);
        assert_eq!(l[0].mailbox.as_deref(), Some(&b"Team"[..]));
        assert_eq!(l[0].host, None);
        assert_eq!(l[1], addr(Some("Bob B."), "bob", "x.net"));
        assert_eq!(l[2], Address::default());
    }

    #[test]
    fn route_and_garbage_recover() {
        let l = parse_list(b"<@a.net,@b.net:joe@c.net>");
        assert_eq!(l[0].adl.as_deref(), Some(&b"@a.net,@b.net"[..]));
        assert_eq!(
            parse_list(b"<broken@example.org"),
            vec![addr(None, "broken", "example.org")]
        );
        assert_eq!(parse_list(b"a@b@c"), vec![addr(None, "a", "b@c")]);
        assert_eq!(parse_list(b",, ,"), vec![]);
        assert_eq!(
            parse_list(b"\"john doe\"@example.com"),
            vec![addr(None, "john doe", "example.com")]
        );
    }
}
