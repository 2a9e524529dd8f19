//! Corrupt sasldb files never make the reader panic, loop or blow up: the committed files
//! Debian's tools wrote (`tests/corpus/sasldb/`), with random bytes and random page links
//! overwritten and random truncations, each read to an answer (entries or an error). A loop
//! would hang this test; a panic fails it.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use auth::sasldb;
use proptest::prelude::*;

const FILES: [&[u8]; 4] = [
    include_bytes!("corpus/sasldb/saslpasswd2.db"),
    include_bytes!("corpus/sasldb/bigendian-512.db"),
    include_bytes!("corpus/sasldb/checksum-512.db"),
    include_bytes!("corpus/sasldb/lmdb.mdb"),
];

/// One change: a byte anywhere, or a 4-byte little number (a page number, a length, a count)
/// written where the headers keep theirs, in either byte order.
#[derive(Debug, Clone)]
enum Change {
    Byte {
        at: usize,
        value: u8,
    },
    Number {
        page: usize,
        field: usize,
        value: u32,
        big: bool,
    },
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Change::Byte { at, value }),
        (
            0usize..16,
            prop::sample::select(vec![8usize, 12, 16, 20, 22, 32, 72, 96, 100, 128, 144]),
            prop_oneof![0u32..16, Just(u32::MAX), any::<u32>()],
            any::<bool>()
        )
            .prop_map(|(page, field, value, big)| Change::Number {
                page,
                field,
                value,
                big
            }),
    ]
}

fn apply(bytes: &mut [u8], change: &Change, page_size: usize) {
    match *change {
        Change::Byte { at, value } => {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        Change::Number {
            page,
            field,
            value,
            big,
        } => {
            let at = (page * page_size + field) % bytes.len();
            let raw = if big {
                value.to_be_bytes()
            } else {
                value.to_le_bytes()
            };
            let end = (at + 4).min(bytes.len());
            bytes[at..end].copy_from_slice(&raw[..end - at]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn corrupt_files_give_an_answer_without_panicking(
        file in 0..FILES.len(),
        changes in prop::collection::vec(change(), 1..8),
        cut in prop::option::of(any::<usize>()),
    ) {
        let mut bytes = FILES[file].to_vec();
        let page_size = if file == 1 || file == 2 { 512 } else { 4096 };
        for change in &changes {
            apply(&mut bytes, change, page_size);
        }
        if let Some(cut) = cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        if let Ok(db) = sasldb::parse(&bytes) {
            // Whatever was read is bounded by the file: no page is read twice, no items overlap.
            let total: usize = db.entries.iter().map(|e| e.value.expose().len()).sum();
            prop_assert!(total <= bytes.len());
        }
    }
}

#[test]
fn the_corpus_files_read_cleanly() {
    for bytes in FILES {
        let db = sasldb::parse(bytes).unwrap();
        assert!(!db.entries.is_empty());
    }
}
