//! Command encoder, continued: SEARCH keys and STORE.

use super::encode::Enc;
use super::{Search, SearchKey, Sort, SortOrder, Store, StoreAction, StoreSilence, Thread};

impl Enc {
    pub(super) fn search(&self, out: &mut Vec<u8>, search: &Search) {
        if let Some(opts) = &search.return_options {
            let names: Vec<&str> = opts.iter().map(|o| o.name()).collect();
            Self::put(out, &format!(" RETURN ({})", names.join(" ")));
        }
        if let Some(charset) = &search.charset {
            out.extend_from_slice(b" CHARSET ");
            self.astring(out, charset.as_bytes());
        }
        for key in &search.criteria {
            out.push(b' ');
            self.search_key(out, key);
        }
    }

    /// ` (criteria) charset keys` (RFC 5256).
    pub(super) fn sort(&self, out: &mut Vec<u8>, sort: &Sort) {
        let criteria: Vec<String> = sort
            .criteria
            .iter()
            .map(|c| match c.order {
                SortOrder::Ascending => c.key.name().to_string(),
                SortOrder::Descending => format!("REVERSE {}", c.key.name()),
            })
            .collect();
        Self::put(out, &format!(" ({})", criteria.join(" ")));
        self.search_criteria(out, &sort.charset, &sort.search);
    }

    pub(super) fn thread(&self, out: &mut Vec<u8>, thread: &Thread) {
        Self::put(out, &format!(" {}", thread.algorithm.name()));
        self.search_criteria(out, &thread.charset, &thread.search);
    }

    /// `SP charset 1*(SP search-key)`; charset is `atom / quoted`.
    fn search_criteria(&self, out: &mut Vec<u8>, charset: &str, keys: &[SearchKey]) {
        out.push(b' ');
        if !charset.is_empty() && charset.bytes().all(crate::wire::is_atom_char) {
            Self::put(out, charset);
        } else {
            crate::wire::write_quoted(out, charset.as_bytes());
        }
        for key in keys {
            out.push(b' ');
            self.search_key(out, key);
        }
    }

    fn key_str(&self, out: &mut Vec<u8>, name: &str, value: &[u8]) {
        Self::put(out, name);
        out.push(b' ');
        self.astring(out, value);
    }

    fn search_key(&self, out: &mut Vec<u8>, key: &SearchKey) {
        let simple = match key {
            SearchKey::All => "ALL",
            SearchKey::Answered => "ANSWERED",
            SearchKey::Deleted => "DELETED",
            SearchKey::Draft => "DRAFT",
            SearchKey::Flagged => "FLAGGED",
            SearchKey::New => "NEW",
            SearchKey::Old => "OLD",
            SearchKey::Recent => "RECENT",
            SearchKey::Seen => "SEEN",
            SearchKey::Unanswered => "UNANSWERED",
            SearchKey::Undeleted => "UNDELETED",
            SearchKey::Undraft => "UNDRAFT",
            SearchKey::Unflagged => "UNFLAGGED",
            SearchKey::Unseen => "UNSEEN",
            other => return self.search_key_args(out, other),
        };
        Self::put(out, simple);
    }

    fn search_key_args(&self, out: &mut Vec<u8>, key: &SearchKey) {
        let text = match key {
            SearchKey::Bcc(v) => return self.key_str(out, "BCC", v),
            SearchKey::Body(v) => return self.key_str(out, "BODY", v),
            SearchKey::Cc(v) => return self.key_str(out, "CC", v),
            SearchKey::From(v) => return self.key_str(out, "FROM", v),
            SearchKey::Subject(v) => return self.key_str(out, "SUBJECT", v),
            SearchKey::Text(v) => return self.key_str(out, "TEXT", v),
            SearchKey::To(v) => return self.key_str(out, "TO", v),
            SearchKey::Header(field, v) => {
                self.key_str(out, "HEADER", field);
                out.push(b' ');
                return self.astring(out, v);
            }
            SearchKey::Not(inner) => {
                Self::put(out, "NOT ");
                return self.search_key(out, inner);
            }
            SearchKey::Or(a, b) => {
                Self::put(out, "OR ");
                self.search_key(out, a);
                out.push(b' ');
                return self.search_key(out, b);
            }
            SearchKey::And(keys) => {
                out.push(b'(');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    self.search_key(out, k);
                }
                return out.push(b')');
            }
            SearchKey::Before(d) => format!("BEFORE {d}"),
            SearchKey::On(d) => format!("ON {d}"),
            SearchKey::Since(d) => format!("SINCE {d}"),
            SearchKey::SentBefore(d) => format!("SENTBEFORE {d}"),
            SearchKey::SentOn(d) => format!("SENTON {d}"),
            SearchKey::SentSince(d) => format!("SENTSINCE {d}"),
            SearchKey::Keyword(k) => format!("KEYWORD {k}"),
            SearchKey::Unkeyword(k) => format!("UNKEYWORD {k}"),
            SearchKey::Larger(n) => format!("LARGER {n}"),
            SearchKey::Smaller(n) => format!("SMALLER {n}"),
            SearchKey::Uid(set) => format!("UID {set}"),
            SearchKey::SequenceSet(set) => set.to_string(),
            SearchKey::Older(n) => format!("OLDER {n}"),
            SearchKey::Younger(n) => format!("YOUNGER {n}"),
            SearchKey::ModSeq {
                entry: None,
                mod_seq,
            } => format!("MODSEQ {mod_seq}"),
            SearchKey::ModSeq {
                entry: Some((name, kind)),
                mod_seq,
            } => {
                Self::put(out, "MODSEQ ");
                self.string(out, name.as_bytes());
                format!(" {kind} {mod_seq}")
            }
            // Written by `search_key`.
            SearchKey::All
            | SearchKey::Answered
            | SearchKey::Deleted
            | SearchKey::Draft
            | SearchKey::Flagged
            | SearchKey::New
            | SearchKey::Old
            | SearchKey::Recent
            | SearchKey::Seen
            | SearchKey::Unanswered
            | SearchKey::Undeleted
            | SearchKey::Undraft
            | SearchKey::Unflagged
            | SearchKey::Unseen => String::new(),
        };
        Self::put(out, &text);
    }

    pub(super) fn store(&self, out: &mut Vec<u8>, store: &Store) {
        Self::put(out, &format!(" {}", store.set));
        if let Some(m) = store.unchanged_since {
            Self::put(out, &format!(" (UNCHANGEDSINCE {m})"));
        }
        let sign = match store.action {
            StoreAction::Replace => "",
            StoreAction::Add => "+",
            StoreAction::Remove => "-",
        };
        let silent = match store.silence {
            StoreSilence::Report => "",
            StoreSilence::Silent => ".SILENT",
        };
        let names: Vec<&str> = store.flags.iter().map(types::Flag::as_str).collect();
        Self::put(out, &format!(" {sign}FLAGS{silent} ({})", names.join(" ")));
    }
}
