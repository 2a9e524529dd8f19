//! Runs the fuzz target's entry point over the committed corpus (`tests/corpus/`), so stable
//! `cargo test` exercises what `cargo +nightly fuzz run managesieve_command` does, plus random
//! bytes and random mutations of the corpus through the same entry point.

use proptest::prelude::*;

#[path = "../../../tests/support/fuzz_corpus.rs"]
mod fuzz_corpus;

use fuzz_corpus::{mutated, run_corpus};

#[test]
fn corpus_runs_clean() {
    run_corpus("corpus", 6, managesieve_proto::fuzzing::session);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_run_clean(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        managesieve_proto::fuzzing::session(&data);
    }

    #[test]
    fn mutated_corpus_runs_clean(data in mutated("corpus")) {
        managesieve_proto::fuzzing::session(&data);
    }
}
