//! Runs the fuzz targets' entry points over their committed corpora (`tests/corpus/` for the
//! framer and parser, `tests/corpus_list_pattern/`, `tests/corpus_sequence_set/`), so stable
//! `cargo test` exercises what `cargo +nightly fuzz run TARGET` does, plus a poor man's fuzzer:
//! random mutations of the corpus through the same entry points.

use proptest::prelude::*;

fn corpus(name: &str) -> Vec<Vec<u8>> {
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

#[test]
fn corpus_runs_clean() {
    let files = corpus("corpus");
    assert!(files.len() >= 20, "corpus has only {} files", files.len());
    for data in files {
        imap_proto::fuzzing::framer_and_parser(&data);
    }
}

#[test]
fn list_pattern_corpus_runs_clean() {
    let files = corpus("corpus_list_pattern");
    assert!(files.len() >= 5, "corpus has only {} files", files.len());
    for data in files {
        imap_proto::fuzzing::list_pattern(&data);
    }
}

#[test]
fn sequence_set_corpus_runs_clean() {
    let files = corpus("corpus_sequence_set");
    assert!(files.len() >= 5, "corpus has only {} files", files.len());
    for data in files {
        imap_proto::fuzzing::sequence_set(&data);
    }
}

/// A file of `name`'s corpus with a few bytes overwritten, inserted or removed.
fn mutated(name: &str) -> impl Strategy<Value = Vec<u8>> {
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

proptest! {
    #[test]
    fn mutated_corpus_never_panics(data in mutated("corpus")) {
        imap_proto::fuzzing::framer_and_parser(&data);
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        imap_proto::fuzzing::framer_and_parser(&data);
    }

    #[test]
    fn mutated_patterns_match_as_the_model_does(data in mutated("corpus_list_pattern")) {
        imap_proto::fuzzing::list_pattern(&data);
    }

    #[test]
    fn random_patterns_match_as_the_model_does(
        pattern in "[ab.*%/]{0,24}",
        name in "[ab./]{0,24}",
        unix in any::<bool>(),
    ) {
        let data = format!("{}{pattern}\n{name}", if unix { '\u{1}' } else { '\u{0}' });
        imap_proto::fuzzing::list_pattern(data.as_bytes());
    }

    #[test]
    fn mutated_sets_normalise_to_their_members(data in mutated("corpus_sequence_set")) {
        imap_proto::fuzzing::sequence_set(&data);
    }
}
