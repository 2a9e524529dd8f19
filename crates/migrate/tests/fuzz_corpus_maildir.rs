//! Runs the Maildir and mbox fuzz targets' entry points over their committed corpora
//! (`tests/corpus_uidlist/`, `tests/corpus_mbox/`), so stable `cargo test` exercises what
//! `cargo +nightly fuzz run maildir_uidlist` and `mbox_split` do, plus random bytes and random
//! mutations of the corpora through the same entry points.

use proptest::prelude::*;

#[path = "../../../tests/support/fuzz_corpus.rs"]
mod fuzz_corpus;

use fuzz_corpus::{mutated, run_corpus};

#[test]
fn uidlist_corpus_runs_clean() {
    run_corpus("corpus_uidlist", 6, migrate::maildir::fuzzing::uidlist);
}

#[test]
fn mbox_corpus_runs_clean() {
    run_corpus("corpus_mbox", 5, migrate::mbox::fuzzing::split);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_uidlist_tokens_run_clean(data in proptest::collection::vec(
        prop::sample::select(vec![
            "1 ", "3 ", "V1 ", "V4294967295 ", "N7 ", "G00ff ", "2 ", ":", "a.b,S=3", ":2,S", " ",
            "\n", "\r\n", "W12 ", "0 ", "x", "99999999999 ",
        ]),
        0..40,
    )) {
        migrate::maildir::fuzzing::uidlist(data.concat().as_bytes());
    }

    #[test]
    fn random_mbox_tokens_run_clean(data in proptest::collection::vec(
        prop::sample::select(vec![
            "From ", "a@b ", "Mon Dec  7 02:53:42 2026", " +0100", "\n", "\r\n", ">", ">>",
            "X-UID: 3", "X-IMAPbase: 1 2 k", "Status: RO", "X-Status: AF", "X-Keywords: k",
            "Content-Length: 4", "Subject: s", " ", "\t", ":", "body",
        ]),
        0..60,
    )) {
        migrate::mbox::fuzzing::split(data.concat().as_bytes());
    }

    #[test]
    fn mutated_uidlist_corpus_runs_clean(data in mutated("corpus_uidlist")) {
        migrate::maildir::fuzzing::uidlist(&data);
    }

    #[test]
    fn mutated_mbox_corpus_runs_clean(data in mutated("corpus_mbox")) {
        migrate::mbox::fuzzing::split(&data);
    }
}
