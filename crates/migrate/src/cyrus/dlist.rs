//! Cyrus's `dlist` text (`lib/dlist.c`): the form of a 3.x mailboxes database entry
//! (`%(T e I uniqueid P default V 1700000000 A %(alice lrswipkxtecdan))`), of `cyrus.header`'s
//! last line and of quota files.
//!
//! A value is an atom, a quoted string, a literal (`{N}` or `{N+}` and CRLF, then N octets), a
//! list `( … )` or a key/value list `%( key value … )`. The nesting depth and the input size are
//! bounded by the caller's bytes; the depth by [`MAX_DEPTH`].

/// Deepest nesting accepted.
pub const MAX_DEPTH: usize = 16;

/// One parsed dlist value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Atom(Vec<u8>),
    List(Vec<Value>),
    /// Key/value pairs in file order.
    Map(Vec<(Vec<u8>, Value)>),
}

impl Value {
    /// The value under `key` of a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.as_slice() == key.as_bytes())
                .map(|(_, v)| v),
            Value::Atom(_) | Value::List(_) => None,
        }
    }

    /// An atom as text (lossy for bytes that are not UTF-8).
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Atom(a) => Some(String::from_utf8_lossy(a).into_owned()),
            Value::List(_) | Value::Map(_) => None,
        }
    }

    /// An atom as an unsigned number.
    pub fn number(&self) -> Option<u64> {
        self.text()?.parse().ok()
    }

    /// An atom as a signed number (quota limits use -1 for "none").
    pub fn signed(&self) -> Option<i64> {
        self.text()?.parse().ok()
    }
}

/// Parses one dlist value from the start of `b`; answers it and the octets it took. An error is
/// (offset, what).
pub fn parse(b: &[u8]) -> Result<(Value, usize), (usize, String)> {
    let mut p = Parser { b, at: 0 };
    let v = p.value(0)?;
    Ok((v, p.at))
}

struct Parser<'a> {
    b: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn err<T>(&self, what: &str) -> Result<T, (usize, String)> {
        Err((self.at, what.to_string()))
    }

    fn skip_spaces(&mut self) {
        while self.b.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, (usize, String)> {
        if depth > MAX_DEPTH {
            return self.err("dlist nested too deeply");
        }
        self.skip_spaces();
        match self.b.get(self.at) {
            None => self.err("dlist ends where a value should be"),
            Some(b'%') if self.b.get(self.at + 1) == Some(&b'(') => {
                self.at += 2;
                let mut pairs = Vec::new();
                loop {
                    self.skip_spaces();
                    if self.b.get(self.at) == Some(&b')') {
                        self.at += 1;
                        return Ok(Value::Map(pairs));
                    }
                    let key = match self.value(depth + 1)? {
                        Value::Atom(k) => k,
                        Value::List(_) | Value::Map(_) => return self.err("dlist key is a list"),
                    };
                    let v = self.value(depth + 1)?;
                    pairs.push((key, v));
                }
            }
            Some(b'(') => {
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_spaces();
                    if self.b.get(self.at) == Some(&b')') {
                        self.at += 1;
                        return Ok(Value::List(items));
                    }
                    items.push(self.value(depth + 1)?);
                }
            }
            Some(b'"') => self.quoted(),
            Some(b'{') => self.literal(),
            Some(b')') => self.err("unexpected ')' in dlist"),
            Some(_) => {
                let start = self.at;
                while let Some(&c) = self.b.get(self.at) {
                    if matches!(c, b' ' | b'(' | b')' | b'\r' | b'\n') {
                        break;
                    }
                    self.at += 1;
                }
                Ok(Value::Atom(self.b[start..self.at].to_vec()))
            }
        }
    }

    fn quoted(&mut self) -> Result<Value, (usize, String)> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.b.get(self.at) {
                None => return self.err("unterminated quoted string in dlist"),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(Value::Atom(out));
                }
                Some(b'\\') => {
                    let Some(&c) = self.b.get(self.at + 1) else {
                        return self.err("unterminated quoted string in dlist");
                    };
                    out.push(c);
                    self.at += 2;
                }
                Some(&c) => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }

    fn literal(&mut self) -> Result<Value, (usize, String)> {
        let start = self.at + 1;
        let Some(close) = self.b[start..].iter().position(|&c| c == b'}') else {
            return self.err("unterminated literal length in dlist");
        };
        let digits = &self.b[start..start + close];
        let digits = digits.strip_suffix(b"+").unwrap_or(digits);
        let Some(n) = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            return self.err("bad literal length in dlist");
        };
        let mut at = start + close + 1;
        if self.b.get(at..at + 2) == Some(b"\r\n") {
            at += 2;
        } else if self.b.get(at) == Some(&b'\n') {
            at += 1;
        }
        let Some(body) = at.checked_add(n).and_then(|end| self.b.get(at..end)) else {
            return self.err("literal runs past the end of the dlist");
        };
        self.at = at + n;
        Ok(Value::Atom(body.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_db_entry_of_cyrus_3_6() {
        let text = b"%(T e I 5oibks421hd3iwrxnqtt78bk P default V 1796612040 C 1 F 3 \
M 1796612039 A %(anyone lrs alice lrswipkxtecda bob lrs))";
        let (v, used) = parse(text).unwrap();
        assert_eq!(used, text.len());
        assert_eq!(v.get("P").unwrap().text().unwrap(), "default");
        assert_eq!(v.get("V").unwrap().number(), Some(1796612040));
        let Value::Map(acl) = v.get("A").unwrap() else {
            panic!("ACL is not a map")
        };
        assert_eq!(acl.len(), 3);
        assert_eq!(acl[2], (b"bob".to_vec(), Value::Atom(b"lrs".to_vec())));
    }

    #[test]
    fn quoted_strings_literals_and_lists() {
        let (v, _) = parse(b"%(N \"a \\\"b\\\"\" L {3+}\r\nx y U (one two) E ())").unwrap();
        assert_eq!(v.get("N").unwrap().text().unwrap(), "a \"b\"");
        assert_eq!(v.get("L").unwrap().text().unwrap(), "x y");
        assert_eq!(
            v.get("U"),
            Some(&Value::List(vec![
                Value::Atom(b"one".to_vec()),
                Value::Atom(b"two".to_vec())
            ]))
        );
        assert_eq!(v.get("E"), Some(&Value::List(vec![])));
    }

    #[test]
    fn malformed_input_is_an_error() {
        for bad in [
            &b"%(A"[..],
            b"\"open",
            b"{99}\r\nab",
            b"{x}",
            b")",
            b"%((a) b)",
            &[b'('; 40],
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
