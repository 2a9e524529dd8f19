//! SEARCH criteria prepared once per command, before any message is looked at: sequence sets
//! and UID sets resolved against the view into sorted merged ranges (a binary search per
//! message instead of a walk over every item the client wrote), the saved result `$` sorted,
//! string keys converted from the command's charset (RFC 9051 §6.4.4), and the nesting depth
//! checked, so that evaluating the tree recurses a bounded number of times whatever limit the
//! parser runs with.

use imap_proto::command::SearchKey;
use imap_proto::{NumberRanges, SequenceSet};
use types::Uid;

use crate::search::matcher::{self, Candidate};

/// Deepest tree evaluated. The parser stops at 64 levels (`Limits::max_nesting`); this is the
/// evaluator's own bound, so a raised parser limit cannot turn into a deep recursion here.
pub(crate) const MAX_DEPTH: usize = 128;

/// A prepared search key.
pub(crate) enum Criterion {
    /// A key about one message's own data (flags, dates, sizes, headers, text, MODSEQ).
    Key(SearchKey),
    /// `UID set`, resolved.
    Uids(NumberRanges),
    /// A message sequence set, resolved.
    Seqs(NumberRanges),
    /// `$` (RFC 5182): the saved result, ascending.
    Saved(Vec<Uid>),
    Not(Box<Criterion>),
    Or(Box<Criterion>, Box<Criterion>),
    And(Vec<Criterion>),
}

/// What a set resolves against, and the charset strings arrive in.
pub(crate) struct Context<'a> {
    pub exists: u32,
    pub largest_uid: u32,
    pub saved: &'a [Uid],
    /// `None` for UTF-8 and US-ASCII.
    pub charset: Option<&'static encoding_rs::Encoding>,
    /// The session's `\Recent` messages, as UID ranges (RECENT, NEW, OLD); `None` after
    /// ENABLE IMAP4rev2, whose grammar has none of those keys (RFC 9051 §2.3.2, §6.4.4).
    pub recent: Option<&'a [(u32, u32)]>,
}

/// Why criteria cannot be evaluated.
#[derive(Debug)]
pub(crate) enum Unusable {
    /// They nest deeper than [`MAX_DEPTH`].
    TooDeep,
    /// RECENT, NEW or OLD in IMAP4rev2.
    NotInRev2(&'static str),
}

impl Criterion {
    /// Prepares `key`; see the module documentation.
    pub fn compile(key: SearchKey, cx: &Context<'_>) -> Result<Criterion, Unusable> {
        compile(key, cx, 0)
    }

    /// Whether evaluating needs the header fields, and the body text.
    pub fn needs(&self) -> (bool, bool) {
        match self {
            Criterion::Key(key) => matcher::needs(key),
            Criterion::Uids(_) | Criterion::Seqs(_) | Criterion::Saved(_) => (false, false),
            Criterion::Not(inner) => inner.needs(),
            Criterion::Or(a, b) => {
                let (a, b) = (a.needs(), b.needs());
                (a.0 || b.0, a.1 || b.1)
            }
            Criterion::And(all) => all
                .iter()
                .map(Criterion::needs)
                .fold((false, false), |acc, n| (acc.0 || n.0, acc.1 || n.1)),
        }
    }

    pub fn matches(&self, c: &Candidate<'_>) -> bool {
        match self {
            Criterion::Key(key) => matcher::matches(key, c),
            Criterion::Uids(ranges) => ranges.contains(c.uid.get()),
            Criterion::Seqs(ranges) => ranges.contains(c.seq),
            Criterion::Saved(uids) => uids.binary_search(&c.uid).is_ok(),
            Criterion::Not(inner) => !inner.matches(c),
            Criterion::Or(a, b) => a.matches(c) || b.matches(c),
            Criterion::And(all) => all.iter().all(|k| k.matches(c)),
        }
    }
}

fn compile(key: SearchKey, cx: &Context<'_>, depth: usize) -> Result<Criterion, Unusable> {
    if depth > MAX_DEPTH {
        return Err(Unusable::TooDeep);
    }
    let recent = |name: &'static str| {
        cx.recent
            .map(|r| Criterion::Uids(NumberRanges::from_ranges(r.to_vec())))
            .ok_or(Unusable::NotInRev2(name))
    };
    let inner = |k: SearchKey| compile(k, cx, depth + 1).map(Box::new);
    Ok(match key {
        SearchKey::Not(k) => Criterion::Not(inner(*k)?),
        SearchKey::Or(a, b) => Criterion::Or(inner(*a)?, inner(*b)?),
        SearchKey::And(keys) => Criterion::And(
            keys.into_iter()
                .map(|k| compile(k, cx, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        SearchKey::Uid(set) => set_criterion(&set, cx.largest_uid, cx, Criterion::Uids),
        SearchKey::SequenceSet(set) => set_criterion(&set, cx.exists, cx, Criterion::Seqs),
        // RFC 3501 §6.4.4: NEW is RECENT UNSEEN, OLD is NOT RECENT.
        SearchKey::Recent => recent("RECENT")?,
        SearchKey::New => Criterion::And(vec![recent("NEW")?, Criterion::Key(SearchKey::Unseen)]),
        SearchKey::Old => Criterion::Not(Box::new(recent("OLD")?)),
        leaf => Criterion::Key(recode(leaf, cx.charset)),
    })
}

fn set_criterion(
    set: &SequenceSet,
    largest: u32,
    cx: &Context<'_>,
    make: fn(NumberRanges) -> Criterion,
) -> Criterion {
    match set.normalize(largest) {
        Some(ranges) => make(ranges),
        None => {
            let mut saved = cx.saved.to_vec();
            saved.sort_unstable();
            Criterion::Saved(saved)
        }
    }
}

/// A leaf's strings converted to UTF-8 from the command's charset.
fn recode(key: SearchKey, charset: Option<&'static encoding_rs::Encoding>) -> SearchKey {
    let Some(encoding) = charset else {
        return key;
    };
    let decode = |b: Vec<u8>| encoding.decode(&b).0.into_owned().into_bytes();
    match key {
        SearchKey::Bcc(s) => SearchKey::Bcc(decode(s)),
        SearchKey::Body(s) => SearchKey::Body(decode(s)),
        SearchKey::Cc(s) => SearchKey::Cc(decode(s)),
        SearchKey::From(s) => SearchKey::From(decode(s)),
        SearchKey::Header(n, s) => SearchKey::Header(n, decode(s)),
        SearchKey::Subject(s) => SearchKey::Subject(decode(s)),
        SearchKey::Text(s) => SearchKey::Text(decode(s)),
        SearchKey::To(s) => SearchKey::To(decode(s)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imap_proto::sequence::{SeqNumber, SequenceItem};
    use std::num::NonZeroU32;

    fn cx(saved: &[Uid]) -> Context<'_> {
        Context {
            exists: 10,
            largest_uid: 40,
            saved,
            charset: None,
            recent: Some(&[(3, 4)]),
        }
    }

    #[test]
    fn sets_are_resolved_once_into_merged_ranges() {
        let one = SeqNumber::Value(NonZeroU32::new(1).unwrap());
        let set = SequenceSet::Items(vec![SequenceItem::Range(one, SeqNumber::Largest); 15_000]);
        let key = SearchKey::And(vec![
            SearchKey::Uid(set.clone()),
            SearchKey::SequenceSet(set),
        ]);
        let Criterion::And(parts) = Criterion::compile(key, &cx(&[])).unwrap() else {
            panic!("an AND stays an AND");
        };
        assert!(matches!(&parts[0], Criterion::Uids(r) if r.ranges() == [(1, 40)]));
        assert!(matches!(&parts[1], Criterion::Seqs(r) if r.ranges() == [(1, 10)]));
    }

    #[test]
    fn recent_new_and_old_resolve_against_the_sessions_recent_set() {
        let c = Criterion::compile(SearchKey::New, &cx(&[])).unwrap();
        let Criterion::And(parts) = c else {
            panic!("NEW is RECENT UNSEEN");
        };
        assert!(matches!(&parts[0], Criterion::Uids(r) if r.ranges() == [(3, 4)]));
        assert!(matches!(&parts[1], Criterion::Key(SearchKey::Unseen)));
        let c = Criterion::compile(SearchKey::Old, &cx(&[])).unwrap();
        assert!(matches!(c, Criterion::Not(inner) if matches!(*inner, Criterion::Uids(_))));
        let rev2 = Context {
            recent: None,
            ..cx(&[])
        };
        let refused = Criterion::compile(SearchKey::Not(Box::new(SearchKey::Recent)), &rev2);
        assert!(matches!(refused, Err(Unusable::NotInRev2("RECENT"))));
    }

    #[test]
    fn nesting_past_the_bound_is_refused_without_recursing_further() {
        let mut key = SearchKey::All;
        for _ in 0..=MAX_DEPTH {
            key = SearchKey::Not(Box::new(key));
        }
        assert!(Criterion::compile(key, &cx(&[])).is_err());
        let mut key = SearchKey::All;
        for _ in 0..MAX_DEPTH {
            key = SearchKey::Not(Box::new(key));
        }
        assert!(Criterion::compile(key, &cx(&[])).is_ok());
    }

    #[test]
    fn the_saved_result_is_sorted_for_binary_search() {
        let saved = [Uid::new(9).unwrap(), Uid::new(2).unwrap()];
        let c = Criterion::compile(SearchKey::Uid(SequenceSet::Saved), &cx(&saved)).unwrap();
        assert!(matches!(c, Criterion::Saved(v) if v == [saved[1], saved[0]]));
    }

    /// `UID SEARCH 1:*,1:*,…` (15,000 items) over a million messages: the set used to be
    /// resolved again (15,000 items, one allocation) for every message.
    #[test]
    fn a_many_item_set_costs_a_binary_search_per_message() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let one = SeqNumber::Value(NonZeroU32::new(1).unwrap());
            let items = vec![SequenceItem::Range(one, SeqNumber::Largest); 15_000];
            let key = SearchKey::And(vec![
                SearchKey::Uid(SequenceSet::Items(items.clone())),
                SearchKey::Not(Box::new(SearchKey::SequenceSet(SequenceSet::Items(items)))),
            ]);
            let cx = Context {
                exists: 500_000,
                largest_uid: 1_000_000,
                saved: &[],
                charset: None,
                recent: None,
            };
            let criteria = Criterion::compile(key, &cx).unwrap();
            let record = mailservice::MessageRecord {
                uid: Uid::new(1).unwrap(),
                flags: Vec::new(),
                internal_date: mailservice::InternalDate {
                    unix_seconds: 0,
                    offset_minutes: 0,
                },
                save_date: 0,
                size: 0,
                modseq: types::ModSeq::MIN,
                guid: [0; 32],
                cache: None,
                header: None,
            };
            let no_body = Vec::new;
            let hits = (1..=1_000_000u32)
                .filter(|&n| {
                    let c = Candidate::new(n, Uid::new(n).unwrap(), &record, 0, &no_body);
                    criteria.matches(&c)
                })
                .count();
            let _ = tx.send(hits);
        });
        let hits = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("did not finish within a minute");
        assert_eq!(
            hits, 500_000,
            "in 1:* by UID, not in 1:* by number past EXISTS"
        );
    }
}
