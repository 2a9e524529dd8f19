//! The MIME structure scan (RFC 2045, RFC 2046 §5): builds the [`Part`] tree of one message.
//!
//! Multipart bodies are split outer-first on delimiter lines (RFC 2046 §5.1.1: the CRLF before a
//! delimiter belongs to it; transport padding after it is allowed), so an inner
//! boundary that merely starts with the outer one cannot end the outer part. A missing close
//! delimiter lets the last part run to the end of its parent. Nesting deeper than
//! [`MAX_DEPTH`](crate::MAX_DEPTH) is not descended into: such a part is reported as a
//! text/plain leaf, the way Dovecot stops at its own nesting limit; past [`MAX_PARTS`]
//! entities, further delimiters are not recognised.

use crate::header::{self, line_end};
use crate::params::{self, Structured};
use crate::part::{Part, TransferEncoding};
use crate::{MAX_DEPTH, MAX_PARTS};

/// The media type a part gets when it has no (valid) Content-Type (RFC 2046 §5.1.5: inside
/// multipart/digest the default is message/rfc822).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefaultType {
    TextPlain,
    MessageRfc822,
}

/// Scans the entity occupying `raw[start..end]`.
pub(crate) fn entity(
    raw: &[u8],
    start: usize,
    end: usize,
    depth: usize,
    default: DefaultType,
) -> Part {
    let mut scanner = Scanner {
        raw,
        parts_left: MAX_PARTS,
    };
    scanner.entity(start, end, depth, default).0
}

/// Scan state: the message and how many more entities we may create (Dovecot likewise stops
/// at 10 000 MIME parts, so a message of tiny parts cannot make the cache explode).
struct Scanner<'a> {
    raw: &'a [u8],
    parts_left: usize,
}

impl Scanner<'_> {
    /// Scans an entity; the flag says it ends with an inner close-delimiter line that lacks its
    /// line end (see [`grow_tail`]).
    fn entity(
        &mut self,
        start: usize,
        end: usize,
        depth: usize,
        default: DefaultType,
    ) -> (Part, bool) {
        self.parts_left = self.parts_left.saturating_sub(1);
        let raw = self.raw;
        let hlen = header::header_len(&raw[start..end]);
        let body_start = start + hlen;
        let fields = header::fields(&raw[start..body_start]);
        let ct = header::last(&fields, "content-type").and_then(params::content_type);
        let charset = ct
            .as_ref()
            .and_then(|ct| ct.param("charset"))
            .map(|c| String::from_utf8_lossy(c).into_owned());
        let may_nest = depth < MAX_DEPTH && self.parts_left > 0;
        let (kind, subtype, boundary) = media_type(ct, default, may_nest);
        let encoding = header::last(&fields, "content-transfer-encoding")
            .and_then(params::transfer_encoding)
            .map_or(TransferEncoding::SevenBit, |t| {
                TransferEncoding::from_token(&t)
            });
        let mut part = Part {
            header_offset: start as u64,
            header_len: hlen as u64,
            body_offset: body_start as u64,
            body_len: (end - body_start) as u64,
            body_lines: raw[body_start..end].iter().filter(|&&b| b == b'\n').count() as u64,
            content_type: kind,
            subtype,
            encoding,
            charset,
            children: Vec::new(),
            message: None,
        };
        let mut tail = false;
        if let Some(boundary) = boundary {
            let child_default = if part.subtype == "DIGEST" {
                DefaultType::MessageRfc822
            } else {
                DefaultType::TextPlain
            };
            let (children, t) = self.split(body_start, end, &boundary, depth + 1, child_default);
            (part.children, tail) = (children, t);
        } else if part.is_message() {
            let (inner, t) = self.entity(body_start, end, depth + 1, DefaultType::TextPlain);
            (part.message, tail) = (Some(Box::new(inner)), t);
        }
        (part, tail)
    }

    /// Splits a multipart body `raw[start..end]` into its body parts (RFC 2046 §5.1.1). The
    /// flag says the multipart ends with an unterminated close-delimiter line (see
    /// [`grow_tail`]). Past the part budget, the last part runs to the end.
    fn split(
        &mut self,
        start: usize,
        end: usize,
        boundary: &[u8],
        depth: usize,
        default: DefaultType,
    ) -> (Vec<Part>, bool) {
        let raw = self.raw;
        // (start, end, octets of line end taken by the following delimiter)
        let mut spans: Vec<(usize, usize, usize)> = Vec::new();
        let mut open: Option<usize> = None;
        let mut close_tail = false;
        let mut pos = start;
        while pos < end {
            let next = line_end(&raw[..end], pos);
            if let Some(close) = delimiter(&raw[pos..next], boundary) {
                if !close && open.is_some() && spans.len() + 1 >= self.parts_left {
                    break;
                }
                // The line end before the delimiter belongs to the delimiter.
                let content_end = if pos >= start + 2 && &raw[pos - 2..pos] == b"\r\n" {
                    pos - 2
                } else if pos > start && raw[pos - 1] == b'\n' {
                    pos - 1
                } else {
                    pos
                };
                if let Some(s) = open.take() {
                    let content_end = content_end.max(s);
                    spans.push((s, content_end, pos - content_end));
                }
                if close {
                    close_tail = next == end && raw[next - 1] != b'\n';
                    break;
                }
                open = Some(next);
            }
            pos = next;
        }
        let open_ended = open.is_some();
        if let Some(s) = open {
            spans.push((s, end, 0));
        }
        if spans.is_empty() {
            // No delimiter at all: one empty part, as both reference servers report.
            return (vec![Part::empty_text(end as u64)], false);
        }
        let mut last_tail = false;
        let mut parts = Vec::with_capacity(spans.len());
        for (s, e, taken) in spans {
            let (mut part, tail) = self.entity(s, e, depth, default);
            if tail && taken > 0 {
                grow_tail(&mut part, taken as u64);
            }
            last_tail = tail && taken == 0;
            parts.push(part);
        }
        (parts, close_tail || (open_ended && last_tail))
    }
}

/// Gives back to `part` the line end its parent's delimiter took (`len` octets, one LF).
///
/// RFC 2046 §5.1.1 gives the CRLF before a delimiter to the delimiter, but when that CRLF also
/// ends an inner close-delimiter line (`--inner--` directly followed by `--outer`), both
/// reference servers count it in the inner entity: the close-delimiter line keeps its line end
/// and the empty epilogue has nothing to give. We do the same so sizes and line counts match.
fn grow_tail(part: &mut Part, len: u64) {
    let old_end = part.body_offset + part.body_len;
    part.body_len += len;
    part.body_lines += 1;
    if let Some(inner) = part.message.as_deref_mut() {
        grow_tail(inner, len);
    } else if let Some(last) = part.children.last_mut() {
        if last.body_offset + last.body_len == old_end {
            grow_tail(last, len);
        }
    }
}

/// Effective (type, subtype, boundary) of a part. RFC 2045 §5.2: an invalid Content-Type means
/// text/plain; a multipart without a usable boundary is treated the same way (RFC 2046 §5.1.1
/// makes the parameter mandatory), and so is a container past the nesting or part limits.
fn media_type(
    ct: Option<Structured>,
    default: DefaultType,
    may_nest: bool,
) -> (String, String, Option<Vec<u8>>) {
    let text = || ("TEXT".to_owned(), "PLAIN".to_owned(), None);
    let Some(ct) = ct else {
        return match default {
            DefaultType::MessageRfc822 if may_nest => ("MESSAGE".into(), "RFC822".into(), None),
            _ => text(),
        };
    };
    let container = ct.kind == "MULTIPART" || (ct.kind == "MESSAGE" && ct.subtype == "RFC822");
    if container && !may_nest {
        return text();
    }
    if ct.kind == "MULTIPART" {
        return match ct.param("boundary") {
            Some(b) if !b.is_empty() => (ct.kind.clone(), ct.subtype.clone(), Some(b.to_vec())),
            _ => text(),
        };
    }
    (ct.kind, ct.subtype, None)
}

/// `Some(is_close)` when `line` is a delimiter line for `boundary` (RFC 2046 §5.1.1
/// `"--" boundary ["--"] transport-padding CRLF`). Like both reference servers we are lenient
/// about what follows: `--boundary--` closes whatever comes after it, and `--boundary` is a
/// delimiter when whitespace or the line end follows. Anything else (`--boundaryX`) is not, so
/// a boundary that is a prefix of another cannot split it.
pub(crate) fn delimiter(line: &[u8], boundary: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    if rest.starts_with(b"--") {
        return Some(true);
    }
    match rest.first() {
        None | Some(b' ' | b'\t' | b'\r' | b'\n') => Some(false),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(raw: &[u8]) -> Part {
        entity(raw, 0, raw.len(), 0, DefaultType::TextPlain)
    }

    #[test]
    fn delimiter_needs_exact_boundary() {
        assert_eq!(delimiter(b"--B\r\n", b"B"), Some(false));
        assert_eq!(delimiter(b"--B-- \t\r\n", b"B"), Some(true));
        assert_eq!(delimiter(b"--BX\r\n", b"B"), None);
        assert_eq!(delimiter(b"--B", b"B"), Some(false));
        assert_eq!(delimiter(b"--B--trailing\r\n", b"B"), Some(true));
        assert_eq!(delimiter(b"--B comment\r\n", b"B"), Some(false));
    }

    #[test]
    fn parts_exclude_the_crlf_before_the_delimiter() {
        let raw = b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\r\nab\r\n--B\r\nX: y\r\n\r\ncd\r\n--B--\r\n";
        let p = scan(raw);
        assert_eq!(p.children.len(), 2);
        assert_eq!((p.children[0].header_len, p.children[0].body_len), (2, 2));
        assert_eq!((p.children[1].header_len, p.children[1].body_len), (8, 2));
    }

    #[test]
    fn missing_close_delimiter_runs_to_the_end() {
        let raw = b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\r\nab\r\n";
        let p = scan(raw);
        assert_eq!(p.children[0].body_len, 4);
        assert_eq!(p.children[0].body_lines, 1);
    }

    #[test]
    fn nesting_stops_at_max_depth() {
        let mut raw = Vec::new();
        for _ in 0..150 {
            raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        let mut p = &scan(&raw);
        let mut depth = 0;
        while let Some(inner) = p.message.as_deref() {
            p = inner;
            depth += 1;
        }
        assert_eq!(depth, MAX_DEPTH);
        assert_eq!(p.content_type, "TEXT");
    }
}
