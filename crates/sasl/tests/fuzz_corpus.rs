//! Runs the fuzz target's entry point (`sasl::fuzzing::exchange`) over the committed corpus
//! (`tests/corpus/`), so stable `cargo test` exercises what `cargo +nightly fuzz run
//! sasl_exchange` does, plus random bytes and random mutations of the corpus through it.

use proptest::prelude::*;

#[path = "../../../tests/support/fuzz_corpus.rs"]
mod fuzz_corpus;

use fuzz_corpus::{mutated, run_corpus};

#[test]
fn corpus_runs_clean() {
    run_corpus("corpus", 20, sasl::fuzzing::exchange);
}

proptest! {
    #[test]
    fn random_bytes_run_clean(data in prop::collection::vec(any::<u8>(), 0..512)) {
        sasl::fuzzing::exchange(&data);
    }

    #[test]
    fn mutated_corpus_runs_clean(data in mutated("corpus")) {
        sasl::fuzzing::exchange(&data);
    }
}
