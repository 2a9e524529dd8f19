//! FETCH response items (RFC 9051 §7.5.2, RFC 3516 §4.2, RFC 7162 §3.1.4.1).

use types::{Flag, ModSeq, Uid};

use crate::command::Section;
use crate::datetime::DateTime;
use crate::limits::MailboxEncoding;
use crate::wire::{self, TextMode};

/// A flag as FETCH reports it: a stored flag or the session flag `\Recent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchFlag {
    Flag(Flag),
    Recent,
}

/// `msg-att-dynamic / msg-att-static`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchItem {
    Flags(Vec<FetchFlag>),
    Uid(Uid),
    InternalDate(DateTime),
    Rfc822Size(u64),
    ModSeq(ModSeq),
    /// Pre-encoded `envelope` (from the cache), written as is.
    Envelope(Vec<u8>),
    /// Pre-encoded non-extensible `body`.
    Body(Vec<u8>),
    /// Pre-encoded extensible `body`.
    BodyStructure(Vec<u8>),
    Rfc822(Option<Vec<u8>>),
    Rfc822Header(Option<Vec<u8>>),
    Rfc822Text(Option<Vec<u8>>),
    /// `"BODY" section ["<" number ">"] SP nstring`.
    BodySection {
        section: Section,
        origin: Option<u32>,
        data: Option<Vec<u8>>,
    },
    /// `"BINARY" section-binary SP (nstring / literal8)`.
    Binary {
        part: Vec<u32>,
        data: Option<Vec<u8>>,
    },
    /// `"BINARY.SIZE" section-binary SP number`.
    BinarySize {
        part: Vec<u32>,
        size: u64,
    },
    /// Another item, name and pre-encoded value (e.g. `EMAILID (M123)`).
    Other {
        name: String,
        raw: Vec<u8>,
    },
}

/// `section-part` as `1.2.3`.
pub(crate) fn write_part(out: &mut Vec<u8>, part: &[u32]) {
    for (i, n) in part.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(n.to_string().as_bytes());
    }
}

/// The name of a body item — everything before its value: `RFC822`, `RFC822.HEADER`,
/// `RFC822.TEXT`, `BODY[section]<origin>`, `BINARY[part]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLabel<'a> {
    Rfc822,
    Rfc822Header,
    Rfc822Text,
    Section {
        section: &'a Section,
        origin: Option<u32>,
    },
    /// RFC 9051 §9 `msg-att-static` has no origin after `section-binary`.
    Binary {
        part: &'a [u32],
    },
}

impl BodyLabel<'_> {
    /// The label and the space before the value.
    fn encode(&self, out: &mut Vec<u8>, mode: TextMode) {
        match self {
            BodyLabel::Rfc822 => out.extend_from_slice(b"RFC822 "),
            BodyLabel::Rfc822Header => out.extend_from_slice(b"RFC822.HEADER "),
            BodyLabel::Rfc822Text => out.extend_from_slice(b"RFC822.TEXT "),
            BodyLabel::Section { section, origin } => {
                out.extend_from_slice(b"BODY");
                crate::command::write_section(out, section, mode);
                if let Some(origin) = origin {
                    out.extend_from_slice(format!("<{origin}>").as_bytes());
                }
                out.push(b' ');
            }
            BodyLabel::Binary { part } => {
                out.extend_from_slice(b"BINARY[");
                write_part(out, part);
                out.extend_from_slice(b"] ");
            }
        }
    }
}

/// How a literal whose octets the caller writes is announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralKind {
    /// `{N}`.
    Literal,
    /// `~{N}` (RFC 3516 `literal8`): BINARY data that holds NUL.
    Literal8,
}

/// Writes one FETCH response piece by piece (RFC 9051 §7.5.2), so that a server can stream
/// message data from a file between the pieces instead of holding it in a [`FetchItem`]:
/// [`begin`](Self::begin), then [`item`](Self::item), [`body`](Self::body) or
/// [`literal`](Self::literal) for each item in order, then [`end`](Self::end). With the streamed octets in place, the output is
/// what [`crate::Response::encode`] gives for the same items.
#[derive(Debug)]
pub struct FetchWriter {
    mode: TextMode,
    first: bool,
}

impl FetchWriter {
    /// `* seq FETCH (`.
    pub fn begin(out: &mut Vec<u8>, seq: u32, encoding: MailboxEncoding) -> FetchWriter {
        out.extend_from_slice(format!("* {seq} FETCH (").as_bytes());
        let mode = match encoding {
            MailboxEncoding::ModifiedUtf7 => TextMode::Ascii,
            MailboxEncoding::Utf8 => TextMode::Utf8,
        };
        FetchWriter { mode, first: true }
    }

    /// One whole item.
    pub fn item(&mut self, out: &mut Vec<u8>, item: &FetchItem) {
        self.separate(out);
        item.encode(out, self.mode);
    }

    /// A body item whose data is in memory: its label and the data as an `nstring` (quoted,
    /// literal, or `literal8` when it holds NUL), as [`FetchItem`]'s encoder writes it.
    pub fn body(&mut self, out: &mut Vec<u8>, label: BodyLabel<'_>, data: Option<&[u8]>) {
        self.separate(out);
        label.encode(out, self.mode);
        wire::write_nstring(out, data, self.mode);
    }

    /// A body item's label and the header of a literal of `len` octets, which the caller must
    /// write next, exactly, before anything else.
    pub fn literal(
        &mut self,
        out: &mut Vec<u8>,
        label: BodyLabel<'_>,
        len: u64,
        kind: LiteralKind,
    ) {
        self.separate(out);
        label.encode(out, self.mode);
        if kind == LiteralKind::Literal8 {
            out.push(b'~');
        }
        out.extend_from_slice(format!("{{{len}}}\r\n").as_bytes());
    }

    /// `)` CRLF.
    pub fn end(self, out: &mut Vec<u8>) {
        out.extend_from_slice(b")\r\n");
    }

    fn separate(&mut self, out: &mut Vec<u8>) {
        if !self.first {
            out.push(b' ');
        }
        self.first = false;
    }
}

impl FetchItem {
    /// A body item's label and data.
    fn body(&self) -> Option<(BodyLabel<'_>, Option<&[u8]>)> {
        let (label, data) = match self {
            FetchItem::Rfc822(d) => (BodyLabel::Rfc822, d),
            FetchItem::Rfc822Header(d) => (BodyLabel::Rfc822Header, d),
            FetchItem::Rfc822Text(d) => (BodyLabel::Rfc822Text, d),
            FetchItem::BodySection {
                section,
                origin,
                data,
            } => (
                BodyLabel::Section {
                    section,
                    origin: *origin,
                },
                data,
            ),
            FetchItem::Binary { part, data } => (BodyLabel::Binary { part }, data),
            FetchItem::Flags(_)
            | FetchItem::Uid(_)
            | FetchItem::InternalDate(_)
            | FetchItem::Rfc822Size(_)
            | FetchItem::ModSeq(_)
            | FetchItem::Envelope(_)
            | FetchItem::Body(_)
            | FetchItem::BodyStructure(_)
            | FetchItem::BinarySize { .. }
            | FetchItem::Other { .. } => return None,
        };
        Some((label, data.as_deref()))
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>, mode: TextMode) {
        match self {
            FetchItem::Flags(flags) => {
                out.extend_from_slice(b"FLAGS (");
                for (i, flag) in flags.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    out.extend_from_slice(match flag {
                        FetchFlag::Flag(f) => f.as_str().as_bytes(),
                        FetchFlag::Recent => b"\\Recent",
                    });
                }
                out.push(b')');
            }
            FetchItem::Uid(uid) => out.extend_from_slice(format!("UID {uid}").as_bytes()),
            FetchItem::InternalDate(dt) => {
                out.extend_from_slice(format!("INTERNALDATE \"{dt}\"").as_bytes());
            }
            FetchItem::Rfc822Size(n) => {
                out.extend_from_slice(format!("RFC822.SIZE {n}").as_bytes())
            }
            FetchItem::ModSeq(m) => out.extend_from_slice(format!("MODSEQ ({m})").as_bytes()),
            FetchItem::Envelope(raw) => raw_item(out, "ENVELOPE", raw),
            FetchItem::Body(raw) => raw_item(out, "BODY", raw),
            FetchItem::BodyStructure(raw) => raw_item(out, "BODYSTRUCTURE", raw),
            FetchItem::Other { name, raw } => raw_item(out, name, raw),
            FetchItem::BinarySize { part, size } => {
                out.extend_from_slice(b"BINARY.SIZE[");
                write_part(out, part);
                out.extend_from_slice(format!("] {size}").as_bytes());
            }
            FetchItem::Rfc822(_)
            | FetchItem::Rfc822Header(_)
            | FetchItem::Rfc822Text(_)
            | FetchItem::BodySection { .. }
            | FetchItem::Binary { .. } => {
                if let Some((label, data)) = self.body() {
                    label.encode(out, mode);
                    wire::write_nstring(out, data, mode);
                }
            }
        }
    }
}

fn raw_item(out: &mut Vec<u8>, name: &str, raw: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(raw);
}
