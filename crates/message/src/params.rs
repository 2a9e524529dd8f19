//! Structured MIME fields: `Content-Type` (RFC 2045 §5.1), `Content-Disposition` (RFC 2183),
//! `Content-Transfer-Encoding` (RFC 2045 §6.1), `Content-Language` (RFC 3282), and RFC 2231
//! parameter continuations.
//!
//! Lenient by design: a field that does not parse yields `None` and the caller applies the
//! RFC 2045 §5.2 default. Never fails, never panics.

use std::collections::HashMap;

use crate::header::trim_wsp_end;

/// A parameter: attribute (upper-cased, as Cyrus sends it) and value (as written, unquoted).
pub(crate) type Param = (Vec<u8>, Vec<u8>);

/// A parsed `Content-Type` or `Content-Disposition`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Structured {
    /// Upper-cased media type or disposition type.
    pub kind: String,
    /// Upper-cased subtype (empty for a disposition).
    pub subtype: String,
    pub params: Vec<Param>,
}

impl Structured {
    /// The value of parameter `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }
}

/// RFC 2045 §5.1 `type "/" subtype *(";" parameter)`; `None` when type or subtype is missing.
pub(crate) fn content_type(value: &[u8]) -> Option<Structured> {
    let mut pos = cfws(value, 0);
    let (kind, p) = token(value, pos);
    pos = cfws(value, p);
    if kind.is_empty() || value.get(pos) != Some(&b'/') {
        return None;
    }
    pos = cfws(value, pos + 1);
    let (subtype, p) = token(value, pos);
    if subtype.is_empty() {
        return None;
    }
    Some(Structured {
        kind: upper(kind),
        subtype: upper(subtype),
        params: continuations(parameters(value, p)),
    })
}

/// RFC 2183 `disposition-type *(";" disposition-parm)`; `None` when there is no type.
pub(crate) fn disposition(value: &[u8]) -> Option<Structured> {
    let pos = cfws(value, 0);
    let (kind, p) = token(value, pos);
    if kind.is_empty() {
        return None;
    }
    let params = continuations(parameters(value, p));
    Some(Structured {
        kind: upper(kind),
        subtype: String::new(),
        params,
    })
}

/// RFC 2045 §6.1 mechanism token, upper-cased, comments dropped; `None` when empty or followed
/// by anything but comments (both reference servers then ignore the field: 7bit).
pub(crate) fn transfer_encoding(value: &[u8]) -> Option<String> {
    let (tok, end) = token(value, cfws(value, 0));
    (!tok.is_empty() && cfws(value, end) == value.len()).then(|| upper(tok))
}

/// RFC 3282 `Language-List`: the tags, comments and commas dropped.
pub(crate) fn languages(value: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < value.len() {
        pos = cfws(value, pos);
        let (tok, p) = token(value, pos);
        if tok.is_empty() {
            pos = p.max(pos + 1);
        } else {
            out.push(tok.to_vec());
            pos = p;
        }
    }
    out
}

/// `*(";" parameter)` (RFC 2045 §5.1), leniently as Cyrus parses it: a malformed parameter is
/// skipped up to the next `;`, and an unquoted value may hold spaces and tspecials (boundaries
/// like `----=_Part`, bare file names) up to `;` or a comment.
fn parameters(s: &[u8], mut pos: usize) -> Vec<Param> {
    let mut out = Vec::new();
    loop {
        pos = cfws(s, pos);
        while s.get(pos) == Some(&b';') {
            pos = cfws(s, pos + 1);
        }
        if pos >= s.len() {
            return out;
        }
        let (attr, p) = token(s, pos);
        let p = cfws(s, p);
        if attr.is_empty() || s.get(p) != Some(&b'=') {
            pos = skip_past(s, p.max(pos + 1), b';');
            continue;
        }
        pos = cfws(s, p + 1);
        let value = if s.get(pos) == Some(&b'"') {
            let (v, p) = quoted(s, pos + 1);
            pos = p;
            v
        } else {
            let start = pos;
            while pos < s.len() && s[pos] != b';' && s[pos] != b'(' {
                pos += 1;
            }
            let raw = trim_wsp_end(&s[start..pos]);
            raw.iter()
                .copied()
                .filter(|&b| b != b'\r' && b != b'\n')
                .collect()
        };
        pos = cfws(s, pos);
        if pos < s.len() && s[pos] != b';' {
            // Something after the value that is not the next parameter: drop this one.
            pos = skip_past(s, pos, b';');
            continue;
        }
        out.push((attr.to_ascii_uppercase(), value));
    }
}

/// One RFC 2231 segment: its number, whether it is extended (`*n*`), and its value.
type Segment = (u32, bool, Vec<u8>);

/// RFC 2231 §3: joins `name*0`, `name*1`… into one parameter. Like both reference servers we
/// keep the `*` and the charset'language'%XX form when a segment is extended, and leave the
/// segments alone when they are not numbered 0..n without gaps (RFC 2231 §3 requires that),
/// sorted by number as Dovecot does.
fn continuations(params: Vec<Param>) -> Vec<Param> {
    // Indexed by base name, so a hostile header with many parameters stays linear.
    let mut groups: Vec<(Vec<u8>, Vec<Segment>)> = Vec::new();
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    // Output slots: a plain parameter, or the group that goes where its first segment was.
    let mut slots: Vec<Result<Param, usize>> = Vec::with_capacity(params.len());
    for (attr, value) in params {
        let Some((base, n, extended)) = split_section(&attr) else {
            slots.push(Ok((attr, value)));
            continue;
        };
        match index.get(base) {
            Some(&g) => groups[g].1.push((n, extended, value)),
            None => {
                index.insert(base.to_vec(), groups.len());
                slots.push(Err(groups.len()));
                groups.push((base.to_vec(), vec![(n, extended, value)]));
            }
        }
    }
    let mut result = Vec::with_capacity(slots.len());
    for slot in slots {
        match slot {
            Ok(param) => result.push(param),
            Err(g) => join_segments(std::mem::take(&mut groups[g]), &mut result),
        }
    }
    result
}

/// Appends the joined parameter, or the raw segments when they are not 0..n.
fn join_segments((base, mut segs): (Vec<u8>, Vec<Segment>), out: &mut Vec<Param>) {
    segs.sort_by_key(|s| s.0);
    if segs.iter().enumerate().all(|(i, s)| s.0 as usize == i) {
        let mut name = base;
        if segs.first().is_some_and(|s| s.1) {
            name.push(b'*');
        }
        out.push((name, segs.into_iter().flat_map(|s| s.2).collect()));
        return;
    }
    for (n, extended, value) in segs {
        let mut name = base.clone();
        name.extend_from_slice(format!("*{n}").as_bytes());
        if extended {
            name.push(b'*');
        }
        out.push((name, value));
    }
}

/// `NAME*3` -> (NAME, 3, false); `NAME*3*` -> (NAME, 3, true); anything else -> None.
fn split_section(attr: &[u8]) -> Option<(&[u8], u32, bool)> {
    let (attr, extended) = match attr.strip_suffix(b"*") {
        Some(a) => (a, true),
        None => (attr, false),
    };
    let star = attr.iter().rposition(|&b| b == b'*')?;
    let digits = &attr[star + 1..];
    if digits.is_empty() || digits.len() > 3 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((&attr[..star], n, extended))
}

/// Skips whitespace, line ends and (nested) RFC 5322 §3.2.2 comments.
pub(crate) fn cfws(s: &[u8], mut pos: usize) -> usize {
    while pos < s.len() {
        match s[pos] {
            b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            b'(' => pos = comment_end(s, pos),
            _ => break,
        }
    }
    pos
}

/// Index just past the comment opening at `pos` (or the end of `s` if unterminated).
pub(crate) fn comment_end(s: &[u8], mut pos: usize) -> usize {
    let mut depth = 0usize;
    while pos < s.len() {
        match s[pos] {
            b'\\' => pos += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return pos + 1;
                }
            }
            _ => {}
        }
        pos += 1;
    }
    s.len()
}

/// RFC 2045 §5.1 `token`: anything but tspecials, SPACE and CTLs (8-bit octets tolerated).
fn token(s: &[u8], pos: usize) -> (&[u8], usize) {
    let start = pos.min(s.len());
    let len = s[start..]
        .iter()
        .position(|&b| b <= b' ' || b == 0x7f || b"()<>@,;:\\\"/[]?=".contains(&b))
        .unwrap_or(s.len() - start);
    (&s[start..start + len], start + len)
}

/// Content of the quoted string whose opening quote is just before `pos`, unescaped; and the
/// index past the closing quote.
pub(crate) fn quoted(s: &[u8], mut pos: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    while pos < s.len() {
        match s[pos] {
            b'"' => return (out, pos + 1),
            b'\\' if pos + 1 < s.len() => {
                out.push(s[pos + 1]);
                pos += 2;
            }
            b'\r' | b'\n' => pos += 1,
            b => {
                out.push(b);
                pos += 1;
            }
        }
    }
    (out, pos)
}

fn skip_past(s: &[u8], pos: usize, stop: u8) -> usize {
    let pos = pos.min(s.len());
    s[pos..]
        .iter()
        .position(|&b| b == stop)
        .map_or(s.len(), |i| pos + i)
}

fn upper(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_with_comments_and_quoted_params() {
        let ct = content_type(b" Text/Plain (c) ; charset = \"us-ascii\" ; format=flowed").unwrap();
        assert_eq!((ct.kind.as_str(), ct.subtype.as_str()), ("TEXT", "PLAIN"));
        assert_eq!(ct.param("charset"), Some(&b"us-ascii"[..]));
        assert_eq!(ct.params[1], (b"FORMAT".to_vec(), b"flowed".to_vec()));
    }

    #[test]
    fn unquoted_values_are_lenient_like_cyrus() {
        let ct =
            content_type(b"multipart/mixed; boundary=----=_Part_1 ; name=a b.txt ;x=\"q\" y; z=1")
                .unwrap();
        assert_eq!(ct.param("boundary"), Some(&b"----=_Part_1"[..]));
        assert_eq!(ct.param("name"), Some(&b"a b.txt"[..]));
        assert_eq!(ct.param("x"), None);
        assert_eq!(ct.param("z"), Some(&b"1"[..]));
    }

    #[test]
    fn garbage_content_type_is_none() {
        assert!(content_type(b";;;=\"").is_none());
        assert!(content_type(b"text").is_none());
    }

    #[test]
    fn rfc2231_continuations_join_and_keep_star() {
        let d = disposition(
            b"attachment; filename*0*=utf-8''%E6; filename*1*=%E8; filename*2=\".txt\"",
        )
        .unwrap();
        assert_eq!(
            d.params,
            vec![(b"FILENAME*".to_vec(), b"utf-8''%E6%E8.txt".to_vec())]
        );
    }

    #[test]
    fn rfc2231_gap_leaves_segments_sorted() {
        let d = disposition(b"attachment; filename*2=\"c\"; filename*0=\"a\"; x=1").unwrap();
        let names: Vec<&[u8]> = d.params.iter().map(|p| p.0.as_slice()).collect();
        assert_eq!(names, vec![&b"FILENAME*0"[..], b"FILENAME*2", b"X"]);
    }

    #[test]
    fn transfer_encoding_ignores_trailing_garbage() {
        assert_eq!(
            transfer_encoding(b" Base64 (encoded)").as_deref(),
            Some("BASE64")
        );
        assert_eq!(transfer_encoding(b"base64 garbage"), None);
        assert_eq!(transfer_encoding(b"7bit; x=y"), None);
        assert_eq!(transfer_encoding(b"  "), None);
    }

    #[test]
    fn languages_drop_comments() {
        assert_eq!(
            languages(b"en-GB, fr-CA (two)"),
            vec![b"en-GB".to_vec(), b"fr-CA".to_vec()]
        );
    }
}
