//! SORT and THREAD (RFC 5256, DISPLAYFROM/DISPLAYTO RFC 5957).

use super::{Addressing, SearchKey};

/// `sort = ["UID" SP] "SORT" SP sort-criteria SP search-criteria`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sort {
    pub addressing: Addressing,
    /// Never empty.
    pub criteria: Vec<SortCriterion>,
    pub charset: String,
    /// Implicitly ANDed; never empty.
    pub search: Vec<SearchKey>,
}

/// `sort-criterion = ["REVERSE" SP] sort-key`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortCriterion {
    pub order: SortOrder,
    pub key: SortKey,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    Ascending,
    /// `REVERSE`.
    Descending,
}

/// `sort-key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    /// RFC 5957.
    DisplayFrom,
    /// RFC 5957.
    DisplayTo,
}

impl SortKey {
    pub const ALL: [SortKey; 9] = [
        SortKey::Arrival,
        SortKey::Cc,
        SortKey::Date,
        SortKey::From,
        SortKey::Size,
        SortKey::Subject,
        SortKey::To,
        SortKey::DisplayFrom,
        SortKey::DisplayTo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Arrival => "ARRIVAL",
            SortKey::Cc => "CC",
            SortKey::Date => "DATE",
            SortKey::From => "FROM",
            SortKey::Size => "SIZE",
            SortKey::Subject => "SUBJECT",
            SortKey::To => "TO",
            SortKey::DisplayFrom => "DISPLAYFROM",
            SortKey::DisplayTo => "DISPLAYTO",
        }
    }
}

/// `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    pub addressing: Addressing,
    pub algorithm: ThreadAlgorithm,
    pub charset: String,
    pub search: Vec<SearchKey>,
}

/// `thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext`
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    OrderedSubject,
    References,
    /// Another algorithm's atom, upper-cased.
    Other(String),
}

impl ThreadAlgorithm {
    pub fn name(&self) -> &str {
        match self {
            ThreadAlgorithm::OrderedSubject => "ORDEREDSUBJECT",
            ThreadAlgorithm::References => "REFERENCES",
            ThreadAlgorithm::Other(name) => name,
        }
    }
}
