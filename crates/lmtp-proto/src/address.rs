//! Paths (RFC 5321 §4.1.2), one function per ABNF rule, with the liberties LMTP needs: the
//! domain is optional (`<user>`), dots in a local part need not separate atoms (`a..b`, as
//! Postfix accepts), the angle brackets may be missing (`MAIL FROM:a@b`), and UTF-8 is allowed in
//! local parts and domains (RFC 6531). Whether an 8-bit address needs SMTPUTF8 is the server's
//! call.

use crate::command::{is_atext, Address};

/// A position in the argument text of a command line.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    pub(crate) fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let len = rest.find(|c| !pred(c)).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }
}

/// Why a path could not be read; the caller picks the enhanced code (5.1.7 or 5.1.3).
pub(crate) type PathError = &'static str;

/// `Reverse-path / Forward-path = Path / "<>"`, `Path = "<" [ A-d-l ":" ] Mailbox ">"`, or a bare
/// `Mailbox` without brackets. `None` is the null path.
pub(crate) fn path(c: &mut Cursor) -> Result<Option<Address>, PathError> {
    if !c.eat('<') {
        return mailbox(c).map(Some);
    }
    if c.eat('>') {
        return Ok(None);
    }
    if c.peek() == Some('@') {
        a_d_l(c)?;
    }
    let address = mailbox(c)?;
    if !c.eat('>') {
        return Err("expected '>' at the end of the address");
    }
    Ok(Some(address))
}

/// `A-d-l = At-domain *( "," At-domain ) ":"`: a source route, read and dropped
/// (RFC 5321 §4.1.1.3, Appendix C).
fn a_d_l(c: &mut Cursor) -> Result<(), PathError> {
    loop {
        if !c.eat('@') {
            return Err("malformed source route");
        }
        domain(c)?;
        if c.eat(':') {
            return Ok(());
        }
        if !c.eat(',') {
            return Err("malformed source route");
        }
    }
}

/// `Mailbox = Local-part [ "@" ( Domain / address-literal ) ]` (domain optional for LMTP).
fn mailbox(c: &mut Cursor) -> Result<Address, PathError> {
    let local = local_part(c)?;
    let domain = if c.eat('@') { Some(domain(c)?) } else { None };
    Ok(Address { local, domain })
}

/// `Local-part = Dot-string / Quoted-string`.
fn local_part(c: &mut Cursor) -> Result<String, PathError> {
    if c.peek() == Some('"') {
        quoted_string(c)
    } else {
        dot_string(c)
    }
}

/// `Dot-string = Atom *("." Atom)`, liberal about where the dots fall.
fn dot_string(c: &mut Cursor) -> Result<String, PathError> {
    let text = c.take_while(|ch| ch == '.' || is_atext(ch));
    if text.is_empty() {
        return Err("missing local part");
    }
    Ok(text.to_owned())
}

/// `Quoted-string = DQUOTE *QcontentSMTP DQUOTE`, decoded.
fn quoted_string(c: &mut Cursor) -> Result<String, PathError> {
    c.bump();
    let mut out = String::new();
    loop {
        match c.bump() {
            None => return Err("unterminated quoted local part"),
            Some('"') => return Ok(out),
            // `quoted-pairSMTP = %d92 %d32-126`
            Some('\\') => match c.bump() {
                Some(ch) if is_quotable(ch) => out.push(ch),
                _ => return Err("invalid quoted pair in local part"),
            },
            Some(ch) if is_qtext(ch) => out.push(ch),
            Some(_) => return Err("invalid character in quoted local part"),
        }
    }
}

/// `qtextSMTP = %d32-33 / %d35-91 / %d93-126 / UTF8-non-ascii`.
fn is_qtext(c: char) -> bool {
    matches!(c, ' ' | '!' | '#'..='[' | ']'..='~') || (!c.is_ascii() && !c.is_control())
}

fn is_quotable(c: char) -> bool {
    matches!(c, ' '..='~') || (!c.is_ascii() && !c.is_control())
}

/// `Domain = sub-domain *("." sub-domain)` or an `address-literal`.
fn domain(c: &mut Cursor) -> Result<String, PathError> {
    if c.peek() == Some('[') {
        return address_literal(c);
    }
    let text = c.take_while(|ch| ch == '.' || is_domain_char(ch));
    if text.is_empty() {
        return Err("missing domain");
    }
    if text.split('.').any(str::is_empty) {
        return Err("empty label in domain");
    }
    Ok(text.to_owned())
}

/// `Let-dig / "-"`, plus `_` (seen in the wild) and UTF-8 for U-labels (RFC 6531).
fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || (!c.is_ascii() && !c.is_control())
}

/// `address-literal = "[" ( IPv4 / IPv6 / General ) "]"`, kept with its brackets; the content is
/// checked only against `dcontent = %d33-90 / %d94-126`.
fn address_literal(c: &mut Cursor) -> Result<String, PathError> {
    c.bump();
    let inner = c.take_while(|ch| matches!(ch, '!'..='Z' | '^'..='~'));
    if inner.is_empty() || !c.eat(']') {
        return Err("malformed address literal");
    }
    Ok(format!("[{inner}]"))
}
