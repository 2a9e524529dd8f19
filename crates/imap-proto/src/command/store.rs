//! STORE (RFC 9051 §6.4.6, UNCHANGEDSINCE RFC 7162 §3.1.3).

use types::Flag;

use super::Addressing;
use crate::sequence::SequenceSet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Store {
    pub addressing: Addressing,
    pub set: SequenceSet,
    /// RFC 7162 `UNCHANGEDSINCE` (0 allowed).
    pub unchanged_since: Option<u64>,
    pub action: StoreAction,
    pub silence: StoreSilence,
    pub flags: Vec<Flag>,
}

/// `FLAGS`, `+FLAGS`, `-FLAGS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreAction {
    Replace,
    Add,
    Remove,
}

/// Whether `.SILENT` was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreSilence {
    Report,
    Silent,
}
