//! SEARCH (RFC 9051 §6.4.4, RFC 3501 §6.4.4, ESEARCH RFC 4731, SEARCHRES RFC 5182, CONDSTORE
//! RFC 7162 §3.1.5, WITHIN RFC 5032).

use super::Addressing;
use crate::datetime::Date;
use crate::sequence::SequenceSet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    pub addressing: Addressing,
    /// `RETURN (...)`; `None` when absent (classic `* SEARCH` answer). `Some(vec![])` is
    /// `RETURN ()`, which RFC 4731 §3.1 treats as `RETURN (ALL)`.
    pub return_options: Option<Vec<SearchReturn>>,
    pub charset: Option<String>,
    /// The keys, implicitly ANDed (never empty).
    pub criteria: Vec<SearchKey>,
}

/// RFC 4731 / RFC 5182 `search-return-opt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchReturn {
    Min,
    Max,
    All,
    Count,
    /// RFC 5182.
    Save,
}

impl SearchReturn {
    pub fn name(self) -> &'static str {
        match self {
            SearchReturn::Min => "MIN",
            SearchReturn::Max => "MAX",
            SearchReturn::All => "ALL",
            SearchReturn::Count => "COUNT",
            SearchReturn::Save => "SAVE",
        }
    }
}

/// `search-key`. String arguments are bytes: their charset is the command's CHARSET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchKey {
    All,
    Answered,
    Bcc(Vec<u8>),
    Before(Date),
    Body(Vec<u8>),
    Cc(Vec<u8>),
    Deleted,
    Draft,
    Flagged,
    From(Vec<u8>),
    Header(Vec<u8>, Vec<u8>),
    /// The keyword's atom.
    Keyword(String),
    Larger(u64),
    New,
    Not(Box<SearchKey>),
    Old,
    On(Date),
    Or(Box<SearchKey>, Box<SearchKey>),
    Recent,
    Seen,
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    Since(Date),
    Smaller(u64),
    Subject(Vec<u8>),
    Text(Vec<u8>),
    To(Vec<u8>),
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(String),
    Unseen,
    /// A bare sequence set (message numbers, or `$`).
    SequenceSet(SequenceSet),
    /// `( search-key *(SP search-key) )`.
    And(Vec<SearchKey>),
    /// RFC 7162 §3.1.5: `MODSEQ [entry-name entry-type-req] mod-sequence-valzer`.
    ModSeq {
        entry: Option<(String, String)>,
        mod_seq: u64,
    },
    /// RFC 5032.
    Older(u32),
    /// RFC 5032.
    Younger(u32),
}
