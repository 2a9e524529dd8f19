//! Runs the fuzz targets' entry points over their committed corpora (`tests/corpus/` for the
//! framer and parser, `tests/corpus_list_pattern/`, `tests/corpus_sequence_set/`), so stable
//! `cargo test` exercises what `cargo +nightly fuzz run TARGET` does, plus a poor man's fuzzer:
//! random mutations of the corpus through the same entry points.

use proptest::prelude::*;

#[path = "../../../tests/support/fuzz_corpus.rs"]
mod fuzz_corpus;

use fuzz_corpus::{mutated, run_corpus};

#[test]
fn corpus_runs_clean() {
    run_corpus("corpus", 20, imap_proto::fuzzing::framer_and_parser);
}

#[test]
fn list_pattern_corpus_runs_clean() {
    run_corpus("corpus_list_pattern", 5, imap_proto::fuzzing::list_pattern);
}

#[test]
fn sequence_set_corpus_runs_clean() {
    run_corpus("corpus_sequence_set", 5, imap_proto::fuzzing::sequence_set);
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
