//! The flags a session tells its client: the untagged FLAGS and `OK [PERMANENTFLAGS]`
//! announcements (RFC 3501 §7.2.6, RFC 9051 §7.3.5) and the FLAGS item of every FETCH response
//! (RFC 9051 §7.5.2), `\Recent` included (RFC 3501 §2.3.2).
//!
//! A client learns which keywords a mailbox has from the FLAGS response, and must never meet one
//! in a FETCH first. So every FETCH FLAGS item is built here, by [`Session::flags_item`], which
//! announces a keyword the session has not told yet before it returns the item: a FETCH with an
//! unannounced keyword cannot be written. (A test keeps `FetchItem::Flags` out of every other
//! module.) Commands that are about to report flags call [`Session::announce_keywords`] first,
//! which announces the mailbox's current keyword table in one response, read fresh from the
//! store so that PERMANENTFLAGS says whether the table still has room (`\*`).

use std::collections::HashSet;
use std::sync::Arc;

use imap_proto::response::{Code, Data, FetchFlag, FetchItem, PermanentFlag, StatusKind};
use mailservice::MAX_KEYWORDS;
use types::{Flag, Uid};

use crate::connection::Session;
use crate::output::Output;

/// The system flags every mailbox supports (RFC 9051 §2.3.2).
pub(crate) const SYSTEM_FLAGS: [Flag; 5] = [
    Flag::Answered,
    Flag::Flagged,
    Flag::Deleted,
    Flag::Seen,
    Flag::Draft,
];

/// The keywords a session has announced to its client, in announcement order. Each name is
/// held once (shared by the list and the index): at most 128 of at most 250 octets, as the
/// mailbox's table, plus what an older, larger table held.
#[derive(Default)]
pub(crate) struct Keywords {
    told: Vec<Arc<str>>,
    /// `told`, for exact lookups: records spell a keyword as the mailbox's table does.
    index: HashSet<Arc<str>>,
}

impl Keywords {
    /// Whether the client was told about `keyword` (keywords match case-insensitively).
    fn knows(&self, keyword: &str) -> bool {
        self.index.contains(keyword) || self.told.iter().any(|k| k.eq_ignore_ascii_case(keyword))
    }

    /// The keywords among `flags` the client was not told about yet.
    fn unknown<'a>(&self, flags: impl IntoIterator<Item = &'a Flag>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for flag in flags {
            if let Flag::Keyword(k) = flag {
                if !self.knows(k) && !out.iter().any(|o| o.eq_ignore_ascii_case(k)) {
                    out.push(k.clone());
                }
            }
        }
        out
    }

    /// Adds keywords (those already known are skipped).
    pub fn learn(&mut self, keywords: impl IntoIterator<Item = String>) {
        for k in keywords {
            if !self.knows(&k) {
                let k: Arc<str> = Arc::from(k);
                self.index.insert(Arc::clone(&k));
                self.told.push(k);
            }
        }
    }

    pub fn list(&self) -> &[Arc<str>] {
        &self.told
    }
}

/// Whether the session may change flags (SELECT) or not (EXAMINE).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    ReadWrite,
    ReadOnly,
}

/// The flags a FETCH response read from a backend gives (COPY between servers carries them
/// over), without `\Recent`, which no client may set (RFC 3501 §2.3.2); `None` when it
/// has no FLAGS item.
pub(crate) fn fetched_flags(items: &[FetchItem]) -> Option<Vec<Flag>> {
    items.iter().find_map(|item| match item {
        FetchItem::Flags(flags) => Some(
            flags
                .iter()
                .filter_map(|f| match f {
                    FetchFlag::Flag(flag) => Some(flag.clone()),
                    FetchFlag::Recent => None,
                })
                .collect(),
        ),
        _ => None,
    })
}

/// Writes `* FLAGS (…)` and `* OK [PERMANENTFLAGS (…)]` for a mailbox whose keywords are
/// `keywords`. PERMANENTFLAGS is empty for EXAMINE (RFC 9051 §6.3.3) and offers `\*` only while
/// the mailbox's keyword table has room (RFC 9051 §7.1: `\*` means new keywords may be
/// created), as Cyrus does.
pub(crate) fn write_announcement(out: &mut Output, keywords: &[Arc<str>], access: Access) {
    let mut flags: Vec<Flag> = SYSTEM_FLAGS.to_vec();
    flags.extend(keywords.iter().map(|k| Flag::Keyword(k.to_string())));
    out.data(Data::Flags(flags.clone()));
    let permanent = match access {
        Access::ReadOnly => Vec::new(),
        Access::ReadWrite => {
            let mut p: Vec<PermanentFlag> = flags.into_iter().map(PermanentFlag::Flag).collect();
            if keywords.len() < MAX_KEYWORDS {
                p.push(PermanentFlag::Wildcard);
            }
            p
        }
    };
    let text = match access {
        Access::ReadOnly => "No permanent flags permitted",
        Access::ReadWrite => "Flags permitted",
    };
    out.untagged(StatusKind::Ok, Some(Code::PermanentFlags(permanent)), text);
}

impl Session {
    /// Before FETCH responses that carry `flags`: when any keyword among them is new to the
    /// client, announces the mailbox's keyword table as it is now (it holds the new keywords:
    /// a table only grows). Without a selected mailbox there is nothing to announce.
    pub(crate) async fn announce_keywords<'a>(
        &mut self,
        flags: impl IntoIterator<Item = &'a [Flag]>,
    ) {
        let Some(view) = self.state.view() else {
            return;
        };
        let unknown = view.keywords.unknown(flags.into_iter().flatten());
        if unknown.is_empty() {
            return;
        }
        let mailbox = view.mailbox.clone();
        // A failed read only loses the fresh table; the new keywords are announced anyway.
        let table = self
            .blocking(move |s| s.keywords(&mailbox))
            .await
            .unwrap_or_default();
        self.tell_keywords(table.into_iter().chain(unknown));
    }

    /// The FLAGS item of a FETCH response for message `uid` of the selected mailbox: its
    /// stored flags, and `\Recent` where this session holds it (never in IMAP4rev2, RFC 9051
    /// §2.3.2). A keyword the client has not been told about is announced first.
    pub(crate) fn flags_item(&mut self, uid: Uid, flags: &[Flag]) -> FetchItem {
        let Some(view) = self.state.view() else {
            return FetchItem::Flags(flags.iter().cloned().map(FetchFlag::Flag).collect());
        };
        let unknown = view.keywords.unknown(flags);
        let recent = !self.enabled.imap4rev2 && view.recent.contains(uid);
        if !unknown.is_empty() {
            self.tell_keywords(unknown);
        }
        let mut items: Vec<FetchFlag> = flags.iter().cloned().map(FetchFlag::Flag).collect();
        if recent {
            items.push(FetchFlag::Recent);
        }
        FetchItem::Flags(items)
    }

    /// After EXISTS grew past `old_last` (the highest UID the client knew before): the new
    /// messages are `\Recent` here unless another session reported them first. A read-write
    /// session claims them (Cyrus gives new arrivals to the session that reports them; the mark
    /// makes it one session per message), a read-only one takes those nobody claimed yet
    /// without claiming. Then `* n RECENT` (RFC 3501 §7.3.2, as Cyrus sends it with every
    /// EXISTS); nothing in IMAP4rev2 (RFC 9051 §2.3.2).
    pub(crate) async fn report_recent(&mut self, old_last: u32) {
        if self.enabled.imap4rev2 {
            return;
        }
        let Some(view) = self.state.view() else {
            return;
        };
        if let Some(new_last) = view.uids().last().copied().filter(|u| u.get() > old_last) {
            let (mailbox, claim) = (view.mailbox.clone(), !view.read_only);
            let before = self
                .blocking(move |s| match claim {
                    true => s.claim_recent(&mailbox, new_last),
                    false => s.recent_mark(&mailbox),
                })
                .await;
            match (before, self.state.view_mut()) {
                (Ok(before), Some(view)) => {
                    if let Some(first) = before.max(old_last).checked_add(1) {
                        view.recent.add(first, new_last.get());
                    }
                }
                (Err(e), _) => tracing::warn!("{}: \\Recent of new messages: {e}", self.id),
                (Ok(_), None) => {}
            }
        }
        if let Some(view) = self.state.view() {
            let count = view.recent.count(view.uids());
            self.out.data(Data::Recent(count));
        }
    }

    /// Adds `keywords` to what the client knows and sends the announcement.
    fn tell_keywords(&mut self, keywords: impl IntoIterator<Item = String>) {
        let Some(view) = self.state.view_mut() else {
            return;
        };
        view.keywords.learn(keywords);
        let access = match view.read_only {
            true => Access::ReadOnly,
            false => Access::ReadWrite,
        };
        write_announcement(&mut self.out, view.keywords.list(), access);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(k: &str) -> Flag {
        Flag::Keyword(k.to_string())
    }

    #[test]
    fn keywords_are_known_case_insensitively_and_reported_once() {
        let mut k = Keywords::default();
        k.learn([
            "$Label1".to_string(),
            "work".to_string(),
            "WORK".to_string(),
        ]);
        let list: Vec<&str> = k.list().iter().map(|k| &**k).collect();
        assert_eq!(list, ["$Label1", "work"]);
        let flags = [Flag::Seen, kw("$label1"), kw("new"), kw("NEW"), kw("other")];
        assert_eq!(k.unknown(&flags), ["new", "other"]);
    }

    /// Every FETCH FLAGS item is built by `Session::flags_item`, which announces unknown
    /// keywords first; a FLAGS item built anywhere else could skip that.
    #[test]
    fn fetch_flags_items_are_built_only_here() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![src];
        let mut offenders = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("src/flags.rs")
                    && std::fs::read_to_string(&path)
                        .unwrap()
                        .contains("FetchItem::Flags(")
                {
                    offenders.push(path.display().to_string());
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "FETCH FLAGS built outside flags.rs: {offenders:?}"
        );
    }
}
