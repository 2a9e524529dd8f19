//! Typed responses (RFC 9051 §7, RFC 3501 §7 and the extensions noted per variant) and their
//! byte-exact encoder ([`Response::encode`]).
//!
//! Strings are written as atoms, quoted strings or literals as the grammar allows
//! ([`crate::wire`]); `ENVELOPE`, `BODY` and `BODYSTRUCTURE` come pre-encoded from the cache and
//! are written as they are.

mod code;
mod encode;
mod encode_admin;
mod fetch;
mod thread;

use types::{Flag, ModSeq};

use crate::command::{Addressing, IdParams, Mailbox, StatusItem, Tag};
use crate::sequence::SequenceSet;

pub use code::{Code, PermanentFlag};
pub(crate) use fetch::write_part;
pub use fetch::{BodyLabel, FetchFlag, FetchItem, FetchWriter, LiteralKind};

/// Any server response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    Status(StatusResponse),
    Continue(Continue),
    Data(Data),
}

impl From<StatusResponse> for Response {
    fn from(status: StatusResponse) -> Response {
        Response::Status(status)
    }
}

impl From<Data> for Response {
    fn from(data: Data) -> Response {
        Response::Data(data)
    }
}

impl From<Continue> for Response {
    fn from(cont: Continue) -> Response {
        Response::Continue(cont)
    }
}

/// `OK`, `NO`, `BAD`, `PREAUTH`, `BYE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusKind {
    Ok,
    No,
    Bad,
    /// Greeting only; always untagged.
    PreAuth,
    /// Always untagged.
    Bye,
}

/// `response-tagged` / `resp-cond-state` / `resp-cond-bye` / greeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusResponse {
    /// `None` for an untagged (`*`) response.
    pub tag: Option<Tag>,
    pub kind: StatusKind,
    pub code: Option<Code>,
    /// Human text; CR and LF are replaced when encoding. Empty text is replaced by a word,
    /// because RFC 3501 requires at least one character.
    pub text: String,
}

impl StatusResponse {
    pub fn tagged(tag: Tag, kind: StatusKind, text: impl Into<String>) -> StatusResponse {
        StatusResponse {
            tag: Some(tag),
            kind,
            code: None,
            text: text.into(),
        }
    }

    pub fn untagged(kind: StatusKind, text: impl Into<String>) -> StatusResponse {
        StatusResponse {
            tag: None,
            kind,
            code: None,
            text: text.into(),
        }
    }

    pub fn with_code(mut self, code: Code) -> StatusResponse {
        self.code = Some(code);
        self
    }
}

/// `continue-req = "+" SP (resp-text / base64) CRLF`
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Continue {
    Text {
        code: Option<Code>,
        text: String,
    },
    /// A SASL challenge, base64-encoded on the wire.
    Base64(Vec<u8>),
}

/// Mailbox attributes in LIST/LSUB (RFC 9051 §7.3.1, RFC 5258, RFC 6154).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailboxAttr {
    NoInferiors,
    NoSelect,
    Marked,
    Unmarked,
    HasChildren,
    HasNoChildren,
    NonExistent,
    Subscribed,
    Remote,
    All,
    Archive,
    Drafts,
    Flagged,
    Junk,
    Sent,
    Trash,
    /// Another attribute, backslash included.
    Other(String),
}

/// RFC 5258 `mbox-list-extended-item`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListExtItem {
    /// `("CHILDINFO" ("SUBSCRIBED"))`.
    ChildInfo(Vec<String>),
    /// RFC 9051 `("OLDNAME" ("name"))`.
    OldName(Mailbox),
}

/// One `mailbox-list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListItem {
    pub attributes: Vec<MailboxAttr>,
    /// `None` for a flat namespace (`NIL`).
    pub delimiter: Option<char>,
    pub mailbox: Mailbox,
    pub extended: Vec<ListExtItem>,
}

/// One namespace description (RFC 2342).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceDesc {
    pub prefix: String,
    pub delimiter: Option<char>,
}

/// RFC 4731 `search-return-data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ESearchItem {
    Min(u32),
    Max(u32),
    All(SequenceSet),
    Count(u32),
    /// RFC 7162 §3.1.5.
    ModSeq(ModSeq),
}

/// A message in a thread tree (RFC 5256 §4); `message` is `None` for a missing parent, which
/// REFERENCES threading leaves as a placeholder with two or more children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadNode {
    pub message: Option<u32>,
    pub children: Vec<ThreadNode>,
}

/// Whether a VANISHED response carries `(EARLIER)` (RFC 7162 §3.2.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vanished {
    Now,
    Earlier,
}

/// One RFC 9208 resource: name, usage, limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaResource {
    pub name: String,
    pub usage: u64,
    pub limit: u64,
}

/// Untagged data responses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    Capability(Vec<String>),
    /// RFC 5161.
    Enabled(Vec<String>),
    List(ListItem),
    Lsub(ListItem),
    /// RFC 2342: personal, other users', shared; `None` is `NIL`.
    Namespace {
        personal: Option<Vec<NamespaceDesc>>,
        other: Option<Vec<NamespaceDesc>>,
        shared: Option<Vec<NamespaceDesc>>,
    },
    Status {
        mailbox: Mailbox,
        items: Vec<(StatusItem, u64)>,
    },
    /// `* SEARCH`, with RFC 7162's `(MODSEQ n)`.
    Search {
        numbers: Vec<u32>,
        mod_seq: Option<ModSeq>,
    },
    /// RFC 5256 `* SORT`, with RFC 7162's `(MODSEQ n)`.
    Sort {
        numbers: Vec<u32>,
        mod_seq: Option<ModSeq>,
    },
    /// RFC 5256 `* THREAD`: one tree per thread.
    Thread(Vec<ThreadNode>),
    /// RFC 4731 `* ESEARCH`.
    ESearch {
        tag: Option<Tag>,
        addressing: Addressing,
        items: Vec<ESearchItem>,
    },
    Flags(Vec<Flag>),
    Exists(u32),
    Recent(u32),
    Expunge(u32),
    Fetch {
        seq: u32,
        items: Vec<FetchItem>,
    },
    /// RFC 2971.
    Id(IdParams),
    /// RFC 7162 §3.2.10.
    Vanished {
        mode: Vanished,
        uids: SequenceSet,
    },
    /// RFC 4314 §3.6: identifier/rights pairs.
    Acl {
        mailbox: Mailbox,
        entries: Vec<(String, String)>,
    },
    /// RFC 4314 §3.7.
    ListRights {
        mailbox: Mailbox,
        identifier: String,
        required: String,
        optional: Vec<String>,
    },
    /// RFC 4314 §3.8.
    MyRights {
        mailbox: Mailbox,
        rights: String,
    },
    /// RFC 9208 §5.1.
    Quota {
        root: String,
        resources: Vec<QuotaResource>,
    },
    /// RFC 9208 §5.2.
    QuotaRoot {
        mailbox: Mailbox,
        roots: Vec<String>,
    },
    /// RFC 5464 §4.4.1: entries with values.
    Metadata {
        mailbox: Mailbox,
        entries: Vec<crate::command::MetadataEntry>,
    },
    /// RFC 5464 §4.4.2: unsolicited list of changed entries.
    MetadataChanged {
        mailbox: Mailbox,
        entries: Vec<String>,
    },
}

impl crate::error::ParseError {
    /// The one response for a refused command: `tag BAD reason` (untagged `* BAD` when no tag
    /// could be read), or `tag NO [TOOBIG] reason` for an over-sized APPEND (RFC 7889).
    pub fn to_response(&self) -> StatusResponse {
        let text = self.kind.to_string();
        match (&self.tag, self.is_too_big()) {
            (Some(tag), true) => {
                StatusResponse::tagged(tag.clone(), StatusKind::No, text).with_code(Code::TooBig)
            }
            (Some(tag), false) => StatusResponse::tagged(tag.clone(), StatusKind::Bad, text),
            (None, _) => StatusResponse::untagged(StatusKind::Bad, text),
        }
    }
}
