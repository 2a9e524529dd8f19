//! Runs the fuzz target's entry point (`sasl::fuzzing::exchange`) over the committed corpus
//! (`tests/corpus/`), so stable `cargo test` exercises what `cargo +nightly fuzz run
//! sasl_exchange` does, plus random bytes and random mutations of the corpus through it.

use proptest::prelude::*;

fn corpus() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|entry| std::fs::read(entry.expect("corpus entry").path()).expect("corpus file"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_runs_clean() {
    let files = corpus();
    assert!(files.len() >= 20, "corpus has only {} files", files.len());
    for data in files {
        sasl::fuzzing::exchange(&data);
    }
}

/// A corpus file with a few bytes overwritten, inserted or removed.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let files = corpus();
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
                    _ => data.insert(i.min(data.len()), byte),
                }
            }
            data
        })
}

proptest! {
    #[test]
    fn random_bytes_run_clean(data in prop::collection::vec(any::<u8>(), 0..512)) {
        sasl::fuzzing::exchange(&data);
    }

    #[test]
    fn mutated_corpus_runs_clean(data in mutated()) {
        sasl::fuzzing::exchange(&data);
    }
}
