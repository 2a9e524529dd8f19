//! What one FETCH asks for, once: the attributes after macro expansion, with items whose
//! responses would be identical merged, the work bounded, and what must be loaded for them.
//!
//! Merging: a FETCH response names each data item it carries, and the client matches them by
//! name (RFC 9051 §7.5.2), so an item requested twice is answered by one copy — `UID UID`, or
//! `BODY.PEEK[]` five thousand times, costs one item. `BODY[s]<p>` and `BODY.PEEK[s]<p>` give
//! the same response item (`BODY[s]<o>`) and merge; the merged item sets `\Seen` if either
//! would. Dovecot merges the simple items and Cyrus keeps them in a bit set, but both repeat
//! body sections; merging them too keeps one command from multiplying a message's size.

use imap_proto::command::{Addressing, FetchAttr, FetchItems, PeekMode, SectionText};

use super::fields::HeaderNames;

/// Distinct items one FETCH may ask for; more is a `BAD`. Real clients ask for a few; a client
/// fetching every part of a message one by one stays well below this.
pub(crate) const MAX_ITEMS: usize = 256;

/// One distinct item, with the header field names of a `HEADER.FIELDS` section ready to look up.
pub(crate) struct Planned {
    pub attr: FetchAttr,
    pub names: Option<HeaderNames>,
}

/// What the items need loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// The cached part tree, ENVELOPE, BODYSTRUCTURE.
    pub cache: bool,
    /// The top-level header block kept in the index.
    pub header: bool,
    /// The message file.
    pub file: bool,
    /// A non-PEEK body item: `\Seen` is set first (RFC 9051 §6.4.5).
    pub sets_seen: bool,
}

pub(crate) struct Plan {
    pub items: Vec<Planned>,
    pub needs: Needs,
}

impl Plan {
    /// The plan for `items`; `Err` is the text of a `BAD`. `UID FETCH` always reports UIDs
    /// (RFC 9051 §6.4.9; first, unless the client placed UID itself); a FETCH that sets
    /// `\Seen` reports the new FLAGS.
    pub fn new(items: FetchItems, addressing: Addressing, read_only: bool) -> Result<Plan, String> {
        let attrs = match items {
            FetchItems::Macro(m) => m.expand(),
            FetchItems::Attrs(a) => a,
        };
        let mut merged: Vec<FetchAttr> = Vec::new();
        if addressing == Addressing::Uid && !attrs.contains(&FetchAttr::Uid) {
            merged.push(FetchAttr::Uid);
        }
        for attr in attrs {
            if let FetchAttr::Other(name) = &attr {
                return Err(format!("Unsupported FETCH attribute {name}"));
            }
            if let Some(existing) = merged.iter_mut().find(|m| same_response(m, &attr)) {
                merge_peek(existing, &attr);
            } else if merged.len() == MAX_ITEMS {
                return Err(format!(
                    "Too many FETCH items (at most {MAX_ITEMS} different ones)"
                ));
            } else {
                merged.push(attr);
            }
        }
        let mut needs = needs(&merged);
        needs.sets_seen &= !read_only;
        if needs.sets_seen && !merged.contains(&FetchAttr::Flags) {
            merged.push(FetchAttr::Flags);
        }
        let items = merged
            .into_iter()
            .map(|attr| Planned {
                names: header_names(&attr),
                attr,
            })
            .collect();
        Ok(Plan { items, needs })
    }
}

impl Plan {
    /// Adds `attr` unless the plan has it already (items the server adds on its own: MODSEQ
    /// for CHANGEDSINCE, UID and MODSEQ with an implicit `\Seen` under CONDSTORE).
    pub fn ensure(&mut self, attr: FetchAttr) {
        if !self.items.iter().any(|p| p.attr == attr) {
            self.items.push(Planned { attr, names: None });
        }
    }

    /// Whether the responses carry FLAGS.
    pub fn wants_flags(&self) -> bool {
        self.items.iter().any(|p| p.attr == FetchAttr::Flags)
    }
}

/// Whether two attributes are answered by the same response item.
fn same_response(a: &FetchAttr, b: &FetchAttr) -> bool {
    match (a, b) {
        (
            FetchAttr::BodySection {
                section: s1,
                partial: p1,
                ..
            },
            FetchAttr::BodySection {
                section: s2,
                partial: p2,
                ..
            },
        ) => s1 == s2 && p1 == p2,
        (
            FetchAttr::Binary {
                part: s1,
                partial: p1,
                ..
            },
            FetchAttr::Binary {
                part: s2,
                partial: p2,
                ..
            },
        ) => s1 == s2 && p1 == p2,
        _ => a == b,
    }
}

/// A non-PEEK request of a merged item makes the item set `\Seen`.
fn merge_peek(existing: &mut FetchAttr, new: &FetchAttr) {
    let new_peek = match new {
        FetchAttr::BodySection { peek, .. } | FetchAttr::Binary { peek, .. } => *peek,
        _ => return,
    };
    if let FetchAttr::BodySection { peek, .. } | FetchAttr::Binary { peek, .. } = existing {
        if new_peek == PeekMode::Read {
            *peek = PeekMode::Read;
        }
    }
}

fn header_names(attr: &FetchAttr) -> Option<HeaderNames> {
    match attr {
        FetchAttr::BodySection { section, .. } => match &section.text {
            Some(SectionText::HeaderFields(names) | SectionText::HeaderFieldsNot(names)) => {
                Some(HeaderNames::new(names))
            }
            _ => None,
        },
        _ => None,
    }
}

fn needs(attrs: &[FetchAttr]) -> Needs {
    let mut n = Needs::default();
    for attr in attrs {
        match attr {
            FetchAttr::Envelope | FetchAttr::Body | FetchAttr::BodyStructure => n.cache = true,
            FetchAttr::Rfc822Header => n.header = true,
            FetchAttr::Rfc822 => {
                n.file = true;
                n.sets_seen = true;
            }
            // RFC822.TEXT starts after the header, whose length the cache knows.
            FetchAttr::Rfc822Text => {
                n.cache = true;
                n.file = true;
                n.sets_seen = true;
            }
            FetchAttr::BodySection { peek, section, .. } => {
                if super::section::header_only(section) {
                    n.header = true;
                } else {
                    n.cache = true;
                    n.file = true;
                }
                n.sets_seen |= *peek == PeekMode::Read;
            }
            FetchAttr::Binary { peek, .. } => {
                n.cache = true;
                n.file = true;
                n.sets_seen |= *peek == PeekMode::Read;
            }
            FetchAttr::BinarySize { .. } => {
                n.cache = true;
                n.file = true;
            }
            FetchAttr::Flags
            | FetchAttr::InternalDate
            | FetchAttr::Rfc822Size
            | FetchAttr::Uid
            | FetchAttr::ModSeq
            | FetchAttr::Other(_) => {}
        }
    }
    n
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use imap_proto::command::Section;

    use super::*;

    fn body(peek: PeekMode, partial: Option<(u32, u32)>) -> FetchAttr {
        FetchAttr::BodySection {
            peek,
            section: Section::default(),
            partial,
        }
    }

    fn attrs(plan: &Plan) -> Vec<&FetchAttr> {
        plan.items.iter().map(|p| &p.attr).collect()
    }

    #[test]
    fn identical_items_merge_and_a_read_wins_over_peek() {
        let mut list = vec![FetchAttr::Uid, FetchAttr::Flags, FetchAttr::Uid];
        list.extend(std::iter::repeat_n(body(PeekMode::Peek, None), 5000));
        list.push(body(PeekMode::Read, None));
        list.push(body(PeekMode::Peek, Some((0, 10))));
        list.push(body(PeekMode::Peek, Some((0, 10))));
        let plan = Plan::new(FetchItems::Attrs(list), Addressing::Sequence, false).unwrap();
        assert_eq!(
            attrs(&plan),
            [
                &FetchAttr::Uid,
                &FetchAttr::Flags,
                &body(PeekMode::Read, None),
                &body(PeekMode::Peek, Some((0, 10)))
            ]
        );
        assert!(plan.needs.sets_seen && plan.needs.file);
    }

    #[test]
    fn uid_fetch_reports_uid_first_and_seen_reports_flags() {
        let list = vec![FetchAttr::Rfc822Size, body(PeekMode::Read, None)];
        let plan = Plan::new(FetchItems::Attrs(list.clone()), Addressing::Uid, false).unwrap();
        assert_eq!(
            attrs(&plan),
            [
                &FetchAttr::Uid,
                &FetchAttr::Rfc822Size,
                &body(PeekMode::Read, None),
                &FetchAttr::Flags
            ]
        );
        // Where the client asked for UID, it stays where it asked.
        let with_uid = vec![FetchAttr::Flags, FetchAttr::Uid, FetchAttr::Uid];
        let plan = Plan::new(FetchItems::Attrs(with_uid), Addressing::Uid, false).unwrap();
        assert_eq!(attrs(&plan), [&FetchAttr::Flags, &FetchAttr::Uid]);
        let plan = Plan::new(FetchItems::Attrs(list), Addressing::Sequence, true).unwrap();
        assert!(!plan.needs.sets_seen, "EXAMINE never sets \\Seen");
        assert!(!plan.items.iter().any(|p| p.attr == FetchAttr::Flags));
    }

    #[test]
    fn too_many_distinct_items_are_refused() {
        let list: Vec<FetchAttr> = (0..=MAX_ITEMS as u32)
            .map(|i| body(PeekMode::Peek, Some((i, 1))))
            .collect();
        let err = Plan::new(FetchItems::Attrs(list.clone()), Addressing::Sequence, false);
        assert!(err.is_err());
        let ok = Plan::new(
            FetchItems::Attrs(list[..MAX_ITEMS].to_vec()),
            Addressing::Sequence,
            false,
        );
        assert_eq!(ok.unwrap().items.len(), MAX_ITEMS);
    }

    #[test]
    fn rfc822_text_needs_the_cached_header_length() {
        let plan = Plan::new(
            FetchItems::Attrs(vec![FetchAttr::Rfc822Text]),
            Addressing::Sequence,
            false,
        )
        .unwrap();
        assert!(plan.needs.cache && plan.needs.file);
    }
}
