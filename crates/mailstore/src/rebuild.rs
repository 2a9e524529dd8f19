//! `reconstruct -m`: rebuild the mailboxes database from the partitions alone.
//!
//! Every mailbox directory carries a `cyrus.header` (name, uniqueid, ACL, type). A mailbox found
//! on a partition but missing from the mailboxes database is entered again; if its owner index
//! lost the mailbox too, a fresh header is written (new UIDVALIDITY, since clients' caches cannot
//! be trusted) and [`Store::reconstruct`] indexes its files. A directory whose uniqueid the
//! database already maps (under another name: its `cyrus.header` kept the old name of an
//! interrupted rename) is left alone. Runs under the namespace lock.
//!
//! [`Store::check_mailboxes_db`] reports, without changing anything, what disagrees between
//! the database and the partitions (for `darius check`).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use types::MailboxName;

use crate::error::{Result, StoreError};
use crate::model::MailboxEntry;
use crate::ops_mailbox::new_header;
use crate::partition::{read_header_file, MailboxHeaderFile};
use crate::Store;

/// What [`Store::rebuild_mailboxes_db`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// Mailboxes entered again into the mailboxes database.
    pub restored: Vec<MailboxName>,
    /// Directories left alone, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// One disagreement between the mailboxes database and the partitions
/// ([`Store::check_mailboxes_db`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreFinding {
    /// A mailbox directory on a partition whose uniqueid no database entry maps; `name` is the
    /// one its `cyrus.header` gives (`reconstruct -m` would restore it).
    Unmapped {
        partition: String,
        dir: PathBuf,
        name: String,
    },
    /// A mailbox directory whose `cyrus.header` cannot be read.
    UnreadableHeader { dir: PathBuf, reason: String },
    /// A database entry whose directory is missing from its partition.
    MissingDirectory {
        name: MailboxName,
        partition: String,
        dir: PathBuf,
    },
}

impl Store {
    /// Compares the mailboxes database with the partitions without changing either: every
    /// directory must be mapped by an entry and every entry must have its directory.
    pub fn check_mailboxes_db(&self) -> Result<Vec<StoreFinding>> {
        let _ns = self.namespace_lock();
        let entries = self.inner.global.read()?.list(None)?;
        let mut findings = Vec::new();
        let mut mapped = std::collections::HashSet::new();
        for e in entries {
            // A newsgroup has no directory of ours (its articles are in the news spool), nor
            // has another server's mailbox.
            if !e.is_local_files() {
                continue;
            }
            let dir = self
                .inner
                .partitions
                .mailbox_dir(&e.partition, &e.uniqueid)?;
            if !dir.is_dir() {
                findings.push(StoreFinding::MissingDirectory {
                    name: e.name,
                    partition: e.partition,
                    dir,
                });
            }
            mapped.insert(e.uniqueid);
        }
        let partitions: Vec<String> = self.inner.partitions.names().map(str::to_string).collect();
        for partition in partitions {
            let root = self.inner.partitions.root(&partition)?.to_path_buf();
            for dir in mailbox_dirs(&root)? {
                let is_mapped = dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| mapped.contains(n));
                if is_mapped {
                    continue;
                }
                findings.push(match read_header_file(&dir) {
                    Ok(hdr) => StoreFinding::Unmapped {
                        partition: partition.clone(),
                        dir,
                        name: hdr.name,
                    },
                    Err(e) => StoreFinding::UnreadableHeader {
                        dir,
                        reason: e.to_string(),
                    },
                });
            }
        }
        Ok(findings)
    }

    /// Scans every partition for mailbox directories missing from the mailboxes database and
    /// restores them. Existing entries are never changed.
    pub fn rebuild_mailboxes_db(&self) -> Result<RebuildReport> {
        let _ns = self.namespace_lock();
        let mut report = RebuildReport::default();
        let mut mapped: HashMap<String, MailboxName> = self
            .inner
            .global
            .read()?
            .list(None)?
            .into_iter()
            .map(|e| (e.uniqueid, e.name))
            .collect();
        let partitions: Vec<String> = self.inner.partitions.names().map(str::to_string).collect();
        for partition in partitions {
            let root = self.inner.partitions.root(&partition)?.to_path_buf();
            for dir in mailbox_dirs(&root)? {
                match read_header_file(&dir) {
                    Ok(hdr) => match mapped.get(&hdr.uniqueid) {
                        Some(name) if name.as_str() != hdr.name => {
                            let why = format!("uniqueid {} is already {name}", hdr.uniqueid);
                            report.skipped.push((dir, why));
                        }
                        Some(_) => {}
                        None => {
                            let id = hdr.uniqueid.clone();
                            if let Some(name) = self.restore(&partition, &dir, hdr, &mut report)? {
                                mapped.insert(id, name);
                            }
                        }
                    },
                    Err(e) => report.skipped.push((dir, e.to_string())),
                }
            }
        }
        Ok(report)
    }

    /// Enters again the one mailbox whose directory on `partition` is named `uniqueid` (for
    /// `darius mboxlist undump`), as [`Store::rebuild_mailboxes_db`] does for each directory it
    /// finds. The report names the mailbox restored (under the name its `cyrus.header` gives),
    /// or says why nothing was: no such directory, an unreadable header, a uniqueid the
    /// database already maps.
    pub fn restore_mailbox_dir(&self, partition: &str, uniqueid: &str) -> Result<RebuildReport> {
        let _ns = self.namespace_lock();
        let mut report = RebuildReport::default();
        let root = self.inner.partitions.root(partition)?.to_path_buf();
        if uniqueid.is_empty() || !uniqueid.bytes().all(|b| b.is_ascii_hexdigit()) {
            let why = format!("uniqueid {uniqueid:?} is not one of this store's (hex digits)");
            report.skipped.push((root, why));
            return Ok(report);
        }
        let dir = crate::partition::mailbox_dir_in(&root, uniqueid);
        if !dir.join("cyrus.header").is_file() {
            let why = format!("no mailbox directory with a cyrus.header on partition {partition}");
            report.skipped.push((dir, why));
            return Ok(report);
        }
        let hdr = match read_header_file(&dir) {
            Ok(hdr) => hdr,
            Err(e) => {
                report.skipped.push((dir, e.to_string()));
                return Ok(report);
            }
        };
        let mapped = self
            .inner
            .global
            .read()?
            .list(None)?
            .into_iter()
            .find(|e| e.uniqueid == hdr.uniqueid);
        if let Some(e) = mapped {
            let why = format!("uniqueid {} is already {}", hdr.uniqueid, e.name);
            report.skipped.push((dir, why));
            return Ok(report);
        }
        self.restore(partition, &dir, hdr, &mut report)?;
        Ok(report)
    }

    /// Enters one directory's mailbox again; returns its name if it did.
    fn restore(
        &self,
        partition: &str,
        dir: &Path,
        hdr: MailboxHeaderFile,
        report: &mut RebuildReport,
    ) -> Result<Option<MailboxName>> {
        // The uniqueid becomes a path component: it must be the directory's own (hex) name.
        let dir_name = dir.file_name().and_then(|n| n.to_str());
        if dir_name != Some(hdr.uniqueid.as_str())
            || !hdr.uniqueid.bytes().all(|b| b.is_ascii_hexdigit())
        {
            report.skipped.push((
                dir.to_path_buf(),
                "uniqueid does not match the directory".into(),
            ));
            return Ok(None);
        }
        let name = match MailboxName::try_from(hdr.name.as_str()) {
            Ok(n) => n,
            Err(e) => {
                report.skipped.push((dir.to_path_buf(), e.to_string()));
                return Ok(None);
            }
        };
        if let Some(existing) = self.inner.global.read()?.entry(&name)? {
            if existing.uniqueid != hdr.uniqueid {
                let why = format!("{name} belongs to uniqueid {}", existing.uniqueid);
                report.skipped.push((dir.to_path_buf(), why));
            }
            return Ok(None);
        }
        let owner = self.inner.owners.get(&name.hierarchy_root())?;
        let ow = owner.write()?;
        let g = self.inner.global.write()?;
        let modseq = g.next_modseq()?;
        let entry = MailboxEntry {
            name: name.clone(),
            uniqueid: hdr.uniqueid,
            partition: partition.to_string(),
            acl: hdr.acl,
            mailbox_type: hdr.mailbox_type,
            special_use: Vec::new(),
            created_modseq: modseq,
            modified_modseq: modseq,
        };
        let mut header = match ow.header(&entry.uniqueid)? {
            Some(h) => h,
            None => new_header(&entry, g.next_uidvalidity()?),
        };
        header.name = name.to_string();
        header.partition = partition.to_string();
        ow.put_header(&header)?;
        drop(ow.commit()?);
        g.put_entry(&entry)?;
        g.commit()?;
        self.reconstruct_locked(&name, crate::model::ReconstructOptions::default())?;
        report.restored.push(name.clone());
        Ok(Some(name))
    }
}

/// `ROOT/AB/CD/UNIQUEID` directories (two hex levels of fan-out; `tmp/` is not one).
fn mailbox_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for a in subdirs(root)? {
        for b in subdirs(&a)? {
            out.extend(subdirs(&b)?);
        }
    }
    out.sort();
    Ok(out)
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(StoreError::io(dir, e)),
    };
    for e in entries {
        let e = e.map_err(|err| StoreError::io(dir, err))?;
        let is_fanout = e.file_name().len() == 2 || dir.file_name().is_some_and(|n| n.len() == 2);
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) && is_fanout {
            out.push(e.path());
        }
    }
    Ok(out)
}
