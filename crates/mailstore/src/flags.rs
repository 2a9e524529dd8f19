//! Conversion between [`Flag`] lists and the index's compact form (system flag bits plus indices
//! into the mailbox's keyword table), and the header counters that depend on flags.

use types::Flag;

use crate::codec::{IndexRecord, FLAG_ANSWERED, FLAG_DELETED, FLAG_DRAFT, FLAG_FLAGGED, FLAG_SEEN};
use crate::error::{Result, StoreError};
use crate::index::{IndexHeader, MAX_KEYWORDS};
use crate::model::FlagChange;

/// Compact flags of one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bits {
    pub system: u8,
    pub keywords: Vec<u16>,
}

fn system_bit(f: &Flag) -> Option<u8> {
    match f {
        Flag::Seen => Some(FLAG_SEEN),
        Flag::Answered => Some(FLAG_ANSWERED),
        Flag::Flagged => Some(FLAG_FLAGGED),
        Flag::Deleted => Some(FLAG_DELETED),
        Flag::Draft => Some(FLAG_DRAFT),
        Flag::Keyword(_) => None,
    }
}

/// Index of `keyword` in the table, adding it when `add` allows.
fn keyword_index(h: &mut IndexHeader, keyword: &str, add: bool) -> Result<Option<u16>> {
    if let Some(i) = h
        .keywords
        .iter()
        .position(|k| k.eq_ignore_ascii_case(keyword))
    {
        return Ok(u16::try_from(i).ok());
    }
    if !add {
        return Ok(None);
    }
    if h.keywords.len() >= MAX_KEYWORDS {
        return Err(StoreError::TooManyKeywords(MAX_KEYWORDS));
    }
    h.keywords.push(keyword.to_string());
    Ok(u16::try_from(h.keywords.len() - 1).ok())
}

/// Bits for `flags`; unknown keywords are added to the table when `add` is `Adding::Yes`.
pub(crate) fn to_bits(flags: &[Flag], h: &mut IndexHeader, add: Adding) -> Result<Bits> {
    let mut bits = Bits::default();
    for f in flags {
        match (system_bit(f), f) {
            (Some(b), _) => bits.system |= b,
            (None, Flag::Keyword(k)) => {
                if let Some(i) = keyword_index(h, k, add == Adding::Yes)? {
                    bits.keywords.push(i);
                }
            }
            (None, _) => {}
        }
    }
    bits.keywords.sort_unstable();
    bits.keywords.dedup();
    Ok(bits)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Adding {
    Yes,
    No,
}

/// The flags a record carries, `\Seen` replaced by `seen` when the caller reads private seen.
pub(crate) fn to_flags(r: &IndexRecord, h: &IndexHeader, seen: Option<bool>) -> Vec<Flag> {
    let mut out = Vec::new();
    let sys = match seen {
        Some(true) => r.system_flags | FLAG_SEEN,
        Some(false) => r.system_flags & !FLAG_SEEN,
        None => r.system_flags,
    };
    for (bit, flag) in [
        (FLAG_SEEN, Flag::Seen),
        (FLAG_ANSWERED, Flag::Answered),
        (FLAG_FLAGGED, Flag::Flagged),
        (FLAG_DELETED, Flag::Deleted),
        (FLAG_DRAFT, Flag::Draft),
    ] {
        if sys & bit != 0 {
            out.push(flag);
        }
    }
    for &k in &r.keywords {
        if let Some(name) = h.keywords.get(usize::from(k)) {
            out.push(Flag::Keyword(name.clone()));
        }
    }
    out
}

/// Applies a STORE to compact flags. `mask` limits which system bits the change may touch
/// (private-seen stores exclude `\Seen`, which then lives elsewhere).
pub(crate) fn apply(
    change: &FlagChange,
    old: &Bits,
    h: &mut IndexHeader,
    mask: u8,
) -> Result<Bits> {
    let mut new = old.clone();
    match change {
        FlagChange::Add(flags) => {
            let b = to_bits(flags, h, Adding::Yes)?;
            new.system |= b.system & mask;
            new.keywords.extend(b.keywords);
        }
        FlagChange::Remove(flags) => {
            let b = to_bits(flags, h, Adding::No)?;
            new.system &= !(b.system & mask);
            new.keywords.retain(|k| !b.keywords.contains(k));
        }
        FlagChange::Replace(flags) => {
            let b = to_bits(flags, h, Adding::Yes)?;
            new.system = (old.system & !mask) | (b.system & mask);
            new.keywords = b.keywords;
        }
    }
    new.keywords.sort_unstable();
    new.keywords.dedup();
    Ok(new)
}

/// What a STORE does to one user's private `\Seen`: `Some(new value)` or `None` for no change.
pub(crate) fn seen_after(change: &FlagChange, old: bool) -> bool {
    match change {
        FlagChange::Add(f) if f.contains(&Flag::Seen) => true,
        FlagChange::Remove(f) if f.contains(&Flag::Seen) => false,
        FlagChange::Replace(f) => f.contains(&Flag::Seen),
        FlagChange::Add(_) | FlagChange::Remove(_) => old,
    }
}

/// Adjusts the header's counters for a message entering (`sign = 1`) or leaving (`-1`).
pub(crate) fn count(h: &mut IndexHeader, r: &IndexRecord, sign: Sign) {
    let d = |flag: u8| u32::from(r.system_flags & flag != 0);
    match sign {
        Sign::Add => {
            h.exists = h.exists.saturating_add(1);
            h.size = h.size.saturating_add(r.size);
            h.deleted = h.deleted.saturating_add(d(FLAG_DELETED));
            h.seen = h.seen.saturating_add(d(FLAG_SEEN));
        }
        Sign::Remove => {
            h.exists = h.exists.saturating_sub(1);
            h.size = h.size.saturating_sub(r.size);
            h.deleted = h.deleted.saturating_sub(d(FLAG_DELETED));
            h.seen = h.seen.saturating_sub(d(FLAG_SEEN));
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sign {
    Add,
    Remove,
}
