//! FETCH response items (RFC 9051 §7.5.2, RFC 3516 §4.2, RFC 7162 §3.1.4.1).

use types::{Flag, ModSeq, Uid};

use crate::command::Section;
use crate::datetime::DateTime;
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

impl FetchItem {
    /// The message data this item carries, if it is a body item with data.
    pub(crate) fn large_body(&self) -> Option<&[u8]> {
        match self {
            FetchItem::Rfc822(d)
            | FetchItem::Rfc822Header(d)
            | FetchItem::Rfc822Text(d)
            | FetchItem::BodySection { data: d, .. }
            | FetchItem::Binary { data: d, .. } => d.as_deref(),
            FetchItem::Flags(_)
            | FetchItem::Uid(_)
            | FetchItem::InternalDate(_)
            | FetchItem::Rfc822Size(_)
            | FetchItem::ModSeq(_)
            | FetchItem::Envelope(_)
            | FetchItem::Body(_)
            | FetchItem::BodyStructure(_)
            | FetchItem::BinarySize { .. }
            | FetchItem::Other { .. } => None,
        }
    }

    /// For body items: the name, section and origin, and the space before the data.
    pub(crate) fn encode_label(&self, out: &mut Vec<u8>, mode: TextMode) {
        match self {
            FetchItem::Rfc822(_) => out.extend_from_slice(b"RFC822 "),
            FetchItem::Rfc822Header(_) => out.extend_from_slice(b"RFC822.HEADER "),
            FetchItem::Rfc822Text(_) => out.extend_from_slice(b"RFC822.TEXT "),
            FetchItem::BodySection {
                section, origin, ..
            } => {
                out.extend_from_slice(b"BODY");
                crate::command::write_section(out, section, mode);
                if let Some(origin) = origin {
                    out.extend_from_slice(format!("<{origin}>").as_bytes());
                }
                out.push(b' ');
            }
            FetchItem::Binary { part, .. } => {
                out.extend_from_slice(b"BINARY[");
                write_part(out, part);
                out.extend_from_slice(b"] ");
            }
            FetchItem::Flags(_)
            | FetchItem::Uid(_)
            | FetchItem::InternalDate(_)
            | FetchItem::Rfc822Size(_)
            | FetchItem::ModSeq(_)
            | FetchItem::Envelope(_)
            | FetchItem::Body(_)
            | FetchItem::BodyStructure(_)
            | FetchItem::BinarySize { .. }
            | FetchItem::Other { .. } => {}
        }
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
            FetchItem::Rfc822(data)
            | FetchItem::Rfc822Header(data)
            | FetchItem::Rfc822Text(data)
            | FetchItem::BodySection { data, .. }
            | FetchItem::Binary { data, .. } => {
                self.encode_label(out, mode);
                wire::write_nstring(out, data.as_deref(), mode);
            }
        }
    }
}

fn raw_item(out: &mut Vec<u8>, name: &str, raw: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(raw);
}
