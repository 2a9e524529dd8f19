//! FETCH (RFC 9051 §6.4.5, BINARY RFC 3516, CONDSTORE/QRESYNC modifiers RFC 7162).

use super::Addressing;
use crate::sequence::SequenceSet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetch {
    pub addressing: Addressing,
    pub set: SequenceSet,
    pub items: FetchItems,
    /// RFC 7162 §3.1.4 `CHANGEDSINCE`.
    pub changed_since: Option<u64>,
    /// RFC 7162 §3.2.6 `VANISHED` (UID FETCH only).
    pub vanished: bool,
}

/// A macro or a list of attributes (a single attribute is a one-element list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchItems {
    Macro(FetchMacro),
    Attrs(Vec<FetchAttr>),
}

/// RFC 9051 §6.4.5 macros.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchMacro {
    /// `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`.
    All,
    /// `(FLAGS INTERNALDATE RFC822.SIZE)`.
    Fast,
    /// `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)`.
    Full,
}

impl FetchMacro {
    /// The attributes the macro stands for.
    pub fn expand(self) -> Vec<FetchAttr> {
        let fast = [
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
        ];
        match self {
            FetchMacro::Fast => fast.to_vec(),
            FetchMacro::All => [fast.as_slice(), &[FetchAttr::Envelope]].concat(),
            FetchMacro::Full => [fast.as_slice(), &[FetchAttr::Envelope, FetchAttr::Body]].concat(),
        }
    }
}

/// `BODY[...]` sets `\Seen`; `BODY.PEEK[...]` does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeekMode {
    Read,
    Peek,
}

/// `fetch-att`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchAttr {
    Envelope,
    Flags,
    InternalDate,
    Rfc822,
    Rfc822Header,
    Rfc822Size,
    Rfc822Text,
    /// `BODY` (non-extensible BODYSTRUCTURE).
    Body,
    BodyStructure,
    Uid,
    /// `BODY[section]<partial>` / `BODY.PEEK[...]`; partial is `(origin, length)`.
    BodySection {
        peek: PeekMode,
        section: Section,
        partial: Option<(u32, u32)>,
    },
    /// RFC 3516 `BINARY[part]<partial>` / `BINARY.PEEK`.
    Binary {
        peek: PeekMode,
        part: Vec<u32>,
        partial: Option<(u32, u32)>,
    },
    /// RFC 3516 `BINARY.SIZE[part]`.
    BinarySize {
        part: Vec<u32>,
    },
    /// RFC 7162 §3.1.4.1.
    ModSeq,
    /// RFC 8474 `EMAILID`, `THREADID`; RFC 8514 `SAVEDATE`, kept by name.
    Other(String),
}

/// `section`: part numbers followed by an optional text specifier; empty means the whole message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

/// `section-msgtext` / `section-text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionText {
    Header,
    /// Field names as the client wrote them (compare case-insensitively).
    HeaderFields(Vec<String>),
    HeaderFieldsNot(Vec<String>),
    Text,
    /// Only after a part number.
    Mime,
}
