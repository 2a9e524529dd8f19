//! Runs the fuzz target's entry point over the committed corpus (`tests/corpus/`), so stable
//! `cargo test` exercises what `cargo +nightly fuzz run sieve_script` does, plus random bytes
//! and random mutations of the corpus through the same entry point.

use proptest::prelude::*;

#[path = "../../../tests/support/fuzz_corpus.rs"]
mod fuzz_corpus;

use fuzz_corpus::{mutated, run_corpus};

#[test]
fn corpus_runs_clean() {
    run_corpus("corpus", 15, sieve::fuzzing::script);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_run_clean(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        sieve::fuzzing::script(&data);
    }

    #[test]
    fn random_script_tokens_run_clean(data in proptest::collection::vec(
        prop::sample::select(vec![
            "if ", "keep", ";", "{", "}", "(", ")", "[", "]", ",", ":is ", "\"s\" ", "10K ",
            "text:\n", ".\n", "..x\n", "# c\n", "/* c */", "anyof", " ", "\n", "\r\n", "\\",
            "\"", "not ", "true",
        ]),
        0..80,
    )) {
        sieve::fuzzing::script(data.concat().as_bytes());
    }

    #[test]
    fn random_commands_and_tests_run_clean(data in proptest::collection::vec(
        prop::sample::select(vec![
            "require ", "[\"fileinto\", \"copy\"]", "\"variables\"", "\"relational\"",
            "\"comparator-i;ascii-numeric\"", "\"imap4flags\"", "\"body\"", "\"vacation\"",
            "if ", "elsif ", "else ", "fileinto ", "redirect ", "keep ", "set ", "setflag ",
            "vacation ", "reject ", "header ", "address ", "envelope ", "exists ", "size ",
            "string ", "hasflag ", "body ", "allof ", "anyof ", "not ", "true ", ":is ",
            ":contains ", ":count ", ":value ", "\"ge\" ", ":comparator ", "\"i;ascii-numeric\" ",
            ":over ", ":copy ", ":flags ", ":days ", ":seconds ", ":lower ", ":user ", ":content ",
            "\"a\" ", "[\"a\", \"b\"] ", "1 ", ";", "{", "}", "(", ")", ",",
        ]),
        0..40,
    )) {
        sieve::fuzzing::script(data.concat().as_bytes());
    }

    #[test]
    fn mutated_corpus_runs_clean(data in mutated("corpus")) {
        sieve::fuzzing::script(&data);
    }
}
