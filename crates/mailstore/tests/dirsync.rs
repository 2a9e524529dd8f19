//! Directory syncs (power loss cannot be simulated here, so a hook records every directory the
//! store fsyncs): each directory the store creates must have its parent synced afterwards, and
//! each new file (database, mailbox header) its own directory, or a power loss can take a
//! freshly created mailbox and its acknowledged mail with it.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mailstore::{AppendItem, FsyncPolicy, HookEvent, Store, StoreHooks};

fn recording_store(dir: &Path) -> (Store, Arc<Mutex<Vec<PathBuf>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    let mut cfg = common::config_at(dir, FsyncPolicy::Always);
    cfg.hooks = StoreHooks::new(move |e| {
        if let HookEvent::DirSynced(p) = e {
            sink.lock().unwrap().push(p.to_path_buf());
        }
    });
    (Store::open(cfg).unwrap(), log)
}

fn take(log: &Mutex<Vec<PathBuf>>) -> BTreeSet<PathBuf> {
    std::mem::take(&mut *log.lock().unwrap())
        .into_iter()
        .collect()
}

fn missing(synced: &BTreeSet<PathBuf>, want: &[PathBuf]) -> Vec<PathBuf> {
    want.iter()
        .filter(|p| !synced.contains(*p))
        .cloned()
        .collect()
}

#[test]
fn a_fresh_store_syncs_the_parents_of_the_config_directory_and_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, log) = recording_store(dir.path());
    let synced = take(&log);
    let part = dir.path().join("part");
    let want = [
        dir.path().to_path_buf(),  // holds config/ and part/
        dir.path().join("config"), // holds mailboxes.redb, deliver.redb
        part.clone(),              // holds default/, other/
        part.join("default"),      // holds tmp/
        part.join("other"),
    ];
    assert_eq!(
        missing(&synced, &want),
        Vec::<PathBuf>::new(),
        "synced: {synced:?}"
    );
    // The news spool is the news server's: the store makes nothing there, not even tmp/.
    assert!(!part.join("news").exists());
}

#[test]
fn a_new_mailbox_syncs_its_fan_out_levels_and_its_owner_index_directories() {
    let dir = tempfile::tempdir().unwrap();
    let (store, log) = recording_store(dir.path());
    take(&log);
    let inbox = common::create(&store, "user.alice");
    let synced = take(&log);
    let file = {
        store
            .append(&inbox, vec![AppendItem::bytes(common::msg(1))])
            .unwrap();
        store.message_file(&inbox, common::uid(1)).unwrap()
    };
    let mailbox_dir = file.parent().unwrap().to_path_buf();
    let cd = mailbox_dir.parent().unwrap().to_path_buf();
    let ab = cd.parent().unwrap().to_path_buf();
    let root = ab.parent().unwrap().to_path_buf();
    assert_eq!(root, dir.path().join("part/default"));
    let index = dir.path().join("config/index");
    let hh: Vec<PathBuf> = std::fs::read_dir(&index)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(hh.len(), 1, "one owner, one index directory");
    let want = [
        root,                      // AB created in it
        ab,                        // CD created in it
        cd,                        // the mailbox directory created in it
        mailbox_dir.clone(),       // cyrus.header renamed into it
        dir.path().join("config"), // index/ created in it
        index,                     // HH/ created in it
        hh[0].clone(),             // the owner's .redb created in it
    ];
    assert_eq!(
        missing(&synced, &want),
        Vec::<PathBuf>::new(),
        "synced: {synced:?}"
    );
    let after_append = take(&log);
    assert!(
        after_append.contains(&mailbox_dir),
        "the linked message file's directory is synced: {after_append:?}"
    );
}

#[test]
fn create_dir_durably_gives_every_new_level_the_mode_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("a/b");
    mailstore::create_dir_durably(&deep, 0o700).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&deep).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let mode_a = std::fs::metadata(dir.path().join("a"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode_a, 0o700);
}
