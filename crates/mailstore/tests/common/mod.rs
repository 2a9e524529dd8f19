//! Shared helpers for the integration tests: a store on its own temp dir.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use mailstore::{
    AppendItem, CreateOptions, FsyncPolicy, RecordFields, SeenSource, Store, StoreConfig,
    UidSelection,
};
use tempfile::TempDir;
use types::{MailboxName, Uid};

pub fn config(dir: &TempDir, fsync: FsyncPolicy) -> StoreConfig {
    config_at(dir.path(), fsync)
}

pub fn config_at(dir: &Path, fsync: FsyncPolicy) -> StoreConfig {
    let mut partitions = BTreeMap::new();
    for p in ["default", "other", "news"] {
        partitions.insert(p.to_string(), dir.join("part").join(p));
    }
    let mut c = StoreConfig::new(dir.join("config"), partitions, "default");
    c.fsync = fsync;
    c
}

pub fn store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(config(&dir, FsyncPolicy::Never)).unwrap();
    (dir, s)
}

pub fn name(s: &str) -> MailboxName {
    MailboxName::try_from(s).unwrap()
}

pub fn uid(n: u32) -> Uid {
    Uid::new(n).unwrap()
}

pub fn create(s: &Store, n: &str) -> MailboxName {
    let n = name(n);
    s.create_mailbox(&n, CreateOptions::default()).unwrap();
    n
}

pub fn msg(i: usize) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: message {i}\r\n\r\nbody {i}\r\n").into_bytes()
}

pub fn append(s: &Store, n: &MailboxName, i: usize) -> Uid {
    s.append(n, vec![AppendItem::bytes(msg(i))]).unwrap().uids[0]
}

pub fn append_bytes(s: &Store, n: &MailboxName, bytes: &[u8]) -> Uid {
    s.append(n, vec![AppendItem::bytes(bytes.to_vec())])
        .unwrap()
        .uids[0]
}

/// The UIDs of `n`'s messages, as the index lists them.
pub fn uids_of(s: &Store, n: &MailboxName) -> Vec<u32> {
    s.records(n, SeenSource::Index, UidSelection::All, RecordFields::BASIC)
        .unwrap()
        .iter()
        .map(|r| r.uid.get())
        .collect()
}
