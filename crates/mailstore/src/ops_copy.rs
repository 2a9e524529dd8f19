//! COPY and MOVE (RFC 9051 §6.4.7, RFC 6851), and moving every message out of a mailbox (what
//! an IMAP `RENAME INBOX` needs). Files are hard-linked when source and target share a
//! partition, copied otherwise. Within one hierarchy owner a MOVE is a single index commit;
//! across owners it is a copy commit followed by an expunge commit (a crash in between leaves a
//! duplicate, never a loss).

use std::sync::Arc;

use types::{MailboxName, Uid};

use crate::codec::IndexRecord;
use crate::error::{Result, StoreError};
use crate::flags::{self, Adding, Sign};
use crate::index::{IndexHeader, RecordRow};
use crate::model::{unix_now, Change, CopyOutcome, Expunge, QuotaUsage, UidSelection};
use crate::msgfile;
use crate::ops_append::{
    bump_modseq, link_at_next_uid, to_modseq, to_uid, uidvalidity, LinkedFiles,
};
use crate::partition::message_path;
use crate::quota::QuotaPolicy;
use crate::{Resolved, Store};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transfer {
    Copy,
    Move,
}

/// New rows for the target, the UID mapping, and the files linked for them.
struct Copies {
    mapping: Vec<(u32, u32)>,
    rows: Vec<RecordRow>,
    linked: LinkedFiles,
}

impl Copies {
    /// What the copies add to the target's quota root.
    fn adding(&self) -> QuotaUsage {
        self.rows.iter().fold(QuotaUsage::default(), |a, r| {
            a.plus(QuotaUsage::one_message(r.record.size))
        })
    }
}

impl Store {
    /// Copies messages; UIDs that do not exist are skipped. Returns COPYUID data.
    pub fn copy(&self, from: &MailboxName, uids: &[Uid], to: &MailboxName) -> Result<CopyOutcome> {
        self.transfer(from, UidSelection::Uids(uids), to, Transfer::Copy, None)
    }

    /// [`Store::copy`] checked against `quota`: every message or none
    /// ([`StoreError::OverQuota`]), atomically with the commit.
    pub fn copy_checked(
        &self,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
        quota: Option<&dyn QuotaPolicy>,
    ) -> Result<CopyOutcome> {
        self.transfer(from, UidSelection::Uids(uids), to, Transfer::Copy, quota)
    }

    /// [`Store::move_messages`] checked against `quota` when the target lies under another
    /// quota root than the source (a move within one root changes no usage).
    pub fn move_checked(
        &self,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
        quota: Option<&dyn QuotaPolicy>,
    ) -> Result<CopyOutcome> {
        self.transfer(from, UidSelection::Uids(uids), to, Transfer::Move, quota)
    }

    /// Moves messages (RFC 6851); UIDs that do not exist are skipped.
    pub fn move_messages(
        &self,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyOutcome> {
        self.transfer(from, UidSelection::Uids(uids), to, Transfer::Move, None)
    }

    /// Moves every message of `from` into `to`, atomically when both have the same owner
    /// (e.g. `user.alice` → `user.alice.old` for `RENAME INBOX`).
    pub fn move_all_messages(&self, from: &MailboxName, to: &MailboxName) -> Result<CopyOutcome> {
        self.transfer(from, UidSelection::All, to, Transfer::Move, None)
    }

    fn transfer(
        &self,
        from: &MailboxName,
        sel: UidSelection<'_>,
        to: &MailboxName,
        mode: Transfer,
        quota: Option<&dyn QuotaPolicy>,
    ) -> Result<CopyOutcome> {
        let src = self.resolve(from)?;
        let dst = self.resolve(to)?;
        // A newsgroup takes no message from a client, and gives none up but through the news
        // server; a copy out of one is fine.
        self.refuse_newsgroup(&dst.entry)?;
        if mode == Transfer::Move {
            self.refuse_newsgroup(&src.entry)?;
        }
        let quota = match quota {
            Some(_) if mode == Transfer::Move => {
                let same_root = self.quota_root_of(from)? == self.quota_root_of(to)?;
                if same_root {
                    None
                } else {
                    quota
                }
            }
            other => other,
        };
        if Arc::ptr_eq(&src.owner, &dst.owner) {
            return self.transfer_within_owner(&src, sel, &dst, mode, quota);
        }
        let snap = src.owner.read()?;
        let sh = snap
            .header(&src.entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(from.to_string()))?;
        let rows = snap.records(&src.entry.uniqueid, sel, true, true)?;
        drop(snap);
        let ow = dst.owner.write()?;
        let mut th = ow
            .header(&dst.entry.uniqueid)?
            .ok_or_else(|| StoreError::NoSuchMailbox(to.to_string()))?;
        if rows.is_empty() {
            return nothing_to_do(&th);
        }
        let mut copies = self.link_copies(&sh, &mut th, rows)?;
        let span = self.check_quota(&to.hierarchy_root(), &ow, to, copies.adding(), quota)?;
        ow.put_messages(&th.uniqueid, &copies.rows)?;
        ow.put_header(&th)?;
        let guard = ow.commit()?;
        drop(span);
        copies.linked.committed = true;
        self.publish_appended(&th, &copies)?;
        drop(guard);
        if mode == Transfer::Move {
            let moved = copies
                .mapping
                .iter()
                .map(|(s, _)| to_uid(*s))
                .collect::<Result<Vec<_>>>()?;
            self.expunge(from, Expunge::Uids(moved))?;
        }
        outcome(&th, &copies)
    }

    fn transfer_within_owner(
        &self,
        src: &Resolved,
        sel: UidSelection<'_>,
        dst: &Resolved,
        mode: Transfer,
        quota: Option<&dyn QuotaPolicy>,
    ) -> Result<CopyOutcome> {
        let ow = dst.owner.write()?;
        let missing = |r: &Resolved| StoreError::NoSuchMailbox(r.entry.name.to_string());
        let mut sh = ow
            .header(&src.entry.uniqueid)?
            .ok_or_else(|| missing(src))?;
        let mut th = ow
            .header(&dst.entry.uniqueid)?
            .ok_or_else(|| missing(dst))?;
        let same_mailbox = sh.uniqueid == th.uniqueid;
        let rows = ow.full_records(&sh.uniqueid, sel)?;
        if rows.is_empty() {
            return nothing_to_do(&th);
        }
        let mut copies = self.link_copies(&sh, &mut th, rows)?;
        let to = &dst.entry.name;
        let span = self.check_quota(&to.hierarchy_root(), &ow, to, copies.adding(), quota)?;
        ow.put_messages(&th.uniqueid, &copies.rows)?;
        ow.put_header(&th)?;
        let mut expunged = (Vec::new(), 0);
        if mode == Transfer::Move {
            let moved: Vec<u32> = copies.mapping.iter().map(|(s, _)| *s).collect();
            let gone = ow.records(&sh.uniqueid, UidSelection::Uids(&to_uids(&moved)?))?;
            let hdr = if same_mailbox { &mut th } else { &mut sh };
            let modseq = if same_mailbox {
                hdr.highestmodseq
            } else {
                bump_modseq(hdr)?
            };
            expunged = (self.remove_rows(&ow, hdr, &gone, modseq)?, modseq);
        }
        let guard = ow.commit()?;
        drop(span);
        copies.linked.committed = true;
        self.publish_appended(&th, &copies)?;
        if !expunged.0.is_empty() {
            let uids = to_uids(&expunged.0)?;
            let change = Change::Expunged {
                uids,
                modseq: to_modseq(expunged.1)?,
            };
            self.inner.changes.publish(&sh.uniqueid, change);
        }
        drop(guard);
        let src_hdr = if same_mailbox { &th } else { &sh };
        self.unlink_messages(src_hdr, &expunged.0);
        outcome(&th, &copies)
    }

    /// Gives each source message a file and a record in the target (not yet written).
    fn link_copies(
        &self,
        sh: &IndexHeader,
        th: &mut IndexHeader,
        rows: Vec<RecordRow>,
    ) -> Result<Copies> {
        let parts = &self.inner.partitions;
        let src_dir = parts.mailbox_dir(&sh.partition, &sh.uniqueid)?;
        let dst_dir = parts.mailbox_dir(&th.partition, &th.uniqueid)?;
        let tmp = parts.tmp_dir(&th.partition)?;
        let same_partition = sh.partition == th.partition;
        let src_keywords = sh.clone();
        let modseq = bump_modseq(th)?;
        let now = unix_now();
        let mut next = th.uidnext;
        let mut copies = Copies {
            mapping: Vec::new(),
            rows: Vec::new(),
            linked: LinkedFiles {
                paths: Vec::new(),
                committed: false,
            },
        };
        let from_news = sh.mailbox_type == crate::model::MailboxType::Netnews;
        let source_name = types::MailboxName::try_from(sh.name.as_str())
            .map_err(|e| StoreError::corrupt("index", e.to_string()))?;
        for row in rows {
            let src = message_path(&src_dir, row.uid);
            let placed = if from_news {
                // The article file is the news server's, maybe in its wire format: the copy
                // is the message it holds, written anew.
                self.article_path(&source_name, row.uid)
                    .and_then(|article| {
                        crate::article::read_article(&article, Some(self.message_size_limit()))
                    })
                    .and_then(|message| {
                        msgfile::spool(
                            &crate::model::AppendSource::Bytes(message),
                            &tmp,
                            None,
                            parts.durable(),
                        )
                    })
                    .and_then(|s| {
                        link_at_next_uid(s.temp.path(), &dst_dir, &mut next, &mut copies.linked)
                    })
            } else if same_partition {
                link_at_next_uid(&src, &dst_dir, &mut next, &mut copies.linked)
            } else {
                msgfile::copy_to_temp(&src, &tmp, parts.durable()).and_then(|t| {
                    link_at_next_uid(t.path(), &dst_dir, &mut next, &mut copies.linked)
                })
            };
            let uid = match placed {
                Ok(uid) => uid,
                // Expunged since our snapshot was taken: nothing to copy.
                Err(e) if is_not_found(&e) => continue,
                Err(e) => return Err(e),
            };
            let names = flags::to_flags(&row.record, &src_keywords, None);
            let bits = flags::to_bits(&names, th, Adding::Yes)?;
            let record = IndexRecord {
                system_flags: bits.system,
                keywords: bits.keywords,
                save_date: now,
                modseq,
                ..row.record
            };
            flags::count(th, &record, Sign::Add);
            copies.mapping.push((row.uid, uid));
            copies.rows.push(RecordRow {
                uid,
                record,
                cache: row.cache,
                header: row.header,
            });
        }
        parts.sync_dir(&dst_dir)?;
        th.uidnext = if next == 0 { u32::MAX } else { next };
        Ok(copies)
    }

    fn publish_appended(&self, th: &IndexHeader, copies: &Copies) -> Result<()> {
        if copies.rows.is_empty() {
            return Ok(());
        }
        let uids = copies
            .rows
            .iter()
            .map(|r| to_uid(r.uid))
            .collect::<Result<Vec<_>>>()?;
        let change = Change::Appended {
            uids,
            modseq: to_modseq(th.highestmodseq)?,
        };
        self.inner.changes.publish(&th.uniqueid, change);
        Ok(())
    }
}

fn is_not_found(e: &StoreError) -> bool {
    matches!(e, StoreError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

fn to_uids(v: &[u32]) -> Result<Vec<Uid>> {
    v.iter().map(|u| to_uid(*u)).collect()
}

/// No message selected: no commit, no new MODSEQ.
fn nothing_to_do(th: &IndexHeader) -> Result<CopyOutcome> {
    Ok(CopyOutcome {
        uidvalidity: uidvalidity(th)?,
        mapping: Vec::new(),
    })
}

fn outcome(th: &IndexHeader, copies: &Copies) -> Result<CopyOutcome> {
    let mapping = copies
        .mapping
        .iter()
        .map(|(s, d)| Ok((to_uid(*s)?, to_uid(*d)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(CopyOutcome {
        uidvalidity: uidvalidity(th)?,
        mapping,
    })
}
