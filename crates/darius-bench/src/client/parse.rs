//! IMAP server responses (RFC 9051 §7, RFC 3501 §7), parsed just far enough for load generation
//! and state checking: status responses with their response codes (APPENDUID, UIDVALIDITY,
//! CAPABILITY, HIGHESTMODSEQ…), EXISTS / EXPUNGE / RECENT, VANISHED (RFC 7162), FETCH (UID,
//! FLAGS, MODSEQ, RFC822.SIZE, ENVELOPE, BODYSTRUCTURE, body sections), SEARCH and CAPABILITY.
//! Everything else is kept as text.
//!
//! Input is one complete response as read from the wire, literals inlined (`{N}\r\n` followed by
//! N bytes), ending in CRLF. This module does no I/O.

use std::fmt;

/// A parsed response value: the generic shape of IMAP data items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Atom(String),
    Number(u64),
    String(Vec<u8>),
    Nil,
    List(Vec<Value>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    Bye,
    Preauth,
}

/// `resp-text-code`: the bracketed code's name (upper case) and its space-separated arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub name: String,
    pub args: Vec<String>,
}

/// The FETCH data items this tool looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchAttrs {
    pub uid: Option<u32>,
    pub flags: Option<Vec<String>>,
    pub size: Option<u32>,
    pub envelope: bool,
    pub bodystructure: bool,
    pub internaldate: bool,
    /// RFC 7162 §3.1.4: `MODSEQ (n)`.
    pub modseq: Option<u64>,
    /// The first body section (`BODY[...]`, `BINARY[...]`, `RFC822`) returned, if any.
    pub body: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untagged {
    Status {
        status: Status,
        code: Option<Code>,
        text: String,
    },
    Exists(u32),
    Expunge(u32),
    Recent(u32),
    Fetch {
        seq: u32,
        attrs: FetchAttrs,
    },
    Search(Vec<u32>),
    /// RFC 7162 §3.2.10: `VANISHED [(EARLIER)] known-uids`, as inclusive UID ranges (low, high)
    /// in the order sent; ranges are not expanded, so `1:4294967295` costs nothing.
    Vanished {
        earlier: bool,
        uids: Vec<(u32, u32)>,
    },
    Capability(Vec<String>),
    /// RFC 2342: the first personal namespace's prefix (`""`, `"INBOX."`) and the first shared
    /// namespace's (`""` on Darius, `"Shared Folders/"` on Cyrus with altnamespace, `"Public/"`
    /// in Dovecot's public namespace); None for NIL.
    Namespace {
        personal: Option<String>,
        shared: Option<String>,
    },
    /// RFC 9051 §7.3.1: `LIST (attributes) delimiter name` (extended data after it ignored).
    List {
        attributes: Vec<String>,
        delimiter: Option<char>,
        name: String,
    },
    /// RFC 9051 §7.3.4: `STATUS name (ITEM n …)`.
    StatusData {
        name: String,
        items: Vec<(String, u64)>,
    },
    /// RFC 9208 §5.1: `QUOTA root (RESOURCE usage limit …)`; an empty list for a root without
    /// limits.
    Quota {
        root: String,
        resources: Vec<QuotaResource>,
    },
    Other(String),
}

/// One resource of a QUOTA response (RFC 9208 §5.1): its name (upper case), usage and limit
/// (STORAGE in units of 1024 octets, MESSAGE in messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaResource {
    pub name: String,
    pub usage: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Continuation(String),
    Tagged {
        tag: String,
        status: Status,
        code: Option<Code>,
        text: String,
    },
    Untagged(Untagged),
}

/// A response the parser could not make sense of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed response: {}", self.0)
    }
}

impl std::error::Error for Malformed {}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        matches!(self.peek(), None | Some(b'\r') | Some(b'\n'))
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn error(&self, what: &str) -> Malformed {
        let shown = String::from_utf8_lossy(&self.buf[..self.buf.len().min(200)]);
        Malformed(format!(
            "{what} at byte {} in {:?}",
            self.pos,
            shown.trim_end()
        ))
    }

    /// The rest of the line (without CRLF), as text.
    fn rest(&mut self) -> String {
        let start = self.pos;
        while !self.at_end() {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.buf[start..self.pos]).into_owned()
    }

    /// An atom-like token; `[`…`]` inside it is taken whole (`BODY[HEADER.FIELDS (A B)]<0>`).
    fn atom(&mut self) -> Result<String, Malformed> {
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'[' => depth += 1,
                b']' if depth > 0 => depth -= 1,
                b'\r' | b'\n' => break,
                b' ' | b'(' | b')' | b'{' | b'"' if depth == 0 => break,
                b']' => break,
                _ => {}
            }
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("expected an atom"));
        }
        Ok(String::from_utf8_lossy(&self.buf[start..self.pos]).into_owned())
    }

    fn number(&mut self) -> Result<u32, Malformed> {
        let tok = self.atom()?;
        tok.parse().map_err(|_| self.error("expected a number"))
    }

    fn quoted(&mut self) -> Result<Vec<u8>, Malformed> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\r') | Some(b'\n') => return Err(self.error("unterminated quoted")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.peek().ok_or_else(|| self.error("bad escape"))?;
                    out.push(c);
                    self.pos += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// `literal = "{" number64 ["+"] "}" CRLF *CHAR8`
    fn literal(&mut self) -> Result<Vec<u8>, Malformed> {
        self.pos += 1;
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let len: usize = std::str::from_utf8(&self.buf[start..self.pos])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| self.error("bad literal length"))?;
        if self.peek() == Some(b'+') {
            self.pos += 1;
        }
        if self.buf.get(self.pos..self.pos + 3) != Some(b"}\r\n") {
            return Err(self.error("bad literal header"));
        }
        self.pos += 3;
        let data = self
            .buf
            .get(self.pos..self.pos + len)
            .ok_or_else(|| self.error("short literal"))?;
        self.pos += len;
        Ok(data.to_vec())
    }

    fn value(&mut self) -> Result<Value, Malformed> {
        self.skip_spaces();
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_spaces();
                    match self.peek() {
                        Some(b')') => {
                            self.pos += 1;
                            return Ok(Value::List(items));
                        }
                        None | Some(b'\r') | Some(b'\n') => {
                            return Err(self.error("unterminated list"))
                        }
                        _ => items.push(self.value()?),
                    }
                }
            }
            Some(b'"') => Ok(Value::String(self.quoted()?)),
            Some(b'{') => Ok(Value::String(self.literal()?)),
            _ => {
                let tok = self.atom()?;
                if tok.eq_ignore_ascii_case("NIL") {
                    Ok(Value::Nil)
                } else if let Ok(n) = tok.parse::<u64>() {
                    Ok(Value::Number(n))
                } else {
                    Ok(Value::Atom(tok))
                }
            }
        }
    }

    /// `resp-text = ["[" resp-text-code "]" SP] text`
    fn resp_text(&mut self) -> (Option<Code>, String) {
        self.skip_spaces();
        let mut code = None;
        if self.peek() == Some(b'[') {
            self.pos += 1;
            let start = self.pos;
            let mut depth = 0usize;
            while let Some(c) = self.peek() {
                match c {
                    b'(' => depth += 1,
                    b')' => depth = depth.saturating_sub(1),
                    b']' if depth == 0 => break,
                    b'\r' | b'\n' => break,
                    _ => {}
                }
                self.pos += 1;
            }
            let inner = String::from_utf8_lossy(&self.buf[start..self.pos]).into_owned();
            if self.peek() == Some(b']') {
                self.pos += 1;
            }
            let mut parts = inner.split_whitespace().map(str::to_owned);
            let name = parts.next().unwrap_or_default().to_ascii_uppercase();
            code = Some(Code {
                name,
                args: parts.collect(),
            });
            self.skip_spaces();
        }
        (code, self.rest())
    }
}

fn status_of(word: &str) -> Option<Status> {
    match word.to_ascii_uppercase().as_str() {
        "OK" => Some(Status::Ok),
        "NO" => Some(Status::No),
        "BAD" => Some(Status::Bad),
        "BYE" => Some(Status::Bye),
        "PREAUTH" => Some(Status::Preauth),
        _ => None,
    }
}

/// Parses one complete response (literals inlined, CRLF at the end).
pub fn parse_response(buf: &[u8]) -> Result<Response, Malformed> {
    let mut c = Cursor { buf, pos: 0 };
    match c.peek() {
        Some(b'+') => {
            c.pos += 1;
            c.skip_spaces();
            Ok(Response::Continuation(c.rest()))
        }
        Some(b'*') => {
            c.pos += 1;
            if c.peek() != Some(b' ') {
                return Err(c.error("expected SP after *"));
            }
            c.skip_spaces();
            parse_untagged(&mut c).map(Response::Untagged)
        }
        Some(_) => {
            let tag = c.atom()?;
            c.skip_spaces();
            let word = c.atom()?;
            let status = status_of(&word)
                .filter(|s| matches!(s, Status::Ok | Status::No | Status::Bad))
                .ok_or_else(|| c.error("expected OK, NO or BAD after the tag"))?;
            let (code, text) = c.resp_text();
            Ok(Response::Tagged {
                tag,
                status,
                code,
                text,
            })
        }
        None => Err(c.error("empty response")),
    }
}

fn parse_untagged(c: &mut Cursor<'_>) -> Result<Untagged, Malformed> {
    let first = c.atom()?;
    if let Some(status) = status_of(&first) {
        let (code, text) = c.resp_text();
        return Ok(Untagged::Status { status, code, text });
    }
    if let Ok(n) = first.parse::<u32>() {
        c.skip_spaces();
        let kind = c.atom()?.to_ascii_uppercase();
        return match kind.as_str() {
            "EXISTS" => Ok(Untagged::Exists(n)),
            "EXPUNGE" => Ok(Untagged::Expunge(n)),
            "RECENT" => Ok(Untagged::Recent(n)),
            "FETCH" => {
                let attrs = parse_fetch(c)?;
                Ok(Untagged::Fetch { seq: n, attrs })
            }
            _ => Ok(Untagged::Other(format!("{n} {kind} {}", c.rest()))),
        };
    }
    match first.to_ascii_uppercase().as_str() {
        "SEARCH" => {
            let mut nums = Vec::new();
            loop {
                c.skip_spaces();
                if c.at_end() || c.peek() == Some(b'(') {
                    break; // `(MODSEQ n)` after the numbers (RFC 7162) is ignored
                }
                nums.push(c.number()?);
            }
            Ok(Untagged::Search(nums))
        }
        "NAMESPACE" => {
            let personal = first_prefix(c.value()?);
            let _other = c.value()?;
            let shared = first_prefix(c.value()?);
            Ok(Untagged::Namespace { personal, shared })
        }
        "LIST" | "LSUB" => {
            let Value::List(attrs) = c.value()? else {
                return Err(c.error("LIST without attributes"));
            };
            let attributes = attrs
                .into_iter()
                .filter_map(|a| match a {
                    Value::Atom(a) => Some(a),
                    _ => None,
                })
                .collect();
            let delimiter = match c.value()? {
                Value::String(d) if d.len() == 1 => Some(char::from(d[0])),
                Value::Nil => None,
                _ => return Err(c.error("LIST without a delimiter")),
            };
            let name = mailbox_value(c.value()?).ok_or_else(|| c.error("LIST without a name"))?;
            Ok(Untagged::List {
                attributes,
                delimiter,
                name,
            })
        }
        "STATUS" => {
            let name =
                mailbox_value(c.value()?).ok_or_else(|| c.error("STATUS without a mailbox"))?;
            let Value::List(list) = c.value()? else {
                return Err(c.error("STATUS without a list"));
            };
            let mut items = Vec::new();
            let mut it = list.into_iter();
            while let (Some(Value::Atom(k)), Some(Value::Number(n))) = (it.next(), it.next()) {
                items.push((k.to_ascii_uppercase(), n));
            }
            Ok(Untagged::StatusData { name, items })
        }
        "VANISHED" => {
            c.skip_spaces();
            let mut earlier = false;
            if c.peek() == Some(b'(') {
                match c.value()? {
                    Value::List(tags)
                        if tags.len() == 1
                            && matches!(&tags[0], Value::Atom(a) if a.eq_ignore_ascii_case("EARLIER")) =>
                    {
                        earlier = true;
                    }
                    _ => return Err(c.error("VANISHED with an unknown tag")),
                }
                c.skip_spaces();
            }
            let set = c.atom()?;
            let uids = uid_set(&set).ok_or_else(|| c.error("VANISHED without a UID set"))?;
            Ok(Untagged::Vanished { earlier, uids })
        }
        "QUOTA" => {
            let root =
                mailbox_value(c.value()?).ok_or_else(|| c.error("QUOTA without a root name"))?;
            let Value::List(list) = c.value()? else {
                return Err(c.error("QUOTA without a resource list"));
            };
            if list.len() % 3 != 0 {
                return Err(c.error("QUOTA resources come in threes"));
            }
            let mut resources = Vec::with_capacity(list.len() / 3);
            let mut it = list.into_iter();
            while let (Some(name), Some(usage), Some(limit)) = (it.next(), it.next(), it.next()) {
                let (Value::Atom(name), Value::Number(usage), Value::Number(limit)) =
                    (name, usage, limit)
                else {
                    return Err(c.error("QUOTA resource is not `name usage limit`"));
                };
                resources.push(QuotaResource {
                    name: name.to_ascii_uppercase(),
                    usage,
                    limit,
                });
            }
            Ok(Untagged::Quota { root, resources })
        }
        "CAPABILITY" => Ok(Untagged::Capability(
            c.rest().split_whitespace().map(str::to_owned).collect(),
        )),
        _ => Ok(Untagged::Other(format!("{first} {}", c.rest()))),
    }
}

/// The prefix of a namespace list's first entry: `(("prefix" "delim") …)`; None for NIL.
fn first_prefix(v: Value) -> Option<String> {
    match v {
        Value::List(spaces) => match spaces.into_iter().next() {
            Some(Value::List(first)) => match first.into_iter().next() {
                Some(Value::String(p)) => Some(String::from_utf8_lossy(&p).into_owned()),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// A mailbox name as sent: an atom (`INBOX`, or digits), a quoted string or a literal.
fn mailbox_value(v: Value) -> Option<String> {
    match v {
        Value::Atom(a) => Some(a),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(String::from_utf8_lossy(&s).into_owned()),
        _ => None,
    }
}

/// `msg-att = "(" (msg-att-dynamic / msg-att-static) *(SP …) ")"`
fn parse_fetch(c: &mut Cursor<'_>) -> Result<FetchAttrs, Malformed> {
    let Value::List(items) = c.value()? else {
        return Err(c.error("FETCH without a parenthesised list"));
    };
    let mut attrs = FetchAttrs::default();
    let mut it = items.into_iter();
    while let Some(name) = it.next() {
        let Value::Atom(name) = name else {
            return Err(c.error("FETCH item name is not an atom"));
        };
        let value = it
            .next()
            .ok_or_else(|| c.error("FETCH item without a value"))?;
        let upper = name.to_ascii_uppercase();
        match (upper.as_str(), value) {
            ("UID", Value::Number(n)) => attrs.uid = u32::try_from(n).ok(),
            ("RFC822.SIZE", Value::Number(n)) => attrs.size = u32::try_from(n).ok(),
            ("FLAGS", Value::List(flags)) => attrs.flags = Some(flag_list(flags)),
            ("ENVELOPE", Value::List(_)) => attrs.envelope = true,
            ("BODYSTRUCTURE" | "BODY", Value::List(_)) => attrs.bodystructure = true,
            ("INTERNALDATE", Value::String(_)) => attrs.internaldate = true,
            ("MODSEQ", Value::List(m)) => match m.as_slice() {
                [Value::Number(n)] => attrs.modseq = Some(*n),
                _ => return Err(c.error("FETCH MODSEQ is not (number)")),
            },
            (n, v)
                if attrs.body.is_none()
                    && (n.starts_with("BODY[") || n.starts_with("BINARY[") || n == "RFC822") =>
            {
                attrs.body = Some(match v {
                    Value::String(s) => s,
                    _ => Vec::new(), // NIL: the section does not exist
                });
            }
            ("UID" | "RFC822.SIZE" | "FLAGS" | "ENVELOPE" | "BODYSTRUCTURE" | "MODSEQ", _) => {
                return Err(c.error(&format!("FETCH {upper} has the wrong type")));
            }
            _ => {}
        }
    }
    Ok(attrs)
}

fn flag_list(flags: Vec<Value>) -> Vec<String> {
    flags
        .into_iter()
        .filter_map(|f| match f {
            Value::Atom(a) => Some(a),
            _ => None,
        })
        .collect()
}

/// `sequence-set` of UIDs without `*` (RFC 7162's `known-uids`, RFC 4315's `uid-set`): inclusive
/// ranges, each (low, high) whatever order the server wrote them in; None unless every element
/// is a nonzero number or `a:b` of two.
pub fn uid_set(text: &str) -> Option<Vec<(u32, u32)>> {
    let num = |s: &str| s.parse::<u32>().ok().filter(|&n| n > 0);
    text.split(',')
        .map(|part| match part.split_once(':') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                Some((a.min(b), a.max(b)))
            }
            None => num(part).map(|n| (n, n)),
        })
        .collect()
}

/// If `line` (ending in CRLF) announces a literal (`{N}` or `{N+}` before the CRLF), its length.
pub fn literal_announced(line: &[u8]) -> Option<usize> {
    let body = line
        .strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))?;
    let body = body.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
