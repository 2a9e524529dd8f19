#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

//! The readers against files Debian's tools wrote (`tests/corpus/sasldb/`: `saslpasswd2`,
//! `db_load` in big-endian and checksummed variants, `mdb_load`), and those files with their
//! links broken on purpose. `tests/sasldb_interop.rs` makes fresh files with the tools.

use super::*;

const SASLPASSWD2: &[u8] = include_bytes!("../../tests/corpus/sasldb/saslpasswd2.db");
const BIG_ENDIAN: &[u8] = include_bytes!("../../tests/corpus/sasldb/bigendian-512.db");
const CHECKSUM: &[u8] = include_bytes!("../../tests/corpus/sasldb/checksum-512.db");
const LMDB: &[u8] = include_bytes!("../../tests/corpus/sasldb/lmdb.mdb");

fn triples(db: &Sasldb) -> Vec<(String, String, String, Vec<u8>)> {
    let mut all: Vec<_> = db
        .entries
        .iter()
        .map(|e| {
            (
                e.user.clone(),
                e.realm.clone(),
                e.property.clone(),
                e.value.expose().clone(),
            )
        })
        .collect();
    all.sort();
    all
}

/// The 40 pairs `small.txt` gave `db_load`: `u{i}` in realm `r{i % 3}`, password `p{i}`, and
/// `p7` 300 times over (an overflow item spanning two 512-byte pages).
fn db_load_pairs() -> Vec<(String, String, String, Vec<u8>)> {
    let mut all: Vec<_> = (0..40)
        .map(|i| {
            let password = format!("p{i}").repeat(if i == 7 { 300 } else { 1 });
            (
                format!("u{i}"),
                format!("r{}", i % 3),
                "userPassword".to_string(),
                password.into_bytes(),
            )
        })
        .collect();
    all.sort();
    all
}

#[test]
fn saslpasswd2_file_gives_users_realms_and_properties() {
    let db = parse(SASLPASSWD2).unwrap();
    assert_eq!(db.format, SasldbFormat::BerkeleyHashLittleEndian);
    assert_eq!(db.unreadable_keys, 0);
    let all = triples(&db);
    let names: Vec<_> = all
        .iter()
        .map(|(u, r, p, _)| format!("{u}@{r}:{p}"))
        .collect();
    assert_eq!(
        names,
        [
            "alice@example.org:authPassword",
            "alice@example.org:userPassword",
            "bob@other.net:userPassword",
            "carol@example.org:userPassword",
        ]
    );
    assert_eq!(all[1].3, b"secret one");
    assert_eq!(all[2].3, b"pw two");
    // 1,500 bytes: more than a quarter page, so an off-page item.
    assert_eq!(all[3].3, vec![b'L'; 1500]);
    assert!(all[0].3.starts_with(b"SCRAM-SHA-1$4096:"));
}

#[test]
fn big_endian_and_checksummed_files_read_the_same_pairs() {
    let big = parse(BIG_ENDIAN).unwrap();
    assert_eq!(big.format, SasldbFormat::BerkeleyHashBigEndian);
    assert_eq!(triples(&big), db_load_pairs());
    let checksummed = parse(CHECKSUM).unwrap();
    assert_eq!(checksummed.format, SasldbFormat::BerkeleyHashLittleEndian);
    assert_eq!(triples(&checksummed), db_load_pairs());
}

#[test]
fn lmdb_file_with_branch_and_overflow_pages_reads_every_pair() {
    let db = parse(LMDB).unwrap();
    assert_eq!(db.format, SasldbFormat::Lmdb);
    let all = triples(&db);
    assert_eq!(all.len(), 150);
    let mut expected: Vec<_> = (0..150)
        .map(|i| {
            let password = format!("p{i}").repeat(if i == 7 { 2500 } else { 1 });
            (
                format!("user{i}"),
                format!("realm{}.example", i % 3),
                "userPassword".to_string(),
                password.into_bytes(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(all, expected);
}

fn corrupt_message(bytes: &[u8]) -> String {
    match parse(bytes) {
        Err(SasldbError::Corrupt(message)) => message,
        other => panic!("expected a corrupt-file error, got {other:?}"),
    }
}

#[test]
fn an_overflow_chain_pointing_at_itself_is_corrupt_not_a_loop() {
    // Page 3 of the big-endian file is the first overflow page; its "next" (at 16) becomes 3.
    let mut bytes = BIG_ENDIAN.to_vec();
    let at = 3 * 512 + 16;
    assert_eq!(&bytes[at..at + 4], &4u32.to_be_bytes());
    bytes[at..at + 4].copy_from_slice(&3u32.to_be_bytes());
    assert!(corrupt_message(&bytes).contains("linked twice"));
}

#[test]
fn a_bucket_chain_pointing_back_is_corrupt_not_a_loop() {
    // Bucket 0's page (page 1 in the little-endian checksummed file) chained to itself.
    let mut bytes = CHECKSUM.to_vec();
    let at = 512 + 16;
    bytes[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
    assert!(corrupt_message(&bytes).contains("linked twice"));
}

#[test]
fn an_lmdb_branch_pointing_at_itself_is_corrupt_not_a_loop() {
    let db_root = 16 + 24 + 48 + 40;
    let mut bytes = LMDB.to_vec();
    // The current meta page is the one with the higher transaction id.
    let txn = |page: usize| u64::from_le_bytes(bytes[page * 4096 + 144..][..8].try_into().unwrap());
    let meta = if txn(1) > txn(0) { 1 } else { 0 };
    let root = u64::from_le_bytes(bytes[meta * 4096 + db_root..][..8].try_into().unwrap());
    let root = usize::try_from(root).unwrap();
    // The root's first node names its first child: make it the root itself.
    let first_node = usize::from(u16::from_le_bytes([
        bytes[root * 4096 + 16],
        bytes[root * 4096 + 17],
    ]));
    let node = root * 4096 + first_node;
    bytes[node..node + 2].copy_from_slice(&u16::try_from(root).unwrap().to_le_bytes());
    bytes[node + 2..node + 6].fill(0);
    assert!(corrupt_message(&bytes).contains("its own child"));
}

#[test]
fn truncated_files_are_errors() {
    for file in [SASLPASSWD2, BIG_ENDIAN, CHECKSUM, LMDB] {
        for len in [0, 20, 100, 511, 600, file.len() / 2, file.len() - 1] {
            assert!(
                parse(&file[..len]).is_err(),
                "{len} bytes of {}",
                file.len()
            );
        }
    }
}

#[test]
fn an_announced_item_over_the_limit_is_refused_before_reading() {
    // u7's off-page item: type 3, three unused bytes, first page 3, total length 600 (at +8).
    let mut bytes = BIG_ENDIAN.to_vec();
    let needle = [0, 0, 0, 3, 0, 0, 2, 0x58];
    let found = (512..bytes.len() - 8)
        .find(|at| bytes[*at..*at + 8] == needle)
        .expect("the off-page item of u7");
    assert_eq!(bytes[found - 4], 3);
    bytes[found + 4..found + 8].copy_from_slice(&(1u32 << 20).to_be_bytes());
    assert!(matches!(parse(&bytes), Err(SasldbError::ItemTooLarge)));
}

#[test]
fn other_files_are_an_unknown_format() {
    assert!(matches!(
        parse(b"GDBM is not read here, nor is a text file"),
        Err(SasldbError::UnknownFormat)
    ));
    assert!(matches!(parse(&[0; 8192]), Err(SasldbError::UnknownFormat)));
}

#[test]
fn keys_split_into_user_realm_and_property() {
    let e = entry(b"fred\0\0userPassword", b"x".to_vec()).unwrap();
    assert_eq!((e.user.as_str(), e.realm.as_str()), ("fred", ""));
    assert_eq!(e.property, "userPassword");
    assert!(entry(b"fred\0realm", vec![]).is_none());
    assert!(entry(b"\0realm\0userPassword", vec![]).is_none());
    assert!(entry(b"fred\0realm\0", vec![]).is_none());
    assert!(entry(b"fr\xffed\0realm\0userPassword", vec![]).is_none());
    assert!(!format!("{e:?}").contains('x'));
}
