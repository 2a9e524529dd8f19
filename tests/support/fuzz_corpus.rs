//! What the committed-corpus runners share (`crates/*/tests/fuzz_corpus.rs`, each including
//! this file with `#[path = "../../../tests/support/fuzz_corpus.rs"] mod fuzz_corpus;`): reading
//! a fuzz target's corpus, and the proptest strategy that mutates it (the poor man's fuzzer
//! that stable `cargo test` runs through the same entry point as `cargo +nightly fuzz run`).
#![allow(dead_code)]

use proptest::prelude::*;

/// Every file of the including crate's `tests/NAME/` corpus, in a stable order.
pub fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|entry| std::fs::read(entry.expect("corpus entry").path()).expect("corpus file"))
        .collect();
    files.sort();
    files
}

/// Runs every file of the `tests/NAME/` corpus through `entry`, after checking the corpus has
/// at least `min_files` (a corpus that lost its files would otherwise pass by running nothing).
pub fn run_corpus(name: &str, min_files: usize, entry: impl Fn(&[u8])) {
    let files = corpus(name);
    assert!(
        files.len() >= min_files,
        "corpus {name} has only {} files",
        files.len()
    );
    for data in files {
        entry(&data);
    }
}

/// A file of the `tests/NAME/` corpus with a few bytes overwritten, inserted or removed.
pub fn mutated(name: &str) -> impl Strategy<Value = Vec<u8>> {
    let files = corpus(name);
    let edit = (any::<prop::sample::Index>(), any::<u8>(), 0u8..3);
    (
        prop::sample::select(files),
        prop::collection::vec(edit, 1..8),
    )
        .prop_map(|(mut data, edits)| {
            for (at, byte, op) in edits {
                let i = at.index(data.len() + 1);
                match op {
                    0 if i < data.len() => data[i] = byte,
                    1 if i < data.len() => {
                        data.remove(i);
                    }
                    _ => data.insert(i, byte),
                }
            }
            data
        })
}
