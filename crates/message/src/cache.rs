//! The per-message cache stored in the index, and its versioned binary encoding.
//!
//! Format version 1 (all integers LEB128 varints, strings and byte strings length-prefixed):
//! `01 size header_len envelope body bodystructure part`, where
//! `part = header_offset header_len body_offset body_len body_lines type subtype enc charset
//! n_children part* has_message [part]`, `enc` = one tag byte (0 7BIT, 1 8BIT, 2 BINARY,
//! 3 BASE64, 4 QUOTED-PRINTABLE, 5 other + string), `charset` = 0 | 1 string. Decoding checks
//! every length, span and UTF-8 string, and refuses trailing bytes.

use std::ops::Range;

use crate::bodystructure::{self, span, Extension};
use crate::part::{Part, TransferEncoding};
use crate::scan::{self, DefaultType};
use crate::{envelope, header, MAX_DEPTH};

const VERSION: u8 = 1;
/// Parts nest at most one multipart plus one message level per scan depth.
const MAX_DECODE_DEPTH: usize = 2 * MAX_DEPTH + 2;

/// Why [`MessageCache::from_bytes`] refused its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    #[error("unsupported cache format version {0}")]
    Version(u8),
    #[error("cache record truncated")]
    Truncated,
    #[error("cache record malformed: {0}")]
    Malformed(&'static str),
}

/// Everything FETCH needs about one message without re-parsing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageCache {
    size: u64,
    header_len: u32,
    envelope: Vec<u8>,
    body: Vec<u8>,
    bodystructure: Vec<u8>,
    root: Part,
}

impl MessageCache {
    pub(crate) fn build(raw: &[u8]) -> Self {
        let root = scan::entity(raw, 0, raw.len(), 0, DefaultType::TextPlain);
        Self::assemble(raw, &root, root.clone(), raw.len() as u64)
    }

    /// The cache of a message whose structure was scanned in `image` (see
    /// [`crate::StreamScan`]): header fields are read from `image` through `img_root`'s spans,
    /// while sizes, line counts and offsets are `root`'s, the same tree in the coordinates of
    /// the `size`-octet message.
    pub(crate) fn assemble(image: &[u8], img_root: &Part, root: Part, size: u64) -> Self {
        let hdr = span(image, img_root.header_offset, img_root.header_len);
        let mut envelope = Vec::with_capacity(256);
        envelope::write(&mut envelope, &header::fields(hdr));
        let mut body = Vec::with_capacity(128);
        bodystructure::write(&mut body, image, (img_root, &root), Extension::Without);
        let mut bodystructure = Vec::with_capacity(160);
        bodystructure::write(
            &mut bodystructure,
            image,
            (img_root, &root),
            Extension::With,
        );
        MessageCache {
            size,
            header_len: u32::try_from(root.header_len).unwrap_or(u32::MAX),
            envelope,
            body,
            bodystructure,
            root,
        }
    }

    /// Compact binary encoding for the index; the first byte is the format version.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.envelope.len() + 2 * self.bodystructure.len());
        out.push(VERSION);
        put_uint(&mut out, self.size);
        put_uint(&mut out, u64::from(self.header_len));
        put_bytes(&mut out, &self.envelope);
        put_bytes(&mut out, &self.body);
        put_bytes(&mut out, &self.bodystructure);
        put_part(&mut out, &self.root);
        out
    }

    /// Decodes [`to_bytes`](Self::to_bytes) output; refuses anything else without panicking.
    pub fn from_bytes(b: &[u8]) -> Result<MessageCache, CacheError> {
        let (&version, rest) = b.split_first().ok_or(CacheError::Truncated)?;
        if version != VERSION {
            return Err(CacheError::Version(version));
        }
        let mut r = Reader { buf: rest };
        let size = r.uint()?;
        let header_len =
            u32::try_from(r.uint()?).map_err(|_| CacheError::Malformed("header length"))?;
        let envelope = r.bytes()?.to_vec();
        let body = r.bytes()?.to_vec();
        let bodystructure = r.bytes()?.to_vec();
        let root = r.part(size, 0)?;
        if !r.buf.is_empty() {
            return Err(CacheError::Malformed("trailing bytes"));
        }
        if u64::from(header_len) != root.header_len.min(u64::from(u32::MAX)) {
            return Err(CacheError::Malformed("header length"));
        }
        Ok(MessageCache {
            size,
            header_len,
            envelope,
            body,
            bodystructure,
            root,
        })
    }

    /// The ENVELOPE value (RFC 3501 §7.4.2), ready to send.
    pub fn envelope(&self) -> &[u8] {
        &self.envelope
    }

    /// The BODY value (BODYSTRUCTURE without extension data).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The BODYSTRUCTURE value, with extension data.
    pub fn bodystructure(&self) -> &[u8] {
        &self.bodystructure
    }

    /// Octets of the top-level header including the blank line.
    pub fn header_len(&self) -> u32 {
        self.header_len
    }

    /// RFC822.SIZE: octets of the whole message.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The entity for a section path (RFC 3501 §6.4.5); `[]` is the whole message.
    ///
    /// A non-multipart message body is part 1 of its message; the sub-parts of a
    /// `message/rfc822` part are numbered inside the embedded message. For a `message/rfc822`
    /// part, `HEADER`/`TEXT` are the spans of [`Part::message`]; `MIME` is the part's own header.
    pub fn part(&self, section: &[u32]) -> Option<&Part> {
        let mut cur = &self.root;
        // `at_message`: `cur` is a message (top level or embedded), not yet one of its parts.
        let mut at_message = true;
        for &n in section {
            if !at_message {
                if let Some(inner) = cur.message.as_deref() {
                    cur = inner;
                    at_message = true;
                }
            }
            if cur.is_multipart() {
                cur = cur.children.get((n as usize).checked_sub(1)?)?;
            } else if !(at_message && n == 1) {
                return None;
            }
            at_message = false;
        }
        Some(cur)
    }
}

/// Byte ranges (absolute in the message) that `BODY[section...]` fetches need
/// (RFC 3501 §6.4.5 / RFC 9051 §6.4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionSpans {
    /// `BODY[section]` itself (for `[]`, the whole message).
    pub whole: Range<u64>,
    /// `section.MIME`: the part's MIME header; `None` for `[]` (RFC 3501 allows MIME only
    /// with a part number).
    pub mime: Option<Range<u64>>,
    /// `section.HEADER` (and `HEADER.FIELDS`): only for the top level and message/rfc822 parts.
    pub header: Option<Range<u64>>,
    /// `section.TEXT`: only for the top level and message/rfc822 parts.
    pub text: Option<Range<u64>>,
}

impl MessageCache {
    /// The spans for `section` (see [`SectionSpans`]); `None` when there is no such part.
    pub fn spans(&self, section: &[u32]) -> Option<SectionSpans> {
        let p = self.part(section)?;
        let header = |m: &Part| m.header_offset..m.header_offset + m.header_len;
        let body = |m: &Part| m.body_offset..m.body_offset + m.body_len;
        if section.is_empty() {
            return Some(SectionSpans {
                whole: 0..self.size,
                mime: None,
                header: Some(header(p)),
                text: Some(body(p)),
            });
        }
        let message = p.message.as_deref();
        Some(SectionSpans {
            whole: body(p),
            mime: Some(header(p)),
            header: message.map(header),
            text: message.map(body),
        })
    }
}

fn put_uint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_part(out: &mut Vec<u8>, p: &Part) {
    for v in [
        p.header_offset,
        p.header_len,
        p.body_offset,
        p.body_len,
        p.body_lines,
    ] {
        put_uint(out, v);
    }
    put_bytes(out, p.content_type.as_bytes());
    put_bytes(out, p.subtype.as_bytes());
    match &p.encoding {
        TransferEncoding::SevenBit => out.push(0),
        TransferEncoding::EightBit => out.push(1),
        TransferEncoding::Binary => out.push(2),
        TransferEncoding::Base64 => out.push(3),
        TransferEncoding::QuotedPrintable => out.push(4),
        TransferEncoding::Other(t) => {
            out.push(5);
            put_bytes(out, t.as_bytes());
        }
    }
    match &p.charset {
        Some(c) => {
            out.push(1);
            put_bytes(out, c.as_bytes());
        }
        None => out.push(0),
    }
    put_uint(out, p.children.len() as u64);
    for c in &p.children {
        put_part(out, c);
    }
    match &p.message {
        Some(m) => {
            out.push(1);
            put_part(out, m);
        }
        None => out.push(0),
    }
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, CacheError> {
        let (&b, rest) = self.buf.split_first().ok_or(CacheError::Truncated)?;
        self.buf = rest;
        Ok(b)
    }

    fn uint(&mut self) -> Result<u64, CacheError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(CacheError::Malformed("varint overflow"));
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CacheError::Malformed("varint overflow"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], CacheError> {
        let len = usize::try_from(self.uint()?).map_err(|_| CacheError::Truncated)?;
        if len > self.buf.len() {
            return Err(CacheError::Truncated);
        }
        let (b, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(b)
    }

    fn string(&mut self) -> Result<String, CacheError> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| CacheError::Malformed("string not UTF-8"))
    }

    fn flag(&mut self) -> Result<bool, CacheError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(CacheError::Malformed("flag")),
        }
    }

    fn part(&mut self, size: u64, depth: usize) -> Result<Part, CacheError> {
        if depth > MAX_DECODE_DEPTH {
            return Err(CacheError::Malformed("nesting too deep"));
        }
        let [header_offset, header_len, body_offset, body_len, body_lines] = [
            self.uint()?,
            self.uint()?,
            self.uint()?,
            self.uint()?,
            self.uint()?,
        ];
        let within = |off: u64, len: u64| off.checked_add(len).is_some_and(|end| end <= size);
        if !within(header_offset, header_len)
            || !within(body_offset, body_len)
            || body_lines > body_len
        {
            return Err(CacheError::Malformed("part span outside the message"));
        }
        let content_type = self.string()?;
        let subtype = self.string()?;
        let encoding = match self.byte()? {
            0 => TransferEncoding::SevenBit,
            1 => TransferEncoding::EightBit,
            2 => TransferEncoding::Binary,
            3 => TransferEncoding::Base64,
            4 => TransferEncoding::QuotedPrintable,
            5 => TransferEncoding::Other(self.string()?),
            _ => return Err(CacheError::Malformed("transfer encoding tag")),
        };
        let charset = if self.flag()? {
            Some(self.string()?)
        } else {
            None
        };
        let n = self.uint()?;
        if n > self.buf.len() as u64 {
            return Err(CacheError::Truncated);
        }
        let mut children = Vec::with_capacity(n as usize);
        for _ in 0..n {
            children.push(self.part(size, depth + 1)?);
        }
        let message = if self.flag()? {
            Some(Box::new(self.part(size, depth + 1)?))
        } else {
            None
        };
        Ok(Part {
            header_offset,
            header_len,
            body_offset,
            body_len,
            body_lines,
            content_type,
            subtype,
            encoding,
            charset,
            children,
            message,
        })
    }
}
