//! Runs the Cyrus readers' fuzz entry points (`migrate::fuzzing`) over their committed corpora
//! (`tests/corpus_twoskip/`, twoskip and skiplist files, and `tests/corpus_cyrus_index/`: files
//! from a Debian Cyrus 3.6, skiplists made from them by `cvt_cyrusdb`, a synthetic 2.4 index),
//! so stable `cargo test` exercises what `cargo +nightly fuzz run cyrus_twoskip` /
//! `cyrus_index` do, plus random bytes and mutations of the corpora.

use proptest::prelude::*;

#[path = "../../../tests/support/fuzz_corpus.rs"]
mod fuzz_corpus;

use fuzz_corpus::{mutated, run_corpus};

#[test]
fn twoskip_corpus_runs_clean() {
    run_corpus("corpus_twoskip", 6, migrate::fuzzing::twoskip);
}

#[test]
fn cyrus_index_corpus_runs_clean() {
    run_corpus("corpus_cyrus_index", 10, migrate::fuzzing::cyrus_index);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_run_clean(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        migrate::fuzzing::twoskip(&data);
        migrate::fuzzing::cyrus_index(&data);
    }

    #[test]
    fn mutated_twoskip_runs_clean(data in mutated("corpus_twoskip")) {
        migrate::fuzzing::twoskip(&data);
    }

    #[test]
    fn mutated_cyrus_index_runs_clean(data in mutated("corpus_cyrus_index")) {
        migrate::fuzzing::cyrus_index(&data);
    }
}
