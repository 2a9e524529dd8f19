//! Large messages are normalised, hashed and scanned while they stream to disk: what the index
//! records must equal what a whole-message computation gives, and the size ceiling holds even
//! with no configured `maxmessagesize`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mailstore::{
    AppendItem, AppendSource, FsyncPolicy, RecordFields, SeenSource, Store, UidSelection,
    MAX_MESSAGE_SIZE,
};
use sha2::{Digest, Sha256};

/// A multipart message of about `mib` MiB with bare LF line ends, as a sloppy client sends.
fn big_lf_message(mib: usize) -> Vec<u8> {
    let mut m = b"Subject: big\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\n\
Content-Type: text/plain\n\nfirst\n--zz\nContent-Type: application/octet-stream\n\
Content-Transfer-Encoding: base64\n\n"
        .to_vec();
    let line = [b'Q'; 76];
    while m.len() < mib << 20 {
        m.extend_from_slice(&line);
        m.push(b'\n');
    }
    m.extend_from_slice(b"--zz--\n");
    m
}

#[test]
fn a_large_message_from_a_file_is_stored_and_described_exactly() {
    let (d, s) = store();
    let a = create(&s, "user.alice");
    let raw = big_lf_message(24);
    let spool = d.path().join("spool-file");
    std::fs::write(&spool, &raw).unwrap();
    let item = AppendItem {
        source: AppendSource::File(spool),
        flags: Vec::new(),
        internal_date: None,
    };
    let uid = s.append(&a, vec![item]).unwrap().uids[0];
    let crlf = mailstore::normalise_crlf(&raw, None).unwrap();
    assert_eq!(s.read_message(&a, uid).unwrap(), crlf);
    let rec = &s
        .records(&a, SeenSource::Index, UidSelection::All, RecordFields::ALL)
        .unwrap()[0];
    assert_eq!(rec.size, crlf.len() as u64);
    assert_eq!(rec.guid, <[u8; 32]>::from(Sha256::digest(&crlf)));
    assert_eq!(rec.message_cache().unwrap(), message::scan(&crlf));
    assert_eq!(rec.header.as_deref(), Some(mailstore::header_block(&crlf)));
    // reconstruct re-describes the file the same way.
    let file = s.message_file(&a, uid).unwrap();
    std::fs::write(&file, [crlf.as_slice(), b"extra\r\n"].concat()).unwrap();
    let r = s.reconstruct(&a).unwrap();
    assert_eq!(r.recached, vec![uid]);
    let rec = &s
        .records(&a, SeenSource::Index, UidSelection::All, RecordFields::ALL)
        .unwrap()[0];
    let changed = [crlf.as_slice(), b"extra\r\n"].concat();
    assert_eq!(rec.message_cache().unwrap(), message::scan(&changed));
}

#[test]
fn no_configured_limit_still_means_the_hard_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(config(&dir, FsyncPolicy::Never)).unwrap();
    assert_eq!(s.message_size_limit(), MAX_MESSAGE_SIZE);
    let mut cfg = config(&dir, FsyncPolicy::Never);
    drop(s);
    cfg.max_message_size = Some(u64::MAX);
    let s = Store::open(cfg.clone()).unwrap();
    assert_eq!(s.message_size_limit(), MAX_MESSAGE_SIZE);
    drop(s);
    cfg.max_message_size = Some(1000);
    let s = Store::open(cfg).unwrap();
    assert_eq!(s.message_size_limit(), 1000);
}

#[test]
fn room_for_a_message_is_bounded_by_free_space_and_the_limit() {
    let (d, s) = store();
    let a = create(&s, "user.alice");
    let room = s
        .room_for_message(std::slice::from_ref(&a), d.path())
        .unwrap();
    let free = mailstore::free_space(d.path()).unwrap();
    // Spool and partition share the temp dir's file system: two copies must fit.
    let want = (free.saturating_sub(mailstore::FREE_SPACE_RESERVE) / 2).min(MAX_MESSAGE_SIZE);
    // Other processes write meanwhile: allow the free space to move by 64 MiB.
    assert!(
        room.abs_diff(want) <= 64 << 20,
        "room {room}, expected about {want}"
    );
    let default_partition = s.room_for_message(&[], d.path()).unwrap();
    assert!(default_partition.abs_diff(want) <= 64 << 20);
    assert!(s
        .room_for_message(&[name("user.nobody")], d.path())
        .is_err());
}
