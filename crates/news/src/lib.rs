//! Server layer: netnews export. Newsgroups of an INN tradspool spool are shown as read-only
//! mailboxes; three operations keep them in step with the news server:
//! - [`Collector`] (`collectnews`): indexes the articles a feed names, creating the mailboxes
//!   of groups not seen before, crossposts in every group they were filed in;
//! - [`Remover`] (`rmnews`): takes what INN's `fastrm` takes, drops those articles from the
//!   indexes and unlinks their files;
//! - [`sync_active`] (`syncnews`): creates and removes mailboxes to match INN's `active` file.
//!
//! Owns: reading the news server's files and feeds, and deciding what to index or drop. Must
//! not: write into the spool other than the unlinks `rmnews` stands in for. These are the news
//! server's own operations, with no client identity behind them: they use the store's
//! newsgroup API (`mailstore::ops_news`), never its mail API, and no ACL decides them.

pub mod feed;
#[doc(hidden)]
pub mod fuzzing;
mod read;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use mailstore::{MailboxType, NewsArticle, Store, StoreError};
use types::{MailboxName, Uid};

use feed::{Placement, TradspoolMap};
use read::{Article, Named};

/// What can go wrong with a whole run (one bad line is a problem in its report instead).
#[derive(Debug, thiserror::Error)]
pub enum NewsError {
    #[error("{0}")]
    Input(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no news spool: set `partition-news` to INN's article directory (patharticles)")]
    NoSpool,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NewsError {
    fn io(path: &Path, source: std::io::Error) -> NewsError {
        NewsError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// How the news side is set up.
#[derive(Clone, Debug)]
pub struct NewsConfig {
    /// The ACL a newsgroup's mailbox is created with (`newsacl`), in the stored form.
    pub acl: String,
    /// INN's `tradspool.map`, to read storage tokens.
    pub tradspool_map: PathBuf,
}

/// Pending articles are committed once they hold this many octets…
const FLUSH_BYTES: usize = 32 << 20;
/// …or this many articles.
const FLUSH_ARTICLES: usize = 4096;
/// Articles named by the feed are read from the spool this many at a time, on several
/// threads ([`read`]).
const READ_BATCH: usize = 512;
/// Problems listed in a report (the rest are only counted).
const MAX_LISTED: usize = 50;

/// Problems met on the way: the first few in words, all of them counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problems {
    pub listed: Vec<String>,
    pub count: u64,
}

impl Problems {
    fn add(&mut self, what: String) {
        self.count += 1;
        if self.listed.len() < MAX_LISTED {
            self.listed.push(what);
        }
    }
}

impl Problems {
    /// Adds another run's problems (the listed ones up to the limit).
    pub fn merge(&mut self, other: Problems) {
        let room = MAX_LISTED.saturating_sub(self.listed.len());
        self.listed.extend(other.listed.into_iter().take(room));
        self.count += other.count;
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.listed {
            writeln!(f, "  {p}")?;
        }
        if self.count > self.listed.len() as u64 {
            writeln!(f, "  … and {} more", self.count - self.listed.len() as u64)?;
        }
        Ok(())
    }
}

/// What [`Collector`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectReport {
    /// Articles the feed named.
    pub articles: u64,
    /// Index entries made (an article crossposted to three groups makes three).
    pub indexed: u64,
    /// Of those, entries in groups other than the one the feed named first.
    pub crossposted: u64,
    /// Articles already indexed (the feed was read before).
    pub already: u64,
    /// Entries not made because the group already shows newer articles.
    pub too_old: u64,
    /// Articles whose file is gone (cancelled or expired before we came).
    pub missing: u64,
    /// Mailboxes created for groups seen for the first time.
    pub groups_created: Vec<String>,
    pub problems: Problems,
}

impl CollectReport {
    /// Adds another part of the same run (the feed is sent in pieces).
    pub fn merge(&mut self, other: CollectReport) {
        self.articles += other.articles;
        self.indexed += other.indexed;
        self.crossposted += other.crossposted;
        self.already += other.already;
        self.too_old += other.too_old;
        self.missing += other.missing;
        self.groups_created.extend(other.groups_created);
        self.problems.merge(other.problems);
    }
}

impl fmt::Display for CollectReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "collectnews: {} articles: {} indexed ({} as crossposts), {} already indexed, \
             {} older than their group's newest, {} gone from the spool, {} problems",
            self.articles,
            self.indexed,
            self.crossposted,
            self.already,
            self.too_old,
            self.missing,
            self.problems.count
        )?;
        for g in &self.groups_created {
            writeln!(f, "  created newsgroup {g}")?;
        }
        write!(f, "{}", self.problems)
    }
}

/// `collectnews`: feed it lines, then [`Collector::finish`].
pub struct Collector<'a> {
    store: &'a Store,
    spool: PathBuf,
    config: NewsConfig,
    map: Option<TradspoolMap>,
    /// Groups whose mailbox is known to exist.
    groups: BTreeSet<String>,
    /// Articles named and not read yet (at most [`READ_BATCH`]), in feed order…
    queue: Vec<Named>,
    /// …and where each is read from.
    queued: HashSet<Placement>,
    pending: BTreeMap<String, Vec<NewsArticle>>,
    pending_bytes: usize,
    pending_count: usize,
    report: CollectReport,
}

impl<'a> Collector<'a> {
    pub fn new(store: &'a Store, config: NewsConfig) -> Result<Collector<'a>, NewsError> {
        let spool = store.news_spool().ok_or(NewsError::NoSpool)?.to_path_buf();
        let map = TradspoolMap::read_if_present(&config.tradspool_map)?;
        let groups = store
            .newsgroups()?
            .iter()
            .filter_map(|e| store.newsgroup_of(&e.name))
            .collect();
        Ok(Collector {
            store,
            spool,
            config,
            map,
            groups,
            queue: Vec::new(),
            queued: HashSet::new(),
            pending: BTreeMap::new(),
            pending_bytes: 0,
            pending_count: 0,
            report: CollectReport::default(),
        })
    }

    /// Takes one feed line. Errors of the store stop the run; a bad line is a problem.
    pub fn line(&mut self, line: &str) -> Result<(), NewsError> {
        let placements = match self.placements(line) {
            Ok(Some(p)) => p,
            Ok(None) => return Ok(()),
            Err(NewsError::Store(e)) if !e.is_refusal() => return Err(NewsError::Store(e)),
            Err(e) => {
                self.report.problems.add(e.to_string());
                return Ok(());
            }
        };
        self.report.articles += 1;
        self.article(placements)
    }

    fn placements(&mut self, line: &str) -> Result<Option<Vec<Placement>>, NewsError> {
        let parsed = match feed::parse_line(line, &self.spool, self.map.as_ref()) {
            Err(NewsError::Input(why)) if line.contains('@') && self.map.is_none() => {
                // INN may have written the map since we started.
                self.map = TradspoolMap::read_if_present(&self.config.tradspool_map)?;
                match self.map {
                    Some(_) => feed::parse_line(line, &self.spool, self.map.as_ref()),
                    None => Err(NewsError::Input(why)),
                }
            }
            other => other,
        };
        Ok(parsed?.map(|l| l.placements))
    }

    /// Queues an article to be read, unless it is indexed already; reads the queue once full.
    fn article(&mut self, mut placements: Vec<Placement>) -> Result<(), NewsError> {
        if placements.is_empty() {
            return Ok(());
        }
        let first = placements.remove(0);
        if self.queued.contains(&first) || self.is_indexed(&first.0, first.1)? {
            self.report.already += 1;
            return Ok(());
        }
        self.queued.insert(first.clone());
        self.queue.push(Named {
            first,
            others: placements,
        });
        if self.queue.len() >= READ_BATCH {
            self.read_queue()?;
        }
        Ok(())
    }

    /// Reads the queued articles (several at a time) and files them, in feed order.
    fn read_queue(&mut self) -> Result<(), NewsError> {
        let queue = std::mem::take(&mut self.queue);
        self.queued.clear();
        let mut at = 0;
        while let Some(rest) = queue.get(at..).filter(|r| !r.is_empty()) {
            let round = read::read_round(self.store, rest);
            at += round.len();
            for (named, article) in rest.iter().zip(round) {
                self.file(named, article)?;
            }
        }
        Ok(())
    }

    /// Files one article read from the spool: pending in every group it is filed in.
    fn file(&mut self, named: &Named, article: Article) -> Result<(), NewsError> {
        let (group, number) = &named.first;
        // An article queued before an earlier one's `Xref` field filed it here.
        if self.is_pending(group, *number) {
            self.report.already += 1;
            return Ok(());
        }
        let (message, arrived, placements) = match article {
            Article::Found {
                message,
                arrived,
                placements,
            } => (message, arrived, placements),
            Article::Missing => {
                self.report.missing += 1;
                return Ok(());
            }
            Article::Unreadable(e) if e.is_refusal() => {
                let path = feed::article_path(&self.spool, group, *number);
                self.report.problems.add(format!("{}: {e}", path.display()));
                return Ok(());
            }
            Article::Unreadable(e) => return Err(e.into()),
        };
        for (i, (g, n)) in placements.into_iter().enumerate() {
            if !self.ensure_group(&g)? {
                continue;
            }
            if i > 0 {
                self.report.crossposted += 1;
            }
            self.pending_bytes += message.len();
            self.pending_count += 1;
            self.pending.entry(g).or_default().push(NewsArticle {
                number: Uid::new(n).unwrap_or(Uid::MAX),
                message: message.clone(),
                arrived,
            });
        }
        if self.pending_bytes >= FLUSH_BYTES || self.pending_count >= FLUSH_ARTICLES {
            self.flush()?;
        }
        Ok(())
    }

    /// Whether the article waits to be indexed.
    fn is_pending(&self, group: &str, number: u32) -> bool {
        self.pending
            .get(group)
            .is_some_and(|v| v.iter().any(|a| a.number.get() == number))
    }

    /// Whether the article is indexed (or waiting to be) already.
    fn is_indexed(&self, group: &str, number: u32) -> Result<bool, NewsError> {
        if self.is_pending(group, number) {
            return Ok(true);
        }
        if !self.groups.contains(group) {
            return Ok(false);
        }
        let name = self.store.newsgroup_mailbox(group)?;
        let uid = Uid::new(number).unwrap_or(Uid::MAX);
        Ok(!self.store.indexed_articles(&name, &[uid])?.is_empty())
    }

    /// Makes sure the group has a mailbox; `false` (and a problem) when it cannot have one,
    /// or `false` alone for the news server's own groups ([`is_shown_group`]).
    fn ensure_group(&mut self, group: &str) -> Result<bool, NewsError> {
        if self.groups.contains(group) {
            return Ok(true);
        }
        if !is_shown_group(group) {
            return Ok(false);
        }
        match self.store.create_newsgroup(group, &self.config.acl) {
            Ok(_) => {
                self.report.groups_created.push(group.to_string());
            }
            Err(StoreError::AlreadyExists(_)) => {
                let name = self.store.newsgroup_mailbox(group)?;
                if self.store.mailbox_entry(&name)?.mailbox_type != MailboxType::Netnews {
                    self.report.problems.add(format!(
                        "newsgroup {group}: {name} is a mailbox of mail, not a newsgroup"
                    ));
                    return Ok(false);
                }
            }
            Err(e) if e.is_refusal() => {
                self.report.problems.add(format!("newsgroup {group}: {e}"));
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        }
        self.groups.insert(group.to_string());
        Ok(true)
    }

    /// Commits what is pending (the groups under `newsprefix` in one commit).
    fn flush(&mut self) -> Result<(), NewsError> {
        let mut groups = Vec::new();
        for (group, articles) in std::mem::take(&mut self.pending) {
            groups.push((self.store.newsgroup_mailbox(&group)?, articles));
        }
        self.pending_bytes = 0;
        self.pending_count = 0;
        if groups.is_empty() {
            return Ok(());
        }
        for (name, outcome) in self.store.add_articles_to_groups(groups)? {
            match outcome {
                Ok(added) => {
                    self.report.indexed += added.added.len() as u64;
                    self.report.already += added.known.len() as u64;
                    self.report.too_old += added.too_old.len() as u64;
                }
                Err(e) if e.is_refusal() => self.report.problems.add(format!("{name}: {e}")),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Commits the rest and says what was done.
    pub fn finish(mut self) -> Result<CollectReport, NewsError> {
        self.read_queue()?;
        self.flush()?;
        // `crossposted` counted entries queued; those refused as known or too old are not
        // entries made.
        self.report.crossposted = self.report.crossposted.min(self.report.indexed);
        Ok(self.report)
    }
}

/// What [`Remover`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveReport {
    /// Articles the input named.
    pub articles: u64,
    /// Index entries dropped (every group of a crosspost).
    pub unindexed: u64,
    /// Files unlinked.
    pub unlinked: u64,
    /// Files already gone (the news server removed them first, as after a cancel).
    pub already_gone: u64,
    pub problems: Problems,
}

impl RemoveReport {
    /// Adds another part of the same run.
    pub fn merge(&mut self, other: RemoveReport) {
        self.articles += other.articles;
        self.unindexed += other.unindexed;
        self.unlinked += other.unlinked;
        self.already_gone += other.already_gone;
        self.problems.merge(other.problems);
    }
}

impl fmt::Display for RemoveReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "rmnews: {} articles: {} index entries dropped, {} files removed, {} already gone, \
             {} problems",
            self.articles, self.unindexed, self.unlinked, self.already_gone, self.problems.count
        )?;
        write!(f, "{}", self.problems)
    }
}

/// `rmnews`: feed it `fastrm`'s input, then [`Remover::finish`].
pub struct Remover<'a> {
    store: &'a Store,
    spool: PathBuf,
    config: NewsConfig,
    map: Option<TradspoolMap>,
    /// Index entries to drop, by group, and the articles whose files to unlink after.
    pending: BTreeMap<String, Vec<Uid>>,
    files: Vec<Placement>,
    report: RemoveReport,
}

impl<'a> Remover<'a> {
    pub fn new(store: &'a Store, config: NewsConfig) -> Result<Remover<'a>, NewsError> {
        let spool = store.news_spool().ok_or(NewsError::NoSpool)?.to_path_buf();
        let map = TradspoolMap::read_if_present(&config.tradspool_map)?;
        Ok(Remover {
            store,
            spool,
            config,
            map,
            pending: BTreeMap::new(),
            files: Vec::new(),
            report: RemoveReport::default(),
        })
    }

    /// Takes one input line.
    pub fn line(&mut self, line: &str) -> Result<(), NewsError> {
        if line.contains('@') && self.map.is_none() {
            self.map = TradspoolMap::read_if_present(&self.config.tradspool_map)?;
        }
        let parsed = match feed::parse_line(line, &self.spool, self.map.as_ref()) {
            Ok(Some(p)) => p,
            Ok(None) => return Ok(()),
            Err(e) => {
                self.report.problems.add(e.to_string());
                return Ok(());
            }
        };
        self.report.articles += 1;
        let mut placements = parsed.placements;
        let Some((group, number)) = placements.first().cloned() else {
            return Ok(());
        };
        // A path is one link (`fastrm` unlinks that name only); a token is the article, in
        // every group it was filed in (INN's storage manager removes them all): the index
        // knows which (its header section is cached), or else the file, if still there.
        if parsed.by_token {
            let header = self.indexed_header(&group, number)?.or_else(|| {
                self.store
                    .article_file(&group, number)
                    .and_then(|real| {
                        mailstore::read_article(&real, Some(self.store.message_size_limit()))
                    })
                    .ok()
                    .map(|m| mailstore::header_block(&m).to_vec())
            });
            if let Some(body) = header.as_deref().and_then(feed::xref_field) {
                for p in feed::xref_placements(&body) {
                    if !placements.contains(&p) {
                        placements.push(p);
                    }
                }
            }
        }
        for (g, n) in placements {
            self.files.push((g.clone(), n));
            self.pending
                .entry(g)
                .or_default()
                .push(Uid::new(n).unwrap_or(Uid::MAX));
        }
        if self.files.len() >= FLUSH_ARTICLES {
            self.flush()?;
        }
        Ok(())
    }

    /// The cached header section of an indexed article.
    fn indexed_header(&self, group: &str, number: u32) -> Result<Option<Vec<u8>>, NewsError> {
        let Ok(name) = self.store.newsgroup_mailbox(group) else {
            return Ok(None);
        };
        let uid = Uid::new(number).unwrap_or(Uid::MAX);
        let records = match self.store.records(
            &name,
            mailstore::SeenSource::Index,
            mailstore::UidSelection::Uids(&[uid]),
            mailstore::RecordFields {
                cache: false,
                header: true,
            },
        ) {
            Ok(r) => r,
            Err(StoreError::NoSuchMailbox(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(records.into_iter().next().and_then(|r| r.header))
    }

    /// Drops the pending index entries, then unlinks their files (in that order: a session
    /// never finds an entry whose file is gone but through an expunge it is told of).
    fn flush(&mut self) -> Result<(), NewsError> {
        for (group, uids) in std::mem::take(&mut self.pending) {
            let name: MailboxName = match self.store.newsgroup_mailbox(&group) {
                Ok(n) => n,
                Err(_) => continue,
            };
            match self.store.remove_articles(&name, &uids) {
                Ok(gone) => self.report.unindexed += gone.len() as u64,
                Err(StoreError::NoSuchMailbox(_)) => {}
                Err(e) if e.is_refusal() => {
                    self.report.problems.add(format!("{name}: {e}"));
                }
                Err(e) => return Err(e.into()),
            }
        }
        for (group, number) in std::mem::take(&mut self.files) {
            // The name is unlinked in its real directory, never through a link leading out of
            // the spool (the link itself, if the article is one, goes as `fastrm` would).
            let path = match self.store.article_dir(&group) {
                Ok(dir) => dir.join(number.to_string()),
                Err(StoreError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    self.report.already_gone += 1;
                    continue;
                }
                Err(e) => {
                    self.report.problems.add(format!("{group}:{number}: {e}"));
                    continue;
                }
            };
            match std::fs::remove_file(&path) {
                Ok(()) => self.report.unlinked += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    self.report.already_gone += 1;
                }
                Err(e) => self.report.problems.add(format!("{}: {e}", path.display())),
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<RemoveReport, NewsError> {
        self.flush()?;
        Ok(self.report)
    }
}

/// What [`sync_active`] did (or would do, on a dry run).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub dry_run: bool,
    pub created: Vec<String>,
    pub removed: Vec<String>,
    /// Groups with a mailbox already.
    pub kept: u64,
    pub problems: Problems,
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (create, remove) = match self.dry_run {
            true => ("would create", "would remove"),
            false => ("created", "removed"),
        };
        for g in &self.created {
            writeln!(f, "{create} {g}")?;
        }
        for g in &self.removed {
            writeln!(f, "{remove} {g}")?;
        }
        writeln!(
            f,
            "syncnews: {} {create}, {} {remove}, {} kept, {} problems{}",
            self.created.len(),
            self.removed.len(),
            self.kept,
            self.problems.count,
            if self.dry_run { " (dry run)" } else { "" }
        )?;
        write!(f, "{}", self.problems)
    }
}

/// Whether a group is one readers see as a mailbox: every group but the news server's own
/// bookkeeping (`control`, `control.*`, where it files control messages, and `junk`, where
/// it files articles for groups it does not carry).
pub fn is_shown_group(group: &str) -> bool {
    !(group == "junk" || group == "control" || group.starts_with("control."))
}

/// `syncnews ACTIVE`: gives every group `active` shows (status `y`, `m` or `n`) a mailbox and
/// removes the mailboxes of groups it does not (their indexes only).
pub fn sync_active(
    store: &Store,
    config: &NewsConfig,
    active: &Path,
    dry_run: bool,
) -> Result<SyncReport, NewsError> {
    store.news_spool().ok_or(NewsError::NoSpool)?;
    let wanted: BTreeSet<String> = feed::read_active(active)?
        .into_iter()
        .filter(|g| g.is_shown() && is_shown_group(&g.name))
        .map(|g| g.name)
        .collect();
    let mut report = SyncReport {
        dry_run,
        ..SyncReport::default()
    };
    let mut present = BTreeSet::new();
    for entry in store.newsgroups()? {
        match store.newsgroup_of(&entry.name) {
            Some(group) if wanted.contains(&group) => {
                report.kept += 1;
                present.insert(group);
            }
            // Not in `active`, or outside `newsprefix` (it was changed): not shown any more.
            _ => {
                if !dry_run {
                    store.delete_newsgroup(&entry.name)?;
                }
                report.removed.push(entry.name.to_string());
            }
        }
    }
    for group in wanted.difference(&present) {
        let checked = store
            .newsgroup_mailbox(group)
            .and_then(|_| store.newsgroup_dir(group));
        if let Err(e) = checked {
            report.problems.add(format!("newsgroup {group}: {e}"));
            continue;
        }
        if !dry_run {
            match store.create_newsgroup(group, &config.acl) {
                Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
                Err(e) if e.is_refusal() => {
                    report.problems.add(format!("newsgroup {group}: {e}"));
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        report.created.push(group.clone());
    }
    Ok(report)
}
