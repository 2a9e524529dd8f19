//! What one `mixed` client expects its mailbox to hold: UIDs in sequence order, their flags,
//! sizes and (for messages it appended itself) which corpus message they are. Only one client
//! ever uses a given mailbox, so every difference from the server's answers is a server error.

use std::collections::{BTreeSet, VecDeque};

use crate::client::parse::FetchAttrs;

pub type Flags = BTreeSet<String>;

#[derive(Debug, Clone)]
pub struct Msg {
    pub uid: u32,
    pub flags: Flags,
    pub size: Option<u32>,
    /// The corpus index, when this client appended the message.
    pub corpus: Option<u64>,
}

#[derive(Debug, Default)]
pub struct Model {
    /// False until a full sync after SELECT (and again after anything leaves the state unsure).
    pub known: bool,
    pub uidvalidity: Option<String>,
    /// Messages in sequence-number order (= ascending UID).
    pub msgs: Vec<Msg>,
    /// Appended without APPENDUID (no UIDPLUS): resolved by the next fetch of new mail.
    pub pending: VecDeque<(u64, Flags, u32)>,
    /// Highest UID whose envelope this client has fetched.
    pub envelope_upto: u32,
}

/// Canonical flags: system flags in their RFC spelling, `\Recent` (session-only) dropped.
pub fn norm(flags: &[String]) -> Flags {
    flags
        .iter()
        .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
        .map(|f| {
            let known = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"];
            known
                .iter()
                .find(|k| k.eq_ignore_ascii_case(f))
                .map_or_else(|| f.clone(), |k| (*k).to_owned())
        })
        .collect()
}

pub fn show(flags: &Flags) -> String {
    flags.iter().cloned().collect::<Vec<_>>().join(" ")
}

impl Model {
    pub fn reset(&mut self) {
        self.known = false;
        self.msgs.clear();
        self.pending.clear();
        self.envelope_upto = 0;
    }

    pub fn expected_exists(&self) -> usize {
        self.msgs.len() + self.pending.len()
    }

    pub fn max_uid(&self) -> u32 {
        self.msgs.last().map_or(0, |m| m.uid)
    }

    pub fn position(&self, uid: u32) -> Option<usize> {
        self.msgs.binary_search_by_key(&uid, |m| m.uid).ok()
    }

    /// Replaces the model with the server's view (`UID FETCH 1:* (UID FLAGS RFC822.SIZE)`),
    /// keeping what is known about the contents of UIDs already in the model.
    pub fn adopt(&mut self, fetched: &[(u32, FetchAttrs)]) {
        let mut msgs: Vec<Msg> = fetched
            .iter()
            .filter_map(|(_, a)| {
                let uid = a.uid?;
                let old = self.position(uid).map(|p| &self.msgs[p]);
                Some(Msg {
                    uid,
                    flags: norm(a.flags.as_deref().unwrap_or_default()),
                    size: a.size.or(old.and_then(|o| o.size)),
                    corpus: old.and_then(|o| o.corpus),
                })
            })
            .collect();
        msgs.sort_by_key(|m| m.uid);
        msgs.dedup_by_key(|m| m.uid);
        self.msgs = msgs;
        self.pending.clear();
        self.envelope_upto = self.envelope_upto.min(self.max_uid());
        self.known = true;
    }

    /// Compares a full `FETCH 1:* (UID FLAGS)` with the model; returns (kind, detail) problems.
    pub fn compare(&self, fetched: &[(u32, FetchAttrs)]) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if fetched.len() != self.msgs.len() {
            let detail = format!("{} messages, expected {}", fetched.len(), self.msgs.len());
            problems.push(("wrong-count", detail));
        }
        for (seq, a) in fetched {
            let Some(m) = (*seq as usize)
                .checked_sub(1)
                .and_then(|i| self.msgs.get(i))
            else {
                problems.push(("wrong-count", format!("FETCH for message {seq}")));
                continue;
            };
            if a.uid != Some(m.uid) {
                let detail = format!("message {seq}: UID {:?}, expected {}", a.uid, m.uid);
                problems.push(("wrong-uid", detail));
            } else if let Some(f) = &a.flags {
                let got = norm(f);
                if got != m.flags {
                    let detail = format!(
                        "UID {}: ({}) expected ({})",
                        m.uid,
                        show(&got),
                        show(&m.flags)
                    );
                    problems.push(("wrong-flags", detail));
                }
            }
        }
        problems
    }

    /// Applies `* n EXPUNGE`; the message must have carried `\Deleted`.
    pub fn expunge(&mut self, seq: u32) -> Result<(), String> {
        let i = (seq as usize)
            .checked_sub(1)
            .filter(|&i| i < self.msgs.len())
            .ok_or_else(|| format!("EXPUNGE {seq} of {} messages", self.msgs.len()))?;
        let m = self.msgs.remove(i);
        if m.flags.contains("\\Deleted") {
            Ok(())
        } else {
            Err(format!(
                "EXPUNGE {seq} removed UID {} without \\Deleted",
                m.uid
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fa(uid: u32, flags: &[&str]) -> FetchAttrs {
        FetchAttrs {
            uid: Some(uid),
            flags: Some(flags.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn flags_are_normalised_and_recent_dropped() {
        let f = norm(&["\\SEEN".into(), "\\Recent".into(), "$Work".into()]);
        assert_eq!(show(&f), "$Work \\Seen");
    }

    #[test]
    fn adopt_then_compare_finds_flag_and_uid_differences() {
        let mut m = Model::default();
        m.adopt(&[(1, fa(4, &["\\Seen"])), (2, fa(9, &[]))]);
        assert!(m.known);
        assert_eq!(m.max_uid(), 9);
        assert!(m
            .compare(&[(1, fa(4, &["\\seen"])), (2, fa(9, &[]))])
            .is_empty());
        let p = m.compare(&[(1, fa(4, &[])), (2, fa(10, &[]))]);
        let kinds: Vec<_> = p.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, vec!["wrong-flags", "wrong-uid"]);
        assert_eq!(m.compare(&[(1, fa(4, &["\\Seen"]))])[0].0, "wrong-count");
    }

    #[test]
    fn expunge_requires_deleted_flag() {
        let mut m = Model::default();
        m.adopt(&[(1, fa(1, &["\\Deleted"])), (2, fa(2, &[]))]);
        assert!(m.expunge(1).is_ok());
        assert!(m.expunge(1).is_err());
        assert!(m.expunge(5).is_err());
        assert!(m.msgs.is_empty());
    }
}
