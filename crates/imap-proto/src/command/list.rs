//! LIST (RFC 9051 §6.3.9, LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819, SPECIAL-USE RFC 6154)
//! and STATUS items (RFC 9051 §6.3.11, RFC 7162, RFC 8438, RFC 7889).

/// `LIST [(selection)] reference (pattern / (patterns)) [RETURN (options)]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct List {
    pub selection: Vec<ListSelectOption>,
    /// The reference name, decoded (may be empty).
    pub reference: String,
    /// One or more `list-mailbox` patterns, decoded; `%` and `*` are wildcards.
    pub patterns: Vec<String>,
    pub return_options: Vec<ListReturnOption>,
}

/// RFC 5258 §3.1 `list-select-opt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListSelectOption {
    Subscribed,
    Remote,
    RecursiveMatch,
    /// RFC 6154 §3.
    SpecialUse,
    Other(String),
}

/// RFC 5258 §3.2 `return-option`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListReturnOption {
    Subscribed,
    Children,
    /// RFC 6154 §3.
    SpecialUse,
    /// RFC 5819.
    Status(Vec<StatusItem>),
    /// RFC 8440: an untagged MYRIGHTS per listed mailbox.
    MyRights,
    Other(String),
}

/// `status-att`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusItem {
    Messages,
    UidNext,
    UidValidity,
    Unseen,
    /// RFC 9051.
    Deleted,
    /// RFC 8438 / RFC 9051.
    Size,
    /// IMAP4rev1 only.
    Recent,
    /// RFC 7162 §3.1.6.
    HighestModSeq,
    /// RFC 7889.
    AppendLimit,
    /// RFC 9208 §4.2.
    DeletedStorage,
}

impl StatusItem {
    pub const ALL: [StatusItem; 10] = [
        StatusItem::Messages,
        StatusItem::UidNext,
        StatusItem::UidValidity,
        StatusItem::Unseen,
        StatusItem::Deleted,
        StatusItem::Size,
        StatusItem::Recent,
        StatusItem::HighestModSeq,
        StatusItem::AppendLimit,
        StatusItem::DeletedStorage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Deleted => "DELETED",
            StatusItem::Size => "SIZE",
            StatusItem::Recent => "RECENT",
            StatusItem::HighestModSeq => "HIGHESTMODSEQ",
            StatusItem::AppendLimit => "APPENDLIMIT",
            StatusItem::DeletedStorage => "DELETED-STORAGE",
        }
    }

    pub fn from_name(name: &str) -> Option<StatusItem> {
        StatusItem::ALL
            .into_iter()
            .find(|i| i.name().eq_ignore_ascii_case(name))
    }
}
