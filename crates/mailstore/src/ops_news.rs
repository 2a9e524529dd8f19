//! Newsgroups as mailboxes (netnews export). A newsgroup's mailbox has the type
//! [`MailboxType::Netnews`] and sits on the reserved `news` partition, whose root is the news
//! server's article spool (INN's tradspool: `comp.lang.rust` article 1234 is
//! `ROOT/comp/lang/rust/1234`). The article number is the UID, so UIDs match the news
//! server's numbers and survive any rebuild.
//!
//! The store never writes, renames or removes anything under that root: articles come in
//! through [`Store::add_articles`] (the index only) and leave through
//! [`Store::remove_articles`] (the index only; the caller unlinks the files, as INN's `fastrm`
//! would). Appends, copies or moves into a newsgroup, expunges from it and renames of it are
//! refused with [`StoreError::Newsgroup`]; flags (and private `\Seen`) live in the index as
//! for any mailbox.
//!
//! Owns: newsgroup ↔ mailbox name ↔ spool directory, and the newsgroup index operations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use types::{MailboxName, Uid};

use crate::codec::IndexRecord;
use crate::error::{Result, StoreError};
use crate::flags::{self, Sign};
use crate::index::{IndexWrite, RecordRow};
use crate::model::{
    unix_now, Change, CreateOptions, InternalDate, MailboxEntry, MailboxType, UidSelection,
};
use crate::ops_append::{bump_modseq, to_modseq, to_uid};
use crate::{msgfile, Store, RESERVED_NEWS_PARTITION};

/// One article for [`Store::add_articles`].
#[derive(Clone, Debug)]
pub struct NewsArticle {
    /// The article number in the group.
    pub number: Uid,
    /// The message the article file holds (decoded: CRLF, no dot-stuffing).
    pub message: Vec<u8>,
    /// When it reached the news server (INTERNALDATE).
    pub arrived: i64,
}

/// What [`Store::add_articles`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddedArticles {
    /// Article numbers indexed now.
    pub added: Vec<u32>,
    /// Already indexed (a feed read twice).
    pub known: Vec<u32>,
    /// Below the group's newest indexed article and not indexed: a UID may only be given
    /// above every UID a mailbox gave before (RFC 3501 §2.3.1.1), so such late articles
    /// cannot appear.
    pub too_old: Vec<u32>,
}

impl Store {
    /// The spool's root (`partition-news`), when one is configured.
    pub fn news_spool(&self) -> Option<&Path> {
        self.inner.partitions.news_root()
    }

    /// The newsgroup a mailbox shows (`None` for a name outside `newsprefix`).
    pub fn newsgroup_of(&self, name: &MailboxName) -> Option<String> {
        match &self.inner.config.news_prefix {
            None => Some(name.to_string()),
            Some(prefix) => name
                .as_str()
                .strip_prefix(prefix.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .map(str::to_string),
        }
    }

    /// The mailbox a newsgroup is shown as (under `newsprefix`). Group names that are no
    /// valid mailbox name, or that would land in the `user` hierarchy, are refused.
    pub fn newsgroup_mailbox(&self, group: &str) -> Result<MailboxName> {
        let full = match &self.inner.config.news_prefix {
            Some(prefix) => format!("{prefix}.{group}"),
            None => group.to_string(),
        };
        let name = MailboxName::try_from(full.as_str())
            .map_err(|e| StoreError::InvalidName(format!("newsgroup {group}: {e}")))?;
        if name.as_str() == "user" || name.as_str().starts_with("user.") {
            return Err(StoreError::InvalidName(format!(
                "newsgroup {group} would be shown inside the users' hierarchy"
            )));
        }
        Ok(name)
    }

    /// The spool directory of a newsgroup: its name with `.` as `/` (tradspool).
    pub fn newsgroup_dir(&self, group: &str) -> Result<PathBuf> {
        let root = self
            .news_spool()
            .ok_or_else(|| StoreError::NoSuchPartition(RESERVED_NEWS_PARTITION.to_string()))?;
        if group.is_empty()
            || group
                .split('.')
                .any(|part| part.is_empty() || part == ".." || part.contains('/'))
        {
            return Err(StoreError::InvalidName(format!("newsgroup {group:?}")));
        }
        Ok(root.join(group.replace('.', "/")))
    }

    /// The article file behind UID `uid` of a newsgroup's mailbox, resolved within the spool
    /// (see [`Store::article_file`]).
    pub(crate) fn article_path(&self, name: &MailboxName, uid: u32) -> Result<PathBuf> {
        let group = self
            .newsgroup_of(name)
            .ok_or_else(|| StoreError::InvalidName(format!("{name} is outside newsprefix")))?;
        self.article_file(&group, uid)
    }

    /// Where article `number` of `group` really is: its spool path with every symbolic link
    /// followed (INN links crossposts symbolically across file systems), which must lie inside
    /// the spool. The spool belongs to the news user, and this process may read what that user
    /// may not: a link to elsewhere is refused, or the news user could have any file of ours
    /// shown as an article. A missing file is [`StoreError::Io`] with `NotFound`.
    pub fn article_file(&self, group: &str, number: u32) -> Result<PathBuf> {
        let path = self.newsgroup_dir(group)?.join(number.to_string());
        let real = std::fs::canonicalize(&path).map_err(|e| StoreError::io(&path, e))?;
        self.inside_spool(&path, real)
    }

    /// The directory holding `group`'s articles, resolved as [`Store::article_file`] resolves
    /// files: for unlinking an article without following a link out of the spool.
    pub fn article_dir(&self, group: &str) -> Result<PathBuf> {
        let path = self.newsgroup_dir(group)?;
        let real = std::fs::canonicalize(&path).map_err(|e| StoreError::io(&path, e))?;
        self.inside_spool(&path, real)
    }

    fn inside_spool(&self, path: &Path, real: PathBuf) -> Result<PathBuf> {
        let root = self
            .news_spool()
            .ok_or_else(|| StoreError::NoSuchPartition(RESERVED_NEWS_PARTITION.to_string()))?;
        let root = std::fs::canonicalize(root).map_err(|e| StoreError::io(root, e))?;
        if !real.starts_with(&root) {
            return Err(StoreError::BadMessage(format!(
                "{} leads out of the news spool (to {})",
                path.display(),
                real.display()
            )));
        }
        Ok(real)
    }

    /// Creates the mailbox of a newsgroup (empty; nothing is written to the spool).
    pub fn create_newsgroup(&self, group: &str, acl: &str) -> Result<MailboxEntry> {
        let name = self.newsgroup_mailbox(group)?;
        self.newsgroup_dir(group)?;
        let options = CreateOptions {
            partition: Some(RESERVED_NEWS_PARTITION.to_string()),
            acl: acl.to_string(),
            mailbox_type: MailboxType::Netnews,
            special_use: Vec::new(),
        };
        self.create_mailbox(&name, options)
    }

    /// The newsgroup mailboxes, by name.
    pub fn newsgroups(&self) -> Result<Vec<MailboxEntry>> {
        let mut all = self.inner.global.read()?.list(None)?;
        all.retain(|e| e.mailbox_type == MailboxType::Netnews);
        Ok(all)
    }

    /// Which of `numbers` a newsgroup's mailbox already indexes.
    pub fn indexed_articles(&self, name: &MailboxName, numbers: &[Uid]) -> Result<Vec<u32>> {
        let r = self.newsgroup(name)?;
        let snap = r.owner.read()?;
        let rows = snap.records(&r.entry.uniqueid, UidSelection::Uids(numbers), false, false)?;
        Ok(rows.iter().map(|row| row.uid).collect())
    }

    /// The group's UIDNEXT: one past the newest article indexed (or ever indexed).
    pub fn newsgroup_next(&self, name: &MailboxName) -> Result<u32> {
        let r = self.newsgroup(name)?;
        Ok(self.header_of(&r)?.uidnext)
    }

    /// Indexes articles of one newsgroup, in one commit: each under its article number, and
    /// `\Recent` as a delivered message is (to the first session to see it). Numbers already
    /// indexed are skipped;
    /// so are numbers below the group's UIDNEXT (see [`AddedArticles::too_old`]).
    pub fn add_articles(
        &self,
        name: &MailboxName,
        articles: Vec<NewsArticle>,
    ) -> Result<AddedArticles> {
        self.add_articles_to_groups(vec![(name.clone(), articles)])?
            .into_iter()
            .next()
            .map_or_else(|| Ok(AddedArticles::default()), |(_, outcome)| outcome)
    }

    /// [`Store::add_articles`] for several newsgroups, in one commit for the groups that share
    /// an index (all those under `newsprefix`). Each group's outcome is its own: a group that
    /// is gone or is no newsgroup, or an article refused (too big), refuses that group's
    /// articles alone. A failure (I/O, a corrupt index) commits nothing of its index.
    pub fn add_articles_to_groups(
        &self,
        groups: Vec<(MailboxName, Vec<NewsArticle>)>,
    ) -> Result<Vec<(MailboxName, Result<AddedArticles>)>> {
        let mut by_index: BTreeMap<MailboxName, Vec<(MailboxName, Vec<NewsArticle>)>> =
            BTreeMap::new();
        for (name, articles) in groups {
            by_index
                .entry(name.hierarchy_root())
                .or_default()
                .push((name, articles));
        }
        let mut outcomes = Vec::new();
        for (_, share) in by_index {
            outcomes.extend(self.add_articles_sharing(share)?);
        }
        Ok(outcomes)
    }

    /// [`Store::add_articles_to_groups`] for groups of one hierarchy (one index, one commit).
    fn add_articles_sharing(
        &self,
        groups: Vec<(MailboxName, Vec<NewsArticle>)>,
    ) -> Result<Vec<(MailboxName, Result<AddedArticles>)>> {
        let mut outcomes = Vec::new();
        let mut resolved = Vec::new();
        for (name, mut articles) in groups {
            match self.newsgroup(&name) {
                Ok(r) => {
                    articles.sort_by_key(|a| a.number);
                    articles.dedup_by_key(|a| a.number);
                    resolved.push((r, articles));
                }
                Err(e) if e.is_refusal() => outcomes.push((name, Err(e))),
                Err(e) => return Err(e),
            }
        }
        let Some(owner) = resolved.first().map(|(r, _)| Arc::clone(&r.owner)) else {
            return Ok(outcomes);
        };
        let limit = self.message_size_limit();
        let all: Vec<&NewsArticle> = resolved.iter().flat_map(|(_, a)| a.iter()).collect();
        let mut described = crate::parallel::map_ordered(&all, |a| {
            if a.message.len() as u64 > limit {
                return Ok(Err(StoreError::TooBig { limit }));
            }
            Ok(Ok(msgfile::describe_bytes(&a.message)))
        })?
        .into_iter();
        let ow = owner
            .write_within(self.inner.config.write_wait)?
            .ok_or_else(|| StoreError::Busy(owner_name(&resolved)))?;
        let mut appended = Vec::new();
        for (r, articles) in &resolved {
            let described: Vec<_> = described.by_ref().take(articles.len()).collect();
            let outcome = match self.stage_articles(&ow, r, articles, described) {
                Ok((outcome, Some(change))) => {
                    appended.push((r.entry.uniqueid.clone(), change));
                    Ok(outcome)
                }
                Ok((outcome, None)) => Ok(outcome),
                Err(e) if e.is_refusal() => Err(e),
                Err(e) => return Err(e),
            };
            outcomes.push((r.entry.name.clone(), outcome));
        }
        if appended.is_empty() {
            return Ok(outcomes);
        }
        let guard = ow.commit()?;
        for (uniqueid, change) in appended {
            self.inner.changes.publish(&uniqueid, change);
        }
        drop(guard);
        Ok(outcomes)
    }

    /// Writes one group's new index records into an open transaction of its index; what
    /// became of each article, and the change to publish once committed (`None`: nothing
    /// written). A refusal writes nothing.
    fn stage_articles(
        &self,
        ow: &IndexWrite<'_>,
        r: &crate::Resolved,
        articles: &[NewsArticle],
        described: Vec<Result<msgfile::Described>>,
    ) -> Result<(AddedArticles, Option<Change>)> {
        let mut h = ow
            .header(&r.entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(r.entry.name.to_string()))?;
        let numbers: Vec<Uid> = articles.iter().map(|a| a.number).collect();
        let mut known: Vec<u32> = ow
            .records(&r.entry.uniqueid, UidSelection::Uids(&numbers))?
            .iter()
            .map(|row| row.uid)
            .collect();
        known.sort_unstable();
        let mut outcome = AddedArticles::default();
        let mut rows = Vec::new();
        let now = unix_now();
        let mut modseq = 0;
        for (article, d) in articles.iter().zip(described) {
            let uid = article.number.get();
            if known.binary_search(&uid).is_ok() {
                outcome.known.push(uid);
                continue;
            }
            if uid < h.uidnext {
                outcome.too_old.push(uid);
                continue;
            }
            let d = d?;
            if modseq == 0 {
                modseq = bump_modseq(&mut h)?;
            }
            let record = IndexRecord {
                system_flags: 0,
                keywords: Vec::new(),
                internal_date: InternalDate {
                    unix_seconds: article.arrived,
                    offset_minutes: 0,
                },
                save_date: now,
                size: d.size,
                modseq,
                guid: d.guid,
            };
            flags::count(&mut h, &record, Sign::Add);
            h.uidnext = uid.saturating_add(1).max(h.uidnext);
            outcome.added.push(uid);
            rows.push(RecordRow {
                uid,
                record,
                cache: Some(d.cache),
                header: Some(d.header),
            });
        }
        if rows.is_empty() {
            return Ok((outcome, None));
        }
        if rows.last().is_some_and(|row| row.uid == u32::MAX) {
            h.uidnext = u32::MAX;
        }
        let uids = rows
            .iter()
            .map(|row| to_uid(row.uid))
            .collect::<Result<Vec<_>>>()?;
        let change = Change::Appended {
            uids,
            modseq: to_modseq(h.highestmodseq)?,
        };
        ow.put_messages(&h.uniqueid, &rows)?;
        ow.put_header(&h)?;
        Ok((outcome, Some(change)))
    }

    /// Drops articles from a newsgroup's index in one commit (sessions see them expunged;
    /// QRESYNC clients get them as VANISHED). Returns the numbers that were indexed. The
    /// files are the caller's to unlink.
    pub fn remove_articles(&self, name: &MailboxName, numbers: &[Uid]) -> Result<Vec<Uid>> {
        let r = self.newsgroup(name)?;
        let (ow, mut h) = self.write_header(&r)?;
        let mut rows = ow.records(&r.entry.uniqueid, UidSelection::Uids(numbers))?;
        rows.sort_by_key(|row| row.uid);
        rows.dedup_by_key(|row| row.uid);
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let modseq = bump_modseq(&mut h)?;
        let uids: Vec<u32> = rows.iter().map(|row| row.uid).collect();
        for row in &rows {
            flags::count(&mut h, &row.record, Sign::Remove);
        }
        ow.remove_messages(&h.uniqueid, &uids, modseq, self.inner.config.clock.now())?;
        ow.put_header(&h)?;
        let guard = ow.commit()?;
        let uids = uids.into_iter().map(to_uid).collect::<Result<Vec<_>>>()?;
        self.inner.changes.publish(
            &r.entry.uniqueid,
            Change::Expunged {
                uids: uids.clone(),
                modseq: to_modseq(modseq)?,
            },
        );
        drop(guard);
        Ok(uids)
    }

    /// Removes a newsgroup's mailbox: its index and entry only (the spool is the news
    /// server's).
    pub fn delete_newsgroup(&self, name: &MailboxName) -> Result<()> {
        self.newsgroup(name)?;
        self.delete_mailbox(name)
    }

    /// Resolves a mailbox that must be a newsgroup's.
    fn newsgroup(&self, name: &MailboxName) -> Result<crate::Resolved> {
        let r = self.resolve(name)?;
        if r.entry.mailbox_type != MailboxType::Netnews {
            return Err(StoreError::InvalidName(format!(
                "{name} is not a newsgroup"
            )));
        }
        Ok(r)
    }

    /// Refuses a change that only the news server may make to a newsgroup's mailbox.
    pub(crate) fn refuse_newsgroup(&self, entry: &MailboxEntry) -> Result<()> {
        match entry.mailbox_type {
            MailboxType::Netnews => Err(StoreError::Newsgroup(entry.name.to_string())),
            // Another server's mailbox is renamed there (the directory copy follows).
            MailboxType::Remote => Err(StoreError::Remote {
                mailbox: entry.name.to_string(),
                server: entry.remote_server().unwrap_or_default().to_string(),
            }),
            MailboxType::Normal => Ok(()),
        }
    }
}

/// The hierarchy whose index is busy, for [`StoreError::Busy`].
fn owner_name(resolved: &[(crate::Resolved, Vec<NewsArticle>)]) -> String {
    resolved
        .first()
        .map(|(r, _)| r.entry.name.hierarchy_root().to_string())
        .unwrap_or_default()
}
